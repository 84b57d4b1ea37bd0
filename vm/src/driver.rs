//! Source to a runnable program in one call, for the command line, the
//! language server and the debugger.

use crate::check::{check, Analysis};
use crate::compile::{compile, Program};
use crate::diag::Diagnostic;
use crate::syntax::lower::{parse, Parsed};

/// A parsed and checked file.
pub struct Analyzed {
    /// The tree, the AST and the syntax diagnostics.
    pub parsed: Parsed,
    /// Types, names and the checker's diagnostics.
    pub analysis: Analysis,
}

impl Analyzed {
    /// Every diagnostic, syntax first, then by position.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self.parsed.diagnostics.clone();
        all.extend(self.analysis.diagnostics.iter().cloned());
        all.sort_by_key(|diag| (diag.span.start, diag.span.end));
        all.dedup();
        all
    }

    /// The file's well-formed `param` items, in source order.
    pub fn params(&self) -> Vec<crate::check::ParamDecl> {
        crate::check::params(&self.parsed.file, &self.analysis)
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.parsed.diagnostics.iter().any(Diagnostic::is_error) || self.analysis.has_errors()
    }
}

/// Parses and checks `text`.
pub fn analyze(text: &str) -> Analyzed {
    let parsed = parse(text);
    let analysis = check(&parsed.file);
    Analyzed { parsed, analysis }
}

/// Parses, checks and compiles `text`; the diagnostics when it has errors.
pub fn build(text: &str) -> Result<(Analyzed, Program), Vec<Diagnostic>> {
    let analyzed = analyze(text);
    if analyzed.has_errors() {
        return Err(analyzed.diagnostics());
    }
    match compile(&analyzed.parsed.file, &analyzed.analysis) {
        Ok(program) => Ok((analyzed, program)),
        Err(err) => Err(vec![Diagnostic::error(
            crate::diag::Code::Syntax,
            err.span,
            err.to_string(),
        )]),
    }
}
