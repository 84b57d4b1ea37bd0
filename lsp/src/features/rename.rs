//! `textDocument/prepareRename` and `textDocument/rename`. A refusal (a
//! builtin, a keyword, a field, an invalid or clashing new name) is an error
//! response whose message says why.

use crate::convert::Lines;
use crate::guard::failed;
use chop_ide::navigation::{self, RenameRefused};
use chop_ide::Doc;
use std::collections::HashMap;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{PrepareRenameResponse, TextEdit, Uri, WorkspaceEdit};

/// A refused rename as the client sees it: a `RequestFailed` error whose message says why.
fn refusal(refused: RenameRefused) -> tower_lsp_server::jsonrpc::Error {
    failed(refused.to_string())
}

/// The range of the name that would be renamed, or why it cannot be.
pub fn prepare(doc: &Doc, lines: &Lines<'_>, offset: usize) -> Result<PrepareRenameResponse> {
    navigation::prepare_rename(doc, offset)
        .map(|span| PrepareRenameResponse::Range(lines.range(span)))
        .map_err(refusal)
}

/// The edits renaming the name at `offset` to `new_name`, or why not.
pub fn rename(
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    offset: usize,
    new_name: &str,
) -> Result<WorkspaceEdit> {
    let edits = navigation::rename(doc, offset, new_name).map_err(refusal)?;
    let edits = edits
        .into_iter()
        .map(|edit| TextEdit::new(lines.range(edit.span), edit.text))
        .collect();
    Ok(WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    })
}
