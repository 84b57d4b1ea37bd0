//! Diagnostics: the analysis's diagnostics (parse errors, type errors, param
//! defaults out of range, warnings) as LSP diagnostics, each with its stable
//! code and its help.
//!
//! The help goes into `relatedInformation` (at the diagnostic's own range)
//! when the client supports it, else after the message. Publishing, with
//! its debounce, is the document actor's job (`documents.rs`).

use crate::convert::{self, Lines};
use chop_ide::Doc;
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticRelatedInformation, Location, NumberOrString, Uri,
};

/// The source name shown with each diagnostic.
pub const SOURCE: &str = "chop";

/// One analysis diagnostic as an LSP diagnostic.
pub fn to_lsp(
    diag: &chunkvm::diag::Diagnostic,
    lines: &Lines<'_>,
    uri: &Uri,
    related: bool,
) -> Diagnostic {
    let range = lines.range(diag.span);
    let mut message = diag.message.clone();
    let mut related_information = None;
    if let Some(help) = &diag.help {
        if related {
            related_information = Some(vec![DiagnosticRelatedInformation {
                location: Location::new(uri.clone(), range),
                message: format!("help: {help}"),
            }]);
        } else {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
    }
    Diagnostic {
        range,
        severity: Some(convert::severity(diag.severity)),
        code: Some(convert::code(diag.code)),
        code_description: None,
        source: Some(SOURCE.to_string()),
        message,
        related_information,
        tags: convert::tags(diag.code),
        data: None,
    }
}

/// Every diagnostic of a document.
pub fn of_doc(doc: &Doc, lines: &Lines<'_>, uri: &Uri, related: bool) -> Vec<Diagnostic> {
    doc.diagnostics()
        .iter()
        .map(|diag| to_lsp(diag, lines, uri, related))
        .collect()
}

/// The diagnostics of the files a document's program uses, by URI, each file's in
/// its own positions; files for which `open` says yes are left out (their own
/// documents publish them).
pub fn of_used_files(
    doc: &Doc,
    enc: crate::convert::Encoding,
    related: bool,
    open: impl Fn(&std::path::Path) -> bool,
) -> Vec<(Uri, Vec<Diagnostic>)> {
    let Some(program) = &doc.program else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for file in program.analyzed().file_diagnostics().into_iter().skip(1) {
        if open(file.path) {
            continue;
        }
        let Some(uri) = convert::uri_of(file.path) else {
            continue;
        };
        let index = chunkvm::syntax::span::LineIndex::new(file.text);
        let lines = Lines::new(file.text, &index, enc);
        let diags = file
            .diagnostics
            .iter()
            .map(|diag| to_lsp(diag, &lines, &uri, related))
            .collect();
        out.push((uri, diags));
    }
    out
}

/// The analysis diagnostic that an LSP diagnostic (sent back by the client in
/// a code action request) stands for: same code and range.
pub fn matches(lsp: &Diagnostic, diag: &chunkvm::diag::Diagnostic, lines: &Lines<'_>) -> bool {
    let code =
        matches!(&lsp.code, Some(NumberOrString::String(code)) if code == diag.code.as_str());
    code && lines.range(diag.span) == lsp.range
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Encoding;

    #[test]
    fn codes_help_and_positions() {
        let text = "// é\nparam p: float = 2.0 in 0.0..1.0;\nfn f() -> int { true }\n";
        let doc = Doc::new(text);
        let uri: Uri = "file:///a.chop".parse().unwrap();
        let lines = Lines::of(&doc, Encoding::Utf16);
        let diags = of_doc(&doc, &lines, &uri, true);
        assert_eq!(diags.len(), 2, "{diags:#?}");
        assert_eq!(diags[0].code, Some(NumberOrString::String("E0016".into())));
        assert_eq!(diags[0].range.start.line, 1);
        assert_eq!(diags[1].code, Some(NumberOrString::String("E0004".into())));
        let plain = of_doc(&doc, &lines, &uri, false);
        for (with, without) in diags.iter().zip(&plain) {
            match &with.related_information {
                Some(related) => {
                    assert!(without.message.contains(&related[0].message));
                }
                None => assert_eq!(with.message, without.message),
            }
            assert!(matches(with, &doc.diagnostics()[0], &lines) == (with.range == diags[0].range));
        }
    }
}
