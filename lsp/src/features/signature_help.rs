//! `textDocument/signatureHelp`: inside a call's parentheses, the signatures
//! of what is called, the one that fits, and the parameter at the cursor.

use crate::convert::label_offset;
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
                        label_offset(&sig.label, range.start),
                        label_offset(&sig.label, range.end),
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
