//! `textDocument/completion`: keywords, locals in scope, params, functions,
//! builtins with their docs, fields after `.`, filters in a pipeline, and
//! snippets for `filter`, `fn` and `for` (as plain text when the client
//! takes no snippets).

use crate::convert::Lines;
use chop_ide::completion::{completions, Completion, CompletionKind};
use chop_ide::Doc;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, Documentation, InsertTextFormat, MarkupContent, MarkupKind,
};

fn kind(kind: CompletionKind) -> CompletionItemKind {
    match kind {
        CompletionKind::Keyword => CompletionItemKind::KEYWORD,
        CompletionKind::Snippet => CompletionItemKind::SNIPPET,
        CompletionKind::Local => CompletionItemKind::VARIABLE,
        CompletionKind::Param => CompletionItemKind::CONSTANT,
        CompletionKind::Function | CompletionKind::Filter | CompletionKind::Builtin => {
            CompletionItemKind::FUNCTION
        }
        CompletionKind::Pipeline => CompletionItemKind::MODULE,
        CompletionKind::Field => CompletionItemKind::FIELD,
        CompletionKind::Method => CompletionItemKind::METHOD,
        CompletionKind::Type => CompletionItemKind::STRUCT,
    }
}

/// A snippet as plain text: placeholders keep their default text, tab stops go.
pub fn plain_of_snippet(snippet: &str) -> String {
    let mut out = String::new();
    let mut chars = snippet.chars().peekable();
    let mut depth = 0usize;
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
            }
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                match chars.peek() {
                    Some(':') => {
                        chars.next();
                    }
                    Some('|') => {
                        // A choice: keep its first option.
                        chars.next();
                        let mut first = String::new();
                        for c in chars.by_ref() {
                            if c == ',' || c == '|' {
                                break;
                            }
                            first.push(c);
                        }
                        out.push_str(&first);
                        for c in chars.by_ref() {
                            if c == '}' {
                                break;
                            }
                        }
                        continue;
                    }
                    _ => {}
                }
                depth += 1;
            }
            '}' if depth > 0 => depth -= 1,
            other => out.push(other),
        }
    }
    out
}

fn item(rank: usize, completion: Completion, snippets: bool) -> CompletionItem {
    let (insert_text, format) = match (completion.insert_text, completion.is_snippet) {
        (Some(text), true) if snippets => (Some(text), Some(InsertTextFormat::SNIPPET)),
        (Some(text), true) => (
            Some(plain_of_snippet(&text)),
            Some(InsertTextFormat::PLAIN_TEXT),
        ),
        (Some(text), false) => (Some(text), Some(InsertTextFormat::PLAIN_TEXT)),
        (None, _) => (None, None),
    };
    CompletionItem {
        label: completion.label,
        kind: Some(kind(completion.kind)),
        detail: completion.detail,
        documentation: completion.doc.map(|doc| {
            Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value: doc,
            })
        }),
        insert_text,
        insert_text_format: format,
        sort_text: Some(format!("{rank:04}")),
        ..CompletionItem::default()
    }
}

/// The completions at `offset`, best first.
pub fn completion(
    doc: &Doc,
    _lines: &Lines<'_>,
    offset: usize,
    snippets: bool,
) -> Vec<CompletionItem> {
    completions(doc, offset)
        .into_iter()
        .enumerate()
        .map(|(rank, completion)| item(rank, completion, snippets))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_as_plain_text() {
        assert_eq!(
            plain_of_snippet("for ${1:i} in ${2:0}..${3:n} {\n\t$0\n}"),
            "for i in 0..n {\n\t\n}"
        );
        assert_eq!(plain_of_snippet("fn ${1:name}() \\$x $10"), "fn name() $x ");
        assert_eq!(plain_of_snippet("${1|a,b|} ${2:x${3:y}}"), "a xy");
    }
}
