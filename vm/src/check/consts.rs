//! Constant expressions: `param` defaults and ranges, pipeline arguments.
//!
//! A constant is a literal, a negated literal (`-0.5`), `!` of a constant
//! boolean, or `rgb`, `rgba` or `gray` of constant floats. The expression
//! must already be checked: calls are recognised through `Analysis::calls`.

use super::{Analysis, Callee, Const};
use crate::builtins::BuiltinOp;
use crate::syntax::ast::{Expr, ExprKind, UnOp};
use std::cmp::Ordering;

/// The value of a constant expression, or `None` if it is not one.
pub(super) fn eval(analysis: &Analysis, expr: &Expr) -> Option<Const> {
    match &expr.kind {
        ExprKind::Int(value) => Some(Const::Int(*value)),
        ExprKind::Float(value) => Some(Const::Float(*value)),
        ExprKind::Bool(value) => Some(Const::Bool(*value)),
        ExprKind::Unary(UnOp::Neg, operand) => match eval(analysis, operand)? {
            Const::Int(value) => Some(Const::Int(value.wrapping_neg())),
            Const::Float(value) => Some(Const::Float(-value)),
            _ => None,
        },
        ExprKind::Unary(UnOp::Not, operand) => match eval(analysis, operand)? {
            Const::Bool(value) => Some(Const::Bool(!value)),
            _ => None,
        },
        ExprKind::Call(_, args) => {
            let Some(Callee::Builtin(op)) = analysis.calls.get(&expr.id) else {
                return None;
            };
            let mut floats = Vec::with_capacity(args.len());
            for arg in args {
                match eval(analysis, arg)? {
                    Const::Float(value) => floats.push(value),
                    _ => return None,
                }
            }
            match (op, floats.as_slice()) {
                (BuiltinOp::Rgb, [r, g, b]) => Some(Const::Color([*r, *g, *b, 1.0])),
                (BuiltinOp::Rgba, [r, g, b, a]) => Some(Const::Color([*r, *g, *b, *a])),
                (BuiltinOp::Gray, [v]) => Some(Const::Color([*v, *v, *v, 1.0])),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Compares two constants of the same numeric type.
pub(super) fn compare(a: Const, b: Const) -> Option<Ordering> {
    match (a, b) {
        (Const::Int(a), Const::Int(b)) => Some(a.cmp(&b)),
        (Const::Float(a), Const::Float(b)) => a.partial_cmp(&b),
        _ => None,
    }
}

/// Whether `value` lies in `min..=max` (values that do not compare, such as NaN, do not).
pub(crate) fn within(value: Const, min: Const, max: Const) -> bool {
    matches!(
        compare(value, min),
        Some(Ordering::Greater | Ordering::Equal)
    ) && matches!(compare(value, max), Some(Ordering::Less | Ordering::Equal))
}

/// A constant as written in Chop.
pub(crate) fn show(value: Const) -> String {
    match value {
        Const::Int(value) => value.to_string(),
        Const::Float(value) => format!("{value:?}"),
        Const::Bool(value) => value.to_string(),
        Const::Color([r, g, b, a]) => format!("rgba({r:?}, {g:?}, {b:?}, {a:?})"),
    }
}
