//! `textDocument/formatting`: the formatter of `chunkvm fmt`. A file with
//! syntax errors is refused with an error response (never a broken file);
//! otherwise one edit replaces the part of the text that changed.

use crate::convert::Lines;
use crate::guard::failed;
use chop_ide::Doc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::TextEdit;

/// The edits formatting the document (none when it is formatted already).
pub fn formatting(doc: &Doc, lines: &Lines<'_>) -> Result<Vec<TextEdit>> {
    let text: &str = &doc.text;
    let formatted = chop_ide::fmt::format(text).map_err(|err| failed(err.to_string()))?;
    Ok(minimal_edit(text, &formatted, lines).into_iter().collect())
}

/// One edit turning `old` into `new`: the middle between their common prefix
/// and common suffix (on character boundaries).
pub fn minimal_edit(old: &str, new: &str, lines: &Lines<'_>) -> Option<TextEdit> {
    if old == new {
        return None;
    }
    let mut prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    let span = chunkvm::syntax::span::Span::new(prefix, old.len() - suffix);
    Some(TextEdit::new(
        lines.range(span),
        new[prefix..new.len() - suffix].to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Encoding;
    use chunkvm::syntax::span::LineIndex;

    fn apply(old: &str, edit: &TextEdit, enc: Encoding) -> String {
        let index = LineIndex::new(old);
        let span = Lines::new(old, &index, enc).span(edit.range).unwrap();
        format!(
            "{}{}{}",
            &old[..span.start],
            edit.new_text,
            &old[span.end..]
        )
    }

    #[test]
    fn minimal_edits_turn_old_into_new() {
        let cases = [
            ("abc", "abXc"),
            ("é🎨 x", "é🎨  x"),
            ("fn f(){}\n", "fn f() {}\n"),
            ("aaa", "aa"),
            ("", "x\n"),
            ("🎨", "🎩"),
        ];
        for (old, new) in cases {
            for enc in [Encoding::Utf8, Encoding::Utf16] {
                let index = LineIndex::new(old);
                let edit = minimal_edit(old, new, &Lines::new(old, &index, enc)).unwrap();
                assert_eq!(apply(old, &edit, enc), new, "{old:?} -> {new:?}");
            }
        }
        let index = LineIndex::new("x");
        assert!(minimal_edit("x", "x", &Lines::new("x", &index, Encoding::Utf8)).is_none());
    }
}
