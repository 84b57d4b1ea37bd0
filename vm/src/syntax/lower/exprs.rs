//! Lowering expressions: dense ids, literals, operators, calls, closures and
//! strings (escapes resolved).

use super::{named_children, span_of, FieldOf, Lowerer};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{BinOp, Closure, Expr, ExprId, ExprKind, UnOp};
use crate::syntax::span::Span;
use tree_sitter::Node;

impl<'t> Lowerer<'t> {
    fn alloc(&mut self) -> ExprId {
        let id = ExprId(self.next_expr);
        self.next_expr += 1;
        id
    }

    pub(super) fn error_expr(&mut self, span: Span) -> Expr {
        Expr {
            id: self.alloc(),
            kind: ExprKind::Error,
            span,
        }
    }

    pub(super) fn expr_field(&mut self, node: Node, field: &str) -> Expr {
        match node.field(field) {
            Some(child) => self.expr(child),
            None => {
                let at = Span::new(node.end_byte(), node.end_byte());
                self.error_expr(at)
            }
        }
    }

    pub(super) fn expr(&mut self, node: Node) -> Expr {
        let span = span_of(node);
        if node.is_missing() || node.is_error() {
            return self.error_expr(span);
        }
        if node.kind() == "parenthesized_expression" {
            let Some(inner) = named_children(node).into_iter().next() else {
                return self.error_expr(span);
            };
            if !self.enter(span) {
                return self.error_expr(span);
            }
            let mut expr = self.expr(inner);
            self.leave(1);
            expr.span = span;
            return expr;
        }
        if !self.enter(span) {
            return self.error_expr(span);
        }
        let id = self.alloc();
        let kind = self.expr_kind(node, span);
        self.leave(1);
        Expr { id, kind, span }
    }

    // Each kind of expression has its own function: in debug builds one big
    // function would need a stack frame as large as all of them together at
    // every level of nesting.
    fn expr_kind(&mut self, node: Node, span: Span) -> ExprKind {
        match node.kind() {
            "identifier" => ExprKind::Name(self.text_of(node).to_string()),
            "integer_literal" => self.integer(node),
            "float_literal" => self.float(node, span),
            "boolean_literal" => ExprKind::Bool(self.text_of(node) == "true"),
            "string_literal" => ExprKind::Str(self.string(node)),
            "binary_expression" => self.binary(node),
            "unary_expression" => self.unary(node, span),
            "call_expression" => self.call(node),
            "field_expression" => self.field(node),
            "index_expression" => self.index(node),
            "array_expression" => self.array(node),
            "array_repeat_expression" => self.array_repeat(node),
            "closure_expression" => self.closure(node),
            "if_expression" => self.if_expr(node),
            "block" => self.block_expr(node),
            _ => ExprKind::Error,
        }
    }

    pub(super) fn integer(&mut self, node: Node) -> ExprKind {
        match self.int_literal(node) {
            Some(value) => ExprKind::Int(value),
            None => ExprKind::Error,
        }
    }

    /// The value of an integer literal (an error when it does not fit an `int`).
    pub(super) fn int_literal(&mut self, node: Node) -> Option<i64> {
        let value = self.text_of(node).parse::<i64>().ok();
        if value.is_none() {
            let diag = Diagnostic::error(Code::Syntax, span_of(node), "integer literal too large")
                .with_help(format!("the largest int is {}", i64::MAX));
            self.diags.push(diag);
        }
        value
    }

    fn float(&mut self, node: Node, span: Span) -> ExprKind {
        match self.text_of(node).parse::<f64>() {
            Ok(value) if value.is_finite() => ExprKind::Float(value),
            Ok(_) => {
                let diag = Diagnostic::error(Code::Syntax, span, "float literal is too large")
                    .with_help(format!("the largest float is about {:e}", f64::MAX));
                self.diags.push(diag);
                ExprKind::Error
            }
            Err(_) => {
                self.error(Code::Syntax, span, "invalid float literal");
                ExprKind::Error
            }
        }
    }

    fn binary(&mut self, node: Node) -> ExprKind {
        let op = node
            .field("operator")
            .and_then(|op| BinOp::parse(self.text_of(op)));
        let left = Box::new(self.expr_field(node, "left"));
        let right = Box::new(self.expr_field(node, "right"));
        match op {
            Some(op) => ExprKind::Binary(op, left, right),
            None => ExprKind::Error,
        }
    }

    fn unary(&mut self, node: Node, span: Span) -> ExprKind {
        let op = match node.field("operator").map(|op| self.text_of(op)) {
            Some("-") => Some(UnOp::Neg),
            Some("!") => Some(UnOp::Not),
            _ => None,
        };
        let operand = node.field("operand");
        // `-9223372036854775808` is the one literal whose digits alone overflow.
        if op == Some(UnOp::Neg) {
            if let Some(operand) = operand {
                if operand.kind() == "integer_literal"
                    && self.text_of(operand).trim_start_matches('0') == "9223372036854775808"
                {
                    return ExprKind::Int(i64::MIN);
                }
            }
        }
        let operand = Box::new(match operand {
            Some(operand) => self.expr(operand),
            None => self.error_expr(Span::new(span.end, span.end)),
        });
        match op {
            Some(op) => ExprKind::Unary(op, operand),
            None => ExprKind::Error,
        }
    }

    pub(super) fn call(&mut self, node: Node) -> ExprKind {
        let callee = Box::new(self.expr_field(node, "function"));
        let mut args = Vec::new();
        if let Some(arguments) = node.field("arguments") {
            for arg in named_children(arguments) {
                args.push(self.expr(arg));
            }
        }
        ExprKind::Call(callee, args)
    }

    pub(super) fn field(&mut self, node: Node) -> ExprKind {
        let value = Box::new(self.expr_field(node, "value"));
        let field = self.ident_field(node, "field");
        ExprKind::Field(value, field)
    }

    pub(super) fn index(&mut self, node: Node) -> ExprKind {
        let value = Box::new(self.expr_field(node, "value"));
        let index = Box::new(self.expr_field(node, "index"));
        ExprKind::Index(value, index)
    }

    fn array(&mut self, node: Node) -> ExprKind {
        let mut elements = Vec::new();
        for element in named_children(node) {
            elements.push(self.expr(element));
        }
        ExprKind::Array(elements)
    }

    fn array_repeat(&mut self, node: Node) -> ExprKind {
        let value = Box::new(self.expr_field(node, "value"));
        let length = Box::new(self.expr_field(node, "length"));
        ExprKind::ArrayRepeat(value, length)
    }

    fn closure(&mut self, node: Node) -> ExprKind {
        let params = self.params(node);
        let ret = node.field("return_type").map(|ret| self.type_node(ret));
        let body = self.block_field(node, "body");
        ExprKind::Closure(Box::new(Closure { params, ret, body }))
    }

    fn if_expr(&mut self, node: Node) -> ExprKind {
        let cond = Box::new(self.expr_field(node, "condition"));
        let then = self.block_field(node, "consequence");
        let otherwise = node
            .field("alternative")
            .map(|alt| Box::new(self.expr(alt)));
        ExprKind::If(cond, then, otherwise)
    }

    fn block_expr(&mut self, node: Node) -> ExprKind {
        ExprKind::Block(self.block(node))
    }

    /// The value of a string literal, escapes resolved (unknown ones reported and kept).
    pub(super) fn string(&mut self, node: Node) -> String {
        let raw = self.text_of(node);
        let start = node.start_byte();
        let inner = raw
            .strip_prefix('"')
            .map(|rest| rest.strip_suffix('"').unwrap_or(rest))
            .unwrap_or(raw);
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.char_indices();
        while let Some((idx, ch)) = chars.next() {
            if ch != '\\' {
                out.push(ch);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((next_idx, other)) => {
                    let at = start + 1 + idx;
                    let end = start + 1 + next_idx + other.len_utf8();
                    self.diags.push(
                        Diagnostic::error(
                            Code::Syntax,
                            Span::new(at, end),
                            format!("unknown escape `\\{other}`"),
                        )
                        .with_help("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`"),
                    );
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        out
    }
}
