//! `textDocument/definition`: where the name at the cursor is declared, in the
//! document or in a file it uses.

use crate::convert::{self, Lines};
use chop_ide::navigation::{self, Target};
use chop_ide::Doc;
use tower_lsp_server::ls_types::{GotoDefinitionResponse, Location, Uri};

/// The declaration of the name at `offset` (none for builtins and fields).
pub fn definition(
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    offset: usize,
) -> Option<GotoDefinitionResponse> {
    let location = match navigation::definition_target(doc, offset)? {
        Target::Here(span) => Location::new(uri.clone(), lines.range(span)),
        Target::There(foreign, span) => {
            let there = Lines::of(&foreign.doc, lines.encoding());
            Location::new(convert::uri_of(&foreign.path)?, there.range(span))
        }
    };
    Some(GotoDefinitionResponse::Scalar(location))
}
