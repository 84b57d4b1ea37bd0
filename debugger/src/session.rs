//! The session's state in one place: the program and its VM, the breakpoints, the
//! variable handles, and the run thread that runs the VM while the reader stays
//! responsive.
//!
//! The VM is in the session while the thread is stopped; a continue or a step moves it
//! to a run thread of its own ([`crate::run`]), which gives it back when the thread stops again (a
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

use crate::debuggee::{Debuggee, Pause};
use crate::transport::Outbox;
use chunkvm::exec::{RuntimeError, Value, Vm};
use chunkvm::syntax::span::{LineIndex, Span};
use chunkvm_node::Client;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

/// The id of a one-thread run's thread (and of the first band of a run in bands).
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

#[cfg(test)]
mod tests {
    use super::*;

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
