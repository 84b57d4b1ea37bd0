//! Where the cursor is, from the tokens before it.

use crate::lex::{self, Tok, TokKind, KEYWORDS};

/// Where the cursor is, as far as completion cares.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Context<'t> {
    /// A comment, a string, a new name, or something unknown.
    Nothing,
    /// Just these keywords (`in` after `for i`).
    Keywords(&'static [&'static str]),
    /// Between items.
    ItemLevel,
    /// Where a type is written.
    Type,
    /// After `.`: the receiver ends at token `receiver_end - 1`.
    Member { receiver_end: usize },
    /// A pipeline stage's filter.
    Filters,
    /// A `param` name in a pipeline stage's parentheses; `given` are already there.
    StageArgs { given: Vec<&'t str> },
    /// A constant: a `param` default or range, a pipeline argument.
    Const,
    /// An expression in a body.
    Expr,
    /// The start of a statement (`else_ok`: right after the block of an `if`;
    /// `semicolon`: where the `;` ending the statement before is missing).
    Stmt {
        else_ok: bool,
        semicolon: Option<usize>,
    },
}

/// The kind of item the cursor is in, from its keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemWord {
    Param,
    Function,
    Pipeline,
    Unknown,
}

/// Facts about the tokens before the cursor, from one pass.
struct Brackets {
    /// For each token, the index of the innermost bracket open before it.
    open_before: Vec<Option<usize>>,
    /// The brackets still open at the cursor, innermost last.
    open: Vec<usize>,
    /// The item the cursor is in.
    item: ItemWord,
}

fn brackets(toks: &[Tok<'_>]) -> Brackets {
    let mut open: Vec<usize> = Vec::new();
    let mut open_before = Vec::with_capacity(toks.len());
    let mut item = ItemWord::Unknown;
    let mut item_start = true;
    for (idx, tok) in toks.iter().enumerate() {
        open_before.push(open.last().copied());
        if open.is_empty() && item_start && tok.kind == TokKind::Ident {
            item = match tok.text {
                "param" => ItemWord::Param,
                "fn" | "filter" => ItemWord::Function,
                "pipeline" => ItemWord::Pipeline,
                _ => ItemWord::Unknown,
            };
        }
        match tok.text {
            "(" | "[" | "{" if tok.kind == TokKind::Punct => open.push(idx),
            ")" | "]" | "}" if tok.kind == TokKind::Punct => {
                let opener = match tok.text {
                    ")" => "(",
                    "]" => "[",
                    _ => "{",
                };
                // Pop to the matching bracket; an unmatched closer is ignored.
                if let Some(pos) = open
                    .iter()
                    .rposition(|&at| toks.get(at).is_some_and(|t| t.text == opener))
                {
                    open.truncate(pos);
                }
            }
            _ => {}
        }
        item_start = open.is_empty() && tok.kind == TokKind::Punct && matches!(tok.text, "}" | ";");
    }
    if item_start {
        item = ItemWord::Unknown;
    }
    Brackets {
        open_before,
        open,
        item,
    }
}

pub(super) fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

fn is_punct(tok: Option<&Tok<'_>>, text: &str) -> bool {
    tok.is_some_and(|tok| tok.kind == TokKind::Punct && tok.text == text)
}

fn is_word(tok: Option<&Tok<'_>>, text: &str) -> bool {
    tok.is_some_and(|tok| tok.kind == TokKind::Ident && tok.text == text)
}

/// Whether the token ends an expression (a name, a literal, `)` or `]`).
pub(super) fn ends_expression(tok: Option<&Tok<'_>>) -> bool {
    tok.is_some_and(|tok| match tok.kind {
        TokKind::Ident => !is_keyword(tok.text) || matches!(tok.text, "true" | "false"),
        TokKind::Int | TokKind::Float | TokKind::Str => true,
        TokKind::Punct => matches!(tok.text, ")" | "]"),
        TokKind::Comment => false,
    })
}

/// Whether a type starts right after token `idx`.
fn type_follows(toks: &[Tok<'_>], brackets: &Brackets, idx: usize) -> bool {
    let mut idx = idx;
    // Each step moves left, so the loop ends.
    loop {
        let Some(tok) = toks.get(idx) else {
            return false;
        };
        if tok.kind != TokKind::Punct {
            return false;
        }
        match tok.text {
            "->" => return true,
            ":" => return brackets.item != ItemWord::Pipeline,
            "[" => {
                let Some(prev) = idx.checked_sub(1) else {
                    return false;
                };
                idx = prev;
            }
            "(" => {
                // `fn(` in a type position starts a function type's parameter list.
                if !is_word(idx.checked_sub(1).and_then(|at| toks.get(at)), "fn") {
                    return false;
                }
                let Some(prev) = idx.checked_sub(2) else {
                    return false;
                };
                idx = prev;
            }
            "," => {
                let Some(open) = brackets.open_before.get(idx).copied().flatten() else {
                    return false;
                };
                if !is_punct(toks.get(open), "(") {
                    return false;
                }
                idx = open;
            }
            _ => return false,
        }
    }
}

/// Whether the bracket at `open` opens a parameter list (of an item or a closure).
fn is_param_list(toks: &[Tok<'_>], brackets: &Brackets, open: usize) -> bool {
    if !is_punct(toks.get(open), "(") {
        return false;
    }
    let prev = open.checked_sub(1).and_then(|at| toks.get(at));
    let prev2 = open.checked_sub(2).and_then(|at| toks.get(at));
    if prev.is_some_and(|tok| tok.kind == TokKind::Ident && !is_keyword(tok.text))
        && (is_word(prev2, "fn") || is_word(prev2, "filter"))
    {
        return true;
    }
    is_word(prev, "fn")
        && !open
            .checked_sub(2)
            .is_some_and(|at| type_follows(toks, brackets, at))
}

/// Whether the block closed by the `}` at `close` is the block of an `if`
/// (so that `else` may follow).
fn closes_if_block(toks: &[Tok<'_>], close: usize) -> bool {
    // Find the matching `{`.
    let mut depth = 0usize;
    let mut idx = close;
    let open = loop {
        let Some(tok) = toks.get(idx) else {
            return false;
        };
        if tok.kind == TokKind::Punct {
            match tok.text {
                "}" | ")" | "]" => depth += 1,
                "{" | "(" | "[" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break idx;
                    }
                }
                _ => {}
            }
        }
        let Some(prev) = idx.checked_sub(1) else {
            return false;
        };
        idx = prev;
    };
    // Walk back over the condition (balanced groups skipped) to its keyword.
    let mut idx = open;
    let mut depth = 0usize;
    while let Some(prev) = idx.checked_sub(1) {
        idx = prev;
        let Some(tok) = toks.get(idx) else {
            return false;
        };
        if tok.kind == TokKind::Punct {
            match tok.text {
                ")" | "]" | "}" => depth += 1,
                "(" | "[" | "{" => {
                    if depth == 0 {
                        return false;
                    }
                    depth -= 1;
                }
                ";" if depth == 0 => return false,
                _ => {}
            }
            continue;
        }
        if depth == 0 && tok.kind == TokKind::Ident {
            match tok.text {
                "if" => return true,
                "while" | "for" | "let" | "var" | "return" | "fn" | "filter" => return false,
                _ => {}
            }
        }
    }
    false
}

/// Works out the context from the tokens before the word at the cursor.
pub(super) fn context<'t>(text: &str, toks: &[Tok<'t>], word_start: usize) -> Context<'t> {
    let brackets = brackets(toks);
    let Some(last_idx) = toks.len().checked_sub(1) else {
        return Context::ItemLevel;
    };
    let Some(last) = toks.get(last_idx) else {
        return Context::ItemLevel;
    };
    let before_last = last_idx.checked_sub(1).and_then(|at| toks.get(at));
    if is_punct(Some(last), ".") {
        if before_last.is_some_and(|tok| matches!(tok.kind, TokKind::Int | TokKind::Float)) {
            return Context::Nothing;
        }
        return Context::Member {
            receiver_end: last_idx,
        };
    }
    let top = brackets.open.last().copied();
    if top.is_none() && (is_punct(Some(last), "}") || is_punct(Some(last), ";")) {
        return Context::ItemLevel;
    }
    if type_follows(toks, &brackets, last_idx) {
        return Context::Type;
    }
    if last.kind == TokKind::Ident
        && matches!(
            last.text,
            "let" | "var" | "for" | "fn" | "filter" | "param" | "pipeline"
        )
    {
        // A new name.
        return Context::Nothing;
    }
    match brackets.item {
        ItemWord::Pipeline => {
            if top.is_none() {
                return if is_punct(Some(last), "=") || is_punct(Some(last), "|>") {
                    Context::Filters
                } else {
                    Context::Nothing
                };
            }
            let Some(open) = top else {
                return Context::Nothing;
            };
            if is_punct(Some(last), "(") || is_punct(Some(last), ",") {
                let given = toks
                    .get(open..)
                    .unwrap_or(&[])
                    .windows(2)
                    .filter(|pair| pair[1].text == ":" && pair[0].kind == TokKind::Ident)
                    .map(|pair| pair[0].text)
                    .collect();
                return Context::StageArgs { given };
            }
            if expression_follows(last) {
                return Context::Const;
            }
            Context::Nothing
        }
        ItemWord::Param => {
            if expression_follows(last) || is_word(Some(last), "in") {
                Context::Const
            } else {
                Context::Nothing
            }
        }
        ItemWord::Function | ItemWord::Unknown => {
            let Some(open) = top else {
                return Context::Nothing;
            };
            if is_param_list(toks, &brackets, open)
                && (is_punct(Some(last), "(") || is_punct(Some(last), ","))
            {
                return Context::Nothing;
            }
            let in_block = is_punct(toks.get(open), "{");
            if last.kind == TokKind::Ident && !is_keyword(last.text) && is_word(before_last, "for")
            {
                return Context::Keywords(&["in"]);
            }
            if is_word(Some(last), "else") {
                return Context::Keywords(&["if"]);
            }
            if in_block && (is_punct(Some(last), "{") || is_punct(Some(last), ";")) {
                return Context::Stmt {
                    else_ok: false,
                    semicolon: None,
                };
            }
            if in_block && is_punct(Some(last), "}") {
                return Context::Stmt {
                    else_ok: closes_if_block(toks, last_idx),
                    semicolon: None,
                };
            }
            if is_punct(Some(last), ";") && is_punct(toks.get(open), "[") {
                // `[v; n]`: an expression, `[T; n]`: a number.
                return if open
                    .checked_sub(1)
                    .is_some_and(|at| type_follows(toks, &brackets, at))
                {
                    Context::Nothing
                } else {
                    Context::Expr
                };
            }
            if expression_follows(last) {
                return Context::Expr;
            }
            let gap = text.get(last.span.end..word_start).unwrap_or("");
            if in_block && ends_expression(Some(last)) && gap.contains('\n') {
                // A statement on a new line after a missing `;`.
                return Context::Stmt {
                    else_ok: false,
                    semicolon: Some(last.span.end),
                };
            }
            Context::Nothing
        }
    }
}

/// Whether an expression may start right after `tok`.
fn expression_follows(tok: &Tok<'_>) -> bool {
    match tok.kind {
        TokKind::Punct => matches!(
            tok.text,
            "=" | "+"
                | "-"
                | "*"
                | "/"
                | "%"
                | "!"
                | "=="
                | "!="
                | "<"
                | "<="
                | ">"
                | ">="
                | "&&"
                | "||"
                | "+="
                | "-="
                | "*="
                | "/="
                | "("
                | "["
                | ","
                | ".."
        ),
        TokKind::Ident => matches!(tok.text, "return" | "if" | "while" | "in"),
        _ => false,
    }
}

pub(super) fn inside_comment_or_string(toks: &[Tok<'_>], offset: usize) -> bool {
    toks.iter().any(|tok| match tok.kind {
        TokKind::Comment => tok.span.start < offset && offset <= tok.span.end,
        TokKind::Str => {
            let closed =
                tok.text.len() >= 2 && tok.text.ends_with('"') && !lex::escaped_end(tok.text);
            tok.span.start < offset && (offset < tok.span.end || !closed && offset == tok.span.end)
        }
        _ => false,
    })
}

pub(super) fn is_ident_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '_'
}

/// Where the identifier that ends at `offset` starts.
pub(super) fn ident_start(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or("");
    let trimmed = before.trim_end_matches(is_ident_char);
    trimmed.len()
}
