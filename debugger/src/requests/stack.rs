//! `threads` (the one thread, or each band of a run in bands), `stackTrace` (source path, line, column and the instruction of each Chop
//! frame), `scopes` (Locals: parameters and locals; Params: the file's `param` values),
//! `variables` (colours expand to r/g/b/a, arrays to their elements; handles stay the
//! same while the thread is stopped), `setVariable` (the file's params and scalar locals) and
//! `loadedSources`.

use crate::debuggee::Debuggee;
use crate::protocol::{
    arguments, DapError, Reply, Request, ScopesArgs, SetVariableArgs, StackTraceArgs, VariablesArgs,
};
use crate::session::{Container, RunState, Session, Shared};
use chunkvm::chunk::ChunkId;
use chunkvm::exec::{Value, Variable};
use chunkvm::values::Written;
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// `threads`: the live threads (the one thread, or the bands of the running stage),
/// each named with what it runs and where.
pub fn threads(shared: &Arc<Shared>) -> Reply {
    let session = shared.lock();
    let list: Vec<Json> = match session.state {
        RunState::Stopped | RunState::Running => session
            .threads
            .iter()
            .filter_map(|band| {
                let name = session.thread_name(band.id)?;
                Some(json!({ "id": band.id, "name": name }))
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(json!({ "threads": list }))
}

/// Frame ids of one thread: thread `t`'s frames are numbered from `(t - 1) * STRIDE + 1`
/// (the one thread's from 1), so that a frame id says its thread.
const FRAME_STRIDE: i64 = 1_000_000;

/// The DAP frame id of frame `idx` (0: innermost) of thread `thread`.
pub fn frame_id(thread: i64, idx: usize) -> i64 {
    (thread - 1) * FRAME_STRIDE + idx as i64 + 1
}

/// The thread of a DAP frame id.
pub fn frame_thread(frame_id: i64) -> i64 {
    (frame_id - 1).div_euclid(FRAME_STRIDE) + 1
}

/// The frame index (0: innermost) of a DAP frame id of `thread_id`, checked against
/// the stack.
pub fn frame_index(thread: &mut Debuggee, frame_id: i64) -> Result<usize, DapError> {
    let depth = thread.stack()?.len();
    usize::try_from((frame_id - 1).rem_euclid(FRAME_STRIDE))
        .ok()
        .filter(|idx| *idx < depth && frame_id > 0)
        .ok_or_else(|| DapError::user(format!("no frame {frame_id} (the stack has {depth})")))
}

/// `stackTrace`: the frames of the thread asked (a band's own).
pub fn stack_trace(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: StackTraceArgs = arguments(request)?;
    let thread_id = args.thread_id;
    let mut session = shared.lock();
    let vm = session.stopped(thread_id)?;
    let stack = vm.stack()?;
    let blocks = &vm.local()?.loaded().ids.blocks;
    let funcs: Vec<u32> = stack
        .iter()
        .map(|frame| function_of(blocks, frame.block.0).unwrap_or(0))
        .collect();
    let program = session
        .program
        .as_ref()
        .ok_or_else(|| DapError::internal("a VM without its program"))?;
    let start = args.start_frame.unwrap_or(0);
    let levels = args.levels.filter(|n| *n > 0).unwrap_or(usize::MAX);
    let frames: Vec<Json> = stack
        .iter()
        .enumerate()
        .skip(start)
        .take(levels)
        .map(|(idx, frame)| {
            let (line, column) = program.position(frame.span);
            let (end_line, end_column) = program.position(chunkvm::syntax::span::Span::new(
                frame.span.end,
                frame.span.end,
            ));
            let func = funcs.get(idx).copied().unwrap_or(0);
            // A filter's call for one pixel says which: `box_blur (x 12, y 40)`.
            let name = match frame.pixel {
                Some((x, y)) => format!("{} (x {x}, y {y})", frame.function),
                None => frame.function.clone(),
            };
            json!({
                "id": frame_id(thread_id, idx),
                "name": name,
                "source": program.source_at(frame.span),
                "line": line,
                "column": column,
                "endLine": end_line,
                "endColumn": end_column,
                "instructionPointerReference": format!("f{func}:{}", frame.pc),
            })
        })
        .collect();
    Ok(json!({ "stackFrames": frames, "totalFrames": stack.len() }))
}

/// The function whose blocks include `block`.
pub fn function_of(blocks: &[Vec<ChunkId>], block: ChunkId) -> Option<u32> {
    blocks
        .iter()
        .position(|ids| ids.contains(&block))
        .map(|func| func as u32)
}

/// `scopes`: Locals and Params of a frame.
pub fn scopes(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: ScopesArgs = arguments(request)?;
    let mut session = shared.lock();
    let thread = frame_thread(args.frame_id);
    let vm = session.stopped(thread)?;
    let frame = frame_index(vm, args.frame_id)?;
    let locals_count = vm.locals(frame)?.len();
    let params_count = param_groups(&vm.params()?).len();
    let locals = session
        .handles
        .handle(format!("locals {thread} {frame}"), || {
            Container::Locals(thread, frame)
        });
    let params = session
        .handles
        .handle(format!("params {thread}"), || Container::Params(thread));
    Ok(json!({ "scopes": [
        { "name": "Locals", "presentationHint": "locals", "variablesReference": locals, "namedVariables": locals_count, "expensive": false },
        { "name": "Params", "presentationHint": "globals", "variablesReference": params, "namedVariables": params_count, "expensive": false },
    ]}))
}

/// How a value reads in the variables view.
pub fn present(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let text = value.to_string();
            if text.len() <= 80 {
                text
            } else {
                format!("array of {}", items.len())
            }
        }
        Value::Str(text) => format!("{text:?}"),
        other => other.to_string(),
    }
}

/// Whether a value has children (a colour, a non-empty array).
pub fn compound(value: &Value) -> bool {
    matches!(value, Value::Color(_)) || matches!(value, Value::Array(items) if !items.is_empty())
}

/// A DAP variable for `value` named `name` (`key` names its handle when it has one).
pub fn variable(session: &mut Session, key: &str, name: &str, ty: &str, value: &Value) -> Json {
    let reference = if compound(value) {
        let value = value.clone();
        session
            .handles
            .handle(format!("{key}/{name}"), move || Container::Value(value))
    } else {
        0
    };
    let mut out = json!({
        "name": name,
        "value": present(value),
        "type": ty,
        "variablesReference": reference,
    });
    if let Value::Array(items) = value {
        out["indexedVariables"] = Json::from(items.len());
    }
    out
}

/// The type of an array element or colour channel, from its value.
fn type_of(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.first().map(type_of).unwrap_or_else(|| "?".into())
        ),
        other => other.kind().to_string(),
    }
}

/// A row of the Params scope: a param of the main file, or the params of a used file
/// (its namespace and how many), shown as a group.
enum ParamRow<'a> {
    Own(&'a Variable),
    File(&'a str, usize),
}

/// The Params scope's rows: the main file's params (unqualified names), then a group per
/// used file in the order its params come, for params named `namespace.name`.
fn param_groups(all: &[Variable]) -> Vec<ParamRow<'_>> {
    let mut rows: Vec<ParamRow<'_>> = all
        .iter()
        .filter(|var| !var.name.contains('.'))
        .map(ParamRow::Own)
        .collect();
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for (namespace, _) in all.iter().filter_map(|var| var.name.rsplit_once('.')) {
        match groups.iter_mut().find(|(ns, _)| *ns == namespace) {
            Some((_, count)) => *count += 1,
            None => groups.push((namespace, 1)),
        }
    }
    rows.extend(
        groups
            .into_iter()
            .map(|(ns, count)| ParamRow::File(ns, count)),
    );
    rows
}

/// `variables`.
pub fn variables(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: VariablesArgs = arguments(request)?;
    let mut session = shared.lock();
    session.first_stopped()?;
    let Some((key, container)) = session.handles.get(args.variables_reference).cloned() else {
        return Err(DapError::user(format!(
            "no variables {} (handles last while the thread is stopped)",
            args.variables_reference
        )));
    };
    let rows: Vec<(String, String, Value)> = match &container {
        Container::Locals(thread, frame) => session
            .stopped(*thread)?
            .locals(*frame)?
            .into_iter()
            .map(|var| (var.name, var.ty.to_string(), var.value))
            .collect(),
        Container::Params(thread) => {
            let all = session.stopped(*thread)?.params()?;
            let thread = *thread;
            let list: Vec<Json> = param_groups(&all)
                .into_iter()
                .map(|row| match row {
                    ParamRow::Own(var) => variable(
                        &mut session,
                        &key,
                        &var.name,
                        &var.ty.to_string(),
                        &var.value,
                    ),
                    ParamRow::File(namespace, count) => {
                        let reference = session
                            .handles
                            .handle(format!("params {thread} {namespace}"), || {
                                Container::ParamsOf(thread, namespace.to_string())
                            });
                        let noun = if count == 1 { "param" } else { "params" };
                        json!({
                            "name": namespace,
                            "value": format!("{count} {noun} of {namespace}"),
                            "type": "file",
                            "variablesReference": reference,
                            "namedVariables": count,
                            "presentationHint": { "kind": "class" },
                        })
                    }
                })
                .collect();
            return Ok(json!({ "variables": list }));
        }
        Container::ParamsOf(thread, namespace) => session
            .stopped(*thread)?
            .params()?
            .into_iter()
            .filter_map(|var| {
                let (ns, name) = var.name.rsplit_once('.')?;
                (ns == namespace).then(|| (name.to_string(), var.ty.to_string(), var.value))
            })
            .collect(),
        Container::Value(Value::Color([r, g, b, a])) => [("r", r), ("g", g), ("b", b), ("a", a)]
            .into_iter()
            .map(|(name, v)| {
                (
                    name.to_string(),
                    "float".to_string(),
                    Value::Float(*v as f64),
                )
            })
            .collect(),
        Container::Value(Value::Array(items)) => {
            if args.filter.as_deref() == Some("named") {
                Vec::new()
            } else {
                let start = args.start.unwrap_or(0);
                let count = args.count.filter(|n| *n > 0).unwrap_or(usize::MAX);
                items
                    .iter()
                    .enumerate()
                    .skip(start)
                    .take(count)
                    .map(|(idx, item)| (format!("[{idx}]"), type_of(item), item.clone()))
                    .collect()
            }
        }
        Container::Value(_) => Vec::new(),
    };
    let list: Vec<Json> = rows
        .iter()
        .map(|(name, ty, value)| variable(&mut session, &key, name, ty, value))
        .collect();
    Ok(json!({ "variables": list }))
}

/// `setVariable`: a `param` of the file, read against its type and range (the VM has
/// no way yet to change a local: such a request is refused, saying so).
pub fn set_variable(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: SetVariableArgs = arguments(request)?;
    let mut session = shared.lock();
    session.first_stopped()?;
    let container = session
        .handles
        .get(args.variables_reference)
        .map(|(_, container)| container.clone());
    let (thread, name) = match container {
        Some(Container::Params(thread)) => (thread, args.name.clone()),
        Some(Container::ParamsOf(thread, namespace)) => {
            (thread, format!("{namespace}.{}", args.name))
        }
        Some(Container::Locals(thread, frame)) => {
            return set_local(&mut session, thread, frame, &args)
        }
        Some(Container::Value(_)) => {
            return Err(DapError::user(
                "parts of a colour or an array cannot be changed",
            ))
        }
        None => {
            return Err(DapError::user(format!(
                "no variables {}",
                args.variables_reference
            )))
        }
    };
    let program = session
        .program
        .as_ref()
        .ok_or_else(|| DapError::internal("a VM without its program"))?;
    let value = chunkvm::driver::read_param(&program.params, &name, Written::Text(&args.value))
        .ok_or_else(|| DapError::user(format!("no param `{name}`")))?
        .map_err(|err| DapError::user(err.to_string()))?;
    session.stopped(thread)?.set_global(&name, &value)?;
    let ty = value.kind().to_string();
    let shown = variable(&mut session, "set", &name, &ty, &value);
    Ok(json!({
        "value": shown["value"],
        "type": ty,
        "variablesReference": shown["variablesReference"],
    }))
}

/// `setVariable` on a local or parameter of frame `frame`: the value is read against the
/// local's type (an int, float, bool or colour; references are refused).
fn set_local(session: &mut Session, thread: i64, frame: usize, args: &SetVariableArgs) -> Reply {
    let vm = session.stopped(thread)?;
    let ty = vm
        .locals(frame)?
        .into_iter()
        .find(|local| local.name == args.name)
        .map(|local| local.ty)
        .ok_or_else(|| DapError::user(format!("no local `{}` in this frame", args.name)))?;
    let value = chunkvm::values::read_value(&args.name, &ty, Written::Text(&args.value), None)
        .map_err(|err| DapError::user(err.to_string()))?;
    vm.set_local(frame, &args.name, &value)?;
    let kind = value.kind().to_string();
    let shown = variable(session, "set", &args.name, &kind, &value);
    Ok(json!({
        "value": shown["value"],
        "type": kind,
        "variablesReference": shown["variablesReference"],
    }))
}

/// `loadedSources`: every file of the program, the main one first.
pub fn loaded_sources(shared: &Arc<Shared>) -> Reply {
    let session = shared.lock();
    let sources: Vec<Json> = session
        .program
        .iter()
        .flat_map(|p| (0..p.files.len()).map(|file| p.source_of(file)))
        .collect();
    Ok(json!({ "sources": sources }))
}
