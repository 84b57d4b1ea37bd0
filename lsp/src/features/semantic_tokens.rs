//! `textDocument/semanticTokens/full`, `.../full/delta` and `.../range`:
//! every token classified by what it is (keywords, types, functions,
//! parameters, variables, fields, literals, comments, operators), columns
//! counted in the negotiated encoding. The server keeps the last full
//! result of each document to answer a delta request with one edit.

use crate::convert::{semantic, Lines};
use chop_ide::Doc;
use chunkvm::syntax::span::Span;
use tower_lsp_server::ls_types::{
    SemanticToken, SemanticTokens, SemanticTokensEdit, SemanticTokensLegend,
};

/// The legend: the token types and modifiers the encoding indexes.
pub fn legend() -> SemanticTokensLegend {
    semantic::legend()
}

/// The tokens of the whole document, encoded.
pub fn full(doc: &Doc, lines: &Lines<'_>) -> Vec<u32> {
    semantic::encode(&chop_ide::semantic::tokens(doc), lines)
}

/// The tokens of `span`, encoded.
pub fn range(doc: &Doc, lines: &Lines<'_>, span: Span) -> Vec<u32> {
    semantic::encode(&chop_ide::semantic::tokens_in(doc, span), lines)
}

/// The edits from the encoding `old` to `new` (none when they are equal).
pub fn delta(old: &[u32], new: &[u32]) -> Vec<SemanticTokensEdit> {
    semantic::delta(old, new)
        .into_iter()
        .map(|(start, delete_count, data)| SemanticTokensEdit {
            start,
            delete_count,
            data: Some(to_tokens(&data)),
        })
        .collect()
}

/// The response holding the encoding `data`.
pub fn tokens(data: Vec<u32>, result_id: Option<String>) -> SemanticTokens {
    SemanticTokens {
        result_id,
        data: to_tokens(&data),
    }
}

/// Five integers per token, as ls-types wants them.
fn to_tokens(data: &[u32]) -> Vec<SemanticToken> {
    data.chunks_exact(5)
        .map(|c| SemanticToken {
            delta_line: c[0],
            delta_start: c[1],
            length: c[2],
            token_type: c[3],
            token_modifiers_bitset: c[4],
        })
        .collect()
}
