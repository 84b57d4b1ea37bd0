//! The one walker over the AST of this crate.
//!
//! [`Visit`] holds the structure: `walk_*` visit what a node holds, in source
//! order, and a visitor overrides the `visit_*` of the nodes it cares about
//! (calling the `walk_*` for the rest of the node, or not, to prune). The
//! closure helpers ([`exprs`], [`item_exprs`], [`item_nodes`]) are visitors
//! that see every node, parents before children.

use chunkvm::syntax::ast::{
    Binding, Block, Expr, ExprKind, Item, ItemKind, SourceFile, Stmt, StmtKind,
};

/// A visitor over the AST; by default it visits every node.
pub(crate) trait Visit<'a> {
    /// Visits an expression (by default, what it holds).
    fn visit_expr(&mut self, expr: &'a Expr) {
        walk_expr(self, expr);
    }

    /// Visits a statement (by default, what it holds).
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        walk_stmt(self, stmt);
    }

    /// Visits a block (by default, its statements and its value).
    fn visit_block(&mut self, block: &'a Block) {
        walk_block(self, block);
    }

    /// Visits a `let`, `var` or `for` variable where it comes into scope:
    /// after the `let`'s value, before the `for`'s body (by default, nothing).
    fn visit_binding(&mut self, binding: &'a Binding, binder: Binder<'a>) {
        let _ = (binding, binder);
    }
}

/// The statement that declares a variable, for [`Visit::visit_binding`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Binder<'a> {
    /// A `let` (`mutable`: a `var`) and its value.
    Let {
        /// The whole statement.
        stmt: &'a Stmt,
        /// Whether it is a `var`.
        mutable: bool,
        /// The value it is bound to.
        value: &'a Expr,
    },
    /// A `for` loop, whose body is the variable's scope.
    For {
        /// The loop's body.
        body: &'a Block,
    },
}

/// Visits the expressions and the body of an item: a `param`'s default and
/// range, a function's body, a pipeline's stage arguments.
pub(crate) fn walk_item<'a, V: Visit<'a> + ?Sized>(visitor: &mut V, item: &'a Item) {
    match &item.kind {
        ItemKind::Param(param) => {
            visitor.visit_expr(&param.default);
            if let Some((min, max)) = &param.range {
                visitor.visit_expr(min);
                visitor.visit_expr(max);
            }
        }
        ItemKind::Function(function) => visitor.visit_block(&function.body),
        ItemKind::Pipeline(pipeline) => {
            for stage in &pipeline.stages {
                for (_, value) in &stage.args {
                    visitor.visit_expr(value);
                }
            }
        }
    }
}

/// Visits the statements of a block, then its value.
pub(crate) fn walk_block<'a, V: Visit<'a> + ?Sized>(visitor: &mut V, block: &'a Block) {
    for stmt in &block.stmts {
        visitor.visit_stmt(stmt);
    }
    if let Some(value) = &block.value {
        visitor.visit_expr(value);
    }
}

/// Visits what a statement holds.
pub(crate) fn walk_stmt<'a, V: Visit<'a> + ?Sized>(visitor: &mut V, stmt: &'a Stmt) {
    match &stmt.kind {
        StmtKind::Let {
            binding,
            mutable,
            value,
            ..
        } => {
            visitor.visit_expr(value);
            let binder = Binder::Let {
                stmt,
                mutable: *mutable,
                value,
            };
            visitor.visit_binding(binding, binder);
        }
        StmtKind::Assign { target, value, .. } => {
            visitor.visit_expr(target);
            visitor.visit_expr(value);
        }
        StmtKind::Expr(value) | StmtKind::Return(Some(value)) => visitor.visit_expr(value),
        StmtKind::Return(None) | StmtKind::Break | StmtKind::Continue => {}
        StmtKind::While { cond, body } => {
            visitor.visit_expr(cond);
            visitor.visit_block(body);
        }
        StmtKind::For {
            binding,
            start,
            end,
            body,
        } => {
            visitor.visit_expr(start);
            visitor.visit_expr(end);
            visitor.visit_binding(binding, Binder::For { body });
            visitor.visit_block(body);
        }
    }
}

/// Visits what an expression holds.
pub(crate) fn walk_expr<'a, V: Visit<'a> + ?Sized>(visitor: &mut V, expr: &'a Expr) {
    match &expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Name(_)
        | ExprKind::Error => {}
        ExprKind::Binary(_, left, right)
        | ExprKind::Index(left, right)
        | ExprKind::ArrayRepeat(left, right) => {
            visitor.visit_expr(left);
            visitor.visit_expr(right);
        }
        ExprKind::Unary(_, operand) | ExprKind::Field(operand, _) => visitor.visit_expr(operand),
        ExprKind::Call(callee, args) => {
            visitor.visit_expr(callee);
            for arg in args {
                visitor.visit_expr(arg);
            }
        }
        ExprKind::Array(elements) => {
            for element in elements {
                visitor.visit_expr(element);
            }
        }
        ExprKind::Closure(closure) => visitor.visit_block(&closure.body),
        ExprKind::If(cond, then, otherwise) => {
            visitor.visit_expr(cond);
            visitor.visit_block(then);
            if let Some(otherwise) = otherwise {
                visitor.visit_expr(otherwise);
            }
        }
        ExprKind::Block(inner) => visitor.visit_block(inner),
    }
}

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
