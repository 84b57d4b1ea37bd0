//! Constant expressions: `param` defaults and ranges, pipeline arguments.
//!
//! A constant is a literal, a negated literal (`-0.5`), `!` of a constant
//! boolean, or `rgb`, `rgba` or `gray` of constant floats. The expression
//! must already be checked: calls are recognised through `Analysis::calls`.
//! A constant is finite: lowering refuses float literals that overflow, and
//! folding refuses a negation that overflows (`-(-9223372036854775808)`).

use super::{Analysis, Callee, Const};
use crate::builtins::BuiltinOp;
use crate::syntax::ast::{Expr, ExprKind, UnOp};
use std::cmp::Ordering;

/// Why an expression has no constant value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum NoValue {
    /// It is not a constant expression.
    NotConstant,
    /// Its value does not fit its type.
    Overflow,
    /// It holds text that did not parse, already reported.
    Broken,
}

/// The value of a constant expression.
pub(super) fn eval(analysis: &Analysis, expr: &Expr) -> Result<Const, NoValue> {
    let value = match &expr.kind {
        ExprKind::Int(value) => Const::Int(*value),
        ExprKind::Float(value) => Const::Float(*value),
        ExprKind::Bool(value) => Const::Bool(*value),
        ExprKind::Error => return Err(NoValue::Broken),
        ExprKind::Unary(UnOp::Neg, operand) => match eval(analysis, operand)? {
            Const::Int(value) => Const::Int(value.checked_neg().ok_or(NoValue::Overflow)?),
            Const::Float(value) => Const::Float(-value),
            _ => return Err(NoValue::NotConstant),
        },
        ExprKind::Unary(UnOp::Not, operand) => match eval(analysis, operand)? {
            Const::Bool(value) => Const::Bool(!value),
            _ => return Err(NoValue::NotConstant),
        },
        ExprKind::Call(_, args) => {
            let Some(Callee::Builtin(op)) = analysis.calls.get(&expr.id) else {
                return Err(NoValue::NotConstant);
            };
            let mut floats = Vec::with_capacity(args.len());
            for arg in args {
                match eval(analysis, arg)? {
                    Const::Float(value) => floats.push(value),
                    _ => return Err(NoValue::NotConstant),
                }
            }
            match (op, floats.as_slice()) {
                (BuiltinOp::Rgb, [r, g, b]) => Const::Color([*r, *g, *b, 1.0]),
                (BuiltinOp::Rgba, [r, g, b, a]) => Const::Color([*r, *g, *b, *a]),
                (BuiltinOp::Gray, [v]) => Const::Color([*v, *v, *v, 1.0]),
                _ => return Err(NoValue::NotConstant),
            }
        }
        _ => return Err(NoValue::NotConstant),
    };
    if finite(value) {
        Ok(value)
    } else {
        Err(NoValue::Overflow)
    }
}

/// Whether every float of `value` is finite.
fn finite(value: Const) -> bool {
    match value {
        Const::Float(value) => value.is_finite(),
        Const::Color(channels) => channels.iter().all(|channel| channel.is_finite()),
        Const::Int(_) | Const::Bool(_) => true,
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
