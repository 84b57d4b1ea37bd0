//! The checker's state, and the checking of statements and expressions.
//!
//! Every expression is checked against a [`Want`]: discarded (a statement),
//! any value, a real value (not `()`), or a given type. `if` and blocks pass
//! the wish on to their branches and final expressions, so a mismatch is
//! reported where it is written.
//!
//! Here: the checker's state, reporting, the tables, types as written and
//! function bodies; `stmts` checks blocks, statements and assignments,
//! `exprs` expressions, `calls` calls of every kind.

use super::flow::{block_exits, is_open_if};
use super::suggest::did_you_mean;
use super::{Analysis, ExprMap, Owner, Res};
use crate::builtins::{self};
use crate::diag::{Code, Diagnostic, TypeFacts};
use crate::syntax::ast::{
    BinOp, Binding, BindingId, Block, Expr, ExprId, ExprKind, Ident, ItemId, ItemKind, SourceFile,
    TypeExpr,
};
use crate::syntax::span::Span;
use crate::types::Type;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

mod calls;
mod exprs;
mod stmts;

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
    /// A program of several files: what each file sees (`crate::modules`). Its
    /// items are then found in the current file's scope, not in `param_items`,
    /// `fn_items` and `pipeline_items` (which hold a lone file's).
    pub link: Option<&'f crate::modules::Linked>,
    /// The file whose scope is in use (a linked program).
    pub cur_file: usize,
}

/// The kinds of item a name can be looked up as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ItemKindOf {
    Param,
    Function,
    Pipeline,
}

fn kind_of(kind: &ItemKind) -> ItemKindOf {
    match kind {
        ItemKind::Param(_) => ItemKindOf::Param,
        ItemKind::Function(_) => ItemKindOf::Function,
        ItemKind::Pipeline(_) => ItemKindOf::Pipeline,
    }
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
        Type::Fn(f) => f.params.iter().any(contains_str) || contains_str(&f.ret),
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
            link: None,
            cur_file: 0,
        }
    }

    /// Puts in use the scope of the file of item `id` (a linked program).
    pub fn enter_file_of(&mut self, id: ItemId) {
        if let Some(link) = self.link {
            self.cur_file = link.item_file.get(id.0 as usize).copied().unwrap_or(0);
        }
    }

    /// The item of kind `kind` that `name` names where the checker is: in a linked
    /// program, the current file's scope (shared between checks of the program while
    /// the file's uses did not change: nothing is built per check); in a lone file, its
    /// own items.
    pub(super) fn item_named(&self, name: &str, kind: ItemKindOf) -> Option<ItemId> {
        let Some(link) = self.link else {
            return self.own_items(kind).get(name).copied();
        };
        let id = *link.scopes.get(self.cur_file)?.names.get(name)?;
        (self.item_kind(id) == Some(kind)).then_some(id)
    }

    /// The names of every item of kind `kind` that [`Checker::item_named`] finds.
    pub(super) fn names_of(&self, kind: ItemKindOf) -> Vec<&'f str> {
        let Some(link) = self.link else {
            return self.own_items(kind).keys().copied().collect();
        };
        let Some(scope) = link.scopes.get(self.cur_file) else {
            return Vec::new();
        };
        scope
            .names
            .iter()
            .filter(|(_, id)| self.item_kind(**id) == Some(kind))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// A lone file's items of kind `kind`, by name.
    fn own_items(&self, kind: ItemKindOf) -> &HashMap<&'f str, ItemId> {
        match kind {
            ItemKindOf::Param => &self.param_items,
            ItemKindOf::Function => &self.fn_items,
            ItemKindOf::Pipeline => &self.pipeline_items,
        }
    }

    /// The kind of item `id` (`None` for an unknown id).
    fn item_kind(&self, id: ItemId) -> Option<ItemKindOf> {
        let item = self.file.items.get(id.0 as usize)?;
        Some(kind_of(&item.kind))
    }

    /// The used files that define `name` when the current file uses it ambiguously.
    pub fn ambiguous(&self, name: &str) -> Option<&'f [String]> {
        let link = self.link?;
        let scope = link.scopes.get(self.cur_file)?;
        scope.ambiguous.get(name).map(Vec::as_slice)
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
        if let Some(id) = self.item_named(name, ItemKindOf::Param) {
            return Some(Res::Param(id));
        }
        if let Some(id) = self.item_named(name, ItemKindOf::Function) {
            return Some(Res::Function(id));
        }
        builtins::lookup(name).map(Res::Builtin)
    }

    /// `m.name` in an expression, `m` a file this one uses (and no local, param or
    /// function of that name): `None` when `value` is not such a name; else the param or
    /// function it names, or `Some(None)` after E0025 when the used file has no public
    /// item of that name.
    pub(super) fn module_item(&mut self, value: &Expr, field: &Ident) -> Option<Option<Res>> {
        let ExprKind::Name(module) = &value.kind else {
            return None;
        };
        let scope = self.link?.scopes.get(self.cur_file)?;
        if field.name.is_empty()
            || !scope.namespaces.contains_key(module.as_str())
            || self.resolve(module).is_some()
        {
            return None;
        }
        let key = format!("{module}.{}", field.name);
        match self.resolve(&key) {
            Some(res @ (Res::Param(_) | Res::Function(_))) => Some(Some(res)),
            _ => {
                let message = if scope.private.contains_key(&key) {
                    format!(
                        "`{}` is private to `{module}` (it starts with `_`)",
                        field.name
                    )
                } else if self.item_named(&key, ItemKindOf::Pipeline).is_some() {
                    format!("pipeline `{key}` cannot be used in an expression")
                } else {
                    format!(
                        "`{module}` has no public fn, filter or param `{}`",
                        field.name
                    )
                };
                self.error(Code::UnknownItem, value.span.cover(field.span), message);
                Some(None)
            }
        }
    }

    /// Notes a use of a local: a read, and a capture when it belongs to an enclosing function.
    fn use_local(&mut self, id: BindingId, read: bool) {
        let idx = id.0 as usize;
        if read {
            if let Some(flag) = self.read.get_mut(idx) {
                *flag = true;
            }
        }
        let owner = self.an.owner_of(id);
        if matches!(self.owner(), Owner::Closure(_)) && owner != self.owner() {
            self.an.captured.insert(id);
        }
    }

    /// E0003 for `name`, with the closest name in scope (E0026 when two used files
    /// define it).
    fn unknown_name(&mut self, span: Span, name: &str) {
        if let Some(files) = self.ambiguous(name) {
            self.error_help(
                Code::Ambiguous,
                span,
                format!("`{name}` is defined by {}", files.join(" and ")),
                Some("qualify it with the file's name: `m.name`".into()),
            );
            return;
        }
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
                Type::func(params, ret)
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
}
