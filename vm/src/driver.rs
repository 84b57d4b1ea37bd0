//! Source to a runnable program, for the command line, the language server
//! and the debugger: [`analyze`] parses and checks a text once, and
//! [`compile_analyzed`] (or [`Analyzed::compile`]) compiles what was analysed
//! without looking at the text again; [`build`] does both.

use crate::check::{check, Analysis, ParamDecl};
use crate::compile::{compile, Program};
use crate::diag::Diagnostic;
use crate::exec::Value;
use crate::syntax::lower::{parse, Parsed};
use crate::values::{read_value, ValueError, Written};

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
        diagnostics(&self.parsed, &self.analysis)
    }

    /// The file's well-formed `param` items, in source order.
    pub fn params(&self) -> Vec<crate::check::ParamDecl> {
        crate::check::params(&self.parsed.file, &self.analysis)
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        has_errors(&self.parsed, &self.analysis)
    }

    /// Compiles the file; the diagnostics when it has errors.
    pub fn compile(&self) -> Result<Program, Vec<Diagnostic>> {
        compile_analyzed(&self.parsed, &self.analysis)
    }
}

/// Every diagnostic of a parsed and checked file, syntax first, then by position.
pub fn diagnostics(parsed: &Parsed, analysis: &Analysis) -> Vec<Diagnostic> {
    let mut all: Vec<Diagnostic> = parsed.diagnostics.clone();
    all.extend(analysis.diagnostics.iter().cloned());
    all.sort_by_key(|diag| (diag.span.start, diag.span.end));
    all.dedup();
    all
}

/// Whether a parsed and checked file has an error.
pub fn has_errors(parsed: &Parsed, analysis: &Analysis) -> bool {
    parsed.diagnostics.iter().any(Diagnostic::is_error) || analysis.has_errors()
}

/// Parses and checks `text`.
pub fn analyze(text: &str) -> Analyzed {
    #[cfg(test)]
    counts::ANALYSES.with(|n| n.set(n.get() + 1));
    let parsed = parse(text);
    let analysis = check(&parsed.file);
    Analyzed { parsed, analysis }
}

/// Compiles a file already parsed and checked (an editor's document, say) without
/// parsing it again; the diagnostics when it has errors.
pub fn compile_analyzed(parsed: &Parsed, analysis: &Analysis) -> Result<Program, Vec<Diagnostic>> {
    if has_errors(parsed, analysis) {
        return Err(diagnostics(parsed, analysis));
    }
    #[cfg(test)]
    counts::COMPILES.with(|n| n.set(n.get() + 1));
    compile(&parsed.file, analysis).map_err(|err| {
        vec![Diagnostic::error(
            crate::diag::Code::Syntax,
            err.span,
            err.to_string(),
        )]
    })
}

/// The value written for the param `name` of a file whose params are `params` (its
/// [`crate::check::params`]: the command line's `--param`, the editor's sliders), read
/// by [`read_value`] against the param's type and range; `None` when the file has no
/// param `name`.
pub fn read_param(
    params: &[ParamDecl],
    name: &str,
    written: Written<'_>,
) -> Option<Result<Value, ValueError>> {
    let param = params.iter().find(|param| param.name == name)?;
    Some(read_value(&param.name, &param.ty, written, param.range))
}

/// Parses, checks and compiles `text`; the diagnostics when it has errors.
pub fn build(text: &str) -> Result<(Analyzed, Program), Vec<Diagnostic>> {
    let analyzed = analyze(text);
    let program = analyzed.compile()?;
    Ok((analyzed, program))
}

/// How many times this thread has analysed and compiled a file (tests count the work
/// a run does with them).
#[cfg(test)]
pub(crate) mod counts {
    use std::cell::Cell;

    thread_local! {
        /// Calls of [`super::analyze`].
        pub static ANALYSES: Cell<u64> = const { Cell::new(0) };
        /// Compilations by [`super::compile_analyzed`].
        pub static COMPILES: Cell<u64> = const { Cell::new(0) };
    }

    /// (analyses, compilations) on this thread so far.
    pub fn now() -> (u64, u64) {
        (ANALYSES.with(Cell::get), COMPILES.with(Cell::get))
    }
}
