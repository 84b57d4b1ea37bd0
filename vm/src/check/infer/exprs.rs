//! Checking expressions: names, operators, indexing, fields, arrays, `if`
//! and closures (with their captures and inferred return types).

use super::{
    binop_type, contains_str, int_to_float_help, is_comparison, BindingKind, Checker, FnCtx,
    RetMode, Want,
};
use crate::builtins::{self};
use crate::check::flow::block_exits;
use crate::check::suggest::did_you_mean;
use crate::check::{Owner, Res};
use crate::diag::{Code, Diagnostic, TypeFacts};
use crate::syntax::ast::{BinOp, Block, Closure, Expr, ExprKind, Ident, TypeExpr, UnOp};
use crate::syntax::span::Span;
use crate::types::Type;

impl<'f> Checker<'f> {
    /// Checks `expr` against `want`; records and returns its type.
    pub fn expr(&mut self, expr: &'f Expr, want: Want<'_>) -> Type {
        let ty = match &expr.kind {
            ExprKind::Int(_) => Type::Int,
            ExprKind::Float(_) => Type::Float,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Str(_) => Type::Str,
            ExprKind::Name(name) => self.name(expr, name),
            ExprKind::Binary(op, left, right) => self.binary(expr, *op, left, right),
            ExprKind::Unary(op, operand) => self.unary(expr, *op, operand),
            ExprKind::Call(callee, args) => self.call(expr, callee, args),
            ExprKind::Field(value, field) => self.field(expr, value, field),
            ExprKind::Index(value, index) => self.index(expr, value, index),
            ExprKind::Array(elements) => self.array(expr, elements, want),
            ExprKind::ArrayRepeat(value, length) => self.array_repeat(expr, value, length, want),
            ExprKind::Closure(closure) => self.closure(expr, closure, want),
            ExprKind::If(cond, then, otherwise) => {
                let ty = self.if_expr(expr, cond, then, otherwise.as_deref(), want);
                self.set_type(expr.id, ty.clone());
                return ty;
            }
            ExprKind::Block(block) => {
                let ty = self.block(block, want);
                self.set_type(expr.id, ty.clone());
                return ty;
            }
            ExprKind::Error => {
                self.mark_broken();
                Type::Error
            }
        };
        self.set_type(expr.id, ty.clone());
        match want {
            Want::Ty(expected) if !ty.fits(expected) && !expected.has_error() => {
                self.mismatch(expr, expected, &ty);
                ty
            }
            Want::Value if ty == Type::Unit => {
                self.type_error(expr.span, "expected a value, but this has no value".into());
                Type::Error
            }
            _ => ty,
        }
    }

    pub(super) fn name(&mut self, expr: &'f Expr, name: &str) -> Type {
        if name.is_empty() {
            return Type::Error;
        }
        match self.resolve(name) {
            Some(Res::Local(id)) => {
                self.an.names.insert(expr.id, Res::Local(id));
                self.use_local(id, true);
                self.an.binding_type(id).clone()
            }
            Some(res @ (Res::Param(id) | Res::Function(id))) => {
                self.an.names.insert(expr.id, res);
                self.an.item_type(id).clone()
            }
            Some(Res::Builtin(builtin)) => {
                self.an.names.insert(expr.id, Res::Builtin(builtin));
                self.error_help(
                    Code::TypeMismatch,
                    expr.span,
                    format!("builtin `{name}` can only be called, not used as a value"),
                    builtin
                        .signatures()
                        .first()
                        .map(|sig| format!("wrap it in a closure; its signature is `{sig}`")),
                );
                Type::Error
            }
            None if self.item_named(name, super::ItemKindOf::Pipeline).is_some() => {
                self.error(
                    Code::TypeMismatch,
                    expr.span,
                    format!("pipeline `{name}` cannot be used as a value"),
                );
                Type::Error
            }
            None => {
                self.unknown_name(expr.span, name);
                Type::Error
            }
        }
    }

    fn binary(&mut self, expr: &Expr, op: BinOp, left: &'f Expr, right: &'f Expr) -> Type {
        if matches!(op, BinOp::And | BinOp::Or) {
            self.expr(left, Want::Ty(&Type::Bool));
            self.expr(right, Want::Ty(&Type::Bool));
            return Type::Bool;
        }
        let left_ty = self.expr(left, Want::Value);
        let right_ty = self.expr(right, Want::Value);
        let fallback = if is_comparison(op) {
            Type::Bool
        } else {
            Type::Error
        };
        if left_ty.has_error() || right_ty.has_error() {
            return fallback;
        }
        if let Some(ty) = binop_type(op, &left_ty, &right_ty) {
            return ty;
        }
        self.bad_operands(expr, op, left, right, &left_ty, &right_ty);
        fallback
    }

    #[cold]
    fn bad_operands(
        &mut self,
        expr: &Expr,
        op: BinOp,
        left: &Expr,
        right: &Expr,
        left_ty: &Type,
        right_ty: &Type,
    ) {
        let help = match (left_ty, right_ty) {
            (Type::Int, Type::Float | Type::Color) => Some(int_to_float_help(left)),
            (Type::Float | Type::Color, Type::Int) => Some(int_to_float_help(right)),
            (Type::Color, Type::Color) if op == BinOp::Div => {
                Some("colours divide by a float: `c / 2.0`".into())
            }
            _ => None,
        };
        let message = if is_comparison(op) && left_ty == right_ty {
            format!(
                "cannot compare values of type `{left_ty}` with `{}`",
                op.as_str()
            )
        } else {
            format!(
                "cannot apply `{}` to `{left_ty}` and `{right_ty}`",
                op.as_str()
            )
        };
        let mut diag = Diagnostic::error(Code::TypeMismatch, expr.span, message).with_types(
            TypeFacts::Operands {
                op,
                assign: false,
                left: left_ty.clone(),
                right: right_ty.clone(),
            },
        );
        diag.help = help;
        self.report(diag);
    }

    #[cold]
    fn type_error(&mut self, span: Span, message: String) {
        self.error(Code::TypeMismatch, span, message);
    }

    fn unary(&mut self, expr: &Expr, op: UnOp, operand: &'f Expr) -> Type {
        let ty = self.expr(operand, Want::Value);
        match op {
            UnOp::Neg => match ty {
                Type::Int | Type::Float | Type::Color | Type::Error => ty,
                other => {
                    self.type_error(
                        expr.span,
                        format!("cannot negate a value of type `{other}`"),
                    );
                    Type::Error
                }
            },
            UnOp::Not => {
                if !ty.fits(&Type::Bool) {
                    self.type_error(expr.span, format!("`!` needs a `bool`, found `{ty}`"));
                }
                Type::Bool
            }
        }
    }

    pub(super) fn index(&mut self, expr: &Expr, value: &'f Expr, index: &'f Expr) -> Type {
        let base = self.expr(value, Want::Value);
        self.expr(index, Want::Ty(&Type::Int));
        self.element_type(expr, &base)
    }

    pub(super) fn element_type(&mut self, expr: &Expr, base: &Type) -> Type {
        match base {
            Type::Array(elem, _) => (**elem).clone(),
            Type::Error => Type::Error,
            other => {
                self.not_indexable(expr.span, other);
                Type::Error
            }
        }
    }

    #[cold]
    fn not_indexable(&mut self, span: Span, ty: &Type) {
        self.error(
            Code::NotIndexable,
            span,
            format!("cannot index into a value of type `{ty}`"),
        );
    }

    pub(super) fn field(&mut self, expr: &Expr, value: &'f Expr, field: &Ident) -> Type {
        if let Some(found) = self.module_item(value, field) {
            return match found {
                Some(res @ (Res::Param(id) | Res::Function(id))) => {
                    self.an.names.insert(expr.id, res);
                    self.an.item_type(id).clone()
                }
                _ => Type::Error,
            };
        }
        let receiver = self.expr(value, Want::Value);
        if receiver.has_error() || field.name.is_empty() {
            return Type::Error;
        }
        if let Some(found) = builtins::field(&receiver, &field.name) {
            return found.ty.to_type();
        }
        if builtins::method(&receiver, &field.name).is_some() {
            self.error_help(
                Code::UnknownField,
                field.span,
                format!("`{}` is a method of `{receiver}`, not a field", field.name),
                Some(format!("call it: `.{}(...)`", field.name)),
            );
            let _ = expr;
            return Type::Error;
        }
        self.unknown_member(&receiver, field, "field");
        Type::Error
    }

    pub(super) fn unknown_member(&mut self, receiver: &Type, member: &Ident, what: &str) {
        let receiver_name = receiver.to_string();
        let mut candidates: Vec<&'static str> = builtins::FIELDS
            .iter()
            .filter(|field| field.receiver == receiver_name)
            .map(|field| field.name)
            .collect();
        candidates.extend(
            builtins::METHODS
                .iter()
                .filter(|method| method.receiver == receiver_name)
                .map(|method| method.name),
        );
        if candidates.is_empty() {
            self.error(
                Code::UnknownField,
                member.span,
                format!("type `{receiver}` has no fields or methods"),
            );
            return;
        }
        let help = did_you_mean(&member.name, candidates.iter().copied())
            .or_else(|| Some(format!("`{receiver}` has: {}", candidates.join(", "))));
        self.error_help(
            Code::UnknownField,
            member.span,
            format!("no {what} `{}` on type `{receiver}`", member.name),
            help,
        );
    }

    // ------------------------------------------------------------ arrays

    fn expected_elem<'w>(want: Want<'w>) -> Option<&'w Type> {
        match want {
            Want::Ty(Type::Array(elem, _)) if !elem.has_error() => Some(elem),
            _ => None,
        }
    }

    pub(super) fn array(&mut self, expr: &Expr, elements: &'f [Expr], want: Want<'_>) -> Type {
        let Some((first, rest)) = elements.split_first() else {
            self.error_help(
                Code::BadArrayLength,
                expr.span,
                "an array literal cannot be empty",
                Some("arrays have a fixed length of at least 1".into()),
            );
            return Type::Error;
        };
        let elem = match Self::expected_elem(want) {
            Some(elem) => {
                self.expr(first, Want::Ty(elem));
                elem.clone()
            }
            None => self.expr(first, Want::Value),
        };
        for element in rest {
            self.expr(element, Want::Ty(&elem));
        }
        if contains_str(&elem) {
            self.error_help(
                Code::UnsupportedType,
                expr.span,
                "an array cannot hold strings",
                Some("strings can only be printed".into()),
            );
        }
        match u32::try_from(elements.len()) {
            Ok(len) => Type::Array(Box::new(elem), len),
            Err(_) => Type::Error,
        }
    }

    fn array_repeat(
        &mut self,
        expr: &Expr,
        value: &'f Expr,
        length: &'f Expr,
        want: Want<'_>,
    ) -> Type {
        let elem = match Self::expected_elem(want) {
            Some(elem) => {
                self.expr(value, Want::Ty(elem));
                elem.clone()
            }
            None => self.expr(value, Want::Value),
        };
        let length_ty = self.expr(length, Want::Ty(&Type::Int));
        if contains_str(&elem) {
            self.error_help(
                Code::UnsupportedType,
                expr.span,
                "an array cannot hold strings",
                Some("strings can only be printed".into()),
            );
        }
        let literal = match &length.kind {
            ExprKind::Int(count) => Some(*count),
            ExprKind::Unary(UnOp::Neg, inner) => match inner.kind {
                ExprKind::Int(count) => Some(count.wrapping_neg()),
                _ => None,
            },
            _ => None,
        };
        let count = match (literal, &length.kind) {
            (Some(count), _) => match u32::try_from(count) {
                Ok(count) if count > 0 => Some(count),
                _ => {
                    self.error(
                        Code::BadArrayLength,
                        length.span,
                        format!("array length must be a positive integer, found `{count}`"),
                    );
                    None
                }
            },
            (None, ExprKind::Error) => None,
            (None, _) => {
                if length_ty == Type::Int {
                    self.error_help(
                        Code::BadArrayLength,
                        length.span,
                        "the length of `[value; n]` must be an integer literal",
                        Some("arrays have a fixed length, known before the program runs".into()),
                    );
                }
                None
            }
        };
        match count {
            Some(count) => Type::Array(Box::new(elem), count),
            None => Type::Error,
        }
    }

    // ------------------------------------------------------------ if and closures

    fn if_expr(
        &mut self,
        expr: &Expr,
        cond: &'f Expr,
        then: &'f Block,
        otherwise: Option<&'f Expr>,
        want: Want<'_>,
    ) -> Type {
        self.expr(cond, Want::Ty(&Type::Bool));
        let Some(other) = otherwise else {
            self.block(then, Want::Stmt);
            return match want {
                Want::Stmt | Want::Any => Type::Unit,
                Want::Ty(ty) if *ty == Type::Unit || ty.has_error() => ty.clone(),
                Want::Ty(_) | Want::Value => {
                    self.error_help(
                        Code::TypeMismatch,
                        expr.span,
                        "`if` without `else` has no value",
                        Some("add an `else` branch".into()),
                    );
                    Type::Error
                }
            };
        };
        match want {
            Want::Stmt => {
                self.block(then, Want::Stmt);
                self.expr(other, Want::Stmt);
                Type::Unit
            }
            Want::Ty(ty) => {
                self.block(then, Want::Ty(ty));
                self.expr(other, Want::Ty(ty));
                ty.clone()
            }
            Want::Any | Want::Value => {
                let then_ty = self.block(then, want);
                let then_open = then.value.is_none() && block_exits(then, true);
                if then_ty.has_error() || then_open {
                    self.expr(other, want)
                } else {
                    self.expr(other, Want::Ty(&then_ty));
                    then_ty
                }
            }
        }
    }

    pub(super) fn closure(&mut self, expr: &'f Expr, closure: &'f Closure, want: Want<'_>) -> Type {
        let params = self.param_types(&closure.params);
        let declared = closure.ret.as_ref().map(|ret| self.resolve_type(ret));
        let expected = match want {
            Want::Ty(Type::Fn(expected))
                if expected.params.len() == params.len() && !expected.ret.has_error() =>
            {
                Some(expected.ret.clone())
            }
            _ => None,
        };
        if let Some(ret) = &declared {
            if contains_str(ret) {
                let span = closure.ret.as_ref().map_or(expr.span, TypeExpr::span);
                self.check_storable(ret, span, "a closure's result");
            }
        }
        let known = declared.or(expected);
        self.fns.push(FnCtx {
            owner: Owner::Closure(expr.id),
            ret: match &known {
                Some(ret) => RetMode::Declared(ret.clone()),
                None => RetMode::Infer(Vec::new()),
            },
            loops: 0,
            desc: "closure".to_string(),
        });
        self.scopes.push(Vec::new());
        for (param, ty) in closure.params.iter().zip(&params) {
            self.declare(&param.binding, ty.clone(), BindingKind::Param);
        }
        let ret = match known {
            Some(ret) => {
                self.body(&closure.body, &ret);
                ret
            }
            None => self.infer_closure(expr, &closure.body),
        };
        self.scopes.pop();
        self.fns.pop();
        Type::func(params, ret)
    }

    /// The result type of a closure without `->`, from its body and its `return`s.
    fn infer_closure(&mut self, expr: &Expr, body: &'f Block) -> Type {
        let tail = self.block(body, Want::Any);
        let returns = match self.fns.last_mut() {
            Some(FnCtx {
                ret: RetMode::Infer(returns),
                ..
            }) => std::mem::take(returns),
            _ => Vec::new(),
        };
        let ret = if body.value.is_some() && tail != Type::Unit {
            tail.clone()
        } else if let Some((ty, _)) = returns.iter().find(|(ty, _)| *ty != Type::Unit) {
            ty.clone()
        } else {
            Type::Unit
        };
        for (ty, span) in &returns {
            if !ty.fits(&ret) {
                let message = if *ty == Type::Unit {
                    format!("this `return` has no value, but the closure returns `{ret}`")
                } else if ret == Type::Unit {
                    format!(
                        "this `return` has a value of type `{ty}`, but the closure returns nothing"
                    )
                } else {
                    format!("expected `{ret}`, found `{ty}`")
                };
                let facts = TypeFacts::Mismatch {
                    expected: ret.clone(),
                    found: ty.clone(),
                };
                self.report(
                    Diagnostic::error(Code::TypeMismatch, *span, message).with_types(facts),
                );
            }
        }
        if ret != Type::Unit && !ret.has_error() && tail == Type::Unit && !block_exits(body, false)
        {
            self.missing_return(body, "closure");
        }
        if contains_str(&ret) {
            self.check_storable(&ret, expr.span, "a closure's result");
        }
        ret
    }
}
