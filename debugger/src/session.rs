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
//!
//! A filter or pipeline launched with `threads` above 1 runs in bands of rows
//! ([`chunkvm::photo::Bands`]): each band is a thread of the session (a [`Band`]), the
//! bands of a stage start when the last stage's have all finished. The run thread runs
//! them in turn, a slice of instructions each, so that when one stops (a breakpoint, a
//! step's end, an error, a pause) the others are already stopped at a safe point: the
//! session is all-stop. `continue` runs them all again; a step runs the one thread.

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

/// The id of a one-thread run's thread (and of the first band of a run in bands).
pub const THREAD_ID: i64 = 1;

/// Instructions a band runs before the next band's turn (then it stops at a safe point).
const SLICE: u64 = 1 << 14;

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

/// One file of the program: the main file, or a file it uses.
#[derive(Clone, Debug)]
pub struct ProgramFile {
    /// Its path (made absolute when it exists).
    pub path: PathBuf,
    /// Where its text starts in the program's text (its spans' base).
    pub base: usize,
    /// The length of its text.
    pub len: usize,
    /// The line of the program's text its first line is.
    pub first_line: u32,
    /// How many lines it has.
    pub line_count: u32,
}

/// The program being debugged.
pub struct Program {
    /// Its main file.
    pub path: PathBuf,
    /// Its text: for a program of several files, every file's text at its base
    /// (`\n` between them), so that the linked program's spans and lines index it.
    /// The VM's lines (its breakpoints, its frames' lines) are lines of this text.
    pub text: String,
    /// Lines of the text.
    pub lines: LineIndex,
    /// Its files, the main one first (one for a program that uses none).
    pub files: Vec<ProgramFile>,
    /// The lines that have code (of [`Program::text`]), sorted.
    pub code_lines: Vec<u32>,
    /// The program's params as declared (type, range; a used file's named `NS.name`),
    /// to read values written for them.
    pub params: Vec<chunkvm::check::ParamDecl>,
    /// Each function and filter (closures aside; a used file's named `NS.name`) and its
    /// first line with code (of [`Program::text`]).
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
    /// The first line with code at or after line `line` of file `file` (a line of the
    /// program's text), in that file.
    pub fn code_line_at(&self, file: usize, line: u32) -> Option<u32> {
        let f = self.files.get(file)?;
        let global = f.first_line + line.max(1) - 1;
        let end = f.first_line + f.line_count;
        self.code_lines
            .iter()
            .copied()
            .find(|code| *code >= global)
            .filter(|code| *code < end)
    }

    /// The file a span of the program is in.
    pub fn file_at(&self, offset: usize) -> usize {
        self.files
            .iter()
            .rposition(|file| offset >= file.base && offset <= file.base + file.len)
            .unwrap_or(0)
    }

    /// The file a line of the program's text is in, and the line there.
    pub fn local_line(&self, line: u32) -> (usize, u32) {
        let file = self
            .files
            .iter()
            .rposition(|file| line >= file.first_line)
            .unwrap_or(0);
        let first = self.files.get(file).map_or(1, |f| f.first_line);
        (file, line.saturating_sub(first) + 1)
    }

    /// The file whose path is `path` (compared as the file system resolves them).
    pub fn file_named(&self, path: &std::path::Path) -> Option<usize> {
        let canonical =
            |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let asked = canonical(path);
        self.files
            .iter()
            .position(|file| canonical(&file.path) == asked)
    }

    /// `(line, column)` of a span's start in its own file, both 1-based.
    pub fn position(&self, span: Span) -> (u32, u32) {
        let pos = self
            .lines
            .line_col(&self.text, span.start.min(self.text.len()));
        let (_, line) = self.local_line(pos.line);
        (line, pos.col)
    }

    /// The path of the file a span is in.
    pub fn path_at(&self, span: Span) -> &std::path::Path {
        self.files
            .get(self.file_at(span.start))
            .map_or(self.path.as_path(), |file| file.path.as_path())
    }

    /// `path:line:col` of a span's start.
    pub fn place(&self, span: Span) -> String {
        let (line, col) = self.position(span);
        format!("{}:{line}:{col}", self.path_at(span).display())
    }

    /// The DAP source of file `file`.
    pub fn source_of(&self, file: usize) -> Json {
        let path = self
            .files
            .get(file)
            .map_or(self.path.as_path(), |file| file.path.as_path());
        json!({
            "name": path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            "path": path.display().to_string(),
        })
    }

    /// The DAP source of the file a span is in.
    pub fn source_at(&self, span: Span) -> Json {
        self.source_of(self.file_at(span.start))
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
    /// The parameters and locals of a thread's frame `n` (0: innermost).
    Locals(i64, usize),
    /// The `param` values as a thread sees them: the main file's, then one group per
    /// used file that has params.
    Params(i64),
    /// The `param` values of one used file (its namespace: `vignette`), by the names
    /// that file writes.
    ParamsOf(i64, String),
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

/// One thread of the session: the thread of a one-thread run, or a band of a stage.
pub struct Band {
    /// Its id (for the client; never given twice in a session).
    pub id: i64,
    /// A band's name: its stage's filter and its rows (`box_blur rows 0–255`).
    pub label: Option<String>,
    /// A band's place in its stage, top to bottom.
    pub slot: usize,
    /// The thread while the session is stopped (on the run thread while it runs).
    pub thread: Option<Debuggee>,
}

/// A run in bands: the split run and the bands of the stage that finished.
pub struct BandRun {
    /// The run split in bands (its VM holds the photo and each stage's output).
    pub split: chunkvm::photo::Bands,
    /// The stages' filter names.
    pub stage_names: Vec<String>,
    /// What each band's thread needs (source, output, cancel).
    pub setup: crate::debuggee::Setup,
    /// The bands of the current stage that finished, by slot: their thread and value.
    pub done: Vec<Option<(Vm, Value)>>,
}

impl BandRun {
    /// Starts the current stage's bands: their threads, set up, with `stops`, ready to
    /// look at their first instruction; each with its slot and name.
    pub fn start_stage(&mut self, stops: &Stops) -> Result<Vec<(usize, String, Debuggee)>, String> {
        let name = self
            .stage_names
            .get(self.split.stage())
            .cloned()
            .unwrap_or_default();
        let rows = self.split.rows().to_vec();
        let vms = self.split.start_stage().map_err(|err| err.to_string())?;
        self.done = (0..vms.len()).map(|_| None).collect();
        let mut out = Vec::new();
        for (slot, (mut vm, (y0, y1))) in vms.into_iter().zip(rows).enumerate() {
            self.setup.settle(&mut vm);
            vm.check_first_instruction();
            let mut thread = Debuggee::here(vm, self.setup.clone());
            if let Err(err) = thread.set_breakpoints(stops) {
                return Err(err.to_string());
            }
            let label = format!("{name} rows {y0}\u{2013}{}", y1.saturating_sub(1));
            out.push((slot, label, thread));
        }
        Ok(out)
    }
}

/// The session.
#[derive(Default)]
pub struct Session {
    /// The program, once launched.
    pub program: Option<Program>,
    /// The live threads (their VMs in them while stopped), in the order they started.
    pub threads: Vec<Band>,
    /// A run in bands (none for a one-thread run).
    pub bands: Option<BandRun>,
    /// The thread that stopped last (the one `evaluate` without a frame reads).
    pub focus: i64,
    /// The last thread id given.
    pub last_thread: i64,
    /// Where the threads are.
    pub state: RunState,
    /// How to pause the threads (kept here: they may be on the run thread).
    pub pauses: Vec<Pause>,
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
    /// The runtime error a thread stopped on.
    pub exception: Option<RuntimeError>,
    /// The thread that stopped on [`Session::exception`].
    pub exception_thread: i64,
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

    /// Gives the threads the breakpoints now set (now, or at the run thread's next stop).
    pub fn apply_breakpoints(&mut self) {
        let stops = self.stops();
        if self.state == RunState::Running {
            self.breakpoints_changed = true;
            self.pause_all();
            return;
        }
        for band in &mut self.threads {
            if let Some(thread) = band.thread.as_mut() {
                if let Err(err) = thread.set_breakpoints(&stops) {
                    eprintln!("chop-dap: setting the breakpoints: {err}");
                }
            }
        }
        self.breakpoints_changed = false;
    }

    /// Asks every running thread to stop at its next safe point.
    pub fn pause_all(&self) {
        for pause in &self.pauses {
            pause.pause();
        }
    }

    /// Whether `id` is a live thread of the session.
    pub fn has_thread(&self, id: i64) -> bool {
        self.threads.iter().any(|band| band.id == id)
    }

    /// An error for a thread id that names no live thread.
    pub fn no_thread(&self, id: i64) -> crate::protocol::DapError {
        let ids: Vec<String> = self.threads.iter().map(|b| b.id.to_string()).collect();
        crate::protocol::DapError::user(format!(
            "no thread {id} (the session has {})",
            if ids.is_empty() {
                "no thread".to_string()
            } else {
                format!("thread {}", ids.join(", "))
            }
        ))
    }

    /// Checks that `id` names a live thread (refused while nothing runs).
    pub fn check_thread(&self, id: i64) -> Result<(), crate::protocol::DapError> {
        use crate::protocol::DapError;
        match self.state {
            RunState::NotLaunched => Err(DapError::user("no program was launched")),
            RunState::Terminated => Err(DapError::user("the program has ended")),
            _ if self.has_thread(id) => Ok(()),
            _ => Err(self.no_thread(id)),
        }
    }

    /// Stopped thread `id`, or why there is none.
    pub fn stopped(&mut self, id: i64) -> Result<&mut Debuggee, crate::protocol::DapError> {
        use crate::protocol::DapError;
        match self.state {
            RunState::Stopped => {}
            RunState::Running => {
                return Err(DapError::user(
                    "the thread is running: pause it to see its state",
                ))
            }
            RunState::NotLaunched => return Err(DapError::user("no program was launched")),
            RunState::Terminated => return Err(DapError::user("the program has ended")),
        }
        let err = self.no_thread(id);
        let band = self
            .threads
            .iter_mut()
            .find(|band| band.id == id)
            .ok_or(err)?;
        band.thread
            .as_mut()
            .ok_or_else(|| DapError::internal("a stopped session without its thread"))
    }

    /// The one thread of a one-thread run (or the first band), stopped.
    pub fn first_stopped(&mut self) -> Result<&mut Debuggee, crate::protocol::DapError> {
        let id = self.threads.first().map_or(THREAD_ID, |band| band.id);
        self.stopped(id)
    }

    /// Thread `id`'s name as the client shows it: what runs (a band: its filter and
    /// rows), and where.
    pub fn thread_name(&self, id: i64) -> Option<String> {
        let program = self.program.as_ref()?;
        let band = self.threads.iter().find(|band| band.id == id)?;
        if let Some(label) = &band.label {
            return Some(label.clone());
        }
        let node = match &band.thread {
            Some(thread) => thread.node(),
            None => self.node.as_deref(),
        };
        Some(match node {
            Some(node) => format!("{} @ {node}", program.name),
            None => program.name.clone(),
        })
    }

    /// A fresh thread id.
    pub fn new_thread_id(&mut self) -> i64 {
        self.last_thread += 1;
        self.last_thread
    }

    /// Makes `thread` the session's one thread (a one-thread run), stopped.
    pub fn install_one(&mut self, thread: Debuggee) {
        self.pauses = thread.pause().into_iter().collect();
        self.threads = vec![Band {
            id: THREAD_ID,
            label: None,
            slot: 0,
            thread: Some(thread),
        }];
        self.last_thread = THREAD_ID;
        self.focus = THREAD_ID;
        self.bands = None;
    }
}

/// The names an expression may use in frame `frame`: its locals and parameters, then
/// (in a used file's function) that file's params unqualified, then every param of the
/// program by its name there (`count`, `vignette.strength`).
pub fn names(
    thread: &mut Debuggee,
    frame: usize,
) -> Result<Vec<(String, Value)>, crate::protocol::DapError> {
    let mut out: Vec<(String, Value)> = thread
        .locals(frame)?
        .into_iter()
        .map(|var| (var.name, var.value))
        .collect();
    let params = thread.params()?;
    // In a used file's function (`vignette.vignette`), that file's params by the names
    // it writes (`strength` for `vignette.strength`) come before the main file's.
    let function = thread
        .stack()?
        .get(frame)
        .map(|info| info.function.clone())
        .unwrap_or_default();
    if let Some((space, _)) = function.split_once('.') {
        let prefix = format!("{space}.");
        out.extend(params.iter().filter_map(|var| {
            let name = var.name.strip_prefix(&prefix)?;
            Some((name.to_string(), var.value.clone()))
        }));
    }
    out.extend(params.into_iter().map(|var| (var.name, var.value)));
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
/// In a run in bands, `focus` is the thread a step moves (a `continue` runs them all,
/// starting after it).
pub fn resume(
    shared: &Arc<Shared>,
    action: Action,
    focus: i64,
) -> Result<(), crate::protocol::DapError> {
    use crate::protocol::DapError;
    let mut session = shared.lock();
    match session.state {
        RunState::Stopped => {}
        RunState::Running => return Err(DapError::user("the thread is already running")),
        RunState::NotLaunched => return Err(DapError::user("no program was launched")),
        RunState::Terminated => return Err(DapError::user("the program has ended")),
    }
    if session.bands.is_some() {
        return resume_bands(shared, session, action, focus);
    }
    let Some(mut vm) = session
        .threads
        .first_mut()
        .and_then(|band| band.thread.take())
    else {
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
    session.pauses = vm.pause().into_iter().collect();
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
    drop(session);
    shared.send(event(
        "continued",
        json!({ "threadId": THREAD_ID, "allThreadsContinued": true }),
    ));
    spawn_run(shared, move |shared| run_thread(shared, vm, action, entry))
}

/// Starts the run thread.
fn spawn_run(
    shared: &Arc<Shared>,
    run: impl FnOnce(Arc<Shared>) + Send + 'static,
) -> Result<(), crate::protocol::DapError> {
    let thread_shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("chop-dap run".into())
        .spawn(move || run(thread_shared));
    if let Err(err) = spawned {
        let mut session = shared.lock();
        session.state = RunState::Terminated;
        return Err(crate::protocol::DapError::internal(format!(
            "cannot start the run thread: {err}"
        )));
    }
    Ok(())
}

/// [`resume`] for a run in bands: every band's thread goes to the run thread.
fn resume_bands(
    shared: &Arc<Shared>,
    mut session: MutexGuard<'_, Session>,
    action: Action,
    focus: i64,
) -> Result<(), crate::protocol::DapError> {
    use crate::protocol::DapError;
    if !session.has_thread(focus) {
        return Err(session.no_thread(focus));
    }
    let stops = session.stops();
    let mut threads = Vec::new();
    for band in &mut session.threads {
        let Some(mut thread) = band.thread.take() else {
            return Err(DapError::internal("a stopped band without its thread"));
        };
        if let Err(err) = thread.set_breakpoints(&stops) {
            shared.send(output("console", &format!("{err}\n")));
        }
        thread.clear_pause();
        threads.push((band.id, thread));
    }
    session.pauses = threads.iter().filter_map(|(_, t)| t.pause()).collect();
    session.breakpoints_changed = false;
    shared.user_pause.store(false, Ordering::Relaxed);
    session.state = RunState::Running;
    session.handles.clear();
    session.exception = None;
    drop(session);
    // A step moves its thread only: the others stay where they stopped.
    let all = action == Action::Continue;
    shared.send(event(
        "continued",
        json!({ "threadId": focus, "allThreadsContinued": all }),
    ));
    spawn_run(shared, move |shared| {
        run_bands(shared, threads, focus, action)
    })
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
                if stops_on_exception(&shared, &mut vm, &err, THREAD_ID) {
                    let note = Some(err.message.clone());
                    return stop(&shared, vm, "exception", note, Vec::new());
                }
                return finish(&shared, vm, Err(err));
            }
        }
    }
}

/// Runs the threads of a run in bands (see the module documentation): a step moves
/// `focus` only; a continue runs each a slice at a time, starting after `focus`. When
/// one stops, all are stopped.
fn run_bands(shared: Arc<Shared>, mut threads: Running, focus: i64, action: Action) {
    let stepping = matches!(action, Action::Step(_));
    let Some(mut at) = threads.iter().position(|(id, _)| *id == focus) else {
        return stop_all(&shared, threads, focus, "pause", None, Vec::new());
    };
    // A continue starts with the next thread (so that a breakpoint hit in every
    // pixel goes round the bands), or with a thread that failed (which ends the run).
    if !stepping && !threads[at].1.failed() {
        at += 1;
    }
    loop {
        if threads.is_empty() {
            return finish_bands(&shared, threads, Err(internal("no band left to run")));
        }
        at %= threads.len();
        let id = threads[at].0;
        let vm = &mut threads[at].1;
        let ran = match action {
            Action::Step(kind) => {
                vm.slice(None);
                vm.resume(Some(kind))
            }
            Action::Continue => {
                vm.slice(Some(SLICE));
                let ran = vm.resume(None);
                vm.slice(None);
                ran
            }
        };
        let result = match ran {
            Ran::Vm(result) => result,
            Ran::Home(why) | Ran::Refused(why) => {
                return stop_all(&shared, threads, id, "pause", Some(why), Vec::new());
            }
        };
        match result {
            Ok(Stop::Breakpoint) => match check_breakpoint(&shared, &mut threads[at].1) {
                Hit::Stop(reason, ids, note) => {
                    return stop_all(&shared, threads, id, reason, note, ids);
                }
                Hit::Go if stepping => {
                    return stop_all(&shared, threads, id, "step", None, Vec::new());
                }
                Hit::Go => {}
            },
            Ok(Stop::Step) => return stop_all(&shared, threads, id, "step", None, Vec::new()),
            Ok(Stop::Paused) => {
                for (_, thread) in &threads {
                    thread.clear_pause();
                }
                let changed = {
                    let mut session = shared.lock();
                    let changed = session.breakpoints_changed.then(|| session.stops());
                    session.breakpoints_changed = false;
                    changed
                };
                if let Some(stops) = changed {
                    for (_, thread) in &mut threads {
                        if let Err(err) = thread.set_breakpoints(&stops) {
                            shared.send(output("console", &format!("{err}\n")));
                        }
                    }
                }
                if shared.lock().cancel.load(Ordering::Relaxed) {
                    return finish_bands(&shared, threads, Err(cancelled()));
                }
                if shared.user_pause.swap(false, Ordering::Relaxed) {
                    return stop_all(&shared, threads, id, "pause", None, Vec::new());
                }
                if stepping {
                    return stop_all(&shared, threads, id, "step", None, Vec::new());
                }
            }
            // A step runs without slices: a safe point stop ends it where it is.
            Ok(Stop::SafePoint) if stepping => {
                return stop_all(&shared, threads, id, "step", None, Vec::new());
            }
            Ok(Stop::SafePoint) => at += 1,
            Ok(Stop::Finished(value)) => {
                let (id, thread) = threads.remove(at);
                match band_done(&shared, id, thread, value, &mut threads) {
                    Done::Going => {}
                    Done::Finished(value) => return finish_bands(&shared, threads, Ok(value)),
                    Done::Failed(why) => {
                        return finish_bands(&shared, threads, Err(internal(&why)))
                    }
                }
                if stepping {
                    // The thread stepped off its band's end: the others stay stopped.
                    let next = threads
                        .get(at % threads.len().max(1))
                        .map_or(id, |(next, _)| *next);
                    let note = format!("thread {id} finished its band");
                    return stop_all(&shared, threads, next, "step", Some(note), Vec::new());
                }
            }
            Err(err) => {
                let vm = &mut threads[at].1;
                if stops_on_exception(&shared, vm, &err, id) {
                    let note = Some(err.message.clone());
                    return stop_all(&shared, threads, id, "exception", note, Vec::new());
                }
                return finish_bands(&shared, threads, Err(err));
            }
        }
    }
}

/// How a band's end leaves the run.
enum Done {
    /// Other bands go on (of this stage, or the next one's, started).
    Going,
    /// It was the last band of the last stage: the run's result.
    Finished(Value),
    /// The stage's output could not be made (the text says why).
    Failed(String),
}

/// Band `id` finished with `value`: its thread exits; after the last band of a stage,
/// the stage's output is made and the next stage's bands start (added to `threads`).
fn band_done(
    shared: &Shared,
    id: i64,
    thread: Debuggee,
    value: Value,
    threads: &mut Running,
) -> Done {
    let mut session = shared.lock();
    let slot = match session.threads.iter().position(|band| band.id == id) {
        Some(pos) => session.threads.remove(pos).slot,
        None => return Done::Failed(format!("thread {id} is not a band of the run")),
    };
    shared.send(event(
        "thread",
        json!({ "reason": "exited", "threadId": id }),
    ));
    let Some(vm) = thread.into_vm() else {
        return Done::Failed(format!("thread {id} finished without its VM"));
    };
    let stops = session.stops();
    let Some(run) = session.bands.as_mut() else {
        return Done::Failed("a band without its run".into());
    };
    if let Some(place) = run.done.get_mut(slot) {
        *place = Some((vm, value));
    }
    if run.done.iter().any(Option::is_none) {
        return Done::Going;
    }
    let done: Vec<(Vm, Value)> = run.done.drain(..).flatten().collect();
    match run.split.end_stage(done) {
        Ok(Some(value)) => Done::Finished(value),
        Ok(None) => match run.start_stage(&stops) {
            Ok(started) => {
                for (slot, label, thread) in started {
                    let id = session.new_thread_id();
                    session.pauses.extend(thread.pause());
                    session.threads.push(Band {
                        id,
                        label: Some(label),
                        slot,
                        thread: None,
                    });
                    shared.send(event(
                        "thread",
                        json!({ "reason": "started", "threadId": id }),
                    ));
                    threads.push((id, thread));
                }
                Done::Going
            }
            Err(why) => Done::Failed(format!("starting the next stage: {why}")),
        },
        Err(err) => Done::Failed(format!("the stage's output: {err}")),
    }
}

/// A run in bands ended: the threads left exit, then what the run made, `exited` and
/// `terminated`.
fn finish_bands(shared: &Shared, threads: Running, outcome: Result<Value, RuntimeError>) {
    drop(threads);
    let mut session = shared.lock();
    let run = session.bands.take();
    let left: Vec<i64> = session.threads.drain(..).map(|band| band.id).collect();
    session.state = RunState::Terminated;
    if session.restarting {
        // A restart stopped this run: the client hears of the new one only.
        return;
    }
    let (messages, code) = match (session.program.as_ref(), run.as_ref()) {
        (Some(program), Some(run)) => outcome_messages(program, run.split.vm(), outcome),
        _ => (Vec::new(), 1),
    };
    drop(session);
    for id in left {
        shared.send(event(
            "thread",
            json!({ "reason": "exited", "threadId": id }),
        ));
    }
    for (category, text) in messages {
        shared.send(output(category, &text));
    }
    shared.send(event("exited", json!({ "exitCode": code })));
    shared.send(event("terminated", json!({})));
}

/// An error of the adapter's own that ends a run.
fn internal(why: &str) -> RuntimeError {
    RuntimeError {
        kind: ErrorKind::default(),
        message: format!("internal error in chop-dap: {why}"),
        span: Span::default(),
        trace: Vec::new(),
    }
}

/// The thread stopped: it goes back into the session, then the client hears it.
fn stop(shared: &Shared, mut vm: Debuggee, reason: &str, text: Option<String>, ids: Vec<i64>) {
    if let Some(why) = vm.take_home_note() {
        // Its node failed or stopped during the run: it went on here.
        shared.send(output("console", &format!("{why}\n")));
        migrated(shared, &vm, None);
    }
    shared.lock().node = vm.node().map(str::to_string);
    stop_all(shared, vec![(THREAD_ID, vm)], THREAD_ID, reason, text, ids);
}

/// The threads of a run on the run thread, by id, in the order they run.
type Running = Vec<(i64, Debuggee)>;

/// Every thread stopped: they go back into the session, then the client hears that
/// `focus` stopped (and all the others with it).
fn stop_all(
    shared: &Shared,
    threads: Running,
    focus: i64,
    reason: &str,
    text: Option<String>,
    ids: Vec<i64>,
) {
    {
        let mut session = shared.lock();
        let mut pauses = Vec::new();
        for (id, thread) in threads {
            pauses.extend(thread.pause());
            if let Some(band) = session.threads.iter_mut().find(|band| band.id == id) {
                band.thread = Some(thread);
            }
        }
        session.pauses = pauses;
        session.focus = focus;
        session.state = RunState::Stopped;
        session.handles.clear();
        if session.breakpoints_changed {
            session.apply_breakpoints();
        }
    }
    let mut body = json!({
        "reason": reason,
        "threadId": focus,
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
    let mut text = format!(
        "{}: runtime error: {}\n",
        program.place(err.span),
        err.message
    );
    for (name, span) in &err.trace {
        text.push_str(&format!("  at {name} ({})\n", program.place(*span)));
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
            session.threads.clear();
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
        session.threads.clear();
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

/// Whether the runtime error `err` of thread `id` (its VM `vm`) stops the session as
/// an exception: errors stop when the client asked for it, the thread kept its frames,
/// and the same error did not stop it just before (continuing past it ends the run).
/// When it stops, the session keeps the error for `exceptionInfo`.
fn stops_on_exception(
    shared: &Arc<Shared>,
    vm: &mut Debuggee,
    err: &RuntimeError,
    id: i64,
) -> bool {
    let stop_here = shared.lock().stop_on_errors
        && err.kind != ErrorKind::Cancelled
        && vm.failed()
        && vm.stack().is_ok_and(|stack| !stack.is_empty());
    let key = (err.message.clone(), err.span.start);
    let seen = shared.lock().exception_seen.replace(key.clone());
    if !stop_here || seen.as_ref() == Some(&key) {
        return false;
    }
    let mut session = shared.lock();
    session.exception = Some(err.clone());
    session.exception_thread = id;
    true
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
        let a = handles.handle("locals 1 0".into(), || Container::Locals(1, 0));
        let b = handles.handle("params 1".into(), || Container::Params(1));
        assert_eq!(
            handles.handle("locals 1 0".into(), || Container::Params(1)),
            a
        );
        assert_ne!(a, b);
        assert!(matches!(handles.get(a), Some((_, Container::Locals(1, 0)))));
        handles.clear();
        assert!(handles.get(a).is_none());
    }
}
