//! Hover: the declaration and docs of the name at the cursor.

use crate::index::{lookup, Index, LocalKind};
use crate::render::{expr_text, stages_text, type_text};
use crate::signature::{builtin_labels, item_label, method_label};
use crate::{Doc, Symbol};
use chunkvm::builtins::{self, FIELDS, METHODS};
use chunkvm::syntax::ast::{BindingId, Item, ItemId, ItemKind};
use chunkvm::syntax::span::Span;

/// What hovering a name shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hover {
    /// The name hovered.
    pub span: Span,
    /// Markdown: a `chop` code block with the declaration, then the docs.
    pub markdown: String,
}

/// The declaration and docs of the name at the cursor.
pub fn hover(doc: &Doc, offset: usize) -> Option<Hover> {
    let index = Index::new(doc);
    let occ = lookup(&index, offset)?;
    let markdown = match occ.symbol {
        Symbol::Local(id) => hover_local(doc, &index, id)?,
        Symbol::Item(id) => hover_item(doc, id)?,
        Symbol::Builtin(name) => {
            let builtin = builtins::lookup(name)?;
            let labels: Vec<String> = builtin_labels(builtin)
                .into_iter()
                .map(|label| label.text)
                .collect();
            with_doc(&labels.join("\n"), Some(builtin.doc))
        }
        Symbol::Member(receiver, name) => {
            if let Some(field) = FIELDS
                .iter()
                .find(|field| field.receiver == receiver && field.name == name)
            {
                let code = format!("{receiver}.{name}: {}", field.ty.to_type());
                with_doc(&code, Some(field.doc))
            } else {
                let method = METHODS
                    .iter()
                    .find(|method| method.receiver == receiver && method.name == name)?;
                with_doc(&method_label(method).text, Some(method.doc))
            }
        }
    };
    Some(Hover {
        span: occ.span,
        markdown,
    })
}

/// A `chop` code block, then the doc when there is one.
fn with_doc(code: &str, doc: Option<&str>) -> String {
    let mut markdown = format!("```chop\n{code}\n```");
    if let Some(doc) = doc.filter(|doc| !doc.trim().is_empty()) {
        markdown.push_str("\n\n");
        markdown.push_str(doc);
    }
    markdown
}

fn hover_local(doc: &Doc, index: &Index, id: BindingId) -> Option<String> {
    let local = index.locals.get(&id)?;
    let ty = doc.analysis.binding_type(id);
    let name = &local.name.name;
    let (code, note) = match local.kind {
        LocalKind::Let => (format!("let {name}: {ty}"), None),
        LocalKind::Var => (format!("var {name}: {ty}"), None),
        LocalKind::For => (format!("{name}: {ty}"), Some("loop variable".to_string())),
        LocalKind::Param(Some(item)) => {
            let owner = doc.file().items.get(item.0 as usize)?;
            let word = match &owner.kind {
                ItemKind::Function(function) if function.is_filter => "filter",
                _ => "function",
            };
            (
                format!("{name}: {ty}"),
                Some(format!("parameter of the {word} `{}`", owner.name.name)),
            )
        }
        LocalKind::Param(None) => (
            format!("{name}: {ty}"),
            Some("parameter of a closure".to_string()),
        ),
    };
    let mut notes: Vec<String> = note.into_iter().collect();
    if doc.analysis.captured.contains(&id) {
        notes.push("captured by a closure".to_string());
    }
    let note = (!notes.is_empty()).then(|| {
        let mut joined = notes.join(", ");
        if let Some(first) = joined.get(..1) {
            let upper = first.to_ascii_uppercase();
            joined.replace_range(..1, &upper);
        }
        format!("{joined}.")
    });
    Some(with_doc(&code, note.as_deref()))
}

fn hover_item(doc: &Doc, id: ItemId) -> Option<String> {
    let Some(item) = doc.file().items.get(id.0 as usize) else {
        // An item of a used file: shown as that file declares it.
        let foreign = doc.foreign(id)?;
        let item = foreign.doc.file().items.get(foreign.item.0 as usize)?;
        let code = item_code(&foreign.doc, foreign.item, item)?;
        let mut markdown = with_doc(&code, item.doc.as_deref());
        let file = foreign
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        markdown.push_str(&format!("\n\n*from `{file}`*"));
        return Some(markdown);
    };
    let code = item_code(doc, id, item)?;
    Some(with_doc(&code, item.doc.as_deref()))
}

/// An item's declaration, without its body.
pub(crate) fn item_code(doc: &Doc, id: ItemId, item: &Item) -> Option<String> {
    let name = &item.name.name;
    Some(match &item.kind {
        ItemKind::Param(param) => {
            let mut code = format!(
                "param {name}: {} = {}",
                type_text(doc, &param.ty),
                expr_text(doc, &param.default)
            );
            if let Some((min, max)) = &param.range {
                code.push_str(&format!(
                    " in {}..{}",
                    expr_text(doc, min),
                    expr_text(doc, max)
                ));
            }
            code
        }
        ItemKind::Function(_) => item_label(doc, id)?.text,
        ItemKind::Pipeline(pipeline) => {
            format!("pipeline {name} = {}", stages_text(doc, pipeline))
        }
    })
}
