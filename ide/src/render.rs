//! Source text of types, expressions and pipeline stages, normalised, for
//! hover, signatures and the outline.

use crate::Doc;
use chunkvm::syntax::ast::{Expr, TypeExpr};

/// The stages of a pipeline, normalised: `a |> b(p: 1.0)`.
pub(crate) fn stages_text(doc: &Doc, pipeline: &chunkvm::syntax::ast::PipelineItem) -> String {
    let stages: Vec<String> = pipeline
        .stages
        .iter()
        .map(|stage| {
            if stage.args.is_empty() {
                return stage.name.name.clone();
            }
            let args: Vec<String> = stage
                .args
                .iter()
                .map(|(name, value)| format!("{}: {}", name.name, expr_text(doc, value)))
                .collect();
            format!("{}({})", stage.name.name, args.join(", "))
        })
        .collect();
    stages.join(" |> ")
}

/// The text of an expression with its whitespace runs collapsed.
pub(crate) fn expr_text(doc: &Doc, expr: &Expr) -> String {
    let text = doc
        .slice(expr.span)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        "?".to_string()
    } else {
        text
    }
}

/// A type as written (unknown names kept), `{unknown}` where it did not parse.
pub(crate) fn type_text(doc: &Doc, ty: &TypeExpr) -> String {
    match ty {
        TypeExpr::Named(ident) if !ident.name.is_empty() => ident.name.clone(),
        TypeExpr::Named(_) => "{unknown}".to_string(),
        TypeExpr::Array(elem, len, _) => match len {
            Some(len) => format!("[{}; {len}]", type_text(doc, elem)),
            None => format!("[{}; ?]", type_text(doc, elem)),
        },
        TypeExpr::Fn(params, ret, _) => {
            let params: Vec<String> = params.iter().map(|param| type_text(doc, param)).collect();
            match ret {
                Some(ret) => format!("fn({}) -> {}", params.join(", "), type_text(doc, ret)),
                None => format!("fn({})", params.join(", ")),
            }
        }
        TypeExpr::Error(span) => {
            let text = doc
                .slice(*span)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if text.is_empty() {
                "{unknown}".to_string()
            } else {
                text
            }
        }
    }
}
