//! `textDocument/documentSymbol`: the outline, the file's items with their
//! signatures as `detail` (no parameters or locals as children, as
//! rust-analyzer and gopls do: a 5,000-line file's outline stays small),
//! as `DocumentSymbol`s when the client takes them, else flat.

use crate::convert::Lines;
use chop_ide::outline::{document_symbols as outline, DocSymbol, SymbolKind as Kind};
use chop_ide::Doc;
use tower_lsp_server::ls_types::{
    DocumentSymbol, DocumentSymbolResponse, Location, SymbolInformation, SymbolKind, Uri,
};

/// The LSP kind of an outline symbol.
pub fn kind(kind: Kind) -> SymbolKind {
    match kind {
        Kind::Param => SymbolKind::CONSTANT,
        Kind::Filter | Kind::Function => SymbolKind::FUNCTION,
        Kind::Pipeline => SymbolKind::MODULE,
    }
}

#[allow(deprecated)]
fn nested(symbol: DocSymbol, lines: &Lines<'_>) -> DocumentSymbol {
    DocumentSymbol {
        name: symbol.name,
        detail: (!symbol.detail.is_empty()).then_some(symbol.detail),
        kind: kind(symbol.kind),
        tags: None,
        deprecated: None,
        range: lines.range(symbol.span.cover(symbol.selection)),
        selection_range: lines.range(symbol.selection),
        // Items are leaves: `children` is left out.
        children: None,
    }
}

#[allow(deprecated)]
fn flat(symbol: DocSymbol, lines: &Lines<'_>, uri: &Uri) -> SymbolInformation {
    SymbolInformation {
        name: symbol.name,
        kind: kind(symbol.kind),
        tags: None,
        deprecated: None,
        location: Location::new(uri.clone(), lines.range(symbol.span)),
        container_name: None,
    }
}

/// The outline of `doc`.
pub fn document_symbols(
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    hierarchical: bool,
) -> DocumentSymbolResponse {
    let symbols = outline(doc);
    if hierarchical {
        DocumentSymbolResponse::Nested(
            symbols
                .into_iter()
                .map(|symbol| nested(symbol, lines))
                .collect(),
        )
    } else {
        DocumentSymbolResponse::Flat(
            symbols
                .into_iter()
                .map(|symbol| flat(symbol, lines, uri))
                .collect(),
        )
    }
}
