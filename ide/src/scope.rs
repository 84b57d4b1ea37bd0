//! The locals visible at an offset.

use crate::Doc;
use chunkvm::syntax::ast::{
    BindingId, Block, Expr, ExprKind, ItemKind, Param, Stmt, StmtKind, TypeExpr,
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
                let mut walker = Walker { doc, offset, scope };
                walker.block(&function.body, false);
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

fn push(scope: &mut Scope, binding: &chunkvm::syntax::ast::Binding, ty: Option<&TypeExpr>) {
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

struct Walker<'d> {
    doc: &'d Doc,
    offset: usize,
    scope: Scope,
}

impl Walker<'_> {
    fn block(&mut self, block: &Block, in_loop: bool) {
        self.scope.in_loop = in_loop;
        for stmt in &block.stmts {
            if stmt.span.end <= self.offset {
                if let StmtKind::Let { binding, ty, .. } = &stmt.kind {
                    push(&mut self.scope, binding, ty.as_ref());
                }
                continue;
            }
            if stmt.span.start < self.offset {
                self.stmt(stmt, in_loop);
            }
            return;
        }
        if let Some(value) = &block.value {
            if value.span.start <= self.offset {
                self.expr(value, in_loop);
            }
        }
    }

    fn stmt(&mut self, stmt: &Stmt, in_loop: bool) {
        match &stmt.kind {
            StmtKind::Let { value, .. } => self.expr(value, in_loop),
            StmtKind::Assign { target, value, .. } => {
                self.expr(target, in_loop);
                self.expr(value, in_loop);
            }
            StmtKind::Expr(value) | StmtKind::Return(Some(value)) => {
                self.expr(value, in_loop);
            }
            StmtKind::Return(None) | StmtKind::Break | StmtKind::Continue => {}
            StmtKind::While { cond, body } => {
                self.expr(cond, in_loop);
                if inside_block(self.doc, body, self.offset) {
                    self.block(body, true);
                }
            }
            StmtKind::For {
                binding,
                start,
                end,
                body,
            } => {
                self.expr(start, in_loop);
                self.expr(end, in_loop);
                if inside_block(self.doc, body, self.offset) {
                    push(&mut self.scope, binding, None);
                    self.block(body, true);
                }
            }
        }
    }

    /// Goes into the part of `expr` that holds the offset, if any.
    fn expr(&mut self, expr: &Expr, in_loop: bool) {
        if !expr.span.contains(self.offset) {
            return;
        }
        match &expr.kind {
            ExprKind::Closure(closure) => {
                if inside_block(self.doc, &closure.body, self.offset) {
                    params(&mut self.scope, &closure.params);
                    self.block(&closure.body, false);
                }
            }
            ExprKind::Block(block) => {
                if inside_block(self.doc, block, self.offset) {
                    self.block(block, in_loop);
                }
            }
            ExprKind::If(cond, then, otherwise) => {
                self.expr(cond, in_loop);
                if inside_block(self.doc, then, self.offset) {
                    self.block(then, in_loop);
                }
                if let Some(otherwise) = otherwise {
                    self.expr(otherwise, in_loop);
                }
            }
            ExprKind::Binary(_, left, right)
            | ExprKind::Index(left, right)
            | ExprKind::ArrayRepeat(left, right) => {
                self.expr(left, in_loop);
                self.expr(right, in_loop);
            }
            ExprKind::Unary(_, operand) | ExprKind::Field(operand, _) => {
                self.expr(operand, in_loop);
            }
            ExprKind::Call(callee, args) => {
                self.expr(callee, in_loop);
                for arg in args {
                    self.expr(arg, in_loop);
                }
            }
            ExprKind::Array(elements) => {
                for element in elements {
                    self.expr(element, in_loop);
                }
            }
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Str(_)
            | ExprKind::Name(_)
            | ExprKind::Error => {}
        }
    }
}
