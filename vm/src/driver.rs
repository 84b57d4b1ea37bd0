//! Source to a runnable program, for the command line, the language server
//! and the debugger: [`analyze`] parses and checks a text once, and
//! [`compile_analyzed`] (or [`Analyzed::compile`]) compiles what was analysed
//! without looking at the text again; [`build`] does both.

use crate::check::{check, Analysis, ParamDecl};
use crate::compile::ir::CodeFile;
use crate::compile::{compile, Program};
use crate::diag::Diagnostic;
use crate::exec::Value;
use crate::modules::{Graph, Linked, LoadError, Resolver};
use crate::syntax::lower::{parse, Parsed};
use crate::syntax::span::Span;
use crate::values::{read_value, ValueError, Written};
use std::path::{Path, PathBuf};

/// A parsed and checked file.
pub struct Analyzed {
    /// The tree, the AST and the syntax diagnostics. For a file that uses others
    /// ([`analyze_path`]), the AST is the whole linked program (the file's own items
    /// first, with their own spans and ids; then the used files' items, renamed
    /// `NS.name`, their spans moved to their file's base) and the tree and syntax
    /// diagnostics are the file's own.
    pub parsed: Parsed,
    /// Types, names and the checker's diagnostics (of the whole program); shared, so
    /// that the editor's document and its program hold one copy.
    pub analysis: std::sync::Arc<Analysis>,
    /// The files of a program that uses others; `None` for [`analyze`].
    pub modules: Option<std::sync::Arc<Modules>>,
}

/// The files of a program and how they were linked.
pub struct Modules {
    /// The files, the main one first.
    pub graph: Graph,
    /// What each file sees, and where its spans are in the program.
    pub linked: Linked,
}

/// The diagnostics of one file of a program, in that file's own spans.
pub struct FileDiagnostics<'a> {
    /// The file's path as loaded.
    pub path: &'a Path,
    /// Its text.
    pub text: &'a str,
    /// Its diagnostics, by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Analyzed {
    /// Every diagnostic of the file (of the main file, for a program: see
    /// [`Analyzed::file_diagnostics`]), syntax first, then by position.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match &self.modules {
            None => diagnostics(&self.parsed, &self.analysis),
            Some(_) => self
                .file_diagnostics()
                .into_iter()
                .next()
                .map(|file| file.diagnostics)
                .unwrap_or_default(),
        }
    }

    /// The diagnostics of every file of a program, each file once, in its own spans;
    /// for a single file (`path` naming it) the same as [`Analyzed::diagnostics`].
    pub fn file_diagnostics(&self) -> Vec<FileDiagnostics<'_>> {
        let Some(modules) = &self.modules else {
            return Vec::new();
        };
        let mut out: Vec<FileDiagnostics<'_>> = modules
            .graph
            .files
            .iter()
            .map(|unit| FileDiagnostics {
                path: &unit.path,
                text: &unit.text,
                diagnostics: unit.diagnostics.clone(),
            })
            .collect();
        for (file, diag) in &modules.linked.diagnostics {
            if let Some(slot) = out.get_mut(*file) {
                slot.diagnostics.push(diag.clone());
            }
        }
        for diag in &self.analysis.diagnostics {
            let (file, span) = modules.linked.locate(diag.span);
            if let Some(slot) = out.get_mut(file) {
                slot.diagnostics.push(Diagnostic {
                    span,
                    ..diag.clone()
                });
            }
        }
        for file in &mut out {
            file.diagnostics
                .sort_by_key(|diag| (diag.span.start, diag.span.end));
            file.diagnostics.dedup();
        }
        out
    }

    /// The file a span of the program is in (its path and text) and the span there;
    /// `None` for a single file (the span is the file's own).
    pub fn locate(&self, span: Span) -> Option<(&Path, &str, Span)> {
        let modules = self.modules.as_ref()?;
        let (file, local) = modules.linked.locate(span);
        let unit = modules.graph.files.get(file)?;
        Some((&unit.path, &unit.text, local))
    }

    /// The well-formed params of every file, grouped by file (the main file first, then
    /// the used files in the order they were loaded), each with its name in the program
    /// (`NS.name` for a used file's) and its span in its own file.
    pub fn params_by_file(&self) -> Vec<(PathBuf, Vec<ParamDecl>)> {
        let params = self.params();
        let Some(modules) = &self.modules else {
            return vec![(PathBuf::new(), params)];
        };
        let mut out: Vec<(PathBuf, Vec<ParamDecl>)> = modules
            .graph
            .files
            .iter()
            .map(|unit| (unit.path.clone(), Vec::new()))
            .collect();
        for mut param in params {
            let (file, span) = modules.linked.locate(param.span);
            param.span = span;
            if let Some(slot) = out.get_mut(file) {
                slot.1.push(param);
            }
        }
        out
    }

    /// The file's well-formed `param` items, in source order.
    pub fn params(&self) -> Vec<crate::check::ParamDecl> {
        crate::check::params(&self.parsed.file, &self.analysis)
    }

    /// Whether any diagnostic (of any file of a program) is an error.
    pub fn has_errors(&self) -> bool {
        match &self.modules {
            None => has_errors(&self.parsed, &self.analysis),
            Some(modules) => {
                self.analysis.has_errors()
                    || modules
                        .linked
                        .diagnostics
                        .iter()
                        .any(|(_, diag)| diag.is_error())
                    || modules
                        .graph
                        .files
                        .iter()
                        .any(|unit| unit.diagnostics.iter().any(Diagnostic::is_error))
            }
        }
    }

    /// Compiles the file; the diagnostics when it has errors (of the main file, for a
    /// program: [`Analyzed::file_diagnostics`] has them all).
    pub fn compile(&self) -> Result<Program, Vec<Diagnostic>> {
        if self.modules.is_none() {
            return compile_analyzed(&self.parsed, &self.analysis);
        }
        if self.has_errors() {
            return Err(self.diagnostics());
        }
        let mut program = compile(&self.parsed.file, &self.analysis).map_err(|err| {
            vec![Diagnostic::error(
                crate::diag::Code::Syntax,
                err.span,
                err.to_string(),
            )]
        })?;
        if let Some(modules) = &self.modules {
            // The files' places, so that code chunks keep spans per file.
            program.files = modules
                .graph
                .files
                .iter()
                .zip(&modules.linked.bases)
                .map(|(unit, &(base, len))| CodeFile {
                    name: unit.namespace.clone(),
                    base,
                    len,
                })
                .collect();
        }
        Ok(program)
    }
}

/// Loads the file at `path` and every file it uses (through `resolver`, looking in
/// `lib` after the using file's folder: [`crate::modules::load`]), links them and
/// checks the program. A file that uses nothing analyses as [`analyze`] would.
pub fn analyze_path(
    path: &Path,
    resolver: &dyn Resolver,
    lib: &[PathBuf],
) -> Result<Analyzed, LoadError> {
    let graph = crate::modules::load(path, resolver, lib)?;
    Ok(analyze_graph(graph))
}

/// Links and checks a loaded graph of files.
pub fn analyze_graph(graph: Graph) -> Analyzed {
    analyze_graph_reusing(graph, None)
}

/// [`analyze_graph`], sharing with `previous` (the last analysis of the same program)
/// the linked items of the files that did not change ([`crate::modules::link_reusing`])
/// and what checking their bodies found ([`crate::check::check_linked_reusing`]).
pub fn analyze_graph_reusing(graph: Graph, previous: Option<&Analyzed>) -> Analyzed {
    let before = previous.and_then(|analyzed| {
        let modules = analyzed.modules.as_deref()?;
        Some((modules, &*analyzed.analysis))
    });
    let linked = crate::modules::link_reusing(
        &graph,
        before.map(|(modules, _)| (&modules.graph, &modules.linked)),
    );
    let analysis = crate::check::check_linked_reusing(
        &linked,
        before.map(|(modules, analysis)| (&modules.linked, analysis)),
    );
    let parsed = match graph.files.first() {
        Some(unit) => Parsed {
            file: linked.file.clone(),
            ..unit.parsed.clone()
        },
        None => parse(""),
    };
    Analyzed {
        parsed,
        analysis: std::sync::Arc::new(analysis),
        modules: Some(std::sync::Arc::new(Modules { graph, linked })),
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
    Analyzed {
        parsed,
        analysis: std::sync::Arc::new(analysis),
        modules: None,
    }
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

/// Why a name written for a param (`--param NAME=VALUE`) names no param of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamName {
    /// No param has that name, qualified or not.
    Unknown,
    /// Several used files have a param of that name: these, qualified.
    Ambiguous(Vec<String>),
}

impl std::fmt::Display for ParamName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamName::Unknown => f.write_str("no such param"),
            ParamName::Ambiguous(names) => {
                write!(f, "several params have that name: {}", names.join(", "))
            }
        }
    }
}

/// The param of a program that `written` names: the param of that name when there is
/// one (a param of the main file, or a used file's `NS.name`), else the one used file's
/// param whose unqualified name it is (`strength` for `vignette.strength`).
pub fn param_name(params: &[ParamDecl], written: &str) -> Result<String, ParamName> {
    if params.iter().any(|param| param.name == written) {
        return Ok(written.to_string());
    }
    let suffix = format!(".{written}");
    let matches: Vec<String> = params
        .iter()
        .filter(|param| param.name.ends_with(&suffix))
        .map(|param| param.name.clone())
        .collect();
    match matches.as_slice() {
        [] => Err(ParamName::Unknown),
        [one] => Ok(one.clone()),
        _ => Err(ParamName::Ambiguous(matches)),
    }
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
