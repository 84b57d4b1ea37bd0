//! The checker's state, and the checking of statements and expressions.
//!
//! Every expression is checked against a [`Want`]: discarded (a statement),
//! any value, a real value (not `()`), or a given type. `if` and blocks pass
//! the wish on to their branches and final expressions, so a mismatch is
//! reported where it is written.

use super::flow::{block_exits, is_open_if};
use super::suggest::did_you_mean;
use super::{Analysis, Callee, ExprMap, Owner, Res};
use crate::builtins::{self, Builtin, Overload, P};
use crate::diag::{plural, Code, Diagnostic, TypeFacts};
use crate::syntax::ast::{
    BinOp, Binding, BindingId, Block, Closure, Expr, ExprId, ExprKind, Ident, ItemId, SourceFile,
    Stmt, StmtKind, TypeExpr, UnOp,
};
use crate::syntax::span::Span;
use crate::types::Type;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

/// How a binding was introduced.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum BindingKind {
    /// `let`
    Let,
    /// `var`
    Var,
    /// A parameter of a function, filter or closure.
    Param,
    /// A `for` loop variable.
    For,
}

/// What the context of an expression wants of it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Want<'t> {
    /// Nothing: the value is discarded (an `if` there needs no `else`).
    Stmt,
    /// A value, possibly `()` (the body of a closure whose type is inferred).
    Any,
    /// A value other than `()`.
    Value,
    /// A value of this type.
    Ty(&'t Type),
}

/// What `return` means in the current function.
#[derive(Clone, Debug)]
pub(super) enum RetMode {
    /// No function here (a `param` default): `return` is checked for types only.
    Nothing,
    /// The function returns this type (`Unit`: nothing).
    Declared(Type),
    /// A closure without `->`: the types of its `return`s, gathered.
    Infer(Vec<(Type, Span)>),
}

/// The function or closure being checked.
pub(super) struct FnCtx {
    pub owner: Owner,
    pub ret: RetMode,
    pub loops: u32,
    /// "function `f`", "filter `f`", "closure".
    pub desc: String,
}

/// The checker: the analysis being built and the scopes.
pub(super) struct Checker<'f> {
    pub file: &'f SourceFile,
    pub an: Analysis,
    pub errors: usize,
    pub param_items: HashMap<&'f str, ItemId>,
    pub fn_items: HashMap<&'f str, ItemId>,
    pub pipeline_items: HashMap<&'f str, ItemId>,
    /// Local scopes, innermost last; a closure continues its parent's stack.
    pub scopes: Vec<Vec<(&'f str, BindingId)>>,
    pub kinds: Vec<BindingKind>,
    pub read: Vec<bool>,
    /// The `let` and `var` names and their items, for the unused-variable warning.
    pub decls: Vec<(BindingId, &'f Ident, Option<ItemId>)>,
    pub fns: Vec<FnCtx>,
    /// The item being checked.
    pub current_item: Option<ItemId>,
    /// Items holding text that did not parse.
    pub broken_items: HashSet<ItemId>,
}

fn were(count: usize) -> String {
    if count == 1 {
        "1 was given".to_string()
    } else {
        format!("{count} were given")
    }
}

/// Whether a type holds a `str` somewhere.
pub(super) fn contains_str(ty: &Type) -> bool {
    match ty {
        Type::Str => true,
        Type::Array(elem, _) => contains_str(elem),
        Type::Fn(params, ret) => params.iter().any(contains_str) || contains_str(ret),
        _ => false,
    }
}

/// The help for an int where a float is wanted.
fn int_to_float_help(expr: &Expr) -> String {
    match expr.kind {
        ExprKind::Int(value) => format!("write `{value}.0` for a float"),
        _ => "use float(x) to convert an int to a float".to_string(),
    }
}

/// The type of `left op right`, if the operator applies.
pub(super) fn binop_type(op: BinOp, left: &Type, right: &Type) -> Option<Type> {
    use Type::{Bool, Color, Float, Int};
    Some(match (op, left, right) {
        (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem, Int, Int) => Int,
        (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem, Float, Float) => Float,
        (BinOp::Add | BinOp::Sub | BinOp::Mul, Color, Color) => Color,
        (BinOp::Mul | BinOp::Div, Color, Float) => Color,
        (BinOp::Mul, Float, Color) => Color,
        (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge, Int, Int)
        | (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge, Float, Float) => Bool,
        (BinOp::Eq | BinOp::Ne, Int, Int)
        | (BinOp::Eq | BinOp::Ne, Float, Float)
        | (BinOp::Eq | BinOp::Ne, Bool, Bool)
        | (BinOp::Eq | BinOp::Ne, Color, Color) => Bool,
        (BinOp::And | BinOp::Or, Bool, Bool) => Bool,
        _ => return None,
    })
}

fn is_comparison(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    )
}

impl<'f> Checker<'f> {
    pub fn new(file: &'f SourceFile) -> Checker<'f> {
        let exprs = file.expr_count as usize;
        let bindings = file.binding_count as usize;
        Checker {
            file,
            an: Analysis {
                expr_types: vec![Type::Error; exprs],
                binding_types: vec![Type::Error; bindings],
                binding_mutable: vec![false; bindings],
                binding_owner: vec![Owner::None; bindings],
                item_types: vec![Type::Error; file.items.len()],
                // Dense tables: a slot per expression.
                names: ExprMap::with_capacity(exprs),
                calls: ExprMap::with_capacity(exprs),
                ..Analysis::default()
            },
            errors: 0,
            param_items: HashMap::new(),
            fn_items: HashMap::new(),
            pipeline_items: HashMap::new(),
            scopes: Vec::new(),
            kinds: vec![BindingKind::Let; bindings],
            read: vec![false; bindings],
            decls: Vec::new(),
            fns: Vec::new(),
            current_item: None,
            broken_items: HashSet::new(),
        }
    }

    // ------------------------------------------------------------ reporting

    pub fn report(&mut self, diag: Diagnostic) {
        if diag.is_error() {
            self.errors += 1;
        }
        self.an.diagnostics.push(diag);
    }

    pub fn error(&mut self, code: Code, span: Span, message: impl Into<String>) {
        self.report(Diagnostic::error(code, span, message));
    }

    pub fn error_help(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let mut diag = Diagnostic::error(code, span, message);
        diag.help = help;
        self.report(diag);
    }

    /// E0004 for a value of type `found` where `expected` is wanted.
    #[cold]
    fn mismatch(&mut self, expr: &Expr, expected: &Type, found: &Type) {
        let message = if *found == Type::Unit {
            format!("expected a value of type `{expected}`, but this has no value")
        } else {
            format!("expected `{expected}`, found `{found}`")
        };
        let help = match (expected, found) {
            (Type::Float, Type::Int) => Some(int_to_float_help(expr)),
            (Type::Int, Type::Float) => {
                Some("use int(x) to convert a float to an int (it truncates)".to_string())
            }
            _ => None,
        };
        let mut diag = Diagnostic::error(Code::TypeMismatch, expr.span, message).with_types(
            TypeFacts::Mismatch {
                expected: expected.clone(),
                found: found.clone(),
            },
        );
        diag.help = help;
        self.report(diag);
    }

    // ------------------------------------------------------------ tables

    pub fn set_type(&mut self, id: ExprId, ty: Type) {
        let idx = id.0 as usize;
        if idx >= self.an.expr_types.len() {
            self.an.expr_types.resize(idx + 1, Type::Error);
        }
        self.an.expr_types[idx] = ty;
    }

    fn binding_type(&self, id: BindingId) -> Type {
        self.an
            .binding_types
            .get(id.0 as usize)
            .cloned()
            .unwrap_or(Type::Error)
    }

    fn binding_kind(&self, id: BindingId) -> BindingKind {
        self.kinds
            .get(id.0 as usize)
            .copied()
            .unwrap_or(BindingKind::Let)
    }

    pub fn owner(&self) -> Owner {
        self.fns.last().map_or(Owner::None, |ctx| ctx.owner)
    }

    /// Declares a binding in the innermost scope.
    pub fn declare(&mut self, binding: &'f Binding, ty: Type, kind: BindingKind) {
        let idx = binding.id.0 as usize;
        let needed = idx + 1;
        if self.an.binding_types.len() < needed {
            self.an.binding_types.resize(needed, Type::Error);
            self.an.binding_mutable.resize(needed, false);
            self.an.binding_owner.resize(needed, Owner::None);
        }
        if self.kinds.len() < needed {
            self.kinds.resize(needed, BindingKind::Let);
            self.read.resize(needed, false);
        }
        self.an.binding_types[idx] = ty;
        self.an.binding_mutable[idx] = kind == BindingKind::Var;
        self.an.binding_owner[idx] = self.owner();
        self.kinds[idx] = kind;
        if matches!(kind, BindingKind::Let | BindingKind::Var) {
            self.decls
                .push((binding.id, &binding.name, self.current_item));
        }
        if binding.name.name.is_empty() {
            return;
        }
        if self.scopes.is_empty() {
            self.scopes.push(Vec::new());
        }
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((binding.name.name.as_str(), binding.id));
        }
    }

    fn lookup_local(&self, name: &str) -> Option<BindingId> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|(local, _)| *local == name)
            .map(|(_, id)| *id)
    }

    /// What `name` refers to: a local, a param, a function, a builtin.
    fn resolve(&self, name: &str) -> Option<Res> {
        if let Some(id) = self.lookup_local(name) {
            return Some(Res::Local(id));
        }
        if let Some(id) = self.param_items.get(name) {
            return Some(Res::Param(*id));
        }
        if let Some(id) = self.fn_items.get(name) {
            return Some(Res::Function(*id));
        }
        builtins::lookup(name).map(Res::Builtin)
    }

    /// Notes a use of a local: a read, and a capture when it belongs to an enclosing function.
    fn use_local(&mut self, id: BindingId, read: bool) {
        let idx = id.0 as usize;
        if read {
            if let Some(flag) = self.read.get_mut(idx) {
                *flag = true;
            }
        }
        let owner = self
            .an
            .binding_owner
            .get(idx)
            .copied()
            .unwrap_or(Owner::None);
        if matches!(self.owner(), Owner::Closure(_)) && owner != self.owner() {
            self.an.captured.insert(id);
        }
    }

    fn item_type(&self, id: ItemId) -> Type {
        self.an
            .item_types
            .get(id.0 as usize)
            .cloned()
            .unwrap_or(Type::Error)
    }

    /// E0003 for `name`, with the closest name in scope.
    fn unknown_name(&mut self, span: Span, name: &str) {
        let mut candidates: Vec<&str> = self
            .scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev().map(|(local, _)| *local))
            .collect();
        candidates.extend(
            self.file
                .items
                .iter()
                .filter(|item| !matches!(item.kind, crate::syntax::ast::ItemKind::Pipeline(_)))
                .map(|item| item.name.name.as_str()),
        );
        candidates.extend(builtins::BUILTINS.iter().map(|builtin| builtin.name));
        let help = did_you_mean(name, candidates);
        self.error_help(
            Code::UnknownName,
            span,
            format!("unknown name `{name}`"),
            help,
        );
    }

    // ------------------------------------------------------------ types

    /// The type a type expression names (E0011, E0015 when it names none).
    pub fn resolve_type(&mut self, ty: &TypeExpr) -> Type {
        match ty {
            TypeExpr::Named(ident) => {
                if ident.name.is_empty() {
                    return Type::Error;
                }
                match Type::from_name(&ident.name) {
                    Some(ty) => ty,
                    None => {
                        let help = did_you_mean(&ident.name, Type::NAMES.iter().copied());
                        self.error_help(
                            Code::UnknownType,
                            ident.span,
                            format!("unknown type `{}`", ident.name),
                            help,
                        );
                        Type::Error
                    }
                }
            }
            TypeExpr::Array(elem, length, span) => {
                let elem = self.resolve_type(elem);
                let Some(length) = length else {
                    return Type::Error;
                };
                match u32::try_from(*length) {
                    Ok(length) if length > 0 => Type::Array(Box::new(elem), length),
                    _ => {
                        self.error(
                            Code::BadArrayLength,
                            *span,
                            format!("array length must be a positive integer, found `{length}`"),
                        );
                        Type::Error
                    }
                }
            }
            TypeExpr::Fn(params, ret, _) => {
                let params = params
                    .iter()
                    .map(|param| self.resolve_type(param))
                    .collect();
                let ret = match ret {
                    Some(ret) => self.resolve_type(ret),
                    None => Type::Unit,
                };
                Type::Fn(params, Box::new(ret))
            }
            TypeExpr::Error(_) => {
                self.mark_broken();
                Type::Error
            }
        }
    }

    /// Notes that the current item holds text that did not parse.
    fn mark_broken(&mut self) {
        if let Some(item) = self.current_item {
            self.broken_items.insert(item);
        }
    }

    /// E0020 when a variable or parameter would hold a `str`.
    fn check_storable(&mut self, ty: &Type, span: Span, what: &str) {
        if contains_str(ty) {
            self.error_help(
                Code::UnsupportedType,
                span,
                format!("{what} cannot hold a `str`"),
                Some("strings can only be printed: pass the literal to `print` directly".into()),
            );
        }
    }

    /// Resolves the parameter types of a function or closure (E0007 on duplicates).
    pub fn param_types(&mut self, params: &'f [crate::syntax::ast::Param]) -> Vec<Type> {
        let mut types = Vec::with_capacity(params.len());
        for (idx, param) in params.iter().enumerate() {
            let ty = self.resolve_type(&param.ty);
            self.check_storable(&ty, param.ty.span(), "a parameter");
            let name = &param.binding.name.name;
            if !name.is_empty() && params[..idx].iter().any(|p| p.binding.name.name == *name) {
                self.error(
                    Code::Duplicate,
                    param.binding.name.span,
                    format!("parameter `{name}` is defined twice"),
                );
            }
            types.push(ty);
        }
        types
    }

    // ------------------------------------------------------------ bodies

    /// Checks the body of a function or closure that returns `ret`
    /// (`Unit`: nothing), with its context already pushed.
    pub fn body(&mut self, body: &'f Block, ret: &Type) {
        let desc = self
            .fns
            .last()
            .map_or(String::new(), |ctx| ctx.desc.clone());
        if *ret == Type::Unit {
            let ty = self.block(body, Want::Stmt);
            if let Some(value) = body.value.as_deref() {
                let plain = !matches!(
                    value.kind,
                    ExprKind::If(..) | ExprKind::Block(_) | ExprKind::Error
                );
                if plain && ty != Type::Unit && !ty.has_error() {
                    self.error_help(
                        Code::TypeMismatch,
                        value.span,
                        format!(
                            "{desc} returns nothing, but its body ends with a value of type `{ty}`"
                        ),
                        Some(format!(
                            "add `;` to discard the value, or declare the return type `-> {ty}`"
                        )),
                    );
                }
            }
            return;
        }
        match body.value.as_deref() {
            Some(value) if !is_open_if(value) => {
                self.block(body, Want::Ty(ret));
            }
            _ => {
                self.block(body, Want::Stmt);
                if !ret.has_error() && !block_exits(body, false) {
                    self.missing_return(body, &desc);
                }
            }
        }
    }

    fn missing_return(&mut self, body: &Block, desc: &str) {
        let end = body.span.end;
        let span = if body.span.is_empty() {
            body.span
        } else {
            Span::new(end - 1, end)
        };
        self.error_help(
            Code::MissingReturn,
            span,
            format!("{desc} may end without returning a value"),
            Some("end the body with a value, or `return` one on every path".into()),
        );
    }

    // ------------------------------------------------------------ statements

    pub fn block(&mut self, block: &'f Block, want: Want<'_>) -> Type {
        self.scopes.push(Vec::new());
        let mut dead: Option<&'static str> = None;
        let mut warned = false;
        for stmt in &block.stmts {
            if let Some(after) = dead {
                if !warned {
                    warned = true;
                    self.report(Diagnostic::warning(
                        Code::Unreachable,
                        stmt.span,
                        format!("unreachable code after `{after}`"),
                    ));
                }
            }
            self.stmt(stmt);
            let in_loop = self.fns.last().is_some_and(|ctx| ctx.loops > 0);
            match stmt.kind {
                StmtKind::Return(_) => dead = Some("return"),
                StmtKind::Break if in_loop => dead = Some("break"),
                StmtKind::Continue if in_loop => dead = Some("continue"),
                _ => {}
            }
        }
        let ty = match block.value.as_deref() {
            Some(value) => {
                if let Some(after) = dead {
                    if !warned && !matches!(value.kind, ExprKind::Error) {
                        self.report(Diagnostic::warning(
                            Code::Unreachable,
                            value.span,
                            format!("unreachable code after `{after}`"),
                        ));
                    }
                }
                self.expr(value, want)
            }
            None => match want {
                Want::Stmt | Want::Any => Type::Unit,
                Want::Ty(ty) if *ty == Type::Unit || ty.has_error() => ty.clone(),
                Want::Ty(ty) => {
                    if block_exits(block, true) {
                        ty.clone()
                    } else {
                        self.error(
                            Code::TypeMismatch,
                            block.span,
                            format!("expected a value of type `{ty}`, but this block has no value"),
                        );
                        Type::Error
                    }
                }
                Want::Value => {
                    if !block_exits(block, true) {
                        self.error(Code::TypeMismatch, block.span, "this block has no value");
                    }
                    Type::Unit
                }
            },
        };
        self.scopes.pop();
        ty
    }

    fn stmt(&mut self, stmt: &'f Stmt) {
        match &stmt.kind {
            StmtKind::Let {
                binding,
                mutable,
                ty,
                value,
            } => {
                let declared = ty.as_ref().map(|ty| self.resolve_type(ty));
                let mut ty = match &declared {
                    Some(declared) => {
                        self.expr(value, Want::Ty(declared));
                        declared.clone()
                    }
                    None => self.expr(value, Want::Value),
                };
                if ty == Type::Unit {
                    ty = Type::Error;
                }
                self.check_storable(&ty, binding.name.span, "a variable");
                let kind = if *mutable {
                    BindingKind::Var
                } else {
                    BindingKind::Let
                };
                self.declare(binding, ty, kind);
            }
            StmtKind::Assign { target, op, value } => self.assign(stmt, target, *op, value),
            StmtKind::Expr(expr) => {
                self.expr(expr, Want::Stmt);
            }
            StmtKind::Return(value) => self.ret(stmt, value.as_ref()),
            StmtKind::Break | StmtKind::Continue => {
                let inside = self.fns.last().is_some_and(|ctx| ctx.loops > 0);
                if !inside {
                    let word = if matches!(stmt.kind, StmtKind::Break) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.error(
                        Code::BreakOutsideLoop,
                        stmt.span,
                        format!("`{word}` outside a loop"),
                    );
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond, Want::Ty(&Type::Bool));
                self.in_loop(|this| {
                    this.block(body, Want::Stmt);
                });
            }
            StmtKind::For {
                binding,
                start,
                end,
                body,
            } => {
                self.expr(start, Want::Ty(&Type::Int));
                self.expr(end, Want::Ty(&Type::Int));
                self.scopes.push(Vec::new());
                self.declare(binding, Type::Int, BindingKind::For);
                self.in_loop(|this| {
                    this.block(body, Want::Stmt);
                });
                self.scopes.pop();
            }
        }
    }

    fn in_loop(&mut self, run: impl FnOnce(&mut Self)) {
        if let Some(ctx) = self.fns.last_mut() {
            ctx.loops += 1;
        } else {
            // Outside any function (broken code): a context keeps the count.
            self.fns.push(FnCtx {
                owner: Owner::None,
                ret: RetMode::Nothing,
                loops: 1,
                desc: String::new(),
            });
            run(self);
            self.fns.pop();
            return;
        }
        run(self);
        if let Some(ctx) = self.fns.last_mut() {
            ctx.loops = ctx.loops.saturating_sub(1);
        }
    }

    fn ret(&mut self, stmt: &Stmt, value: Option<&'f Expr>) {
        let (mode, desc) = match self.fns.last() {
            Some(ctx) => (ctx.ret.clone(), ctx.desc.clone()),
            None => (RetMode::Nothing, String::new()),
        };
        match mode {
            RetMode::Infer(_) => {
                let (ty, span) = match value {
                    Some(value) => (self.expr(value, Want::Any), value.span),
                    None => (Type::Unit, stmt.span),
                };
                if let Some(FnCtx {
                    ret: RetMode::Infer(returns),
                    ..
                }) = self.fns.last_mut()
                {
                    returns.push((ty, span));
                }
            }
            RetMode::Nothing => {
                if let Some(value) = value {
                    self.expr(value, Want::Any);
                }
            }
            RetMode::Declared(Type::Unit) => {
                if let Some(value) = value {
                    let ty = self.expr(value, Want::Any);
                    if ty != Type::Unit && !ty.has_error() {
                        self.error_help(
                            Code::TypeMismatch,
                            value.span,
                            format!(
                                "{desc} returns nothing, but this `return` has a value of type `{ty}`"
                            ),
                            Some(format!("declare the return type `-> {ty}`")),
                        );
                    }
                }
            }
            RetMode::Declared(ret) => match value {
                Some(value) => {
                    self.expr(value, Want::Ty(&ret));
                }
                None => {
                    if !ret.has_error() {
                        self.error(
                            Code::TypeMismatch,
                            stmt.span,
                            format!("`return;` needs a value: {desc} returns `{ret}`"),
                        );
                    }
                }
            },
        }
    }

    fn assign(&mut self, stmt: &Stmt, target: &'f Expr, op: Option<BinOp>, value: &'f Expr) {
        let target_ty = self.place(target);
        let Some(op) = op else {
            self.expr(value, Want::Ty(&target_ty));
            return;
        };
        let value_ty = self.expr(value, Want::Value);
        if target_ty.has_error() || value_ty.has_error() {
            return;
        }
        let fits = binop_type(op, &target_ty, &value_ty).is_some_and(|ty| ty.fits(&target_ty));
        if !fits {
            let help = match (&target_ty, &value_ty) {
                (Type::Float | Type::Color, Type::Int) => Some(int_to_float_help(value)),
                (Type::Int, Type::Float) => Some("use int(x) to convert a float to an int".into()),
                _ => None,
            };
            let mut diag = Diagnostic::error(
                Code::TypeMismatch,
                Span::new(target.span.start, stmt.span.end.max(value.span.end)),
                format!(
                    "cannot apply `{}=` to `{target_ty}` and `{value_ty}`",
                    op.as_str()
                ),
            )
            .with_types(TypeFacts::Operands {
                op,
                assign: true,
                left: target_ty.clone(),
                right: value_ty.clone(),
            });
            diag.help = help;
            self.report(diag);
        }
    }

    /// Checks the left of an assignment; returns the type stored there.
    fn place(&mut self, target: &'f Expr) -> Type {
        let ty = match &target.kind {
            ExprKind::Name(name) => return self.place_name(target, name),
            ExprKind::Index(base, index) => {
                let base_ty = self.place_base(base);
                self.expr(index, Want::Ty(&Type::Int));
                self.element_type(target, &base_ty)
            }
            ExprKind::Error => Type::Error,
            ExprKind::Field(..) => {
                self.error_help(
                    Code::InvalidAssignTarget,
                    target.span,
                    "cannot assign to a field: colours and images cannot be changed",
                    Some("build a new value instead, e.g. `c = rgba(0.0, c.g, c.b, c.a);`".into()),
                );
                self.expr(target, Want::Any);
                return Type::Error;
            }
            _ => {
                self.error_help(
                    Code::InvalidAssignTarget,
                    target.span,
                    "cannot assign to this expression",
                    Some(
                        "the left of `=` must be a `var` or an element of one, like `a[i]`".into(),
                    ),
                );
                self.expr(target, Want::Any);
                return Type::Error;
            }
        };
        self.set_type(target.id, ty.clone());
        ty
    }

    fn place_base(&mut self, base: &'f Expr) -> Type {
        match &base.kind {
            ExprKind::Name(_) | ExprKind::Index(..) | ExprKind::Error => self.place(base),
            _ => {
                self.error_help(
                    Code::InvalidAssignTarget,
                    base.span,
                    "cannot assign to an element of a temporary value",
                    Some("store the array in a `var` first".into()),
                );
                self.expr(base, Want::Value);
                Type::Error
            }
        }
    }

    fn place_name(&mut self, target: &'f Expr, name: &str) -> Type {
        if name.is_empty() {
            return Type::Error;
        }
        let span = target.span;
        let ty = match self.resolve(name) {
            Some(Res::Local(id)) => {
                self.an.names.insert(target.id, Res::Local(id));
                self.use_local(id, false);
                let (message, help) = match self.binding_kind(id) {
                    BindingKind::Var => (None, None),
                    BindingKind::Let => (
                        Some(format!(
                            "cannot assign to `{name}`: it is declared with `let`"
                        )),
                        Some(format!("declare it with `var {name}` to change it")),
                    ),
                    BindingKind::Param => (
                        Some(format!("cannot assign to parameter `{name}`")),
                        Some(format!(
                            "copy it into a variable first: `var {name} = {name};`"
                        )),
                    ),
                    BindingKind::For => (
                        Some(format!("cannot assign to loop variable `{name}`")),
                        None,
                    ),
                };
                if let Some(message) = message {
                    self.error_help(Code::Immutable, span, message, help);
                }
                self.binding_type(id)
            }
            Some(Res::Param(id)) => {
                self.an.names.insert(target.id, Res::Param(id));
                self.error(
                    Code::Immutable,
                    span,
                    format!("cannot assign to param `{name}`: params are read-only"),
                );
                self.item_type(id)
            }
            Some(Res::Function(id)) => {
                self.an.names.insert(target.id, Res::Function(id));
                self.error(
                    Code::Immutable,
                    span,
                    format!("cannot assign to function `{name}`"),
                );
                Type::Error
            }
            Some(Res::Builtin(builtin)) => {
                self.an.names.insert(target.id, Res::Builtin(builtin));
                self.error(
                    Code::Immutable,
                    span,
                    format!("cannot assign to builtin `{name}`"),
                );
                Type::Error
            }
            None if self.pipeline_items.contains_key(name) => {
                self.error(
                    Code::Immutable,
                    span,
                    format!("cannot assign to pipeline `{name}`"),
                );
                Type::Error
            }
            None => {
                self.unknown_name(span, name);
                Type::Error
            }
        };
        self.set_type(target.id, ty.clone());
        ty
    }

    // ------------------------------------------------------------ expressions

    /// Checks `expr` against `want`; records and returns its type.
    pub fn expr(&mut self, expr: &'f Expr, want: Want<'_>) -> Type {
        let ty = match &expr.kind {
            ExprKind::Int(_) => Type::Int,
            ExprKind::Float(_) => Type::Float,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Str(_) => Type::Str,
            ExprKind::Name(name) => self.name(expr, name),
            ExprKind::Binary(op, left, right) => self.binary(expr, *op, left, right),
            ExprKind::Unary(op, operand) => self.unary(expr, *op, operand),
            ExprKind::Call(callee, args) => self.call(expr, callee, args),
            ExprKind::Field(value, field) => self.field(expr, value, field),
            ExprKind::Index(value, index) => self.index(expr, value, index),
            ExprKind::Array(elements) => self.array(expr, elements, want),
            ExprKind::ArrayRepeat(value, length) => self.array_repeat(expr, value, length, want),
            ExprKind::Closure(closure) => self.closure(expr, closure, want),
            ExprKind::If(cond, then, otherwise) => {
                let ty = self.if_expr(expr, cond, then, otherwise.as_deref(), want);
                self.set_type(expr.id, ty.clone());
                return ty;
            }
            ExprKind::Block(block) => {
                let ty = self.block(block, want);
                self.set_type(expr.id, ty.clone());
                return ty;
            }
            ExprKind::Error => {
                self.mark_broken();
                Type::Error
            }
        };
        self.set_type(expr.id, ty.clone());
        match want {
            Want::Ty(expected) if !ty.fits(expected) && !expected.has_error() => {
                self.mismatch(expr, expected, &ty);
                ty
            }
            Want::Value if ty == Type::Unit => {
                self.type_error(expr.span, "expected a value, but this has no value".into());
                Type::Error
            }
            _ => ty,
        }
    }

    fn name(&mut self, expr: &'f Expr, name: &str) -> Type {
        if name.is_empty() {
            return Type::Error;
        }
        match self.resolve(name) {
            Some(Res::Local(id)) => {
                self.an.names.insert(expr.id, Res::Local(id));
                self.use_local(id, true);
                self.binding_type(id)
            }
            Some(res @ (Res::Param(id) | Res::Function(id))) => {
                self.an.names.insert(expr.id, res);
                self.item_type(id)
            }
            Some(Res::Builtin(builtin)) => {
                self.an.names.insert(expr.id, Res::Builtin(builtin));
                self.error_help(
                    Code::TypeMismatch,
                    expr.span,
                    format!("builtin `{name}` can only be called, not used as a value"),
                    builtin
                        .signatures()
                        .first()
                        .map(|sig| format!("wrap it in a closure; its signature is `{sig}`")),
                );
                Type::Error
            }
            None if self.pipeline_items.contains_key(name) => {
                self.error(
                    Code::TypeMismatch,
                    expr.span,
                    format!("pipeline `{name}` cannot be used as a value"),
                );
                Type::Error
            }
            None => {
                self.unknown_name(expr.span, name);
                Type::Error
            }
        }
    }

    fn binary(&mut self, expr: &Expr, op: BinOp, left: &'f Expr, right: &'f Expr) -> Type {
        if matches!(op, BinOp::And | BinOp::Or) {
            self.expr(left, Want::Ty(&Type::Bool));
            self.expr(right, Want::Ty(&Type::Bool));
            return Type::Bool;
        }
        let left_ty = self.expr(left, Want::Value);
        let right_ty = self.expr(right, Want::Value);
        let fallback = if is_comparison(op) {
            Type::Bool
        } else {
            Type::Error
        };
        if left_ty.has_error() || right_ty.has_error() {
            return fallback;
        }
        if let Some(ty) = binop_type(op, &left_ty, &right_ty) {
            return ty;
        }
        self.bad_operands(expr, op, left, right, &left_ty, &right_ty);
        fallback
    }

    #[cold]
    fn bad_operands(
        &mut self,
        expr: &Expr,
        op: BinOp,
        left: &Expr,
        right: &Expr,
        left_ty: &Type,
        right_ty: &Type,
    ) {
        let help = match (left_ty, right_ty) {
            (Type::Int, Type::Float | Type::Color) => Some(int_to_float_help(left)),
            (Type::Float | Type::Color, Type::Int) => Some(int_to_float_help(right)),
            (Type::Color, Type::Color) if op == BinOp::Div => {
                Some("colours divide by a float: `c / 2.0`".into())
            }
            _ => None,
        };
        let message = if is_comparison(op) && left_ty == right_ty {
            format!(
                "cannot compare values of type `{left_ty}` with `{}`",
                op.as_str()
            )
        } else {
            format!(
                "cannot apply `{}` to `{left_ty}` and `{right_ty}`",
                op.as_str()
            )
        };
        let mut diag = Diagnostic::error(Code::TypeMismatch, expr.span, message).with_types(
            TypeFacts::Operands {
                op,
                assign: false,
                left: left_ty.clone(),
                right: right_ty.clone(),
            },
        );
        diag.help = help;
        self.report(diag);
    }

    #[cold]
    fn type_error(&mut self, span: Span, message: String) {
        self.error(Code::TypeMismatch, span, message);
    }

    fn unary(&mut self, expr: &Expr, op: UnOp, operand: &'f Expr) -> Type {
        let ty = self.expr(operand, Want::Value);
        match op {
            UnOp::Neg => match ty {
                Type::Int | Type::Float | Type::Color | Type::Error => ty,
                other => {
                    self.type_error(
                        expr.span,
                        format!("cannot negate a value of type `{other}`"),
                    );
                    Type::Error
                }
            },
            UnOp::Not => {
                if !ty.fits(&Type::Bool) {
                    self.type_error(expr.span, format!("`!` needs a `bool`, found `{ty}`"));
                }
                Type::Bool
            }
        }
    }

    fn index(&mut self, expr: &Expr, value: &'f Expr, index: &'f Expr) -> Type {
        let base = self.expr(value, Want::Value);
        self.expr(index, Want::Ty(&Type::Int));
        self.element_type(expr, &base)
    }

    fn element_type(&mut self, expr: &Expr, base: &Type) -> Type {
        match base {
            Type::Array(elem, _) => (**elem).clone(),
            Type::Error => Type::Error,
            other => {
                self.not_indexable(expr.span, other);
                Type::Error
            }
        }
    }

    #[cold]
    fn not_indexable(&mut self, span: Span, ty: &Type) {
        self.error(
            Code::NotIndexable,
            span,
            format!("cannot index into a value of type `{ty}`"),
        );
    }

    fn field(&mut self, expr: &Expr, value: &'f Expr, field: &Ident) -> Type {
        let receiver = self.expr(value, Want::Value);
        if receiver.has_error() || field.name.is_empty() {
            return Type::Error;
        }
        if let Some(found) = builtins::field(&receiver, &field.name) {
            return found.ty.to_type();
        }
        if builtins::method(&receiver, &field.name).is_some() {
            self.error_help(
                Code::UnknownField,
                field.span,
                format!("`{}` is a method of `{receiver}`, not a field", field.name),
                Some(format!("call it: `.{}(...)`", field.name)),
            );
            let _ = expr;
            return Type::Error;
        }
        self.unknown_member(&receiver, field, "field");
        Type::Error
    }

    fn unknown_member(&mut self, receiver: &Type, member: &Ident, what: &str) {
        let receiver_name = receiver.to_string();
        let mut candidates: Vec<&'static str> = builtins::FIELDS
            .iter()
            .filter(|field| field.receiver == receiver_name)
            .map(|field| field.name)
            .collect();
        candidates.extend(
            builtins::METHODS
                .iter()
                .filter(|method| method.receiver == receiver_name)
                .map(|method| method.name),
        );
        if candidates.is_empty() {
            self.error(
                Code::UnknownField,
                member.span,
                format!("type `{receiver}` has no fields or methods"),
            );
            return;
        }
        let help = did_you_mean(&member.name, candidates.iter().copied())
            .or_else(|| Some(format!("`{receiver}` has: {}", candidates.join(", "))));
        self.error_help(
            Code::UnknownField,
            member.span,
            format!("no {what} `{}` on type `{receiver}`", member.name),
            help,
        );
    }

    // ------------------------------------------------------------ calls

    // Calls are split into small functions: in debug builds a frame holds
    // the locals of every branch, and calls nest as deep as expressions do.
    fn call(&mut self, expr: &'f Expr, callee: &'f Expr, args: &'f [Expr]) -> Type {
        match &callee.kind {
            ExprKind::Name(name) if !name.is_empty() => self.call_name(expr, callee, name, args),
            ExprKind::Field(receiver, method) => {
                self.method_call(expr, callee, receiver, method, args)
            }
            _ => {
                let ty = self.expr(callee, Want::Value);
                self.call_value(expr, callee, &ty, args)
            }
        }
    }

    fn call_name(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        name: &str,
        args: &'f [Expr],
    ) -> Type {
        match self.resolve(name) {
            Some(Res::Local(id)) => {
                self.an.names.insert(callee.id, Res::Local(id));
                self.use_local(id, true);
                let ty = self.binding_type(id);
                self.set_type(callee.id, ty.clone());
                self.call_value(expr, callee, &ty, args)
            }
            Some(Res::Function(id)) => self.call_function(expr, callee, id, name, args),
            Some(Res::Param(id)) => {
                self.an.names.insert(callee.id, Res::Param(id));
                let ty = self.item_type(id);
                self.set_type(callee.id, ty);
                self.not_callable(callee.span, format!("`{name}` is a param, not a function"));
                self.args_any(args);
                Type::Error
            }
            Some(Res::Builtin(builtin)) => {
                self.an.names.insert(callee.id, Res::Builtin(builtin));
                self.call_builtin(expr, callee, builtin, args)
            }
            None => {
                if self.pipeline_items.contains_key(name) {
                    self.not_callable(
                        callee.span,
                        format!("`{name}` is a pipeline, not a function"),
                    );
                } else {
                    self.unknown_name(callee.span, name);
                }
                self.set_type(callee.id, Type::Error);
                self.args_any(args);
                Type::Error
            }
        }
    }

    #[cold]
    fn not_callable(&mut self, span: Span, message: String) {
        self.error(Code::NotCallable, span, message);
    }

    fn call_function(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        id: ItemId,
        name: &str,
        args: &'f [Expr],
    ) -> Type {
        self.an.names.insert(callee.id, Res::Function(id));
        let ty = self.item_type(id);
        self.set_type(callee.id, ty.clone());
        self.an.calls.insert(expr.id, Callee::Function(id));
        match ty {
            Type::Fn(params, ret) => {
                self.call_args(expr, name, &params, args);
                *ret
            }
            _ => {
                self.args_any(args);
                Type::Error
            }
        }
    }

    fn args_any(&mut self, args: &'f [Expr]) {
        for arg in args {
            self.expr(arg, Want::Value);
        }
    }

    /// Checks arguments against parameter types (E0005 on a count mismatch);
    /// `name` is the function's name, or empty for a function value.
    fn call_args(&mut self, expr: &Expr, name: &str, params: &[Type], args: &'f [Expr]) {
        if params.len() != args.len() {
            self.arg_count(expr.span, name, params.len(), args.len(), None);
        }
        for (idx, arg) in args.iter().enumerate() {
            match params.get(idx) {
                Some(param) => self.expr(arg, Want::Ty(param)),
                None => self.expr(arg, Want::Value),
            };
        }
    }

    #[cold]
    fn arg_count(
        &mut self,
        span: Span,
        name: &str,
        wanted: usize,
        given: usize,
        help: Option<String>,
    ) {
        let what = if name.is_empty() {
            "this function".to_string()
        } else {
            format!("`{name}`")
        };
        let message = format!(
            "{what} takes {}, but {}",
            plural(wanted as u64, "argument"),
            were(given)
        );
        self.error_help(Code::ArgCount, span, message, help);
    }

    fn call_value(&mut self, expr: &Expr, callee: &Expr, ty: &Type, args: &'f [Expr]) -> Type {
        match ty {
            Type::Fn(params, ret) => {
                self.an.calls.insert(expr.id, Callee::Value);
                let name = match &callee.kind {
                    ExprKind::Name(name) => name.as_str(),
                    _ => "",
                };
                self.call_args(expr, name, params, args);
                (**ret).clone()
            }
            Type::Error => {
                self.args_any(args);
                Type::Error
            }
            other => {
                let message = match &callee.kind {
                    ExprKind::Name(name) => {
                        format!("`{name}` is not a function: its type is `{other}`")
                    }
                    _ => format!("this is not a function: its type is `{other}`"),
                };
                self.not_callable(callee.span, message);
                self.args_any(args);
                Type::Error
            }
        }
    }

    fn method_call(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        receiver: &'f Expr,
        method: &Ident,
        args: &'f [Expr],
    ) -> Type {
        let receiver_ty = self.expr(receiver, Want::Value);
        if receiver_ty.has_error() || method.name.is_empty() {
            self.set_type(callee.id, Type::Error);
            self.args_any(args);
            return Type::Error;
        }
        if let Some(found) = builtins::method(&receiver_ty, &method.name) {
            let params: Vec<Type> = found.params.iter().map(|(_, p)| p.to_type()).collect();
            let ret = found.ret.to_type();
            self.set_type(callee.id, Type::Fn(params.clone(), Box::new(ret.clone())));
            self.an.calls.insert(expr.id, Callee::Method(found));
            self.call_args(expr, &method.name, &params, args);
            return ret;
        }
        self.bad_method(callee, &receiver_ty, method);
        self.args_any(args);
        Type::Error
    }

    #[cold]
    fn bad_method(&mut self, callee: &Expr, receiver_ty: &Type, method: &Ident) {
        if let Some(found) = builtins::field(receiver_ty, &method.name) {
            self.set_type(callee.id, found.ty.to_type());
            self.not_callable(
                callee.span,
                format!(
                    "`{}` is a field of `{receiver_ty}`, not a method",
                    method.name
                ),
            );
        } else {
            self.set_type(callee.id, Type::Error);
            self.unknown_member(receiver_ty, method, "method");
        }
    }

    fn call_builtin(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        builtin: &'static Builtin,
        args: &'f [Expr],
    ) -> Type {
        self.set_type(callee.id, Type::Error);
        let variadic = builtin
            .overloads
            .iter()
            .find(|overload| overload.params.iter().any(|(_, p)| *p == P::Variadic));
        if let Some(overload) = variadic {
            return self.call_print(expr, builtin, overload, args);
        }
        match builtin.overloads {
            [overload] if overload.params.iter().any(|(_, p)| *p == P::AnyArray) => {
                self.call_any_array(expr, builtin, overload, args)
            }
            [overload] => {
                // One signature: each argument is checked against it, for precise messages.
                let params: Vec<Type> = overload.params.iter().map(|(_, p)| p.to_type()).collect();
                let ret = overload.ret.to_type();
                self.set_type(callee.id, Type::Fn(params.clone(), Box::new(ret.clone())));
                self.call_args(expr, builtin.name, &params, args);
                self.an.calls.insert(expr.id, Callee::Builtin(overload.op));
                ret
            }
            _ => self.call_overloaded(expr, callee, builtin, args),
        }
    }

    /// `print`: any number of values of any type but `()` and functions.
    fn call_print(
        &mut self,
        expr: &'f Expr,
        builtin: &'static Builtin,
        overload: &'static Overload,
        args: &'f [Expr],
    ) -> Type {
        for arg in args {
            let ty = self.expr(arg, Want::Any);
            let problem = match ty {
                Type::Unit => Some("this has no value"),
                Type::Fn(..) if !ty.has_error() => Some("functions cannot be printed"),
                _ => None,
            };
            if let Some(problem) = problem {
                self.error(
                    Code::TypeMismatch,
                    arg.span,
                    format!("`{}` cannot print this: {problem}", builtin.name),
                );
            }
        }
        self.an.calls.insert(expr.id, Callee::Builtin(overload.op));
        overload.ret.to_type()
    }

    /// `len`: one array of any type.
    fn call_any_array(
        &mut self,
        expr: &'f Expr,
        builtin: &'static Builtin,
        overload: &'static Overload,
        args: &'f [Expr],
    ) -> Type {
        if args.len() != overload.params.len() {
            self.arg_count(
                expr.span,
                builtin.name,
                overload.params.len(),
                args.len(),
                None,
            );
        }
        for arg in args {
            let ty = self.expr(arg, Want::Value);
            if !matches!(ty, Type::Array(..) | Type::Error) {
                self.error(
                    Code::TypeMismatch,
                    arg.span,
                    format!("`{}` expects an array, found `{ty}`", builtin.name),
                );
            }
        }
        self.an.calls.insert(expr.id, Callee::Builtin(overload.op));
        overload.ret.to_type()
    }

    /// A builtin with several signatures: the first that fits the argument types.
    fn call_overloaded(
        &mut self,
        expr: &'f Expr,
        callee: &'f Expr,
        builtin: &'static Builtin,
        args: &'f [Expr],
    ) -> Type {
        let types: Vec<Type> = args.iter().map(|arg| self.expr(arg, Want::Value)).collect();
        let chosen = builtin.overloads.iter().find(|overload| {
            overload.params.len() == types.len()
                && overload
                    .params
                    .iter()
                    .zip(&types)
                    .all(|((_, param), ty)| ty.fits(&param.to_type()))
        });
        match chosen {
            Some(overload) => {
                let params: Vec<Type> = overload.params.iter().map(|(_, p)| p.to_type()).collect();
                let ret = overload.ret.to_type();
                self.set_type(callee.id, Type::Fn(params, Box::new(ret.clone())));
                self.an.calls.insert(expr.id, Callee::Builtin(overload.op));
                ret
            }
            None => self.no_overload(expr, builtin, &types),
        }
    }

    #[cold]
    fn no_overload(&mut self, expr: &Expr, builtin: &'static Builtin, types: &[Type]) -> Type {
        let name = builtin.name;
        let first_ret = builtin
            .overloads
            .first()
            .map_or(P::Unit, |overload| overload.ret);
        let fallback = if builtin
            .overloads
            .iter()
            .all(|overload| overload.ret == first_ret)
        {
            first_ret.to_type()
        } else {
            Type::Error
        };
        let signatures = format!("the signatures are: {}", builtin.signatures().join("; "));
        let counts: Vec<usize> = builtin.overloads.iter().map(|o| o.params.len()).collect();
        if !counts.contains(&types.len()) {
            if counts.iter().all(|count| Some(count) == counts.first()) {
                let wanted = counts.first().copied().unwrap_or(0);
                self.arg_count(expr.span, name, wanted, types.len(), Some(signatures));
            } else {
                self.error_help(
                    Code::ArgCount,
                    expr.span,
                    format!(
                        "no signature of `{name}` takes {}",
                        plural(types.len() as u64, "argument")
                    ),
                    Some(signatures),
                );
            }
            return fallback;
        }
        let mut help = signatures;
        if types.contains(&Type::Int) && types.contains(&Type::Float) {
            help.push_str("; use float(x) to convert an int");
        }
        let shown: Vec<String> = types.iter().map(Type::to_string).collect();
        self.error_help(
            Code::TypeMismatch,
            expr.span,
            format!(
                "`{name}` cannot take arguments of types ({})",
                shown.join(", ")
            ),
            Some(help),
        );
        fallback
    }

    // ------------------------------------------------------------ arrays

    fn expected_elem<'w>(want: Want<'w>) -> Option<&'w Type> {
        match want {
            Want::Ty(Type::Array(elem, _)) if !elem.has_error() => Some(elem),
            _ => None,
        }
    }

    fn array(&mut self, expr: &Expr, elements: &'f [Expr], want: Want<'_>) -> Type {
        let Some((first, rest)) = elements.split_first() else {
            self.error_help(
                Code::BadArrayLength,
                expr.span,
                "an array literal cannot be empty",
                Some("arrays have a fixed length of at least 1".into()),
            );
            return Type::Error;
        };
        let elem = match Self::expected_elem(want) {
            Some(elem) => {
                self.expr(first, Want::Ty(elem));
                elem.clone()
            }
            None => self.expr(first, Want::Value),
        };
        for element in rest {
            self.expr(element, Want::Ty(&elem));
        }
        if contains_str(&elem) {
            self.error_help(
                Code::UnsupportedType,
                expr.span,
                "an array cannot hold strings",
                Some("strings can only be printed".into()),
            );
        }
        match u32::try_from(elements.len()) {
            Ok(len) => Type::Array(Box::new(elem), len),
            Err(_) => Type::Error,
        }
    }

    fn array_repeat(
        &mut self,
        expr: &Expr,
        value: &'f Expr,
        length: &'f Expr,
        want: Want<'_>,
    ) -> Type {
        let elem = match Self::expected_elem(want) {
            Some(elem) => {
                self.expr(value, Want::Ty(elem));
                elem.clone()
            }
            None => self.expr(value, Want::Value),
        };
        let length_ty = self.expr(length, Want::Ty(&Type::Int));
        if contains_str(&elem) {
            self.error_help(
                Code::UnsupportedType,
                expr.span,
                "an array cannot hold strings",
                Some("strings can only be printed".into()),
            );
        }
        let literal = match &length.kind {
            ExprKind::Int(count) => Some(*count),
            ExprKind::Unary(UnOp::Neg, inner) => match inner.kind {
                ExprKind::Int(count) => Some(count.wrapping_neg()),
                _ => None,
            },
            _ => None,
        };
        let count = match (literal, &length.kind) {
            (Some(count), _) => match u32::try_from(count) {
                Ok(count) if count > 0 => Some(count),
                _ => {
                    self.error(
                        Code::BadArrayLength,
                        length.span,
                        format!("array length must be a positive integer, found `{count}`"),
                    );
                    None
                }
            },
            (None, ExprKind::Error) => None,
            (None, _) => {
                if length_ty == Type::Int {
                    self.error_help(
                        Code::BadArrayLength,
                        length.span,
                        "the length of `[value; n]` must be an integer literal",
                        Some("arrays have a fixed length, known before the program runs".into()),
                    );
                }
                None
            }
        };
        match count {
            Some(count) => Type::Array(Box::new(elem), count),
            None => Type::Error,
        }
    }

    // ------------------------------------------------------------ if and closures

    fn if_expr(
        &mut self,
        expr: &Expr,
        cond: &'f Expr,
        then: &'f Block,
        otherwise: Option<&'f Expr>,
        want: Want<'_>,
    ) -> Type {
        self.expr(cond, Want::Ty(&Type::Bool));
        let Some(other) = otherwise else {
            self.block(then, Want::Stmt);
            return match want {
                Want::Stmt | Want::Any => Type::Unit,
                Want::Ty(ty) if *ty == Type::Unit || ty.has_error() => ty.clone(),
                Want::Ty(_) | Want::Value => {
                    self.error_help(
                        Code::TypeMismatch,
                        expr.span,
                        "`if` without `else` has no value",
                        Some("add an `else` branch".into()),
                    );
                    Type::Error
                }
            };
        };
        match want {
            Want::Stmt => {
                self.block(then, Want::Stmt);
                self.expr(other, Want::Stmt);
                Type::Unit
            }
            Want::Ty(ty) => {
                self.block(then, Want::Ty(ty));
                self.expr(other, Want::Ty(ty));
                ty.clone()
            }
            Want::Any | Want::Value => {
                let then_ty = self.block(then, want);
                let then_open = then.value.is_none() && block_exits(then, true);
                if then_ty.has_error() || then_open {
                    self.expr(other, want)
                } else {
                    self.expr(other, Want::Ty(&then_ty));
                    then_ty
                }
            }
        }
    }

    fn closure(&mut self, expr: &'f Expr, closure: &'f Closure, want: Want<'_>) -> Type {
        let params = self.param_types(&closure.params);
        let declared = closure.ret.as_ref().map(|ret| self.resolve_type(ret));
        let expected = match want {
            Want::Ty(Type::Fn(expected_params, ret))
                if expected_params.len() == params.len() && !ret.has_error() =>
            {
                Some((**ret).clone())
            }
            _ => None,
        };
        if let Some(ret) = &declared {
            if contains_str(ret) {
                let span = closure.ret.as_ref().map_or(expr.span, TypeExpr::span);
                self.check_storable(ret, span, "a closure's result");
            }
        }
        let known = declared.or(expected);
        self.fns.push(FnCtx {
            owner: Owner::Closure(expr.id),
            ret: match &known {
                Some(ret) => RetMode::Declared(ret.clone()),
                None => RetMode::Infer(Vec::new()),
            },
            loops: 0,
            desc: "closure".to_string(),
        });
        self.scopes.push(Vec::new());
        for (param, ty) in closure.params.iter().zip(&params) {
            self.declare(&param.binding, ty.clone(), BindingKind::Param);
        }
        let ret = match known {
            Some(ret) => {
                self.body(&closure.body, &ret);
                ret
            }
            None => self.infer_closure(expr, &closure.body),
        };
        self.scopes.pop();
        self.fns.pop();
        Type::Fn(params, Box::new(ret))
    }

    /// The result type of a closure without `->`, from its body and its `return`s.
    fn infer_closure(&mut self, expr: &Expr, body: &'f Block) -> Type {
        let tail = self.block(body, Want::Any);
        let returns = match self.fns.last_mut() {
            Some(FnCtx {
                ret: RetMode::Infer(returns),
                ..
            }) => std::mem::take(returns),
            _ => Vec::new(),
        };
        let ret = if body.value.is_some() && tail != Type::Unit {
            tail.clone()
        } else if let Some((ty, _)) = returns.iter().find(|(ty, _)| *ty != Type::Unit) {
            ty.clone()
        } else {
            Type::Unit
        };
        for (ty, span) in &returns {
            if !ty.fits(&ret) {
                let message = if *ty == Type::Unit {
                    format!("this `return` has no value, but the closure returns `{ret}`")
                } else if ret == Type::Unit {
                    format!(
                        "this `return` has a value of type `{ty}`, but the closure returns nothing"
                    )
                } else {
                    format!("expected `{ret}`, found `{ty}`")
                };
                let facts = TypeFacts::Mismatch {
                    expected: ret.clone(),
                    found: ty.clone(),
                };
                self.report(
                    Diagnostic::error(Code::TypeMismatch, *span, message).with_types(facts),
                );
            }
        }
        if ret != Type::Unit && !ret.has_error() && tail == Type::Unit && !block_exits(body, false)
        {
            self.missing_return(body, "closure");
        }
        if contains_str(&ret) {
            self.check_storable(&ret, expr.span, "a closure's result");
        }
        ret
    }
}
