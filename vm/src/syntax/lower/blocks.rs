//! Lowering blocks and statements, with the nesting limit, and the names a
//! broken statement swallowed.

use super::recovery::{shallow_error, tokens};
use super::{
    named_children, named_children_all, span_of, FieldOf, Lowerer, BLOCK_COST, MAX_DEPTH,
    STMT_KINDS,
};
use crate::diag::Code;
use crate::syntax::ast::{BinOp, Binding, BindingId, Block, Ident, Stmt, StmtKind};
use crate::syntax::span::Span;
use tree_sitter::Node;

impl<'t> Lowerer<'t> {
    /// Enters one level of nesting; false (and an error, once) when too deep.
    pub(super) fn enter(&mut self, span: Span) -> bool {
        self.enter_cost(span, 1)
    }

    pub(super) fn leave(&mut self, cost: u32) {
        self.depth = self.depth.saturating_sub(cost);
    }

    fn enter_cost(&mut self, span: Span, cost: u32) -> bool {
        if self.depth + cost > MAX_DEPTH {
            if !self.depth_reported {
                self.depth_reported = true;
                self.error(Code::Syntax, span, "the code is nested too deeply");
            }
            return false;
        }
        self.depth += cost;
        true
    }

    pub(super) fn block(&mut self, node: Node) -> Block {
        let span = span_of(node);
        if !self.enter_cost(span, BLOCK_COST) {
            let value = self.error_expr(span);
            return Block {
                stmts: Vec::new(),
                value: Some(Box::new(value)),
                span,
            };
        }
        let has_value = node.field("value").is_some();
        let mut stmts = Vec::new();
        let mut value = None;
        let mut cursor = node.walk();
        let mut children = Vec::new();
        if cursor.goto_first_child() {
            loop {
                children.push((cursor.node(), cursor.field_name() == Some("value")));
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        // A value followed by text that did not parse is the start of
        // something unfinished (`print("abc);`): not a value to check.
        let before_error: Vec<bool> = (0..children.len())
            .map(|idx| {
                children
                    .iter()
                    .skip(idx + 1)
                    .find(|(next, _)| !next.is_extra() || next.is_error())
                    .is_some_and(|(next, _)| next.is_error())
            })
            .collect();
        for ((child, is_value), before_error) in children.into_iter().zip(before_error) {
            let lowered = stmts.len();
            let swallowing = child.is_error() || (!is_value && shallow_error(child));
            if child.is_error() {
                self.stmts_in_error(child, &mut stmts);
                if !has_value && value.is_none() {
                    // Whatever did not parse may have been the block's value:
                    // an error value keeps the checker from guessing.
                    value = Some(Box::new(self.error_expr(span_of(child))));
                }
            } else if is_value && (before_error || shallow_error(child)) {
                value = Some(Box::new(self.error_expr(span_of(child))));
            } else if is_value {
                value = Some(Box::new(self.expr(child)));
            } else if child.is_extra() || child.is_missing() {
                continue;
            } else if STMT_KINDS.contains(&child.kind()) {
                if let Some(stmt) = self.stmt(child) {
                    stmts.push(stmt);
                }
            }
            if swallowing {
                self.bind_swallowed(child, lowered, &mut stmts);
            }
        }
        // A block whose `}` is missing is unfinished: an error value keeps the
        // checker from asking for a value it may be about to get.
        let closed = node
            .child(node.child_count().saturating_sub(1))
            .is_some_and(|last| last.kind() == "}" && !last.is_missing());
        if !closed && value.is_none() {
            value = Some(Box::new(self.error_expr(Span::new(span.end, span.end))));
        }
        self.leave(BLOCK_COST);
        Block { stmts, value, span }
    }

    /// Binds the names that the statements `node` swallowed plainly declare
    /// (`let NAME` or `var NAME` starting a statement, outside nested
    /// blocks), with an error value, when the statements lowered from it
    /// (`stmts[lowered..]`) do not: a later use of the name then reports
    /// nothing more than the mistake that broke the statement.
    fn bind_swallowed(&mut self, node: Node, lowered: usize, stmts: &mut Vec<Stmt>) {
        let leaves = tokens(vec![node]);
        let mut depth = 0i32;
        let mut found = Vec::new();
        for (idx, leaf) in leaves.iter().enumerate() {
            match leaf.kind() {
                "{" => depth += 1,
                "}" => depth -= 1,
                "let" | "var" if depth == 0 => {
                    if let Some(name) = leaves
                        .get(idx + 1)
                        .filter(|name| name.kind() == "identifier")
                    {
                        found.push((*leaf, *name));
                    }
                }
                _ => {}
            }
        }
        for (keyword, name) in found {
            let bound = stmts.get(lowered..).unwrap_or_default().iter().any(|stmt| {
                matches!(&stmt.kind, StmtKind::Let { binding, .. } if binding.name.span == span_of(name))
            });
            if bound || node.field("name") == Some(name) {
                continue;
            }
            let span = Span::new(keyword.start_byte(), name.end_byte());
            let binding = Binding {
                id: BindingId(self.next_binding),
                name: Ident {
                    name: self.text_of(name).to_string(),
                    span: span_of(name),
                },
            };
            self.next_binding += 1;
            let kind = StmtKind::Let {
                binding,
                mutable: keyword.kind() == "var",
                ty: None,
                value: self.error_expr(span),
            };
            stmts.push(Stmt { kind, span });
        }
    }

    fn stmts_in_error(&mut self, node: Node, stmts: &mut Vec<Stmt>) {
        if !self.enter(span_of(node)) {
            return;
        }
        for child in named_children_all(node) {
            if child.is_error() {
                self.stmts_in_error(child, stmts);
            } else if STMT_KINDS.contains(&child.kind()) && !child.is_missing() {
                if let Some(stmt) = self.stmt(child) {
                    stmts.push(stmt);
                }
            }
        }
        self.leave(1);
    }

    fn stmt(&mut self, node: Node) -> Option<Stmt> {
        let span = span_of(node);
        // Text that did not parse inside a simple statement makes the
        // parser's guess at its parts unreliable (`let x = ; f();` parses as
        // `let x = f();`): its value becomes an error node.
        let broken =
            !matches!(node.kind(), "while_statement" | "for_statement") && shallow_error(node);
        if broken {
            return Some(self.broken_stmt(node, span));
        }
        // A tail `match` of calls: each writes straight into the result.
        match node.kind() {
            "let_statement" | "var_statement" => self.let_stmt(node, span),
            "assignment_statement" => self.assign_stmt(node, span),
            "compound_assignment_statement" => self.compound_stmt(node, span),
            "expression_statement" => self.expr_stmt(node, span),
            "return_statement" => self.return_stmt(node, span),
            "break_statement" => Some(Stmt {
                kind: StmtKind::Break,
                span,
            }),
            "continue_statement" => Some(Stmt {
                kind: StmtKind::Continue,
                span,
            }),
            "while_statement" => self.while_stmt(node, span),
            "for_statement" => self.for_stmt(node, span),
            _ => None,
        }
    }

    /// A statement holding text that did not parse: its value is an error node.
    fn broken_stmt(&mut self, node: Node, span: Span) -> Stmt {
        let kind = match node.kind() {
            "let_statement" | "var_statement" => {
                let binding = self.binding(node, "name");
                let ty = node.field("type").map(|ty| self.type_node(ty));
                StmtKind::Let {
                    binding,
                    mutable: node.kind() == "var_statement",
                    ty,
                    value: self.error_expr(span),
                }
            }
            "break_statement" => StmtKind::Break,
            "continue_statement" => StmtKind::Continue,
            _ => StmtKind::Expr(self.error_expr(span)),
        };
        Stmt { kind, span }
    }

    fn let_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let binding = self.binding(node, "name");
        let ty = node.field("type").map(|ty| self.type_node(ty));
        let value = self.expr_field(node, "value");
        let kind = StmtKind::Let {
            binding,
            mutable: node.kind() == "var_statement",
            ty,
            value,
        };
        Some(Stmt { kind, span })
    }

    fn assign_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let target = self.expr_field(node, "left");
        let value = self.expr_field(node, "right");
        let kind = StmtKind::Assign {
            target,
            op: None,
            value,
        };
        Some(Stmt { kind, span })
    }

    fn compound_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let target = self.expr_field(node, "left");
        let op = node
            .field("operator")
            .map(|op| self.text_of(op))
            .and_then(|op| BinOp::parse(op.trim_end_matches('=')));
        let value = self.expr_field(node, "right");
        let kind = match op {
            Some(op) => StmtKind::Assign {
                target,
                op: Some(op),
                value,
            },
            None => StmtKind::Expr(self.error_expr(span)),
        };
        Some(Stmt { kind, span })
    }

    fn expr_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let inner = named_children(node).into_iter().next()?;
        let kind = StmtKind::Expr(self.expr(inner));
        Some(Stmt { kind, span })
    }

    fn return_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let value = node.field("value").map(|value| self.expr(value));
        let kind = StmtKind::Return(value);
        Some(Stmt { kind, span })
    }

    fn while_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let cond = self.expr_field(node, "condition");
        let body = self.block_field(node, "body");
        let kind = StmtKind::While { cond, body };
        Some(Stmt { kind, span })
    }

    fn for_stmt(&mut self, node: Node, span: Span) -> Option<Stmt> {
        let binding = self.binding(node, "variable");
        let start = self.expr_field(node, "start");
        let end = self.expr_field(node, "end");
        let body = self.block_field(node, "body");
        let kind = StmtKind::For {
            binding,
            start,
            end,
            body,
        };
        Some(Stmt { kind, span })
    }

    pub(super) fn block_field(&mut self, node: Node, field: &str) -> Block {
        match node.field(field) {
            Some(block) if block.kind() == "block" && !block.is_missing() => self.block(block),
            _ => {
                let at = Span::new(node.end_byte(), node.end_byte());
                Block {
                    stmts: Vec::new(),
                    value: None,
                    span: at,
                }
            }
        }
    }
}
