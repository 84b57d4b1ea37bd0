//! Semantic tokens in the protocol: the legend (LSP's standard names), and
//! the relative encoding of the analysis's tokens (five integers a token,
//! columns in the negotiated encoding), with the edit from one encoding to
//! the next.

use super::Lines;
use chop_ide::semantic::{Modifier, Modifiers, Token, TokenKind};
use tower_lsp_server::ls_types::{SemanticTokenModifier, SemanticTokenType, SemanticTokensLegend};

/// The token types of the legend: a token's type is its index here.
const TYPES: [(TokenKind, SemanticTokenType); 11] = [
    (TokenKind::Keyword, SemanticTokenType::KEYWORD),
    (TokenKind::Type, SemanticTokenType::TYPE),
    (TokenKind::Function, SemanticTokenType::FUNCTION),
    (TokenKind::Method, SemanticTokenType::METHOD),
    (TokenKind::Parameter, SemanticTokenType::PARAMETER),
    (TokenKind::Variable, SemanticTokenType::VARIABLE),
    (TokenKind::Property, SemanticTokenType::PROPERTY),
    (TokenKind::Number, SemanticTokenType::NUMBER),
    (TokenKind::String, SemanticTokenType::STRING),
    (TokenKind::Comment, SemanticTokenType::COMMENT),
    (TokenKind::Operator, SemanticTokenType::OPERATOR),
];

/// The token modifiers of the legend: bit `i` of a token's modifiers is the
/// modifier at index `i` here.
const MODIFIERS: [(Modifier, SemanticTokenModifier); 6] = [
    (Modifier::Declaration, SemanticTokenModifier::DECLARATION),
    (Modifier::Readonly, SemanticTokenModifier::READONLY),
    (Modifier::Static, SemanticTokenModifier::STATIC),
    (
        Modifier::Documentation,
        SemanticTokenModifier::DOCUMENTATION,
    ),
    (
        Modifier::DefaultLibrary,
        SemanticTokenModifier::DEFAULT_LIBRARY,
    ),
    (Modifier::Modification, SemanticTokenModifier::MODIFICATION),
];

/// The legend: the token types and modifiers the encoding indexes.
pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.iter().map(|(_, name)| name.clone()).collect(),
        token_modifiers: MODIFIERS.iter().map(|(_, name)| name.clone()).collect(),
    }
}

/// A kind's index in the legend's types.
fn token_type(kind: TokenKind) -> u32 {
    match kind {
        TokenKind::Keyword => 0,
        TokenKind::Type => 1,
        TokenKind::Function => 2,
        TokenKind::Method => 3,
        TokenKind::Parameter => 4,
        TokenKind::Variable => 5,
        TokenKind::Property => 6,
        TokenKind::Number => 7,
        TokenKind::String => 8,
        TokenKind::Comment => 9,
        TokenKind::Operator => 10,
    }
}

/// A set of modifiers as the bit set over the legend's modifiers.
fn modifier_bits(set: Modifiers) -> u32 {
    if set.is_empty() {
        return 0;
    }
    MODIFIERS
        .iter()
        .enumerate()
        .filter(|(_, (modifier, _))| set.contains(*modifier))
        .fold(0, |bits, (idx, _)| bits | 1 << idx)
}

/// The LSP relative encoding of `tokens` (sorted, single-line) of the text
/// of `lines`: five integers per token, `deltaLine, deltaStart, length,
/// tokenType, tokenModifiers`, columns and lengths counted in the encoding
/// of `lines`.
pub fn encode(tokens: &[Token], lines: &Lines<'_>) -> Vec<u32> {
    let text = lines.text;
    let index = lines.index;
    let mut out = Vec::with_capacity(tokens.len() * 5);
    let mut prev_line = 0usize;
    let mut prev_col = 0u32;
    // The line of the last token: its start, its end and whether it is
    // ASCII (then a column is a byte offset in every encoding).
    let mut current: Option<(usize, usize, usize, bool)> = None;
    for token in tokens {
        let (line, line_start, line_end, ascii) = match current {
            Some(known) if token.span.start >= known.1 && token.span.start <= known.2 => known,
            _ => {
                let line = index.line_of(token.span.start.min(text.len()));
                let Some(line_start) = index.line_start(line) else {
                    continue;
                };
                let line_end = index
                    .line_start(line + 1)
                    .map_or(text.len(), |next| next.saturating_sub(1));
                let ascii = text
                    .get(line_start..line_end)
                    .is_some_and(|line| line.is_ascii());
                let known = (line, line_start, line_end, ascii);
                current = Some(known);
                known
            }
        };
        let line_text = text.get(line_start..line_end).unwrap_or("");
        let start = token.span.start.saturating_sub(line_start);
        let end = token
            .span
            .end
            .saturating_sub(line_start)
            .min(line_text.len());
        let (start_col, end_col) = if ascii {
            (start.min(line_text.len()) as u32, end as u32)
        } else {
            (
                lines.column_in(line_text, start),
                lines.column_in(line_text, end),
            )
        };
        let length = end_col.saturating_sub(start_col);
        if length == 0 || line < prev_line {
            continue;
        }
        let delta_line = (line - prev_line) as u32;
        let delta_start = if delta_line == 0 {
            start_col.saturating_sub(prev_col)
        } else {
            start_col
        };
        out.extend([
            delta_line,
            delta_start,
            length,
            token_type(token.kind),
            modifier_bits(token.modifiers),
        ]);
        prev_line = line;
        prev_col = start_col;
    }
    out
}

/// The one edit that turns the encoding `old` into `new`: `(start, delete
/// count, data)` over the integer arrays, keeping their common prefix and
/// suffix (whole tokens of five integers); empty when they are equal.
pub fn delta(old: &[u32], new: &[u32]) -> Vec<(u32, u32, Vec<u32>)> {
    if old == new {
        return Vec::new();
    }
    let mut prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    prefix -= prefix % 5;
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    suffix -= suffix % 5;
    let data = new.get(prefix..new.len() - suffix).unwrap_or(&[]).to_vec();
    vec![(prefix as u32, (old.len() - suffix - prefix) as u32, data)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Encoding;
    use chop_ide::semantic::tokens;
    use chop_ide::Doc;

    #[test]
    fn the_legend_indexes_every_kind_and_modifier_once() {
        for (idx, (kind, _)) in TYPES.iter().enumerate() {
            assert_eq!(token_type(*kind), idx as u32, "{kind:?}");
        }
        assert_eq!(TYPES.len(), TokenKind::ALL.len());
        for kind in TokenKind::ALL {
            assert!(TYPES.iter().any(|(known, _)| *known == kind), "{kind:?}");
        }
        for (idx, modifier) in Modifier::ALL.into_iter().enumerate() {
            let bits = modifier_bits(Modifiers::of(&[modifier]));
            assert_eq!(bits.count_ones(), 1, "{modifier:?}");
            assert_eq!(MODIFIERS[bits.trailing_zeros() as usize].0, modifier);
            assert_eq!(MODIFIERS[idx].0, modifier, "the legend's order");
        }
        let all = Modifiers::of(&Modifier::ALL);
        assert_eq!(modifier_bits(all), (1 << MODIFIERS.len()) - 1);
        assert_eq!(modifier_bits(Modifiers::NONE), 0);
    }

    #[test]
    fn encoding_counts_columns_in_the_negotiated_encoding() {
        let text = "fn main() {\n    print(\"é😀\", 1);\n}\n";
        let doc = Doc::new(text);
        let tokens = tokens(&doc);
        let utf16 = encode(&tokens, &Lines::of(&doc, Encoding::Utf16));
        let utf8 = encode(&tokens, &Lines::of(&doc, Encoding::Utf8));
        insta::assert_snapshot!(format!("{utf16:?}\n{utf8:?}"), @"
        [0, 0, 2, 0, 0, 0, 3, 4, 2, 1, 1, 4, 5, 2, 16, 0, 6, 5, 8, 0, 0, 7, 1, 7, 0]
        [0, 0, 2, 0, 0, 0, 3, 4, 2, 1, 1, 4, 5, 2, 16, 0, 6, 8, 8, 0, 0, 10, 1, 7, 0]
        ");
    }

    /// Every token of texts with CRLF, multi-byte characters and broken
    /// code, and of the prefixes of a real file, is encoded: five integers
    /// a token, each of positive length.
    #[test]
    fn every_token_is_encoded() {
        let real = include_str!("../../../filters/vignette.chop");
        let mut texts: Vec<String> = [
            "//! é\n/// ü\r\nparam p: int = 1;\r\nfn main() {\r\n    print(\"a\", p);\r\n}\r\n",
            "fn main() {\n    let s = \"unterminated\n    }}} @@ é 😀 let let\n",
            "pipeline = |> |> (;",
            "",
        ]
        .map(str::to_string)
        .to_vec();
        texts.extend(
            (0..=real.len())
                .step_by(11)
                .filter_map(|end| real.get(..end))
                .map(str::to_string),
        );
        for text in &texts {
            let doc = Doc::new(text);
            let tokens = tokens(&doc);
            for enc in [Encoding::Utf8, Encoding::Utf16] {
                let data = encode(&tokens, &Lines::of(&doc, enc));
                assert_eq!(data.len(), tokens.len() * 5, "{enc:?} {text:?}");
                assert!(data.chunks_exact(5).all(|token| token[2] > 0), "{text:?}");
            }
        }
    }

    #[test]
    fn delta_keeps_the_common_tokens() {
        let old = [0, 0, 2, 0, 0, 0, 3, 4, 2, 0, 1, 0, 3, 5, 0];
        let new = [0, 0, 2, 0, 0, 0, 3, 5, 2, 0, 1, 0, 3, 5, 0];
        assert_eq!(delta(&old, &new), vec![(5, 5, vec![0, 3, 5, 2, 0])]);
        assert_eq!(delta(&old, &old), vec![]);
        // A token added at the end, one removed at the start.
        assert_eq!(delta(&old[..10], &old), vec![(10, 0, vec![1, 0, 3, 5, 0])]);
        assert_eq!(delta(&old, &old[5..]), vec![(0, 5, vec![])]);
        assert_eq!(delta(&[], &old[..5]), vec![(0, 0, old[..5].to_vec())]);
        // Applying the edit gives the new array.
        for (a, b) in [
            (&old[..], &new[..]),
            (&new[..], &old[..10]),
            (&old[5..], &new[..]),
        ] {
            let mut patched = a.to_vec();
            for (start, count, data) in delta(a, b) {
                patched.splice(start as usize..(start + count) as usize, data);
            }
            assert_eq!(patched, b);
        }
    }
}
