//! The session's state in one place: the program and its VM, the breakpoints, the
//! variable handles, and the run thread that runs the VM while the reader stays
//! responsive.
//!
//! The VM is in the session while the thread is stopped; a continue or a step moves it
//! to a run thread of its own, which gives it back when the thread stops again (a
//! breakpoint, a step, a pause, an exception) or drops it when the program ends. A
//! pause while it runs sets the VM's pause flag ([`chunkvm::exec::Vm::pause_flag`]): the
//! run stops at the next safe point. Breakpoints set while it runs are applied the same
//! way: the flag stops it, the run thread takes the new set and goes on.

use crate::debuggee::{Debuggee, Pause, Ran};
use crate::eval;
use crate::protocol::{event, output};
use crate::transport::Outbox;
use chunkvm::exec::{ErrorKind, RuntimeError, StepKind, Stop, Value, Vm};
use chunkvm::photo::{ImageFormat, Rgba8};
use chunkvm::syntax::span::{LineIndex, Span};
use chunkvm_node::Client;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The one thread's id (a session debugs one thread of the VM).
pub const THREAD_ID: i64 = 1;

/// What the adapter shares between the reader and the run thread.
pub struct Shared {
    /// Messages to the client.
    pub out: Arc<Outbox>,
    /// The session.
    session: Mutex<Session>,
    /// Set by a `pause` request: the next `Stop::Paused` is the user's.
    pub user_pause: AtomicBool,
}

impl Shared {
    /// A fresh session writing to `out`.
    pub fn new(out: Arc<Outbox>) -> Shared {
        Shared {
            out,
            session: Mutex::new(Session::default()),
            user_pause: AtomicBool::new(false),
        }
    }

    /// The session (a poisoned lock is taken over: the state stays usable).
    pub fn lock(&self) -> MutexGuard<'_, Session> {
        match self.session.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Sends a message to the client.
    pub fn send(&self, message: Json) {
        self.out.send(message);
    }
}

/// The program being debugged.
pub struct Program {
    /// Its file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Lines of the text.
    pub lines: LineIndex,
    /// The lines that have code, sorted.
    pub code_lines: Vec<u32>,
    /// The file's params as declared (type, range), to read values written for them.
    pub params: Vec<chunkvm::check::ParamDecl>,
    /// Each function and filter (closures aside) and its first line with code.
    pub function_lines: Vec<(String, u32)>,
    /// The number of instructions of each function, by index.
    pub code_sizes: Vec<u32>,
    /// The thread's name: the function, filter or pipeline run.
    pub name: String,
    /// For a filter or pipeline run: where to write the image (if anywhere).
    pub photo_output: Option<Option<PathBuf>>,
    /// Whether to show the function's result when it finishes (a `function` was asked).
    pub show_result: bool,
}

impl Program {
    /// The first line with code at or after `line`.
    pub fn code_line_at(&self, line: u32) -> Option<u32> {
        self.code_lines.iter().copied().find(|code| *code >= line)
    }

    /// `(line, column)` of a span's start, both 1-based.
    pub fn position(&self, span: Span) -> (u32, u32) {
        let pos = self
            .lines
            .line_col(&self.text, span.start.min(self.text.len()));
        (pos.line, pos.col)
    }

    /// The DAP source of the program.
    pub fn source(&self) -> Json {
        json!({
            "name": self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            "path": self.path.display().to_string(),
        })
    }
}

/// Where the thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RunState {
    /// Nothing launched yet.
    #[default]
    NotLaunched,
    /// Launched, stopped (or not started yet): the VM is in the session.
    Stopped,
    /// The VM is on the run thread.
    Running,
    /// The program ended.
    Terminated,
}

/// Where a thread may stop: breakpoint lines and instruction breakpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stops {
    /// Lines (1-based) with a breakpoint.
    pub lines: Vec<u32>,
    /// Instructions (function index, code offset) with a breakpoint.
    pub instructions: Vec<(u32, u32)>,
}

/// One breakpoint as the user set it.
#[derive(Clone, Debug)]
pub struct Breakpoint {
    /// Its id (for the client).
    pub id: i64,
    /// Stop only when this is true.
    pub condition: Option<String>,
    /// Stop only on these hits.
    pub hit_condition: Option<String>,
    /// Log this instead of stopping.
    pub log_message: Option<String>,
    /// Times its condition held.
    pub hits: u64,
}

/// What a variables handle stands for.
#[derive(Clone, Debug)]
pub enum Container {
    /// The parameters and locals of frame `n` (0: innermost).
    Locals(usize),
    /// The file's `param` values.
    Params,
    /// A compound value (a colour, an array).
    Value(Value),
}

/// Variables handles: each container once while the thread stays stopped, so the same
/// thing asked twice has the same handle.
#[derive(Default)]
pub struct Handles {
    items: Vec<(String, Container)>,
}

impl Handles {
    /// The handle of the container with this `key`, made with `make` the first time.
    pub fn handle(&mut self, key: String, make: impl FnOnce() -> Container) -> i64 {
        if let Some(idx) = self.items.iter().position(|(k, _)| *k == key) {
            return idx as i64 + 1;
        }
        self.items.push((key, make()));
        self.items.len() as i64
    }

    /// The container of `handle`, with its key.
    pub fn get(&self, handle: i64) -> Option<&(String, Container)> {
        usize::try_from(handle - 1)
            .ok()
            .and_then(|idx| self.items.get(idx))
    }

    /// Forgets every handle (the thread goes on).
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

/// The session.
#[derive(Default)]
pub struct Session {
    /// The program, once launched.
    pub program: Option<Program>,
    /// The thread while it is stopped (here or on a node).
    pub thread: Option<Debuggee>,
    /// Where the thread is.
    pub state: RunState,
    /// How to pause the thread (kept here: the thread itself may be on the run thread).
    pub pause: Option<Pause>,
    /// The node the thread is on (kept here: the thread may be on the run thread).
    pub node: Option<String>,
    /// Connections to nodes, by address (kept warm between migrations).
    pub clients: HashMap<String, Arc<Client>>,
    /// The runtime of the node connections (made on the first migration).
    pub runtime: Option<Arc<tokio::runtime::Runtime>>,
    /// Set to end a run (disconnect, terminate).
    pub cancel: Arc<AtomicBool>,
    /// Source breakpoints, by the line their code is on.
    pub breakpoints: BTreeMap<u32, Vec<Breakpoint>>,
    /// Function breakpoints, by the first line of their function.
    pub function_breakpoints: BTreeMap<u32, Vec<Breakpoint>>,
    /// Instruction breakpoints, by function index and code offset.
    pub instruction_breakpoints: BTreeMap<(u32, u32), Vec<Breakpoint>>,
    /// Whether to stop on runtime errors (the `runtime` exception filter).
    pub stop_on_errors: bool,
    /// The runtime error the thread stopped on.
    pub exception: Option<RuntimeError>,
    /// The runtime error last stopped on (message, position): a continue from it
    /// ends the program instead of stopping on it again.
    pub exception_seen: Option<(String, usize)>,
    /// Variables handles.
    pub handles: Handles,
    /// Stop before the first instruction.
    pub stop_on_entry: bool,
    /// The node to start the thread on.
    pub start_on: Option<crate::requests::migrate::Destination>,
    /// The launch's arguments as the client sent them (a restart reads them again).
    pub launch_args: Option<Json>,
    /// A restart is stopping the run: its end is not told to the client.
    pub restarting: bool,
    /// A migration asked while the thread runs: where to, and the request's number
    /// (answered when the thread has moved at its next safe point).
    pub pending_move: Option<(crate::requests::migrate::Destination, i64)>,
    /// Whether `configurationDone` came.
    pub configured: bool,
    /// The last breakpoint id given.
    pub next_id: i64,
    /// Whether a breakpoint on the entry line was looked at (the first run does).
    pub entry_checked: bool,
    /// Breakpoint changes wait for the run thread.
    pub breakpoints_changed: bool,
    /// The thread this session attached to on a node (`attach`), if it did.
    pub attached: Option<crate::requests::attach::Attached>,
}

impl Session {
    /// Where the thread may stop: every line a breakpoint is on, and every instruction
    /// breakpoint.
    pub fn stops(&self) -> Stops {
        Stops {
            lines: self.vm_lines(),
            instructions: self.instruction_breakpoints.keys().copied().collect(),
        }
    }

    /// Every line a breakpoint is on.
    pub fn vm_lines(&self) -> Vec<u32> {
        let mut lines: Vec<u32> = self
            .breakpoints
            .keys()
            .chain(self.function_breakpoints.keys())
            .copied()
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }

    /// A fresh breakpoint id.
    pub fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Gives the thread the breakpoints now set (now, or at the run thread's next stop).
    pub fn apply_breakpoints(&mut self) {
        let stops = self.stops();
        if let Some(thread) = self.thread.as_mut() {
            if let Err(err) = thread.set_breakpoints(&stops) {
                eprintln!("chop-dap: setting the breakpoints: {err}");
            }
            self.breakpoints_changed = false;
        } else if self.state == RunState::Running {
            self.breakpoints_changed = true;
            if let Some(pause) = &self.pause {
                pause.pause();
            }
        }
    }

    /// The stopped thread, or why there is none.
    pub fn stopped(&mut self) -> Result<&mut Debuggee, crate::protocol::DapError> {
        use crate::protocol::DapError;
        match self.state {
            RunState::Stopped => self
                .thread
                .as_mut()
                .ok_or_else(|| DapError::internal("a stopped session without its thread")),
            RunState::Running => Err(DapError::user(
                "the thread is running: pause it to see its state",
            )),
            RunState::NotLaunched => Err(DapError::user("no program was launched")),
            RunState::Terminated => Err(DapError::user("the program has ended")),
        }
    }

    /// The thread's name as the client shows it: what runs, and where.
    pub fn thread_name(&self) -> Option<String> {
        let program = self.program.as_ref()?;
        let node = match &self.thread {
            Some(thread) => thread.node(),
            None => self.node.as_deref(),
        };
        Some(match node {
            Some(node) => format!("{} @ {node}", program.name),
            None => program.name.clone(),
        })
    }
}

/// The names an expression may use in frame `frame`: its locals and parameters, then
/// the file's params.
pub fn names(
    thread: &mut Debuggee,
    frame: usize,
) -> Result<Vec<(String, Value)>, crate::protocol::DapError> {
    let mut out: Vec<(String, Value)> = thread
        .locals(frame)?
        .into_iter()
        .map(|var| (var.name, var.value))
        .collect();
    out.extend(
        thread
            .params()?
            .into_iter()
            .map(|var| (var.name, var.value)),
    );
    Ok(out)
}

/// What the run thread is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run until something stops it.
    Continue,
    /// One step.
    Step(StepKind),
}

/// Where the VM's printed lines go: an output event per line.
pub struct OutputSink {
    out: Arc<Outbox>,
    line: Vec<u8>,
}

impl OutputSink {
    /// A sink sending to `out`.
    pub fn new(out: Arc<Outbox>) -> OutputSink {
        OutputSink {
            out,
            line: Vec::new(),
        }
    }
}

impl Write for OutputSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        while let Some(end) = self.line.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.line.drain(..=end).collect();
            self.out
                .send(output("stdout", &String::from_utf8_lossy(&line)));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.out
                .send(output("stdout", &String::from_utf8_lossy(&line)));
        }
        Ok(())
    }
}

/// Moves the VM to a run thread doing `action`. Refused when the thread is not stopped.
pub fn resume(shared: &Arc<Shared>, action: Action) -> Result<(), crate::protocol::DapError> {
    use crate::protocol::DapError;
    let (vm, entry) = {
        let mut session = shared.lock();
        match session.state {
            RunState::Stopped => {}
            RunState::Running => return Err(DapError::user("the thread is already running")),
            RunState::NotLaunched => return Err(DapError::user("no program was launched")),
            RunState::Terminated => return Err(DapError::user("the program has ended")),
        }
        let Some(mut vm) = session.thread.take() else {
            return Err(DapError::internal("a stopped session without its thread"));
        };
        let stops = session.stops();
        if let Err(err) = vm.set_breakpoints(&stops) {
            match vm.take_home_note() {
                // Its node failed or stopped: it runs here now.
                Some(why) => {
                    shared.send(output("console", &format!("{why}\n")));
                    migrated(shared, &vm, None);
                    session.node = None;
                }
                None => shared.send(output("console", &format!("{err}\n"))),
            }
        }
        session.breakpoints_changed = false;
        vm.clear_pause();
        session.pause = vm.pause();
        shared.user_pause.store(false, Ordering::Relaxed);
        session.state = RunState::Running;
        session.handles.clear();
        session.exception = None;
        let entry = if vm.instructions() > 0 {
            Entry::Started
        } else if std::mem::replace(&mut session.entry_checked, true) {
            Entry::StepFirst
        } else {
            Entry::Check
        };
        (vm, entry)
    };
    shared.send(event(
        "continued",
        json!({ "threadId": THREAD_ID, "allThreadsContinued": true }),
    ));
    let thread_shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("chop-dap run".into())
        .spawn(move || run_thread(thread_shared, vm, action, entry));
    if let Err(err) = spawned {
        let mut session = shared.lock();
        session.state = RunState::Terminated;
        return Err(DapError::internal(format!(
            "cannot start the run thread: {err}"
        )));
    }
    Ok(())
}

/// What a breakpoint stop comes to once conditions, hit counts and logpoints are seen.
enum Hit {
    /// Stop there, for this reason, with these breakpoint ids (and a note when a condition failed).
    Stop(&'static str, Vec<i64>, Option<String>),
    /// Go on (conditions false, logpoints only).
    Go,
}

fn hit_matches(condition: &str, hits: u64) -> Result<bool, String> {
    let text = condition.trim();
    let (op, number) = ["==", ">=", "<=", ">", "<", "%", "="]
        .iter()
        .find_map(|op| text.strip_prefix(op).map(|rest| (*op, rest.trim())))
        .unwrap_or(("==", text));
    let n: u64 = number.parse().map_err(|_| {
        format!("hit condition `{condition}`: write a count such as `5`, `>= 5` or `% 2`")
    })?;
    Ok(match op {
        ">=" => hits >= n,
        "<=" => hits <= n,
        ">" => hits > n,
        "<" => hits < n,
        "%" => n != 0 && hits % n == 0,
        _ => hits == n,
    })
}

fn check_breakpoint(shared: &Shared, vm: &mut Debuggee) -> Hit {
    let top = match vm.stack() {
        Ok(stack) => stack
            .first()
            .map(|frame| (frame.line, frame.pc, frame.block.0)),
        Err(err) => {
            shared.send(output("console", &format!("{err}\n")));
            None
        }
    };
    let Some((line, pc, block)) = top else {
        return Hit::Go;
    };
    let func = vm
        .local()
        .ok()
        .and_then(|local| crate::requests::stack::function_of(&local.loaded().ids.blocks, block));
    let names = match names(vm, 0) {
        Ok(names) => names,
        Err(err) => {
            shared.send(output("console", &format!("{err}\n")));
            Vec::new()
        }
    };
    let mut session = shared.lock();
    let mut ids = Vec::new();
    let mut notes = Vec::new();
    let mut logs = Vec::new();
    if let Some(list) = session.breakpoints.get_mut(&line) {
        for bp in list.iter_mut() {
            decide(bp, &names, &mut ids, &mut notes, &mut logs);
        }
    }
    let line_ids = ids.len();
    // A function breakpoint holds at the function's entry only (its first instruction).
    if let Some(list) = session
        .function_breakpoints
        .get_mut(&line)
        .filter(|_| pc == 0)
    {
        for bp in list.iter_mut() {
            decide(bp, &names, &mut ids, &mut notes, &mut logs);
        }
    }
    let function_ids = ids.len();
    if let Some(list) = func.and_then(|f| session.instruction_breakpoints.get_mut(&(f, pc))) {
        for bp in list.iter_mut() {
            decide(bp, &names, &mut ids, &mut notes, &mut logs);
        }
    }
    let reason = if function_ids == 0 && !ids.is_empty() {
        "instruction breakpoint"
    } else if function_ids > line_ids && line_ids == 0 {
        "function breakpoint"
    } else {
        "breakpoint"
    };
    let stale = !session.breakpoints.contains_key(&line)
        && !session.function_breakpoints.contains_key(&line)
        && !func.is_some_and(|f| session.instruction_breakpoints.contains_key(&(f, pc)));
    drop(session);
    for log in logs {
        shared.send(output("console", &format!("{log}\n")));
    }
    if stale || ids.is_empty() {
        Hit::Go
    } else {
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        Hit::Stop(reason, ids, note)
    }
}

fn decide(
    bp: &mut Breakpoint,
    names: &[(String, Value)],
    ids: &mut Vec<i64>,
    notes: &mut Vec<String>,
    logs: &mut Vec<String>,
) {
    if let Some(condition) = bp.condition.as_deref().filter(|c| !c.trim().is_empty()) {
        match eval::evaluate(condition, names) {
            Ok(Value::Bool(true)) => {}
            Ok(Value::Bool(false)) => return,
            Ok(other) => {
                notes.push(format!(
                    "the condition `{condition}` is {}, not a bool",
                    other.kind()
                ));
                ids.push(bp.id);
                return;
            }
            Err(err) => {
                notes.push(format!("the condition `{condition}` failed: {err}"));
                ids.push(bp.id);
                return;
            }
        }
    }
    bp.hits += 1;
    if let Some(hit) = bp.hit_condition.as_deref().filter(|c| !c.trim().is_empty()) {
        match hit_matches(hit, bp.hits) {
            Ok(true) => {}
            Ok(false) => return,
            Err(note) => {
                notes.push(note);
                ids.push(bp.id);
                return;
            }
        }
    }
    match &bp.log_message {
        Some(message) => logs.push(eval::interpolate(message, names)),
        None => ids.push(bp.id),
    }
}

/// Where a run starts, as far as the entry breakpoint goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// The thread has run already.
    Started,
    /// The first run: a breakpoint on the first line is checked before it.
    Check,
    /// Not run yet, but it stopped at its first instruction before.
    StepFirst,
}

fn run_thread(shared: Arc<Shared>, mut vm: Debuggee, action: Action, entry: Entry) {
    let stepping = matches!(action, Action::Step(_));
    // `Vm::run` never stops on the instruction it starts at (so that it goes on from a
    // breakpoint): a breakpoint on the entry function's first line is checked here the
    // first time, and a run from there after it stopped begins with one instruction
    // step (which tells the VM where it was, so the rest of the line does not stop).
    let mut step_first = false;
    if action == Action::Continue {
        match entry {
            Entry::Check => {
                if let Hit::Stop(reason, ids, note) = check_breakpoint(&shared, &mut vm) {
                    return stop(&shared, vm, reason, note, ids);
                }
            }
            Entry::StepFirst => step_first = true,
            Entry::Started => {}
        }
    }
    let top_line = |vm: &mut Debuggee| {
        vm.stack()
            .ok()
            .and_then(|stack| stack.first().map(|frame| frame.line))
    };
    let entry_line = top_line(&mut vm);
    loop {
        let ran = if step_first {
            vm.resume(Some(StepKind::Instruction))
        } else {
            match action {
                Action::Continue => vm.resume(None),
                Action::Step(kind) => vm.resume(Some(kind)),
            }
        };
        let result = match ran {
            Ran::Vm(result) => result,
            Ran::Home(why) => {
                shared.lock().node = None;
                shared.send(output("console", &format!("{why}\n")));
                migrated(&shared, &vm, None);
                return stop(&shared, vm, "pause", Some(why), Vec::new());
            }
            Ran::Refused(why) => {
                shared.send(output("stderr", &format!("{why}\n")));
                return stop(&shared, vm, "pause", Some(why), Vec::new());
            }
        };
        let was_step_first = std::mem::take(&mut step_first);
        match result {
            Ok(Stop::Step) if was_step_first => {
                let line = top_line(&mut vm);
                if line != entry_line {
                    if let Hit::Stop(reason, ids, note) = check_breakpoint(&shared, &mut vm) {
                        return stop(&shared, vm, reason, note, ids);
                    }
                }
            }
            Ok(Stop::Breakpoint) => match check_breakpoint(&shared, &mut vm) {
                Hit::Stop(reason, ids, note) => {
                    return stop(&shared, vm, reason, note, ids);
                }
                Hit::Go if stepping => return stop(&shared, vm, "step", None, Vec::new()),
                Hit::Go => continue,
            },
            Ok(Stop::Step) => return stop(&shared, vm, "step", None, Vec::new()),
            Ok(Stop::Paused) => {
                {
                    let session = shared.lock();
                    if session.breakpoints_changed {
                        let stops = session.stops();
                        drop(session);
                        if let Err(err) = vm.set_breakpoints(&stops) {
                            shared.send(output("console", &format!("{err}\n")));
                        }
                    }
                }
                shared.lock().breakpoints_changed = false;
                if shared.lock().cancel.load(Ordering::Relaxed) {
                    // Ended (terminate, disconnect, restart) while it ran on a node,
                    // which paused it: the run ends here.
                    return finish(&shared, vm, Err(cancelled()));
                }
                let pending = shared.lock().pending_move.take();
                if let Some((to, seq)) = pending {
                    crate::requests::migrate::move_now(&shared, &mut vm, &to, seq);
                }
                if shared.user_pause.swap(false, Ordering::Relaxed) {
                    return stop(&shared, vm, "pause", None, Vec::new());
                }
                if stepping {
                    return stop(&shared, vm, "step", None, Vec::new());
                }
            }
            Ok(Stop::SafePoint) => {}
            Ok(Stop::Finished(value)) => return finish(&shared, vm, Ok(value)),
            Err(err) => {
                let stop_here = {
                    let stop_on_errors = shared.lock().stop_on_errors;
                    stop_on_errors
                        && err.kind != ErrorKind::Cancelled
                        && vm.failed()
                        && vm.stack().is_ok_and(|stack| !stack.is_empty())
                };
                let key = (err.message.clone(), err.span.start);
                let seen = shared.lock().exception_seen.replace(key.clone());
                if stop_here && seen.as_ref() != Some(&key) {
                    shared.lock().exception = Some(err.clone());
                    let note = Some(err.message.clone());
                    return stop(&shared, vm, "exception", note, Vec::new());
                }
                return finish(&shared, vm, Err(err));
            }
        }
    }
}

/// The thread stopped: it goes back into the session, then the client hears it.
fn stop(shared: &Shared, mut vm: Debuggee, reason: &str, text: Option<String>, ids: Vec<i64>) {
    if let Some(why) = vm.take_home_note() {
        // Its node failed or stopped during the run: it went on here.
        shared.send(output("console", &format!("{why}\n")));
        migrated(shared, &vm, None);
    }
    {
        let mut session = shared.lock();
        session.pause = vm.pause();
        session.node = vm.node().map(str::to_string);
        session.thread = Some(vm);
        session.state = RunState::Stopped;
        session.handles.clear();
        if session.breakpoints_changed {
            session.apply_breakpoints();
        }
    }
    let mut body = json!({
        "reason": reason,
        "threadId": THREAD_ID,
        "allThreadsStopped": true,
    });
    if let Some(text) = text {
        body["text"] = Json::from(text.clone());
        body["description"] = Json::from(text);
    }
    if !ids.is_empty() {
        body["hitBreakpointIds"] = json!(ids);
    }
    shared.send(event("stopped", body));
}

/// Tells the client the thread moved: an output line, the `chunkvm/migrated` event,
/// and the threads and stacks to read again. `moved` none: it came home by itself
/// (its node failed or stopped).
pub fn migrated(shared: &Shared, thread: &Debuggee, moved: Option<&crate::debuggee::Moved>) {
    let to = thread.node().unwrap_or("local").to_string();
    let body = match moved {
        Some(moved) => json!({
            "threadId": THREAD_ID,
            "from": moved.from,
            "to": moved.to,
            "chunks": moved.chunks,
            "bytes": moved.bytes,
            "ms": moved.ms,
        }),
        None => {
            json!({ "threadId": THREAD_ID, "from": null, "to": to, "chunks": 0, "bytes": 0, "ms": 0 })
        }
    };
    shared.send(event("chunkvm/migrated", body));
    shared.send(event(
        "invalidated",
        json!({ "areas": ["threads", "stacks", "variables"], "threadId": THREAD_ID }),
    ));
}

/// The error of a run ended from outside (terminate, disconnect, restart).
fn cancelled() -> RuntimeError {
    RuntimeError {
        kind: ErrorKind::Cancelled,
        message: "the run was ended".to_string(),
        span: Span::default(),
        trace: Vec::new(),
    }
}

/// A runtime error for people: `path:line:col: runtime error: message`, then the stack.
pub fn describe_error(program: &Program, err: &RuntimeError) -> String {
    let (line, col) = program.position(err.span);
    let mut text = format!(
        "{}:{line}:{col}: runtime error: {}\n",
        program.path.display(),
        err.message
    );
    for (name, span) in &err.trace {
        let (line, col) = program.position(*span);
        text.push_str(&format!(
            "  at {name} ({}:{line}:{col})\n",
            program.path.display()
        ));
    }
    text
}

/// The program ended: what it made, then `exited` and `terminated`.
fn finish(shared: &Shared, vm: Debuggee, outcome: Result<Value, RuntimeError>) {
    {
        let mut session = shared.lock();
        if session.restarting {
            // A restart stopped this run: the client hears of the new one only.
            session.state = RunState::Terminated;
            session.thread = None;
            return;
        }
    }
    let vm = vm.into_vm();
    if let Some((_, seq)) = shared.lock().pending_move.take() {
        let reply: crate::protocol::Reply = Err(crate::protocol::DapError::user(
            "the program ended before the thread reached a safe point to move at",
        ));
        shared.send(crate::protocol::response(seq, "migrate", &reply));
    }
    let (messages, code) = {
        let mut session = shared.lock();
        session.state = RunState::Terminated;
        session.thread = None;
        match (session.program.as_ref(), vm.as_ref()) {
            (Some(program), Some(vm)) => outcome_messages(program, vm, outcome),
            _ => (Vec::new(), 0),
        }
    };
    drop(vm);
    for (category, text) in messages {
        shared.send(output(category, &text));
    }
    shared.send(event("exited", json!({ "exitCode": code })));
    shared.send(event("terminated", json!({})));
}

fn outcome_messages(
    program: &Program,
    vm: &Vm,
    outcome: Result<Value, RuntimeError>,
) -> (Vec<(&'static str, String)>, i64) {
    match outcome {
        Err(err) if err.kind == ErrorKind::Cancelled => (Vec::new(), 1),
        Err(err) => (vec![("stderr", describe_error(program, &err))], 1),
        Ok(value) => match &program.photo_output {
            Some(output) => match chunkvm::photo::finish(vm, &value) {
                Ok(image) => match output {
                    Some(path) => match save(&image, path) {
                        Ok(()) => (
                            vec![(
                                "console",
                                format!(
                                    "wrote {} ({}x{})\n",
                                    path.display(),
                                    image.width,
                                    image.height
                                ),
                            )],
                            0,
                        ),
                        Err(err) => (vec![("stderr", format!("{err}\n"))], 1),
                    },
                    None => (
                        vec![(
                            "console",
                            format!(
                                "made a {}x{} image (no `output` to write it to)\n",
                                image.width, image.height
                            ),
                        )],
                        0,
                    ),
                },
                Err(err) => (vec![("stderr", format!("the run's image: {err}\n"))], 1),
            },
            None if program.show_result && value != Value::Unit => {
                (vec![("console", format!("{value}\n"))], 0)
            }
            None => (Vec::new(), 0),
        },
    }
}

fn save(image: &Rgba8, path: &std::path::Path) -> Result<(), String> {
    let format = ImageFormat::from_path(path, None).map_err(|err| err.to_string())?;
    image.save(path, format).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_conditions() {
        assert_eq!(hit_matches("3", 3), Ok(true));
        assert_eq!(hit_matches("3", 2), Ok(false));
        assert_eq!(hit_matches(">= 2", 5), Ok(true));
        assert_eq!(hit_matches("% 2", 4), Ok(true));
        assert_eq!(hit_matches("% 2", 3), Ok(false));
        assert!(hit_matches("often", 1).is_err());
    }

    #[test]
    fn handles_are_stable() {
        let mut handles = Handles::default();
        let a = handles.handle("locals 0".into(), || Container::Locals(0));
        let b = handles.handle("params".into(), || Container::Params);
        assert_eq!(handles.handle("locals 0".into(), || Container::Params), a);
        assert_ne!(a, b);
        assert!(matches!(handles.get(a), Some((_, Container::Locals(0)))));
        handles.clear();
        assert!(handles.get(a).is_none());
    }
}
