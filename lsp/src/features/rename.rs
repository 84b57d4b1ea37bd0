//! `textDocument/prepareRename` and `textDocument/rename`. A refusal (a
//! builtin, a keyword, a field, an invalid or clashing new name) is an error
//! response whose message says why (and in which file, when it is another).
//!
//! An item is renamed in every file that names it (see
//! [`gather`](super::references::gather)): one `WorkspaceEdit`, with
//! `documentChanges` carrying the open documents' versions when the client
//! takes them. Only the name is edited: in `m.f`, `f`; never an alias.

use super::references::{gather, target, Workspace};
use crate::convert::Lines;
use crate::guard::failed;
use chop_ide::navigation::{self, RenameRefused};
use chop_ide::Doc;
use std::collections::HashMap;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier, PrepareRenameResponse,
    TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

/// A refused rename as the client sees it: a `RequestFailed` error whose message says why.
fn refusal(refused: RenameRefused) -> tower_lsp_server::jsonrpc::Error {
    failed(refused.to_string())
}

/// The range of the name that would be renamed, or why it cannot be: an item
/// of a used file may be renamed from a file using it (in `m.f`, the `f`).
pub fn prepare(
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    offset: usize,
) -> Result<PrepareRenameResponse> {
    if let Some((path, item)) = target(doc, uri, offset) {
        let uses = navigation::uses_of(doc, &path, &item);
        let here = uses
            .iter()
            .find(|used| used.span.start <= offset && offset <= used.span.end)
            .or_else(|| uses.iter().find(|used| used.span.start >= offset));
        if let Some(used) = here {
            return Ok(PrepareRenameResponse::Range(lines.range(used.span)));
        }
    }
    navigation::prepare_rename(doc, offset)
        .map(|span| PrepareRenameResponse::Range(lines.range(span)))
        .map_err(refusal)
}

/// The edits of one file: its URI, its version when it is open, the edits.
type FileEdits = (Uri, Option<i32>, Vec<TextEdit>);

/// The edits renaming the name at `offset` to `new_name`, or why not: a local in
/// its document; an item in every file of `ws` that names it, refused when the
/// new name clashes in any of them. `versioned`: the client takes
/// `documentChanges`.
pub fn rename(
    ws: &Workspace,
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    offset: usize,
    new_name: &str,
    versioned: bool,
) -> Result<WorkspaceEdit> {
    let Some((_, item)) = target(doc, uri, offset) else {
        let edits = navigation::rename(doc, offset, new_name).map_err(refusal)?;
        let edits = edits
            .into_iter()
            .map(|edit| TextEdit::new(lines.range(edit.span), edit.text))
            .collect();
        let version = ws
            .open
            .iter()
            .find(|(open, _, _)| open == uri)
            .map(|(_, version, _)| *version);
        return Ok(workspace_edit(
            vec![(uri.clone(), version, edits)],
            versioned,
        ));
    };
    navigation::check_new_name(new_name).map_err(refusal)?;
    if item.name == new_name {
        return Ok(workspace_edit(Vec::new(), versioned));
    }
    let mut files = Vec::new();
    for found in gather(ws, &item) {
        navigation::rename_clash(&found.doc, &found.path, &item, new_name, &found.uses).map_err(
            |refused| {
                if &found.uri == uri {
                    refusal(refused)
                } else {
                    refusal(RenameRefused::InFile {
                        file: found.path.display().to_string(),
                        refused: Box::new(refused),
                    })
                }
            },
        )?;
        let lines = Lines::of(&found.doc, ws.enc);
        let edits: Vec<TextEdit> = found
            .uses
            .iter()
            .map(|used| TextEdit::new(lines.range(used.span), new_name.to_string()))
            .collect();
        if !edits.is_empty() {
            files.push((found.uri, found.version, edits));
        }
    }
    Ok(workspace_edit(files, versioned))
}

/// One `WorkspaceEdit` of the files' edits: `documentChanges` (with the open
/// documents' versions) when `versioned`, else `changes`.
fn workspace_edit(files: Vec<FileEdits>, versioned: bool) -> WorkspaceEdit {
    if versioned {
        let edits = files
            .into_iter()
            .map(|(uri, version, edits)| TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier { uri, version },
                edits: edits.into_iter().map(OneOf::Left).collect(),
            })
            .collect();
        return WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(edits)),
            ..WorkspaceEdit::default()
        };
    }
    WorkspaceEdit {
        changes: Some(
            files
                .into_iter()
                .map(|(uri, _, edits)| (uri, edits))
                .collect::<HashMap<_, _>>(),
        ),
        ..WorkspaceEdit::default()
    }
}
