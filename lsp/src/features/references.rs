//! `textDocument/references`: every use of the name at the cursor.

use crate::convert::Lines;
use chop_ide::{navigation, Doc};
use tower_lsp_server::ls_types::{Location, Uri};

/// The uses of the name at `offset` (with its declaration when asked), in order.
pub fn references(
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    offset: usize,
    include_declaration: bool,
) -> Vec<Location> {
    navigation::references(doc, offset, include_declaration)
        .into_iter()
        .map(|span| Location::new(uri.clone(), lines.range(span)))
        .collect()
}
