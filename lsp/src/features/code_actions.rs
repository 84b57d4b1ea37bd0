//! `textDocument/codeAction`: quick fixes for the diagnostics in the range
//! (clamp a `param` default into its range, "did you mean" for an unknown
//! name, add a missing `return`, convert between `int` and `float`, prefix
//! an unused variable with `_`). Each action names the diagnostic it fixes:
//! the client's own copy when the request's context holds it.

use crate::convert::Lines;
use crate::diagnostics;
use chop_ide::{actions, Doc};
use chunkvm::syntax::span::Span;
use std::collections::HashMap;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionContext, CodeActionKind, CodeActionOrCommand, TextEdit, Uri,
    WorkspaceEdit,
};

/// The quick fixes for the diagnostics that overlap `span`.
pub fn code_actions(
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    span: Span,
    context: &CodeActionContext,
) -> Vec<CodeActionOrCommand> {
    if let Some(only) = &context.only {
        let wanted = only.iter().any(|kind| {
            let kind = kind.as_str();
            kind == CodeActionKind::QUICKFIX.as_str() || kind.is_empty()
        });
        if !wanted {
            return Vec::new();
        }
    }
    actions::code_actions(doc, span)
        .into_iter()
        .map(|action| {
            let edits: Vec<TextEdit> = action
                .edits
                .into_iter()
                .map(|edit| TextEdit::new(lines.range(edit.span), edit.text))
                .collect();
            let diagnostic = action.diagnostic.map(|diag| {
                context
                    .diagnostics
                    .iter()
                    .find(|sent| diagnostics::matches(sent, &diag, lines))
                    .cloned()
                    .unwrap_or_else(|| diagnostics::to_lsp(&diag, lines, uri, false))
            });
            CodeActionOrCommand::CodeAction(CodeAction {
                title: action.title,
                kind: Some(crate::convert::action_kind(action.kind)),
                diagnostics: diagnostic.map(|diag| vec![diag]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), edits)])),
                    ..WorkspaceEdit::default()
                }),
                command: None,
                is_preferred: Some(action.preferred),
                disabled: None,
                data: None,
            })
        })
        .collect()
}
