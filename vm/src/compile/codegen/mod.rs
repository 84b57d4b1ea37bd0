//! From the checked AST to basic blocks of register instructions.
//!
//! Registers are allocated like a stack: each binding gets the next free
//! register of its file when it is declared and gives it back when its
//! block ends; temporaries live above the bindings for one statement. A
//! call puts its arguments at the top of the caller's registers, where the
//! callee's register window then begins, so arguments are never copied.
//! Bindings that closures capture live in environment chunks instead.

use super::ir::{
    builtin_code, pack_shape, pack_targets, Block, Function, Global, Instr, Loc, LocalInfo, Op,
    Program,
};
use crate::builtins::BuiltinOp;
use crate::check::{Analysis, Callee, Const, Owner, Res};
use crate::syntax::ast::{
    BinOp, Binding, BindingId, Block as AstBlock, Closure, Expr, ExprId, ExprKind, ItemId,
    ItemKind, SourceFile, Stmt, StmtKind, UnOp,
};
use crate::syntax::span::Span;
use crate::types::Type;
use std::collections::HashMap;
use std::fmt;

/// A failure of the compiler itself: the checker let through something the
/// compiler cannot translate. Never the user's fault; reported as a bug.
#[derive(Clone, Debug, PartialEq)]
pub struct CompileError {
    /// What went wrong.
    pub message: String,
    /// Where.
    pub span: Span,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "internal compiler error: {}", self.message)
    }
}

impl std::error::Error for CompileError {}

type Res2<T> = Result<T, CompileError>;

/// Where a value is, once computed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Val {
    /// Scalar register(s) from this index (two for a colour).
    S(u16),
    /// A reference register.
    R(u16),
    /// No value.
    Unit,
}

/// Which register file and width a type lives in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    S(u16),
    R,
    Unit,
}

fn class(ty: &Type) -> Class {
    match ty {
        Type::Unit => Class::Unit,
        ty if ty.is_ref() => Class::R,
        ty => Class::S(ty.width() as u16),
    }
}

/// Compiles a checked file. The analysis must have no errors.
pub fn compile(file: &SourceFile, analysis: &Analysis) -> Result<Program, CompileError> {
    let mut compiler = Compiler::new(file, analysis)?;
    compiler.run()?;
    Ok(compiler.program)
}

/// Per-owner facts about environments: which bindings they hold, at which slot.
#[derive(Default)]
struct EnvLayout {
    slots: HashMap<BindingId, u16>,
    count: HashMap<Owner, u16>,
    links: HashMap<Owner, Vec<bool>>,
}

struct Pending<'a> {
    func: u32,
    closure: &'a Closure,
    expr: ExprId,
    span: Span,
    /// Owners enclosing the closure, innermost first (not the closure itself).
    chain: Vec<Owner>,
}

struct Compiler<'a> {
    file: &'a SourceFile,
    an: &'a Analysis,
    program: Program,
    item_funcs: HashMap<ItemId, u32>,
    global_slots: HashMap<ItemId, u16>,
    env: EnvLayout,
    pending: Vec<Pending<'a>>,
    closure_funcs: HashMap<ExprId, u32>,
}

impl<'a> Compiler<'a> {
    fn new(file: &'a SourceFile, an: &'a Analysis) -> Res2<Compiler<'a>> {
        let mut compiler = Compiler {
            file,
            an,
            program: Program::default(),
            item_funcs: HashMap::new(),
            global_slots: HashMap::new(),
            env: EnvLayout::default(),
            pending: Vec::new(),
            closure_funcs: HashMap::new(),
        };
        compiler.layout_envs();
        Ok(compiler)
    }

    fn layout_envs(&mut self) {
        let mut captured: Vec<BindingId> = self.an.captured.iter().copied().collect();
        captured.sort();
        for binding in captured {
            let owner = self
                .an
                .binding_owner
                .get(binding.0 as usize)
                .copied()
                .unwrap_or(Owner::None);
            let ty = self.binding_type(binding);
            let count = self.env.count.entry(owner).or_insert(0);
            self.env.slots.insert(binding, *count);
            let links = self.env.links.entry(owner).or_default();
            match class(&ty) {
                Class::R => {
                    links.push(true);
                    *count += 1;
                }
                Class::S(width) => {
                    for _ in 0..width {
                        links.push(false);
                    }
                    *count += width;
                }
                Class::Unit => {}
            }
        }
    }

    fn binding_type(&self, binding: BindingId) -> Type {
        self.an
            .binding_types
            .get(binding.0 as usize)
            .cloned()
            .unwrap_or(Type::Error)
    }

    fn run(&mut self) -> Res2<()> {
        // Globals first, then one function per fn/filter item, in source order.
        let mut slot = 0u16;
        for (idx, item) in self.file.items.iter().enumerate() {
            let id = ItemId(idx as u32);
            if let ItemKind::Param(_) = &item.kind {
                let ty = self.an.item_types.get(idx).cloned().unwrap_or(Type::Error);
                let info = self.an.params.get(&id).ok_or_else(|| CompileError {
                    message: format!("param `{}` has no checked default", item.name.name),
                    span: item.span,
                })?;
                self.global_slots.insert(id, slot);
                self.program.globals.push(Global {
                    name: item.name.name.clone(),
                    ty: ty.clone(),
                    slot,
                });
                let bits = const_bits(info.default);
                self.program
                    .global_defaults
                    .extend_from_slice(&bits[..ty.width() as usize]);
                slot += ty.width() as u16;
            }
        }
        for (idx, item) in self.file.items.iter().enumerate() {
            if let ItemKind::Function(_) = &item.kind {
                let func = self.program.functions.len() as u32;
                self.item_funcs.insert(ItemId(idx as u32), func);
                self.program
                    .functions
                    .push(placeholder(&item.name.name, item.span));
            }
        }
        for (idx, item) in self.file.items.iter().enumerate() {
            if let ItemKind::Function(func_item) = &item.kind {
                let id = ItemId(idx as u32);
                let func_idx = self.item_funcs[&id];
                let func = self.function(
                    item.name.name.clone(),
                    Owner::Item(id),
                    vec![Owner::Item(id)],
                    &func_item.params,
                    self.fn_ret(id),
                    &func_item.body,
                    item.span,
                    false,
                )?;
                self.program.functions[func_idx as usize] = func;
            }
        }
        while let Some(pending) = self.pending.pop() {
            let owner = Owner::Closure(pending.expr);
            let mut chain = vec![owner];
            chain.extend(pending.chain.iter().copied());
            let ret = match self.an.type_of(pending.expr) {
                Type::Fn(_, ret) => (**ret).clone(),
                _ => Type::Error,
            };
            let name = self.program.functions[pending.func as usize].name.clone();
            let func = self.function(
                name,
                owner,
                chain,
                &pending.closure.params,
                ret,
                &pending.closure.body,
                pending.span,
                true,
            )?;
            self.program.functions[pending.func as usize] = func;
        }
        Ok(())
    }

    fn fn_ret(&self, id: ItemId) -> Type {
        match self.an.item_types.get(id.0 as usize) {
            Some(Type::Fn(_, ret)) => (**ret).clone(),
            _ => Type::Error,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn function(
        &mut self,
        name: String,
        owner: Owner,
        chain: Vec<Owner>,
        params: &'a [crate::syntax::ast::Param],
        ret: Type,
        body: &'a AstBlock,
        span: Span,
        is_closure: bool,
    ) -> Res2<Function> {
        let env_slots = self.env.count.get(&owner).copied().unwrap_or(0);
        let env_links = self.env.links.get(&owner).cloned().unwrap_or_default();
        let mut fcx = FnCx::new(owner, chain, span);
        // Parameters: scalars take the first scalar registers in order, references the first
        // reference registers; that is the calling convention.
        let mut param_list = Vec::new();
        for param in params {
            let ty = self.binding_type(param.binding.id);
            param_list.push((param.binding.name.name.clone(), ty.clone()));
            let val = fcx.alloc(&ty);
            fcx.bind_reg(
                &param.binding,
                val,
                &ty,
                true,
                Span::new(body.span.start, body.span.end),
            );
        }
        // Captured parameters move to the environment at entry.
        for param in params {
            if let Some(&slot) = self.env.slots.get(&param.binding.id) {
                let ty = self.binding_type(param.binding.id);
                let Some(Loc::S(_) | Loc::R(_)) = fcx.loc(param.binding.id) else {
                    continue;
                };
                let val = fcx.val_of(param.binding.id);
                fcx.cur_span = param.span;
                fcx.env_store(0, slot, val, &ty);
                fcx.locals.insert(param.binding.id, Loc::Env(slot));
                if let Some(info) = fcx
                    .local_infos
                    .iter_mut()
                    .find(|it| it.name == param.binding.name.name)
                {
                    info.loc = Loc::Env(slot);
                }
            }
        }
        let mut gen = Gen { c: self, f: fcx };
        gen.f.cur_span = body.span;
        let value = gen.block_inner(body, ret != Type::Unit, false)?;
        if !gen.f.terminated() {
            // The return of a trailing value belongs to that value's line (a debugger
            // stops there); a function without one returns at its closing brace.
            gen.f.cur_span = match &body.value {
                Some(value) if ret != Type::Unit => value.span,
                _ => Span::new(body.span.end.saturating_sub(1), body.span.end),
            };
            gen.ret(value, &ret);
        }
        let mut fcx = gen.f;
        // Blocks that nothing reaches (after a `return` in both branches, say) still end
        // with a terminator, so that every block chunk is well formed.
        for block in &mut fcx.blocks {
            if !block.instrs.last().is_some_and(|last| last.op.ends_block()) {
                block.instrs.push(Instr::new(Op::RetU, 0, 0, 0));
                block
                    .spans
                    .push(Span::new(body.span.end.saturating_sub(1), body.span.end));
            }
        }
        Ok(Function {
            name,
            params: param_list,
            ret,
            nregs: fcx.max_s,
            nrefs: fcx.max_r,
            env_slots,
            env_links,
            is_closure,
            blocks: fcx.blocks,
            locals: fcx.local_infos,
            span,
        })
    }
}

fn placeholder(name: &str, span: Span) -> Function {
    Function {
        name: name.to_string(),
        params: Vec::new(),
        ret: Type::Unit,
        nregs: 0,
        nrefs: 0,
        env_slots: 0,
        env_links: Vec::new(),
        is_closure: false,
        blocks: Vec::new(),
        locals: Vec::new(),
        span,
    }
}

/// The value of an int literal, negative ones included.
fn int_literal(expr: &Expr) -> Option<i64> {
    match &expr.kind {
        ExprKind::Int(v) => Some(*v),
        ExprKind::Unary(UnOp::Neg, inner) => match inner.kind {
            ExprKind::Int(v) => Some(v.wrapping_neg()),
            _ => None,
        },
        _ => None,
    }
}

/// The value of a float literal, negative ones included.
fn float_literal(expr: &Expr) -> Option<f64> {
    match &expr.kind {
        ExprKind::Float(v) => Some(*v),
        ExprKind::Unary(UnOp::Neg, inner) => match inner.kind {
            ExprKind::Float(v) => Some(-v),
            _ => None,
        },
        _ => None,
    }
}

/// An int literal that fits the signed 16-bit operand of `BrLtIK` and `ForStepK`.
fn small_literal(expr: &Expr) -> Option<u16> {
    int_literal(expr)
        .and_then(|v| i16::try_from(v).ok())
        .map(|v| v as u16)
}

/// The slots of a constant (two for a colour: channels as `f32` pairs).
pub fn const_bits(value: Const) -> [u64; 2] {
    match value {
        Const::Int(v) => [v as u64, 0],
        Const::Float(v) => [v.to_bits(), 0],
        Const::Bool(v) => [v as u64, 0],
        Const::Color([r, g, b, a]) => color_bits([r as f32, g as f32, b as f32, a as f32]),
    }
}

/// The two slots of a colour.
pub fn color_bits([r, g, b, a]: [f32; 4]) -> [u64; 2] {
    [
        r.to_bits() as u64 | (g.to_bits() as u64) << 32,
        b.to_bits() as u64 | (a.to_bits() as u64) << 32,
    ]
}

struct LoopCx {
    /// Where `continue` goes; a `for` loop makes its step block on the first `continue`.
    cont: Option<u32>,
    /// Where `break` goes.
    exit: u32,
}

/// The state of one function being compiled.
struct FnCx {
    owner: Owner,
    /// Enclosing owners, innermost (this function) first.
    chain: Vec<Owner>,
    blocks: Vec<Block>,
    cur: u32,
    next_s: u16,
    next_r: u16,
    max_s: u16,
    max_r: u16,
    locals: HashMap<BindingId, Loc>,
    local_infos: Vec<LocalInfo>,
    loops: Vec<LoopCx>,
    cur_span: Span,
}

impl FnCx {
    fn new(owner: Owner, chain: Vec<Owner>, span: Span) -> FnCx {
        FnCx {
            owner,
            chain,
            blocks: vec![Block::default()],
            cur: 0,
            next_s: 0,
            next_r: 0,
            max_s: 0,
            max_r: 0,
            locals: HashMap::new(),
            local_infos: Vec::new(),
            loops: Vec::new(),
            cur_span: span,
        }
    }

    fn alloc(&mut self, ty: &Type) -> Val {
        match class(ty) {
            Class::S(width) => Val::S(self.alloc_s(width)),
            Class::R => Val::R(self.alloc_r()),
            Class::Unit => Val::Unit,
        }
    }

    fn alloc_s(&mut self, width: u16) -> u16 {
        let reg = self.next_s;
        self.next_s += width;
        self.max_s = self.max_s.max(self.next_s);
        reg
    }

    fn alloc_r(&mut self) -> u16 {
        let reg = self.next_r;
        self.next_r += 1;
        self.max_r = self.max_r.max(self.next_r);
        reg
    }

    fn mark(&self) -> (u16, u16) {
        (self.next_s, self.next_r)
    }

    fn release(&mut self, mark: (u16, u16)) {
        self.next_s = mark.0;
        self.next_r = mark.1;
    }

    fn bind_reg(&mut self, binding: &Binding, val: Val, ty: &Type, is_param: bool, scope: Span) {
        let loc = match val {
            Val::S(reg) => Loc::S(reg),
            Val::R(reg) => Loc::R(reg),
            Val::Unit => return,
        };
        self.locals.insert(binding.id, loc);
        self.local_infos.push(LocalInfo {
            name: binding.name.name.clone(),
            ty: ty.clone(),
            loc,
            is_param,
            scope,
        });
    }

    fn loc(&self, binding: BindingId) -> Option<Loc> {
        self.locals.get(&binding).copied()
    }

    fn val_of(&self, binding: BindingId) -> Val {
        match self.locals.get(&binding) {
            Some(Loc::S(reg)) => Val::S(*reg),
            Some(Loc::R(reg)) => Val::R(*reg),
            _ => Val::Unit,
        }
    }

    fn emit(&mut self, instr: Instr) {
        if self.terminated() {
            // Code after a jump or return is unreachable: give it a block of its own,
            // which nothing jumps to.
            let block = self.new_block();
            self.cur = block;
        }
        let span = self.cur_span;
        let block = &mut self.blocks[self.cur as usize];
        block.instrs.push(instr);
        block.spans.push(span);
    }

    fn terminated(&self) -> bool {
        self.blocks[self.cur as usize]
            .instrs
            .last()
            .is_some_and(|last| last.op.ends_block())
    }

    fn new_block(&mut self) -> u32 {
        self.blocks.push(Block::default());
        self.blocks.len() as u32 - 1
    }

    /// Ends the current block with a jump to `block` (unless it already ended) and goes on there.
    fn switch_to(&mut self, block: u32) {
        if !self.terminated() {
            self.emit(Instr::with_k(Op::Jmp, 0, 0, 0, block as u64));
        }
        self.cur = block;
    }

    /// Makes the instruction that just computed `src` write to `dest` instead, when
    /// `src` is a temporary that nothing else has read: saves a move.
    fn retarget(&mut self, dest: Val, src: Val, ty: &Type, temp_floor: (u16, u16)) -> bool {
        let (d, s, floor) = match (dest, src) {
            (Val::S(d), Val::S(s)) => (d, s, temp_floor.0),
            (Val::R(d), Val::R(s)) => (d, s, temp_floor.1),
            _ => return false,
        };
        if s < floor {
            return false;
        }
        // A colour of constants: two `Const`s, both retargeted.
        let instrs = &mut self.blocks[self.cur as usize].instrs;
        if let [.., first, second] = instrs.as_mut_slice() {
            if ty.width() == 2
                && first.op == Op::Const
                && second.op == Op::Const
                && first.a == s
                && second.a == s + 1
                && matches!(dest, Val::S(_))
            {
                first.a = d;
                second.a = d + 1;
                return true;
            }
        }
        let Some(last) = self.blocks[self.cur as usize].instrs.last_mut() else {
            return false;
        };
        if !last.op.writes_a() || last.a != s {
            return false;
        }
        let is_ref = matches!(last.op.shape().0, super::ir::Operand::R);
        if is_ref != matches!(dest, Val::R(_)) {
            return false;
        }
        last.a = d;
        true
    }

    fn mov(&mut self, dest: Val, src: Val) {
        match (dest, src) {
            (Val::S(d), Val::S(s)) if d != s => self.emit(Instr::new(Op::Mov, d, s, 0)),
            (Val::R(d), Val::R(s)) if d != s => self.emit(Instr::new(Op::MovR, d, s, 0)),
            _ => {}
        }
    }

    fn mov_ty(&mut self, dest: Val, src: Val, ty: &Type) {
        match (dest, src, class(ty)) {
            (Val::S(d), Val::S(s), Class::S(2)) if d != s => {
                self.emit(Instr::new(Op::Mov2, d, s, 0))
            }
            _ => self.mov(dest, src),
        }
    }

    /// Environment depth from this function to the environment of `owner`.
    fn depth_to(&self, owner: Owner, env: &EnvLayout) -> Option<u16> {
        let mut depth = 0u16;
        for link in &self.chain {
            if *link == owner {
                return Some(depth);
            }
            if env.count.get(link).copied().unwrap_or(0) > 0 {
                depth += 1;
            }
        }
        None
    }

    fn env_store(&mut self, depth: u16, slot: u16, val: Val, ty: &Type) {
        match (val, class(ty)) {
            (Val::S(reg), Class::S(2)) => self.emit(Instr::new(Op::EnvSet2, depth, slot, reg)),
            (Val::S(reg), _) => self.emit(Instr::new(Op::EnvSet, depth, slot, reg)),
            (Val::R(reg), _) => self.emit(Instr::new(Op::EnvSetR, depth, slot, reg)),
            (Val::Unit, _) => {}
        }
    }
}

/// A compiler working on one function.
struct Gen<'c, 'a> {
    c: &'c mut Compiler<'a>,
    f: FnCx,
}

fn ierr(message: impl Into<String>, span: Span) -> CompileError {
    CompileError {
        message: message.into(),
        span,
    }
}

impl<'c, 'a> Gen<'c, 'a> {
    fn ty(&self, expr: &Expr) -> Type {
        self.c.an.type_of(expr.id).clone()
    }

    fn ret(&mut self, value: Val, ty: &Type) {
        match (value, class(ty)) {
            (Val::S(reg), Class::S(2)) => self.f.emit(Instr::new(Op::Ret2, reg, 0, 0)),
            (Val::S(reg), _) => self.f.emit(Instr::new(Op::Ret, reg, 0, 0)),
            (Val::R(reg), _) => self.f.emit(Instr::new(Op::RetR, reg, 0, 0)),
            (Val::Unit, _) => self.f.emit(Instr::new(Op::RetU, 0, 0, 0)),
        }
    }

    /// Compiles a block; returns its value when `want` and it has one.
    fn block(&mut self, block: &'a AstBlock, want: bool) -> Res2<Val> {
        self.block_inner(block, want, true)
    }

    /// Compiles a block. With `settle`, a value computed above the block's registers
    /// moves down to the first free register; without, it stays where it is, for a
    /// caller that uses it at once (a function returning it).
    fn block_inner(&mut self, block: &'a AstBlock, want: bool, settle: bool) -> Res2<Val> {
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
                let ty = self.c.binding_type(binding.id);
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
    fn branch(&mut self, cond: &'a Expr, then: u32, otherwise: u32) -> Res2<()> {
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

    fn scalar(&mut self, expr: &'a Expr) -> Res2<u16> {
        match self.expr(expr)? {
            Val::S(reg) => Ok(reg),
            _ => Err(ierr("expected a scalar value", expr.span)),
        }
    }

    fn reference(&mut self, expr: &'a Expr) -> Res2<u16> {
        match self.expr(expr)? {
            Val::R(reg) => Ok(reg),
            _ => Err(ierr("expected a reference value", expr.span)),
        }
    }

    /// Computes a value that a binding or an element will own: arrays are copied
    /// unless freshly made.
    fn fresh_value(&mut self, expr: &'a Expr, ty: &Type) -> Res2<Val> {
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
    fn value_into(&mut self, expr: &'a Expr, dest: Val, ty: &Type) -> Res2<()> {
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

    /// `sum = sum + img.at(x + dx, y + dy)` (or `sum += ...`) with `sum` a colour in a
    /// register: one `AtOffAcc`.
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
        let ExprKind::Call(callee, args) = &read.kind else {
            return Ok(false);
        };
        let (Some(Callee::Method(method)), ExprKind::Field(receiver, _)) =
            (self.c.an.calls.get(&read.id).copied(), &callee.kind)
        else {
            return Ok(false);
        };
        let sums = |expr: &Expr| {
            matches!(&expr.kind, ExprKind::Binary(BinOp::Add, ..)) && self.ty(expr) == Type::Int
        };
        if method.name != "at" || args.len() != 2 || !sums(&args[0]) || !sums(&args[1]) {
            return Ok(false);
        }
        let mark = self.f.mark();
        let img = self.reference(receiver)?;
        let Some(Val::S(_)) = self.at_offset(img, &args[0], &args[1], span)? else {
            self.f.release(mark);
            return Ok(false);
        };
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

    fn env_ref(&self, binding: BindingId, span: Span) -> Res2<(u16, u16)> {
        let owner = self
            .c
            .an
            .binding_owner
            .get(binding.0 as usize)
            .copied()
            .unwrap_or(Owner::None);
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

    /// Compiles an expression; returns where its value is.
    fn expr(&mut self, expr: &'a Expr) -> Res2<Val> {
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

    fn constant(&mut self, bits: u64) -> Val {
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

    fn name(&mut self, expr: &'a Expr, ty: &Type) -> Res2<Val> {
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
    fn binary_op(
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

    fn closure(&mut self, expr: &'a Expr, closure: &'a Closure) -> Res2<u32> {
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

    fn call(&mut self, expr: &'a Expr, callee: &'a Expr, args: &'a [Expr], ty: &Type) -> Res2<Val> {
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
                let param_types: Vec<Type> = match self.c.an.item_types.get(item.0 as usize) {
                    Some(Type::Fn(params, _)) => params.clone(),
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
                    Type::Fn(params, _) => params,
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
                if let Some(val) = self.at_offset(img, &args[0], &args[1], span)? {
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
    fn at_offset(&mut self, img: u16, x: &'a Expr, y: &'a Expr, span: Span) -> Res2<Option<Val>> {
        let sum = |expr: &'a Expr| match &expr.kind {
            ExprKind::Binary(BinOp::Add, lhs, rhs) => Some((&**lhs, &**rhs)),
            _ => None,
        };
        let (Some((x0, x1)), Some((y0, y1))) = (sum(x), sum(y)) else {
            return Ok(None);
        };
        if self.ty(x) != Type::Int || self.ty(y) != Type::Int {
            return Ok(None);
        }
        let mut regs = [0u16; 4];
        for (slot, part) in regs.iter_mut().zip([x0, x1, y0, y1]) {
            *slot = self.scalar(part)?;
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

    fn builtin(
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
        let pixel_ty = Type::Fn(vec![Type::Int, Type::Int], Box::new(Type::Color));
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
