//! The run thread: a continue or a step moves a stopped thread's VM here
//! ([`resume`]), which runs it (or, in bands, all the bands in turn, a slice of
//! instructions each), checks breakpoints, conditions, hit counts and logpoints at
//! each stop, and gives the VM back to the [`Session`] when it stops, or reports
//! the outcome and drops it when the program ends.

use crate::debuggee::{Debuggee, Ran};
use crate::eval;
use crate::protocol::{event, output};
use crate::session::{names, Band, Breakpoint, Program, RunState, Session, Shared, THREAD_ID};
use crate::transport::Outbox;
use chunkvm::exec::{ErrorKind, RuntimeError, StepKind, Stop, Value, Vm};
use chunkvm::photo::{ImageFormat, Rgba8};
use chunkvm::syntax::span::Span;
use serde_json::{json, Value as Json};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

/// Instructions a band runs before the next band's turn (then it stops at a safe point).
const SLICE: u64 = 1 << 14;
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
}
