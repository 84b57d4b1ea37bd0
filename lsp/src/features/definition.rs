//! `textDocument/definition`: where the name at the cursor is declared.

use crate::convert::Lines;
use chop_ide::{navigation, Doc};
use tower_lsp_server::ls_types::{GotoDefinitionResponse, Location, Uri};

/// The declaration of the name at `offset` (none for builtins and fields).
pub fn definition(
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    offset: usize,
) -> Option<GotoDefinitionResponse> {
    let span = navigation::definition(doc, offset)?;
    Some(GotoDefinitionResponse::Scalar(Location::new(
        uri.clone(),
        lines.range(span),
    )))
}
