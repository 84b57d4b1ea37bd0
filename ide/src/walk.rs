//! The AST walker of this crate is the core's (`chunkvm::syntax::walk`):
//! `walk_*` visit what a node holds, in source order, and a visitor overrides
//! the `visit_*` of the nodes it cares about (calling the `walk_*` for the rest
//! of the node, or not, to prune; `visit_scope` sees a variable where it comes
//! into scope). The closure helpers here ([`exprs`], [`item_exprs`],
//! [`item_nodes`]) are visitors that see every node, parents before children.

use chunkvm::syntax::ast::{Expr, Item, SourceFile, Stmt};

pub(crate) use chunkvm::syntax::walk::{
    walk_block, walk_expr, walk_item, walk_stmt, Binder, Visitor as Visit,
};

/// A node the closure helpers call back with.
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
    walk_item(&mut Every(f), item);
}

/// The visitor of the closure helpers: every node, parents first.
struct Every<'f, 'a>(&'f mut dyn FnMut(Node<'a>));

impl<'a> Visit<'a> for Every<'_, 'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        (self.0)(Node::Expr(expr));
        walk_expr(self, expr);
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        (self.0)(Node::Stmt(stmt));
        walk_stmt(self, stmt);
    }
}
