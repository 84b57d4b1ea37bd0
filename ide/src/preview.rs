//! What the editor's chunk-graph view and filter preview ask for: the block
//! graph of the function under the cursor, the file's `param`s as sliders,
//! and a run of a filter or pipeline on a small level of a photo.
//!
//! [`chunk_graph`] compiles the file (only when it has no errors) and draws
//! the function named, or the innermost function or closure around an
//! offset. [`params`] lists the checked `param` items with their defaults
//! and ranges as JSON values (a colour is `[r, g, b, a]`). [`preview`] runs
//! a filter or pipeline through [`chunkvm::photo::run_input`] on a pyramid
//! level small enough for a preview, with user values for the params
//! (given as JSON, read by [`chunkvm::values::read_value`] against each
//! param's declared type and range, as the command line reads them), a
//! cancel flag and progress reports, and encodes the result as PNG.

use super::Doc;
use crate::graph::Graph;
use chunkvm::check::Const;
use chunkvm::chunk::{NodeId, Store};
use chunkvm::compile::chunks::store_program;
use chunkvm::diag::{has_names, plural};
use chunkvm::exec::{Limits, Value};
use chunkvm::photo::{preview_level, run_input, Input, Rgba8, RunError, RunOptions, Target};
use chunkvm::syntax::ast::ItemKind;
use chunkvm::syntax::span::Span;
use chunkvm::types::Type;
use chunkvm::values::{read_value, Written};
use serde::Serialize;
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
    let program = chunkvm::compile::compile(doc.file(), &doc.analysis)
        .map_err(|err| format!("the file does not compile: {err}"))?;
    let index = match (function, offset) {
        (Some(name), _) => program
            .function(name)
            .map(|(idx, _)| idx as usize)
            .ok_or_else(|| {
                let names: Vec<&str> = program
                    .functions
                    .iter()
                    .filter(|f| !f.is_closure)
                    .map(|f| f.name.as_str())
                    .collect();
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

/// One `param` of a file, as the editor shows it: a slider (or a checkbox, or
/// a colour picker).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamSlider {
    /// Its name.
    pub name: String,
    /// Its type: `int`, `float`, `bool` or `color`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Its default value: a number, a boolean, or `[r, g, b, a]` for a colour.
    pub default: serde_json::Value,
    /// The least value allowed (the range is inclusive), when it has a range.
    pub min: Option<serde_json::Value>,
    /// The greatest value allowed, when it has a range.
    pub max: Option<serde_json::Value>,
    /// Its `///` doc comment.
    pub doc: Option<String>,
    /// Where the item is (not serialized: the server converts it).
    #[serde(skip)]
    pub span: Span,
}

fn const_json(value: Const) -> serde_json::Value {
    match value {
        Const::Int(v) => serde_json::json!(v),
        Const::Float(v) => serde_json::json!(v),
        Const::Bool(v) => serde_json::json!(v),
        Const::Color(c) => serde_json::json!(c),
    }
}

/// The file's well-formed `param` items, in source order.
pub fn params(doc: &Doc) -> Vec<ParamSlider> {
    chunkvm::check::params(doc.file(), &doc.analysis)
        .into_iter()
        .map(|param| ParamSlider {
            name: param.name,
            ty: param.ty.to_string(),
            default: const_json(param.default),
            min: param.range.map(|(lo, _)| const_json(lo)),
            max: param.range.map(|(_, hi)| const_json(hi)),
            doc: param.doc,
            span: param.span,
        })
        .collect()
}

/// A preview: the output image as PNG and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PreviewResult {
    /// The output image, PNG-encoded.
    #[serde(skip)]
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

/// Converts user values for the params of `text` (JSON, as an editor sends
/// them) to VM values, checking names, types and ranges.
pub fn param_values(
    doc: &Doc,
    params: &[(String, serde_json::Value)],
) -> Result<Vec<(String, Value)>, String> {
    let mut out = Vec::new();
    for (name, json) in params {
        let found = doc
            .file()
            .item(name)
            .filter(|(_, item)| matches!(item.kind, ItemKind::Param(_)));
        let Some((id, _)) = found else {
            let names: Vec<String> = self::params(doc).into_iter().map(|p| p.name).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            return Err(format!(
                "no param `{name}`; {}",
                has_names("the file", &names, "params")
            ));
        };
        let ty = doc
            .analysis
            .item_types
            .get(id.0 as usize)
            .cloned()
            .unwrap_or(Type::Error);
        let range = doc.analysis.params.get(&id).and_then(|info| info.range);
        let value = read_value(name, &ty, Written::Json(json), range)
            .map_err(|err| format!("param {err}"))?;
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

/// Runs `target` (or the file's only pipeline or filter) of `text` on level
/// `level` of `photo` (the preview level, at most 512 pixels on its longer
/// side, when `None`), with the given param values (JSON, by the params'
/// declared types), within `limits`. Setting `cancel` stops the run;
/// `progress` hears (rows done, rows in all).
#[allow(clippy::too_many_arguments)]
pub fn preview(
    text: &str,
    target: Option<Target>,
    photo: &Rgba8,
    params: Vec<(String, serde_json::Value)>,
    level: Option<usize>,
    limits: Limits,
    cancel: Arc<AtomicBool>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<PreviewResult, String> {
    let doc = Doc::new(text);
    let diagnostics = doc.diagnostics();
    if let Some(first) = diagnostics.iter().find(|diag| diag.is_error()) {
        let at = doc.lines.line_col(text, first.span.start);
        let count = diagnostics.iter().filter(|d| d.is_error()).count();
        return Err(format!(
            "the file has {} (the first, at line {} column {}: {})",
            plural(count as u64, "error"),
            at.line,
            at.col,
            first.message
        ));
    }
    let params = param_values(&doc, &params)?;
    check_target(&doc, target.as_ref())?;
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
        return Err("cancelled".into());
    }
    let started = Instant::now();
    let input = Input::Image(std::borrow::Cow::Borrowed(photo));
    let output =
        run_input(text, target.as_ref(), &input, &options, progress).map_err(|err| match err {
            RunError::Runtime(err) => {
                let at = doc.lines.line_col(text, err.span.start);
                if err.message == "cancelled" {
                    "cancelled".to_string()
                } else {
                    format!("line {} column {}: {}", at.line, at.col, err.message)
                }
            }
            other => other.to_string(),
        })?;
    if cancelled(&cancel) {
        return Err("cancelled".into());
    }
    let millis = started.elapsed().as_millis() as u64;
    let png = output.image.encode_png()?;
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

    const SRC: &str = "/// How strong.\nparam amount: float = 0.5 in 0.0..1.0;\nparam steps: int = 3 in 1..8;\nparam on: bool = true;\nparam tint: color = rgb(1.0, 0.5, 0.0);\n\nfilter invert(c: color) -> color {\n    let k = fn(v: float) -> float { 1.0 - v * amount };\n    rgb(k(c.r), k(c.g), k(c.b))\n}\n\nfn twice(n: int) -> int {\n    var t = 0;\n    for i in 0..n { t += 2; }\n    t\n}\n";

    #[test]
    fn params_lists_defaults_and_ranges() {
        let doc = Doc::new(SRC);
        let params = params(&doc);
        let json = serde_json::to_value(&params).unwrap();
        assert_eq!(json[0]["name"], "amount");
        assert_eq!(json[0]["type"], "float");
        assert_eq!(json[0]["default"], 0.5);
        assert_eq!(json[0]["min"], 0.0);
        assert_eq!(json[0]["max"], 1.0);
        assert_eq!(json[0]["doc"], "How strong.");
        assert_eq!(json[1]["default"], 3);
        assert_eq!(json[2]["default"], true);
        assert_eq!(json[2]["min"], serde_json::Value::Null);
        assert_eq!(json[3]["default"], serde_json::json!([1.0, 0.5, 0.0, 1.0]));
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

    #[test]
    fn preview_runs_a_filter_on_a_small_level() {
        let photo = Rgba8::filled(40, 20, [255, 0, 0, 255]);
        let result = preview(
            SRC,
            Some(Target::Filter("invert".into())),
            &photo,
            vec![("amount".into(), serde_json::json!(1.0))],
            Some(0),
            Limits::default(),
            Arc::new(AtomicBool::new(false)),
            &no_progress,
        )
        .unwrap();
        assert_eq!((result.width, result.height, result.level), (40, 20, 0));
        assert!(result.instructions > 0);
        let image = Rgba8::decode(&result.png).unwrap();
        assert_eq!(&image.pixels[..4], &[0, 255, 255, 255]);
    }

    #[test]
    fn preview_refuses_bad_params_and_stops_when_cancelled() {
        let photo = Rgba8::filled(16, 16, [0, 0, 0, 255]);
        let run = |params: Vec<(String, serde_json::Value)>, cancel: bool| {
            preview(
                SRC,
                Some(Target::Filter("invert".into())),
                &photo,
                params,
                None,
                Limits::default(),
                Arc::new(AtomicBool::new(cancel)),
                &no_progress,
            )
        };
        let err = run(vec![("amount".into(), serde_json::json!(2.0))], false).unwrap_err();
        assert!(err.contains("0..1"), "{err}");
        let err = run(vec![("amount".into(), serde_json::json!("x"))], false).unwrap_err();
        assert!(err.contains("a float"), "{err}");
        let err = run(vec![("nope".into(), serde_json::json!(1))], false).unwrap_err();
        assert!(err.contains("amount"), "{err}");
        let missing = preview(
            SRC,
            Some(Target::Pipeline("p".into())),
            &photo,
            Vec::new(),
            None,
            Limits::default(),
            Arc::new(AtomicBool::new(false)),
            &no_progress,
        )
        .unwrap_err();
        assert_eq!(
            missing,
            "no pipeline `p`; the file has filters: invert; no pipelines"
        );
        let err = run(vec![("steps".into(), serde_json::json!(9))], false).unwrap_err();
        assert_eq!(
            err,
            "param `steps` must lie in 1..8 (both ends included), not 9"
        );
        assert_eq!(run(Vec::new(), true).unwrap_err(), "cancelled");
        let broken = preview(
            "filter f(c: color) -> color { 1 }",
            None,
            &photo,
            Vec::new(),
            None,
            Limits::default(),
            Arc::new(AtomicBool::new(false)),
            &no_progress,
        )
        .unwrap_err();
        assert!(broken.contains("1 error"), "{broken}");
    }

    /// The values the params are set to, or the message refusing them.
    fn values(params: &[(&str, serde_json::Value)]) -> Result<Vec<Value>, String> {
        let doc = Doc::new(SRC);
        let params: Vec<(String, serde_json::Value)> = params
            .iter()
            .map(|(name, json)| (name.to_string(), json.clone()))
            .collect();
        param_values(&doc, &params).map(|set| set.into_iter().map(|(_, v)| v).collect())
    }

    #[test]
    fn colour_values_are_read_channel_by_channel() {
        use serde_json::json;
        let orange = [1.0, 128.0 / 255.0, 0.0, 1.0];
        assert_eq!(
            values(&[("tint", json!("#ff8000"))]),
            Ok(vec![Value::Color(orange)])
        );
        assert_eq!(
            values(&[("tint", json!("#ff800040"))]),
            Ok(vec![Value::Color([1.0, 128.0 / 255.0, 0.0, 64.0 / 255.0])])
        );
        assert_eq!(
            values(&[("tint", json!([1, 0.5, 0]))]),
            Ok(vec![Value::Color([1.0, 0.5, 0.0, 1.0])])
        );
        assert_eq!(
            values(&[("tint", json!([0.25, 0.5, 0.75, 0.5]))]),
            Ok(vec![Value::Color([0.25, 0.5, 0.75, 0.5])])
        );
        for bad in [
            json!("#ff80"),
            json!("#gg8000"),
            json!("ff8000"),
            json!([1, 0]),
            json!([1, 0, 0, 1, 1]),
            json!([1, "a", 0]),
            json!([2.0, 0, 0]),
            json!([1e300, 0, 0]),
            json!(3),
        ] {
            let err = values(&[("tint", bad.clone())]).unwrap_err();
            assert!(err.starts_with("param `tint` is a color, "), "{bad}: {err}");
        }
    }

    #[test]
    fn non_finite_and_overflowing_numbers_are_refused() {
        use serde_json::json;
        // JSON has no NaN: an editor sends it as text, which is read as the
        // command line reads it, with the same message.
        for text in ["NaN", "nan", "inf", "-inf", "infinity"] {
            assert_eq!(
                values(&[("amount", json!(text))]),
                Err(format!(
                    "param `amount` must be a finite number, not {text}"
                ))
            );
        }
        assert_eq!(
            values(&[("amount", json!("1e999"))]),
            Err("param `amount` must be a finite number, not 1e999 (too large for a float)".into())
        );
        assert_eq!(
            values(&[("amount", json!("0.25"))]),
            Ok(vec![Value::Float(0.25)])
        );
        assert_eq!(
            values(&[("steps", json!(1e20))]),
            Err(format!(
                "param `steps` is an int, and 1e+20 is out of range for an int ({}..{})",
                i64::MIN,
                i64::MAX
            ))
        );
        assert_eq!(
            values(&[("steps", json!(u64::MAX))]),
            Err(format!(
                "param `steps` is an int, and {} is out of range for an int ({}..{})",
                u64::MAX,
                i64::MIN,
                i64::MAX
            ))
        );
        assert_eq!(values(&[("steps", json!(4.0))]), Ok(vec![Value::Int(4)]));
        assert!(values(&[("steps", json!(4.5))])
            .unwrap_err()
            .starts_with("param `steps` is an int, "));
        assert_eq!(
            values(&[("nope", json!(1))]),
            Err("no param `nope`; the file has: amount, steps, on, tint".into())
        );
        let empty = Doc::new("filter f(c: color) -> color { c }");
        assert_eq!(
            param_values(&empty, &[("nope".into(), json!(1))]),
            Err("no param `nope`; the file has no params".into())
        );
    }
}
