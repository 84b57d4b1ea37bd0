//! A small evaluator of Chop expressions over a stopped frame: names (locals,
//! parameters, the file's params), fields (`c.r`, `img.width`), indexing (`a[i]`),
//! arithmetic, comparisons and logic. The core's parser reads the expression (inside a
//! function of its own); evaluation happens here, over the frame's values, and never
//! runs code of the program (no calls), so watching an expression changes nothing.

use chunkvm::exec::Value;
use chunkvm::syntax::ast::{BinOp, Expr, ExprKind, ItemKind, UnOp};
use std::fmt;

/// Why an expression could not be evaluated (the user's expression, always).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EvalError {}

fn fail<T>(message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(message.into()))
}

/// Evaluates `text` where `names` are in scope (the first of a name wins).
pub fn evaluate(text: &str, names: &[(String, Value)]) -> Result<Value, EvalError> {
    let expr = parse(text)?;
    eval(&expr, names, 0)
}

/// Parses one expression with the core's parser.
fn parse(text: &str) -> Result<Expr, EvalError> {
    if text.trim().is_empty() {
        return fail("an empty expression");
    }
    if text.contains('{') || text.contains('}') || text.contains(';') {
        return fail(format!(
            "`{text}` is not an expression the debugger evaluates (no blocks or statements)"
        ));
    }
    let wrapped = format!("fn __dap_eval() {{\n{text}\n}}\n");
    let parsed = chunkvm::syntax::lower::parse(&wrapped);
    if let Some(diag) = parsed.diagnostics.first() {
        return fail(format!("cannot read `{text}`: {}", diag.message));
    }
    let item = parsed
        .file
        .items
        .first()
        .ok_or_else(|| EvalError(format!("cannot read `{text}`")))?;
    match &item.kind {
        ItemKind::Function(func) if func.body.stmts.is_empty() => func
            .body
            .value
            .as_deref()
            .cloned()
            .ok_or_else(|| EvalError(format!("`{text}` has no value"))),
        _ => fail(format!("`{text}` is not one expression")),
    }
}

const MAX_DEPTH: usize = 200;

fn eval(expr: &Expr, names: &[(String, Value)], depth: usize) -> Result<Value, EvalError> {
    if depth > MAX_DEPTH {
        return fail("the expression nests too deeply");
    }
    let sub = |e: &Expr| eval(e, names, depth + 1);
    match &expr.kind {
        ExprKind::Int(v) => Ok(Value::Int(*v)),
        ExprKind::Float(v) => Ok(Value::Float(*v)),
        ExprKind::Bool(v) => Ok(Value::Bool(*v)),
        ExprKind::Str(v) => Ok(Value::Str(v.clone())),
        ExprKind::Name(name) => names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| EvalError(format!("no `{name}` here"))),
        ExprKind::Unary(op, inner) => unary(*op, sub(inner)?),
        ExprKind::Binary(BinOp::And, a, b) => match sub(a)? {
            Value::Bool(false) => Ok(Value::Bool(false)),
            Value::Bool(true) => truth(sub(b)?, "&&"),
            other => fail(format!("`&&` wants bools, not {}", other.kind())),
        },
        ExprKind::Binary(BinOp::Or, a, b) => match sub(a)? {
            Value::Bool(true) => Ok(Value::Bool(true)),
            Value::Bool(false) => truth(sub(b)?, "||"),
            other => fail(format!("`||` wants bools, not {}", other.kind())),
        },
        ExprKind::Binary(op, a, b) => binary(*op, sub(a)?, sub(b)?),
        ExprKind::Field(base, field) => {
            // `vignette.strength`: a used file's param, by its qualified name.
            if let ExprKind::Name(space) = &base.kind {
                let qualified = format!("{space}.{}", field.name);
                let local = names.iter().any(|(n, _)| n == space);
                if let Some((_, value)) = names.iter().find(|(n, _)| *n == qualified) {
                    if !local {
                        return Ok(value.clone());
                    }
                }
            }
            field_of(sub(base)?, &field.name)
        }
        ExprKind::Index(base, index) => {
            let base = sub(base)?;
            let index = sub(index)?;
            match (&base, index) {
                (Value::Array(items), Value::Int(i)) => usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        EvalError(format!(
                            "index {i} is out of range for an array of {} elements",
                            items.len()
                        ))
                    }),
                (Value::Array(_), other) => {
                    fail(format!("an index is an int, not {}", other.kind()))
                }
                (other, _) => fail(format!("{} cannot be indexed", other.kind())),
            }
        }
        ExprKind::Array(items) => Ok(Value::Array(
            items.iter().map(sub).collect::<Result<Vec<_>, _>>()?,
        )),
        ExprKind::Call(..) => fail("the debugger does not call functions"),
        ExprKind::If(..) | ExprKind::Block(_) | ExprKind::Closure(_) => {
            fail("the debugger evaluates names, fields, indexing and operators only")
        }
        ExprKind::ArrayRepeat(..) => fail("the debugger does not build arrays by repetition"),
        ExprKind::Error => fail("the expression does not parse"),
    }
}

fn truth(value: Value, op: &str) -> Result<Value, EvalError> {
    match value {
        Value::Bool(b) => Ok(Value::Bool(b)),
        other => fail(format!("`{op}` wants bools, not {}", other.kind())),
    }
}

fn unary(op: UnOp, value: Value) -> Result<Value, EvalError> {
    match (op, value) {
        (UnOp::Neg, Value::Int(v)) => v
            .checked_neg()
            .map(Value::Int)
            .ok_or_else(|| EvalError("int overflow".into())),
        (UnOp::Neg, Value::Float(v)) => Ok(Value::Float(-v)),
        (UnOp::Neg, Value::Color(c)) => Ok(Value::Color(c.map(|v| -v))),
        (UnOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnOp::Neg, other) => fail(format!("cannot negate {}", other.kind())),
        (UnOp::Not, other) => fail(format!("`!` wants a bool, not {}", other.kind())),
    }
}

fn field_of(value: Value, field: &str) -> Result<Value, EvalError> {
    match (&value, field) {
        (Value::Color(c), "r") => Ok(Value::Float(c[0] as f64)),
        (Value::Color(c), "g") => Ok(Value::Float(c[1] as f64)),
        (Value::Color(c), "b") => Ok(Value::Float(c[2] as f64)),
        (Value::Color(c), "a") => Ok(Value::Float(c[3] as f64)),
        (Value::Image { width, .. }, "width") => Ok(Value::Int(*width as i64)),
        (Value::Image { height, .. }, "height") => Ok(Value::Int(*height as i64)),
        (Value::Array(items), "len") => Ok(Value::Int(items.len() as i64)),
        _ => fail(format!("{} has no field `{field}`", value.kind())),
    }
}

fn int_op(op: BinOp, a: i64, b: i64) -> Result<Value, EvalError> {
    let overflow = || EvalError(format!("int overflow in {a} {} {b}", op.as_str()));
    Ok(match op {
        BinOp::Add => Value::Int(a.checked_add(b).ok_or_else(overflow)?),
        BinOp::Sub => Value::Int(a.checked_sub(b).ok_or_else(overflow)?),
        BinOp::Mul => Value::Int(a.checked_mul(b).ok_or_else(overflow)?),
        BinOp::Div | BinOp::Rem if b == 0 => return fail("division by zero"),
        BinOp::Div => Value::Int(a.checked_div(b).ok_or_else(overflow)?),
        BinOp::Rem => Value::Int(a.checked_rem(b).ok_or_else(overflow)?),
        BinOp::Eq => Value::Bool(a == b),
        BinOp::Ne => Value::Bool(a != b),
        BinOp::Lt => Value::Bool(a < b),
        BinOp::Le => Value::Bool(a <= b),
        BinOp::Gt => Value::Bool(a > b),
        BinOp::Ge => Value::Bool(a >= b),
        BinOp::And | BinOp::Or => return fail("`&&` and `||` want bools"),
    })
}

fn float_op(op: BinOp, a: f64, b: f64) -> Result<Value, EvalError> {
    Ok(match op {
        BinOp::Add => Value::Float(a + b),
        BinOp::Sub => Value::Float(a - b),
        BinOp::Mul => Value::Float(a * b),
        BinOp::Div => Value::Float(a / b),
        BinOp::Rem => Value::Float(a % b),
        BinOp::Eq => Value::Bool(a == b),
        BinOp::Ne => Value::Bool(a != b),
        BinOp::Lt => Value::Bool(a < b),
        BinOp::Le => Value::Bool(a <= b),
        BinOp::Gt => Value::Bool(a > b),
        BinOp::Ge => Value::Bool(a >= b),
        BinOp::And | BinOp::Or => return fail("`&&` and `||` want bools"),
    })
}

fn color_op(op: BinOp, a: [f32; 4], b: [f32; 4]) -> Result<Value, EvalError> {
    let each = |f: fn(f32, f32) -> f32| {
        Value::Color([f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])])
    };
    Ok(match op {
        BinOp::Add => each(|x, y| x + y),
        BinOp::Sub => each(|x, y| x - y),
        BinOp::Mul => each(|x, y| x * y),
        BinOp::Div => each(|x, y| x / y),
        BinOp::Eq => Value::Bool(a == b),
        BinOp::Ne => Value::Bool(a != b),
        _ => return fail(format!("colours have no `{}`", op.as_str())),
    })
}

fn binary(op: BinOp, a: Value, b: Value) -> Result<Value, EvalError> {
    match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => int_op(op, *x, *y),
        (Value::Float(x), Value::Float(y)) => float_op(op, *x, *y),
        (Value::Int(x), Value::Float(y)) => float_op(op, *x as f64, *y),
        (Value::Float(x), Value::Int(y)) => float_op(op, *x, *y as f64),
        (Value::Color(x), Value::Color(y)) => color_op(op, *x, *y),
        (Value::Color(x), Value::Float(_) | Value::Int(_)) => {
            let s = number(&b) as f32;
            color_op(op, *x, [s; 4])
        }
        (Value::Float(_) | Value::Int(_), Value::Color(y)) if op == BinOp::Mul => {
            let s = number(&a) as f32;
            color_op(op, [s; 4], *y)
        }
        (Value::Bool(x), Value::Bool(y)) if matches!(op, BinOp::Eq | BinOp::Ne) => {
            Ok(Value::Bool((x == y) == (op == BinOp::Eq)))
        }
        (Value::Str(x), Value::Str(y)) if op == BinOp::Add => Ok(Value::Str(format!("{x}{y}"))),
        _ if matches!(op, BinOp::Eq | BinOp::Ne) && a.kind() == b.kind() => {
            Ok(Value::Bool((a == b) == (op == BinOp::Eq)))
        }
        _ => fail(format!(
            "cannot apply `{}` to {} and {}",
            op.as_str(),
            a.kind(),
            b.kind()
        )),
    }
}

fn number(value: &Value) -> f64 {
    match value {
        Value::Int(v) => *v as f64,
        Value::Float(v) => *v,
        _ => 0.0,
    }
}

/// Replaces each `{expr}` of a log message by the expression's value (or its error in
/// angle brackets); `{{` and `}}` stand for braces.
pub fn interpolate(message: &str, names: &[(String, Value)]) -> String {
    let mut out = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut expr = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    expr.push(c);
                }
                match evaluate(&expr, names) {
                    Ok(value) => out.push_str(&value.to_string()),
                    Err(err) => out.push_str(&format!("<{err}>")),
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<(String, Value)> {
        vec![
            ("total".into(), Value::Int(5)),
            ("i".into(), Value::Int(3)),
            ("scale".into(), Value::Float(1.5)),
            ("c".into(), Value::Color([1.0, 0.5, 0.0, 1.0])),
            (
                "a".into(),
                Value::Array(vec![Value::Int(10), Value::Int(20)]),
            ),
        ]
    }

    #[test]
    fn evaluates_arithmetic_fields_indexing_and_comparisons() {
        let n = names();
        assert_eq!(evaluate("total + i * 10", &n), Ok(Value::Int(35)));
        assert_eq!(evaluate("c.g", &n), Ok(Value::Float(0.5)));
        assert_eq!(evaluate("a[1] - a[0]", &n), Ok(Value::Int(10)));
        assert_eq!(evaluate("i >= 3 && scale < 2.0", &n), Ok(Value::Bool(true)));
        assert_eq!(evaluate("-(i % 2)", &n), Ok(Value::Int(-1)));
        assert_eq!(evaluate("scale * 2.0", &n), Ok(Value::Float(3.0)));
    }

    #[test]
    fn refuses_what_it_cannot_evaluate_with_a_reason() {
        let n = names();
        assert!(evaluate("nope", &n).unwrap_err().0.contains("no `nope`"));
        assert!(evaluate("a[5]", &n).unwrap_err().0.contains("out of range"));
        assert!(evaluate("i / 0", &n).unwrap_err().0.contains("division"));
        assert!(evaluate("print(1)", &n).unwrap_err().0.contains("call"));
        assert!(evaluate("1 +", &n).is_err());
        assert!(evaluate("} fn x() {", &n).is_err());
    }

    #[test]
    fn interpolates_log_messages() {
        let n = names();
        assert_eq!(
            interpolate("i={i} t={total + 1} {{x}} {nope}", &n),
            "i=3 t=6 {x} <no `nope` here>"
        );
    }
}
