//! Helpers of the language server's tests: fixtures with a cursor (`$0`) and
//! marked ranges (`«...»`), a started server with one open document, and
//! conversions between fixture offsets and LSP positions.

#![allow(dead_code, clippy::unwrap_used)]

use chop_lsp::harness::{success, TestClient};
use serde_json::{json, Value};

/// The URI fixtures are opened at.
pub const URI: &str = "file:///work/fixture.chop";

/// A fixture: the text without its markers, the cursor, the marked ranges (byte spans).
#[derive(Clone, Debug)]
pub struct Fixture {
    pub text: String,
    pub cursor: Option<usize>,
    pub ranges: Vec<(usize, usize)>,
}

impl Fixture {
    /// Reads `$0` (the cursor) and `«...»` (ranges) out of `source`.
    pub fn parse(source: &str) -> Fixture {
        let mut text = String::new();
        let mut cursor = None;
        let mut ranges = Vec::new();
        let mut open = Vec::new();
        let mut rest = source;
        while let Some(ch) = rest.chars().next() {
            if rest.starts_with("$0") {
                cursor = Some(text.len());
                rest = &rest[2..];
                continue;
            }
            match ch {
                '«' => open.push(text.len()),
                '»' => ranges.push((open.pop().expect("« before »"), text.len())),
                other => text.push(other),
            }
            rest = &rest[ch.len_utf8()..];
        }
        ranges.sort();
        Fixture {
            text,
            cursor,
            ranges,
        }
    }

    /// The LSP position (UTF-16) of byte `offset`.
    pub fn pos(&self, offset: usize) -> Value {
        pos_in(&self.text, offset)
    }

    /// The LSP position of the cursor.
    pub fn cursor_pos(&self) -> Value {
        self.pos(self.cursor.expect("a $0 in the fixture"))
    }

    /// The marked ranges as LSP ranges.
    pub fn lsp_ranges(&self) -> Vec<Value> {
        self.ranges
            .iter()
            .map(|(start, end)| json!({"start": self.pos(*start), "end": self.pos(*end)}))
            .collect()
    }

    /// `{textDocument, position}` at the cursor.
    pub fn at_cursor(&self) -> Value {
        json!({"textDocument": {"uri": URI}, "position": self.cursor_pos()})
    }
}

/// The UTF-16 position of byte `offset` of `text`.
pub fn pos_in(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |at| at + 1);
    let col = text[start..offset].encode_utf16().count();
    json!({"line": line, "character": col})
}

/// The byte offset of an LSP position (UTF-16) in `text`.
pub fn offset_in(text: &str, pos: &Value) -> usize {
    let line = pos["line"].as_u64().unwrap() as usize;
    let col = pos["character"].as_u64().unwrap() as usize;
    let mut start = 0;
    for _ in 0..line {
        start += text[start..].find('\n').unwrap() + 1;
    }
    let mut units = 0;
    for (idx, ch) in text[start..].char_indices() {
        if units >= col || ch == '\n' {
            return start + idx;
        }
        units += ch.len_utf16();
    }
    text.len()
}

/// Applies LSP text edits (UTF-16) to `text`.
pub fn apply_edits(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|edit| {
            (
                offset_in(text, &edit["range"]["start"]),
                offset_in(text, &edit["range"]["end"]),
                edit["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    spans.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, &new);
    }
    out
}

/// The text an LSP range covers.
pub fn text_of(text: &str, range: &Value) -> String {
    text[offset_in(text, &range["start"])..offset_in(text, &range["end"])].to_string()
}

/// The `result` of `response`, asserting that it is a success (no `error`,
/// a `result`): `response["result"]` alone is `null` for an error too.
pub fn ok(method: &str, response: &Value) -> Value {
    match success(response) {
        Some(result) => result.clone(),
        None => panic!("{method}: not a successful response: {response}"),
    }
}

/// Client capabilities of a capable client (snippets, related information,
/// hierarchical symbols, progress, prepareRename).
pub fn capable() -> Value {
    json!({
        "textDocument": {
            "completion": {"completionItem": {"snippetSupport": true}},
            "publishDiagnostics": {"relatedInformation": true},
            "documentSymbol": {"hierarchicalDocumentSymbolSupport": true},
            "hover": {"contentFormat": ["markdown", "plaintext"]},
            "rename": {"prepareSupport": true},
        },
        "window": {"workDoneProgress": true},
    })
}

/// A server with `text` open at [`URI`], its first diagnostics received.
pub async fn open(text: &str) -> TestClient {
    open_with(text, capable(), json!({})).await
}

/// [`open`] with given capabilities and initialization options.
pub async fn open_with(text: &str, caps: Value, options: Value) -> TestClient {
    let client = TestClient::start();
    client.initialize(caps, options).await;
    client.open(URI, text).await;
    client
        .diagnostics(URI, 1)
        .await
        .expect("diagnostics on open");
    client
}

/// Marks the ranges of `ranges` (LSP, UTF-16) in `text` with `«»`, for snapshots.
pub fn mark(text: &str, ranges: &[Value]) -> String {
    let mut spans: Vec<(usize, usize)> = ranges
        .iter()
        .map(|range| {
            (
                offset_in(text, &range["start"]),
                offset_in(text, &range["end"]),
            )
        })
        .collect();
    spans.sort();
    let mut inserts: Vec<(usize, char)> = Vec::new();
    for (start, end) in spans {
        inserts.push((start, '«'));
        inserts.push((end, '»'));
    }
    inserts.sort_by_key(|(at, ch)| (std::cmp::Reverse(*at), *ch == '«'));
    let mut out = text.to_string();
    for (at, ch) in inserts {
        out.insert(at, ch);
    }
    out
}
