//! Inlay hints (inferred types, parameter names) and code lenses.
//!
//! A `let` or `var` without a written type gets its inferred type after the
//! name (`let d: float = ...`); the arguments of calls of functions, methods
//! and builtins of more than one parameter get the parameter's name
//! (`pow(base: x, exponent: 2.0)`), unless the argument already says it (a
//! variable or a field of that name). Code lenses offer to preview, debug and
//! show the chunk graph of filters, pipelines and functions.

use super::Doc;
use crate::walk::{self, Visit};
use chunkvm::builtins::{self, BuiltinOp, P};
use chunkvm::check::Callee;
use chunkvm::syntax::ast::{Expr, ExprKind, Item, ItemKind, Stmt, StmtKind};
use chunkvm::syntax::span::Span;

/// What a hint shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintKind {
    /// An inferred type, `: float`, after a name.
    Type,
    /// A parameter name, `base:`, before an argument.
    Parameter,
}

/// One inlay hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlayHint {
    /// Where it goes: after the name (types) or before the argument (parameters).
    pub offset: usize,
    /// What it shows: `: float` or `base:` (the client adds the space after a parameter hint).
    pub label: String,
    /// What it is.
    pub kind: HintKind,
}

/// The hints whose offset lies in `range` (both ends included), in source order.
pub fn inlay_hints(doc: &Doc, range: Span) -> Vec<InlayHint> {
    let mut hints = Hints {
        doc,
        out: Vec::new(),
    };
    for item in &doc.file().items {
        if item.span.end < range.start || item.span.start > range.end {
            continue;
        }
        walk::walk_item(&mut hints, item);
    }
    let mut out = hints.out;
    out.retain(|hint| range.contains(hint.offset));
    out.sort_by_key(|hint| hint.offset);
    out
}

/// The visitor of [`inlay_hints`]: a statement's hint, then its parts'.
struct Hints<'d> {
    doc: &'d Doc,
    out: Vec<InlayHint>,
}

impl<'a> Visit<'a> for Hints<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        type_hint(self.doc, stmt, &mut self.out);
        walk::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let ExprKind::Call(_, args) = &expr.kind {
            parameter_hints(self.doc, expr, args, &mut self.out);
        }
        walk::walk_expr(self, expr);
    }
}

/// `: T` after the name of a `let` or `var` without a written type.
fn type_hint(doc: &Doc, stmt: &Stmt, out: &mut Vec<InlayHint>) {
    let StmtKind::Let {
        binding,
        ty: None,
        value,
        ..
    } = &stmt.kind
    else {
        return;
    };
    if binding.name.name.is_empty() || matches!(value.kind, ExprKind::Error) {
        return;
    }
    let ty = doc.analysis.binding_type(binding.id);
    if !ty.has_error() {
        out.push(InlayHint {
            offset: binding.name.span.end,
            label: format!(": {ty}"),
            kind: HintKind::Type,
        });
    }
}

/// The parameter names of what a call calls, if they are worth showing.
fn parameter_names(doc: &Doc, call: &Expr) -> Option<Vec<String>> {
    match doc.analysis.calls.get(&call.id)? {
        Callee::Function(id) => {
            let item: &Item = doc.file().items.get(id.0 as usize)?;
            let ItemKind::Function(function) = &item.kind else {
                return None;
            };
            Some(
                function
                    .params
                    .iter()
                    .map(|param| param.binding.name.name.clone())
                    .collect(),
            )
        }
        Callee::Builtin(op) => {
            let overload = builtin_overload(*op)?;
            // `sqrt(x)`, `float(i)`: the name adds nothing; `print(...)` has none.
            if overload.params.len() < 2 || overload.params.iter().any(|(_, p)| *p == P::Variadic) {
                return None;
            }
            Some(
                overload
                    .params
                    .iter()
                    .map(|(name, _)| name.to_string())
                    .collect(),
            )
        }
        Callee::Method(method) => {
            if method.params.len() < 2 {
                return None;
            }
            Some(
                method
                    .params
                    .iter()
                    .map(|(name, _)| name.to_string())
                    .collect(),
            )
        }
        Callee::Value => None,
    }
}

/// The builtin overload that compiles to `op`.
fn builtin_overload(op: BuiltinOp) -> Option<&'static builtins::Overload> {
    builtins::BUILTINS
        .iter()
        .flat_map(|builtin| builtin.overloads.iter())
        .find(|overload| overload.op == op)
}

fn parameter_hints(doc: &Doc, call: &Expr, args: &[Expr], out: &mut Vec<InlayHint>) {
    let Some(names) = parameter_names(doc, call) else {
        return;
    };
    for (arg, name) in args.iter().zip(names) {
        if name.is_empty() || name.starts_with('_') || matches!(arg.kind, ExprKind::Error) {
            continue;
        }
        let says_it = match &arg.kind {
            ExprKind::Name(arg_name) => *arg_name == name,
            ExprKind::Field(_, field) => field.name == name,
            _ => false,
        };
        if says_it {
            continue;
        }
        out.push(InlayHint {
            offset: arg.span.start,
            label: format!("{name}:"),
            kind: HintKind::Parameter,
        });
    }
}

/// What a code lens does when it is clicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LensAction {
    /// Preview the filter on a photo.
    PreviewFilter {
        /// The filter's name.
        filter: String,
    },
    /// Preview the pipeline on a photo.
    PreviewPipeline {
        /// The pipeline's name.
        pipeline: String,
    },
    /// Show the chunk graph of the function (or filter).
    ShowGraph {
        /// The function's name.
        function: String,
    },
    /// Debug the filter.
    Debug {
        /// The filter's name.
        filter: String,
    },
}

/// A code lens: an action shown above a piece of code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lens {
    /// The code it is about (the item's keyword and name); shown above its first line.
    pub span: Span,
    /// The text shown.
    pub title: String,
    /// What clicking it does.
    pub action: LensAction,
}

/// The code lenses of the file: above each filter "Preview", "Show chunk
/// graph" and "Debug", above each pipeline "Preview", above each `fn`
/// "Show chunk graph".
pub fn code_lenses(doc: &Doc) -> Vec<Lens> {
    let mut out = Vec::new();
    for item in &doc.file().items {
        let name = item.name.name.as_str();
        if name.is_empty() {
            continue;
        }
        let span = Span::new(item.span.start, item.name.span.end.max(item.span.start));
        let lens = |title: &str, action: LensAction| Lens {
            span,
            title: title.to_string(),
            action,
        };
        let name = name.to_string();
        match &item.kind {
            ItemKind::Function(function) if function.is_filter => {
                out.push(lens(
                    "Preview",
                    LensAction::PreviewFilter {
                        filter: name.clone(),
                    },
                ));
                out.push(lens(
                    "Show chunk graph",
                    LensAction::ShowGraph {
                        function: name.clone(),
                    },
                ));
                out.push(lens("Debug", LensAction::Debug { filter: name }));
            }
            ItemKind::Function(_) => out.push(lens(
                "Show chunk graph",
                LensAction::ShowGraph { function: name },
            )),
            ItemKind::Pipeline(_) => out.push(lens(
                "Preview",
                LensAction::PreviewPipeline { pipeline: name },
            )),
            ItemKind::Param(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::check;

    /// The text with each hint written in at its place, in `«»`.
    fn render(fixture: &str) -> String {
        let fx = crate::fixture::fixture(fixture);
        let text = fx.text.as_str();
        let doc = Doc::new(text);
        let hints = inlay_hints(&doc, fx.range_or_all());
        let mut out = text.to_string();
        for hint in hints.iter().rev() {
            let shown = match hint.kind {
                HintKind::Type => format!("«{}»", hint.label),
                HintKind::Parameter => format!("«{}» ", hint.label),
            };
            out.insert_str(hint.offset, &shown);
        }
        out
    }

    #[test]
    fn types_of_lets_and_vars() {
        check!(r#"filter f(src: image, x: int, y: int) -> color {
    let w = src.width;
    var sum = rgb(0.0, 0.0, 0.0);
    let written: float = 1.0;
    let k = [0.5; 3];
    let g = fn(v: float) -> float { let h = v * 2.0; h };
    for i in 0..3 {
        if i > 0 { let inner = float(i); sum = sum * inner; }
    }
    let c = src.at(x, y);
    sum
}
"#, @"
        filter f(src: image, x: int, y: int) -> color {
            let w«: int» = src.width;
            var sum«: color» = rgb(«r:» 0.0, «g:» 0.0, «b:» 0.0);
            let written: float = 1.0;
            let k«: [float; 3]» = [0.5; 3];
            let g«: fn(float) -> float» = fn(v: float) -> float { let h«: float» = v * 2.0; h };
            for i in 0..3 {
                if i > 0 { let inner«: float» = float(i); sum = sum * inner; }
            }
            let c«: color» = src.at(x, y);
            sum
        }
        ");
    }

    #[test]
    fn parameter_names() {
        check!(r#"fn area(width: float, height: float) -> float { width * height }
fn one(v: float) -> float { v }
filter f(src: image, x: int, y: int) -> color {
    let height = 2.0;
    let a = area(1.5, height);
    let p = pow(a, 2.0);
    let r = sqrt(p) + one(p);
    let c = src.at(x, y + 1);
    let m = mix(c, rgb(c.r, c.g, 0.0), 0.5);
    print("é", a, p);
    m
}
"#, @r#"
        fn area(width: float, height: float) -> float { width * height }
        fn one(v: float) -> float { v }
        filter f(src: image, x: int, y: int) -> color {
            let height«: float» = 2.0;
            let a«: float» = area(«width:» 1.5, height);
            let p«: float» = pow(«base:» a, «exponent:» 2.0);
            let r«: float» = sqrt(p) + one(«v:» p);
            let c«: color» = src.at(x, «y:» y + 1);
            let m«: color» = mix(«a:» c, «b:» rgb(c.r, c.g, «b:» 0.0), «t:» 0.5);
            print("é", a, p);
            m
        }
        "#);
    }

    #[test]
    fn only_in_the_range_and_not_on_broken_code() {
        check!("fn main() {\n    let a = 1;\n    $0let b = pow(2.0, 3.0);$0\n    let c = 2;\n}\n", @"
        fn main() {
            let a = 1;
            let b«: float» = pow(«base:» 2.0, «exponent:» 3.0);
            let c = 2;
        }
        ");
        check!("fn main() {\n    let a = ;\n    let b = unknown(1, 2);\n    let c = pow(1.0, );\n    let d = max(1, 2)\n}\n", @"
        fn main() {
            let a = ;
            let b = unknown(1, 2);
            let c«: float» = pow(«base:» 1.0, );
            let d«: int» = max(«a:» 1, «b:» 2)
        }
        ");
        // The end of the file, in the middle of a call.
        check!("fn main() {\n    let a = 1;\n    let c = pow(1.0, a", @"
        fn main() {
            let a = 1;
            let c = pow(1.0, a
        ");
    }

    #[test]
    fn lenses() {
        let doc = Doc::new(
            "param p: float = 1.0;\n/// Doc.\nfilter f(c: color) -> color { c }\nfn g() {}\npipeline q = f |> f;\n",
        );
        let lenses: Vec<String> = code_lenses(&doc)
            .iter()
            .map(|lens| {
                format!(
                    "{:?} {} {:?}",
                    doc.slice(lens.span),
                    lens.title,
                    lens.action
                )
            })
            .collect();
        insta::assert_snapshot!(lenses.join("\n"), @r#"
        "filter f" Preview PreviewFilter { filter: "f" }
        "filter f" Show chunk graph ShowGraph { function: "f" }
        "filter f" Debug Debug { filter: "f" }
        "fn g" Show chunk graph ShowGraph { function: "g" }
        "pipeline q" Preview PreviewPipeline { pipeline: "q" }
        "#);
    }
}
