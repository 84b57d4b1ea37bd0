//! Compiling calls: arguments in the callee's register window, calls of
//! functions, closures and builtins, pixel reads and `render`.

use super::{class, color_bits, float_literal, ierr, Class, Gen, Res2, Val};
use crate::builtins::BuiltinOp;
use crate::check::Callee;
use crate::compile::ir::{builtin_code, pack_targets, Instr, Op};
use crate::syntax::ast::{BinOp, Expr, ExprKind};
use crate::syntax::span::Span;
use crate::types::Type;

impl<'c, 'a> Gen<'c, 'a> {
    /// Puts call arguments at the top of the registers: returns the scalar and
    /// reference bases of the callee's window.
    fn call_args(&mut self, args: &'a [Expr], param_types: &[Type]) -> Res2<(u16, u16)> {
        let sbase = self.f.next_s;
        let rbase = self.f.next_r;
        let mut slots = Vec::new();
        for ty in param_types {
            slots.push(self.f.alloc(ty));
        }
        for ((arg, slot), ty) in args.iter().zip(&slots).zip(param_types) {
            self.value_into(arg, *slot, ty)?;
        }
        Ok((sbase, rbase))
    }

    pub(super) fn call(
        &mut self,
        expr: &'a Expr,
        callee: &'a Expr,
        args: &'a [Expr],
        ty: &Type,
    ) -> Res2<Val> {
        let span = expr.span;
        let callee_kind = self
            .c
            .an
            .calls
            .get(&expr.id)
            .copied()
            .ok_or_else(|| ierr("unresolved call", span))?;
        let arg_types: Vec<Type> = args.iter().map(|arg| self.ty(arg)).collect();
        match callee_kind {
            Callee::Function(item) => {
                let func = *self
                    .c
                    .item_funcs
                    .get(&item)
                    .ok_or_else(|| ierr("call of a function without code", span))?;
                let param_types: Vec<Type> = match self.c.an.item_type(item) {
                    Type::Fn(f) => f.params.clone(),
                    _ => arg_types,
                };
                let mark = self.f.mark();
                let (sbase, rbase) = self.call_args(args, &param_types)?;
                self.f.cur_span = span;
                self.f
                    .emit(Instr::with_k(Op::Call, sbase, rbase, 0, func as u64));
                self.f.release(mark);
                Ok(self.result_at(sbase, rbase, ty))
            }
            Callee::Value => {
                let param_types = match self.ty(callee) {
                    Type::Fn(f) => f.params.clone(),
                    _ => arg_types,
                };
                let clo = self.reference(callee)?;
                let mark = self.f.mark();
                let (sbase, rbase) = self.call_args(args, &param_types)?;
                self.f.cur_span = span;
                self.f.emit(Instr::new(Op::CallV, sbase, rbase, clo));
                self.f.release(mark);
                Ok(self.result_at(sbase, rbase, ty))
            }
            Callee::Method(method) => {
                let ExprKind::Field(receiver, _) = &callee.kind else {
                    return Err(ierr("method call without receiver", span));
                };
                if method.name != "at" {
                    return Err(ierr(format!("unknown method {}", method.name), span));
                }
                let img = self.reference(receiver)?;
                if let Some(val) = self.at_offset(img, &args[0], &args[1], false, span)? {
                    return Ok(val);
                }
                let xy = self.f.alloc_s(2);
                self.value_into(&args[0], Val::S(xy), &Type::Int)?;
                self.value_into(&args[1], Val::S(xy + 1), &Type::Int)?;
                let dest = self.f.alloc_s(2);
                self.f.cur_span = span;
                self.f.emit(Instr::new(Op::At, dest, img, xy));
                Ok(Val::S(dest))
            }
            Callee::Builtin(op) => self.builtin(op, args, &arg_types, ty, span),
        }
    }

    /// `img.at(x + dx, y + dy)` with int sums: one `AtOff` instead of two adds and an `At`.
    /// With `plain`, a coordinate that is not a sum is read as itself plus a register
    /// holding 0 (a kernel's sum over `at(bx, by)`: no moves into a pair of registers).
    pub(super) fn at_offset(
        &mut self,
        img: u16,
        x: &'a Expr,
        y: &'a Expr,
        plain: bool,
        span: Span,
    ) -> Res2<Option<Val>> {
        let sum = |expr: &'a Expr| match &expr.kind {
            ExprKind::Binary(BinOp::Add, lhs, rhs) => Some((&**lhs, Some(&**rhs))),
            _ if plain => Some((expr, None)),
            _ => None,
        };
        let (Some((x0, x1)), Some((y0, y1))) = (sum(x), sum(y)) else {
            return Ok(None);
        };
        if self.ty(x) != Type::Int || self.ty(y) != Type::Int {
            return Ok(None);
        }
        let mut regs = [0u16; 4];
        let mut zero = None;
        for (slot, part) in regs.iter_mut().zip([Some(x0), x1, Some(y0), y1]) {
            *slot = match part {
                Some(part) => self.scalar(part)?,
                None => match zero {
                    Some(reg) => reg,
                    None => {
                        let reg = self.f.alloc_s(1);
                        self.f.cur_span = span;
                        self.f.emit(Instr::with_k(Op::Const, reg, 0, 0, 0));
                        zero = Some(reg);
                        reg
                    }
                },
            };
        }
        let dest = self.f.alloc_s(2);
        self.f.cur_span = span;
        let k = regs
            .iter()
            .enumerate()
            .fold(0u64, |acc, (idx, reg)| acc | (*reg as u64) << (16 * idx));
        self.f.emit(Instr::with_k(Op::AtOff, dest, img, 0, k));
        Ok(Some(Val::S(dest)))
    }

    /// After a call, the result sits at the base of the callee's window.
    fn result_at(&mut self, sbase: u16, rbase: u16, ty: &Type) -> Val {
        match class(ty) {
            Class::S(width) => {
                let reg = self.f.alloc_s(width);
                debug_assert_eq!(reg, sbase);
                Val::S(sbase)
            }
            Class::R => {
                let reg = self.f.alloc_r();
                debug_assert_eq!(reg, rbase);
                Val::R(rbase)
            }
            Class::Unit => Val::Unit,
        }
    }

    /// Computes the arguments into consecutive scalar registers; returns the first.
    fn packed_args(&mut self, args: &'a [Expr], types: &[Type]) -> Res2<u16> {
        let width: u16 = types.iter().map(|ty| ty.width() as u16).sum();
        let base = self.f.alloc_s(width.max(1));
        let mut reg = base;
        for (arg, ty) in args.iter().zip(types) {
            self.value_into(arg, Val::S(reg), ty)?;
            reg += ty.width() as u16;
        }
        Ok(base)
    }

    pub(super) fn builtin(
        &mut self,
        op: BuiltinOp,
        args: &'a [Expr],
        arg_types: &[Type],
        ty: &Type,
        span: Span,
    ) -> Res2<Val> {
        // A colour of constants is two constant slots.
        if matches!(op, BuiltinOp::Rgb | BuiltinOp::Rgba | BuiltinOp::Gray) {
            let values: Option<Vec<f64>> = args.iter().map(float_literal).collect();
            if let Some(v) = values {
                let rgba = match (op, v.as_slice()) {
                    (BuiltinOp::Rgb, [r, g, b]) => Some([*r, *g, *b, 1.0]),
                    (BuiltinOp::Rgba, [r, g, b, a]) => Some([*r, *g, *b, *a]),
                    (BuiltinOp::Gray, [g]) => Some([*g, *g, *g, 1.0]),
                    _ => None,
                };
                if let Some(rgba) = rgba {
                    let bits = color_bits(rgba.map(|c| c as f32));
                    let dest = self.f.alloc_s(2);
                    self.f.cur_span = span;
                    self.f.emit(Instr::with_k(Op::Const, dest, 0, 0, bits[0]));
                    self.f
                        .emit(Instr::with_k(Op::Const, dest + 1, 0, 0, bits[1]));
                    return Ok(Val::S(dest));
                }
            }
        }
        match op {
            BuiltinOp::Print => {
                for (arg, arg_ty) in args.iter().zip(arg_types) {
                    let mark = self.f.mark();
                    let val = self.expr(arg)?;
                    let type_idx = self.type_index(arg_ty);
                    self.f.cur_span = span;
                    match val {
                        Val::S(reg) => self.f.emit(Instr::with_k(Op::Print, reg, 0, 0, type_idx)),
                        Val::R(reg) => self.f.emit(Instr::with_k(Op::PrintR, reg, 0, 0, type_idx)),
                        Val::Unit => {}
                    }
                    self.f.release(mark);
                }
                self.f.cur_span = span;
                self.f.emit(Instr::new(Op::PrintEnd, 0, 0, 0));
                Ok(Val::Unit)
            }
            BuiltinOp::Rgb | BuiltinOp::Rgba => {
                let base = self.packed_args(args, arg_types)?;
                let dest = self.f.alloc_s(2);
                let opcode = if op == BuiltinOp::Rgb {
                    Op::Rgb
                } else {
                    Op::Rgba
                };
                self.f.cur_span = span;
                self.f.emit(Instr::new(opcode, dest, base, 0));
                Ok(Val::S(dest))
            }
            BuiltinOp::Len => {
                let arr = self.reference(&args[0])?;
                let dest = self.f.alloc_s(1);
                self.f.cur_span = span;
                self.f.emit(Instr::new(Op::ArrLen, dest, arr, 0));
                Ok(Val::S(dest))
            }
            BuiltinOp::Blank => {
                let base = self.packed_args(args, arg_types)?;
                let dest = self.f.alloc_r();
                self.f.cur_span = span;
                self.f.emit(Instr::new(Op::Blank, dest, base, 0));
                Ok(Val::R(dest))
            }
            BuiltinOp::Render => self.render(args, span),
            _ => {
                let base = self.packed_args(args, arg_types)?;
                let dest = self.f.alloc_s(ty.width().max(1) as u16);
                self.f.cur_span = span;
                self.f
                    .emit(Instr::with_k(Op::Math, dest, base, 0, builtin_code(op)));
                Ok(Val::S(dest))
            }
        }
    }

    /// `render(w, h, f)`: a loop over the pixels calling `f`, all in chunk code.
    fn render(&mut self, args: &'a [Expr], span: Span) -> Res2<Val> {
        let size = self.f.alloc_s(2);
        self.value_into(&args[0], Val::S(size), &Type::Int)?;
        self.value_into(&args[1], Val::S(size + 1), &Type::Int)?;
        let pixel_ty = Type::func(vec![Type::Int, Type::Int], Type::Color);
        let clo = self.f.alloc_r();
        self.value_into(&args[2], Val::R(clo), &pixel_ty)?;
        let img = self.f.alloc_r();
        self.f.cur_span = span;
        self.f.emit(Instr::new(Op::ImgNew, img, size, 0));
        let xy = self.f.alloc_s(2);
        let (x, y) = (xy, xy + 1);
        let (w, h) = (size, size + 1);
        let row = self.f.new_block();
        let col = self.f.new_block();
        let row_end = self.f.new_block();
        let done = self.f.new_block();
        self.f.emit(Instr::with_k(Op::Const, y, 0, 0, 0));
        self.f
            .emit(Instr::with_k(Op::BrLtI, y, h, 0, pack_targets(row, done)));
        self.f.cur = row;
        self.f.emit(Instr::with_k(Op::Const, x, 0, 0, 0));
        self.f.emit(Instr::with_k(
            Op::BrLtI,
            x,
            w,
            0,
            pack_targets(col, row_end),
        ));
        self.f.cur = col;
        let mark = self.f.mark();
        let sbase = self.f.alloc_s(2);
        self.f.emit(Instr::new(Op::Mov, sbase, x, 0));
        self.f.emit(Instr::new(Op::Mov, sbase + 1, y, 0));
        let rbase = self.f.next_r;
        self.f.emit(Instr::new(Op::CallV, sbase, rbase, clo));
        self.f.emit(Instr::new(Op::ImgSet, img, xy, sbase));
        self.f.release(mark);
        self.f.emit(Instr::with_k(
            Op::ForStep,
            x,
            w,
            0,
            pack_targets(col, row_end),
        ));
        self.f.cur = row_end;
        self.f
            .emit(Instr::with_k(Op::ForStep, y, h, 0, pack_targets(row, done)));
        self.f.cur = done;
        Ok(Val::R(img))
    }

    fn type_index(&mut self, ty: &Type) -> u64 {
        let types = &mut self.c.program.types;
        match types.iter().position(|it| it == ty) {
            Some(idx) => idx as u64,
            None => {
                types.push(ty.clone());
                types.len() as u64 - 1
            }
        }
    }
}
