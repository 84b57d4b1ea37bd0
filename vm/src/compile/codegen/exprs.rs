//! Compiling expressions: constants, names, operators, arrays, `if` and
//! closures.

use super::{class, float_literal, ierr, int_literal, placeholder, Class, Gen, Pending, Res2, Val};
use crate::check::{Owner, Res};
use crate::compile::ir::{pack_shape, pack_targets, Instr, Loc, Op};
use crate::syntax::ast::{BinOp, Block as AstBlock, Closure, Expr, ExprKind, UnOp};
use crate::syntax::span::Span;
use crate::types::Type;

impl<'c, 'a> Gen<'c, 'a> {
    /// Compiles an expression; returns where its value is.
    pub(super) fn expr(&mut self, expr: &'a Expr) -> Res2<Val> {
        let ty = self.ty(expr);
        let span = expr.span;
        self.f.cur_span = span;
        let val = match &expr.kind {
            ExprKind::Int(v) => self.constant(*v as u64),
            ExprKind::Float(v) => self.constant(v.to_bits()),
            ExprKind::Bool(v) => self.constant(*v as u64),
            ExprKind::Str(text) => {
                let idx = match self.c.program.strings.iter().position(|it| it == text) {
                    Some(idx) => idx,
                    None => {
                        self.c.program.strings.push(text.clone());
                        self.c.program.strings.len() - 1
                    }
                };
                let dest = self.f.alloc_r();
                self.f.emit(Instr::with_k(Op::Str, dest, 0, 0, idx as u64));
                Val::R(dest)
            }
            ExprKind::Name(_) => self.name(expr, &ty)?,
            ExprKind::Binary(BinOp::And, lhs, rhs) => self.logic(lhs, rhs, true)?,
            ExprKind::Binary(BinOp::Or, lhs, rhs) => self.logic(lhs, rhs, false)?,
            ExprKind::Binary(op @ (BinOp::Add | BinOp::Sub), lhs, rhs)
                if ty == Type::Int
                    && int_literal(rhs)
                        .and_then(|v| i32::try_from(v).ok())
                        .is_some() =>
            {
                let k = int_literal(rhs).unwrap_or(0);
                let k = if *op == BinOp::Sub {
                    k.wrapping_neg()
                } else {
                    k
                };
                let left = self.scalar(lhs)?;
                let dest = self.f.alloc_s(1);
                self.f.cur_span = span;
                self.f
                    .emit(Instr::with_k(Op::AddIK, dest, left, 0, k as u64));
                Val::S(dest)
            }
            ExprKind::Binary(op, lhs, rhs) if self.constant_operand(*op, lhs, rhs).is_some() => {
                let Some((opcode, operand, k)) = self.constant_operand(*op, lhs, rhs) else {
                    return Err(ierr("constant operand vanished", span));
                };
                let src = self.scalar(operand)?;
                let dest = self.f.alloc_s(ty.width() as u16);
                self.f.cur_span = span;
                self.f.emit(Instr::with_k(opcode, dest, src, 0, k));
                Val::S(dest)
            }
            ExprKind::Binary(op, lhs, rhs) => {
                let left = self.expr(lhs)?;
                let right = self.expr(rhs)?;
                let (lt, rt) = (self.ty(lhs), self.ty(rhs));
                self.f.cur_span = span;
                self.binary_op(*op, left, &lt, right, &rt, &ty, span)?
            }
            ExprKind::Unary(UnOp::Neg, operand)
                if matches!(operand.kind, ExprKind::Int(_) | ExprKind::Float(_)) =>
            {
                match operand.kind {
                    ExprKind::Int(v) => self.constant(v.wrapping_neg() as u64),
                    ExprKind::Float(v) => self.constant((-v).to_bits()),
                    _ => Val::Unit,
                }
            }
            ExprKind::Unary(op, operand) => {
                let src = self.scalar(operand)?;
                let opcode = match (op, &ty) {
                    (UnOp::Not, _) => Op::Not,
                    (UnOp::Neg, Type::Int) => Op::NegI,
                    (UnOp::Neg, Type::Float) => Op::NegF,
                    (UnOp::Neg, Type::Color) => Op::NegC,
                    _ => return Err(ierr(format!("cannot negate {ty}"), span)),
                };
                let dest = self.f.alloc_s(ty.width() as u16);
                self.f.cur_span = span;
                self.f.emit(Instr::new(opcode, dest, src, 0));
                Val::S(dest)
            }
            ExprKind::Call(callee, args) => self.call(expr, callee, args, &ty)?,
            // `m.name`: a used file's param or function (the checker resolved it).
            ExprKind::Field(..) if self.c.an.names.contains_key(&expr.id) => {
                self.name(expr, &ty)?
            }
            ExprKind::Field(base, field) => {
                let base_ty = self.ty(base);
                match base_ty {
                    Type::Color => {
                        let src = self.scalar(base)?;
                        let channel = match field.name.as_str() {
                            "r" => 0,
                            "g" => 1,
                            "b" => 2,
                            "a" => 3,
                            other => return Err(ierr(format!("unknown channel {other}"), span)),
                        };
                        let dest = self.f.alloc_s(1);
                        self.f.cur_span = span;
                        self.f.emit(Instr::new(Op::Chan, dest, src, channel));
                        Val::S(dest)
                    }
                    Type::Image => {
                        let src = self.reference(base)?;
                        let opcode = match field.name.as_str() {
                            "width" => Op::ImgW,
                            "height" => Op::ImgH,
                            other => {
                                return Err(ierr(format!("unknown image field {other}"), span))
                            }
                        };
                        let dest = self.f.alloc_s(1);
                        self.f.cur_span = span;
                        self.f.emit(Instr::new(opcode, dest, src, 0));
                        Val::S(dest)
                    }
                    other => return Err(ierr(format!("no fields on {other}"), span)),
                }
            }
            ExprKind::Index(base, index) => {
                let arr = self.reference(base)?;
                let idx = self.scalar(index)?;
                let dest = self.f.alloc(&ty);
                self.f.cur_span = span;
                match (dest, class(&ty)) {
                    (Val::S(d), Class::S(2)) => self.f.emit(Instr::new(Op::ArrGet2, d, arr, idx)),
                    (Val::S(d), _) => self.f.emit(Instr::new(Op::ArrGet, d, arr, idx)),
                    (Val::R(d), _) => self.f.emit(Instr::new(Op::ArrGetR, d, arr, idx)),
                    (Val::Unit, _) => {}
                }
                dest
            }
            ExprKind::Array(elems) => {
                let Type::Array(elem_ty, _) = &ty else {
                    return Err(ierr("array literal without array type", span));
                };
                let elem_ty = (**elem_ty).clone();
                let dest = self.new_array(&elem_ty, elems.len() as u32, span)?;
                let idx = self.f.alloc_s(1);
                for (pos, elem) in elems.iter().enumerate() {
                    let mark = self.f.mark();
                    let val = self.fresh_value(elem, &elem_ty)?;
                    self.f.cur_span = elem.span;
                    self.f.emit(Instr::with_k(Op::Const, idx, 0, 0, pos as u64));
                    self.array_set(dest, idx, val, &elem_ty);
                    self.f.release(mark);
                }
                Val::R(dest)
            }
            ExprKind::ArrayRepeat(value, _) => {
                let Type::Array(elem_ty, len) = &ty else {
                    return Err(ierr("array literal without array type", span));
                };
                let elem_ty = (**elem_ty).clone();
                let dest = self.new_array(&elem_ty, *len, span)?;
                let val = self.expr(value)?;
                if !matches!(value.kind, ExprKind::Int(0) | ExprKind::Bool(false))
                    && !matches!(value.kind, ExprKind::Float(v) if v == 0.0 && v.is_sign_positive())
                {
                    let counter = self.f.alloc_s(1);
                    let limit = self.f.alloc_s(1);
                    self.f.cur_span = span;
                    self.f.emit(Instr::with_k(Op::Const, counter, 0, 0, 0));
                    self.f
                        .emit(Instr::with_k(Op::Const, limit, 0, 0, *len as u64));
                    let body = self.f.new_block();
                    let exit = self.f.new_block();
                    self.f.emit(Instr::with_k(
                        Op::BrLtI,
                        counter,
                        limit,
                        0,
                        pack_targets(body, exit),
                    ));
                    self.f.cur = body;
                    if matches!(elem_ty, Type::Array(..)) {
                        if let Val::R(src) = val {
                            let copy = self.f.alloc_r();
                            self.f.emit(Instr::new(Op::ArrCopy, copy, src, 0));
                            self.array_set(dest, counter, Val::R(copy), &elem_ty);
                        }
                    } else {
                        self.array_set(dest, counter, val, &elem_ty);
                    }
                    self.f.emit(Instr::with_k(
                        Op::ForStep,
                        counter,
                        limit,
                        0,
                        pack_targets(body, exit),
                    ));
                    self.f.cur = exit;
                }
                Val::R(dest)
            }
            ExprKind::Closure(closure) => {
                let func = self.closure(expr, closure)?;
                let dest = self.f.alloc_r();
                self.f.cur_span = span;
                self.f
                    .emit(Instr::with_k(Op::MkClo, dest, 0, 0, func as u64));
                Val::R(dest)
            }
            ExprKind::If(cond, then, otherwise) => {
                self.if_expr(expr, cond, then, otherwise.as_deref(), &ty)?
            }
            ExprKind::Block(block) => {
                let want = ty != Type::Unit;
                self.block(block, want)?
            }
            ExprKind::Error => return Err(ierr("error node in checked code", span)),
        };
        Ok(val)
    }

    /// An arithmetic operator with a literal on one side, as one instruction with the
    /// literal as its immediate: the opcode, the other operand, the immediate.
    fn constant_operand(
        &self,
        op: BinOp,
        lhs: &'a Expr,
        rhs: &'a Expr,
    ) -> Option<(Op, &'a Expr, u64)> {
        let (lt, rt) = (self.ty(lhs), self.ty(rhs));
        match (lt, rt) {
            (Type::Int, Type::Int) => {
                let k = int_literal(rhs)?;
                match op {
                    BinOp::Mul => Some((Op::MulIK, lhs, k as u64)),
                    BinOp::Div if k != 0 => Some((Op::DivIK, lhs, k as u64)),
                    BinOp::Rem if k != 0 => Some((Op::RemIK, lhs, k as u64)),
                    _ => None,
                }
            }
            (Type::Float, Type::Float) => {
                if let Some(k) = float_literal(rhs) {
                    let opcode = match op {
                        BinOp::Add => Op::AddFK,
                        BinOp::Sub => Op::SubFK,
                        BinOp::Mul => Op::MulFK,
                        BinOp::Div => Op::DivFK,
                        _ => return None,
                    };
                    return Some((opcode, lhs, k.to_bits()));
                }
                let k = float_literal(lhs)?;
                let opcode = match op {
                    BinOp::Add => Op::AddFK,
                    BinOp::Sub => Op::RSubFK,
                    BinOp::Mul => Op::MulFK,
                    _ => return None,
                };
                Some((opcode, rhs, k.to_bits()))
            }
            (Type::Color, Type::Float) => match op {
                BinOp::Mul => Some((Op::MulCFK, lhs, float_literal(rhs)?.to_bits())),
                BinOp::Div => Some((Op::DivCFK, lhs, float_literal(rhs)?.to_bits())),
                _ => None,
            },
            (Type::Float, Type::Color) if op == BinOp::Mul => {
                Some((Op::MulCFK, rhs, float_literal(lhs)?.to_bits()))
            }
            _ => None,
        }
    }

    pub(super) fn constant(&mut self, bits: u64) -> Val {
        let dest = self.f.alloc_s(1);
        self.f.emit(Instr::with_k(Op::Const, dest, 0, 0, bits));
        Val::S(dest)
    }

    fn new_array(&mut self, elem_ty: &Type, len: u32, span: Span) -> Res2<u16> {
        let (width, link) = match class(elem_ty) {
            Class::S(width) => (width as u8, false),
            Class::R => (1, true),
            Class::Unit => return Err(ierr("array of unit", span)),
        };
        let dest = self.f.alloc_r();
        self.f.cur_span = span;
        self.f.emit(Instr::with_k(
            Op::NewArr,
            dest,
            0,
            0,
            pack_shape(len, width, link),
        ));
        Ok(dest)
    }

    fn array_set(&mut self, arr: u16, idx: u16, val: Val, elem_ty: &Type) {
        match (val, class(elem_ty)) {
            (Val::S(reg), Class::S(2)) => self.f.emit(Instr::new(Op::ArrSet2, arr, idx, reg)),
            (Val::S(reg), _) => self.f.emit(Instr::new(Op::ArrSet, arr, idx, reg)),
            (Val::R(reg), _) => self.f.emit(Instr::new(Op::ArrSetR, arr, idx, reg)),
            (Val::Unit, _) => {}
        }
    }

    pub(super) fn name(&mut self, expr: &'a Expr, ty: &Type) -> Res2<Val> {
        let span = expr.span;
        match self.c.an.names.get(&expr.id).copied() {
            Some(Res::Local(binding)) => match self.f.loc(binding) {
                Some(Loc::S(reg)) => Ok(Val::S(reg)),
                Some(Loc::R(reg)) => Ok(Val::R(reg)),
                Some(Loc::Env(_)) | None => {
                    let (depth, slot) = self.env_ref(binding, span)?;
                    let dest = self.f.alloc(ty);
                    self.f.cur_span = span;
                    match (dest, class(ty)) {
                        (Val::S(d), Class::S(2)) => {
                            self.f.emit(Instr::new(Op::EnvGet2, d, depth, slot))
                        }
                        (Val::S(d), _) => self.f.emit(Instr::new(Op::EnvGet, d, depth, slot)),
                        (Val::R(d), _) => self.f.emit(Instr::new(Op::EnvGetR, d, depth, slot)),
                        (Val::Unit, _) => {}
                    }
                    Ok(dest)
                }
            },
            Some(Res::Param(item)) => {
                let slot = *self
                    .c
                    .global_slots
                    .get(&item)
                    .ok_or_else(|| ierr("param without a global slot", span))?;
                let dest = self.f.alloc(ty);
                let op = if ty.width() == 2 { Op::Glob2 } else { Op::Glob };
                if let Val::S(d) = dest {
                    self.f.emit(Instr::with_k(op, d, 0, 0, slot as u64));
                }
                Ok(dest)
            }
            Some(Res::Function(item)) => {
                let func = *self
                    .c
                    .item_funcs
                    .get(&item)
                    .ok_or_else(|| ierr("function item without code", span))?;
                let dest = self.f.alloc_r();
                self.f
                    .emit(Instr::with_k(Op::MkClo, dest, 0, 0, func as u64));
                Ok(Val::R(dest))
            }
            Some(Res::Builtin(builtin)) => Err(ierr(
                format!("builtin `{}` used as a value", builtin.name),
                span,
            )),
            None => Err(ierr("unresolved name", span)),
        }
    }

    fn logic(&mut self, lhs: &'a Expr, rhs: &'a Expr, is_and: bool) -> Res2<Val> {
        let dest = self.f.alloc_s(1);
        self.value_into(lhs, Val::S(dest), &Type::Bool)?;
        let rhs_block = self.f.new_block();
        let end = self.f.new_block();
        let targets = if is_and {
            pack_targets(rhs_block, end)
        } else {
            pack_targets(end, rhs_block)
        };
        self.f.emit(Instr::with_k(Op::Br, dest, 0, 0, targets));
        self.f.cur = rhs_block;
        self.value_into(rhs, Val::S(dest), &Type::Bool)?;
        self.f.switch_to(end);
        Ok(Val::S(dest))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn binary_op(
        &mut self,
        op: BinOp,
        left: Val,
        lt: &Type,
        right: Val,
        rt: &Type,
        ty: &Type,
        span: Span,
    ) -> Res2<Val> {
        let (Val::S(a), Val::S(b)) = (left, right) else {
            return Err(ierr("binary operator on non-scalars", span));
        };
        use BinOp::*;
        let (opcode, a, b) = match (op, lt, rt) {
            (Add, Type::Int, Type::Int) => (Op::AddI, a, b),
            (Sub, Type::Int, Type::Int) => (Op::SubI, a, b),
            (Mul, Type::Int, Type::Int) => (Op::MulI, a, b),
            (Div, Type::Int, Type::Int) => (Op::DivI, a, b),
            (Rem, Type::Int, Type::Int) => (Op::RemI, a, b),
            (Add, Type::Float, Type::Float) => (Op::AddF, a, b),
            (Sub, Type::Float, Type::Float) => (Op::SubF, a, b),
            (Mul, Type::Float, Type::Float) => (Op::MulF, a, b),
            (Div, Type::Float, Type::Float) => (Op::DivF, a, b),
            (Rem, Type::Float, Type::Float) => (Op::RemF, a, b),
            (Add, Type::Color, Type::Color) => (Op::AddC, a, b),
            (Sub, Type::Color, Type::Color) => (Op::SubC, a, b),
            (Mul, Type::Color, Type::Color) => (Op::MulC, a, b),
            (Mul, Type::Color, Type::Float) => (Op::MulCF, a, b),
            (Mul, Type::Float, Type::Color) => (Op::MulCF, b, a),
            (Div, Type::Color, Type::Float) => (Op::DivCF, a, b),
            (Eq, Type::Int | Type::Bool, _) => (Op::EqI, a, b),
            (Ne, Type::Int | Type::Bool, _) => (Op::NeI, a, b),
            (Lt, Type::Int, _) => (Op::LtI, a, b),
            (Le, Type::Int, _) => (Op::LeI, a, b),
            (Gt, Type::Int, _) => (Op::LtI, b, a),
            (Ge, Type::Int, _) => (Op::LeI, b, a),
            (Eq, Type::Float, _) => (Op::EqF, a, b),
            (Ne, Type::Float, _) => (Op::NeF, a, b),
            (Lt, Type::Float, _) => (Op::LtF, a, b),
            (Le, Type::Float, _) => (Op::LeF, a, b),
            (Gt, Type::Float, _) => (Op::LtF, b, a),
            (Ge, Type::Float, _) => (Op::LeF, b, a),
            (Eq, Type::Color, _) => (Op::EqC, a, b),
            (Ne, Type::Color, _) => (Op::NeC, a, b),
            _ => {
                return Err(ierr(
                    format!("no operator {} for {lt} and {rt}", op.as_str()),
                    span,
                ))
            }
        };
        let dest = self.f.alloc_s(ty.width() as u16);
        self.f.emit(Instr::new(opcode, dest, a, b));
        Ok(Val::S(dest))
    }

    fn if_expr(
        &mut self,
        expr: &'a Expr,
        cond: &'a Expr,
        then: &'a AstBlock,
        otherwise: Option<&'a Expr>,
        ty: &Type,
    ) -> Res2<Val> {
        let want = *ty != Type::Unit && otherwise.is_some();
        let dest = if want { self.f.alloc(ty) } else { Val::Unit };
        let then_block = self.f.new_block();
        let else_block = self.f.new_block();
        let end = if otherwise.is_some() {
            self.f.new_block()
        } else {
            else_block
        };
        self.branch(cond, then_block, else_block)?;
        self.f.cur = then_block;
        let mark = self.f.mark();
        let val = self.block(then, want)?;
        if want {
            self.f.mov_ty(dest, val, ty);
        }
        self.f.release(mark);
        self.f.cur_span = expr.span;
        self.f.switch_to(end);
        if let Some(otherwise) = otherwise {
            self.f.cur = else_block;
            let mark = self.f.mark();
            let val = self.expr(otherwise)?;
            if want {
                self.f.mov_ty(dest, val, ty);
            }
            self.f.release(mark);
            self.f.cur_span = expr.span;
            self.f.switch_to(end);
        }
        self.f.cur = end;
        Ok(dest)
    }

    pub(super) fn closure(&mut self, expr: &'a Expr, closure: &'a Closure) -> Res2<u32> {
        if let Some(func) = self.c.closure_funcs.get(&expr.id) {
            return Ok(*func);
        }
        let func = self.c.program.functions.len() as u32;
        let owner_name = self.owner_name();
        let name = format!("{owner_name}::closure@{}", expr.span.start);
        self.c.program.functions.push(placeholder(&name, expr.span));
        self.c.closure_funcs.insert(expr.id, func);
        self.c.pending.push(Pending {
            func,
            closure,
            expr: expr.id,
            span: expr.span,
            chain: self.f.chain.clone(),
        });
        Ok(func)
    }

    fn owner_name(&self) -> String {
        match self.f.owner {
            Owner::Item(item) => self
                .c
                .file
                .items
                .get(item.0 as usize)
                .map(|it| it.name.name.clone())
                .unwrap_or_default(),
            Owner::Closure(expr) => self
                .c
                .closure_funcs
                .get(&expr)
                .and_then(|func| self.c.program.functions.get(*func as usize))
                .map(|it| it.name.clone())
                .unwrap_or_default(),
            Owner::None => String::new(),
        }
    }
}
