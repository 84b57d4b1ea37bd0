//! From the checked AST to basic blocks of register instructions.
//!
//! Registers are allocated like a stack: each binding gets the next free
//! register of its file when it is declared and gives it back when its
//! block ends; temporaries live above the bindings for one statement. A
//! call puts its arguments at the top of the caller's registers, where the
//! callee's register window then begins, so arguments are never copied.
//! Bindings that closures capture live in environment chunks instead.
//!
//! Here: the program and its functions, environment layouts and literals;
//! `frame` is a function's registers and blocks, `stmts` compiles blocks,
//! statements and assignments, `exprs` expressions, `calls` calls.

use super::ir::{Block, Function, Global, Instr, Loc, LocalInfo, Op, Program};
use crate::check::{Analysis, Const, Owner};
use crate::syntax::ast::{
    BindingId, Block as AstBlock, Closure, Expr, ExprId, ExprKind, ItemId, ItemKind, SourceFile,
    UnOp,
};
use crate::syntax::span::Span;
use crate::types::Type;
use std::collections::HashMap;
use std::fmt;

mod calls;
mod exprs;
mod frame;
mod stmts;

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
    super::copies::fold(&mut compiler.program);
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
            let owner = self.an.owner_of(binding);
            let ty = self.an.binding_type(binding).clone();
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

    fn run(&mut self) -> Res2<()> {
        // Globals first, then one function per fn/filter item, in source order.
        let mut slot = 0u16;
        for (idx, item) in self.file.items.iter().enumerate() {
            let id = ItemId(idx as u32);
            if let ItemKind::Param(_) = &item.kind {
                let ty = self.an.item_type(id).clone();
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
                Type::Fn(f) => f.ret.clone(),
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
        match self.an.item_type(id) {
            Type::Fn(f) => f.ret.clone(),
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
            let ty = self.an.binding_type(param.binding.id).clone();
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
                let ty = self.an.binding_type(param.binding.id).clone();
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
