//! Compiling blocks, statements and control flow (loops, branches,
//! `return`), and assignments to locals, captured bindings and array elements.

use super::{class, ierr, int_literal, small_literal, Class, Gen, LoopCx, Res2, Val};
use crate::check::{Callee, Res};
use crate::compile::ir::{pack_targets, Instr, Loc, LocalInfo, Op};
use crate::syntax::ast::{
    BinOp, Binding, BindingId, Block as AstBlock, Expr, ExprKind, Stmt, StmtKind,
};
use crate::syntax::span::Span;
use crate::types::Type;

impl<'c, 'a> Gen<'c, 'a> {
    pub(super) fn ty(&self, expr: &Expr) -> Type {
        self.c.an.type_of(expr.id).clone()
    }

    pub(super) fn ret(&mut self, value: Val, ty: &Type) {
        match (value, class(ty)) {
            (Val::S(reg), Class::S(2)) => self.f.emit(Instr::new(Op::Ret2, reg, 0, 0)),
            (Val::S(reg), _) => self.f.emit(Instr::new(Op::Ret, reg, 0, 0)),
            (Val::R(reg), _) => self.f.emit(Instr::new(Op::RetR, reg, 0, 0)),
            (Val::Unit, _) => self.f.emit(Instr::new(Op::RetU, 0, 0, 0)),
        }
    }

    /// Compiles a block; returns its value when `want` and it has one.
    pub(super) fn block(&mut self, block: &'a AstBlock, want: bool) -> Res2<Val> {
        self.block_inner(block, want, true)
    }

    /// Compiles a block. With `settle`, a value computed above the block's registers
    /// moves down to the first free register; without, it stays where it is, for a
    /// caller that uses it at once (a function returning it).
    pub(super) fn block_inner(
        &mut self,
        block: &'a AstBlock,
        want: bool,
        settle: bool,
    ) -> Res2<Val> {
        let mark = self.f.mark();
        for stmt in &block.stmts {
            self.stmt(stmt, block.span)?;
        }
        let value = match &block.value {
            Some(expr) => {
                self.f.cur_span = expr.span;
                let val = self.expr(expr)?;
                if want {
                    val
                } else {
                    Val::Unit
                }
            }
            None => Val::Unit,
        };
        // Bindings of the block die here; the value, if any, moves to the first free register.
        self.f.release(mark);
        if !settle {
            return Ok(value);
        }
        Ok(self.settle(value, block.value.as_deref()))
    }

    /// After releasing registers, moves a value that lived above the mark down to the top.
    fn settle(&mut self, value: Val, expr: Option<&Expr>) -> Val {
        let ty = expr.map(|expr| self.ty(expr)).unwrap_or(Type::Unit);
        match value {
            Val::S(reg) if reg >= self.f.next_s => {
                let dest = self.f.alloc(&ty);
                self.f.mov_ty(dest, value, &ty);
                dest
            }
            Val::R(reg) if reg >= self.f.next_r => {
                let dest = self.f.alloc(&ty);
                self.f.mov(dest, value);
                dest
            }
            other => other,
        }
    }

    fn stmt(&mut self, stmt: &'a Stmt, scope: Span) -> Res2<()> {
        self.f.cur_span = stmt.span;
        match &stmt.kind {
            StmtKind::Let { binding, value, .. } => {
                let ty = self.c.an.binding_type(binding.id).clone();
                if let Some(&slot) = self.c.env.slots.get(&binding.id) {
                    let mark = self.f.mark();
                    let val = self.fresh_value(value, &ty)?;
                    self.f.cur_span = stmt.span;
                    self.f.env_store(0, slot, val, &ty);
                    self.f.release(mark);
                    self.f.locals.insert(binding.id, Loc::Env(slot));
                    self.f.local_infos.push(LocalInfo {
                        name: binding.name.name.clone(),
                        ty,
                        loc: Loc::Env(slot),
                        is_param: false,
                        scope: Span::new(stmt.span.end, scope.end),
                    });
                } else {
                    let dest = self.f.alloc(&ty);
                    self.value_into(value, dest, &ty)?;
                    self.f.bind_reg(
                        binding,
                        dest,
                        &ty,
                        false,
                        Span::new(stmt.span.end, scope.end),
                    );
                }
            }
            StmtKind::Assign { target, op, value } => self.assign(target, *op, value, stmt.span)?,
            StmtKind::Expr(expr) => {
                let mark = self.f.mark();
                self.expr(expr)?;
                self.f.release(mark);
            }
            StmtKind::Return(value) => {
                let mark = self.f.mark();
                match value {
                    Some(expr) => {
                        let ty = self.ty(expr);
                        let val = self.fresh_value(expr, &ty)?;
                        self.f.cur_span = stmt.span;
                        self.ret(val, &ty);
                    }
                    None => self.ret(Val::Unit, &Type::Unit),
                }
                self.f.release(mark);
            }
            StmtKind::Break => {
                let exit = self.f.loops.last().map(|it| it.exit);
                if let Some(exit) = exit {
                    self.f.emit(Instr::with_k(Op::Jmp, 0, 0, 0, exit as u64));
                }
            }
            StmtKind::Continue => {
                let cont = match self.f.loops.len().checked_sub(1) {
                    Some(idx) => match self.f.loops[idx].cont {
                        Some(cont) => Some(cont),
                        None => {
                            let step = self.f.new_block();
                            self.f.loops[idx].cont = Some(step);
                            Some(step)
                        }
                    },
                    None => None,
                };
                if let Some(cont) = cont {
                    self.f.emit(Instr::with_k(Op::Jmp, 0, 0, 0, cont as u64));
                }
            }
            StmtKind::While { cond, body } => {
                let head = self.f.new_block();
                let body_block = self.f.new_block();
                let exit = self.f.new_block();
                self.f.switch_to(head);
                self.branch(cond, body_block, exit)?;
                self.f.cur = body_block;
                self.f.loops.push(LoopCx {
                    cont: Some(head),
                    exit,
                });
                let mark = self.f.mark();
                self.block(body, false)?;
                self.f.release(mark);
                self.f.loops.pop();
                self.f.cur_span = stmt.span;
                if !self.f.terminated() {
                    self.f.emit(Instr::with_k(Op::Jmp, 0, 0, 0, head as u64));
                }
                self.f.cur = exit;
            }
            StmtKind::For {
                binding,
                start,
                end,
                body,
            } => self.for_loop(binding, start, end, body, stmt.span)?,
        }
        Ok(())
    }

    fn for_loop(
        &mut self,
        binding: &'a Binding,
        start: &'a Expr,
        end: &'a Expr,
        body: &'a AstBlock,
        span: Span,
    ) -> Res2<()> {
        let counter = self.f.alloc_s(1);
        self.value_into(start, Val::S(counter), &Type::Int)?;
        // A constant limit rides in the instruction; any other gets a register.
        let limit = match small_literal(end) {
            Some(k) => Err(k),
            None => {
                let limit = self.f.alloc_s(1);
                self.value_into(end, Val::S(limit), &Type::Int)?;
                Ok(limit)
            }
        };
        let body_block = self.f.new_block();
        let exit = self.f.new_block();
        self.f.cur_span = span;
        let targets = pack_targets(body_block, exit);
        self.f.emit(match limit {
            Ok(reg) => Instr::with_k(Op::BrLtI, counter, reg, 0, targets),
            Err(k) => Instr::with_k(Op::BrLtIK, counter, 0, k, targets),
        });
        self.f.cur = body_block;
        let mark = self.f.mark();
        if let Some(&slot) = self.c.env.slots.get(&binding.id) {
            self.f.cur_span = binding.name.span;
            self.f.env_store(0, slot, Val::S(counter), &Type::Int);
            self.f.locals.insert(binding.id, Loc::Env(slot));
            self.f.local_infos.push(LocalInfo {
                name: binding.name.name.clone(),
                ty: Type::Int,
                loc: Loc::Env(slot),
                is_param: false,
                scope: body.span,
            });
        } else {
            self.f
                .bind_reg(binding, Val::S(counter), &Type::Int, false, body.span);
        }
        self.f.loops.push(LoopCx { cont: None, exit });
        self.block(body, false)?;
        let cont = self.f.loops.pop().and_then(|it| it.cont);
        self.f.release(mark);
        if let Some(step) = cont {
            self.f.switch_to(step);
        }
        self.f.cur_span = span;
        self.f.emit(match limit {
            Ok(reg) => Instr::with_k(Op::ForStep, counter, reg, 0, targets),
            Err(k) => Instr::with_k(Op::ForStepK, counter, 0, k, targets),
        });
        self.f.cur = exit;
        Ok(())
    }

    /// Compiles a condition as a two-way branch.
    pub(super) fn branch(&mut self, cond: &'a Expr, then: u32, otherwise: u32) -> Res2<()> {
        let mark = self.f.mark();
        if let ExprKind::Binary(op @ (BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge), lhs, rhs) =
            &cond.kind
        {
            let ty = self.ty(lhs);
            // `i < K` and `i <= K` against a small constant: one instruction, no register.
            let konst = match (op, &ty) {
                (BinOp::Lt, Type::Int) => small_literal(rhs),
                (BinOp::Le, Type::Int) => int_literal(rhs)
                    .and_then(|v| v.checked_add(1))
                    .and_then(|v| i16::try_from(v).ok())
                    .map(|v| v as u16),
                _ => None,
            };
            if let Some(k) = konst {
                let a = self.scalar(lhs)?;
                self.f.cur_span = cond.span;
                self.f.emit(Instr::with_k(
                    Op::BrLtIK,
                    a,
                    0,
                    k,
                    pack_targets(then, otherwise),
                ));
                self.f.release(mark);
                return Ok(());
            }
            // Floats only for `<` and `>`: `a >= b` is not `!(a < b)` when one is NaN.
            let opcode = match (&ty, op) {
                (Type::Int, _) => Some(Op::BrLtI),
                (Type::Float, BinOp::Lt | BinOp::Gt) => Some(Op::BrLtF),
                _ => None,
            };
            if let Some(opcode) = opcode {
                // Operands in source order; the comparison picks which is left.
                let a = self.scalar(lhs)?;
                let b = self.scalar(rhs)?;
                let (x, y, targets) = match op {
                    BinOp::Lt => (a, b, pack_targets(then, otherwise)),
                    BinOp::Gt => (b, a, pack_targets(then, otherwise)),
                    BinOp::Ge => (a, b, pack_targets(otherwise, then)),
                    _ => (b, a, pack_targets(otherwise, then)),
                };
                self.f.cur_span = cond.span;
                self.f.emit(Instr::with_k(opcode, x, y, 0, targets));
                self.f.release(mark);
                return Ok(());
            }
        }
        let reg = self.scalar(cond)?;
        self.f.cur_span = cond.span;
        self.f.emit(Instr::with_k(
            Op::Br,
            reg,
            0,
            0,
            pack_targets(then, otherwise),
        ));
        self.f.release(mark);
        Ok(())
    }

    pub(super) fn scalar(&mut self, expr: &'a Expr) -> Res2<u16> {
        match self.expr(expr)? {
            Val::S(reg) => Ok(reg),
            _ => Err(ierr("expected a scalar value", expr.span)),
        }
    }

    pub(super) fn reference(&mut self, expr: &'a Expr) -> Res2<u16> {
        match self.expr(expr)? {
            Val::R(reg) => Ok(reg),
            _ => Err(ierr("expected a reference value", expr.span)),
        }
    }

    /// Computes a value that a binding or an element will own: arrays are copied
    /// unless freshly made.
    pub(super) fn fresh_value(&mut self, expr: &'a Expr, ty: &Type) -> Res2<Val> {
        let val = self.expr(expr)?;
        if let (Type::Array(..), Val::R(reg)) = (ty, val) {
            if !matches!(expr.kind, ExprKind::Array(_) | ExprKind::ArrayRepeat(..)) {
                let dest = self.f.alloc_r();
                self.f.cur_span = expr.span;
                self.f.emit(Instr::new(Op::ArrCopy, dest, reg, 0));
                return Ok(Val::R(dest));
            }
        }
        Ok(val)
    }

    /// Computes `expr` into `dest`.
    pub(super) fn value_into(&mut self, expr: &'a Expr, dest: Val, ty: &Type) -> Res2<()> {
        let mark = self.f.mark();
        let val = self.fresh_value(expr, ty)?;
        self.f.cur_span = expr.span;
        if !self.f.retarget(dest, val, ty, mark) {
            self.f.mov_ty(dest, val, ty);
        }
        self.f.release(mark);
        Ok(())
    }

    fn assign(
        &mut self,
        target: &'a Expr,
        op: Option<BinOp>,
        value: &'a Expr,
        span: Span,
    ) -> Res2<()> {
        let mark = self.f.mark();
        let ty = self.ty(target);
        if self.accumulate_pixel(target, op, value, span)? {
            return Ok(());
        }
        let new_value = match op {
            None => self.fresh_value(value, &ty)?,
            Some(op) => {
                let current = self.expr(target)?;
                let rhs = self.expr(value)?;
                let rhs_ty = self.ty(value);
                self.f.cur_span = span;
                self.binary_op(op, current, &ty, rhs, &rhs_ty, &ty, span)?
            }
        };
        self.f.cur_span = span;
        match &target.kind {
            ExprKind::Name(_) => match self.c.an.names.get(&target.id) {
                Some(Res::Local(binding)) => {
                    let binding = *binding;
                    let reg = match self.f.loc(binding) {
                        Some(Loc::S(reg)) => Some(Val::S(reg)),
                        Some(Loc::R(reg)) => Some(Val::R(reg)),
                        _ => None,
                    };
                    let done = reg.is_some_and(|reg| self.f.retarget(reg, new_value, &ty, mark));
                    if !done {
                        self.store_local(binding, new_value, &ty, span)?;
                    }
                }
                _ => return Err(ierr("assignment to something that is not a local", span)),
            },
            ExprKind::Index(base, index) => {
                let arr = self.reference(base)?;
                let idx = self.scalar(index)?;
                self.f.cur_span = span;
                match (new_value, class(&ty)) {
                    (Val::S(reg), Class::S(2)) => {
                        self.f.emit(Instr::new(Op::ArrSet2, arr, idx, reg))
                    }
                    (Val::S(reg), _) => self.f.emit(Instr::new(Op::ArrSet, arr, idx, reg)),
                    (Val::R(reg), _) => self.f.emit(Instr::new(Op::ArrSetR, arr, idx, reg)),
                    (Val::Unit, _) => {}
                }
            }
            _ => return Err(ierr("invalid assignment target", span)),
        }
        self.f.release(mark);
        Ok(())
    }

    /// `sum = sum + img.at(x + dx, y + dy)` (or `sum += ...`, or coordinates that are
    /// not sums) with `sum` a colour in a register: one `AtOffAcc`;
    /// `sum = sum + img.at(x + dx, y + dy) * w` (a weighted kernel, `w` a float read
    /// without a call): one `AtOffMulAcc`.
    fn accumulate_pixel(
        &mut self,
        target: &'a Expr,
        op: Option<BinOp>,
        value: &'a Expr,
        span: Span,
    ) -> Res2<bool> {
        let Some(Res::Local(binding)) = self.c.an.names.get(&target.id).copied() else {
            return Ok(false);
        };
        let Some(Loc::S(sum)) = self.f.loc(binding) else {
            return Ok(false);
        };
        if self.ty(target) != Type::Color {
            return Ok(false);
        }
        let read = match (op, &value.kind) {
            (Some(BinOp::Add), _) => value,
            (None, ExprKind::Binary(BinOp::Add, lhs, rhs))
                if matches!(&lhs.kind, ExprKind::Name(_))
                    && self.c.an.names.get(&lhs.id) == Some(&Res::Local(binding)) =>
            {
                rhs
            }
            _ => return Ok(false),
        };
        // A weight after the read (`img.at(..) * w`, or `w * img.at(..)`): evaluated
        // after the pixel's coordinates, as it is without the fusion, so only a weight
        // with no call (no effect to reorder with the read).
        let (read, weight) = match &read.kind {
            ExprKind::Binary(BinOp::Mul, lhs, rhs) if self.ty(read) == Type::Color => {
                match (self.ty(lhs), self.ty(rhs)) {
                    (Type::Color, Type::Float) => (&**lhs, Some(&**rhs)),
                    (Type::Float, Type::Color) => (&**rhs, Some(&**lhs)),
                    _ => return Ok(false),
                }
            }
            _ => (read, None),
        };
        if weight.is_some_and(|weight| !plain(weight)) {
            return Ok(false);
        }
        let ExprKind::Call(callee, args) = &read.kind else {
            return Ok(false);
        };
        let (Some(Callee::Method(method)), ExprKind::Field(receiver, _)) =
            (self.c.an.calls.get(&read.id).copied(), &callee.kind)
        else {
            return Ok(false);
        };
        // Coordinates that are sums (`x + dx`) or ints read as such plus 0.
        if method.name != "at"
            || args.len() != 2
            || args.iter().any(|arg| self.ty(arg) != Type::Int)
        {
            return Ok(false);
        }
        let mark = self.f.mark();
        let img = self.reference(receiver)?;
        let Some(Val::S(_)) = self.at_offset(img, &args[0], &args[1], true, span)? else {
            self.f.release(mark);
            return Ok(false);
        };
        if let Some(weight) = weight {
            // The `AtOff` just emitted, taken back, and put after the weight's code as
            // an accumulation into `sum` (its coordinates' registers stay held).
            let block = &mut self.f.blocks[self.f.cur as usize];
            let (Some(mut read), Some(_)) = (block.instrs.pop(), block.spans.pop()) else {
                return Err(ierr("no pixel read to weigh", span));
            };
            let k = self.scalar(weight)?;
            self.f.cur_span = span;
            read.op = Op::AtOffMulAcc;
            read.a = sum;
            read.c = k;
            self.f.emit(read);
            self.f.release(mark);
            return Ok(true);
        }
        // Turn the `AtOff` just emitted into an accumulation into `sum`.
        if let Some(last) = self.f.blocks[self.f.cur as usize].instrs.last_mut() {
            last.op = Op::AtOffAcc;
            last.a = sum;
        }
        self.f.release(mark);
        Ok(true)
    }

    fn store_local(&mut self, binding: BindingId, val: Val, ty: &Type, span: Span) -> Res2<()> {
        match self.f.loc(binding) {
            Some(Loc::S(reg)) => self.f.mov_ty(Val::S(reg), val, ty),
            Some(Loc::R(reg)) => self.f.mov(Val::R(reg), val),
            Some(Loc::Env(_)) | None => {
                let (depth, slot) = self.env_ref(binding, span)?;
                self.f.env_store(depth, slot, val, ty);
            }
        }
        Ok(())
    }

    pub(super) fn env_ref(&self, binding: BindingId, span: Span) -> Res2<(u16, u16)> {
        let owner = self.c.an.owner_of(binding);
        let slot = self
            .c
            .env
            .slots
            .get(&binding)
            .copied()
            .ok_or_else(|| ierr("captured binding without an environment slot", span))?;
        let depth = self
            .f
            .depth_to(owner, &self.c.env)
            .ok_or_else(|| ierr("binding of a function that does not enclose this one", span))?;
        Ok((depth, slot))
    }
}

/// An expression with no call in it (names, literals, operators, indexing, fields):
/// nothing it does can be seen by code around it but its value, or its runtime error.
fn plain(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Name(_) | ExprKind::Int(_) | ExprKind::Float(_) => true,
        ExprKind::Index(base, index) => plain(base) && plain(index),
        ExprKind::Binary(_, lhs, rhs) => plain(lhs) && plain(rhs),
        ExprKind::Unary(_, operand) => plain(operand),
        ExprKind::Field(base, _) => plain(base),
        _ => false,
    }
}
