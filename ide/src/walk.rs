//! Visitors over the AST.

use chunkvm::syntax::ast::{Block, Expr, ExprKind, Item, ItemKind, SourceFile, Stmt, StmtKind};

/// A node the visitor visits.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Node<'a> {
    /// An expression.
    Expr(&'a Expr),
    /// A statement.
    Stmt(&'a Stmt),
}

/// Calls `f` on every expression of the file, parents before children.
pub(crate) fn exprs<'a>(file: &'a SourceFile, f: &mut dyn FnMut(&'a Expr)) {
    for item in &file.items {
        item_exprs(item, f);
    }
}

/// Calls `f` on every expression of an item, parents before children.
pub(crate) fn item_exprs<'a>(item: &'a Item, f: &mut dyn FnMut(&'a Expr)) {
    item_nodes(item, &mut |node| {
        if let Node::Expr(expr) = node {
            f(expr);
        }
    });
}

/// Calls `f` on every statement and expression of an item, in source order,
/// parents before children.
pub(crate) fn item_nodes<'a>(item: &'a Item, f: &mut dyn FnMut(Node<'a>)) {
    match &item.kind {
        ItemKind::Param(param) => {
            expr(&param.default, f);
            if let Some((min, max)) = &param.range {
                expr(min, f);
                expr(max, f);
            }
        }
        ItemKind::Function(function) => block(&function.body, f),
        ItemKind::Pipeline(pipeline) => {
            for stage in &pipeline.stages {
                for (_, value) in &stage.args {
                    expr(value, f);
                }
            }
        }
    }
}

/// Visits the statements and expressions of a block.
pub(crate) fn block<'a>(block: &'a Block, f: &mut dyn FnMut(Node<'a>)) {
    for stmt in &block.stmts {
        self::stmt(stmt, f);
    }
    if let Some(value) = &block.value {
        expr(value, f);
    }
}

/// Visits a statement and what it holds.
pub(crate) fn stmt<'a>(stmt: &'a Stmt, f: &mut dyn FnMut(Node<'a>)) {
    f(Node::Stmt(stmt));
    match &stmt.kind {
        StmtKind::Let { value, .. } => expr(value, f),
        StmtKind::Assign { target, value, .. } => {
            expr(target, f);
            expr(value, f);
        }
        StmtKind::Expr(value) | StmtKind::Return(Some(value)) => expr(value, f),
        StmtKind::Return(None) | StmtKind::Break | StmtKind::Continue => {}
        StmtKind::While { cond, body } => {
            expr(cond, f);
            block(body, f);
        }
        StmtKind::For {
            start, end, body, ..
        } => {
            expr(start, f);
            expr(end, f);
            block(body, f);
        }
    }
}

/// Visits `e` and what it holds.
pub(crate) fn expr<'a>(e: &'a Expr, f: &mut dyn FnMut(Node<'a>)) {
    f(Node::Expr(e));
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Name(_)
        | ExprKind::Error => {}
        ExprKind::Binary(_, left, right)
        | ExprKind::Index(left, right)
        | ExprKind::ArrayRepeat(left, right) => {
            expr(left, f);
            expr(right, f);
        }
        ExprKind::Unary(_, operand) | ExprKind::Field(operand, _) => expr(operand, f),
        ExprKind::Call(callee, args) => {
            expr(callee, f);
            for arg in args {
                expr(arg, f);
            }
        }
        ExprKind::Array(elements) => {
            for element in elements {
                expr(element, f);
            }
        }
        ExprKind::Closure(closure) => block(&closure.body, f),
        ExprKind::If(cond, then, otherwise) => {
            expr(cond, f);
            block(then, f);
            if let Some(otherwise) = otherwise {
                expr(otherwise, f);
            }
        }
        ExprKind::Block(inner) => block(inner, f),
    }
}
