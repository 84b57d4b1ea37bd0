//! The index of a file that navigation and signature help answer from: every
//! name written in it (declarations, uses, fields and methods, pipeline stages
//! and their overrides) with what it refers to, and every local binding with
//! the part of the text where it is visible. The index is rebuilt for each
//! request: a walk over the AST and the checker's tables, linear in the file.

use crate::walk::{walk_block, walk_expr, walk_stmt, Binder, Visit};
use crate::{Doc, Symbol};
use chunkvm::builtins;
use chunkvm::check::Res;
use chunkvm::syntax::ast::{
    Binding, BindingId, Block, Expr, ExprId, ExprKind, Item, ItemId, ItemKind, Param, Stmt,
    StmtKind,
};
use chunkvm::syntax::span::Span;
use std::collections::HashMap;

/// How a name is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Where it is declared.
    Decl,
    /// Read.
    Read,
    /// Assigned, compound-assigned, or overridden by a pipeline stage.
    Write,
}

/// One name written in the file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Occurrence {
    /// The name itself (without parentheses around it).
    pub span: Span,
    /// What it refers to.
    pub symbol: Symbol,
    /// The expression, for a name or a field expression.
    pub expr: Option<ExprId>,
    /// Declaration, read or write.
    pub access: Access,
}

/// How a local is introduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocalKind {
    /// `let`
    Let,
    /// `var`
    Var,
    /// A parameter of an item (`Some`) or of a closure (`None`).
    Param(Option<ItemId>),
    /// A `for` variable.
    For,
}

/// A local binding and where it is visible.
#[derive(Clone, Debug)]
pub(crate) struct Local<'a> {
    /// Its id.
    pub id: BindingId,
    /// Its name and declaration.
    pub name: &'a chunkvm::syntax::ast::Ident,
    /// How it is introduced.
    pub kind: LocalKind,
    /// The text where uses resolve to it (unless shadowed): `start..end`, end excluded.
    pub scope: Span,
    /// The parameter names, when its value is a closure literal.
    pub closure_params: Option<Vec<&'a str>>,
}

/// A call, with the position of its `(`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallSite<'a> {
    /// The call expression.
    pub call: &'a Expr,
    /// What is called.
    pub callee: &'a Expr,
    /// The arguments.
    pub args: &'a [Expr],
    /// Byte offset of the `(`.
    pub paren: usize,
}

/// Every name of a file, and every local.
#[derive(Debug, Default)]
pub(crate) struct Index<'a> {
    /// The names, in the order of the walk.
    pub occurrences: Vec<Occurrence>,
    /// The locals, by id.
    pub locals: HashMap<BindingId, Local<'a>>,
    /// The calls.
    pub calls: Vec<CallSite<'a>>,
}

impl<'a> Index<'a> {
    /// Indexes the whole file.
    pub(crate) fn new(doc: &'a Doc) -> Index<'a> {
        let mut walker = Walker {
            doc,
            index: Index::default(),
            errors: Vec::new(),
            block_end: 0,
        };
        for (idx, item) in doc.file().items.iter().enumerate() {
            walker.item(ItemId(idx as u32), item);
        }
        let mut index = walker.index;
        index.unparsed(doc, &walker.errors);
        index
    }

    /// Adds the names written where the code did not parse (inside an
    /// `ERROR` node, or text lowered to an error expression), resolved by
    /// the scopes alone: a local visible there, else an item, else a builtin.
    fn unparsed(&mut self, doc: &Doc, errors: &[Span]) {
        let root = doc.parsed.tree.root_node();
        if errors.is_empty() && !root.has_error() {
            return;
        }
        let covered: std::collections::HashSet<usize> =
            self.occurrences.iter().map(|occ| occ.span.start).collect();
        let mut found = Vec::new();
        let mut cursor = root.walk();
        // Depth of the innermost `ERROR` ancestor, if any.
        let mut error_depth: Option<usize> = None;
        let mut depth = 0usize;
        loop {
            let node = cursor.node();
            if node.is_error() && error_depth.is_none() {
                error_depth = Some(depth);
            }
            if node.kind() == "identifier" && !covered.contains(&node.start_byte()) {
                let span = Span::new(node.start_byte(), node.end_byte());
                let field = cursor.field_name();
                let in_error = error_depth.is_some()
                    || errors
                        .iter()
                        .any(|error| error.start <= span.start && span.end <= error.end);
                let declares = matches!(field, Some("name" | "variable" | "field"));
                if in_error && !declares {
                    found.push(span);
                }
            }
            // A subtree without errors, outside every error expression, has
            // no name the walk of the AST missed.
            let clean = error_depth.is_none()
                && !node.has_error()
                && !errors
                    .iter()
                    .any(|error| error.start < node.end_byte() && node.start_byte() < error.end);
            if !clean && cursor.goto_first_child() {
                depth += 1;
                continue;
            }
            loop {
                if error_depth == Some(depth) {
                    error_depth = None;
                }
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    self.add_unparsed(doc, found);
                    return;
                }
                depth -= 1;
            }
        }
    }

    fn add_unparsed(&mut self, doc: &Doc, spans: Vec<Span>) {
        for span in spans {
            let name = doc.slice(span);
            let symbol = if let Some(local) = self.resolve_local(name, span.start) {
                Symbol::Local(local.id)
            } else if let Some((id, _)) = doc.file().item(name) {
                Symbol::Item(id)
            } else if let Some(builtin) = builtins::lookup(name) {
                Symbol::Builtin(builtin.name)
            } else {
                continue;
            };
            self.occurrences.push(Occurrence {
                span,
                symbol,
                expr: None,
                access: Access::Read,
            });
        }
    }

    /// The name at `offset`, or ending right at it.
    pub(crate) fn at(&self, offset: usize) -> Option<&Occurrence> {
        let inside = self
            .occurrences
            .iter()
            .find(|occ| occ.span.start <= offset && offset < occ.span.end);
        inside.or_else(|| {
            self.occurrences
                .iter()
                .find(|occ| occ.span.end == offset && !occ.span.is_empty())
        })
    }

    /// Every occurrence of `symbol`, sorted, without duplicates.
    pub(crate) fn of(&self, symbol: Symbol) -> Vec<Occurrence> {
        let mut found: Vec<Occurrence> = self
            .occurrences
            .iter()
            .filter(|occ| occ.symbol == symbol)
            .copied()
            .collect();
        found.sort_by_key(|occ| (occ.span.start, occ.span.end));
        found.dedup_by_key(|occ| occ.span);
        found
    }

    /// The locals visible at `offset` (shadowed ones included).
    pub(crate) fn visible_at(&self, offset: usize) -> impl Iterator<Item = &Local<'a>> + '_ {
        self.locals
            .values()
            .filter(move |local| local.scope.start <= offset && offset < local.scope.end)
    }

    /// The local a use of `name` at `offset` refers to, by the scopes alone.
    pub(crate) fn resolve_local(&self, name: &str, offset: usize) -> Option<&Local<'a>> {
        self.visible_at(offset)
            .filter(|local| local.name.name == name)
            .max_by_key(|local| inner_key(local))
    }
}

/// The name at `offset`.
pub(crate) fn lookup(index: &Index, offset: usize) -> Option<Occurrence> {
    index.at(offset).copied()
}

/// Orders two locals visible at one place: the greater shadows the other.
pub(crate) fn inner_key(local: &Local) -> (usize, BindingId) {
    (local.scope.start, local.id)
}

struct Walker<'a> {
    doc: &'a Doc,
    index: Index<'a>,
    /// The spans of error expressions (text that did not parse).
    errors: Vec<Span>,
    /// The end of the innermost block being walked (where a `let` stops being visible).
    block_end: usize,
}

impl<'a> Walker<'a> {
    fn push(&mut self, span: Span, symbol: Symbol, expr: Option<ExprId>, access: Access) {
        self.index.occurrences.push(Occurrence {
            span,
            symbol,
            expr,
            access,
        });
    }

    fn item(&mut self, id: ItemId, item: &'a Item) {
        if !item.name.name.is_empty() {
            self.push(item.name.span, Symbol::Item(id), None, Access::Decl);
        }
        match &item.kind {
            ItemKind::Param(param) => {
                self.visit_expr(&param.default);
                if let Some((min, max)) = &param.range {
                    self.visit_expr(min);
                    self.visit_expr(max);
                }
            }
            ItemKind::Function(function) => {
                self.params(&function.params, Some(id), function.body.span);
                self.visit_block(&function.body);
            }
            ItemKind::Pipeline(pipeline) => {
                for (idx, stage) in pipeline.stages.iter().enumerate() {
                    let filter = self
                        .doc
                        .analysis
                        .stages
                        .get(&(id, idx))
                        .map(|info| info.filter)
                        .or_else(|| function_named(self.doc, &stage.name.name));
                    if let Some(filter) = filter {
                        self.push(stage.name.span, Symbol::Item(filter), None, Access::Read);
                    }
                    for (name, value) in &stage.args {
                        // The param the checker found (a used file's, for a used
                        // filter), else the file's own of that name.
                        let overridden =
                            self.doc.analysis.stages.get(&(id, idx)).and_then(|info| {
                                let file = self.doc.program_file();
                                info.overrides
                                    .iter()
                                    .map(|(param, _)| *param)
                                    .find(|param| {
                                        file.items.get(param.0 as usize).is_some_and(|item| {
                                            item.name.name.rsplit('.').next()
                                                == Some(name.name.as_str())
                                        })
                                    })
                            });
                        if let Some(param) =
                            overridden.or_else(|| param_named(self.doc, &name.name))
                        {
                            self.push(name.span, Symbol::Item(param), None, Access::Write);
                        }
                        self.visit_expr(value);
                    }
                }
            }
        }
    }

    fn params(&mut self, params: &'a [Param], owner: Option<ItemId>, scope: Span) {
        for param in params {
            self.bind(&param.binding, LocalKind::Param(owner), scope, None);
        }
    }

    fn bind(
        &mut self,
        binding: &'a Binding,
        kind: LocalKind,
        scope: Span,
        value: Option<&'a Expr>,
    ) {
        if binding.name.name.is_empty() {
            return;
        }
        self.push(
            binding.name.span,
            Symbol::Local(binding.id),
            None,
            Access::Decl,
        );
        let closure_params = match value.map(|value| &value.kind) {
            Some(ExprKind::Closure(closure)) => Some(
                closure
                    .params
                    .iter()
                    .map(|param| param.binding.name.name.as_str())
                    .collect(),
            ),
            _ => None,
        };
        self.index.locals.insert(
            binding.id,
            Local {
                id: binding.id,
                name: &binding.name,
                kind,
                scope,
                closure_params,
            },
        );
    }

    /// The target of an assignment: its base name is written.
    fn place(&mut self, target: &'a Expr) {
        match &target.kind {
            ExprKind::Name(name) => self.name(target, name, Access::Write),
            ExprKind::Index(base, index) => {
                self.place(base);
                self.visit_expr(index);
            }
            _ => self.visit_expr(target),
        }
    }

    fn name(&mut self, expr: &Expr, name: &str, access: Access) {
        if name.is_empty() {
            return;
        }
        let Some(res) = self.doc.analysis.names.get(&expr.id) else {
            return;
        };
        let symbol = match res {
            Res::Local(id) => Symbol::Local(*id),
            Res::Param(id) | Res::Function(id) => Symbol::Item(*id),
            Res::Builtin(builtin) => Symbol::Builtin(builtin.name),
        };
        let span = name_span(self.doc, expr, name);
        self.push(span, symbol, Some(expr.id), access);
    }
}

impl<'a> Visit<'a> for Walker<'a> {
    fn visit_block(&mut self, block: &'a Block) {
        let outer = std::mem::replace(&mut self.block_end, block.span.end);
        walk_block(self, block);
        self.block_end = outer;
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match &stmt.kind {
            StmtKind::Assign { target, value, .. } => {
                self.place(target);
                self.visit_expr(value);
            }
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_scope(&mut self, binding: &'a Binding, binder: Binder<'a>) {
        match binder {
            Binder::Let {
                stmt,
                mutable,
                value,
            } => {
                let kind = if mutable {
                    LocalKind::Var
                } else {
                    LocalKind::Let
                };
                let scope = Span::new(stmt.span.end, self.block_end.max(stmt.span.end));
                self.bind(binding, kind, scope, Some(value));
            }
            Binder::For { body } => self.bind(binding, LocalKind::For, body.span, None),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match &expr.kind {
            ExprKind::Error => self.errors.push(expr.span),
            ExprKind::Name(name) => self.name(expr, name, Access::Read),
            ExprKind::Call(callee, args) => {
                if let Some(paren) = paren_after(&self.doc.text, callee.span.end) {
                    if paren < expr.span.end {
                        self.index.calls.push(CallSite {
                            call: expr,
                            callee,
                            args,
                            paren,
                        });
                    }
                }
                walk_expr(self, expr);
            }
            ExprKind::Field(value, field) => {
                // `m.f`, `m.amount`: a used file's item, named by its namespace.
                if let Some(Res::Param(id) | Res::Function(id)) =
                    self.doc.analysis.names.get(&expr.id)
                {
                    self.push(field.span, Symbol::Item(*id), Some(expr.id), Access::Read);
                    return;
                }
                self.visit_expr(value);
                if let Some(symbol) = member(self.doc, value, &field.name) {
                    self.push(field.span, symbol, Some(expr.id), Access::Read);
                }
            }
            ExprKind::Closure(closure) => {
                self.params(&closure.params, None, closure.body.span);
                self.visit_block(&closure.body);
            }
            _ => walk_expr(self, expr),
        }
    }
}

/// The `(` after a callee ending at `end` (whitespace and comments between).
fn paren_after(text: &str, end: usize) -> Option<usize> {
    let rest = text.get(end..)?;
    let mut at = 0;
    let bytes = rest.as_bytes();
    while at < bytes.len() {
        match bytes[at] {
            b' ' | b'\t' | b'\r' | b'\n' => at += 1,
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at = rest[at..].find('\n').map_or(bytes.len(), |nl| at + nl);
            }
            b'(' => return Some(end + at),
            _ => return None,
        }
    }
    None
}

/// The field or method `name` of the value `receiver`.
fn member(doc: &Doc, receiver: &Expr, name: &str) -> Option<Symbol> {
    let ty = doc.analysis.type_of(receiver.id);
    if let Some(field) = builtins::field(ty, name) {
        return Some(Symbol::Member(field.receiver, field.name));
    }
    builtins::method(ty, name).map(|method| Symbol::Member(method.receiver, method.name))
}

/// The first `fn` or `filter` item called `name` (as the checker picks it).
fn function_named(doc: &Doc, name: &str) -> Option<ItemId> {
    item_named(doc, name, |item| matches!(item.kind, ItemKind::Function(_)))
}

/// The first `param` item called `name` (as the checker picks it).
fn param_named(doc: &Doc, name: &str) -> Option<ItemId> {
    item_named(doc, name, |item| matches!(item.kind, ItemKind::Param(_)))
}

fn item_named(doc: &Doc, name: &str, kind: impl Fn(&Item) -> bool) -> Option<ItemId> {
    if name.is_empty() {
        return None;
    }
    doc.file()
        .items
        .iter()
        .position(|item| item.name.name == name && kind(item))
        .map(|idx| ItemId(idx as u32))
}

/// Where the identifier of a name expression is: its span minus any
/// parentheses around it (lowering gives `(x)` the span of the parentheses).
fn name_span(doc: &Doc, expr: &Expr, name: &str) -> Span {
    if doc.slice(expr.span) == name {
        return expr.span;
    }
    let root = doc.parsed.tree.root_node();
    let mut node = root.descendant_for_byte_range(expr.span.start, expr.span.end);
    while let Some(current) = node {
        if current.kind() == "identifier" {
            let span = Span::new(current.start_byte(), current.end_byte());
            if doc.slice(span) == name {
                return span;
            }
            break;
        }
        let mut cursor = current.walk();
        let inner = current
            .named_children(&mut cursor)
            .find(|child| !child.is_extra());
        node = inner;
    }
    expr.span
}
