//! `evaluate`: an expression over a stopped frame's parameters, locals and the file's
//! params (see [`crate::eval`]); a compound result can be expanded like a variable.

use super::stack::{frame_index, frame_thread, variable};
use crate::eval;
use crate::protocol::{arguments, DapError, EvaluateArgs, Reply, Request};
use crate::session::{names, Shared};
use serde_json::json;
use std::sync::Arc;

/// `evaluate`.
pub fn evaluate(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: EvaluateArgs = arguments(request)?;
    let mut session = shared.lock();
    // Without a frame: the innermost frame of the thread that stopped last.
    let thread = args.frame_id.map_or(session.focus, frame_thread);
    let vm = session.stopped(thread)?;
    let frame = match args.frame_id {
        Some(id) => frame_index(vm, id)?,
        None => 0,
    };
    let scope = names(vm, frame)?;
    let value = eval::evaluate(&args.expression, &scope).map_err(|err| DapError::user(err.0))?;
    let ty = value.kind().to_string();
    let shown = variable(
        &mut session,
        &format!("eval {thread} {frame}"),
        &args.expression,
        &ty,
        &value,
    );
    Ok(json!({
        "result": shown["value"],
        "type": ty,
        "variablesReference": shown["variablesReference"],
        "indexedVariables": shown.get("indexedVariables").cloned().unwrap_or(json!(0)),
    }))
}
