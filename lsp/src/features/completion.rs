//! `textDocument/completion`: keywords, locals in scope, params, functions,
//! builtins with their docs, fields after `.`, filters in a pipeline, and
//! snippets for `filter`, `fn` and `for` (as plain text when the client
//! takes no snippets).

use crate::convert::snippet::{plain, snippet};
use crate::convert::Lines;
use chop_ide::completion::{completions, use_paths, Completion, CompletionKind};
use chop_ide::Doc;
use chunkvm::syntax::span::Span;
use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, InsertTextFormat,
    MarkupContent, MarkupKind, TextEdit,
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
        CompletionKind::Module => CompletionItemKind::FILE,
    }
}

fn item(rank: usize, completion: Completion, snippets: bool) -> CompletionItem {
    let (insert_text, format) = match completion.insert {
        Some(insert) if snippets && insert.has_places() => {
            (Some(snippet(&insert)), Some(InsertTextFormat::SNIPPET))
        }
        Some(insert) => (Some(plain(&insert)), Some(InsertTextFormat::PLAIN_TEXT)),
        None => (None, None),
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

/// The completions at `offset`, best first; in the path of a `use`, the files
/// and folders beside the document (`path`) and in the library's folders `lib`.
pub fn completion(
    doc: &Doc,
    lines: &Lines<'_>,
    offset: usize,
    snippets: bool,
    path: Option<&Path>,
    lib: &[PathBuf],
) -> Vec<CompletionItem> {
    let mut dirs: Vec<PathBuf> = path
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    dirs.extend(lib.iter().cloned());
    if let Some(paths) = use_paths(doc, offset, &dirs) {
        // Each label replaces the last part of the path written so far.
        let written = doc.text.get(..offset).unwrap_or("");
        let start = written.rfind(['/', '"']).map_or(offset, |at| at + 1);
        let range = lines.range(Span::new(start, offset));
        return paths
            .into_iter()
            .enumerate()
            .map(|(rank, completion)| {
                let label = completion.label.clone();
                let mut item = item(rank, completion, snippets);
                item.text_edit = Some(CompletionTextEdit::Edit(TextEdit::new(range, label)));
                item
            })
            .collect();
    }
    completions(doc, offset)
        .into_iter()
        .enumerate()
        .map(|(rank, completion)| item(rank, completion, snippets))
        .collect()
}
