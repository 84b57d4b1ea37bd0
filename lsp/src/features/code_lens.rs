//! `textDocument/codeLens`: "Preview", "Show chunk graph" and "Debug" above
//! each filter ("Preview" above pipelines, "Show chunk graph" above
//! functions). The commands are the client's (`chop.preview`,
//! `chop.showChunkGraph`, `chop.debug`); their one argument is an object with
//! the document's `uri` and the item (`filter`, `pipeline` or `function`).

use crate::convert::Lines;
use chop_ide::{hints, Doc};
use serde_json::Value;
use tower_lsp_server::ls_types::{CodeLens, Command, Uri};

/// The lenses of `doc`.
pub fn code_lenses(doc: &Doc, lines: &Lines<'_>, uri: &Uri) -> Vec<CodeLens> {
    hints::code_lenses(doc)
        .into_iter()
        .map(|lens| {
            let mut argument = match lens.arguments {
                Value::Object(object) => object,
                Value::Null => serde_json::Map::new(),
                other => serde_json::Map::from_iter([("value".to_string(), other)]),
            };
            argument.insert("uri".into(), Value::String(uri.as_str().to_string()));
            CodeLens {
                range: lines.range(lens.span),
                command: Some(Command {
                    title: lens.title,
                    command: lens.command,
                    arguments: Some(vec![Value::Object(argument)]),
                }),
                data: None,
            }
        })
        .collect()
}
