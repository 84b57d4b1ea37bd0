//! `textDocument/hover`: the declaration (type, a `param`'s range and
//! default) and the doc comment of the name at the cursor, or a builtin's doc.

use crate::convert::Lines;
use chop_ide::{navigation, Doc};
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};

/// The hover of the name at `offset`; Markdown unless the client wants plain text.
pub fn hover(doc: &Doc, lines: &Lines<'_>, offset: usize, markdown: bool) -> Option<Hover> {
    let found = navigation::hover(doc, offset)?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: if markdown {
                MarkupKind::Markdown
            } else {
                MarkupKind::PlainText
            },
            value: found.markdown,
        }),
        range: Some(lines.range(found.span)),
    })
}
