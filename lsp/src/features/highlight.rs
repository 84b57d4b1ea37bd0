//! `textDocument/documentHighlight`: the occurrences of the name at the
//! cursor, writes (declarations, assignments) told from reads.

use crate::convert::Lines;
use chop_ide::{navigation, Doc};
use tower_lsp_server::ls_types::{DocumentHighlight, DocumentHighlightKind};

/// The occurrences of the name at `offset`.
pub fn highlights(doc: &Doc, lines: &Lines<'_>, offset: usize) -> Vec<DocumentHighlight> {
    navigation::highlights(doc, offset)
        .into_iter()
        .map(|(span, write)| DocumentHighlight {
            range: lines.range(span),
            kind: Some(if write {
                DocumentHighlightKind::WRITE
            } else {
                DocumentHighlightKind::READ
            }),
        })
        .collect()
}
