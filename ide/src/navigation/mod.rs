//! Navigation: the name under the cursor, go to definition, find references,
//! document highlights; rename ([`rename`](rename::rename)) and hover
//! ([`hover`](hover::hover)) in their own files.
//!
//! Everything is answered from one [`Index`](crate::index::Index) of the file.

use crate::index::{lookup, Access, Index, Occurrence};
use crate::{Doc, NameAt, Symbol};
use chunkvm::syntax::span::Span;

mod across;
mod hover;
mod rename;
#[cfg(test)]
mod tests;

pub use across::{item_ref_at, may_refer, rename_clash, uses_of, ItemRef, ItemUse};
pub use hover::{hover, Hover};
pub use rename::{check_new_name, prepare_rename, rename, RenameRefused};

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

/// Where a declaration is: in the file itself, or in a file it uses.
#[derive(Clone, Debug)]
pub enum Target {
    /// In the file: the name's span.
    Here(Span),
    /// In a used file: that file (analysed alone) and the name's span in it.
    There(crate::Foreign, Span),
}

/// Where the symbol at the cursor is declared, in this file or in a file it uses.
pub fn definition_target(doc: &Doc, offset: usize) -> Option<Target> {
    let index = Index::new(doc);
    let occ = lookup(&index, offset)?;
    if let Some(span) = declaration(doc, &index, occ.symbol) {
        return Some(Target::Here(span));
    }
    let Symbol::Item(id) = occ.symbol else {
        return None;
    };
    let foreign = doc.foreign(id)?;
    let span = foreign
        .doc
        .file()
        .items
        .get(foreign.item.0 as usize)
        .filter(|item| !item.name.name.is_empty())?
        .name
        .span;
    Some(Target::There(foreign, span))
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
