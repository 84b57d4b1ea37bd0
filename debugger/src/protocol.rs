//! The DAP messages the adapter reads and writes, as plain serde types and JSON
//! builders: requests in, responses and events out, and the arguments of each request.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::fmt;

/// A request from the client.
#[derive(Debug, Deserialize)]
pub struct Request {
    /// Its sequence number (the response names it).
    pub seq: i64,
    /// `request` (anything else is refused).
    #[serde(rename = "type")]
    pub kind: String,
    /// The command.
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub arguments: Value,
}

/// Why a request failed, and whom it blames.
#[derive(Debug, Clone, PartialEq)]
pub enum DapError {
    /// The user's mistake (a bad argument, a file that is not there): shown to them.
    User(String),
    /// The adapter's own failure: logged, and answered as an error.
    Internal(String),
}

impl DapError {
    /// A user error.
    pub fn user(message: impl Into<String>) -> DapError {
        DapError::User(message.into())
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> DapError {
        DapError::Internal(message.into())
    }
}

impl fmt::Display for DapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DapError::User(message) => f.write_str(message),
            DapError::Internal(message) => write!(f, "internal error in chop-dap: {message}"),
        }
    }
}

impl std::error::Error for DapError {}

/// A request's result: the response body, or why it failed.
pub type Reply = Result<Value, DapError>;

/// Reads the arguments of `request` as `T`; a mismatch names the command and the field.
pub fn arguments<T: DeserializeOwned>(request: &Request) -> Result<T, DapError> {
    let value = if request.arguments.is_null() {
        Value::Object(Map::new())
    } else {
        request.arguments.clone()
    };
    serde_json::from_value(value)
        .map_err(|err| DapError::user(format!("bad arguments for `{}`: {err}", request.command)))
}

/// A response to `request`.
pub fn response(request_seq: i64, command: &str, reply: &Reply) -> Value {
    match reply {
        Ok(body) => json!({
            "type": "response",
            "request_seq": request_seq,
            "success": true,
            "command": command,
            "body": body,
        }),
        Err(err) => json!({
            "type": "response",
            "request_seq": request_seq,
            "success": false,
            "command": command,
            "message": err.to_string(),
            "body": { "error": { "id": 1, "format": err.to_string(), "showUser": matches!(err, DapError::User(_)) } },
        }),
    }
}

/// An event.
pub fn event(name: &str, body: Value) -> Value {
    json!({ "type": "event", "event": name, "body": body })
}

/// An output event: `category` is `console`, `stdout` or `stderr`.
pub fn output(category: &str, text: &str) -> Value {
    event("output", json!({ "category": category, "output": text }))
}

/// The arguments of `launch` (fields a client adds of its own, such as VS Code's
/// `type`, `request` and `name`, are ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchArgs {
    /// The `.chop` file.
    pub program: String,
    /// The function to call (default `main`).
    #[serde(default)]
    pub function: Option<String>,
    /// Its arguments, written as `chunkvm run --arg` takes them.
    #[serde(default)]
    pub args: Vec<Value>,
    /// `param` values by name (numbers, booleans, colours as text or arrays).
    #[serde(default)]
    pub params: Map<String, Value>,
    /// The filter to run over the photo.
    #[serde(default)]
    pub filter: Option<String>,
    /// The pipeline to run over the photo.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// The photo (default: the bundled one).
    #[serde(default)]
    pub input: Option<String>,
    /// Where to write the output image.
    #[serde(default)]
    pub output: Option<String>,
    /// The level of the photo's pyramid to run on.
    #[serde(default)]
    pub level: Option<usize>,
    /// For a filter or pipeline run: each stage in this many bands of rows, each band
    /// a thread (default: the machine's cores, at most 4; 1 with `node`).
    #[serde(default)]
    pub threads: Option<usize>,
    /// Whether to stop before the first instruction.
    #[serde(default)]
    pub stop_on_entry: bool,
    /// Start the thread on this node (`quic://HOST:PORT`).
    #[serde(default)]
    pub node: Option<String>,
    /// The node's token file.
    #[serde(default)]
    pub token_file: Option<String>,
    /// The node's certificate fingerprint, pinned (default: trust on first use).
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Folders of the library that `use "..."` looks in after the using file's folder,
    /// in order (then `$CHUNKVM_LIB`, then the installation's `filters/`).
    #[serde(default)]
    pub lib: Vec<String>,
}

/// A source, as the client names it.
#[derive(Debug, Deserialize, Default)]
pub struct Source {
    /// Its path.
    #[serde(default)]
    pub path: Option<String>,
}

/// One breakpoint asked for.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SourceBreakpoint {
    /// The 1-based line.
    pub line: u32,
    /// Stop only when this expression is true.
    #[serde(default)]
    pub condition: Option<String>,
    /// Stop only on these hits: `5`, `>= 5`, `% 2`...
    #[serde(default)]
    pub hit_condition: Option<String>,
    /// Log this instead of stopping; `{expr}` is replaced by its value.
    #[serde(default)]
    pub log_message: Option<String>,
}

/// The arguments of `setBreakpoints`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetBreakpointsArgs {
    /// The source.
    pub source: Source,
    /// The breakpoints.
    #[serde(default)]
    pub breakpoints: Vec<SourceBreakpoint>,
    /// The old form: lines only.
    #[serde(default)]
    pub lines: Vec<u32>,
}

/// One function breakpoint asked for.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct FunctionBreakpoint {
    /// The function's or filter's name.
    pub name: String,
    /// Stop only when this expression is true.
    #[serde(default)]
    pub condition: Option<String>,
    /// Stop only on these hits.
    #[serde(default)]
    pub hit_condition: Option<String>,
}

/// The arguments of `setFunctionBreakpoints`.
#[derive(Debug, Deserialize)]
pub struct SetFunctionBreakpointsArgs {
    /// The breakpoints.
    pub breakpoints: Vec<FunctionBreakpoint>,
}

/// An instruction breakpoint as the client sets it.
#[derive(Debug, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct InstructionBreakpoint {
    /// The instruction: `f<function>:<offset>`, as a frame's
    /// `instructionPointerReference` or a disassembled instruction's `address`.
    pub instruction_reference: String,
    /// Instructions after (or before) it.
    #[serde(default)]
    pub offset: i64,
    /// Stop only when this is true.
    #[serde(default)]
    pub condition: Option<String>,
    /// Stop only on these hits.
    #[serde(default)]
    pub hit_condition: Option<String>,
}

/// The arguments of `setInstructionBreakpoints`.
#[derive(Debug, Deserialize)]
pub struct SetInstructionBreakpointsArgs {
    /// The breakpoints.
    pub breakpoints: Vec<InstructionBreakpoint>,
}

/// The arguments of `setExceptionBreakpoints`.
#[derive(Debug, Deserialize)]
pub struct SetExceptionBreakpointsArgs {
    /// The filters on (`runtime`).
    #[serde(default)]
    pub filters: Vec<String>,
}

/// The arguments of the requests that name a thread.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadArgs {
    /// The thread.
    pub thread_id: i64,
    /// `statement`, `line` or `instruction`.
    #[serde(default)]
    pub granularity: Option<String>,
}

/// The arguments of `stackTrace`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTraceArgs {
    /// The thread.
    pub thread_id: i64,
    /// The first frame to give.
    #[serde(default)]
    pub start_frame: Option<usize>,
    /// How many (0 or none: all).
    #[serde(default)]
    pub levels: Option<usize>,
}

/// The arguments of `scopes`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopesArgs {
    /// The frame.
    pub frame_id: i64,
}

/// The arguments of `variables`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariablesArgs {
    /// The container.
    pub variables_reference: i64,
    /// Only `indexed` or `named` children (both when absent).
    #[serde(default)]
    pub filter: Option<String>,
    /// The first child to give.
    #[serde(default)]
    pub start: Option<usize>,
    /// How many (0 or none: all).
    #[serde(default)]
    pub count: Option<usize>,
}

/// The arguments of `evaluate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateArgs {
    /// The expression.
    pub expression: String,
    /// The frame it is evaluated in (the innermost when absent).
    #[serde(default)]
    pub frame_id: Option<i64>,
}

/// The arguments of `disassemble`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisassembleArgs {
    /// Where: `f<function>:<offset>`, as a frame's `instructionPointerReference`.
    pub memory_reference: String,
    /// Instructions from there (may be negative).
    #[serde(default)]
    pub instruction_offset: i64,
    /// How many instructions to give.
    pub instruction_count: i64,
    /// Byte offsets are not meaningful here (must be 0 when given).
    #[serde(default)]
    pub offset: i64,
}

/// The arguments of `setVariable`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetVariableArgs {
    /// The container.
    pub variables_reference: i64,
    /// The variable's name.
    pub name: String,
    /// The new value, as written on the command line (`4`, `0.5`, `#ff8800`).
    pub value: String,
}
