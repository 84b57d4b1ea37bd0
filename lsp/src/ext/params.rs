//! `chop/params`: each `param` of a document with its type, default, range
//! and doc, for a slider panel.
//!
//! Request: `{textDocument}`. Response: `[{name, type, default, min, max,
//! doc, range}]` (`range`: the item's LSP range).

use crate::convert::Lines;
use chop_ide::{preview, Doc};
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

/// The params of `doc`.
pub fn params(doc: &Doc, lines: &Lines<'_>) -> Value {
    let rows: Vec<Value> = preview::params(doc)
        .into_iter()
        .map(|param| {
            let mut row = serde_json::to_value(&param).unwrap_or_else(|_| json!({}));
            if let Some(object) = row.as_object_mut() {
                object.insert("range".into(), json!(lines.range(param.span)));
            }
            row
        })
        .collect();
    Value::Array(rows)
}
