//! `textDocument/selectionRange`: for each position, the nested ranges
//! around it, innermost first, each with the next as its parent.

use crate::convert::Lines;
use chop_ide::{outline, Doc};
use chunkvm::syntax::span::Span;
use tower_lsp_server::ls_types::{Position, SelectionRange};

/// One selection range per position (a position past the end of the text
/// gets the empty range at the end).
pub fn selection_ranges(
    doc: &Doc,
    lines: &Lines<'_>,
    positions: &[Position],
) -> Vec<SelectionRange> {
    let offsets: Vec<Option<usize>> = positions.iter().map(|pos| lines.offset(*pos)).collect();
    let known: Vec<usize> = offsets.iter().flatten().copied().collect();
    let mut found = outline::selection_ranges(doc, &known).into_iter();
    offsets
        .iter()
        .map(|offset| {
            let spans = match offset {
                Some(_) => found.next().unwrap_or_default(),
                None => Vec::new(),
            };
            let mut parent: Option<SelectionRange> = None;
            for span in spans.iter().rev() {
                parent = Some(SelectionRange {
                    range: lines.range(*span),
                    parent: parent.map(Box::new),
                });
            }
            parent.unwrap_or_else(|| {
                let at = offset.unwrap_or(doc.text.len());
                SelectionRange {
                    range: lines.range(Span::new(at, at)),
                    parent: None,
                }
            })
        })
        .collect()
}
