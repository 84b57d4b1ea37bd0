//! `textDocument/inlayHint`: the inferred types of `let`s without a written
//! type, and parameter names at call sites.

use crate::convert::Lines;
use chop_ide::hints::{self, HintKind};
use chop_ide::Doc;
use chunkvm::syntax::span::Span;
use tower_lsp_server::ls_types::{InlayHint, InlayHintKind, InlayHintLabel};

/// The hints in `span`.
pub fn inlay_hints(doc: &Doc, lines: &Lines<'_>, span: Span) -> Vec<InlayHint> {
    hints::inlay_hints(doc, span)
        .into_iter()
        .map(|hint| {
            let parameter = hint.kind == HintKind::Parameter;
            InlayHint {
                position: lines.position(hint.offset),
                label: InlayHintLabel::String(hint.label),
                kind: Some(if parameter {
                    InlayHintKind::PARAMETER
                } else {
                    InlayHintKind::TYPE
                }),
                text_edits: None,
                tooltip: None,
                padding_left: None,
                padding_right: Some(parameter),
                data: None,
            }
        })
        .collect()
}
