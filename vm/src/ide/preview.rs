//! What the editor's chunk-graph view and filter preview ask for: the block
//! graph of the function under the cursor, the file's `param`s as sliders,
//! and a run of a filter or pipeline on a small level of a photo.
//!
//! [`chunk_graph`] compiles the file (only when it has no errors) and draws
//! the function named, or the innermost function or closure around an
//! offset. [`params`] lists the checked `param` items with their defaults
//! and ranges as JSON values (a colour is `[r, g, b, a]`). [`preview`] runs
//! a filter or pipeline through [`crate::photo::run_input`] on a pyramid
//! level small enough for a preview, with user values for the params
//! (given as JSON, converted by each param's declared type and checked
//! against its range), a cancel flag and progress reports, and encodes the
//! result as PNG.

use super::Doc;
use crate::check::Const;
use crate::chunk::{NodeId, Store};
use crate::compile::chunks::store_program;
use crate::exec::{Limits, Value};
use crate::graph::Graph;
use crate::photo::{preview_level, run_input, Input, Rgba8, RunError, RunOptions, Target};
use crate::syntax::ast::{ItemId, ItemKind};
use crate::syntax::span::Span;
use crate::types::Type;
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
    let program = crate::compile::compile(doc.file(), &doc.analysis)
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
                    "no function `{name}`; the file has: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
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
    let mut out = Vec::new();
    for (idx, item) in doc.file().items.iter().enumerate() {
        if !matches!(item.kind, ItemKind::Param(_)) {
            continue;
        }
        let Some(info) = doc.analysis.params.get(&ItemId(idx as u32)) else {
            continue;
        };
        let ty = doc
            .analysis
            .item_types
            .get(idx)
            .map(ToString::to_string)
            .unwrap_or_default();
        out.push(ParamSlider {
            name: item.name.name.clone(),
            ty,
            default: const_json(info.default),
            min: info.range.map(|(lo, _)| const_json(lo)),
            max: info.range.map(|(_, hi)| const_json(hi)),
            doc: item.doc.clone(),
            span: item.span,
        });
    }
    out
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

/// Converts a JSON value given for a `param` of type `ty` to a value.
fn param_value(name: &str, ty: &Type, value: &serde_json::Value) -> Result<Value, String> {
    let wrong = |form: &str| format!("param `{name}` is {form}, not {value}");
    match ty {
        Type::Int => value
            .as_i64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|v| v.fract() == 0.0 && v.abs() < 9.0e15)
                    .map(|v| v as i64)
            })
            .map(Value::Int)
            .ok_or_else(|| wrong("an int")),
        Type::Float => value
            .as_f64()
            .map(Value::Float)
            .ok_or_else(|| wrong("a float")),
        Type::Bool => value
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| wrong("a bool")),
        Type::Color => {
            let form =
                "a color ([r, g, b] or [r, g, b, a] with channels from 0 to 1, or \"#rrggbb\")";
            if let Some(hex) = value.as_str().and_then(|s| s.strip_prefix('#')) {
                let byte = |idx: usize| {
                    hex.get(idx..idx + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .map(|b| b as f32 / 255.0)
                };
                return match (hex.len(), byte(0), byte(2), byte(4)) {
                    (6 | 8, Some(r), Some(g), Some(b)) => {
                        let a = if hex.len() == 8 { byte(6) } else { Some(1.0) };
                        a.map(|a| Value::Color([r, g, b, a]))
                            .ok_or_else(|| wrong(form))
                    }
                    _ => Err(wrong(form)),
                };
            }
            let channels: Option<Vec<f32>> = value
                .as_array()
                .map(|items| items.iter().map(|v| v.as_f64().map(|v| v as f32)).collect())
                .and_then(|c: Option<Vec<f32>>| c);
            match channels.as_deref() {
                Some([r, g, b]) => Ok(Value::Color([*r, *g, *b, 1.0])),
                Some([r, g, b, a]) => Ok(Value::Color([*r, *g, *b, *a])),
                _ => Err(wrong(form)),
            }
        }
        other => Err(format!(
            "param `{name}` has type {other}, which a preview cannot set"
        )),
    }
}

/// Refuses a number outside the param's inclusive range.
fn check_range(name: &str, value: &Value, range: Option<(Const, Const)>) -> Result<(), String> {
    let number = |c: Const| match c {
        Const::Int(v) => Some(v as f64),
        Const::Float(v) => Some(v),
        _ => None,
    };
    let show = |c: Const| match c {
        Const::Int(v) => v.to_string(),
        Const::Float(v) => crate::exec::value::format_float(v),
        _ => String::new(),
    };
    let v = match value {
        Value::Int(v) => *v as f64,
        Value::Float(v) => *v,
        _ => return Ok(()),
    };
    match range.map(|(lo, hi)| (lo, hi, number(lo), number(hi))) {
        Some((lo, hi, Some(l), Some(h))) if v < l || v > h => Err(format!(
            "param `{name}` must lie in {}..{} (both ends included), not {value}",
            show(lo),
            show(hi)
        )),
        _ => Ok(()),
    }
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
            return Err(format!(
                "no param `{name}`; the file has: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        };
        let ty = doc
            .analysis
            .item_types
            .get(id.0 as usize)
            .cloned()
            .unwrap_or(Type::Error);
        let value = param_value(name, &ty, json)?;
        check_range(
            name,
            &value,
            doc.analysis.params.get(&id).and_then(|info| info.range),
        )?;
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
        let list = |names: Vec<&str>| {
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        format!(
            "the file has filters: {}; pipelines: {}",
            list(names(false)),
            list(names(true))
        )
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
            "the file has {count} error{} (the first, at line {} column {}: {})",
            if count == 1 { "" } else { "s" },
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
            "no pipeline `p`; the file has filters: invert; pipelines: none"
        );
        assert!(run(vec![("tint".into(), serde_json::json!("#ff8000"))], false).is_ok());
        assert!(run(vec![("tint".into(), serde_json::json!([1, 0, 0]))], false).is_ok());
        assert!(run(vec![("steps".into(), serde_json::json!(9))], false).is_err());
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
}
