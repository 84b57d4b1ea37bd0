//! Navigation: the name under the cursor, go to definition, find references,
//! document highlights, rename and hover.
//!
//! Everything is answered from one [`Index`] of the file: every name written
//! in it (declarations, uses, fields and methods, pipeline stages and their
//! overrides) with what it refers to, and every local binding with the part
//! of the text where it is visible. The index is rebuilt for each request: a
//! walk over the AST and the checker's tables, linear in the file.

use super::signature::{builtin_labels, item_label, method_label};
use super::{Doc, Edit, NameAt, Symbol};
use chunkvm::builtins::{self, FIELDS, METHODS};
use chunkvm::check::Res;
use chunkvm::syntax::ast::{
    Binding, BindingId, Block, Expr, ExprId, ExprKind, Item, ItemId, ItemKind, Param, StmtKind,
    TypeExpr,
};
use chunkvm::syntax::span::Span;
use std::collections::HashMap;

/// The words that are never names.
pub(crate) const KEYWORDS: &[&str] = &[
    "param", "filter", "fn", "pipeline", "let", "var", "if", "else", "while", "for", "in",
    "return", "break", "continue", "true", "false",
];

// ---------------------------------------------------------------- the index

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
fn inner_key(local: &Local) -> (usize, BindingId) {
    (local.scope.start, local.id)
}

struct Walker<'a> {
    doc: &'a Doc,
    index: Index<'a>,
    /// The spans of error expressions (text that did not parse).
    errors: Vec<Span>,
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
                self.expr(&param.default);
                if let Some((min, max)) = &param.range {
                    self.expr(min);
                    self.expr(max);
                }
            }
            ItemKind::Function(function) => {
                self.params(&function.params, Some(id), function.body.span);
                self.block(&function.body);
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
                        if let Some(param) = param_named(self.doc, &name.name) {
                            self.push(name.span, Symbol::Item(param), None, Access::Write);
                        }
                        self.expr(value);
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

    fn block(&mut self, block: &'a Block) {
        for stmt in &block.stmts {
            match &stmt.kind {
                StmtKind::Let {
                    binding,
                    mutable,
                    value,
                    ..
                } => {
                    self.expr(value);
                    let kind = if *mutable {
                        LocalKind::Var
                    } else {
                        LocalKind::Let
                    };
                    let scope = Span::new(stmt.span.end, block.span.end.max(stmt.span.end));
                    self.bind(binding, kind, scope, Some(value));
                }
                StmtKind::Assign { target, value, .. } => {
                    self.place(target);
                    self.expr(value);
                }
                StmtKind::Expr(expr) => self.expr(expr),
                StmtKind::Return(value) => {
                    if let Some(value) = value {
                        self.expr(value);
                    }
                }
                StmtKind::Break | StmtKind::Continue => {}
                StmtKind::While { cond, body } => {
                    self.expr(cond);
                    self.block(body);
                }
                StmtKind::For {
                    binding,
                    start,
                    end,
                    body,
                } => {
                    self.expr(start);
                    self.expr(end);
                    self.bind(binding, LocalKind::For, body.span, None);
                    self.block(body);
                }
            }
        }
        if let Some(value) = &block.value {
            self.expr(value);
        }
    }

    /// The target of an assignment: its base name is written.
    fn place(&mut self, target: &'a Expr) {
        match &target.kind {
            ExprKind::Name(name) => self.name(target, name, Access::Write),
            ExprKind::Index(base, index) => {
                self.place(base);
                self.expr(index);
            }
            _ => self.expr(target),
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

    fn expr(&mut self, expr: &'a Expr) {
        match &expr.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Str(_) => {}
            ExprKind::Error => self.errors.push(expr.span),
            ExprKind::Name(name) => self.name(expr, name, Access::Read),
            ExprKind::Binary(_, left, right) => {
                self.expr(left);
                self.expr(right);
            }
            ExprKind::Unary(_, operand) => self.expr(operand),
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
                self.expr(callee);
                for arg in args {
                    self.expr(arg);
                }
            }
            ExprKind::Field(value, field) => {
                self.expr(value);
                if let Some(symbol) = member(self.doc, value, &field.name) {
                    self.push(field.span, symbol, Some(expr.id), Access::Read);
                }
            }
            ExprKind::Index(value, index) => {
                self.expr(value);
                self.expr(index);
            }
            ExprKind::Array(elements) => {
                for element in elements {
                    self.expr(element);
                }
            }
            ExprKind::ArrayRepeat(value, count) => {
                self.expr(value);
                self.expr(count);
            }
            ExprKind::Closure(closure) => {
                self.params(&closure.params, None, closure.body.span);
                self.block(&closure.body);
            }
            ExprKind::If(cond, then, otherwise) => {
                self.expr(cond);
                self.block(then);
                if let Some(otherwise) = otherwise {
                    self.expr(otherwise);
                }
            }
            ExprKind::Block(block) => self.block(block),
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

// ---------------------------------------------------------------- features

/// The name at the cursor, or right before it.
pub fn name_at(doc: &Doc, offset: usize) -> Option<NameAt> {
    let index = Index::new(doc);
    lookup(&index, offset).map(|occ| NameAt {
        span: occ.span,
        symbol: occ.symbol,
        expr: occ.expr,
    })
}

/// Where the symbol at the cursor is declared: its name (`None` for builtins,
/// fields and methods).
pub fn definition(doc: &Doc, offset: usize) -> Option<Span> {
    let index = Index::new(doc);
    let occ = lookup(&index, offset)?;
    declaration(doc, &index, occ.symbol)
}

fn declaration(doc: &Doc, index: &Index, symbol: Symbol) -> Option<Span> {
    match symbol {
        Symbol::Local(id) => index.locals.get(&id).map(|local| local.name.span),
        Symbol::Item(id) => doc
            .file()
            .items
            .get(id.0 as usize)
            .filter(|item| !item.name.name.is_empty())
            .map(|item| item.name.span),
        Symbol::Builtin(_) | Symbol::Member(..) => None,
    }
}

/// Every use of the symbol at the cursor, sorted (its declaration too when asked).
pub fn references(doc: &Doc, offset: usize, include_declaration: bool) -> Vec<Span> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Vec::new();
    };
    index
        .of(occ.symbol)
        .into_iter()
        .filter(|occ| include_declaration || occ.access != Access::Decl)
        .map(|occ| occ.span)
        .collect()
}

/// Every occurrence of the symbol at the cursor, `true` for writes
/// (declarations, assignments, pipeline overrides of a `param`).
pub fn highlights(doc: &Doc, offset: usize) -> Vec<(Span, bool)> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Vec::new();
    };
    index
        .of(occ.symbol)
        .into_iter()
        .map(|occ| (occ.span, occ.access != Access::Read))
        .collect()
}

/// The identifier-like word touching `offset` (ASCII, so always on char boundaries).
fn word_at(text: &str, offset: usize) -> Option<Span> {
    let bytes = text.as_bytes();
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let offset = offset.min(bytes.len());
    let mut start = offset;
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    (start < end).then(|| Span::new(start, end))
}

/// Why there is nothing to rename at `offset`.
fn nothing_to_rename(doc: &Doc, offset: usize) -> String {
    let Some(word) = word_at(&doc.text, offset) else {
        return "there is no name here to rename".to_string();
    };
    let text = doc.slice(word);
    let node = doc
        .parsed
        .tree
        .root_node()
        .descendant_for_byte_range(word.start, word.end);
    let kind = node.map_or("", |node| node.kind());
    if matches!(
        kind,
        "comment" | "doc_comment" | "inner_doc_comment" | "string_literal"
    ) {
        return "there is no name here to rename".to_string();
    }
    if KEYWORDS.contains(&text) {
        return format!("`{text}` is a keyword and cannot be renamed");
    }
    if kind == "type_identifier" {
        return format!("`{text}` is a type and cannot be renamed");
    }
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return "there is no name here to rename".to_string();
    }
    format!("`{text}` is not defined here: there is nothing to rename")
}

/// The name to rename at the cursor, or why it cannot be renamed.
pub fn prepare_rename(doc: &Doc, offset: usize) -> Result<Span, String> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Err(nothing_to_rename(doc, offset));
    };
    refuse_symbol(occ.symbol)?;
    Ok(occ.span)
}

fn refuse_symbol(symbol: Symbol) -> Result<(), String> {
    match symbol {
        Symbol::Builtin(name) => Err(format!("`{name}` is a builtin and cannot be renamed")),
        Symbol::Member(receiver, name) => {
            let what = if FIELDS
                .iter()
                .any(|field| field.receiver == receiver && field.name == name)
            {
                "field"
            } else {
                "method"
            };
            Err(format!(
                "`{name}` is a {what} of `{receiver}` and cannot be renamed"
            ))
        }
        Symbol::Local(_) | Symbol::Item(_) => Ok(()),
    }
}

/// Whether `name` is an identifier (not checking keywords).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The edits renaming the symbol at the cursor to `new_name`, or why not.
pub fn rename(doc: &Doc, offset: usize, new_name: &str) -> Result<Vec<Edit>, String> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Err(nothing_to_rename(doc, offset));
    };
    let symbol = occ.symbol;
    refuse_symbol(symbol)?;
    if new_name.is_empty() {
        return Err("the new name is empty".to_string());
    }
    if !is_identifier(new_name) {
        return Err(format!(
            "`{new_name}` is not a valid name: a name is a letter or `_` followed by letters, digits and `_`"
        ));
    }
    if KEYWORDS.contains(&new_name) {
        return Err(format!("`{new_name}` is a keyword"));
    }
    if builtins::lookup(new_name).is_some() {
        return Err(format!("`{new_name}` is the name of a builtin function"));
    }
    let old_name = doc.slice(occ.span).to_string();
    if old_name == new_name {
        return Ok(Vec::new());
    }
    let occurrences = index.of(symbol);
    match symbol {
        Symbol::Local(id) => local_clash(doc, &index, id, &old_name, new_name, &occurrences)?,
        Symbol::Item(id) => item_clash(doc, &index, id, &old_name, new_name, &occurrences)?,
        Symbol::Builtin(_) | Symbol::Member(..) => {}
    }
    Ok(occurrences
        .into_iter()
        .map(|occ| Edit {
            span: occ.span,
            text: new_name.to_string(),
        })
        .collect())
}

fn line(doc: &Doc, offset: usize) -> usize {
    doc.lines.line_of(offset.min(doc.text.len())) + 1
}

/// Refuses to rename local `id` to `new` when a use would then resolve elsewhere.
fn local_clash(
    doc: &Doc,
    index: &Index,
    id: BindingId,
    old: &str,
    new: &str,
    occurrences: &[Occurrence],
) -> Result<(), String> {
    let Some(renamed) = index.locals.get(&id) else {
        return Ok(());
    };
    // A use of the renamed local where an inner `new` is visible would see that one.
    for occ in occurrences.iter().filter(|occ| occ.access != Access::Decl) {
        let inner = index.visible_at(occ.span.start).find(|other| {
            other.id != id && other.name.name == new && inner_key(other) > inner_key(renamed)
        });
        if let Some(other) = inner {
            return Err(format!(
                "`{new}` (line {}) is in scope at the use of `{old}` on line {}: the renamed variable would be shadowed there",
                line(doc, other.name.span.start),
                line(doc, occ.span.start)
            ));
        }
    }
    // A use of another `new` inside the scope of the renamed local would see it.
    for occ in &index.occurrences {
        if occ.access == Access::Decl
            || occ.expr.is_none()
            || occ.symbol == Symbol::Local(id)
            || doc.slice(occ.span) != new
        {
            continue;
        }
        let start = occ.span.start;
        if !(renamed.scope.start <= start && start < renamed.scope.end) {
            continue;
        }
        let captured = match occ.symbol {
            Symbol::Local(other) => index
                .locals
                .get(&other)
                .is_none_or(|other| inner_key(renamed) > inner_key(other)),
            Symbol::Item(_) | Symbol::Builtin(_) => true,
            Symbol::Member(..) => false,
        };
        if captured {
            return Err(format!(
                "`{new}` is used on line {}, inside the scope of `{old}`: it would refer to the renamed variable",
                line(doc, start)
            ));
        }
    }
    Ok(())
}

/// Refuses to rename item `id` to `new` when another item has that name or a
/// local `new` is visible at one of its uses.
fn item_clash(
    doc: &Doc,
    index: &Index,
    id: ItemId,
    old: &str,
    new: &str,
    occurrences: &[Occurrence],
) -> Result<(), String> {
    if let Some((_, other)) = doc
        .file()
        .items
        .iter()
        .enumerate()
        .find(|(idx, item)| *idx != id.0 as usize && item.name.name == new)
    {
        return Err(format!(
            "an item named `{new}` already exists (line {})",
            line(doc, other.name.span.start)
        ));
    }
    for occ in occurrences.iter().filter(|occ| occ.expr.is_some()) {
        if let Some(local) = index.resolve_local(new, occ.span.start) {
            return Err(format!(
                "the local `{new}` (line {}) is in scope at the use of `{old}` on line {}: it would hide the renamed item",
                line(doc, local.name.span.start),
                line(doc, occ.span.start)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- hover

/// What hovering a name shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hover {
    /// The name hovered.
    pub span: Span,
    /// Markdown: a `chop` code block with the declaration, then the docs.
    pub markdown: String,
}

/// The declaration and docs of the name at the cursor.
pub fn hover(doc: &Doc, offset: usize) -> Option<Hover> {
    let index = Index::new(doc);
    let occ = lookup(&index, offset)?;
    let markdown = match occ.symbol {
        Symbol::Local(id) => hover_local(doc, &index, id)?,
        Symbol::Item(id) => hover_item(doc, id)?,
        Symbol::Builtin(name) => {
            let builtin = builtins::lookup(name)?;
            let labels: Vec<String> = builtin_labels(builtin)
                .into_iter()
                .map(|label| label.text)
                .collect();
            with_doc(&labels.join("\n"), Some(builtin.doc))
        }
        Symbol::Member(receiver, name) => {
            if let Some(field) = FIELDS
                .iter()
                .find(|field| field.receiver == receiver && field.name == name)
            {
                let code = format!("{receiver}.{name}: {}", field.ty.to_type());
                with_doc(&code, Some(field.doc))
            } else {
                let method = METHODS
                    .iter()
                    .find(|method| method.receiver == receiver && method.name == name)?;
                with_doc(&method_label(method).text, Some(method.doc))
            }
        }
    };
    Some(Hover {
        span: occ.span,
        markdown,
    })
}

/// A `chop` code block, then the doc when there is one.
fn with_doc(code: &str, doc: Option<&str>) -> String {
    let mut markdown = format!("```chop\n{code}\n```");
    if let Some(doc) = doc.filter(|doc| !doc.trim().is_empty()) {
        markdown.push_str("\n\n");
        markdown.push_str(doc);
    }
    markdown
}

fn hover_local(doc: &Doc, index: &Index, id: BindingId) -> Option<String> {
    let local = index.locals.get(&id)?;
    let ty = doc
        .analysis
        .binding_types
        .get(id.0 as usize)
        .map_or_else(|| "{unknown}".to_string(), ToString::to_string);
    let name = &local.name.name;
    let (code, note) = match local.kind {
        LocalKind::Let => (format!("let {name}: {ty}"), None),
        LocalKind::Var => (format!("var {name}: {ty}"), None),
        LocalKind::For => (format!("{name}: {ty}"), Some("loop variable".to_string())),
        LocalKind::Param(Some(item)) => {
            let owner = doc.file().items.get(item.0 as usize)?;
            let word = match &owner.kind {
                ItemKind::Function(function) if function.is_filter => "filter",
                _ => "function",
            };
            (
                format!("{name}: {ty}"),
                Some(format!("parameter of the {word} `{}`", owner.name.name)),
            )
        }
        LocalKind::Param(None) => (
            format!("{name}: {ty}"),
            Some("parameter of a closure".to_string()),
        ),
    };
    let mut notes: Vec<String> = note.into_iter().collect();
    if doc.analysis.captured.contains(&id) {
        notes.push("captured by a closure".to_string());
    }
    let note = (!notes.is_empty()).then(|| {
        let mut joined = notes.join(", ");
        if let Some(first) = joined.get(..1) {
            let upper = first.to_ascii_uppercase();
            joined.replace_range(..1, &upper);
        }
        format!("{joined}.")
    });
    Some(with_doc(&code, note.as_deref()))
}

fn hover_item(doc: &Doc, id: ItemId) -> Option<String> {
    let item = doc.file().items.get(id.0 as usize)?;
    let code = item_code(doc, id, item)?;
    Some(with_doc(&code, item.doc.as_deref()))
}

/// An item's declaration, without its body.
pub(crate) fn item_code(doc: &Doc, id: ItemId, item: &Item) -> Option<String> {
    let name = &item.name.name;
    Some(match &item.kind {
        ItemKind::Param(param) => {
            let mut code = format!(
                "param {name}: {} = {}",
                type_text(doc, &param.ty),
                expr_text(doc, &param.default)
            );
            if let Some((min, max)) = &param.range {
                code.push_str(&format!(
                    " in {}..{}",
                    expr_text(doc, min),
                    expr_text(doc, max)
                ));
            }
            code
        }
        ItemKind::Function(_) => item_label(doc, id)?.text,
        ItemKind::Pipeline(pipeline) => {
            format!("pipeline {name} = {}", stages_text(doc, pipeline))
        }
    })
}

/// The stages of a pipeline, normalised: `a |> b(p: 1.0)`.
pub(crate) fn stages_text(doc: &Doc, pipeline: &chunkvm::syntax::ast::PipelineItem) -> String {
    let stages: Vec<String> = pipeline
        .stages
        .iter()
        .map(|stage| {
            if stage.args.is_empty() {
                return stage.name.name.clone();
            }
            let args: Vec<String> = stage
                .args
                .iter()
                .map(|(name, value)| format!("{}: {}", name.name, expr_text(doc, value)))
                .collect();
            format!("{}({})", stage.name.name, args.join(", "))
        })
        .collect();
    stages.join(" |> ")
}

/// The text of an expression with its whitespace runs collapsed.
pub(crate) fn expr_text(doc: &Doc, expr: &Expr) -> String {
    let text = doc
        .slice(expr.span)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        "?".to_string()
    } else {
        text
    }
}

/// A type as written (unknown names kept), `{unknown}` where it did not parse.
pub(crate) fn type_text(doc: &Doc, ty: &TypeExpr) -> String {
    match ty {
        TypeExpr::Named(ident) if !ident.name.is_empty() => ident.name.clone(),
        TypeExpr::Named(_) => "{unknown}".to_string(),
        TypeExpr::Array(elem, len, _) => match len {
            Some(len) => format!("[{}; {len}]", type_text(doc, elem)),
            None => format!("[{}; ?]", type_text(doc, elem)),
        },
        TypeExpr::Fn(params, ret, _) => {
            let params: Vec<String> = params.iter().map(|param| type_text(doc, param)).collect();
            match ret {
                Some(ret) => format!("fn({}) -> {}", params.join(", "), type_text(doc, ret)),
                None => format!("fn({})", params.join(", ")),
            }
        }
        TypeExpr::Error(span) => {
            let text = doc
                .slice(*span)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if text.is_empty() {
                "{unknown}".to_string()
            } else {
                text
            }
        }
    }
}

// ---------------------------------------------------------------- tests

/// A test fixture: the text with its markers removed.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Fixture {
    /// The text without markers.
    pub text: String,
    /// Where `$0` was.
    pub cursor: Option<usize>,
    /// The `«…»` ranges.
    pub ranges: Vec<Span>,
    /// The `‹…›` ranges.
    pub writes: Vec<Span>,
}

/// Parses a fixture: `$0` marks the cursor, `«…»` and `‹…›` mark ranges.
#[cfg(test)]
pub(crate) fn fixture(marked: &str) -> Fixture {
    let mut text = String::new();
    let mut cursor = None;
    let mut ranges = Vec::new();
    let mut writes = Vec::new();
    let mut open = Vec::new();
    let mut open_write = Vec::new();
    let mut rest = marked;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("$0") {
            cursor = Some(text.len());
            rest = &rest[2..];
            continue;
        }
        match c {
            '«' => open.push(text.len()),
            '»' => ranges.push(Span::new(open.pop().unwrap(), text.len())),
            '‹' => open_write.push(text.len()),
            '›' => writes.push(Span::new(open_write.pop().unwrap(), text.len())),
            c => text.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    ranges.sort();
    writes.sort();
    Fixture {
        text,
        cursor,
        ranges,
        writes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_and_cursor(marked: &str) -> (Doc, usize, Fixture) {
        let fx = fixture(marked);
        let doc = Doc::new(&fx.text);
        let cursor = fx.cursor.expect("no $0 in fixture");
        (doc, cursor, fx)
    }

    /// `«…»` marks the expected definition (none: no definition).
    fn check_definition(marked: &str) {
        let (doc, cursor, fx) = doc_and_cursor(marked);
        assert_eq!(
            definition(&doc, cursor),
            fx.ranges.first().copied(),
            "{}",
            fx.text
        );
    }

    /// `«…»` mark every expected reference, declaration included.
    fn check_references(marked: &str) {
        let (doc, cursor, fx) = doc_and_cursor(marked);
        let all = references(&doc, cursor, true);
        assert_eq!(all, fx.ranges, "{}", fx.text);
        let decl = definition(&doc, cursor);
        let without: Vec<Span> = fx
            .ranges
            .iter()
            .copied()
            .filter(|span| Some(*span) != decl)
            .collect();
        assert_eq!(references(&doc, cursor, false), without);
    }

    /// `«…»` mark reads, `‹…›` writes.
    fn check_highlights(marked: &str) {
        let (doc, cursor, fx) = doc_and_cursor(marked);
        let mut expected: Vec<(Span, bool)> = fx
            .ranges
            .iter()
            .map(|span| (*span, false))
            .chain(fx.writes.iter().map(|span| (*span, true)))
            .collect();
        expected.sort();
        assert_eq!(highlights(&doc, cursor), expected, "{}", fx.text);
    }

    /// The text after renaming, or the error.
    fn rename_result(marked: &str, new_name: &str) -> String {
        let (doc, cursor, _) = doc_and_cursor(marked);
        match rename(&doc, cursor, new_name) {
            Ok(edits) => {
                let mut text = doc.text.to_string();
                let mut edits = edits;
                edits.sort_by_key(|edit| std::cmp::Reverse(edit.span.start));
                for edit in edits {
                    text.replace_range(edit.span.start..edit.span.end, &edit.text);
                }
                text
            }
            Err(message) => format!("error: {message}"),
        }
    }

    fn check_prepare(marked: &str) -> String {
        let (doc, cursor, _) = doc_and_cursor(marked);
        match prepare_rename(&doc, cursor) {
            Ok(span) => format!("ok: {}", doc.slice(span)),
            Err(message) => format!("error: {message}"),
        }
    }

    fn check_hover(marked: &str) -> String {
        let (doc, cursor, _) = doc_and_cursor(marked);
        match hover(&doc, cursor) {
            Some(hover) => format!("[{}]\n{}", doc.slice(hover.span), hover.markdown),
            None => "(none)".to_string(),
        }
    }

    // ------------------------------------------------------------ name_at

    #[test]
    fn name_at_kinds() {
        let show = |marked: &str| {
            let (doc, cursor, _) = doc_and_cursor(marked);
            match name_at(&doc, cursor) {
                Some(name) => format!(
                    "{} {:?} expr={}",
                    doc.slice(name.span),
                    name.symbol,
                    name.expr.is_some()
                ),
                None => "(none)".to_string(),
            }
        };
        insta::assert_snapshot!(show("fn f(a: int) -> int { a$0 + 1 }"), @"a Local(BindingId(0)) expr=true");
        insta::assert_snapshot!(show("fn f(a: int) -> int { $0a + 1 }"), @"a Local(BindingId(0)) expr=true");
        insta::assert_snapshot!(show("fn f(a$0: int) -> int { a }"), @"a Local(BindingId(0)) expr=false");
        insta::assert_snapshot!(show("fn f$0() {}"), @"f Item(ItemId(0)) expr=false");
        insta::assert_snapshot!(show("fn f() { let c = rgb(1.0, 0.0, 0.0); print(c.r$0); }"), @r#"r Member("color", "r") expr=true"#);
        insta::assert_snapshot!(show("filter k(src: image, x: int, y: int) -> color { src.a$0t(x, y) }"), @r#"at Member("image", "at") expr=true"#);
        insta::assert_snapshot!(show("fn f() { print(mi$0x(1.0, 2.0, 0.5)); }"), @r#"mix Builtin("mix") expr=true"#);
        insta::assert_snapshot!(show("fn f(a: in$0t) {}"), @"(none)");
        insta::assert_snapshot!(show("fn f() { // a$0 comment\n}"), @"(none)");
        insta::assert_snapshot!(show("fn f() { 1 +$0 2; }"), @"(none)");
        insta::assert_snapshot!(show("param s: float = 0.5;\nfilter g(c: color) -> color { c * s }\npipeline p = g$0(s: 1.0);"), @"g Item(ItemId(1)) expr=false");
        insta::assert_snapshot!(show("param s: float = 0.5;\nfilter g(c: color) -> color { c * s }\npipeline p = g(s$0: 1.0);"), @"s Item(ItemId(0)) expr=false");
        insta::assert_snapshot!(show("fn f() { let x = (((y$0))); }\nfn y() {}"), @"y Item(ItemId(1)) expr=true");
        insta::assert_snapshot!(show("fn f() -> int { let y = 1; let x = ( ( y$0 ) ); x }"), @"y Local(BindingId(0)) expr=true");
    }

    #[test]
    fn name_at_never_panics() {
        let text = "fn f(é: int) { let s = \"héllo 🎉\"; // 🎉 x\n print(s); }\nfn";
        let doc = Doc::new(text);
        for offset in 0..text.len() + 4 {
            let _ = name_at(&doc, offset);
            let _ = definition(&doc, offset);
            let _ = references(&doc, offset, true);
            let _ = highlights(&doc, offset);
            let _ = prepare_rename(&doc, offset);
            let _ = rename(&doc, offset, "zz");
            let _ = hover(&doc, offset);
        }
    }

    // ------------------------------------------------------------ definition

    #[test]
    fn definition_of_locals() {
        check_definition("fn f(«a»: int) -> int { a$0 + 1 }");
        check_definition("fn f() -> int { let «x» = 1; x$0 }");
        check_definition("fn f() -> int { let «x»: int = 1; x$0 }");
        check_definition("fn f() { var «x» = 1; x$0 = 2; print(x); }");
        check_definition("fn f() { for «i» in 0..3 { print(i$0); } }");
        check_definition("fn f() -> int { let x = 1; let «x» = x + 1; x$0 }");
        check_definition("fn f() -> int { let «x» = 1; let x = x$0 + 1; x }");
        check_definition("fn f() -> int { let x = 1; { let «x» = 2; x$0 } }");
        check_definition("fn f() -> int { let «x» = 1; { let x = 2; print(x); } x$0 }");
    }

    #[test]
    fn definition_of_declaration_is_itself() {
        check_definition("fn f() -> int { let «x$0» = 1; x }");
        check_definition("fn «f$0»() {}");
    }

    #[test]
    fn definition_in_closures() {
        check_definition("fn f() -> float { let «gain» = 2.0; let g = fn(v: float) -> float { v * gain$0 }; g(1.0) }");
        check_definition(
            "fn f() -> float { let g = fn(«v»: float) -> float { v$0 * 2.0 }; g(1.0) }",
        );
        check_definition("fn f() -> float { let «g» = fn(v: float) -> float { v }; g$0(1.0) }");
        check_definition(
            "fn f() -> float { var «n» = 0.0; let inc = fn() { n$0 += 1.0; }; inc(); n }",
        );
    }

    #[test]
    fn definition_of_items() {
        check_definition("fn «fact»(n: int) -> int { if n <= 1 { return 1; } n * fact$0(n - 1) }");
        check_definition(
            "param «strength»: float = 0.5;\nfilter g(c: color) -> color { c * strength$0 }",
        );
        check_definition("fn main() { helper$0(); }\nfn «helper»() {}");
        check_definition("filter «g»(c: color) -> color { c }\npipeline p = g$0 |> g;");
        check_definition(
            "param «s»: float = 0.5;\nfilter g(c: color) -> color { c * s }\npipeline p = g(s$0: 1.0);",
        );
        check_definition("param a: float = 1.0;\nparam «b»: float = 0.5;\nfilter g(c: color) -> color { c * a * b }\npipeline p = g(a: 0.5, b$0: 0.2) |> g;");
    }

    #[test]
    fn definition_of_builtins_and_members_is_none() {
        check_definition("fn f() { print$0(1); }");
        check_definition("fn f(c: color) -> float { c.r$0 }");
        check_definition("fn f(«c»: color) -> float { c$0 }");
        check_definition("fn f() {}$0");
        check_definition("$0");
        check_definition("fn f() { let x = unknown$0; }");
    }

    #[test]
    fn definition_with_unicode_and_broken_code() {
        check_definition("//! Café ☕ filters\nfn f() -> int { let «e» = 1; e$0 }");
        check_definition("// 🎉🎉\nfn f() { let s = \"🎉 ünïcode\"; let «x» = 1; print(s, x$0); }");
        check_definition("fn f() {\n    let «x» = 1;\n    print(x$0, \n}\n");
        check_definition("fn f() {\n    let «x» = 1;\n    x$0 +\n}\n");
        check_definition("fn f() { let «x» = 1; x$0");
    }

    // ------------------------------------------------------------ references

    #[test]
    fn references_of_locals() {
        check_references("fn f() -> int { let «x» = 1; let y = «x» + «x$0»; y }");
        check_references("fn f() -> int { let x = 1; { let «x» = 2; «x$0» } }");
        check_references("fn f() -> int { let «x» = 1; { let x = 2; print(x); } «x$0» }");
        check_references("fn f() { var «a» = [1, 2]; «a»[0] = 3; «a$0»[1] += «a»[0]; }");
        check_references(
            "fn f() -> float { let «gain» = 2.0; let g = fn(v: float) -> float { v * «gain» }; g(«gain$0») }",
        );
        check_references("fn f(«n$0»: int) -> int { «n» * «n» }\nfn g(n: int) -> int { n }");
    }

    #[test]
    fn references_of_items() {
        check_references(
            "filter «g$0»(c: color) -> color { c }\nfn main() { let x = «g»(rgb(1.0, 1.0, 1.0)); print(x); }\npipeline p = «g» |> «g»;",
        );
        check_references(
            "param «s»: float = 0.5;\nfilter g(c: color) -> color { c * «s$0» }\npipeline p = g(«s»: 1.0) |> g(«s»: 0.2);",
        );
        check_references("fn «f»() { «f$0»(); }");
    }

    #[test]
    fn references_of_builtins_and_members() {
        check_references(
            "fn f(c: color) -> float { «mix»(1.0, 2.0, c.r) + «mix$0»(0.0, 1.0, 0.5) }",
        );
        check_references("fn f(c: color, d: color) -> float { c.«r» + d.«r$0» + c.g }");
        check_references(
            "filter k(src: image, x: int, y: int) -> color { src.«at»(x, y) + src.«at$0»(0, 0) }",
        );
    }

    #[test]
    fn references_in_code_that_does_not_parse() {
        check_references("fn f() {\n    let «x» = 1;\n    print(«x», «x$0» +\n}\n");
        check_references("fn «g»() {}\nfn f() {\n    «g$0»(1, \n}\n");
        check_references("fn f() { let «x» = 1; «x$0»");
        check_references("fn f( { let «x» = 1; «x$0» }");
    }

    #[test]
    fn references_through_closures_and_shadowing() {
        check_references(
            "fn f() -> float {\n    var «n» = 0.0;\n    let inc = fn() { «n» += 1.0; };\n    inc();\n    let n = «n$0» * 2.0;\n    n\n}",
        );
        check_references(
            "fn f() -> float {\n    let v = 1.0;\n    let g = fn(«v»: float) -> float { «v$0» * 2.0 };\n    g(v)\n}",
        );
        check_references(
            "fn f() -> int { let x = 1; for «x» in 0..«x» { print(«x$0»); } x }"
                .replace("0..«x»", "0..x")
                .as_str(),
        );
    }

    #[test]
    fn references_nothing() {
        check_references("fn f() { 1 + 2$0; }");
        check_references("fn f() { let s = \"ab$0c\"; print(s); }");
    }

    // ------------------------------------------------------------ highlights

    #[test]
    fn highlights_reads_and_writes() {
        check_highlights("fn f() { var ‹x› = 1; ‹x› = «x» + 1; ‹x› += 2; print(«x$0»); }");
        check_highlights("fn f() { var ‹a› = [1, 2]; ‹a›[«a»[0]] = 3; print(«a$0»); }");
        check_highlights("fn f() { for ‹i› in 0..3 { print(«i$0»); } }");
        check_highlights(
            "param ‹s›: float = 0.5;\nfilter g(c: color) -> color { c * «s$0» }\npipeline p = g(‹s›: 1.0);",
        );
        check_highlights("fn f() { 1 $0+ 2; }");
        check_highlights(
            "fn f() -> float { var ‹n› = 0.0; let inc = fn() { ‹n› += 1.0; }; inc(); «n$0» }",
        );
        check_highlights("fn ‹f›() {}\nfn g() { «f$0»(); }");
    }

    // ------------------------------------------------------------ rename

    #[test]
    fn rename_locals() {
        insta::assert_snapshot!(rename_result("fn f() -> int { let x = 1; let y = x$0 + x; y }", "z"), @"fn f() -> int { let z = 1; let y = z + z; y }");
        insta::assert_snapshot!(rename_result("fn f() -> int { let x = 1; { let x = 2; x$0 } }", "inner"), @"fn f() -> int { let x = 1; { let inner = 2; inner } }");
        insta::assert_snapshot!(rename_result("fn f() -> float { let gain = 2.0; let g = fn(v: float) -> float { v * gain$0 }; g(gain) }", "k"), @"fn f() -> float { let k = 2.0; let g = fn(v: float) -> float { v * k }; g(k) }");
        insta::assert_snapshot!(rename_result("fn f() { let s = \"é🎉\"; let x$0 = 1; print(s, x); }", "ü"), @"error: `ü` is not a valid name: a name is a letter or `_` followed by letters, digits and `_`");
        insta::assert_snapshot!(rename_result("fn f() { let s = \"é🎉\"; let x$0 = 1; print(s, x); }", "yy"), @r#"fn f() { let s = "é🎉"; let yy = 1; print(s, yy); }"#);
        insta::assert_snapshot!(rename_result("fn f() -> int { let x = 1; x$0 }", "x"), @"fn f() -> int { let x = 1; x }");
        insta::assert_snapshot!(rename_result("fn f() {\n    let x = 1;\n    print(x, x$0 +\n}\n", "y"), @"
        fn f() {
            let y = 1;
            print(y, y +
        }
        ");
        insta::assert_snapshot!(rename_result("fn f() -> float {\n    var n = 0.0;\n    let inc = fn() { n$0 += 1.0; };\n    inc();\n    n\n}", "count"), @"
        fn f() -> float {
            var count = 0.0;
            let inc = fn() { count += 1.0; };
            inc();
            count
        }
        ");
        insta::assert_snapshot!(rename_result("fn f() -> int { let x = 1; for i in 0..x { print(i$0); } x }", "j"), @"fn f() -> int { let x = 1; for j in 0..x { print(j); } x }");
    }

    #[test]
    fn rename_items() {
        insta::assert_snapshot!(rename_result("param s: float = 0.5;\nfilter g(c: color) -> color { c * s$0 }\npipeline p = g(s: 1.0);", "amount"), @r"
        param amount: float = 0.5;
        filter g(c: color) -> color { c * amount }
        pipeline p = g(amount: 1.0);
        ");
        insta::assert_snapshot!(rename_result("filter g$0(c: color) -> color { c }\npipeline p = g |> g;", "h"), @r"
        filter h(c: color) -> color { c }
        pipeline p = h |> h;
        ");
    }

    #[test]
    fn rename_refusals() {
        insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; x }", "while"), @"error: `while` is a keyword");
        insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; x }", "2x"), @"error: `2x` is not a valid name: a name is a letter or `_` followed by letters, digits and `_`");
        insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; x }", ""), @"error: the new name is empty");
        insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; x }", "mix"), @"error: `mix` is the name of a builtin function");
        insta::assert_snapshot!(rename_result("fn f() -> float { mix$0(1.0, 2.0, 0.5) }", "blend"), @"error: `mix` is a builtin and cannot be renamed");
        insta::assert_snapshot!(rename_result("fn f() {}\nfn g$0() {}", "f"), @"error: an item named `f` already exists (line 1)");
        insta::assert_snapshot!(rename_result("fn f() {}\nfn g() { let f = 1; print(f); }\nfn h() { let x = 1; g$0(); print(x); }", "x"), @"error: the local `x` (line 3) is in scope at the use of `g` on line 3: it would hide the renamed item");
        // an inner `y` would capture the use of the renamed `x`
        insta::assert_snapshot!(rename_result("fn f() -> int { let x$0 = 1; let y = 2; x + y }", "y"), @"error: `y` (line 1) is in scope at the use of `x` on line 1: the renamed variable would be shadowed there");
        // the renamed `x` would capture a use of the outer `y`
        insta::assert_snapshot!(rename_result("fn f() -> int { let y = 2;\n let x$0 = 1;\n x + y }", "y"), @"error: `y` is used on line 3, inside the scope of `x`: it would refer to the renamed variable");
        insta::assert_snapshot!(rename_result("fn f() -> int { let a = 2; { let x$0 = 1; x + a } }", "a"), @"error: `a` is used on line 1, inside the scope of `x`: it would refer to the renamed variable");
        insta::assert_snapshot!(rename_result("fn g() {}\nfn f() { let x$0 = 1; g(); print(x); }", "g"), @"error: `g` is used on line 2, inside the scope of `x`: it would refer to the renamed variable");
        // shadowing the other way round is fine
        insta::assert_snapshot!(rename_result("fn f() -> int { let y = 2; { let x$0 = 1; x } }", "y"), @"fn f() -> int { let y = 2; { let y = 1; y } }");
        insta::assert_snapshot!(rename_result("fn g() {}\nfn f() { let x$0 = 1; print(x); }", "g"), @r"
        fn g() {}
        fn f() { let g = 1; print(g); }
        ");
    }

    #[test]
    fn prepare_rename_messages() {
        insta::assert_snapshot!(check_prepare("fn f() -> int { let x = 1; x$0 }"), @"ok: x");
        insta::assert_snapshot!(check_prepare("fn f() -> float { mix$0(1.0, 2.0, 0.5) }"), @"error: `mix` is a builtin and cannot be renamed");
        insta::assert_snapshot!(check_prepare("fn f(c: color) -> float { c.r$0 }"), @"error: `r` is a field of `color` and cannot be renamed");
        insta::assert_snapshot!(check_prepare("filter k(src: image, x: int, y: int) -> color { src.at$0(x, y) }"), @"error: `at` is a method of `image` and cannot be renamed");
        insta::assert_snapshot!(check_prepare("fn f() { whi$0le true { break; } }"), @"error: `while` is a keyword and cannot be renamed");
        insta::assert_snapshot!(check_prepare("fn f(x: flo$0at) {}"), @"error: `float` is a type and cannot be renamed");
        insta::assert_snapshot!(check_prepare("fn f() { print(nope$0); }"), @"error: `nope` is not defined here: there is nothing to rename");
        insta::assert_snapshot!(check_prepare("fn f() { 1 + $0 2; }"), @"error: there is no name here to rename");
        insta::assert_snapshot!(check_prepare("fn f() { // wo$0rd\n}"), @"error: there is no name here to rename");
        insta::assert_snapshot!(check_prepare("fn f() {}$0"), @"error: there is no name here to rename");
    }

    // ------------------------------------------------------------ hover

    #[test]
    fn hover_locals() {
        insta::assert_snapshot!(check_hover("fn f() -> float { let x = 1.0; x$0 }"), @r"
        [x]
        ```chop
        let x: float
        ```
        ");
        insta::assert_snapshot!(check_hover("fn f() { var n$0 = [0.0; 3]; n[0] = 1.0; print(n); }"), @r"
        [n]
        ```chop
        var n: [float; 3]
        ```
        ");
        insta::assert_snapshot!(check_hover("fn fact(n: int) -> int { n$0 }"), @r"
        [n]
        ```chop
        n: int
        ```

        Parameter of the function `fact`.
        ");
        insta::assert_snapshot!(check_hover("fn f() -> float { let gain = 2.0; let g = fn(v: float) -> float { v * gain$0 }; g(1.0) }"), @r"
        [gain]
        ```chop
        let gain: float
        ```

        Captured by a closure.
        ");
        insta::assert_snapshot!(check_hover("fn f() -> float { let g = fn(v: float) -> float { v }; g$0(1.0) }"), @r"
        [g]
        ```chop
        let g: fn(float) -> float
        ```
        ");
        insta::assert_snapshot!(check_hover("fn f() { for i in 0..2 { print(i$0); } }"), @r"
        [i]
        ```chop
        i: int
        ```

        Loop variable.
        ");
    }

    #[test]
    fn hover_items() {
        insta::assert_snapshot!(check_hover("/// How dark the corners get.\nparam strength: float = 0.5 in 0.0..1.0;\nfilter g(c: color) -> color { c * strength$0 }"), @r"
        [strength]
        ```chop
        param strength: float = 0.5 in 0.0..1.0
        ```

        How dark the corners get.
        ");
        insta::assert_snapshot!(check_hover("/// Factorial.\n/// Of `n`.\nfn fact(n: int) -> int { if n <= 1 { return 1; } n * fact$0(n - 1) }"), @r"
        [fact]
        ```chop
        fn fact(n: int) -> int
        ```

        Factorial.
        Of `n`.
        ");
        insta::assert_snapshot!(check_hover("filter g$0(c: color) -> color { c }"), @r"
        [g]
        ```chop
        filter g(c: color) -> color
        ```
        ");
        insta::assert_snapshot!(check_hover("filter g(c: color) -> color { c }\npipeline p$0 = g |> g(   );"), @r"
        [p]
        ```chop
        pipeline p = g |> g
        ```
        ");
        insta::assert_snapshot!(check_hover("param s: color = rgb(1.0,\n   0.5, 0.0);\nfilter g(c: color) -> color { c * s }\npipeline p = g(s$0: gray(0.5));"), @r"
        [s]
        ```chop
        param s: color = rgb(1.0, 0.5, 0.0)
        ```
        ");
    }

    #[test]
    fn hover_builtins_and_members() {
        insta::assert_snapshot!(check_hover("fn f() -> float { mix$0(1.0, 2.0, 0.5) }"), @r"
        [mix]
        ```chop
        fn mix(a: color, b: color, t: float) -> color
        fn mix(a: float, b: float, t: float) -> float
        ```

        Linear interpolation: `a * (1 - t) + b * t`, per channel for colours.
        ");
        insta::assert_snapshot!(check_hover("fn f(c: color) -> float { c.g$0 }"), @r"
        [g]
        ```chop
        color.g: float
        ```

        The green channel.
        ");
        insta::assert_snapshot!(check_hover("filter k(src: image, x: int, y: int) -> color { src.$0at(x, y) }"), @r"
        [at]
        ```chop
        fn image.at(x: int, y: int) -> color
        ```

        The colour of pixel `(x, y)`; coordinates outside the image are clamped to its edge.
        ");
        insta::assert_snapshot!(check_hover("fn f() { print$0(1); }"), @r"
        [print]
        ```chop
        fn print(values...)
        ```

        Prints its arguments on one line, separated by spaces. Floats always show a decimal point; colours print as `rgba(r, g, b, a)`.
        ");
    }

    #[test]
    fn hover_nothing() {
        insta::assert_snapshot!(check_hover("fn f() -> int { 1 +$0 2 }"), @"(none)");
        insta::assert_snapshot!(check_hover("fn f() -> int { 1$0 }"), @"(none)");
        insta::assert_snapshot!(check_hover("fn f(x: int$0) {}"), @"(none)");
        insta::assert_snapshot!(check_hover("// 🎉 mix$0\nfn f() {}"), @"(none)");
        insta::assert_snapshot!(check_hover("fn f() {}\n$0"), @"(none)");
    }
}
