//! What the editor's chunk-graph view and filter preview ask for: the block
//! graph of the function under the cursor, the file's `param`s as sliders,
//! and a run of a filter or pipeline on a small level of a photo.
//!
//! [`chunk_graph`] compiles the file (only when it has no errors) and draws
//! the function named, or the innermost function or closure around an
//! offset. [`params`] lists the checked `param` items with their defaults
//! and ranges. [`preview`] compiles the analysed document once and runs a
//! filter or pipeline of it through [`chunkvm::photo::run_input`] on a pyramid
//! level small enough for a preview, with user values for the params (as
//! written, read by [`chunkvm::driver::read_param`] against each param's
//! declared type and range, as the command line reads them), a cancel flag
//! and progress reports, and encodes the result as PNG. These are plain facts:
//! the server makes them JSON.

use super::Doc;
use crate::graph::Graph;
use chunkvm::check::ParamDecl;
use chunkvm::chunk::{NodeId, Store};
use chunkvm::compile::chunks::store_program;
use chunkvm::diag::{has_names, plural};
use chunkvm::exec::{Limits, RuntimeError, Value};
use chunkvm::photo::{
    preview_level, run_input, Compiled, ImageError, Input, Rgba8, RunError, RunOptions, Target,
};
use chunkvm::syntax::ast::ItemKind;
use chunkvm::syntax::span::LineCol;
use chunkvm::values::{ValueError, Written};
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// The chunk graph of a function of `doc`: the one named `function`, else the
/// innermost function, filter or closure whose definition holds `offset`.
/// `None` when the file has errors, or there is no such function.
pub fn chunk_graph(doc: &Doc, function: Option<&str>, offset: Option<usize>) -> Option<Graph> {
    chunk_graph_or_why(doc, function, offset).ok()
}

/// The first error of a file with errors: where it is and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstError {
    /// Its start, as shown to people.
    pub at: LineCol,
    /// Its message.
    pub message: String,
}

impl FirstError {
    /// The first error of `doc`, and how many it has; `None` when it has none.
    fn of(doc: &Doc) -> Option<(FirstError, usize)> {
        let diagnostics = doc.diagnostics();
        let first = diagnostics.iter().find(|diag| diag.is_error())?;
        let count = diagnostics.iter().filter(|diag| diag.is_error()).count();
        let at = doc.lines.line_col(&doc.text, first.span.start);
        let message = first.message.clone();
        Some((FirstError { at, message }, count))
    }
}

impl fmt::Display for FirstError {
    /// `at line 3 column 5: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at line {} column {}: {}",
            self.at.line, self.at.col, self.message
        )
    }
}

/// Why there is no chunk graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphError {
    /// The file has errors (the graph is of compiled code).
    FileHasErrors(FirstError),
    /// The analysed file did not compile: the compiler's messages.
    DoesNotCompile(Vec<String>),
    /// No function of that name.
    UnknownFunction {
        /// The name asked for.
        name: String,
        /// The functions the file has (those a user can name).
        functions: Vec<String>,
    },
    /// No function, filter or closure around the offset given.
    NoFunctionHere,
    /// Neither a function's name nor an offset was given.
    NoFunctionGiven,
    /// The function has no graph.
    NoGraph,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::FileHasErrors(first) => write!(
                f,
                "the file has errors (the first, {first}); fix them to see the chunk graph"
            ),
            GraphError::DoesNotCompile(why) => {
                write!(f, "the file does not compile: {}", why.join("; "))
            }
            GraphError::UnknownFunction { name, functions } => {
                let names: Vec<&str> = functions.iter().map(String::as_str).collect();
                write!(
                    f,
                    "no function `{name}`; {}",
                    has_names("the file", &names, "functions")
                )
            }
            GraphError::NoFunctionHere => f.write_str("no function, filter or closure here"),
            GraphError::NoFunctionGiven => {
                f.write_str("which function? give its name or a position")
            }
            GraphError::NoGraph => f.write_str("no graph for this function"),
        }
    }
}

impl std::error::Error for GraphError {}

/// [`chunk_graph`], saying why there is no graph.
pub fn chunk_graph_or_why(
    doc: &Doc,
    function: Option<&str>,
    offset: Option<usize>,
) -> Result<Graph, GraphError> {
    if let Some((first, _)) = FirstError::of(doc) {
        return Err(GraphError::FileHasErrors(first));
    }
    let program = doc.compile().map_err(|diags| {
        GraphError::DoesNotCompile(diags.into_iter().map(|diag| diag.message).collect())
    })?;
    let index = match (function, offset) {
        (Some(name), _) => program
            .function(name)
            .map(|(idx, _)| idx as usize)
            .ok_or_else(|| GraphError::UnknownFunction {
                name: name.to_string(),
                functions: program
                    .function_names()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            })?,
        (None, Some(offset)) => program
            .functions
            .iter()
            .enumerate()
            .filter(|(_, func)| func.span.contains(offset) && !func.span.is_empty())
            .min_by_key(|(_, func)| func.span.len())
            .map(|(idx, _)| idx)
            .ok_or(GraphError::NoFunctionHere)?,
        (None, None) => return Err(GraphError::NoFunctionGiven),
    };
    let mut store = Store::new(NodeId(1));
    let ids = store_program(&program, &mut store);
    crate::graph::graph(&program, &ids, index, Some(&doc.text)).ok_or(GraphError::NoGraph)
}

/// The file's well-formed `param` items, in source order: what the editor shows
/// as sliders (or checkboxes, or colour pickers); for a file that uses others,
/// theirs too, named `NS.name` (their spans in the linked program).
pub fn params(doc: &Doc) -> Vec<ParamDecl> {
    doc.program_params()
}

/// A preview: the output image as PNG and what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewResult {
    /// The output image, PNG-encoded.
    pub png: Vec<u8>,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// The pyramid level it ran on (0: full resolution).
    pub level: usize,
    /// Wall-clock time of the run, in milliseconds.
    pub millis: u64,
    /// Instructions executed, all stages together.
    pub instructions: u64,
    /// The filters run, in order.
    pub stages: Vec<String>,
}

/// The filters and pipelines a file has: what a preview can run.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Targets {
    /// The filters, in source order.
    pub filters: Vec<String>,
    /// The pipelines, in source order.
    pub pipelines: Vec<String>,
}

impl Targets {
    /// The filters and pipelines of `doc`.
    pub fn of(doc: &Doc) -> Targets {
        let mut targets = Targets::default();
        for item in &doc.file().items {
            let name = item.name.name.clone();
            match &item.kind {
                ItemKind::Function(f) if f.is_filter => targets.filters.push(name),
                ItemKind::Pipeline(_) => targets.pipelines.push(name),
                ItemKind::Function(_) | ItemKind::Param(_) => {}
            }
        }
        targets
    }
}

impl fmt::Display for Targets {
    /// `the file has filters: a, b; pipelines: p`, each part saying "no" when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (filters, pipelines) = (self.filters.join(", "), self.pipelines.join(", "));
        match (self.filters.is_empty(), self.pipelines.is_empty()) {
            (true, true) => f.write_str("the file has no filters and no pipelines"),
            (false, true) => write!(f, "the file has filters: {filters}; no pipelines"),
            (true, false) => write!(f, "the file has no filters; pipelines: {pipelines}"),
            (false, false) => write!(f, "the file has filters: {filters}; pipelines: {pipelines}"),
        }
    }
}

/// Why there is no preview. Its `Display` is the one-line reason shown to people.
#[derive(Clone, Debug, PartialEq)]
pub enum PreviewError {
    /// The cancel flag was set (before or during the run).
    Cancelled,
    /// The file has errors.
    FileHasErrors {
        /// How many.
        count: usize,
        /// The first.
        first: FirstError,
    },
    /// The analysed file did not compile: how many errors the compiler gave.
    DoesNotCompile(usize),
    /// A value was given for a param the file does not have.
    UnknownParam {
        /// The name given.
        name: String,
        /// The file's params.
        params: Vec<String>,
    },
    /// A param's value was refused (the error names the param).
    BadParam(ValueError),
    /// No filter of that name.
    UnknownFilter {
        /// The name asked for.
        name: String,
        /// What the file has.
        targets: Targets,
    },
    /// No pipeline of that name.
    UnknownPipeline {
        /// The name asked for.
        name: String,
        /// What the file has.
        targets: Targets,
    },
    /// No target was named, and the file has not one pipeline, nor (without
    /// pipelines) one filter.
    WhichTarget(Targets),
    /// A filter failed at run time.
    Runtime {
        /// The used file it failed in (`None`: the document itself).
        file: Option<std::path::PathBuf>,
        /// Where, as shown to people, in that file.
        at: LineCol,
        /// The VM's error.
        error: RuntimeError,
    },
    /// The run failed otherwise (the photo, its level, the quota...).
    Run(RunError),
    /// The client could not provide the photo (or the level asked for): its reason.
    Photo(String),
    /// The output could not be encoded as PNG.
    Encode(ImageError),
}

impl fmt::Display for PreviewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreviewError::Cancelled => f.write_str("cancelled"),
            PreviewError::FileHasErrors { count, first } => write!(
                f,
                "the file has {} (the first, {first})",
                plural(*count as u64, "error")
            ),
            PreviewError::DoesNotCompile(errors) => {
                write!(f, "the program has {}", plural(*errors as u64, "error"))
            }
            PreviewError::UnknownParam { name, params } => {
                let names: Vec<&str> = params.iter().map(String::as_str).collect();
                write!(
                    f,
                    "no param `{name}`; {}",
                    has_names("the file", &names, "params")
                )
            }
            PreviewError::BadParam(err) => write!(f, "param {err}"),
            PreviewError::UnknownFilter { name, targets } => {
                write!(f, "no filter `{name}`; {targets}")
            }
            PreviewError::UnknownPipeline { name, targets } => {
                write!(f, "no pipeline `{name}`; {targets}")
            }
            PreviewError::WhichTarget(targets) => {
                write!(f, "which filter or pipeline? {targets}")
            }
            PreviewError::Runtime { file, at, error } => {
                if let Some(file) = file {
                    write!(f, "{} ", file.display())?;
                }
                write!(f, "line {} column {}: {}", at.line, at.col, error.message)
            }
            PreviewError::Run(err) => write!(f, "{err}"),
            PreviewError::Photo(message) => f.write_str(message),
            PreviewError::Encode(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for PreviewError {}

/// Where offset `at` of the program run for `doc` is: in a used file (its path and its
/// own line and column) or in the document.
fn runtime_place(doc: &Doc, at: usize) -> (Option<std::path::PathBuf>, LineCol) {
    let modules = doc.program.as_ref().and_then(|program| program.modules());
    if let Some(modules) = modules {
        let (idx, span) = modules
            .linked
            .locate(chunkvm::syntax::span::Span::new(at, at));
        if let Some(unit) = modules.graph.files.get(idx).filter(|_| idx > 0) {
            let lines = chunkvm::syntax::span::LineIndex::new(&unit.text);
            return (
                Some(unit.path.clone()),
                lines.line_col(&unit.text, span.start),
            );
        }
    }
    (None, doc.lines.line_col(&doc.text, at))
}

/// Reads user values for the params of `doc` (as an editor wrote them) as VM
/// values, checking names, types and ranges.
pub fn param_values(
    doc: &Doc,
    values: &[(String, Written<'_>)],
) -> Result<Vec<(String, Value)>, PreviewError> {
    let params = params(doc);
    let mut out = Vec::new();
    for (name, written) in values {
        // A used file's param may be named unqualified when no other has its name.
        let name = &chunkvm::driver::param_name(&params, name).unwrap_or_else(|_| name.clone());
        let Some(value) = chunkvm::driver::read_param(&params, name, *written) else {
            return Err(PreviewError::UnknownParam {
                name: name.clone(),
                params: params.iter().map(|p| p.name.clone()).collect(),
            });
        };
        out.push((name.clone(), value.map_err(PreviewError::BadParam)?));
    }
    Ok(out)
}

/// Refuses a target the file does not have, naming those it has.
fn check_target(doc: &Doc, target: Option<&Target>) -> Result<(), PreviewError> {
    let targets = Targets::of(doc);
    match target {
        Some(Target::Filter(name)) if !targets.filters.contains(name) => {
            Err(PreviewError::UnknownFilter {
                name: name.clone(),
                targets,
            })
        }
        Some(Target::Pipeline(name)) if !targets.pipelines.contains(name) => {
            Err(PreviewError::UnknownPipeline {
                name: name.clone(),
                targets,
            })
        }
        None => match (targets.pipelines.len(), targets.filters.len()) {
            (1, _) | (0, 1) => Ok(()),
            _ => Err(PreviewError::WhichTarget(targets)),
        },
        _ => Ok(()),
    }
}

/// Runs `target` (or the file's only pipeline or filter) of the analysed
/// document `doc`, compiled once here, on level `level` of `photo` (the preview
/// level, at most 512 pixels on its longer side, when `None`), with the given
/// param values (as written, read by the params' declared types), within
/// `limits`. Setting `cancel` stops the run with [`PreviewError::Cancelled`];
/// `progress` hears (rows done, rows in all).
#[allow(clippy::too_many_arguments)]
pub fn preview(
    doc: &Doc,
    target: Option<&Target>,
    photo: &Rgba8,
    params: &[(String, Written<'_>)],
    level: Option<usize>,
    limits: Limits,
    cancel: Arc<AtomicBool>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<PreviewResult, PreviewError> {
    if let Some((first, count)) = FirstError::of(doc) {
        return Err(PreviewError::FileHasErrors { count, first });
    }
    let params = param_values(doc, params)?;
    check_target(doc, target)?;
    let level = level.unwrap_or_else(|| preview_level(photo.width, photo.height));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let options = RunOptions {
        level,
        threads,
        limits,
        params,
        cancel: Some(cancel.clone()),
        ..RunOptions::default()
    };
    let cancelled = |flag: &AtomicBool| flag.load(std::sync::atomic::Ordering::Relaxed);
    if cancelled(&cancel) {
        return Err(PreviewError::Cancelled);
    }
    let program = doc
        .compile()
        .map_err(|diags| PreviewError::DoesNotCompile(diags.len()))?;
    let compiled = Compiled {
        file: doc.program_file(),
        analysis: &doc.analysis,
        program,
    };
    let started = Instant::now();
    let input = Input::Image(std::borrow::Cow::Borrowed(photo));
    let output =
        run_input(compiled, target, &input, &options, progress).map_err(|err| match err {
            RunError::Cancelled => PreviewError::Cancelled,
            RunError::Runtime(error) => {
                let (file, at) = runtime_place(doc, error.span.start);
                PreviewError::Runtime { file, at, error }
            }
            other => PreviewError::Run(other),
        })?;
    if cancelled(&cancel) {
        return Err(PreviewError::Cancelled);
    }
    let millis = started.elapsed().as_millis() as u64;
    let png = output.image.encode_png().map_err(PreviewError::Encode)?;
    Ok(PreviewResult {
        png,
        width: output.image.width,
        height: output.image.height,
        level,
        millis,
        instructions: output.instructions,
        stages: output.stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkvm::check::Const;
    use chunkvm::types::Type;

    const SRC: &str = "/// How strong.\nparam amount: float = 0.5 in 0.0..1.0;\nparam steps: int = 3 in 1..8;\nparam on: bool = true;\nparam tint: color = rgb(1.0, 0.5, 0.0);\n\nfilter invert(c: color) -> color {\n    let k = fn(v: float) -> float { 1.0 - v * amount };\n    rgb(k(c.r), k(c.g), k(c.b))\n}\n\nfn twice(n: int) -> int {\n    var t = 0;\n    for i in 0..n { t += 2; }\n    t\n}\n";

    #[test]
    fn params_lists_defaults_and_ranges() {
        let doc = Doc::new(SRC);
        let params = params(&doc);
        assert_eq!(params[0].name, "amount");
        assert_eq!(params[0].ty, Type::Float);
        assert_eq!(params[0].default, Const::Float(0.5));
        assert_eq!(
            params[0].range,
            Some((Const::Float(0.0), Const::Float(1.0)))
        );
        assert_eq!(params[0].doc.as_deref(), Some("How strong."));
        assert_eq!(params[1].default, Const::Int(3));
        assert_eq!(params[2].default, Const::Bool(true));
        assert_eq!(params[2].range, None);
        assert_eq!(params[3].default, Const::Color([1.0, 0.5, 0.0, 1.0]));
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn chunk_graph_by_name_and_by_offset() {
        let doc = Doc::new(SRC);
        let by_name = chunk_graph(&doc, Some("twice"), None).unwrap();
        assert_eq!(by_name.function, "twice");
        assert!(by_name.nodes.len() > 2);
        let inside = SRC.find("t += 2").unwrap();
        assert_eq!(chunk_graph(&doc, None, Some(inside)).unwrap(), by_name);
        let in_closure = SRC.find("1.0 - v").unwrap();
        let closure = chunk_graph(&doc, None, Some(in_closure)).unwrap();
        assert!(
            closure.function.starts_with("invert::closure"),
            "{}",
            closure.function
        );
        let in_filter = SRC.find("rgb(k(").unwrap();
        assert_eq!(
            chunk_graph(&doc, None, Some(in_filter)).unwrap().function,
            "invert"
        );
        assert!(chunk_graph(&doc, Some("nope"), None).is_none());
        let nope = chunk_graph_or_why(&doc, Some("nope"), None).unwrap_err();
        assert!(
            matches!(&nope, GraphError::UnknownFunction { name, functions }
                if name == "nope" && functions.iter().any(|f| f == "twice")),
            "{nope:?}"
        );
        assert_eq!(
            nope.to_string(),
            "no function `nope`; the file has: invert, twice"
        );
        assert!(chunk_graph(&doc, None, Some(0)).is_none());
        assert_eq!(
            chunk_graph_or_why(&doc, None, Some(0)),
            Err(GraphError::NoFunctionHere)
        );
        assert_eq!(
            chunk_graph_or_why(&doc, None, None),
            Err(GraphError::NoFunctionGiven)
        );
        let broken = Doc::new("fn f() -> int { true }");
        let err = chunk_graph_or_why(&broken, Some("f"), None).unwrap_err();
        let GraphError::FileHasErrors(first) = &err else {
            panic!("not the file's errors: {err:?}");
        };
        assert_eq!((first.at.line, first.at.col), (1, 17));
        assert!(
            err.to_string()
                .starts_with("the file has errors (the first, at line 1 column 17: "),
            "{err}"
        );
    }

    fn no_progress(_: u64, _: u64) {}

    /// A preview of `target` of `text` on `photo` with `params` written as text.
    fn preview_of(
        text: &str,
        target: Option<Target>,
        photo: &Rgba8,
        params: &[(&str, &str)],
        level: Option<usize>,
        cancel: bool,
    ) -> Result<PreviewResult, PreviewError> {
        let params: Vec<(String, Written<'_>)> = params
            .iter()
            .map(|(name, text)| (name.to_string(), Written::Text(text)))
            .collect();
        preview(
            &Doc::new(text),
            target.as_ref(),
            photo,
            &params,
            level,
            Limits::default(),
            Arc::new(AtomicBool::new(cancel)),
            &no_progress,
        )
    }

    #[test]
    fn preview_runs_a_filter_on_a_small_level() {
        let photo = Rgba8::filled(40, 20, [255, 0, 0, 255]);
        let invert = Some(Target::Filter("invert".into()));
        let result = preview_of(SRC, invert, &photo, &[("amount", "1.0")], Some(0), false).unwrap();
        assert_eq!((result.width, result.height, result.level), (40, 20, 0));
        assert!(result.instructions > 0);
        let image = Rgba8::decode(&result.png).unwrap();
        assert_eq!(&image.pixels[..4], &[0, 255, 255, 255]);
    }

    #[test]
    fn preview_refuses_bad_params_and_stops_when_cancelled() {
        let photo = Rgba8::filled(16, 16, [0, 0, 0, 255]);
        let run = |params: &[(&str, &str)], cancel: bool| {
            let invert = Some(Target::Filter("invert".into()));
            preview_of(SRC, invert, &photo, params, None, cancel)
        };
        let failed = |result: Result<PreviewResult, PreviewError>| match result {
            Err(PreviewError::Cancelled) | Ok(_) => panic!("not a failure: {result:?}"),
            Err(err) => err.to_string(),
        };
        let err = run(&[("amount", "2.0")], false).unwrap_err();
        assert!(
            matches!(&err, PreviewError::BadParam(ValueError::OutOfRange { name, .. }) if name == "amount"),
            "{err:?}"
        );
        assert!(err.to_string().contains("0..1"), "{err}");
        let err = failed(run(&[("amount", "x")], false));
        assert!(err.contains("a float"), "{err}");
        let err = run(&[("nope", "1")], false).unwrap_err();
        assert!(
            matches!(&err, PreviewError::UnknownParam { name, params } if name == "nope" && params.len() == 4),
            "{err:?}"
        );
        assert!(err.to_string().contains("amount"), "{err}");
        let missing = preview_of(
            SRC,
            Some(Target::Pipeline("p".into())),
            &photo,
            &[],
            None,
            false,
        );
        let targets = Targets {
            filters: vec!["invert".into()],
            pipelines: vec![],
        };
        assert_eq!(
            missing.clone().unwrap_err(),
            PreviewError::UnknownPipeline {
                name: "p".into(),
                targets: targets.clone()
            }
        );
        assert_eq!(
            failed(missing),
            "no pipeline `p`; the file has filters: invert; no pipelines"
        );
        let unknown = preview_of(
            SRC,
            Some(Target::Filter("f".into())),
            &photo,
            &[],
            None,
            false,
        );
        assert_eq!(
            failed(unknown),
            "no filter `f`; the file has filters: invert; no pipelines"
        );
        let two = "filter a(c: color) -> color { c }\nfilter b(c: color) -> color { c }\n";
        assert_eq!(
            failed(preview_of(two, None, &photo, &[], None, false)),
            "which filter or pipeline? the file has filters: a, b; no pipelines"
        );
        let err = failed(run(&[("steps", "9")], false));
        assert_eq!(
            err,
            "param `steps` must lie in 1..8 (both ends included), not 9"
        );
        assert_eq!(run(&[], true).unwrap_err(), PreviewError::Cancelled);
        let broken = preview_of(
            "filter f(c: color) -> color { 1 }",
            None,
            &photo,
            &[],
            None,
            false,
        );
        assert!(
            matches!(&broken, Err(PreviewError::FileHasErrors { count: 1, .. })),
            "{broken:?}"
        );
        let broken = failed(broken);
        assert!(
            broken.starts_with("the file has 1 error (the first, at line 1 column "),
            "{broken}"
        );
    }

    /// A runtime error is placed by line and column; a run cancelled while it goes
    /// is [`PreviewError::Cancelled`], known by its type, not by its words.
    #[test]
    fn runtime_errors_are_placed_and_cancellation_is_typed() {
        let photo = Rgba8::filled(16, 16, [0, 0, 0, 255]);
        let divide =
            "filter bad(src: image, x: int, y: int) -> color {\n    gray(float(10 / (y - y)))\n}\n";
        let err = preview_of(divide, None, &photo, &[], Some(0), false).unwrap_err();
        let PreviewError::Runtime { file, at, error } = &err else {
            panic!("not a runtime error: {err:?}");
        };
        assert_eq!(file, &None);
        assert_eq!((at.line, at.col), (2, 16));
        assert_eq!(error.message, "division by zero");
        assert_eq!(err.to_string(), "line 2 column 16: division by zero");
        // The flag is set once the first band is done: the run stops at its next safe
        // point (or, had it finished, is refused after it).
        let flag = Arc::new(AtomicBool::new(false));
        let set_flag = |done: u64, _: u64| {
            if done > 0 {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        };
        let slow = "filter slow(c: color) -> color {\n    var t = c;\n    for i in 0..200 { t = t * 1.0; }\n    t\n}\n";
        let big = Rgba8::filled(64, 256, [9, 9, 9, 255]);
        let cancelled = preview(
            &Doc::new(slow),
            None,
            &big,
            &[],
            Some(0),
            Limits::default(),
            flag.clone(),
            &set_flag,
        );
        assert_eq!(cancelled.unwrap_err(), PreviewError::Cancelled);
    }

    /// A runtime error in a used file's filter is placed in that file, at its own line
    /// and column, not in the program's layout of all the files.
    #[test]
    fn a_runtime_error_in_a_used_file_is_placed_in_that_file() {
        let lib = "/// Divides.\nfilter bad(src: image, x: int, y: int) -> color {\n    gray(float(10 / (y - y)))\n}\n";
        let files = |path: &std::path::Path| -> std::io::Result<String> {
            match path.to_str() {
                Some("/w/lib.chop") => Ok(lib.to_string()),
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        };
        let main = "use \"lib.chop\";\n\npipeline p = bad;\n";
        let doc = Doc::with_program(
            main,
            chunkvm::syntax::lower::parse(main),
            std::path::Path::new("/w/main.chop"),
            &files,
            &[],
            None,
            None,
        );
        assert!(doc.diagnostics().is_empty(), "{:?}", doc.diagnostics());
        let photo = Rgba8::filled(4, 4, [0, 0, 0, 255]);
        let err = preview(
            &doc,
            Some(&Target::Pipeline("p".into())),
            &photo,
            &[],
            Some(0),
            Limits::default(),
            Arc::new(AtomicBool::new(false)),
            &no_progress,
        )
        .unwrap_err();
        let PreviewError::Runtime { file, at, .. } = &err else {
            panic!("not a runtime error: {err:?}");
        };
        assert_eq!(file.as_deref(), Some(std::path::Path::new("/w/lib.chop")));
        assert_eq!((at.line, at.col), (3, 16));
        assert_eq!(
            err.to_string(),
            "/w/lib.chop line 3 column 16: division by zero"
        );
    }

    #[test]
    fn param_values_reads_text_by_the_declared_types() {
        let doc = Doc::new(SRC);
        let read = |name: &str, text: &str| {
            param_values(&doc, &[(name.to_string(), Written::Text(text))])
                .map(|set| set.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
        };
        assert_eq!(read("steps", "4"), Ok(vec![Value::Int(4)]));
        assert_eq!(read("on", "false"), Ok(vec![Value::Bool(false)]));
        assert_eq!(
            read("tint", "#ff8000"),
            Ok(vec![Value::Color([1.0, 128.0 / 255.0, 0.0, 1.0])])
        );
        assert_eq!(
            read("nope", "1").map_err(|err| err.to_string()),
            Err("no param `nope`; the file has: amount, steps, on, tint".into())
        );
        let empty = Doc::new("filter f(c: color) -> color { c }");
        let err = param_values(&empty, &[("nope".into(), Written::Text("1"))]).unwrap_err();
        assert_eq!(
            err,
            PreviewError::UnknownParam {
                name: "nope".into(),
                params: vec![]
            }
        );
        assert_eq!(err.to_string(), "no param `nope`; the file has no params");
    }
}
