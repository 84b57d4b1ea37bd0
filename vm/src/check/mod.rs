//! Name resolution and type checking.
//!
//! `check` walks a [`SourceFile`] once and collects every error of the file,
//! never stopping at the first; ill-typed expressions get [`Type::Error`],
//! which fits everywhere, so one mistake gives one diagnostic. The results
//! are tables indexed by the AST's dense ids: the compiler, the language
//! server and the debugger read them and never re-derive types.

use crate::builtins::{Builtin, BuiltinOp, Method};
use crate::diag::Diagnostic;
use crate::syntax::ast::{BindingId, ExprId, ItemId, SourceFile};
use crate::syntax::reuse::Memo;
use crate::types::Type;
use foldhash::{HashMap, HashSet};

pub(crate) mod consts;
mod flow;
mod infer;
mod items;
mod suggest;
#[cfg(test)]
mod tests;

/// Resolves the names and checks the types of a whole file.
///
/// Never fails: every problem becomes a diagnostic (sorted by where it
/// starts), and the tables hold an entry for every expression, binding and
/// item, with `Type::Error` where nothing better is known.
pub fn check(file: &SourceFile) -> Analysis {
    items::check_file(file, None)
}

/// Checks a program of several files linked into one by [`crate::modules::link`]:
/// each file's items see what that file sees. Spans are the linked program's
/// ([`crate::modules::Linked::locate`] gives a diagnostic's file).
pub fn check_linked(linked: &crate::modules::Linked) -> Analysis {
    items::check_linked(linked, None)
}

/// [`check_linked`], taking from `previous` (the last linked version of the program
/// and its analysis) what checking the bodies of the functions that are as they were
/// found: the main file's that its lowering reused, and every function of a used file
/// whose linked items were kept ([`crate::modules::link_reusing`]), when nothing they
/// depend on changed (what each file sees, item names, kinds and types, param
/// values). The result is the same as checking the whole program.
pub fn check_linked_reusing(
    linked: &crate::modules::Linked,
    previous: Option<(&crate::modules::Linked, &Analysis)>,
) -> Analysis {
    items::check_linked(linked, previous)
}

/// [`check`], taking from `previous` (the last version of the file: its
/// AST, lowering memo and analysis) what checking the bodies of the
/// functions that lowering reused found, when nothing they depend on (item
/// names, kinds and types, param values) changed. The result is the same
/// as checking the whole file.
pub fn check_reusing(
    file: &SourceFile,
    memo: &Memo,
    previous: Option<(&SourceFile, &Memo, &Analysis)>,
) -> Analysis {
    let reuse = previous.map(|(old_file, old_memo, old)| items::Reuse {
        memo,
        old_file,
        old_memo,
        old,
    });
    items::check_file(file, reuse)
}

/// What a name refers to.
#[derive(Clone, Copy, Debug)]
pub enum Res {
    /// A local binding (parameter, `let`, `var`, `for` variable).
    Local(BindingId),
    /// A `param` item.
    Param(ItemId),
    /// A `fn` or `filter` item.
    Function(ItemId),
    /// A builtin function.
    Builtin(&'static Builtin),
}

/// What a call calls.
#[derive(Clone, Copy, Debug)]
pub enum Callee {
    /// A `fn` or `filter` item, by name.
    Function(ItemId),
    /// A builtin, with the overload chosen.
    Builtin(BuiltinOp),
    /// A method of a builtin type; the receiver is the `Field` expression's value.
    Method(&'static Method),
    /// A function value (a closure, or a function item used as a value).
    Value,
}

impl PartialEq for Res {
    fn eq(&self, other: &Res) -> bool {
        match (self, other) {
            (Res::Local(a), Res::Local(b)) => a == b,
            (Res::Param(a), Res::Param(b)) | (Res::Function(a), Res::Function(b)) => a == b,
            // Builtins live in one static table: the same entry is the same builtin.
            (Res::Builtin(a), Res::Builtin(b)) => std::ptr::eq(*a, *b) || a.name == b.name,
            _ => false,
        }
    }
}

impl PartialEq for Callee {
    fn eq(&self, other: &Callee) -> bool {
        match (self, other) {
            (Callee::Function(a), Callee::Function(b)) => a == b,
            (Callee::Builtin(a), Callee::Builtin(b)) => a == b,
            (Callee::Method(a), Callee::Method(b)) => {
                std::ptr::eq(*a, *b) || (a.receiver == b.receiver && a.name == b.name)
            }
            (Callee::Value, Callee::Value) => true,
            _ => false,
        }
    }
}

/// The function or closure that declares a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A `fn` or `filter` item.
    Item(ItemId),
    /// A closure expression.
    Closure(ExprId),
    /// Nothing (the binding lies outside any function, which only broken code does).
    None,
}

/// A constant value: a `param` default or a pipeline argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Const {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A colour, RGBA.
    Color([f64; 4]),
}

/// Everything the checker learnt about a file.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// Every diagnostic, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// The type of every expression, by `ExprId`.
    pub expr_types: Vec<Type>,
    /// The type of every binding, by `BindingId`.
    pub binding_types: Vec<Type>,
    /// Whether a binding is a `var`, by `BindingId`.
    pub binding_mutable: Vec<bool>,
    /// Which function or closure declares each binding, by `BindingId`.
    pub binding_owner: Vec<Owner>,
    /// Bindings that some closure uses from an enclosing function: they live in
    /// environment chunks instead of registers.
    pub captured: HashSet<BindingId>,
    /// What each resolved `ExprKind::Name` refers to.
    pub names: ExprMap<Res>,
    /// What each resolved `ExprKind::Call` calls.
    pub calls: ExprMap<Callee>,
    /// The type of each item, by `ItemId`: a function type for `fn` and `filter`,
    /// the declared type of a `param`, `Unit` for a pipeline.
    pub item_types: Vec<Type>,
    /// The default value and inclusive range of each well-formed `param`.
    pub params: HashMap<ItemId, ParamInfo>,
    /// For each pipeline stage (pipeline item, stage index): the filter item and its overrides.
    pub stages: HashMap<(ItemId, usize), StageInfo>,
    /// What checking each function's body found, by `ItemId` (`None` for
    /// other items), for the next check to reuse.
    pub(crate) bodies: Vec<Option<Body>>,
}

/// What checking one function's body found beyond the tables: its
/// diagnostics (its unused variables included) and whether it holds text
/// that did not parse.
#[derive(Clone, Debug, Default)]
pub(crate) struct Body {
    pub diags: Vec<Diagnostic>,
    pub broken: bool,
    /// Taken from the last analysis rather than checked.
    pub reused: bool,
}

/// A table keyed by expression: a vector indexed by [`ExprId`] (the ids
/// are dense), with the few methods of a map that its readers use.
#[derive(Clone, Debug)]
pub struct ExprMap<T> {
    slots: Vec<Option<T>>,
}

impl<T> Default for ExprMap<T> {
    fn default() -> ExprMap<T> {
        ExprMap { slots: Vec::new() }
    }
}

impl<T> ExprMap<T> {
    /// An empty table with room for the ids below `exprs`.
    pub fn with_capacity(exprs: usize) -> ExprMap<T> {
        ExprMap {
            slots: Vec::with_capacity(exprs),
        }
    }

    /// The entry of `id`.
    pub fn get(&self, id: &ExprId) -> Option<&T> {
        self.slots.get(id.0 as usize)?.as_ref()
    }

    /// Whether `id` has an entry.
    pub fn contains_key(&self, id: &ExprId) -> bool {
        self.get(id).is_some()
    }

    /// Sets the entries of the ids in `ids` to `from`'s (an item's results taken from
    /// the last analysis where its ids did not move): a copy of slots, no lookups.
    pub(crate) fn copy_range(&mut self, from: &ExprMap<T>, ids: std::ops::Range<usize>)
    where
        T: Clone,
    {
        if ids.is_empty() {
            return;
        }
        // Up to the range's last entry only: the table grows as inserting would.
        let within = from.slots.get(ids.start..ids.end.min(from.slots.len()));
        let last = within.and_then(|slots| slots.iter().rposition(Option::is_some));
        let have = last.map_or(ids.start, |last| ids.start + last + 1);
        if last.is_some() && self.slots.len() < have {
            self.slots.resize_with(have, || None);
        }
        if let (Some(to), Some(src)) = (
            self.slots.get_mut(ids.start..have),
            from.slots.get(ids.start..have),
        ) {
            to.clone_from_slice(src);
        }
        let end = ids.end.min(self.slots.len());
        if let Some(rest) = self.slots.get_mut(have.min(end)..end) {
            rest.fill_with(|| None);
        }
    }

    /// Sets the entry of `id`, returning the one it replaces.
    pub fn insert(&mut self, id: ExprId, value: T) -> Option<T> {
        let idx = id.0 as usize;
        if idx >= self.slots.len() {
            self.slots.resize_with(idx + 1, || None);
        }
        self.slots.get_mut(idx)?.replace(value)
    }
}

/// The checked facts of a `param` item.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// The default.
    pub default: Const,
    /// The inclusive range, if given.
    pub range: Option<(Const, Const)>,
}

/// A `param` of a file as its users see it (the command line's `params`, the editor's
/// sliders, a debugger's launch arguments): name, type, default, range and doc.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    /// Its name.
    pub name: String,
    /// Its type: `int`, `float`, `bool` or `color`.
    pub ty: Type,
    /// Its default.
    pub default: Const,
    /// The inclusive range, if given.
    pub range: Option<(Const, Const)>,
    /// Its `///` doc comment.
    pub doc: Option<String>,
    /// The whole item.
    pub span: crate::syntax::span::Span,
}

/// The well-formed `param` items of `file`, in source order.
pub fn params(file: &SourceFile, analysis: &Analysis) -> Vec<ParamDecl> {
    let mut out = Vec::new();
    for (idx, item) in file.items.iter().enumerate() {
        if !matches!(item.kind, crate::syntax::ast::ItemKind::Param(_)) {
            continue;
        }
        let Some(info) = analysis.params.get(&ItemId(idx as u32)) else {
            continue;
        };
        out.push(ParamDecl {
            name: item.name.name.clone(),
            ty: analysis.item_type(ItemId(idx as u32)).clone(),
            default: info.default,
            range: info.range,
            doc: item.doc.clone(),
            span: item.span,
        });
    }
    out
}

/// The checked facts of a pipeline stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageInfo {
    /// The filter item it runs.
    pub filter: ItemId,
    /// The `param` items it overrides, with their values.
    pub overrides: Vec<(ItemId, Const)>,
}

impl Analysis {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// How many function bodies were taken from the last analysis, and how
    /// many there are.
    pub fn bodies_reused(&self) -> (usize, usize) {
        let bodies = self.bodies.iter().flatten();
        let reused = bodies.clone().filter(|body| body.reused).count();
        (reused, bodies.count())
    }

    /// The type of an expression (`Error` for an unknown id).
    pub fn type_of(&self, expr: ExprId) -> &Type {
        self.expr_types.get(expr.0 as usize).unwrap_or(&Type::Error)
    }

    /// The type of a binding (`Error` for an unknown id).
    pub fn binding_type(&self, binding: BindingId) -> &Type {
        self.binding_types
            .get(binding.0 as usize)
            .unwrap_or(&Type::Error)
    }

    /// The function or closure that declares a binding (`None` for an unknown id).
    pub fn owner_of(&self, binding: BindingId) -> Owner {
        self.binding_owner
            .get(binding.0 as usize)
            .copied()
            .unwrap_or(Owner::None)
    }

    /// The type of an item (`Error` for an unknown id): a function type for
    /// `fn` and `filter`, the declared type of a `param`, `Unit` for a pipeline.
    pub fn item_type(&self, item: ItemId) -> &Type {
        self.item_types.get(item.0 as usize).unwrap_or(&Type::Error)
    }
}
