//! `textDocument/foldingRange`: items, blocks and lists over several lines,
//! runs of comments.

use chop_ide::outline::{folding_ranges as folds, FoldKind};
use chop_ide::Doc;
use tower_lsp_server::ls_types::{FoldingRange, FoldingRangeKind};

/// The folding ranges of `doc` (whole lines).
pub fn folding_ranges(doc: &Doc) -> Vec<FoldingRange> {
    folds(doc)
        .into_iter()
        .map(|fold| FoldingRange {
            start_line: fold.start_line,
            start_character: None,
            end_line: fold.end_line,
            end_character: None,
            kind: Some(match fold.kind {
                FoldKind::Region => FoldingRangeKind::Region,
                FoldKind::Comment => FoldingRangeKind::Comment,
            }),
            collapsed_text: None,
        })
        .collect()
}
