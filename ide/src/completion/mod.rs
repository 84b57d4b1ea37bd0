//! Completion: what may be typed at the cursor, on code that is being typed.
//!
//! The context comes from the tokens before the cursor (a small lexer that
//! never fails, so half-written code is fine): after `.` only the members of
//! the receiver's type, in a type position only types, in a pipeline only
//! filters (and, in a stage's parentheses, `param` names), at the top level
//! the item keywords and snippets, in a body the statement keywords, the
//! locals in scope, the `param` items, the functions and the builtins.
//!
//! Names and types come from the AST and the checker, on a copy of the text
//! with a placeholder identifier at the cursor (as rust-analyzer does): the
//! placeholder turns `c.` into a field expression and `let x = ` into a
//! complete statement, so the receiver's type and the scope are known even
//! while the text does not parse. When even that copy does not parse around
//! the cursor, the text before it is closed with the brackets it leaves open;
//! when that fails too, the receiver's type is inferred from the tokens.
//!
use super::lex;
use super::Doc;
// The other editor features reach the walker and the scopes through this
// module too (`completion::walk`, `completion::scope`).
pub(crate) use crate::{scope, walk};
use chunkvm::builtins::{self, P};
use chunkvm::syntax::ast::{Item, ItemKind};
use chunkvm::types::Type;
use lex::{Tok, TokKind};
use std::collections::HashSet;

/// What a completion is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompletionKind {
    /// A keyword.
    Keyword,
    /// A snippet (a template with placeholders).
    Snippet,
    /// A local binding: a parameter, `let`, `var` or `for` variable.
    Local,
    /// A `param` item.
    Param,
    /// A `fn` item.
    Function,
    /// A `filter` item.
    Filter,
    /// A `pipeline` item.
    Pipeline,
    /// A builtin function.
    Builtin,
    /// A field of a builtin type.
    Field,
    /// A method of a builtin type.
    Method,
    /// A type name.
    Type,
}

/// One completion item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// What is shown, and inserted unless `insert_text` says otherwise.
    pub label: String,
    /// What it is.
    pub kind: CompletionKind,
    /// Its type or signature.
    pub detail: Option<String>,
    /// Its documentation, in Markdown.
    pub doc: Option<String>,
    /// The text to insert instead of the label.
    pub insert_text: Option<String>,
    /// Whether `insert_text` uses LSP snippet syntax (`$1`, `${2:x}`, `$0`).
    pub is_snippet: bool,
}

impl Completion {
    fn new(label: impl Into<String>, kind: CompletionKind) -> Completion {
        Completion {
            label: label.into(),
            kind,
            detail: None,
            doc: None,
            insert_text: None,
            is_snippet: false,
        }
    }

    fn detail(mut self, detail: impl Into<String>) -> Completion {
        self.detail = Some(detail.into());
        self
    }

    fn doc(mut self, doc: Option<String>) -> Completion {
        self.doc = doc.filter(|doc| !doc.is_empty());
        self
    }

    fn snippet(mut self, text: impl Into<String>) -> Completion {
        self.insert_text = Some(text.into());
        self.is_snippet = true;
        self
    }

    fn insert(mut self, text: impl Into<String>) -> Completion {
        self.insert_text = Some(text.into());
        self.is_snippet = false;
        self
    }
}

/// The completions at byte `offset` of the document, best first.
///
/// Prefix filtering is left to the client; the identifier being typed is
/// not offered as a completion of itself.
pub fn completions(doc: &Doc, offset: usize) -> Vec<Completion> {
    let text: &str = &doc.text;
    let offset = floor_char_boundary(text, offset);
    let word_start = ident_start(text, offset);
    let word = text.get(word_start..offset).unwrap_or("");
    if word.starts_with(|ch: char| ch.is_ascii_digit()) {
        return Vec::new();
    }
    let toks = lex::lex(text);
    if inside_comment_or_string(&toks, offset) {
        return Vec::new();
    }
    let before: Vec<Tok<'_>> = toks
        .iter()
        .copied()
        .filter(|tok| tok.span.end <= word_start && tok.kind != TokKind::Comment)
        .collect();
    let context = context(text, &before, word_start);
    let call_follows = text
        .get(offset..)
        .unwrap_or("")
        .trim_start_matches(is_ident_char)
        .starts_with('(');
    let mut out = Vec::new();
    match context {
        Context::Nothing => {}
        Context::Keywords(words) => {
            for word in words {
                out.push(Completion::new(*word, CompletionKind::Keyword));
            }
        }
        Context::ItemLevel => item_level(&mut out),
        Context::Type => {
            for name in ["int", "float", "bool", "color", "image"] {
                out.push(Completion::new(name, CompletionKind::Type).detail("builtin type"));
            }
        }
        Context::Member { receiver_end } => {
            let view = View::new(doc, offset, None);
            let ty = view
                .receiver_type(word_start)
                .or_else(|| infer::tokens_type(&before, receiver_end, &view, 0));
            members(&mut out, ty.as_ref(), call_follows);
        }
        Context::Filters => {
            let view = View::new(doc, offset, None);
            filters(&mut out, &view);
        }
        Context::StageArgs { given } => {
            let view = View::new(doc, offset, None);
            for (item, info) in view.items() {
                if let ItemKind::Param(_) = &item.kind {
                    if given.iter().any(|name| *name == item.name.name) {
                        continue;
                    }
                    out.push(
                        Completion::new(item.name.name.clone(), CompletionKind::Param)
                            .detail(param_detail(info, item))
                            .doc(item.doc.clone())
                            .insert(format!("{}: ", item.name.name)),
                    );
                }
            }
        }
        Context::Const => {
            for word in ["true", "false"] {
                out.push(Completion::new(word, CompletionKind::Keyword));
            }
            for builtin in builtins::BUILTINS {
                if matches!(builtin.name, "rgb" | "rgba" | "gray") {
                    out.push(builtin_completion(builtin, call_follows));
                }
            }
        }
        Context::Expr | Context::Stmt { .. } => {
            let semicolon = match context {
                Context::Stmt { semicolon, .. } => semicolon,
                _ => None,
            };
            let view = View::new(doc, offset, semicolon);
            values(&mut out, &view, call_follows);
            if let Context::Stmt { else_ok, .. } = context {
                if else_ok {
                    out.push(Completion::new("else", CompletionKind::Keyword));
                }
                statement_keywords(&mut out, view.scope.in_loop);
            } else {
                for word in ["true", "false"] {
                    out.push(Completion::new(word, CompletionKind::Keyword));
                }
            }
        }
    }
    dedup(out)
}

/// Drops repeated completions (a value name once: the first, which is the
/// one a name resolves to).
fn dedup(items: Vec<Completion>) -> Vec<Completion> {
    let mut seen_values: HashSet<String> = HashSet::new();
    let mut seen: HashSet<(String, CompletionKind)> = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let is_value = matches!(
            item.kind,
            CompletionKind::Local
                | CompletionKind::Param
                | CompletionKind::Function
                | CompletionKind::Filter
                | CompletionKind::Builtin
        );
        if is_value && !seen_values.insert(item.label.clone()) {
            continue;
        }
        if !seen.insert((item.label.clone(), item.kind)) {
            continue;
        }
        out.push(item);
    }
    out
}

// ---------------------------------------------------------------- context

/// Where the cursor is, as far as completion cares.
#[derive(Clone, Debug, PartialEq)]
enum Context<'t> {
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

const KEYWORDS: &[&str] = &[
    "param", "filter", "fn", "pipeline", "let", "var", "if", "else", "while", "for", "in",
    "return", "break", "continue", "true", "false",
];

fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

fn is_punct(tok: Option<&Tok<'_>>, text: &str) -> bool {
    tok.is_some_and(|tok| tok.kind == TokKind::Punct && tok.text == text)
}

fn is_word(tok: Option<&Tok<'_>>, text: &str) -> bool {
    tok.is_some_and(|tok| tok.kind == TokKind::Ident && tok.text == text)
}

/// Whether the token ends an expression (a name, a literal, `)` or `]`).
fn ends_expression(tok: Option<&Tok<'_>>) -> bool {
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
fn context<'t>(text: &str, toks: &[Tok<'t>], word_start: usize) -> Context<'t> {
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

fn inside_comment_or_string(toks: &[Tok<'_>], offset: usize) -> bool {
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

fn is_ident_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '_'
}

/// Where the identifier that ends at `offset` starts.
fn ident_start(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or("");
    let trimmed = before.trim_end_matches(is_ident_char);
    trimmed.len()
}

/// The largest char boundary at or below `offset`, within the text.
pub(super) fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

// ---------------------------------------------------------------- analysis

/// The placeholder put at the cursor so that the text around it parses.
const PLACEHOLDER: &str = "__cursor__";

/// The analysis completion works with: the document, or a copy with a
/// placeholder at the cursor when that gives the cursor an enclosing item.
struct View<'d> {
    doc: std::borrow::Cow<'d, Doc>,
    original: &'d Doc,
    /// The cursor's offset in `doc`.
    at: usize,
    /// The cursor's offset in `original`.
    offset: usize,
    scope: scope::Scope,
}

impl<'d> View<'d> {
    /// The view at `offset`; `semicolon` is where a missing `;` goes.
    fn new(original: &'d Doc, offset: usize, semicolon: Option<usize>) -> View<'d> {
        let text: &str = &original.text;
        let offset = floor_char_boundary(text, offset);
        // The edit starts at the missing `;`, if any, and ends at the cursor.
        let semicolon = semicolon.filter(|at| *at <= offset && text.is_char_boundary(*at));
        let start = semicolon.unwrap_or(offset);
        let between = text.get(start..offset).unwrap_or("");
        let inserted = match semicolon {
            Some(_) => format!(";{between}{PLACEHOLDER}"),
            None => PLACEHOLDER.to_string(),
        };
        let at = offset + usize::from(semicolon.is_some());
        let mut fallback: Option<(Doc, scope::Scope)> = None;
        // The placeholder in the text; or (only when that gives no body), the
        // text after the cursor dropped and the brackets open before it closed.
        for attempt in 0..2 {
            let (end, patch) = if attempt == 0 {
                (offset, inserted.clone())
            } else {
                let head = format!(
                    "{}{}",
                    text.get(..start).unwrap_or(""),
                    &inserted[..inserted.len() - PLACEHOLDER.len()]
                );
                (text.len(), format!("{inserted}{}", closers(&head)))
            };
            let Some(doc) = original.edited(chunkvm::syntax::span::Span::new(start, end), &patch)
            else {
                continue;
            };
            let scope = scope::at(&doc, at);
            if scope.in_body {
                return View {
                    doc: std::borrow::Cow::Owned(doc),
                    original,
                    at,
                    offset,
                    scope,
                };
            }
            if scope.in_item && fallback.is_none() {
                fallback = Some((doc, scope));
            }
        }
        match fallback {
            Some((doc, scope)) => View {
                doc: std::borrow::Cow::Owned(doc),
                original,
                at,
                offset,
                scope,
            },
            None => View {
                doc: std::borrow::Cow::Borrowed(original),
                original,
                at: offset,
                offset,
                scope: scope::at(original, offset),
            },
        }
    }

    /// The items of the file: those of the view, then those of the original
    /// document the view lost; not the one whose name is being typed.
    fn items(&self) -> Vec<(&Item, &Doc)> {
        let mut out: Vec<(&Item, &Doc)> = self
            .doc
            .file()
            .items
            .iter()
            .filter(|item| !item.name.name.is_empty() && !item.name.name.contains(PLACEHOLDER))
            .filter(|item| {
                !std::ptr::eq(&*self.doc, self.original) || !item.name.span.contains(self.offset)
            })
            .map(|item| (&**item, &*self.doc))
            .collect();
        for item in &self.original.file().items {
            if !item.name.name.is_empty()
                && !item.name.span.contains(self.offset)
                && !out
                    .iter()
                    .any(|(known, _)| known.name.name == item.name.name)
            {
                out.push((&**item, self.original));
            }
        }
        out
    }

    /// The type of the receiver of the field whose name starts at `word_start`.
    fn receiver_type(&self, word_start: usize) -> Option<Type> {
        let mut found = None;
        walk::exprs(self.doc.file(), &mut |expr| {
            if let chunkvm::syntax::ast::ExprKind::Field(value, field) = &expr.kind {
                if field.span.start == word_start
                    || field.name.is_empty()
                        && value.span.end <= word_start
                        && field.span.start >= word_start
                {
                    let ty = self.doc.analysis.type_of(value.id);
                    if !ty.has_error() {
                        found = Some(ty.clone());
                    }
                }
            }
        });
        found
    }
}

/// The brackets that close what `text` leaves open, innermost first.
fn closers(text: &str) -> String {
    let toks = lex::lex(text);
    let mut stack: Vec<char> = Vec::new();
    for tok in toks.iter().filter(|tok| tok.kind == TokKind::Punct) {
        match tok.text {
            "(" => stack.push(')'),
            "[" => stack.push(']'),
            "{" => stack.push('}'),
            ")" | "]" | "}" => {
                let closer = tok.text.chars().next().unwrap_or(' ');
                if let Some(pos) = stack.iter().rposition(|&ch| ch == closer) {
                    stack.truncate(pos);
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for closer in stack.iter().rev() {
        if *closer == '}' {
            out.push_str(";\n");
        }
        out.push(*closer);
    }
    out
}

// ---------------------------------------------------------------- candidates

fn item_level(out: &mut Vec<Completion>) {
    for word in ["param", "filter", "fn", "pipeline"] {
        out.push(Completion::new(word, CompletionKind::Keyword));
    }
    let snippets: [(&str, &str, &str); 5] = [
        (
            "filter (point)",
            "filter f(c: color) -> color { ... }",
            "filter ${1:name}(c: color) -> color {\n    ${0:c}\n}",
        ),
        (
            "filter (kernel)",
            "filter f(src: image, x: int, y: int) -> color { ... }",
            "filter ${1:name}(src: image, x: int, y: int) -> color {\n    ${0:src.at(x, y)}\n}",
        ),
        (
            "fn",
            "fn f(...) -> T { ... }",
            "fn ${1:name}($2) -> ${3:float} {\n    $0\n}",
        ),
        (
            "param",
            "param p: float = 0.5 in 0.0..1.0;",
            "param ${1:name}: ${2:float} = ${3:0.5} in ${4:0.0}..${5:1.0};$0",
        ),
        (
            "pipeline",
            "pipeline p = a |> b;",
            "pipeline ${1:name} = ${2:filter};$0",
        ),
    ];
    for (label, detail, body) in snippets {
        out.push(
            Completion::new(label, CompletionKind::Snippet)
                .detail(detail)
                .snippet(body),
        );
    }
}

fn statement_keywords(out: &mut Vec<Completion>, in_loop: bool) {
    for word in ["let", "var", "if", "while", "for", "return"] {
        out.push(Completion::new(word, CompletionKind::Keyword));
    }
    if in_loop {
        for word in ["break", "continue"] {
            out.push(Completion::new(word, CompletionKind::Keyword));
        }
    }
    let snippets: [(&str, &str, &str); 3] = [
        (
            "for",
            "for i in a..b { ... }",
            "for ${1:i} in ${2:0}..${3:n} {\n    $0\n}",
        ),
        ("if", "if c { ... }", "if ${1:condition} {\n    $0\n}"),
        (
            "while",
            "while c { ... }",
            "while ${1:condition} {\n    $0\n}",
        ),
    ];
    for (label, detail, body) in snippets {
        out.push(
            Completion::new(label, CompletionKind::Snippet)
                .detail(detail)
                .snippet(body),
        );
    }
}

fn members(out: &mut Vec<Completion>, ty: Option<&Type>, call_follows: bool) {
    let receiver = ty.map(Type::to_string);
    let fits = |name: &str| receiver.as_deref().is_none_or(|receiver| receiver == name);
    for field in builtins::FIELDS.iter().filter(|field| fits(field.receiver)) {
        out.push(
            Completion::new(field.name, CompletionKind::Field)
                .detail(field.ty.to_type().to_string())
                .doc(Some(field.doc.to_string())),
        );
    }
    for method in builtins::METHODS
        .iter()
        .filter(|method| fits(method.receiver))
    {
        let params: Vec<String> = method
            .params
            .iter()
            .map(|(name, ty)| format!("{name}: {}", p_name(*ty)))
            .collect();
        let ret = match method.ret {
            P::Unit => String::new(),
            other => format!(" -> {}", p_name(other)),
        };
        let mut item = Completion::new(method.name, CompletionKind::Method)
            .detail(format!("fn {}({}){ret}", method.name, params.join(", ")))
            .doc(Some(method.doc.to_string()));
        if !call_follows {
            item = item.snippet(format!("{}($0)", method.name));
        }
        out.push(item);
    }
}

/// A builtin parameter type as written.
fn p_name(ty: P) -> String {
    match ty {
        P::AnyArray => "[T; N]".to_string(),
        P::Variadic => "...".to_string(),
        other => other.to_type().to_string(),
    }
}

fn builtin_completion(builtin: &builtins::Builtin, call_follows: bool) -> Completion {
    let signatures = builtin.signatures();
    let mut detail = signatures.first().cloned().unwrap_or_default();
    if signatures.len() > 1 {
        detail.push_str(&format!(
            " (+{})",
            chunkvm::diag::plural(signatures.len() as u64 - 1, "overload")
        ));
    }
    let doc = format!("```chop\n{}\n```\n\n{}", signatures.join("\n"), builtin.doc);
    let mut item = Completion::new(builtin.name, CompletionKind::Builtin)
        .detail(detail)
        .doc(Some(doc));
    if !call_follows {
        item = item.snippet(format!("{}($0)", builtin.name));
    }
    item
}

/// `fn name(a: int) -> int` (or `filter ...`) as written.
pub(super) fn signature(doc: &Doc, item: &Item) -> Option<String> {
    let ItemKind::Function(function) = &item.kind else {
        return None;
    };
    let params: Vec<String> = function
        .params
        .iter()
        .map(|param| doc.slice(param.span).to_string())
        .collect();
    let ret = function
        .ret
        .as_ref()
        .map(|ret| doc.slice(ret.span()))
        .filter(|ret| !ret.is_empty())
        .map(|ret| format!(" -> {ret}"))
        .unwrap_or_default();
    let word = if function.is_filter { "filter" } else { "fn" };
    Some(format!(
        "{word} {}({}){ret}",
        item.name.name,
        params.join(", ")
    ))
}

/// `float = 0.5 in 0.0..1.0` for a `param` item.
fn param_detail(doc: &Doc, item: &Item) -> String {
    let ItemKind::Param(param) = &item.kind else {
        return String::new();
    };
    let mut out = format!(
        "{} = {}",
        doc.slice(param.ty.span()),
        doc.slice(param.default.span)
    );
    if let Some((min, max)) = &param.range {
        out.push_str(&format!(
            " in {}..{}",
            doc.slice(min.span),
            doc.slice(max.span)
        ));
    }
    out
}

/// The `param` items a function reads, directly or through the functions it calls.
fn params_read(doc: &Doc, item: &Item) -> Vec<String> {
    use chunkvm::check::Res;
    let file = doc.file();
    let mut todo = vec![item];
    let mut seen_fns: HashSet<*const Item> = HashSet::new();
    let mut params: Vec<String> = Vec::new();
    while let Some(current) = todo.pop() {
        if !seen_fns.insert(current as *const Item) {
            continue;
        }
        walk::item_exprs(current, &mut |expr| {
            let Some(res) = doc.analysis.names.get(&expr.id) else {
                return;
            };
            match res {
                Res::Param(id) => {
                    if let Some(param) = file.items.get(id.0 as usize) {
                        if !params.contains(&param.name.name) {
                            params.push(param.name.name.clone());
                        }
                    }
                }
                Res::Function(id) => {
                    if let Some(callee) = file.items.get(id.0 as usize) {
                        todo.push(callee);
                    }
                }
                _ => {}
            }
        });
    }
    params
}

fn filters(out: &mut Vec<Completion>, view: &View<'_>) {
    for (item, info) in view.items() {
        let ItemKind::Function(function) = &item.kind else {
            continue;
        };
        if !function.is_filter {
            continue;
        }
        let mut detail = signature(info, item).unwrap_or_default();
        // The view may have blanked bodies out: read them in the original.
        let params = match view.original.file().item(&item.name.name) {
            Some((_, whole)) => params_read(view.original, whole),
            None => params_read(info, item),
        };
        if !params.is_empty() {
            detail.push_str(&format!("; params: {}", params.join(", ")));
        }
        out.push(
            Completion::new(item.name.name.clone(), CompletionKind::Filter)
                .detail(detail)
                .doc(item.doc.clone()),
        );
    }
}

/// Locals, `param` items, functions and builtins.
fn values(out: &mut Vec<Completion>, view: &View<'_>, call_follows: bool) {
    let analysis = &view.doc.analysis;
    let offset = view.at;
    // Innermost (latest) first: shadowed names come once, as the one in scope.
    for local in view.scope.locals.iter().rev() {
        if local.decl.contains(offset) || local.name.contains(PLACEHOLDER) {
            continue;
        }
        let ty = analysis
            .binding_types
            .get(local.id.0 as usize)
            .filter(|ty| !ty.has_error());
        let mut item = Completion::new(local.name.clone(), CompletionKind::Local);
        if let Some(ty) = ty {
            item = item.detail(ty.to_string());
            if matches!(ty, Type::Fn(..)) && !call_follows {
                item = item.snippet(format!("{}($0)", local.name));
            }
        }
        out.push(item);
    }
    let mut items = view.items();
    items.sort_by_key(|(item, _)| {
        let rank = match &item.kind {
            ItemKind::Param(_) => 0,
            ItemKind::Function(function) if !function.is_filter => 1,
            ItemKind::Function(_) => 2,
            ItemKind::Pipeline(_) => 3,
        };
        (rank, item.name.name.clone())
    });
    for (item, info) in items {
        match &item.kind {
            ItemKind::Param(_) => out.push(
                Completion::new(item.name.name.clone(), CompletionKind::Param)
                    .detail(param_detail(info, item))
                    .doc(item.doc.clone()),
            ),
            ItemKind::Function(function) => {
                let kind = if function.is_filter {
                    CompletionKind::Filter
                } else {
                    CompletionKind::Function
                };
                let mut completion = Completion::new(item.name.name.clone(), kind)
                    .detail(signature(info, item).unwrap_or_default())
                    .doc(item.doc.clone());
                if !call_follows {
                    completion = completion.snippet(format!("{}($0)", item.name.name));
                }
                out.push(completion);
            }
            // A pipeline is not a value.
            ItemKind::Pipeline(_) => {}
        }
    }
    let mut builtins: Vec<&builtins::Builtin> = builtins::BUILTINS.iter().collect();
    builtins.sort_by_key(|builtin| builtin.name);
    for builtin in builtins {
        out.push(builtin_completion(builtin, call_follows));
    }
}

// ---------------------------------------------------------------- text inference

/// The type of an expression inferred from its tokens, for receivers the
/// AST lost.
mod infer {
    use super::lex::{Tok, TokKind};
    use super::View;
    use chunkvm::builtins::{self, P};
    use chunkvm::syntax::ast::ItemKind;
    use chunkvm::types::Type;

    /// How deep a receiver chain is followed.
    const MAX_DEPTH: usize = 32;

    /// The type of the expression whose last token is `toks[end - 1]`.
    pub(super) fn tokens_type(
        toks: &[Tok<'_>],
        end: usize,
        view: &View<'_>,
        depth: usize,
    ) -> Option<Type> {
        if depth > MAX_DEPTH {
            return None;
        }
        let last_idx = end.checked_sub(1)?;
        let last = toks.get(last_idx)?;
        let before = |idx: usize, back: usize| idx.checked_sub(back).and_then(|at| toks.get(at));
        match last.kind {
            TokKind::Int => Some(Type::Int),
            TokKind::Float => Some(Type::Float),
            TokKind::Ident => {
                if before(last_idx, 1).is_some_and(|tok| tok.text == ".") {
                    let receiver = tokens_type(toks, last_idx - 1, view, depth + 1)?;
                    return builtins::field(&receiver, last.text).map(|field| field.ty.to_type());
                }
                name_type(last.text, view)
            }
            TokKind::Punct if last.text == ")" => {
                let open = matching_open(toks, last_idx)?;
                let callee = before(open, 1)
                    .filter(|tok| tok.kind == TokKind::Ident && !super::is_keyword(tok.text));
                let Some(callee) = callee else {
                    // `(expr)`: the type of what ends inside.
                    return tokens_type(toks, last_idx, view, depth + 1);
                };
                if before(open, 2).is_some_and(|tok| tok.text == ".") {
                    let receiver = tokens_type(toks, open - 2, view, depth + 1)?;
                    return builtins::method(&receiver, callee.text).map(|m| m.ret.to_type());
                }
                if let Some(Type::Fn(_, ret)) = name_type(callee.text, view) {
                    return Some(*ret);
                }
                let builtin = builtins::lookup(callee.text)?;
                let first = builtin.overloads.first()?.ret;
                (builtin.overloads.iter().all(|o| o.ret == first) && first != P::Unit)
                    .then(|| first.to_type())
                    .filter(|ty| !ty.has_error())
            }
            TokKind::Punct if last.text == "]" => {
                let open = matching_open(toks, last_idx)?;
                if !super::ends_expression(before(open, 1)) {
                    return None;
                }
                match tokens_type(toks, open, view, depth + 1)? {
                    Type::Array(elem, _) => Some(*elem),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The index of the bracket that the closer at `close` closes.
    fn matching_open(toks: &[Tok<'_>], close: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut idx = close;
        loop {
            let tok = toks.get(idx)?;
            if tok.kind == TokKind::Punct {
                match tok.text {
                    ")" | "]" | "}" => depth += 1,
                    "(" | "[" | "{" => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(idx);
                        }
                    }
                    _ => {}
                }
            }
            idx = idx.checked_sub(1)?;
        }
    }

    /// The type of a name: a local in scope, a `param`, a function.
    fn name_type(name: &str, view: &View<'_>) -> Option<Type> {
        let analysis = &view.doc.analysis;
        if let Some(local) = view
            .scope
            .locals
            .iter()
            .rev()
            .find(|local| local.name == name)
        {
            return analysis
                .binding_types
                .get(local.id.0 as usize)
                .filter(|ty| !ty.has_error())
                .cloned()
                .or_else(|| local.written_type.clone());
        }
        let file = view.doc.file();
        let (id, item) = file.item(name)?;
        match &item.kind {
            ItemKind::Pipeline(_) => None,
            _ => analysis
                .item_types
                .get(id.0 as usize)
                .filter(|ty| !ty.has_error())
                .cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture without its `$0` marker, and the marker's offset.
    fn cursor(fixture: &str) -> (String, usize) {
        let offset = fixture.find("$0").expect("the fixture has no `$0`");
        (fixture.replacen("$0", "", 1), offset)
    }

    fn kind_tag(kind: CompletionKind) -> &'static str {
        match kind {
            CompletionKind::Keyword => "kw",
            CompletionKind::Snippet => "sn",
            CompletionKind::Local => "lc",
            CompletionKind::Param => "pa",
            CompletionKind::Function => "fn",
            CompletionKind::Filter => "fi",
            CompletionKind::Pipeline => "pi",
            CompletionKind::Builtin => "bt",
            CompletionKind::Field => "fd",
            CompletionKind::Method => "me",
            CompletionKind::Type => "ty",
        }
    }

    /// One line per completion: kind, label, detail; builtins are summed up
    /// on one line (they are the same everywhere).
    fn render(fixture: &str) -> String {
        let (text, offset) = cursor(fixture);
        let doc = Doc::new(&text);
        let mut out = String::new();
        let mut builtins = 0;
        for item in completions(&doc, offset) {
            if item.kind == CompletionKind::Builtin
                && !matches!(item.label.as_str(), "rgb" | "sqrt" | "mix")
            {
                builtins += 1;
                continue;
            }
            out.push_str(kind_tag(item.kind));
            out.push(' ');
            out.push_str(&item.label);
            if let Some(detail) = &item.detail {
                out.push_str("  ");
                out.push_str(&detail.replace('\n', " "));
            }
            out.push('\n');
        }
        if builtins > 0 {
            out.push_str(&format!("bt ... {builtins} more builtins\n"));
        }
        if out.is_empty() {
            out.push_str("(none)\n");
        }
        out
    }

    macro_rules! check {
        ($fixture:expr, @$expect:literal) => {
            insta::assert_snapshot!(render($fixture), @$expect)
        };
    }

    const VIGNETTE: &str = "/// How dark the corners get.
param strength: float = 0.5 in 0.0..1.0;
param radius: float = 1.0;

/// Darkens the corners.
filter vignette(src: image, x: int, y: int) -> color {
    let d = float(x) * radius;
    src.at(x, y) * (1.0 - strength * d)
}

filter grayscale(c: color) -> color {
    gray(luma(c))
}

fn helper(v: float) -> float {
    v
}
";

    fn with(src: &str, extra: &str) -> String {
        format!("{src}{extra}")
    }

    #[test]
    fn members_of_a_color() {
        check!("fn main() {\n    let c = rgb(1.0, 2.0, 3.0);\n    c.$0\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
        // Part of the name typed, and the tree intact.
        check!("fn main() {\n    let c = rgb(1.0, 2.0, 3.0);\n    print(c.g$0);\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
    }

    #[test]
    fn members_of_an_image_and_of_a_method_result() {
        check!("filter f(src: image, x: int, y: int) -> color {\n    let w = src.$0\n}\n", @r"
        fd width  int
        fd height  int
        me at  fn at(x: int, y: int) -> color
        ");
        check!("filter f(src: image, x: int, y: int) -> color {\n    src.at(x, y).$0\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
    }

    #[test]
    fn members_at_the_end_of_a_broken_file() {
        // No closing brace: the whole function is an error node in the tree.
        check!("fn main() {\n    let c = rgb(1.0, 2.0, 3.0);\n    c.$0", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
        check!("filter f(src: image, x: int, y: int) -> color {\n    let k = [src.at(x, y); 3];\n    let q = k[1].$0", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
    }

    #[test]
    fn members_of_a_param_and_of_nothing() {
        check!("param tint: color = rgb(1.0, 0.5, 0.0);\nfn main() {\n    print(tint.$0);\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        ");
        // A float has no members.
        check!("fn main() {\n    let v = 1.0;\n    print(v.$0);\n}\n", @"(none)");
        // A number being typed is not a receiver.
        check!("fn main() {\n    let v = 1.$0\n}\n", @"(none)");
        // Unknown receiver: every member.
        check!("fn main() {\n    print(nope.$0);\n}\n", @r"
        fd r  float
        fd g  float
        fd b  float
        fd a  float
        fd width  int
        fd height  int
        me at  fn at(x: int, y: int) -> color
        ");
    }

    #[test]
    fn method_inserts_parentheses_unless_present() {
        let (text, offset) =
            cursor("filter f(src: image, x: int, y: int) -> color {\n    src.$0\n}\n");
        let doc = Doc::new(&text);
        let at = completions(&doc, offset)
            .into_iter()
            .find(|item| item.label == "at")
            .unwrap();
        assert_eq!(at.insert_text.as_deref(), Some("at($0)"));
        assert!(at.is_snippet);
        assert!(at.doc.unwrap().contains("clamped"));
        let (text, offset) =
            cursor("filter f(src: image, x: int, y: int) -> color {\n    src.a$0(x, y)\n}\n");
        let doc = Doc::new(&text);
        let at = completions(&doc, offset)
            .into_iter()
            .find(|item| item.label == "at")
            .unwrap();
        assert_eq!(at.insert_text, None);
    }

    #[test]
    fn types() {
        check!("fn main() {\n    let x: $0\n}\n", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
        check!("fn f(a: int, b: fl$0", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
        check!("fn f() -> $0 {}\n", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
        check!("param p: $0", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
        check!("fn f(g: fn(int, $0", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
        check!("fn main() {\n    let a: [$0\n}\n", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
        check!("fn main() {\n    let f = fn(v: $0\n}\n", @r"
        ty int  builtin type
        ty float  builtin type
        ty bool  builtin type
        ty color  builtin type
        ty image  builtin type
        ");
    }

    #[test]
    fn new_names_get_nothing() {
        check!("fn main() {\n    let $0\n}\n", @"(none)");
        check!("fn main() {\n    var co$0\n}\n", @"(none)");
        check!("fn ma$0", @"(none)");
        check!("fn f($0", @"(none)");
        check!("fn f(a: int, $0) {}\n", @"(none)");
        check!("fn main() {\n    let f = fn($0\n}\n", @"(none)");
        check!("fn main() {\n    for $0\n}\n", @"(none)");
        check!("fn main() {\n    for i $0\n}\n", @"kw in");
    }

    #[test]
    fn nothing_in_comments_and_strings() {
        check!("fn main() {\n    // let c = $0\n}\n", @"(none)");
        check!("fn main() {\n    print(\"é c.$0\");\n}\n", @"(none)");
        check!("fn main() {\n    print(\"unterminated $0\n}\n", @"(none)");
        check!("/// Doc of $0\nfn main() {}\n", @"(none)");
    }

    #[test]
    fn pipeline_stages_are_filters() {
        check!(&with(VIGNETTE, "pipeline p = $0"), @"
        fi vignette  filter vignette(src: image, x: int, y: int) -> color; params: radius, strength
        fi grayscale  filter grayscale(c: color) -> color
        ");
        check!(&with(VIGNETTE, "pipeline p = grayscale |> vi$0;\n"), @"
        fi vignette  filter vignette(src: image, x: int, y: int) -> color; params: radius, strength
        fi grayscale  filter grayscale(c: color) -> color
        ");
    }

    #[test]
    fn pipeline_arguments() {
        check!(&with(VIGNETTE, "pipeline p = vignette($0);\n"), @r"
        pa strength  float = 0.5 in 0.0..1.0
        pa radius  float = 1.0
        ");
        // A name already given is not offered again.
        check!(&with(VIGNETTE, "pipeline p = vignette(strength: 0.1, $0"), @"pa radius  float = 1.0");
        check!(&with(VIGNETTE, "pipeline p = vignette(strength: $0"), @"(none)");
        let (text, offset) = cursor(&with(VIGNETTE, "pipeline p = vignette($0);\n"));
        let doc = Doc::new(&text);
        let strength = completions(&doc, offset).into_iter().next().unwrap();
        assert_eq!(strength.insert_text.as_deref(), Some("strength: "));
        assert_eq!(strength.doc.as_deref(), Some("How dark the corners get."));
    }

    #[test]
    fn item_level() {
        check!("$0", @r"
        kw param
        kw filter
        kw fn
        kw pipeline
        sn filter (point)  filter f(c: color) -> color { ... }
        sn filter (kernel)  filter f(src: image, x: int, y: int) -> color { ... }
        sn fn  fn f(...) -> T { ... }
        sn param  param p: float = 0.5 in 0.0..1.0;
        sn pipeline  pipeline p = a |> b;
        ");
        // After an item, at the end of the file, part of the keyword typed.
        check!("fn main() {\n}\n\nfil$0", @r"
        kw param
        kw filter
        kw fn
        kw pipeline
        sn filter (point)  filter f(c: color) -> color { ... }
        sn filter (kernel)  filter f(src: image, x: int, y: int) -> color { ... }
        sn fn  fn f(...) -> T { ... }
        sn param  param p: float = 0.5 in 0.0..1.0;
        sn pipeline  pipeline p = a |> b;
        ");
        let (text, offset) = cursor("param a: int = 1;\n$0\nfn main() {}\n");
        let doc = Doc::new(&text);
        let items = completions(&doc, offset);
        let kernel = items
            .iter()
            .find(|item| item.label == "filter (kernel)")
            .unwrap();
        assert!(kernel.is_snippet);
        assert_eq!(
            kernel.insert_text.as_deref(),
            Some(
                "filter ${1:name}(src: image, x: int, y: int) -> color {\n    ${0:src.at(x, y)}\n}"
            )
        );
    }

    #[test]
    fn statements() {
        check!(&with(VIGNETTE, "fn main() {\n    let a = 1;\n    $0\n    let b = 2.0;\n}\n"), @"
        lc a  int
        pa radius  float = 1.0
        pa strength  float = 0.5 in 0.0..1.0
        fn helper  fn helper(v: float) -> float
        fn main  fn main()
        fi grayscale  filter grayscale(c: color) -> color
        fi vignette  filter vignette(src: image, x: int, y: int) -> color
        bt mix  fn mix(a: color, b: color, t: float) -> color (+1 overload)
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt sqrt  fn sqrt(v: float) -> float
        kw let
        kw var
        kw if
        kw while
        kw for
        kw return
        sn for  for i in a..b { ... }
        sn if  if c { ... }
        sn while  while c { ... }
        bt ... 24 more builtins
        ");
    }

    #[test]
    fn locals_in_scope() {
        // Parameters, shadowing (the inner `x` once), blocks that ended, the
        // loop variable, closure parameters; not the `let` being written.
        check!(
            "fn f(x: int, y: int) -> int {\n    let x = 1.0;\n    { let hidden = 1; }\n    var total = 0;\n    for i in 0..y {\n        let g = fn(v: float) -> float {\n            let w = v;\n            let z = w$0\n        };\n    }\n    total\n}\n",
            @r"
        lc w  float
        lc v  float
        lc i  int
        lc total  int
        lc x  float
        lc y  int
        fn f  fn f(x: int, y: int) -> int
        bt mix  fn mix(a: color, b: color, t: float) -> color (+1 overload)
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt sqrt  fn sqrt(v: float) -> float
        kw true
        kw false
        bt ... 24 more builtins
        "
        );
    }

    #[test]
    fn loops_offer_break_and_else_follows_if() {
        let labels = |fixture: &str| -> Vec<String> {
            let (text, offset) = cursor(fixture);
            completions(&Doc::new(&text), offset)
                .into_iter()
                .filter(|item| item.kind == CompletionKind::Keyword)
                .map(|item| item.label)
                .collect()
        };
        assert_eq!(
            labels("fn main() {\n    while true {\n        $0\n    }\n}\n"),
            ["let", "var", "if", "while", "for", "return", "break", "continue"]
        );
        // A closure in a loop is not in the loop.
        assert_eq!(
            labels("fn main() {\n    while true {\n        let f = fn() { $0 };\n    }\n}\n"),
            ["let", "var", "if", "while", "for", "return"]
        );
        assert_eq!(
            labels("fn main() {\n    if true {\n    } $0\n}\n"),
            ["else", "let", "var", "if", "while", "for", "return"]
        );
        assert_eq!(
            labels("fn main() {\n    if true {\n    } else if false {\n    }\n    e$0\n}\n"),
            ["else", "let", "var", "if", "while", "for", "return"]
        );
        assert_eq!(
            labels("fn main() {\n    while true {\n    }\n    $0\n}\n"),
            ["let", "var", "if", "while", "for", "return"]
        );
        assert_eq!(
            labels("fn main() {\n    if true {\n    } else $0\n}\n"),
            ["if"]
        );
    }

    #[test]
    fn broken_code_around_the_cursor() {
        // A statement after a missing `;`, the text after it not parsing.
        check!("fn main() {\n    let a = 2\n    pr$0\n    let b = = ;\n}\n", @"
        lc a  int
        fn main  fn main()
        bt mix  fn mix(a: color, b: color, t: float) -> color (+1 overload)
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt sqrt  fn sqrt(v: float) -> float
        kw let
        kw var
        kw if
        kw while
        kw for
        kw return
        sn for  for i in a..b { ... }
        sn if  if c { ... }
        sn while  while c { ... }
        bt ... 24 more builtins
        ");
        // The end of the file, inside a call, non-ASCII text before.
        check!("fn main() {\n    print(\"héllo wörld\");\n    // ünïcödé\n\n    let n = 3;\n    print(n + $0", @"
        lc n  int
        fn main  fn main()
        bt mix  fn mix(a: color, b: color, t: float) -> color (+1 overload)
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt sqrt  fn sqrt(v: float) -> float
        kw true
        kw false
        bt ... 24 more builtins
        ");
    }

    #[test]
    fn callables_insert_a_call() {
        let (text, offset) = cursor(&with(VIGNETTE, "fn main() {\n    print($0);\n}\n"));
        let doc = Doc::new(&text);
        let items = completions(&doc, offset);
        let helper = items.iter().find(|item| item.label == "helper").unwrap();
        assert_eq!(helper.insert_text.as_deref(), Some("helper($0)"));
        assert!(helper.is_snippet);
        let sqrt = items.iter().find(|item| item.label == "sqrt").unwrap();
        assert_eq!(sqrt.detail.as_deref(), Some("fn sqrt(v: float) -> float"));
        assert_eq!(
            sqrt.doc.as_deref(),
            Some(
                "```chop\nfn sqrt(v: float) -> float\n```\n\nThe square root of `v` (NaN below 0)."
            )
        );
        let strength = items.iter().find(|item| item.label == "strength").unwrap();
        assert_eq!(strength.insert_text, None);
        // Before an existing `(`: just the name.
        let (text, offset) = cursor(&with(VIGNETTE, "fn main() {\n    print(hel$0(1.0));\n}\n"));
        let items = completions(&Doc::new(&text), offset);
        let helper = items.iter().find(|item| item.label == "helper").unwrap();
        assert_eq!(helper.insert_text, None);
        // Every value once.
        let mut labels: Vec<&str> = items.iter().map(|item| item.label.as_str()).collect();
        let count = labels.len();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), count);
    }

    #[test]
    fn const_contexts() {
        check!("param p: float = $0", @r"
        kw true
        kw false
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt ... 2 more builtins
        ");
        check!("param p: float = 0.5 in 0.0..$0", @r"
        kw true
        kw false
        bt rgb  fn rgb(r: float, g: float, b: float) -> color
        bt ... 2 more builtins
        ");
    }

    /// The last resort for receivers: their type from the tokens alone.
    #[test]
    fn receiver_types_from_tokens() {
        let text = "param tint: color = rgb(1.0, 0.5, 0.0);\nfn helper() -> image { blank(1, 1, tint) }\nfilter f(src: image, x: int, y: int) -> color {\n    let k = [src; 2];\n    let g = fn(v: int) -> color { tint };\n    ";
        let doc = Doc::new(text);
        let view = View::new(&doc, text.len(), None);
        let infer = |receiver: &str| {
            let toks = lex::lex(receiver);
            infer::tokens_type(&toks, toks.len(), &view, 0).map(|ty| ty.to_string())
        };
        assert_eq!(infer("src").as_deref(), Some("image"));
        assert_eq!(infer("src.at(x, y)").as_deref(), Some("color"));
        assert_eq!(infer("k[1].at(0, 0).r").as_deref(), Some("float"));
        assert_eq!(infer("tint").as_deref(), Some("color"));
        assert_eq!(infer("helper()").as_deref(), Some("image"));
        assert_eq!(infer("g(1)").as_deref(), Some("color"));
        assert_eq!(infer("rgb(1.0, 1.0, 1.0)").as_deref(), Some("color"));
        assert_eq!(infer("(src)").as_deref(), Some("image"));
        // Overloads that disagree, unknown names, too deep: nothing.
        assert_eq!(infer("mix(a, b, 0.5)"), None);
        assert_eq!(infer("nope"), None);
        assert_eq!(infer(&"(".repeat(100)), None);
        assert_eq!(infer(&format!("src{}", ".at(0, 0).r".repeat(40))), None);
    }

    /// Every editor feature of these files, on the repository's filters:
    /// at many offsets of each, and on many truncations (code being typed).
    #[test]
    fn all_features_survive_real_files_and_their_prefixes() {
        let files = [
            include_str!("../../filters/sobel.chop"),
            include_str!("../../filters/vignette.chop"),
            include_str!("../../filters/pipelines/sketch.chop"),
        ];
        for text in files {
            let doc = Doc::new(text);
            let whole = chunkvm::syntax::span::Span::new(0, text.len());
            assert!(!super::super::semantic::tokens(&doc).is_empty());
            for offset in (0..=text.len()).step_by(5) {
                let _ = completions(&doc, offset);
            }
            for end in (0..=text.len()).step_by(11) {
                let end = floor_char_boundary(text, end);
                let prefix = &text[..end];
                let doc = Doc::new(prefix);
                let _ = completions(&doc, end);
                let tokens = super::super::semantic::tokens(&doc);
                let _ = super::super::semantic::encode(
                    &tokens,
                    &doc,
                    &super::super::semantic::utf16_col,
                );
                let _ = super::super::hints::inlay_hints(&doc, whole);
                let _ = super::super::hints::code_lenses(&doc);
                let _ = super::super::actions::code_actions(&doc, whole);
            }
        }
    }

    #[test]
    fn never_panics() {
        let texts = [
            VIGNETTE.to_string(),
            "fn main() {\n    let s = \"é\\\"ü\";\n    s.\n".to_string(),
            "fn f(g: fn(int, [float; 3]) -> ".to_string(),
            "pipeline p = a |> b(x: 1, ".to_string(),
            "}}}))) ((( [[ é ü 😀 . .. -> |>".to_string(),
            String::new(),
        ];
        for text in texts {
            let doc = Doc::new(&text);
            for offset in 0..=text.len() + 2 {
                let _ = completions(&doc, offset);
            }
        }
    }
}
