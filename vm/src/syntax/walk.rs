//! The one walk over the AST: every item, block, statement, expression and
//! binding, in source order.
//!
//! Implement [`Visitor`] and override the `visit_*` methods for the nodes
//! you care about; a method that is overridden and still wants the nodes
//! inside calls the matching `walk_*` function (as in `syn` and rustc). For
//! the common case of looking at every expression, [`for_each_expr`] does it
//! with a closure. The walk reads only: it allocates nothing and never
//! recurses deeper than the AST (whose nesting lowering bounds).

use super::ast::{Binding, Block, Expr, ExprKind, Item, ItemKind, SourceFile, Stmt, StmtKind};

/// What to do at each node of a walk. Every method's default walks on into
/// the node's children.
pub trait Visitor<'a> {
    /// An item of the file.
    fn visit_item(&mut self, item: &'a Item) {
        walk_item(self, item);
    }

    /// A block: a body, a loop's or an `if`'s branch, or a block expression.
    fn visit_block(&mut self, block: &'a Block) {
        walk_block(self, block);
    }

    /// A statement.
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        walk_stmt(self, stmt);
    }

    /// An expression (before the expressions inside it).
    fn visit_expr(&mut self, expr: &'a Expr) {
        walk_expr(self, expr);
    }

    /// A name declared by a parameter (of a function, filter or closure),
    /// `let`, `var` or `for`, where it is declared.
    fn visit_binding(&mut self, _binding: &'a Binding) {}

    /// A `let`, `var` or `for` variable where it comes into scope: after the
    /// `let`'s value, before the `for`'s body (editors resolve names by scope).
    fn visit_scope(&mut self, _binding: &'a Binding, _binder: Binder<'a>) {}
}

/// The statement that brings a variable into scope, for [`Visitor::visit_scope`].
#[derive(Clone, Copy, Debug)]
pub enum Binder<'a> {
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

/// Visits every item of `file`.
pub fn walk_file<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, file: &'a SourceFile) {
    for item in &file.items {
        visitor.visit_item(item);
    }
}

/// Visits what `item` holds: a param's default and range, a function's
/// parameters and body, a pipeline's stage arguments.
pub fn walk_item<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, item: &'a Item) {
    match &item.kind {
        ItemKind::Param(param) => {
            visitor.visit_expr(&param.default);
            if let Some((min, max)) = &param.range {
                visitor.visit_expr(min);
                visitor.visit_expr(max);
            }
        }
        ItemKind::Function(function) => {
            for param in &function.params {
                visitor.visit_binding(&param.binding);
            }
            visitor.visit_block(&function.body);
        }
        ItemKind::Pipeline(pipeline) => {
            for stage in &pipeline.stages {
                for (_, value) in &stage.args {
                    visitor.visit_expr(value);
                }
            }
        }
    }
}

/// Visits the statements of `block`, then its value.
pub fn walk_block<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, block: &'a Block) {
    for stmt in &block.stmts {
        visitor.visit_stmt(stmt);
    }
    if let Some(value) = &block.value {
        visitor.visit_expr(value);
    }
}

/// Visits what `stmt` holds, in source order (a `let`'s binding before its
/// value, a `for`'s before its bounds).
pub fn walk_stmt<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, stmt: &'a Stmt) {
    match &stmt.kind {
        StmtKind::Let {
            binding,
            mutable,
            value,
            ..
        } => {
            visitor.visit_binding(binding);
            visitor.visit_expr(value);
            let binder = Binder::Let {
                stmt,
                mutable: *mutable,
                value,
            };
            visitor.visit_scope(binding, binder);
        }
        StmtKind::Assign { target, value, .. } => {
            visitor.visit_expr(target);
            visitor.visit_expr(value);
        }
        StmtKind::Expr(expr) | StmtKind::Return(Some(expr)) => visitor.visit_expr(expr),
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
            visitor.visit_binding(binding);
            visitor.visit_expr(start);
            visitor.visit_expr(end);
            visitor.visit_scope(binding, Binder::For { body });
            visitor.visit_block(body);
        }
    }
}

/// Visits the expressions, blocks and bindings directly inside `expr`.
pub fn walk_expr<'a, V: Visitor<'a> + ?Sized>(visitor: &mut V, expr: &'a Expr) {
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
        ExprKind::Closure(closure) => {
            for param in &closure.params {
                visitor.visit_binding(&param.binding);
            }
            visitor.visit_block(&closure.body);
        }
        ExprKind::If(cond, then, otherwise) => {
            visitor.visit_expr(cond);
            visitor.visit_block(then);
            if let Some(otherwise) = otherwise {
                visitor.visit_expr(otherwise);
            }
        }
        ExprKind::Block(block) => visitor.visit_block(block),
    }
}

/// Calls `f` on every expression of `file`, each before the expressions
/// inside it, in source order.
pub fn for_each_expr<'a>(file: &'a SourceFile, f: impl FnMut(&'a Expr)) {
    struct Exprs<F>(F);
    impl<'a, F: FnMut(&'a Expr)> Visitor<'a> for Exprs<F> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            (self.0)(expr);
            walk_expr(self, expr);
        }
    }
    walk_file(&mut Exprs(f), file);
}

/// Calls `f` on every binding of `file` where it is declared, in source order.
pub fn for_each_binding<'a>(file: &'a SourceFile, f: impl FnMut(&'a Binding)) {
    struct Bindings<F>(F);
    impl<'a, F: FnMut(&'a Binding)> Visitor<'a> for Bindings<F> {
        fn visit_binding(&mut self, binding: &'a Binding) {
            (self.0)(binding);
        }
    }
    walk_file(&mut Bindings(f), file);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::lower::parse;

    /// Every expression and binding of a file that holds each kind of node,
    /// in the order of the walk.
    #[test]
    fn the_walk_meets_every_expression_and_binding_in_source_order() {
        let src = "param p: float = 0.5 in 0.0..1.0;\n\
                   filter f(c: color) -> color { c }\n\
                   pipeline q = f(p: 0.25);\n\
                   fn g(a: int) -> int {\n\
                       let b = [a, 2][0];\n\
                       var s = [0; 3];\n\
                       s[b] = -a;\n\
                       while a < 1 { break; }\n\
                       for i in 0..b { continue; }\n\
                       let h = fn(x: int) -> int { x };\n\
                       if true { h(1) } else { { a.max(2) } }\n\
                   }\n";
        let parsed = parse(src);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let mut exprs = Vec::new();
        for_each_expr(&parsed.file, |expr| {
            exprs.push(&src[expr.span.start..expr.span.end]);
        });
        assert_eq!(
            exprs,
            [
                "0.5",
                "0.0",
                "1.0",
                "c",
                "0.25",
                "[a, 2][0]",
                "[a, 2]",
                "a",
                "2",
                "0",
                "[0; 3]",
                "0",
                "3",
                "s[b]",
                "s",
                "b",
                "-a",
                "a",
                "a < 1",
                "a",
                "1",
                "0",
                "b",
                "fn(x: int) -> int { x }",
                "x",
                "if true { h(1) } else { { a.max(2) } }",
                "true",
                "h(1)",
                "h",
                "1",
                "{ { a.max(2) } }",
                "{ a.max(2) }",
                "a.max(2)",
                "a.max",
                "a",
                "2",
            ]
        );
        let mut bindings = Vec::new();
        for_each_binding(&parsed.file, |binding| {
            bindings.push((binding.name.name.as_str(), binding.id.0));
        });
        assert_eq!(
            bindings,
            [
                ("c", 0),
                ("a", 1),
                ("b", 2),
                ("s", 3),
                ("i", 4),
                ("h", 5),
                ("x", 6)
            ]
        );
        // Every expression once: the ids are dense.
        assert_eq!(exprs.len(), parsed.file.expr_count as usize);
    }
}
