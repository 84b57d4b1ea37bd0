//! A lexer for Chop that never fails: completion reads the context of code
//! being typed from it, and semantic tokens colour a file from it.
//! Also the word-level facts the editor features share: the keywords, what
//! an identifier is, char boundaries.

use chunkvm::syntax::span::Span;

/// The kinds of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// A name or a keyword.
    Ident,
    /// An integer literal.
    Int,
    /// A float literal.
    Float,
    /// A string literal (maybe unterminated).
    Str,
    /// A `//` comment of any kind.
    Comment,
    /// Punctuation or an operator (or a character Chop does not know).
    Punct,
}

/// One token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tok<'t> {
    /// What it is.
    pub kind: TokKind,
    /// Its text.
    pub text: &'t str,
    /// Where it is.
    pub span: Span,
}

const PUNCT2: &[&str] = &[
    "|>", "..", "->", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=",
];

/// Whether a string literal's text ends with an escaped quote (so it is not closed).
pub(crate) fn escaped_end(text: &str) -> bool {
    let body = text.strip_suffix('"').unwrap_or(text);
    let slashes = body.len() - body.trim_end_matches('\\').len();
    slashes % 2 == 1
}

/// `text` up to the end of the line `offset` is on (its line break left out). No token
/// spans a line break, so its tokens are the whole text's tokens that start before that
/// end, the same ones.
pub(crate) fn to_line_end(text: &str, offset: usize) -> &str {
    let end = text
        .get(offset..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |nl| offset + nl);
    text.get(..end).unwrap_or(text)
}

/// The tokens of `text`, whitespace skipped.
pub(crate) fn lex(text: &str) -> Vec<Tok<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let byte = bytes[pos];
        let start = pos;
        let kind = if byte.is_ascii_whitespace() {
            pos += 1;
            continue;
        } else if text.get(pos..).is_some_and(|rest| rest.starts_with("//")) {
            pos = text
                .get(pos..)
                .and_then(|rest| rest.find('\n'))
                .map_or(bytes.len(), |nl| pos + nl);
            TokKind::Comment
        } else if byte == b'"' {
            pos += 1;
            while pos < bytes.len() {
                match bytes[pos] {
                    b'\\' if bytes.get(pos + 1).is_some_and(|next| *next != b'\n') => pos += 2,
                    b'"' => {
                        pos += 1;
                        break;
                    }
                    b'\n' => break,
                    _ => pos += 1,
                }
            }
            TokKind::Str
        } else if byte.is_ascii_digit() {
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            let mut kind = TokKind::Int;
            if bytes.get(pos) == Some(&b'.') && bytes.get(pos + 1).is_some_and(u8::is_ascii_digit) {
                pos += 1;
                while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                    pos += 1;
                }
                kind = TokKind::Float;
            }
            if matches!(bytes.get(pos), Some(b'e' | b'E')) {
                let mut exp = pos + 1;
                if matches!(bytes.get(exp), Some(b'+' | b'-')) {
                    exp += 1;
                }
                if bytes.get(exp).is_some_and(u8::is_ascii_digit) {
                    pos = exp;
                    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                        pos += 1;
                    }
                    kind = TokKind::Float;
                }
            }
            kind
        } else if byte.is_ascii_alphabetic() || byte == b'_' {
            while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_') {
                pos += 1;
            }
            TokKind::Ident
        } else if let Some(op) = PUNCT2
            .iter()
            .find(|op| text.get(pos..).is_some_and(|rest| rest.starts_with(*op)))
        {
            pos += op.len();
            TokKind::Punct
        } else {
            // One character, whatever it is.
            let width = text
                .get(pos..)
                .and_then(|rest| rest.chars().next())
                .map_or(1, char::len_utf8);
            pos += width;
            TokKind::Punct
        };
        let end = pos.min(bytes.len());
        out.push(Tok {
            kind,
            text: text.get(start..end).unwrap_or(""),
            span: Span::new(start, end),
        });
    }
    out
}

/// The largest char boundary at or below `offset`, within the text.
pub(crate) fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The words that are never names.
pub(crate) const KEYWORDS: &[&str] = &[
    "param", "filter", "fn", "pipeline", "let", "var", "if", "else", "while", "for", "in",
    "return", "break", "continue", "true", "false",
];

/// Whether `name` is an identifier (not checking keywords).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts with every kind of token cut at every line: strings (closed, open, with
    /// escapes), comments, numbers with exponents and fractions, two-character operators.
    #[test]
    fn the_text_to_a_line_end_lexes_to_the_whole_texts_tokens_up_to_there() {
        let texts = [
            include_str!("../../filters/gaussian_blur.chop"),
            include_str!("../../filters/pipelines/comic.chop"),
            "let s = \"a\\\"b\nlet t = 1.5e-3 + 2. // c \"d\n|> x..y -> z != 1e\n\"\\\n\n",
            "fn f() {\r\n  g(1, \"x) // y\r\n}",
        ];
        for text in texts {
            let all = lex(text);
            for offset in 0..=text.len() {
                if !text.is_char_boundary(offset) {
                    continue;
                }
                let cut = to_line_end(text, offset);
                assert!(cut.len() >= offset && !cut[offset..].contains('\n'));
                let expected: Vec<Tok<'_>> = all
                    .iter()
                    .copied()
                    .filter(|tok| tok.span.start < cut.len())
                    .collect();
                assert_eq!(lex(cut), expected, "cut at {offset} of {text:?}");
            }
        }
    }
}
