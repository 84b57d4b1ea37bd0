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
use candidates::{
    builtin_completion, filters, item_level, members, param_detail, statement_keywords, used_items,
    values, Used,
};
use chunkvm::builtins;
use chunkvm::syntax::ast::ItemKind;
use context::{context, ident_start, inside_comment_or_string, is_ident_char, Context};
use lex::{floor_char_boundary, Tok, TokKind};
use std::collections::HashSet;
use view::View;

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
    /// A file or folder in a `use` path.
    Module,
}

/// One completion item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// What is shown, and inserted unless `insert` says otherwise.
    pub label: String,
    /// What it is.
    pub kind: CompletionKind,
    /// Its type or signature.
    pub detail: Option<String>,
    /// Its documentation, in Markdown.
    pub doc: Option<String>,
    /// What to insert instead of the label.
    pub insert: Option<Insert>,
}

/// What a completion inserts: text, and perhaps places for the editor to
/// move the cursor to (a server writes them in its protocol's syntax, or
/// keeps their text for an editor that has none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Insert {
    /// The parts, in order.
    pub parts: Vec<InsertPart>,
}

/// A part of an [`Insert`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsertPart {
    /// Text, as it is.
    Text(String),
    /// A place the cursor visits in turn (`index` from 1), holding `default`
    /// (selected, to be typed over; may be empty).
    Placeholder {
        /// The place in the order of visits, from 1.
        index: u32,
        /// The text it holds.
        default: String,
    },
    /// Where the cursor ends, holding `default` (selected; may be empty).
    FinalCursor {
        /// The text it holds.
        default: String,
    },
}

impl Insert {
    /// Plain text.
    pub fn text(text: impl Into<String>) -> Insert {
        Insert {
            parts: vec![InsertPart::Text(text.into())],
        }
    }

    /// `name(|)`: a call, the cursor between the parentheses.
    fn call(name: &str) -> Insert {
        Insert {
            parts: vec![
                InsertPart::Text(format!("{name}(")),
                InsertPart::FinalCursor {
                    default: String::new(),
                },
                InsertPart::Text(")".to_string()),
            ],
        }
    }

    /// This insert, then `text`.
    fn then(mut self, text: &str) -> Insert {
        self.parts.push(InsertPart::Text(text.to_string()));
        self
    }

    /// This insert, then placeholder `index` holding `default`.
    fn placeholder(mut self, index: u32, default: &str) -> Insert {
        self.parts.push(InsertPart::Placeholder {
            index,
            default: default.to_string(),
        });
        self
    }

    /// This insert, then the final cursor, holding `default`.
    fn cursor(mut self, default: &str) -> Insert {
        self.parts.push(InsertPart::FinalCursor {
            default: default.to_string(),
        });
        self
    }

    /// Whether it has places for the cursor (not only text).
    pub fn has_places(&self) -> bool {
        self.parts
            .iter()
            .any(|part| !matches!(part, InsertPart::Text(_)))
    }
}

impl Completion {
    fn new(label: impl Into<String>, kind: CompletionKind) -> Completion {
        Completion {
            label: label.into(),
            kind,
            detail: None,
            doc: None,
            insert: None,
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

    fn insert(mut self, insert: Insert) -> Completion {
        self.insert = Some(insert);
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
    // What the context reads is the tokens up to the cursor's line, and no token spans a
    // line break (comments and strings end at it), so the text up to the line's end
    // lexes to exactly those tokens: the rest of the file is not lexed.
    let toks = lex::lex(lex::to_line_end(text, offset));
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
            // After `m.`, `m` the namespace of a used file: its items.
            let receiver = text.get(..word_start).unwrap_or("");
            let receiver = receiver.strip_suffix('.').unwrap_or(receiver);
            let receiver = &receiver[ident_start(receiver, receiver.len())..];
            if !receiver.is_empty() {
                let before = out.len();
                used_items(&mut out, doc, Used::In(receiver));
                if out.len() > before {
                    return dedup(out);
                }
            }
            let view = View::new(doc, offset, None);
            let ty = view
                .receiver_type(word_start)
                .or_else(|| infer::tokens_type(&before, receiver_end, &view, 0));
            members(&mut out, ty.as_ref(), call_follows);
        }
        Context::Filters => {
            let view = View::new(doc, offset, None);
            filters(&mut out, &view);
            used_items(&mut out, doc, Used::Filters);
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
                            .insert(Insert::text(format!("{}: ", item.name.name))),
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
            used_items(&mut out, doc, Used::Values);
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

mod candidates;
mod context;
mod infer;
mod view;

#[cfg(test)]
mod tests;

/// Completions of the path of a `use "...` being written at `offset`: the `.chop`
/// files and the folders in the folder the path written so far names, looked for
/// from each folder of `dirs` (the using file's folder, then the library's); each
/// label is the last part of the path (what the client replaces the word with).
/// `None` when the cursor is not in the path of a `use`.
pub fn use_paths(doc: &Doc, offset: usize, dirs: &[std::path::PathBuf]) -> Option<Vec<Completion>> {
    let text: &str = &doc.text;
    let offset = floor_char_boundary(text, offset);
    let line_start = text.get(..offset)?.rfind('\n').map_or(0, |at| at + 1);
    let line = text.get(line_start..offset)?;
    let rest = line.trim_start().strip_prefix("use")?;
    let written = rest.trim_start().strip_prefix('"')?;
    if written.contains('"') || !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let folder = match written.rfind('/') {
        Some(at) => written.get(..=at)?,
        None => "",
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
            continue;
        };
        let mut names: Vec<(String, bool)> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let is_dir = entry.file_type().ok()?.is_dir();
                (!name.starts_with('.') && (is_dir || name.ends_with(".chop")))
                    .then_some((name, is_dir))
            })
            .collect();
        names.sort();
        for (name, is_dir) in names {
            let label = if is_dir { format!("{name}/") } else { name };
            if !seen.insert(label.clone()) {
                continue;
            }
            let detail = dir.join(folder).join(&label).display().to_string();
            out.push(Completion::new(label, CompletionKind::Module).detail(detail));
        }
    }
    Some(out)
}
