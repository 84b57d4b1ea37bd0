//! Control flow facts: whether code can run to its end.
//!
//! With `jumps` false, a piece of code "exits" when every path through it
//! returns from the function (or loops forever): that is what a function
//! with a return type needs (E0010). With `jumps` true, `break` and
//! `continue` count too: that is what decides whether a block without a
//! final expression can stand where a value is wanted.

use crate::syntax::ast::{Block, Expr, ExprKind, Stmt, StmtKind};

/// Whether running `block` never reaches its end.
pub(super) fn block_exits(block: &Block, jumps: bool) -> bool {
    block.stmts.iter().any(|stmt| stmt_exits(stmt, jumps))
        || block
            .value
            .as_deref()
            .is_some_and(|value| expr_exits(value, jumps))
}

fn stmt_exits(stmt: &Stmt, jumps: bool) -> bool {
    match &stmt.kind {
        StmtKind::Return(_) => true,
        StmtKind::Break | StmtKind::Continue => jumps,
        StmtKind::Expr(expr) => expr_exits(expr, jumps),
        StmtKind::Let { value, .. } => expr_exits(value, jumps),
        StmtKind::Assign { target, value, .. } => {
            expr_exits(value, jumps) || expr_exits(target, jumps)
        }
        StmtKind::While { cond, body } => {
            expr_exits(cond, jumps) || (matches!(cond.kind, ExprKind::Bool(true)) && !breaks(body))
        }
        StmtKind::For { start, end, .. } => expr_exits(start, jumps) || expr_exits(end, jumps),
    }
}

/// Whether evaluating `expr` never finishes normally.
pub(super) fn expr_exits(expr: &Expr, jumps: bool) -> bool {
    match &expr.kind {
        ExprKind::Block(block) => block_exits(block, jumps),
        ExprKind::If(cond, then, otherwise) => {
            expr_exits(cond, jumps)
                || otherwise
                    .as_deref()
                    .is_some_and(|other| block_exits(then, jumps) && expr_exits(other, jumps))
        }
        ExprKind::Binary(op, left, right) => {
            expr_exits(left, jumps)
                || (!matches!(
                    op,
                    crate::syntax::ast::BinOp::And | crate::syntax::ast::BinOp::Or
                ) && expr_exits(right, jumps))
        }
        ExprKind::Unary(_, operand) => expr_exits(operand, jumps),
        ExprKind::Call(callee, args) => {
            expr_exits(callee, jumps) || args.iter().any(|arg| expr_exits(arg, jumps))
        }
        ExprKind::Field(value, _) => expr_exits(value, jumps),
        ExprKind::Index(value, index) => expr_exits(value, jumps) || expr_exits(index, jumps),
        ExprKind::Array(elements) => elements.iter().any(|element| expr_exits(element, jumps)),
        ExprKind::ArrayRepeat(value, _) => expr_exits(value, jumps),
        _ => false,
    }
}

/// Whether a loop body holds a `break` for this loop (nested loops and closures excluded).
fn breaks(body: &Block) -> bool {
    body.stmts.iter().any(stmt_breaks) || body.value.as_deref().is_some_and(expr_breaks)
}

fn stmt_breaks(stmt: &Stmt) -> bool {
    match &stmt.kind {
        StmtKind::Break => true,
        StmtKind::Expr(expr) | StmtKind::Let { value: expr, .. } | StmtKind::Return(Some(expr)) => {
            expr_breaks(expr)
        }
        StmtKind::Assign { target, value, .. } => expr_breaks(target) || expr_breaks(value),
        StmtKind::While { cond, .. } => expr_breaks(cond),
        StmtKind::For { start, end, .. } => expr_breaks(start) || expr_breaks(end),
        StmtKind::Return(None) | StmtKind::Continue => false,
    }
}

fn expr_breaks(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Block(block) => breaks(block),
        ExprKind::If(cond, then, otherwise) => {
            expr_breaks(cond) || breaks(then) || otherwise.as_deref().is_some_and(expr_breaks)
        }
        ExprKind::Binary(_, left, right) => expr_breaks(left) || expr_breaks(right),
        ExprKind::Unary(_, operand) | ExprKind::Field(operand, _) => expr_breaks(operand),
        ExprKind::Call(callee, args) => expr_breaks(callee) || args.iter().any(expr_breaks),
        ExprKind::Index(value, index) => expr_breaks(value) || expr_breaks(index),
        ExprKind::Array(elements) => elements.iter().any(expr_breaks),
        ExprKind::ArrayRepeat(value, length) => expr_breaks(value) || expr_breaks(length),
        _ => false,
    }
}

/// Whether `expr` is an `if` (or `else if` chain) without a final `else`.
pub(super) fn is_open_if(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::If(_, _, None) => true,
        ExprKind::If(_, _, Some(other)) => is_open_if(other),
        _ => false,
    }
}
