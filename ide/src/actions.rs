//! Quick fixes for diagnostics.
//!
//! Each fix is a list of edits that makes its diagnostic go away:
//!
//! - E0016, a `param` default (or a pipeline argument) outside its range:
//!   clamp it to the nearest bound.
//! - E0003 (and the other "did you mean" diagnostics: E0006, E0011, E0019):
//!   change the name to a close one in scope.
//! - E0010, a function that may end without a value: `return` a default
//!   value of its return type before the closing brace.
//! - E0004, an `int` where a `float` is wanted (or the reverse): convert with
//!   `float(...)` / `int(...)`, or write an int literal as a float literal.
//! - W0002, an unused variable: prefix its name with `_`.

use super::semantic::ident_start;
use super::{Doc, Edit};
use crate::{scope, walk};
use chunkvm::builtins;
use chunkvm::diag::{Code, Diagnostic, TypeFacts};
use chunkvm::syntax::ast::{BinOp, Block, Expr, ExprKind, ItemId, ItemKind, StmtKind, UnOp};
use chunkvm::syntax::span::Span;
use chunkvm::types::Type;

/// What kind of action an [`Action`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// A fix of the diagnostic it names.
    QuickFix,
}

/// A code action.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// What it does, shown in the menu.
    pub title: String,
    /// What kind of action it is.
    pub kind: ActionKind,
    /// The edits, over the document's text (never overlapping).
    pub edits: Vec<Edit>,
    /// The diagnostic it fixes.
    pub diagnostic: Option<Diagnostic>,
    /// Whether it is the obvious fix (editors may apply it with one key).
    pub preferred: bool,
}

impl Action {
    fn fix(
        title: impl Into<String>,
        diag: &Diagnostic,
        edits: Vec<Edit>,
        preferred: bool,
    ) -> Action {
        Action {
            title: title.into(),
            kind: ActionKind::QuickFix,
            edits,
            diagnostic: Some(diag.clone()),
            preferred,
        }
    }
}

fn edit(span: Span, text: impl Into<String>) -> Edit {
    Edit {
        span,
        text: text.into(),
    }
}

/// The fixes for the diagnostics that overlap `range`.
pub fn code_actions(doc: &Doc, range: Span) -> Vec<Action> {
    let mut out = Vec::new();
    for diag in doc.diagnostics() {
        if diag.span.start > range.end || range.start > diag.span.end {
            continue;
        }
        match diag.code {
            Code::ParamOutOfRange => clamp(doc, &diag, &mut out),
            Code::UnknownName => rename(doc, &diag, &mut out),
            Code::UnknownField | Code::UnknownType | Code::BadPipelineStage => {
                if let Some(name) = did_you_mean(&diag) {
                    out.push(Action::fix(
                        format!("Change to `{name}`"),
                        &diag,
                        vec![edit(diag.span, name)],
                        true,
                    ));
                }
            }
            Code::MissingReturn => add_return(doc, &diag, &mut out),
            Code::TypeMismatch => convert(doc, &diag, &mut out),
            Code::UnusedVariable if !diag.span.is_empty() => {
                out.push(Action::fix(
                    "Prefix with `_`",
                    &diag,
                    vec![edit(Span::new(diag.span.start, diag.span.start), "_")],
                    true,
                ));
            }
            _ => {}
        }
    }
    out
}

/// The name in a `did you mean `x`?` help.
fn did_you_mean(diag: &Diagnostic) -> Option<&str> {
    let help = diag.help.as_deref()?;
    let rest = help.strip_prefix("did you mean `")?;
    let end = rest.find('`')?;
    rest.get(..end).filter(|name| !name.is_empty())
}

/// The expression whose span is `span`, the outermost if several.
fn expr_at(doc: &Doc, span: Span) -> Option<&Expr> {
    let mut found = None;
    walk::exprs(doc.file(), &mut |expr| {
        if found.is_none() && expr.span == span {
            found = Some(expr);
        }
    });
    found
}

// ---------------------------------------------------------------- E0016

/// A number literal's value, possibly negated.
fn number(expr: &Expr) -> Option<f64> {
    match &expr.kind {
        ExprKind::Int(value) => Some(*value as f64),
        ExprKind::Float(value) => Some(*value),
        ExprKind::Unary(UnOp::Neg, inner) => number(inner).map(|value| -value),
        _ => None,
    }
}

/// A value written as a literal of `ty`.
fn literal(value: f64, ty: &Type) -> Option<String> {
    match ty {
        Type::Int => {
            let int = value as i64;
            (int as f64 == value).then(|| int.to_string())
        }
        Type::Float if value.is_finite() => Some(format!("{value:?}")),
        _ => None,
    }
}

fn clamp(doc: &Doc, diag: &Diagnostic, out: &mut Vec<Action>) {
    let file = doc.file();
    // The default of a `param`, or a pipeline argument overriding one.
    let mut target: Option<(&Expr, &str, bool)> = None;
    for item in &file.items {
        match &item.kind {
            ItemKind::Param(param) if param.default.span == diag.span => {
                target = Some((&param.default, item.name.name.as_str(), true));
            }
            ItemKind::Pipeline(pipeline) => {
                for stage in &pipeline.stages {
                    for (name, value) in &stage.args {
                        if value.span == diag.span {
                            target = Some((value, name.name.as_str(), false));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let Some((value, param_name, is_default)) = target else {
        return;
    };
    let Some((id, param_item)) = file.item(param_name) else {
        return;
    };
    let ItemKind::Param(param) = &param_item.kind else {
        return;
    };
    let Some((min, max)) = &param.range else {
        return;
    };
    let ty = doc.analysis.item_type(id);
    let (Some(value), Some(low), Some(high)) = (number(value), number(min), number(max)) else {
        return;
    };
    if low > high {
        return;
    }
    let bound = if value < low { low } else { high };
    let Some(text) = literal(bound, ty) else {
        return;
    };
    let title = if is_default {
        format!("Clamp the default to {text}")
    } else {
        format!("Clamp to {text}")
    };
    out.push(Action::fix(title, diag, vec![edit(diag.span, text)], true));
}

// ---------------------------------------------------------------- E0003

/// The optimal-string-alignment distance (insertions, deletions,
/// substitutions, swaps of neighbours).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        table[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        table[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[at(i - 1, j)] + 1)
                .min(table[at(i, j - 1)] + 1)
                .min(table[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[at(i - 2, j - 2)] + 1);
            }
            table[at(i, j)] = best;
        }
    }
    table[at(a.len(), b.len())]
}

/// How many candidates are offered at most.
const MAX_CANDIDATES: usize = 4;

fn rename(doc: &Doc, diag: &Diagnostic, out: &mut Vec<Action>) {
    let Some(expr) = expr_at(doc, diag.span) else {
        return;
    };
    let ExprKind::Name(name) = &expr.kind else {
        return;
    };
    let Some(start) = ident_start(doc, expr.span, name) else {
        return;
    };
    let span = Span::new(start, start + name.len());
    let mut is_callee = false;
    walk::exprs(doc.file(), &mut |outer| {
        if let ExprKind::Call(callee, _) = &outer.kind {
            if callee.id == expr.id {
                is_callee = true;
            }
        }
    });
    // Names in scope that fit the place: values, or callables when called.
    let mut candidates: Vec<String> = Vec::new();
    let scope = scope::at(doc, span.start);
    for local in scope.locals.iter().rev() {
        let ty = doc.analysis.binding_type(local.id);
        if !is_callee || matches!(ty, Type::Fn(..) | Type::Error) {
            candidates.push(local.name.clone());
        }
    }
    for item in &doc.file().items {
        let fits = match &item.kind {
            ItemKind::Param(_) => !is_callee,
            ItemKind::Function(_) => true,
            ItemKind::Pipeline(_) => false,
        };
        if fits && !item.name.name.is_empty() {
            candidates.push(item.name.name.clone());
        }
    }
    if is_callee {
        candidates.extend(builtins::BUILTINS.iter().map(|b| b.name.to_string()));
    }
    let help = did_you_mean(diag);
    let letters = name.chars().count();
    let mut ranked: Vec<(usize, usize, String)> = Vec::new();
    for (order, candidate) in candidates.into_iter().enumerate() {
        if candidate == *name || ranked.iter().any(|(_, _, known)| *known == candidate) {
            continue;
        }
        let dist = distance(name, &candidate);
        if dist <= 2 && dist < letters {
            ranked.push((dist, order, candidate));
        }
    }
    ranked.sort();
    // The checker's suggestion first.
    if let Some(help) = help {
        if let Some(pos) = ranked.iter().position(|(_, _, known)| known == help) {
            let first = ranked.remove(pos);
            ranked.insert(0, first);
        } else if help != name.as_str() {
            ranked.insert(0, (0, 0, help.to_string()));
        }
    }
    for (idx, (_, _, candidate)) in ranked.into_iter().take(MAX_CANDIDATES).enumerate() {
        out.push(Action::fix(
            format!("Change to `{candidate}`"),
            diag,
            vec![edit(span, candidate)],
            idx == 0 && help.is_some(),
        ));
    }
}

// ---------------------------------------------------------------- E0010

/// The function or closure body whose closing brace is at `close`, and its return type.
fn body_ending_at(doc: &Doc, close: usize) -> Option<(&Block, Type)> {
    let file = doc.file();
    for (idx, item) in file.items.iter().enumerate() {
        if let ItemKind::Function(function) = &item.kind {
            if function.body.span.end == close {
                return match doc.analysis.item_type(ItemId(idx as u32)) {
                    Type::Fn(f) => Some((&function.body, f.ret.clone())),
                    _ => None,
                };
            }
        }
    }
    let mut found = None;
    walk::exprs(file, &mut |expr| {
        if let ExprKind::Closure(closure) = &expr.kind {
            if closure.body.span.end == close {
                if let Type::Fn(f) = doc.analysis.type_of(expr.id) {
                    found = Some((&closure.body, f.ret.clone()));
                }
            }
        }
    });
    found
}

/// A value of type `ty` to return, in Chop; `image` is the name of an image in scope.
fn default_value(ty: &Type, image: Option<&str>, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    Some(match ty {
        Type::Int => "0".to_string(),
        Type::Float => "0.0".to_string(),
        Type::Bool => "false".to_string(),
        Type::Color => "rgba(0.0, 0.0, 0.0, 1.0)".to_string(),
        Type::Image => match image {
            Some(name) => name.to_string(),
            None => "blank(1, 1, rgba(0.0, 0.0, 0.0, 0.0))".to_string(),
        },
        Type::Array(elem, len) => format!("[{}; {len}]", default_value(elem, image, depth + 1)?),
        Type::Fn(f) => {
            let params: Vec<String> = f
                .params
                .iter()
                .enumerate()
                .map(|(idx, param)| format!("_p{idx}: {param}"))
                .collect();
            match &f.ret {
                Type::Unit => format!("fn({}) {{}}", params.join(", ")),
                ret => format!(
                    "fn({}) -> {ret} {{ {} }}",
                    params.join(", "),
                    default_value(ret, image, depth + 1)?
                ),
            }
        }
        Type::Str | Type::Unit | Type::Error => return None,
    })
}

/// The leading whitespace of the line holding `offset`.
fn indent_at(doc: &Doc, offset: usize) -> &str {
    let line = doc.lines.line_of(offset.min(doc.text.len()));
    let start = doc.lines.line_start(line).unwrap_or(0);
    let text = doc.text.get(start..).unwrap_or("");
    let width = text.len() - text.trim_start_matches([' ', '\t']).len();
    text.get(..width).unwrap_or("")
}

fn add_return(doc: &Doc, diag: &Diagnostic, out: &mut Vec<Action>) {
    if doc.slice(diag.span) != "}" {
        return;
    }
    let close = diag.span.start;
    let Some((body, ret)) = body_ending_at(doc, diag.span.end) else {
        return;
    };
    let scope = scope::at(doc, close);
    let image = scope
        .locals
        .iter()
        .rev()
        .find(|local| *doc.analysis.binding_type(local.id) == Type::Image)
        .map(|local| local.name.as_str());
    let Some(value) = default_value(&ret, image, 0) else {
        return;
    };
    let line = doc.lines.line_of(close);
    let line_start = doc.lines.line_start(line).unwrap_or(close);
    let before_close = doc.text.get(line_start..close).unwrap_or("");
    let edit = if before_close.trim().is_empty() && line_start > body.span.start {
        // `}` on a line of its own: a new line above it, indented as the last
        // statement (or one level deeper than the brace).
        let last = body
            .value
            .as_ref()
            .map(|value| value.span.start)
            .or_else(|| body.stmts.last().map(|stmt| stmt.span.start))
            .filter(|start| doc.lines.line_of(*start) > doc.lines.line_of(body.span.start));
        let indent = match last {
            Some(start) => indent_at(doc, start).to_string(),
            None => format!("{before_close}    "),
        };
        edit(
            Span::new(line_start, line_start),
            format!("{indent}return {value};\n"),
        )
    } else {
        let space = if doc
            .text
            .get(..close)
            .is_some_and(|head| head.ends_with([' ', '\t', '\n']))
        {
            ""
        } else {
            " "
        };
        edit(Span::new(close, close), format!("{space}return {value}; "))
    };
    out.push(Action::fix(
        format!("Add `return {value};`"),
        diag,
        vec![edit],
        true,
    ));
}

// ---------------------------------------------------------------- E0004

/// `float(...)`/`int(...)` around `expr`, and for an int literal, the float literal.
fn conversions(doc: &Doc, diag: &Diagnostic, expr_span: Span, to: &str, out: &mut Vec<Action>) {
    let text = doc.slice(expr_span);
    if text.is_empty() {
        return;
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let is_int_literal =
        to == "float" && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if is_int_literal {
        let float = format!("{text}.0");
        out.push(Action::fix(
            format!("Change to `{float}`"),
            diag,
            vec![edit(expr_span, float)],
            true,
        ));
    }
    out.push(Action::fix(
        format!("Convert with {to}(...)"),
        diag,
        vec![edit(expr_span, format!("{to}({text})"))],
        !is_int_literal,
    ));
}

fn convert(doc: &Doc, diag: &Diagnostic, out: &mut Vec<Action>) {
    let (op, assign, left, right) = match diag.types.as_deref() {
        Some(TypeFacts::Mismatch { expected, found }) => {
            let to = match (expected, found) {
                (Type::Float, Type::Int) => "float",
                (Type::Int, Type::Float) => "int",
                _ => return,
            };
            conversions(doc, diag, diag.span, to, out);
            return;
        }
        Some(TypeFacts::Operands {
            op,
            assign,
            left,
            right,
        }) => (*op, *assign, left, right),
        None => return,
    };
    if assign {
        // `x op= value`: convert the value to the variable's type.
        let mut value_span = None;
        for item in &doc.file().items {
            walk::item_nodes(item, &mut |node| {
                if let walk::Node::Stmt(stmt) = node {
                    if let StmtKind::Assign {
                        target,
                        op: Some(_),
                        value,
                    } = &stmt.kind
                    {
                        if target.span.start == diag.span.start && stmt.span.end == diag.span.end {
                            value_span = Some(value.span);
                        }
                    }
                }
            });
        }
        let Some(value_span) = value_span else {
            return;
        };
        let to = match (left, right) {
            (Type::Float | Type::Color, Type::Int) => "float",
            (Type::Int, Type::Float) => "int",
            _ => return,
        };
        conversions(doc, diag, value_span, to, out);
        return;
    }
    let Some(expr) = expr_at(doc, diag.span) else {
        return;
    };
    let ExprKind::Binary(_, left_expr, right_expr) = &expr.kind else {
        return;
    };
    // The int side becomes a float, when that makes the operation valid.
    let arithmetic = matches!(
        op,
        BinOp::Add
            | BinOp::Sub
            | BinOp::Mul
            | BinOp::Div
            | BinOp::Rem
            | BinOp::Eq
            | BinOp::Ne
            | BinOp::Lt
            | BinOp::Le
            | BinOp::Gt
            | BinOp::Ge
    );
    let side = match (left, right) {
        (Type::Int, Type::Float) if arithmetic => left_expr,
        (Type::Float, Type::Int) if arithmetic => right_expr,
        (Type::Color, Type::Int) if matches!(op, BinOp::Mul | BinOp::Div) => right_expr,
        (Type::Int, Type::Color) if op == BinOp::Mul => left_expr,
        _ => return,
    };
    conversions(doc, diag, side.span, "float", out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::check;

    fn apply(text: &str, edits: &[Edit]) -> String {
        let mut edits = edits.to_vec();
        edits.sort_by_key(|edit| std::cmp::Reverse(edit.span.start));
        let mut out = text.to_string();
        for edit in edits {
            out.replace_range(edit.span.start..edit.span.end, &edit.text);
        }
        out
    }

    /// Each action: its title, then the text it gives; checks that the
    /// diagnostic it fixes is gone from that text.
    fn render(fixture: &str) -> String {
        let fx = crate::fixture::fixture(fixture);
        let text = fx.text.as_str();
        let doc = Doc::new(text);
        let mut out = String::new();
        for action in code_actions(&doc, fx.range_or_all()) {
            assert_eq!(action.kind, ActionKind::QuickFix);
            let diag = action.diagnostic.clone().unwrap();
            let fixed = apply(text, &action.edits);
            let after = Doc::new(&fixed);
            // Where the diagnostic would be now: moved by the edits before it.
            let mut moved = diag.span.start as isize;
            for edit in &action.edits {
                if edit.span.end <= diag.span.start && edit.span.start < diag.span.start {
                    moved += edit.text.len() as isize - edit.span.len() as isize;
                }
            }
            let same_code = |doc: &Doc| {
                doc.diagnostics()
                    .into_iter()
                    .filter(|other| other.code == diag.code)
                    .count()
            };
            let still: Vec<_> = after
                .diagnostics()
                .into_iter()
                .filter(|other| other.code == diag.code && other.span.start as isize == moved)
                .collect();
            assert!(
                still.is_empty() && same_code(&after) < same_code(&doc),
                "`{}` leaves {still:?} in:\n{fixed}",
                action.title
            );
            let star = if action.preferred { " (preferred)" } else { "" };
            out.push_str(&format!(
                "{} [{}]{star}\n{fixed}\n",
                action.title,
                diag.code.as_str()
            ));
        }
        if out.is_empty() {
            out.push_str("(none)\n");
        }
        out
    }

    #[test]
    fn clamp_a_param_default() {
        check!("param p: float = 1.5 in 0.0..1.0;\n", @"
        Clamp the default to 1.0 [E0016] (preferred)
        param p: float = 1.0 in 0.0..1.0;
        ");
        check!("param n: int = -3 in -2..10;\n", @"
        Clamp the default to -2 [E0016] (preferred)
        param n: int = -2 in -2..10;
        ");
        check!("param tiny: float = 0.0 in 1e-7..2.5e3;\n", @"
        Clamp the default to 1e-7 [E0016] (preferred)
        param tiny: float = 1e-7 in 1e-7..2.5e3;
        ");
        // A pipeline argument out of range, and an empty range (no fix).
        check!("param p: float = 0.5 in 0.0..1.0;\nparam q: float = 0.5 in 1.0..0.0;\nfilter f(c: color) -> color { c * p * q }\npipeline x = f(p: 2.0);\n", @"
        Clamp to 1.0 [E0016] (preferred)
        param p: float = 0.5 in 0.0..1.0;
        param q: float = 0.5 in 1.0..0.0;
        filter f(c: color) -> color { c * p * q }
        pipeline x = f(p: 1.0);
        ");
    }

    #[test]
    fn change_an_unknown_name() {
        check!("param strength: float = 0.5;\nfn main() {\n    let value = 1.0;\n    print(valeu * strenght);\n}\n", @"
        Prefix with `_` [W0002] (preferred)
        param strength: float = 0.5;
        fn main() {
            let _value = 1.0;
            print(valeu * strenght);
        }

        Change to `value` [E0003] (preferred)
        param strength: float = 0.5;
        fn main() {
            let value = 1.0;
            print(value * strenght);
        }

        Change to `strength` [E0003] (preferred)
        param strength: float = 0.5;
        fn main() {
            let value = 1.0;
            print(valeu * strength);
        }
        ");
        // Called: callables only; in parentheses.
        check!("fn main() {\n    let sqr = 2.0;\n    print(sqrtt(sqr) + (sqr1));\n}\n", @"
        Change to `sqrt` [E0003] (preferred)
        fn main() {
            let sqr = 2.0;
            print(sqrt(sqr) + (sqr1));
        }

        Change to `sqr` [E0003] (preferred)
        fn main() {
            let sqr = 2.0;
            print(sqrtt(sqr) + (sqr));
        }
        ");
        // Several close names: the checker's first.
        check!("fn main() {\n    let value = 1.0;\n    let valve = 2.0;\n    print(vale, value, valve);\n}\n", @"
        Change to `valve` [E0003] (preferred)
        fn main() {
            let value = 1.0;
            let valve = 2.0;
            print(valve, value, valve);
        }

        Change to `value` [E0003]
        fn main() {
            let value = 1.0;
            let valve = 2.0;
            print(value, value, valve);
        }
        ");
        // Nothing close.
        check!("fn main() {\n    print(zzzzzz);\n}\n", @"(none)");
    }

    #[test]
    fn change_other_misspellings() {
        check!("fn main() {\n    let x: flaot = 1.0;\n    print(x);\n}\n", @"
        Change to `float` [E0011] (preferred)
        fn main() {
            let x: float = 1.0;
            print(x);
        }
        ");
        check!("fn f(src: image) -> int {\n    src.widht\n}\n", @"
        Change to `width` [E0006] (preferred)
        fn f(src: image) -> int {
            src.width
        }
        ");
        check!("filter invert(c: color) -> color { c }\npipeline p = invret;\n", @"
        Change to `invert` [E0019] (preferred)
        filter invert(c: color) -> color { c }
        pipeline p = invert;
        ");
    }

    #[test]
    fn add_a_return() {
        check!("fn f(x: int) -> int {\n    if x > 0 {\n        return 1;\n    }\n}\n", @"
        Add `return 0;` [E0010] (preferred)
        fn f(x: int) -> int {
            if x > 0 {
                return 1;
            }
            return 0;
        }
        ");
        check!("filter f(src: image, x: int, y: int) -> color {\n\tif x > 0 { return src.at(x, y); }\n}\n", @"
        Add `return rgba(0.0, 0.0, 0.0, 1.0);` [E0010] (preferred)
        filter f(src: image, x: int, y: int) -> color {
        	if x > 0 { return src.at(x, y); }
        	return rgba(0.0, 0.0, 0.0, 1.0);
        }
        ");
        check!("fn f(b: bool) -> float { if b { return 1.0; } }\n", @"
        Add `return 0.0;` [E0010] (preferred)
        fn f(b: bool) -> float { if b { return 1.0; } return 0.0; }
        ");
        check!("fn f(src: image) -> image {\n    let copy = src;\n    if true { return copy; }\n}\n", @"
        Add `return copy;` [E0010] (preferred)
        fn f(src: image) -> image {
            let copy = src;
            if true { return copy; }
            return copy;
        }
        ");
        check!("fn f() -> image {\n}\n", @"
        Add `return blank(1, 1, rgba(0.0, 0.0, 0.0, 0.0));` [E0010] (preferred)
        fn f() -> image {
            return blank(1, 1, rgba(0.0, 0.0, 0.0, 0.0));
        }
        ");
        check!("fn f() -> [fn(int) -> float; 2] {\n    if true { return [fn(i: int) -> float { 1.0 }; 2]; }\n}\n", @"
        Add `return [fn(_p0: int) -> float { 0.0 }; 2];` [E0010] (preferred)
        fn f() -> [fn(int) -> float; 2] {
            if true { return [fn(i: int) -> float { 1.0 }; 2]; }
            return [fn(_p0: int) -> float { 0.0 }; 2];
        }
        ");
        check!("fn main() {\n    let g = fn(v: int) -> bool {\n        if v > 0 { return true; }\n    };\n    print(g(1));\n}\n", @"
        Add `return false;` [E0010] (preferred)
        fn main() {
            let g = fn(v: int) -> bool {
                if v > 0 { return true; }
                return false;
            };
            print(g(1));
        }
        ");
    }

    #[test]
    fn convert_numbers() {
        check!("fn main() {\n    let x: float = 2;\n    let i: int = 2.5;\n    let y = x * 3;\n    print(x, i, y, sqrt(i + 1));\n}\n", @"
        Change to `2.0` [E0004] (preferred)
        fn main() {
            let x: float = 2.0;
            let i: int = 2.5;
            let y = x * 3;
            print(x, i, y, sqrt(i + 1));
        }

        Convert with float(...) [E0004]
        fn main() {
            let x: float = float(2);
            let i: int = 2.5;
            let y = x * 3;
            print(x, i, y, sqrt(i + 1));
        }

        Convert with int(...) [E0004] (preferred)
        fn main() {
            let x: float = 2;
            let i: int = int(2.5);
            let y = x * 3;
            print(x, i, y, sqrt(i + 1));
        }

        Change to `3.0` [E0004] (preferred)
        fn main() {
            let x: float = 2;
            let i: int = 2.5;
            let y = x * 3.0;
            print(x, i, y, sqrt(i + 1));
        }

        Convert with float(...) [E0004]
        fn main() {
            let x: float = 2;
            let i: int = 2.5;
            let y = x * float(3);
            print(x, i, y, sqrt(i + 1));
        }

        Convert with float(...) [E0004] (preferred)
        fn main() {
            let x: float = 2;
            let i: int = 2.5;
            let y = x * 3;
            print(x, i, y, sqrt(float(i + 1)));
        }
        ");
        check!("fn main() {\n    var x = 1.0;\n    x += 1;\n    var n = 1;\n    n *= 0.5;\n    let c = rgb(1.0, 1.0, 1.0) * n;\n    print(x, n, c);\n}\n", @"
        Change to `1.0` [E0004] (preferred)
        fn main() {
            var x = 1.0;
            x += 1.0;
            var n = 1;
            n *= 0.5;
            let c = rgb(1.0, 1.0, 1.0) * n;
            print(x, n, c);
        }

        Convert with float(...) [E0004]
        fn main() {
            var x = 1.0;
            x += float(1);
            var n = 1;
            n *= 0.5;
            let c = rgb(1.0, 1.0, 1.0) * n;
            print(x, n, c);
        }

        Convert with int(...) [E0004] (preferred)
        fn main() {
            var x = 1.0;
            x += 1;
            var n = 1;
            n *= int(0.5);
            let c = rgb(1.0, 1.0, 1.0) * n;
            print(x, n, c);
        }

        Convert with float(...) [E0004] (preferred)
        fn main() {
            var x = 1.0;
            x += 1;
            var n = 1;
            n *= 0.5;
            let c = rgb(1.0, 1.0, 1.0) * float(n);
            print(x, n, c);
        }
        ");
    }

    #[test]
    fn prefix_an_unused_variable() {
        check!("fn main() {\n    // é\n    let unused = 1;\n    print(\"ü\");\n}\n", @r#"
        Prefix with `_` [W0002] (preferred)
        fn main() {
            // é
            let _unused = 1;
            print("ü");
        }
        "#);
    }

    #[test]
    fn only_diagnostics_in_the_range() {
        check!("fn main() {\n    let a = 1;\n    let $0b$0 = 2;\n}\n", @"
        Prefix with `_` [W0002] (preferred)
        fn main() {
            let a = 1;
            let _b = 2;
        }
        ");
        check!("fn main() {\n    let a = 1;\n    let b = 2;$0\n}\n", @"(none)");
    }

    #[test]
    fn broken_code_and_end_of_file() {
        check!("fn main() {\n    let x: float = 2;\n    let y = ;\n    print(x, y);\n}\n", @"
        Change to `2.0` [E0004] (preferred)
        fn main() {
            let x: float = 2.0;
            let y = ;
            print(x, y);
        }

        Convert with float(...) [E0004]
        fn main() {
            let x: float = float(2);
            let y = ;
            print(x, y);
        }
        ");
        check!("fn main() {\n    let unused = 1;\n    print(valu", @"(none)");
        let texts = [
            "",
            "}",
            "fn f() -> int {",
            "param p: float = 9.0 in 0.0..",
            "fn main() { let x = é; }",
        ];
        for text in texts {
            let doc = Doc::new(text);
            for start in 0..=text.len() {
                let _ = code_actions(&doc, Span::new(start, text.len()));
            }
        }
    }
}
