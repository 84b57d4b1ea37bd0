//! `chop/chunkGraph`: the basic-block chunk graph of a function, as DOT,
//! JSON nodes and edges, and SVG.
//!
//! Request: `{textDocument, position?, function?}` (the function named, else
//! the innermost function, filter or closure around the position; `null`
//! outside any function). Response:
//! `{function, dot, nodes, edges, svg}`; each node also gets `location`, its
//! source range as an LSP range of the document (for jumping to it).

use crate::convert::Lines;
use crate::guard::failed;
use chop_ide::{preview, Doc};
use chunkvm::syntax::ast::ItemKind;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Position, TextDocumentIdentifier};

/// The request's parameters.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkGraphParams {
    /// The document.
    pub text_document: TextDocumentIdentifier,
    /// A position inside the function.
    pub position: Option<Position>,
    /// The function's name (wins over `position`).
    pub function: Option<String>,
}

/// The graph, or why there is none (the file has errors, no such function).
pub fn chunk_graph(doc: &Doc, lines: &Lines<'_>, params: &ChunkGraphParams) -> Result<Value> {
    let offset = match (&params.function, params.position) {
        (Some(_), _) => None,
        (None, Some(pos)) => {
            let in_function = lines.offset(pos).filter(|offset| {
                doc.item_at(*offset)
                    .is_some_and(|(_, item)| matches!(item.kind, ItemKind::Function(_)))
            });
            match in_function {
                Some(offset) => Some(offset),
                // Not in a function: nothing to show.
                None => return Ok(Value::Null),
            }
        }
        (None, None) => None,
    };
    let graph = preview::chunk_graph_or_why(doc, params.function.as_deref(), offset)
        .map_err(|err| failed(err.to_string()))?;
    let mut nodes = serde_json::to_value(&graph.nodes).unwrap_or_else(|_| json!([]));
    if let Some(nodes) = nodes.as_array_mut() {
        for (node, value) in graph.nodes.iter().zip(nodes.iter_mut()) {
            let location = node.range.map(|range| {
                let span = chunkvm::syntax::span::Span::new(range.start.offset, range.end.offset);
                json!(lines.range(span))
            });
            if let Some(object) = value.as_object_mut() {
                object.insert("location".into(), location.unwrap_or(Value::Null));
            }
        }
    }
    Ok(json!({
        "function": graph.function,
        "dot": graph.to_dot(),
        "nodes": nodes,
        "edges": graph.edges,
        "svg": graph.to_svg(),
    }))
}
