//! `textDocument/signatureHelp`: inside a call's parentheses, the signatures
//! of what is called, the one that fits, and the parameter at the cursor.

use chop_ide::{signature, Doc};
use tower_lsp_server::ls_types::{
    Documentation, MarkupContent, MarkupKind, ParameterInformation, ParameterLabel, SignatureHelp,
    SignatureInformation,
};

fn markdown(text: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value: text,
    })
}

/// UTF-16 offset of byte `at` in `label` (clients index labels as JavaScript strings).
fn utf16_at(label: &str, at: usize) -> u32 {
    label
        .get(..at.min(label.len()))
        .map_or(0, |prefix| prefix.encode_utf16().count() as u32)
}

/// The signature help at `offset`.
pub fn signature_help(doc: &Doc, offset: usize) -> Option<SignatureHelp> {
    let help = signature::signature_help(doc, offset)?;
    let signatures = help
        .signatures
        .into_iter()
        .map(|sig| {
            let parameters = sig
                .params
                .iter()
                .map(|(range, doc)| ParameterInformation {
                    label: ParameterLabel::LabelOffsets([
                        utf16_at(&sig.label, range.start),
                        utf16_at(&sig.label, range.end),
                    ]),
                    documentation: doc.clone().map(markdown),
                })
                .collect();
            SignatureInformation {
                label: sig.label,
                documentation: sig.doc.map(markdown),
                parameters: Some(parameters),
                active_parameter: None,
            }
        })
        .collect();
    Some(SignatureHelp {
        signatures,
        active_signature: Some(help.active_signature as u32),
        active_parameter: Some(help.active_parameter as u32),
    })
}
