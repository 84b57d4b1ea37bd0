//! The locals visible at an offset.

use crate::walk::{walk_expr, walk_stmt, Visit};
use crate::Doc;
use chunkvm::syntax::ast::{
    Binding, BindingId, Block, Expr, ExprKind, ItemKind, Param, Stmt, StmtKind, TypeExpr,
};
use chunkvm::syntax::span::Span;
use chunkvm::types::Type;

/// A local in scope.
#[derive(Clone, Debug)]
pub(crate) struct Local {
    /// Its binding.
    pub id: BindingId,
    /// Its name.
    pub name: String,
    /// Where its name is declared.
    pub decl: Span,
    /// Its type as written, when it is a builtin type.
    pub written_type: Option<Type>,
}

/// The locals at an offset, outermost first (later ones shadow earlier ones).
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    /// The locals, in the order they were declared.
    pub locals: Vec<Local>,
    /// Whether the offset is inside a loop body (of the innermost function or closure).
    pub in_loop: bool,
    /// Whether the offset is inside an item.
    pub in_item: bool,
    /// Whether the offset is inside a function body.
    pub in_body: bool,
}

/// Whether `offset` is between the braces of `block` (or after its `{`
/// when the `}` is missing).
pub(crate) fn inside_block(doc: &Doc, block: &Block, offset: usize) -> bool {
    let span = block.span;
    if span.is_empty()
        || !doc
            .slice(Span::new(span.start, span.start + 1))
            .starts_with('{')
    {
        return false;
    }
    let closed = span.end > span.start + 1 && doc.slice(Span::new(span.end - 1, span.end)) == "}";
    span.start < offset && (offset < span.end || !closed && offset == span.end)
}

/// The locals visible at `offset`.
pub(crate) fn at(doc: &Doc, offset: usize) -> Scope {
    let mut scope = Scope::default();
    for item in &doc.file().items {
        if !item.span.contains(offset) {
            continue;
        }
        scope.in_item = true;
        if let ItemKind::Function(function) = &item.kind {
            if inside_block(doc, &function.body, offset) {
                scope.in_body = true;
                params(&mut scope, &function.params);
                let mut walker = Walker {
                    doc,
                    offset,
                    scope,
                    in_loop: false,
                };
                walker.visit_block(&function.body);
                return walker.scope;
            }
        }
        return scope;
    }
    scope
}

fn params(scope: &mut Scope, params: &[Param]) {
    for param in params {
        push(scope, &param.binding, Some(&param.ty));
    }
}

fn push(scope: &mut Scope, binding: &Binding, ty: Option<&TypeExpr>) {
    if binding.name.name.is_empty() {
        return;
    }
    let written_type = match ty {
        Some(TypeExpr::Named(ident)) => Type::from_name(&ident.name),
        _ => None,
    };
    scope.locals.push(Local {
        id: binding.id,
        name: binding.name.name.clone(),
        decl: binding.name.span,
        written_type,
    });
}

/// Goes down to the offset only: into the statements before it, the
/// expressions and blocks that hold it.
struct Walker<'d> {
    doc: &'d Doc,
    offset: usize,
    scope: Scope,
    /// Whether the node being walked is in a loop body (of the innermost
    /// function or closure).
    in_loop: bool,
}

impl Walker<'_> {
    /// Walks a loop body with `binding` (a `for` variable) declared, if the
    /// offset is inside it.
    fn loop_body(&mut self, body: &Block, binding: Option<&Binding>) {
        if !inside_block(self.doc, body, self.offset) {
            return;
        }
        if let Some(binding) = binding {
            push(&mut self.scope, binding, None);
        }
        let outer = std::mem::replace(&mut self.in_loop, true);
        self.visit_block(body);
        self.in_loop = outer;
    }
}

impl<'a> Visit<'a> for Walker<'_> {
    fn visit_block(&mut self, block: &'a Block) {
        if !inside_block(self.doc, block, self.offset) {
            return;
        }
        self.scope.in_loop = self.in_loop;
        for stmt in &block.stmts {
            if stmt.span.end <= self.offset {
                if let StmtKind::Let { binding, ty, .. } = &stmt.kind {
                    push(&mut self.scope, binding, ty.as_ref());
                }
                continue;
            }
            if stmt.span.start < self.offset {
                self.visit_stmt(stmt);
            }
            return;
        }
        if let Some(value) = &block.value {
            if value.span.start <= self.offset {
                self.visit_expr(value);
            }
        }
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match &stmt.kind {
            StmtKind::While { cond, body } => {
                self.visit_expr(cond);
                self.loop_body(body, None);
            }
            StmtKind::For {
                binding,
                start,
                end,
                body,
            } => {
                self.visit_expr(start);
                self.visit_expr(end);
                self.loop_body(body, Some(binding));
            }
            _ => walk_stmt(self, stmt),
        }
    }

    /// Goes into the part of `expr` that holds the offset, if any.
    fn visit_expr(&mut self, expr: &'a Expr) {
        if !expr.span.contains(self.offset) {
            return;
        }
        match &expr.kind {
            ExprKind::Closure(closure) => {
                if inside_block(self.doc, &closure.body, self.offset) {
                    params(&mut self.scope, &closure.params);
                    let outer = std::mem::replace(&mut self.in_loop, false);
                    self.visit_block(&closure.body);
                    self.in_loop = outer;
                }
            }
            _ => walk_expr(self, expr),
        }
    }
}
