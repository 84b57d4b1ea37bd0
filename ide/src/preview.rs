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
use chunkvm::exec::{Limits, Value};
use chunkvm::photo::{
    preview_level, run_input, Compiled, Input, Rgba8, RunError, RunOptions, Target,
};
use chunkvm::syntax::ast::ItemKind;
use chunkvm::values::Written;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// The chunk graph of a function of `doc`: the one named `function`, else the
/// innermost function, filter or closure whose definition holds `offset`.
/// `None` when the file has errors, or there is no such function.
pub fn chunk_graph(doc: &Doc, function: Option<&str>, offset: Option<usize>) -> Option<Graph> {
    chunk_graph_or_why(doc, function, offset).ok()
}

/// [`chunk_graph`], saying why there is no graph.
pub fn chunk_graph_or_why(
    doc: &Doc,
    function: Option<&str>,
    offset: Option<usize>,
) -> Result<Graph, String> {
    let diagnostics = doc.diagnostics();
    if let Some(first) = diagnostics.iter().find(|diag| diag.is_error()) {
        let at = doc.lines.line_col(&doc.text, first.span.start);
        return Err(format!(
            "the file has errors (the first, at line {} column {}: {}); fix them to see the chunk graph",
            at.line, at.col, first.message
        ));
    }
    let program =
        chunkvm::driver::compile_analyzed(&doc.parsed, &doc.analysis).map_err(|diags| {
            let why: Vec<&str> = diags.iter().map(|diag| diag.message.as_str()).collect();
            format!("the file does not compile: {}", why.join("; "))
        })?;
    let index = match (function, offset) {
        (Some(name), _) => program
            .function(name)
            .map(|(idx, _)| idx as usize)
            .ok_or_else(|| {
                let names = program.function_names();
                format!(
                    "no function `{name}`; {}",
                    has_names("the file", &names, "functions")
                )
            })?,
        (None, Some(offset)) => program
            .functions
            .iter()
            .enumerate()
            .filter(|(_, func)| func.span.contains(offset) && !func.span.is_empty())
            .min_by_key(|(_, func)| func.span.len())
            .map(|(idx, _)| idx)
            .ok_or_else(|| "no function, filter or closure here".to_string())?,
        (None, None) => return Err("which function? give its name or a position".into()),
    };
    let mut store = Store::new(NodeId(1));
    let ids = store_program(&program, &mut store);
    crate::graph::graph(&program, &ids, index, Some(&doc.text))
        .ok_or_else(|| "no graph for this function".to_string())
}

/// The file's well-formed `param` items, in source order: what the editor shows
/// as sliders (or checkboxes, or colour pickers).
pub fn params(doc: &Doc) -> Vec<ParamDecl> {
    chunkvm::check::params(doc.file(), &doc.analysis)
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

/// Why there is no preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreviewError {
    /// The cancel flag was set (before or during the run).
    Cancelled,
    /// The file, the params, the target or the run failed: the one-line reason.
    Failed(String),
}

impl std::fmt::Display for PreviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PreviewError::Cancelled => f.write_str("cancelled"),
            PreviewError::Failed(message) => f.write_str(message),
        }
    }
}

impl From<String> for PreviewError {
    fn from(message: String) -> PreviewError {
        PreviewError::Failed(message)
    }
}

/// Reads user values for the params of `doc` (as an editor wrote them) as VM
/// values, checking names, types and ranges.
pub fn param_values(
    doc: &Doc,
    values: &[(String, Written<'_>)],
) -> Result<Vec<(String, Value)>, String> {
    let params = params(doc);
    let mut out = Vec::new();
    for (name, written) in values {
        let Some(value) = chunkvm::driver::read_param(&params, name, *written) else {
            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "no param `{name}`; {}",
                has_names("the file", &names, "params")
            ));
        };
        let value = value.map_err(|err| format!("param {err}"))?;
        out.push((name.clone(), value));
    }
    Ok(out)
}

/// Refuses a target the file does not have, naming those it has.
fn check_target(doc: &Doc, target: Option<&Target>) -> Result<(), String> {
    let names = |pipelines: bool| -> Vec<&str> {
        doc.file()
            .items
            .iter()
            .filter(|item| match &item.kind {
                ItemKind::Function(f) => f.is_filter && !pipelines,
                ItemKind::Pipeline(_) => pipelines,
                ItemKind::Param(_) => false,
            })
            .map(|item| item.name.name.as_str())
            .collect()
    };
    let has = || {
        let (filters, pipelines) = (names(false), names(true));
        match (filters.is_empty(), pipelines.is_empty()) {
            (true, true) => "the file has no filters and no pipelines".to_string(),
            (false, true) => format!("the file has filters: {}; no pipelines", filters.join(", ")),
            (true, false) => format!(
                "the file has no filters; pipelines: {}",
                pipelines.join(", ")
            ),
            (false, false) => format!(
                "the file has filters: {}; pipelines: {}",
                filters.join(", "),
                pipelines.join(", ")
            ),
        }
    };
    match target {
        Some(Target::Filter(name)) if !names(false).contains(&name.as_str()) => {
            Err(format!("no filter `{name}`; {}", has()))
        }
        Some(Target::Pipeline(name)) if !names(true).contains(&name.as_str()) => {
            Err(format!("no pipeline `{name}`; {}", has()))
        }
        None => match (names(true).len(), names(false).len()) {
            (1, _) | (0, 1) => Ok(()),
            _ => Err(format!("which filter or pipeline? {}", has())),
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
    let diagnostics = doc.diagnostics();
    if let Some(first) = diagnostics.iter().find(|diag| diag.is_error()) {
        let at = doc.lines.line_col(&doc.text, first.span.start);
        let count = diagnostics.iter().filter(|d| d.is_error()).count();
        return Err(PreviewError::Failed(format!(
            "the file has {} (the first, at line {} column {}: {})",
            plural(count as u64, "error"),
            at.line,
            at.col,
            first.message
        )));
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
    };
    let cancelled = |flag: &AtomicBool| flag.load(std::sync::atomic::Ordering::Relaxed);
    if cancelled(&cancel) {
        return Err(PreviewError::Cancelled);
    }
    let program = chunkvm::driver::compile_analyzed(&doc.parsed, &doc.analysis)
        .map_err(|diags| format!("the program has {}", plural(diags.len() as u64, "error")))?;
    let compiled = Compiled {
        file: doc.file(),
        analysis: &doc.analysis,
        program,
    };
    let started = Instant::now();
    let input = Input::Image(std::borrow::Cow::Borrowed(photo));
    let output =
        run_input(compiled, target, &input, &options, progress).map_err(|err| match err {
            RunError::Cancelled => PreviewError::Cancelled,
            RunError::Runtime(err) => {
                let at = doc.lines.line_col(&doc.text, err.span.start);
                PreviewError::Failed(format!(
                    "line {} column {}: {}",
                    at.line, at.col, err.message
                ))
            }
            other => PreviewError::Failed(other.to_string()),
        })?;
    if cancelled(&cancel) {
        return Err(PreviewError::Cancelled);
    }
    let millis = started.elapsed().as_millis() as u64;
    let png = output
        .image
        .encode_png()
        .map_err(|err| PreviewError::Failed(err.to_string()))?;
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
        assert!(chunk_graph_or_why(&doc, Some("nope"), None)
            .unwrap_err()
            .contains("twice"));
        assert!(chunk_graph(&doc, None, Some(0)).is_none());
        let broken = Doc::new("fn f() -> int { true }");
        assert!(chunk_graph_or_why(&broken, Some("f"), None)
            .unwrap_err()
            .contains("errors"));
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
            Err(PreviewError::Failed(message)) => message,
            other => panic!("not a failure: {other:?}"),
        };
        let err = failed(run(&[("amount", "2.0")], false));
        assert!(err.contains("0..1"), "{err}");
        let err = failed(run(&[("amount", "x")], false));
        assert!(err.contains("a float"), "{err}");
        let err = failed(run(&[("nope", "1")], false));
        assert!(err.contains("amount"), "{err}");
        let missing = preview_of(
            SRC,
            Some(Target::Pipeline("p".into())),
            &photo,
            &[],
            None,
            false,
        );
        assert_eq!(
            failed(missing),
            "no pipeline `p`; the file has filters: invert; no pipelines"
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
        let broken = failed(broken);
        assert!(broken.contains("1 error"), "{broken}");
    }

    /// A runtime error is placed by line and column; a run cancelled while it goes
    /// is [`PreviewError::Cancelled`], known by its type, not by its words.
    #[test]
    fn runtime_errors_are_placed_and_cancellation_is_typed() {
        let photo = Rgba8::filled(16, 16, [0, 0, 0, 255]);
        let divide =
            "filter bad(src: image, x: int, y: int) -> color {\n    gray(float(10 / (y - y)))\n}\n";
        let err = preview_of(divide, None, &photo, &[], Some(0), false).unwrap_err();
        assert_eq!(
            err,
            PreviewError::Failed("line 2 column 16: division by zero".into())
        );
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
            read("nope", "1"),
            Err("no param `nope`; the file has: amount, steps, on, tint".into())
        );
        let empty = Doc::new("filter f(c: color) -> color { c }");
        assert_eq!(
            param_values(&empty, &[("nope".into(), Written::Text("1"))]),
            Err("no param `nope`; the file has no params".into())
        );
    }
}
