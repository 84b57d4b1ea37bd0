//! `chop/params`: each `param` of a document with its type, default, range
//! and doc, for a slider panel.
//!
//! Request: `{textDocument}`. Response: `[{name, type, default, min, max,
//! doc, range, file}]` (`range`: the item's LSP range in its file; a colour is
//! `[r, g, b, a]`). For a document that uses other files, their params follow
//! its own, grouped by file, named qualified (`vignette.strength`), `file` the
//! URI of the file that declares them (the document's own have none).
//! The analysis gives the params as plain facts ([`chunkvm::check::ParamDecl`]);
//! this is where they become JSON.

use crate::convert::{self, Lines};
use chop_ide::{preview, Doc};
use chunkvm::check::{Const, ParamDecl};
use chunkvm::syntax::span::LineIndex;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_lsp_server::ls_types::TextDocumentIdentifier;

/// The request's parameters.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamsParams {
    /// The document.
    pub text_document: TextDocumentIdentifier,
}

/// A param's value as JSON: a number, a boolean, or `[r, g, b, a]` for a colour.
fn const_json(value: Const) -> Value {
    match value {
        Const::Int(v) => json!(v),
        Const::Float(v) => json!(v),
        Const::Bool(v) => json!(v),
        Const::Color(c) => json!(c),
    }
}

/// One param as JSON, `lines` those of its file.
fn row(param: ParamDecl, lines: &Lines<'_>, file: Option<String>) -> Value {
    json!({
        "name": param.name,
        "type": param.ty.to_string(),
        "default": const_json(param.default),
        "min": param.range.map(|(lo, _)| const_json(lo)),
        "max": param.range.map(|(_, hi)| const_json(hi)),
        "doc": param.doc,
        "range": lines.range(param.span),
        "file": file,
    })
}

/// The params of `doc` (and of the files it uses, grouped by file).
pub fn params(doc: &Doc, lines: &Lines<'_>) -> Value {
    let Some(program) = &doc.program else {
        let rows = preview::params(doc)
            .into_iter()
            .map(|param| row(param, lines, None))
            .collect();
        return Value::Array(rows);
    };
    let analyzed = program.analyzed();
    let mut rows = Vec::new();
    for (idx, (path, params)) in analyzed.params_by_file().into_iter().enumerate() {
        if idx == 0 {
            rows.extend(params.into_iter().map(|param| row(param, lines, None)));
            continue;
        }
        let text = analyzed
            .modules
            .as_ref()
            .and_then(|modules| modules.graph.files.get(idx))
            .map(|unit| &*unit.text)
            .unwrap_or("");
        let index = LineIndex::new(text);
        let there = Lines::new(text, &index, lines.encoding());
        let uri = convert::uri_of(&path).map(|uri| uri.as_str().to_string());
        rows.extend(
            params
                .into_iter()
                .map(|param| row(param, &there, uri.clone())),
        );
    }
    Value::Array(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Encoding;

    #[test]
    fn params_are_json_with_their_defaults_ranges_and_items() {
        let src = "/// How strong.\nparam amount: float = 0.5 in 0.0..1.0;\nparam steps: int = 3 in 1..8;\nparam on: bool = true;\nparam tint: color = rgb(1.0, 0.5, 0.0);\n";
        let doc = Doc::new(src);
        let json = params(&doc, &Lines::of(&doc, Encoding::Utf16));
        assert_eq!(json[0]["name"], "amount");
        assert_eq!(json[0]["type"], "float");
        assert_eq!(json[0]["default"], 0.5);
        assert_eq!(json[0]["min"], 0.0);
        assert_eq!(json[0]["max"], 1.0);
        assert_eq!(json[0]["doc"], "How strong.");
        assert_eq!(
            json[0]["range"]["start"],
            json!({"line": 1, "character": 0})
        );
        assert_eq!(json[1]["default"], 3);
        assert_eq!(json[2]["default"], true);
        assert_eq!(json[2]["min"], Value::Null);
        assert_eq!(json[3]["default"], json!([1.0, 0.5, 0.0, 1.0]));
        assert_eq!(json[3]["doc"], Value::Null);
    }
}
