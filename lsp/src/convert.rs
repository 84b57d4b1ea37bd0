//! The boundary between LSP and the analysis: positions, ranges, URIs and
//! the small enums, converted in one place.
//!
//! The analysis (`chop_ide`) speaks in byte offsets and [`Span`]s; LSP
//! speaks in 0-based lines and columns counted in the negotiated position
//! encoding: UTF-8 code units (bytes) when the client offers them, else
//! UTF-16 code units. Lines end at `\n` (a `\r` before it belongs to the
//! line ending, not to the line), as in [`LineIndex`] and in a
//! [`Document`]'s lines. A column past the end of its line means the line's end (as the
//! specification says); a line past the end of the text is no position at
//! all (`None`), so requests about it answer with an empty result.

pub mod semantic;
pub mod snippet;

use chop_ide::actions::ActionKind;
use chop_ide::hints::LensAction;
use chop_ide::{Doc, Document};
use chunkvm::diag::{Code, Severity};
use chunkvm::syntax::span::{LineIndex, Span};
use serde_json::Value;
use std::path::PathBuf;
use tower_lsp_server::ls_types::{
    ClientCapabilities, CodeActionKind, DiagnosticSeverity, DiagnosticTag, NumberOrString,
    Position, PositionEncodingKind, Range, Uri,
};

/// How columns are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Bytes of UTF-8.
    Utf8,
    /// Code units of UTF-16 (the protocol's default).
    #[default]
    Utf16,
}

impl Encoding {
    /// UTF-8 when the client lists it in `general.positionEncodings`, else UTF-16.
    pub fn negotiate(caps: &ClientCapabilities) -> Encoding {
        let offered = caps
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_ref());
        match offered {
            Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
            _ => Encoding::Utf16,
        }
    }

    /// The encoding's name in the protocol.
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }

    /// Code units of `ch` in this encoding.
    pub fn width(self, ch: char) -> usize {
        match self {
            Encoding::Utf8 => ch.len_utf8(),
            Encoding::Utf16 => ch.len_utf16(),
        }
    }

    /// Code units of `text` in this encoding.
    pub fn len(self, text: &str) -> usize {
        match self {
            Encoding::Utf8 => text.len(),
            Encoding::Utf16 => text.chars().map(char::len_utf16).sum(),
        }
    }

    /// The byte offset in `line` (one line, its ending excluded or not) of
    /// the column `units`; a column inside a character snaps to the
    /// character's start, one past the line's content to its end.
    pub fn byte_of_column(self, line: &str, units: u32) -> usize {
        let content = line_content(line);
        if self == Encoding::Utf8 {
            let mut at = (units as usize).min(content.len());
            while !content.is_char_boundary(at) {
                at -= 1;
            }
            return at;
        }
        let mut seen = 0usize;
        for (idx, ch) in content.char_indices() {
            let next = seen + self.width(ch);
            if next > units as usize {
                return idx;
            }
            seen = next;
        }
        content.len()
    }
}

/// A line without its `\n` or `\r\n`.
pub fn line_content(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// Positions of one text: converts between byte offsets and LSP positions.
#[derive(Clone, Copy)]
pub struct Lines<'a> {
    text: &'a str,
    index: &'a LineIndex,
    enc: Encoding,
}

impl<'a> Lines<'a> {
    /// The positions of `text`, whose lines `index` holds.
    pub fn new(text: &'a str, index: &'a LineIndex, enc: Encoding) -> Lines<'a> {
        Lines { text, index, enc }
    }

    /// The positions of an analysed document.
    pub fn of(doc: &'a Doc, enc: Encoding) -> Lines<'a> {
        Lines::new(&doc.text, &doc.lines, enc)
    }

    /// The encoding.
    pub fn encoding(&self) -> Encoding {
        self.enc
    }

    /// The text of 0-based `line` with its ending; `None` past the last line.
    fn line_text(&self, line: usize) -> Option<(usize, &'a str)> {
        let start = self.index.line_start(line)?;
        let end = self
            .index
            .line_start(line + 1)
            .unwrap_or(self.text.len())
            .max(start);
        Some((start, self.text.get(start..end).unwrap_or("")))
    }

    /// The byte offset of `pos`; `None` when its line is past the end of the text.
    pub fn offset(&self, pos: Position) -> Option<usize> {
        let (start, line) = self.line_text(pos.line as usize)?;
        Some(start + self.enc.byte_of_column(line, pos.character))
    }

    /// The position of byte offset `offset` (clamped to the text, and to a
    /// character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.index.line_of(offset);
        let start = self.index.line_start(line).unwrap_or(0).min(offset);
        let prefix = self.text.get(start..offset).unwrap_or("");
        Position::new(line as u32, self.enc.len(prefix) as u32)
    }

    /// The range of a span.
    pub fn range(&self, span: Span) -> Range {
        Range::new(
            self.position(span.start),
            self.position(span.end.max(span.start)),
        )
    }

    /// The span of a range; `None` when it starts past the end of the text.
    /// An end past the end of the text means the end of the text; an end
    /// before the start means the start.
    pub fn span(&self, range: Range) -> Option<Span> {
        let start = self.offset(range.start)?;
        let end = self.offset(range.end).unwrap_or(self.text.len()).max(start);
        Some(Span::new(start, end))
    }

    /// The column, in this encoding, of the byte `col` of `line` (a line's
    /// text): what semantic tokens count in.
    pub fn column_in(&self, line: &str, col: usize) -> u32 {
        let mut col = col.min(line.len());
        while !line.is_char_boundary(col) {
            col -= 1;
        }
        self.enc.len(&line[..col]) as u32
    }

    /// The position just after the whole text.
    pub fn end(&self) -> Position {
        self.position(self.text.len())
    }
}

/// The offset in a signature's label of its byte `at`, as a parameter's
/// label offsets count it: in UTF-16 code units whatever the position
/// encoding (clients index labels as JavaScript strings). A byte inside a
/// character means the character's start; past the end, the label's end.
pub fn label_offset(label: &str, at: usize) -> u32 {
    let mut at = at.min(label.len());
    while !label.is_char_boundary(at) {
        at -= 1;
    }
    label
        .get(..at)
        .map_or(0, |prefix| prefix.encode_utf16().count() as u32)
}

/// The byte offset of `pos` in a document being edited, clamped to its
/// text: a column past the end of its line means the line's end, a line
/// past the last line the end of the text (as for edits the specification
/// wants).
pub fn document_offset(document: &Document, pos: Position, enc: Encoding) -> usize {
    match document.line(pos.line as usize) {
        Some((start, line)) => start + enc.byte_of_column(&line, pos.character),
        None => document.len(),
    }
}

/// The span of `range` in a document being edited (see
/// [`document_offset`]); an end before the start means the start.
pub fn document_span(document: &Document, range: Range, enc: Encoding) -> Span {
    let start = document_offset(document, range.start, enc);
    let end = document_offset(document, range.end, enc).max(start);
    Span::new(start, end)
}

/// The path of a `file:` URI.
pub fn path_of(uri: &Uri) -> Option<PathBuf> {
    let scheme = uri.scheme().as_str();
    if !scheme.eq_ignore_ascii_case("file") {
        return None;
    }
    uri.to_file_path().map(|path| path.into_owned())
}

/// The `file:` URI of a path.
pub fn uri_of(path: &std::path::Path) -> Option<Uri> {
    Uri::from_file_path(path)
}

/// A diagnostic's severity.
pub fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
    }
}

/// A diagnostic's code, as sent: `E0004`.
pub fn code(code: Code) -> NumberOrString {
    NumberOrString::String(code.as_str().to_string())
}

/// A code action's kind.
pub fn action_kind(kind: ActionKind) -> CodeActionKind {
    match kind {
        ActionKind::QuickFix => CodeActionKind::QUICKFIX,
    }
}

/// The client command a code lens runs (`chop.preview`, `chop.showChunkGraph`,
/// `chop.debug`) and its argument object (`{"filter": name}`, ...; the
/// caller adds the document's `uri`).
pub fn lens_command(action: &LensAction) -> (&'static str, serde_json::Map<String, Value>) {
    let (command, key, name) = match action {
        LensAction::PreviewFilter { filter } => ("chop.preview", "filter", filter),
        LensAction::PreviewPipeline { pipeline } => ("chop.preview", "pipeline", pipeline),
        LensAction::ShowGraph { function } => ("chop.showChunkGraph", "function", function),
        LensAction::Debug { filter } => ("chop.debug", "filter", filter),
    };
    let argument = serde_json::Map::from_iter([(key.to_string(), Value::String(name.clone()))]);
    (command, argument)
}

/// Tags of a diagnostic: unreachable code and unused variables fade.
pub fn tags(code: Code) -> Option<Vec<DiagnosticTag>> {
    match code {
        Code::Unreachable | Code::UnusedVariable => Some(vec![DiagnosticTag::UNNECESSARY]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> LineIndex {
        LineIndex::new(text)
    }

    // "é" is 2 bytes and 1 UTF-16 unit, "🎨" 4 bytes and 2 UTF-16 units.
    const TEXT: &str =
        "// café 🎨 art\nfn main() {\n    print(\"naïve 🎨🎨\", x);\n}\r\nlet ü = 1;\n";

    #[test]
    fn offsets_and_positions_round_trip_in_both_encodings() {
        let index = lines(TEXT);
        for enc in [Encoding::Utf8, Encoding::Utf16] {
            let map = Lines::new(TEXT, &index, enc);
            for (offset, _) in TEXT.char_indices().chain([(TEXT.len(), ' ')]) {
                let pos = map.position(offset);
                let back = map.offset(pos).unwrap();
                if TEXT[..offset].ends_with('\r') || TEXT[offset..].starts_with('\n') {
                    // At a line's end (before `\r` or `\n`): the content's end.
                    assert!(back <= offset, "{enc:?} {offset} {pos:?} {back}");
                } else {
                    assert_eq!(back, offset, "{enc:?} {offset} {pos:?}");
                }
            }
        }
    }

    #[test]
    fn columns_count_the_encodings_units() {
        let index = lines(TEXT);
        let x = TEXT.find("x);").unwrap();
        let utf8 = Lines::new(TEXT, &index, Encoding::Utf8).position(x);
        let utf16 = Lines::new(TEXT, &index, Encoding::Utf16).position(x);
        // `    print("naïve 🎨🎨", ` is 4 + 7 + 6 (naïve + ï counts 2 bytes) ...
        let prefix = &TEXT[TEXT.find("    print").unwrap()..x];
        assert_eq!(utf8, Position::new(2, prefix.len() as u32));
        assert_eq!(
            utf16,
            Position::new(2, prefix.encode_utf16().count() as u32)
        );
        assert_eq!(utf8.character - utf16.character, 1 + 2 * 2);
        let art = TEXT.find("art").unwrap();
        assert_eq!(
            Lines::new(TEXT, &index, Encoding::Utf16).position(art),
            Position::new(0, 11)
        );
        assert_eq!(
            Lines::new(TEXT, &index, Encoding::Utf8).position(art),
            Position::new(0, 14)
        );
    }

    #[test]
    fn positions_inside_a_character_snap_to_its_start() {
        let index = lines(TEXT);
        let emoji = TEXT.find('🎨').unwrap();
        let utf16 = Lines::new(TEXT, &index, Encoding::Utf16);
        // Column 8 is the emoji's first unit, 9 its second (inside the pair).
        assert_eq!(utf16.offset(Position::new(0, 8)), Some(emoji));
        assert_eq!(utf16.offset(Position::new(0, 9)), Some(emoji));
        assert_eq!(utf16.offset(Position::new(0, 10)), Some(emoji + 4));
        let utf8 = Lines::new(TEXT, &index, Encoding::Utf8);
        assert_eq!(utf8.offset(Position::new(0, 9)), Some(emoji));
        assert_eq!(utf8.offset(Position::new(0, 11)), Some(emoji));
        assert_eq!(utf8.offset(Position::new(0, 13)), Some(emoji + 4));
        // A byte offset inside a character snaps back too.
        assert_eq!(utf16.position(emoji + 2), Position::new(0, 8));
    }

    #[test]
    fn past_the_end_of_a_line_or_the_text() {
        let index = lines(TEXT);
        let map = Lines::new(TEXT, &index, Encoding::Utf16);
        let line_end = TEXT.find('\n').unwrap();
        assert_eq!(map.offset(Position::new(0, 999)), Some(line_end));
        // `}\r\n`: the end of line 3 is before the `\r`.
        let brace = TEXT.find("}\r\n").unwrap();
        assert_eq!(map.offset(Position::new(3, 5)), Some(brace + 1));
        // The empty last line exists; the one after it does not.
        assert_eq!(map.offset(Position::new(5, 0)), Some(TEXT.len()));
        assert_eq!(map.offset(Position::new(6, 0)), None);
        assert_eq!(map.position(TEXT.len() + 10), Position::new(5, 0));
        assert_eq!(map.end(), Position::new(5, 0));
        let span = map
            .span(Range::new(Position::new(4, 0), Position::new(99, 0)))
            .unwrap();
        assert_eq!(span, Span::new(TEXT.find("let").unwrap(), TEXT.len()));
        assert!(map
            .span(Range::new(Position::new(9, 0), Position::new(9, 1)))
            .is_none());
    }

    #[test]
    fn ranges_of_spans() {
        let index = lines(TEXT);
        let start = TEXT.find("ü").unwrap();
        let span = Span::new(start, start + "ü".len());
        let utf16 = Lines::new(TEXT, &index, Encoding::Utf16).range(span);
        assert_eq!(utf16, Range::new(Position::new(4, 4), Position::new(4, 5)));
        let utf8 = Lines::new(TEXT, &index, Encoding::Utf8).range(span);
        assert_eq!(utf8, Range::new(Position::new(4, 4), Position::new(4, 6)));
        assert_eq!(
            Lines::new(TEXT, &index, Encoding::Utf8).span(utf8),
            Some(span)
        );
        assert_eq!(
            Lines::new(TEXT, &index, Encoding::Utf16).span(utf16),
            Some(span)
        );
    }

    #[test]
    fn column_in_a_line() {
        let index = lines(TEXT);
        let map = Lines::new(TEXT, &index, Encoding::Utf16);
        let line = "a🎨b";
        assert_eq!(map.column_in(line, 5), 3);
        assert_eq!(map.column_in(line, 2), 1);
        assert_eq!(map.column_in(line, 100), 4);
    }

    /// A document being edited converts positions as the analysed text
    /// does: every offset of a text of many lines (long enough for lines to
    /// straddle the rope's pieces), with multi-byte characters and CRLF, in
    /// both encodings; past the end, the end.
    #[test]
    fn positions_in_a_document_being_edited() {
        let text = TEXT.repeat(60);
        let index = lines(&text);
        let document = Document::new(&text);
        for enc in [Encoding::Utf8, Encoding::Utf16] {
            let map = Lines::new(&text, &index, enc);
            for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
                let pos = map.position(offset);
                assert_eq!(
                    document_offset(&document, pos, enc),
                    map.offset(pos).unwrap(),
                    "{enc:?} {offset} {pos:?}"
                );
            }
            let last = map.end();
            let past = Position::new(last.line + 1, 0);
            assert_eq!(document_offset(&document, past, enc), text.len());
            let beyond = Position::new(last.line, 99);
            assert_eq!(document_offset(&document, beyond, enc), text.len());
            let reversed = Range::new(Position::new(1, 4), Position::new(1, 2));
            let start = text.find("fn main").unwrap() + 4;
            assert_eq!(
                document_span(&document, reversed, enc),
                Span::new(start, start)
            );
        }
        // Inside the emoji's surrogate pair: its start.
        let emoji = TEXT.find('🎨').unwrap();
        let inside = Position::new(0, 9);
        assert_eq!(document_offset(&document, inside, Encoding::Utf16), emoji);
    }

    #[test]
    fn label_offsets_count_utf16_units() {
        let label = "fn f(é: int, 🎨: float)";
        let emoji = label.find('🎨').unwrap();
        // `fn f(é: int, ` is 14 bytes, 13 UTF-16 units; the emoji is 2 units.
        assert_eq!(label_offset(label, emoji), 13);
        assert_eq!(label_offset(label, emoji + 4), 15);
        assert_eq!(label_offset(label, emoji + 2), 13);
        assert_eq!(
            label_offset(label, 999),
            label.encode_utf16().count() as u32
        );
    }

    #[test]
    fn negotiation_prefers_utf8() {
        let caps: ClientCapabilities = serde_json::from_value(
            serde_json::json!({"general": {"positionEncodings": ["utf-16", "utf-8"]}}),
        )
        .unwrap();
        assert_eq!(Encoding::negotiate(&caps), Encoding::Utf8);
        let caps: ClientCapabilities = serde_json::from_value(
            serde_json::json!({"general": {"positionEncodings": ["utf-32", "utf-16"]}}),
        )
        .unwrap();
        assert_eq!(Encoding::negotiate(&caps), Encoding::Utf16);
        assert_eq!(
            Encoding::negotiate(&ClientCapabilities::default()),
            Encoding::Utf16
        );
    }

    #[test]
    fn uris_and_paths() {
        let uri: Uri = "file:///tmp/a%20b/caf%C3%A9.chop".parse().unwrap();
        assert_eq!(
            path_of(&uri),
            Some(PathBuf::from("/tmp/a b/caf\u{e9}.chop"))
        );
        let untitled: Uri = "untitled:Untitled-1".parse().unwrap();
        assert_eq!(path_of(&untitled), None);
        let back = uri_of(std::path::Path::new("/tmp/a b/caf\u{e9}.chop")).unwrap();
        assert_eq!(
            path_of(&back),
            Some(PathBuf::from("/tmp/a b/caf\u{e9}.chop"))
        );
    }
}
