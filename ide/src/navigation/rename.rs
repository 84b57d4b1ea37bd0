//! Rename: what may be renamed at the cursor, and the edits, refused when the new name clashes.

use crate::index::{inner_key, lookup, Access, Index, Occurrence};
use crate::lex::{is_identifier, KEYWORDS};
use crate::{Doc, Edit, Symbol};
use chunkvm::builtins::{self, FIELDS};
use chunkvm::syntax::ast::{BindingId, ItemId};
use chunkvm::syntax::span::Span;

/// The identifier-like word touching `offset` (ASCII, so always on char boundaries).
fn word_at(text: &str, offset: usize) -> Option<Span> {
    let bytes = text.as_bytes();
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let offset = offset.min(bytes.len());
    let mut start = offset;
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    (start < end).then(|| Span::new(start, end))
}

/// Why there is nothing to rename at `offset`.
fn nothing_to_rename(doc: &Doc, offset: usize) -> String {
    let Some(word) = word_at(&doc.text, offset) else {
        return "there is no name here to rename".to_string();
    };
    let text = doc.slice(word);
    let node = doc
        .parsed
        .tree
        .root_node()
        .descendant_for_byte_range(word.start, word.end);
    let kind = node.map_or("", |node| node.kind());
    if matches!(
        kind,
        "comment" | "doc_comment" | "inner_doc_comment" | "string_literal"
    ) {
        return "there is no name here to rename".to_string();
    }
    if KEYWORDS.contains(&text) {
        return format!("`{text}` is a keyword and cannot be renamed");
    }
    if kind == "type_identifier" {
        return format!("`{text}` is a type and cannot be renamed");
    }
    if text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return "there is no name here to rename".to_string();
    }
    format!("`{text}` is not defined here: there is nothing to rename")
}

/// The name to rename at the cursor, or why it cannot be renamed.
pub fn prepare_rename(doc: &Doc, offset: usize) -> Result<Span, String> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Err(nothing_to_rename(doc, offset));
    };
    refuse_symbol(occ.symbol)?;
    Ok(occ.span)
}

fn refuse_symbol(symbol: Symbol) -> Result<(), String> {
    match symbol {
        Symbol::Builtin(name) => Err(format!("`{name}` is a builtin and cannot be renamed")),
        Symbol::Member(receiver, name) => {
            let what = if FIELDS
                .iter()
                .any(|field| field.receiver == receiver && field.name == name)
            {
                "field"
            } else {
                "method"
            };
            Err(format!(
                "`{name}` is a {what} of `{receiver}` and cannot be renamed"
            ))
        }
        Symbol::Local(_) | Symbol::Item(_) => Ok(()),
    }
}

/// The edits renaming the symbol at the cursor to `new_name`, or why not.
pub fn rename(doc: &Doc, offset: usize, new_name: &str) -> Result<Vec<Edit>, String> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Err(nothing_to_rename(doc, offset));
    };
    let symbol = occ.symbol;
    refuse_symbol(symbol)?;
    if new_name.is_empty() {
        return Err("the new name is empty".to_string());
    }
    if !is_identifier(new_name) {
        return Err(format!(
            "`{new_name}` is not a valid name: a name is a letter or `_` followed by letters, digits and `_`"
        ));
    }
    if KEYWORDS.contains(&new_name) {
        return Err(format!("`{new_name}` is a keyword"));
    }
    if builtins::lookup(new_name).is_some() {
        return Err(format!("`{new_name}` is the name of a builtin function"));
    }
    let old_name = doc.slice(occ.span).to_string();
    if old_name == new_name {
        return Ok(Vec::new());
    }
    let occurrences = index.of(symbol);
    match symbol {
        Symbol::Local(id) => local_clash(doc, &index, id, &old_name, new_name, &occurrences)?,
        Symbol::Item(id) => item_clash(doc, &index, id, &old_name, new_name, &occurrences)?,
        Symbol::Builtin(_) | Symbol::Member(..) => {}
    }
    Ok(occurrences
        .into_iter()
        .map(|occ| Edit {
            span: occ.span,
            text: new_name.to_string(),
        })
        .collect())
}

fn line(doc: &Doc, offset: usize) -> usize {
    doc.lines.line_of(offset.min(doc.text.len())) + 1
}

/// Refuses to rename local `id` to `new` when a use would then resolve elsewhere.
fn local_clash(
    doc: &Doc,
    index: &Index,
    id: BindingId,
    old: &str,
    new: &str,
    occurrences: &[Occurrence],
) -> Result<(), String> {
    let Some(renamed) = index.locals.get(&id) else {
        return Ok(());
    };
    // A use of the renamed local where an inner `new` is visible would see that one.
    for occ in occurrences.iter().filter(|occ| occ.access != Access::Decl) {
        let inner = index.visible_at(occ.span.start).find(|other| {
            other.id != id && other.name.name == new && inner_key(other) > inner_key(renamed)
        });
        if let Some(other) = inner {
            return Err(format!(
                "`{new}` (line {}) is in scope at the use of `{old}` on line {}: the renamed variable would be shadowed there",
                line(doc, other.name.span.start),
                line(doc, occ.span.start)
            ));
        }
    }
    // A use of another `new` inside the scope of the renamed local would see it.
    for occ in &index.occurrences {
        if occ.access == Access::Decl
            || occ.expr.is_none()
            || occ.symbol == Symbol::Local(id)
            || doc.slice(occ.span) != new
        {
            continue;
        }
        let start = occ.span.start;
        if !(renamed.scope.start <= start && start < renamed.scope.end) {
            continue;
        }
        let captured = match occ.symbol {
            Symbol::Local(other) => index
                .locals
                .get(&other)
                .is_none_or(|other| inner_key(renamed) > inner_key(other)),
            Symbol::Item(_) | Symbol::Builtin(_) => true,
            Symbol::Member(..) => false,
        };
        if captured {
            return Err(format!(
                "`{new}` is used on line {}, inside the scope of `{old}`: it would refer to the renamed variable",
                line(doc, start)
            ));
        }
    }
    Ok(())
}

/// Refuses to rename item `id` to `new` when another item has that name or a
/// local `new` is visible at one of its uses.
fn item_clash(
    doc: &Doc,
    index: &Index,
    id: ItemId,
    old: &str,
    new: &str,
    occurrences: &[Occurrence],
) -> Result<(), String> {
    if let Some((_, other)) = doc
        .file()
        .items
        .iter()
        .enumerate()
        .find(|(idx, item)| *idx != id.0 as usize && item.name.name == new)
    {
        return Err(format!(
            "an item named `{new}` already exists (line {})",
            line(doc, other.name.span.start)
        ));
    }
    for occ in occurrences.iter().filter(|occ| occ.expr.is_some()) {
        if let Some(local) = index.resolve_local(new, occ.span.start) {
            return Err(format!(
                "the local `{new}` (line {}) is in scope at the use of `{old}` on line {}: it would hide the renamed item",
                line(doc, local.name.span.start),
                line(doc, occ.span.start)
            ));
        }
    }
    Ok(())
}
