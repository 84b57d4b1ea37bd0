//! `textDocument/documentSymbol`: the outline (items, with their parameters
//! and top-level `let`s), nested when the client takes nesting, else flat.

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
        Kind::Variable | Kind::Parameter => SymbolKind::VARIABLE,
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
        // A leaf leaves `children` out (a big outline is mostly leaves).
        children: (!symbol.children.is_empty()).then(|| {
            symbol
                .children
                .into_iter()
                .map(|child| nested(child, lines))
                .collect()
        }),
    }
}

#[allow(deprecated)]
fn flat(
    symbol: DocSymbol,
    container: Option<&str>,
    lines: &Lines<'_>,
    uri: &Uri,
    out: &mut Vec<SymbolInformation>,
) {
    out.push(SymbolInformation {
        name: symbol.name.clone(),
        kind: kind(symbol.kind),
        tags: None,
        deprecated: None,
        location: Location::new(uri.clone(), lines.range(symbol.span)),
        container_name: container.map(str::to_string),
    });
    for child in symbol.children {
        flat(child, Some(&symbol.name), lines, uri, out);
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
        let mut out = Vec::new();
        for symbol in symbols {
            flat(symbol, None, lines, uri, &mut out);
        }
        DocumentSymbolResponse::Flat(out)
    }
}
