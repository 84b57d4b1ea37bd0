//! Navigation: the name under the cursor, go to definition, find references,
//! document highlights; rename ([`rename`](rename::rename)) and hover
//! ([`hover`](hover::hover)) in their own files.
//!
//! Everything is answered from one [`Index`](crate::index::Index) of the file.

use crate::index::{lookup, Access, Index, Occurrence};
use crate::{Doc, NameAt, Symbol};
use chunkvm::syntax::span::Span;

mod hover;
mod rename;
#[cfg(test)]
mod tests;

pub use hover::{hover, Hover};
pub use rename::{prepare_rename, rename, RenameRefused};

/// The name at the cursor, or right before it.
pub fn name_at(doc: &Doc, offset: usize) -> Option<NameAt> {
    let index = Index::new(doc);
    lookup(&index, offset).map(|occ| NameAt {
        span: occ.span,
        symbol: occ.symbol,
        expr: occ.expr,
    })
}

/// Where the symbol at the cursor is declared: its name (`None` for builtins,
/// fields and methods).
pub fn definition(doc: &Doc, offset: usize) -> Option<Span> {
    let index = Index::new(doc);
    let occ = lookup(&index, offset)?;
    declaration(doc, &index, occ.symbol)
}

fn declaration(doc: &Doc, index: &Index, symbol: Symbol) -> Option<Span> {
    match symbol {
        Symbol::Local(id) => index.locals.get(&id).map(|local| local.name.span),
        Symbol::Item(id) => doc
            .file()
            .items
            .get(id.0 as usize)
            .filter(|item| !item.name.name.is_empty())
            .map(|item| item.name.span),
        Symbol::Builtin(_) | Symbol::Member(..) => None,
    }
}

/// Every use of the symbol at the cursor, sorted (its declaration too when asked).
pub fn references(doc: &Doc, offset: usize, include_declaration: bool) -> Vec<Span> {
    occurrences_at(doc, offset)
        .into_iter()
        .filter(|occ| include_declaration || occ.access != Access::Decl)
        .map(|occ| occ.span)
        .collect()
}

/// Every occurrence of the symbol at the cursor, `true` for writes
/// (declarations, assignments, pipeline overrides of a `param`).
pub fn highlights(doc: &Doc, offset: usize) -> Vec<(Span, bool)> {
    occurrences_at(doc, offset)
        .into_iter()
        .map(|occ| (occ.span, occ.access != Access::Read))
        .collect()
}

/// Every occurrence of the symbol at the cursor, sorted; none when there is no symbol.
fn occurrences_at(doc: &Doc, offset: usize) -> Vec<Occurrence> {
    let index = Index::new(doc);
    let Some(occ) = lookup(&index, offset) else {
        return Vec::new();
    };
    index.of(occ.symbol)
}

/// A test fixture: the text with its markers removed.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Fixture {
    /// The text without markers.
    pub text: String,
    /// Where `$0` was.
    pub cursor: Option<usize>,
    /// The `«…»` ranges.
    pub ranges: Vec<Span>,
    /// The `‹…›` ranges.
    pub writes: Vec<Span>,
}

/// Parses a fixture: `$0` marks the cursor, `«…»` and `‹…›` mark ranges.
#[cfg(test)]
pub(crate) fn fixture(marked: &str) -> Fixture {
    let mut text = String::new();
    let mut cursor = None;
    let mut ranges = Vec::new();
    let mut writes = Vec::new();
    let mut open = Vec::new();
    let mut open_write = Vec::new();
    let mut rest = marked;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("$0") {
            cursor = Some(text.len());
            rest = &rest[2..];
            continue;
        }
        match c {
            '«' => open.push(text.len()),
            '»' => ranges.push(Span::new(open.pop().unwrap(), text.len())),
            '‹' => open_write.push(text.len()),
            '›' => writes.push(Span::new(open_write.pop().unwrap(), text.len())),
            c => text.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    ranges.sort();
    writes.sort();
    Fixture {
        text,
        cursor,
        ranges,
        writes,
    }
}
