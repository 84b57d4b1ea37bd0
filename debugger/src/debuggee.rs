//! The debugged thread, wherever it runs: here (a [`Vm`] of this process) or on a
//! `chunkvm` node (a [`RemoteThread`], asked over the node protocol). Every request
//! reads the thread through [`Debuggee`], so stepping, the stack, variables, evaluate
//! and setVariable work the same on both sides of a migration.
//!
//! A remote thread's answers are kept for the stop they were read at (a `scopes` and
//! its `variables` ask the node once); running or changing the thread forgets them.
//! When the node fails under a held thread, the thread comes back here as it was
//! when it left (the client's copy, which the node protocol keeps until the node
//! hands the thread back), and the request that met the failure says so.

use crate::protocol::DapError;
use crate::run::OutputSink;
use crate::session::Stops;
use crate::transport::Outbox;
use chunkvm::chunk::{ChunkId, SLOTS};
use chunkvm::exec::{FrameInfo, RuntimeError, StepKind, Stop, Value, Variable, Vm};
use chunkvm_node::debug::{ChunkInfo, OnLine, RemoteStop, Residence};
use chunkvm_node::{Client, DebugError, MigrateReport, Pauser, Prefetch, RemoteThread, Resumed};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::runtime::Runtime;

/// What a thread that comes home needs again: its source (for lines), where it prints,
/// its cancel flag.
#[derive(Clone)]
pub struct Setup {
    /// The program's text.
    pub source: Arc<str>,
    /// The client's outbox (printed lines become output events).
    pub out: Arc<Outbox>,
    /// The session's cancel flag.
    pub cancel: Arc<AtomicBool>,
}

impl Setup {
    /// Makes `vm` a debugged thread: lines, output, kept frames on errors, cancel.
    pub fn settle(&self, vm: &mut Vm) {
        vm.set_source(&self.source);
        vm.set_output(Box::new(OutputSink::new(self.out.clone())));
        vm.keep_frames_on_error(true);
        vm.set_cancel(self.cancel.clone());
    }

    /// Where a remote thread's lines go: an output event each.
    pub fn on_line(&self) -> OnLine {
        let out = self.out.clone();
        Box::new(move |line| out.send(crate::protocol::output("stdout", &format!("{line}\n"))))
    }
}

/// A thread on a node.
struct Remote {
    thread: RemoteThread,
    /// The node's address as the user gave it.
    address: String,
    runtime: Arc<Runtime>,
    instructions: u64,
    failed: bool,
    /// Attached to (`attach`): the thread is its owner's; the copy here is only its
    /// program, so a lost node takes the thread out of the session.
    attached: bool,
    /// Answers read at this stop.
    stack: Option<Vec<FrameInfo>>,
    locals: BTreeMap<usize, Vec<Variable>>,
    params: Option<Vec<Variable>>,
}

impl Remote {
    fn forget(&mut self) {
        self.stack = None;
        self.locals.clear();
        self.params = None;
    }
}

/// How to pause the thread while it runs.
#[derive(Clone)]
pub enum Pause {
    /// The VM's pause flag.
    Flag(Arc<AtomicBool>),
    /// A `DebugPause` to the node that holds it.
    Remote(Pauser, Arc<Runtime>),
}

impl Pause {
    /// Asks for a stop at the next safe point (it does not wait).
    pub fn pause(&self) {
        match self {
            Pause::Flag(flag) => flag.store(true, Ordering::Relaxed),
            Pause::Remote(pauser, runtime) => {
                let pauser = pauser.clone();
                runtime.spawn(async move {
                    if let Err(err) = pauser.pause().await {
                        eprintln!("chop-dap: pausing the thread on its node: {err}");
                    }
                });
            }
        }
    }
}

/// How a run or step of the thread ended.
pub enum Ran {
    /// As a VM's run ends.
    Vm(Result<Stop, RuntimeError>),
    /// The node lost the thread or handed it back: it is here again; the text says
    /// what happened.
    Home(String),
    /// The node refused to run it (the thread stays there, stopped); the text says why.
    Refused(String),
}

/// What a migration moved.
pub struct Moved {
    /// Where from (`local` or the node's name).
    pub from: String,
    /// Where to.
    pub to: String,
    /// Chunks that crossed (sent ahead, fetched, handed back).
    pub chunks: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Milliseconds the move took.
    pub ms: f64,
}

/// One chunk of the thread and where it is, for the `chunks` request.
pub struct ChunkRow {
    /// Its id.
    pub id: ChunkId,
    /// Its kind.
    pub kind: String,
    /// Slots in use.
    pub slots_used: usize,
    /// Its links.
    pub links: Vec<ChunkId>,
    /// `here`, `remote`, `fetched` or `prefetched`.
    pub residence: &'static str,
}

/// The debugged thread (see the module documentation).
pub struct Debuggee {
    here: Option<Box<Vm>>,
    there: Option<Box<Remote>>,
    setup: Setup,
    /// Why the thread came home by itself, not yet told to the client.
    home_note: Option<String>,
    /// The breakpoints the thread has now (where it runs).
    applied: Option<Stops>,
    /// Why an attached thread left the session (its node was lost).
    gone: Option<String>,
}

impl Debuggee {
    /// A thread of this process.
    pub fn here(vm: Vm, setup: Setup) -> Debuggee {
        Debuggee {
            here: Some(Box::new(vm)),
            there: None,
            setup,
            home_note: None,
            applied: None,
            gone: None,
        }
    }

    /// A thread on a node that this session attached to (`attach`): the node holds
    /// it, stopped; `address` is the node's as the user gave it.
    pub fn attached(
        thread: RemoteThread,
        address: &str,
        runtime: Arc<Runtime>,
        instructions: u64,
        setup: Setup,
    ) -> Debuggee {
        Debuggee {
            here: None,
            there: Some(Box::new(Remote {
                thread,
                address: address.to_string(),
                runtime,
                instructions,
                failed: false,
                attached: true,
                stack: None,
                locals: BTreeMap::new(),
                params: None,
            })),
            setup,
            home_note: None,
            applied: None,
            gone: None,
        }
    }

    /// The node's thread and the runtime of its connection, when the thread is on a
    /// node (to detach from it, end it or park it); the thread itself otherwise.
    pub fn into_remote(self) -> Result<(RemoteThread, Arc<Runtime>), Box<Debuggee>> {
        match self.there {
            Some(remote) if self.here.is_none() => Ok((remote.thread, remote.runtime)),
            there => Err(Box::new(Debuggee { there, ..self })),
        }
    }

    /// The node's name when the thread is on one.
    pub fn node(&self) -> Option<&str> {
        self.there.as_ref().map(|r| r.thread.node_name())
    }

    /// The node's address when the thread is on one.
    pub fn address(&self) -> Option<&str> {
        self.there.as_ref().map(|r| r.address.as_str())
    }

    /// The thread's VM here, or the copy a remote thread left here (its program and
    /// code are the thread's).
    pub fn local(&self) -> Result<&Vm, DapError> {
        match (&self.here, &self.there) {
            (Some(vm), _) => Ok(vm),
            (None, Some(remote)) => Ok(remote.thread.local()),
            (None, None) => Err(neither()),
        }
    }

    /// The thread's instruction count.
    pub fn instructions(&self) -> u64 {
        match &self.there {
            Some(remote) => remote.instructions,
            None => self.local().map(Vm::instructions).unwrap_or(0),
        }
    }

    /// Whether the thread stopped on a runtime error (its frames kept).
    pub fn failed(&self) -> bool {
        match &self.there {
            Some(remote) => remote.failed,
            None => self.local().is_ok_and(|vm| vm.failed().is_some()),
        }
    }

    /// How to pause it while it runs.
    pub fn pause(&self) -> Option<Pause> {
        match (&self.here, &self.there) {
            (_, Some(remote)) => Some(Pause::Remote(
                remote.thread.pauser(),
                remote.runtime.clone(),
            )),
            (Some(vm), None) => Some(Pause::Flag(vm.pause_flag())),
            (None, None) => None,
        }
    }

    /// Makes the next run of a thread here stop at the first safe point after `n` more
    /// instructions (`None`: no such stop).
    pub fn slice(&mut self, n: Option<u64>) {
        if let (Some(vm), None) = (self.here.as_mut(), &self.there) {
            vm.stop_after(n.unwrap_or(u64::MAX));
        }
    }

    /// Clears a pause asked before the thread runs again.
    pub fn clear_pause(&self) {
        if let (Some(vm), None) = (&self.here, &self.there) {
            vm.pause_flag().store(false, Ordering::Relaxed);
        }
    }

    /// The thread's VM here (a remote thread's copy here, as it left).
    pub fn into_vm(self) -> Option<Vm> {
        match (self.here, self.there) {
            (Some(vm), _) => Some(*vm),
            (None, Some(remote)) => Some(remote.thread.into_local()),
            (None, None) => None,
        }
    }

    /// Runs a remote ask; a failure of the node brings the thread home.
    fn ask<T>(
        &mut self,
        ask: impl FnOnce(&mut Remote) -> Result<T, DebugError>,
    ) -> Option<Result<T, DapError>> {
        let remote = self.there.as_mut()?;
        match ask(remote) {
            Ok(v) => Some(Ok(v)),
            Err(DebugError::Refused(why)) => Some(Err(DapError::user(why))),
            Err(err) => {
                let why = self.came_home(&err);
                self.home_note = Some(why.clone());
                Some(Err(DapError::user(why)))
            }
        }
    }

    /// Why the thread came home by itself while a request asked its node, once: the
    /// adapter tells the client (an output line, `chunkvm/migrated`).
    pub fn take_home_note(&mut self) -> Option<String> {
        self.home_note.take()
    }

    /// The node failed or handed the thread back: it is here again (an attached
    /// thread is not: it stays with its owner, and the session has no thread any
    /// more). Returns what to tell the user.
    fn came_home(&mut self, err: &DebugError) -> String {
        let Some(remote) = self.there.take() else {
            return err.to_string();
        };
        if remote.attached {
            let node = remote.thread.node_name().to_string();
            self.applied = None;
            let why = format!(
                "{err}: the attached thread is no longer in this session (it belongs to its owner, not to {node}'s debugger)"
            );
            self.gone = Some(why.clone());
            // What stays is the program alone (not started): no stack, no locals.
            self.here = Some(Box::new(remote.thread.into_local()));
            return why;
        }
        let node = remote.thread.node_name().to_string();
        self.applied = None;
        let handed_back = matches!(err, DebugError::CameHome);
        let mut vm = remote.thread.into_local();
        if handed_back {
            self.setup.settle(&mut vm);
        }
        self.here = Some(Box::new(vm));
        if handed_back {
            format!("{node} handed the thread back (it is stopping): it goes on here")
        } else {
            format!("{err}: the thread is back here, as it was when it left for {node}")
        }
    }

    /// The frames, innermost first.
    pub fn stack(&mut self) -> Result<Vec<FrameInfo>, DapError> {
        let asked = self.ask(|remote| {
            if let Some(stack) = &remote.stack {
                return Ok(stack.clone());
            }
            let runtime = remote.runtime.clone();
            let stack = runtime.block_on(remote.thread.stack())?;
            remote.stack = Some(stack.clone());
            Ok(stack)
        });
        match asked {
            Some(answer) => answer,
            None => Ok(self.local()?.stack()),
        }
    }

    /// The parameters and locals of frame `frame` (0: innermost).
    pub fn locals(&mut self, frame: usize) -> Result<Vec<Variable>, DapError> {
        let asked = self.ask(|remote| {
            if let Some(locals) = remote.locals.get(&frame) {
                return Ok(locals.clone());
            }
            let runtime = remote.runtime.clone();
            let locals = runtime.block_on(remote.thread.locals(frame))?;
            remote.locals.insert(frame, locals.clone());
            Ok(locals)
        });
        match asked {
            Some(answer) => answer,
            None => Ok(self.local()?.locals(frame)),
        }
    }

    /// The file's params: name, type and value.
    pub fn params(&mut self) -> Result<Vec<Variable>, DapError> {
        let asked = self.ask(|remote| {
            if let Some(params) = &remote.params {
                return Ok(params.clone());
            }
            let runtime = remote.runtime.clone();
            let params = runtime.block_on(remote.thread.params())?;
            remote.params = Some(params.clone());
            Ok(params)
        });
        if let Some(answer) = asked {
            return answer;
        }
        Ok(self.local()?.params())
    }

    /// Sets local `name` of frame `frame`.
    pub fn set_local(&mut self, frame: usize, name: &str, value: &Value) -> Result<(), DapError> {
        let asked = self.ask(|remote| {
            remote.forget();
            let runtime = remote.runtime.clone();
            runtime.block_on(remote.thread.set_local(frame, name, value))
        });
        match (asked, self.here.as_mut()) {
            (Some(answer), _) => answer,
            (None, Some(vm)) => vm
                .set_local(frame, name, value)
                .map_err(|err| DapError::user(err.to_string())),
            (None, None) => Err(neither()),
        }
    }

    /// Sets the file's param `name`.
    pub fn set_global(&mut self, name: &str, value: &Value) -> Result<(), DapError> {
        let asked = self.ask(|remote| {
            remote.forget();
            let runtime = remote.runtime.clone();
            runtime.block_on(remote.thread.set_param(name, value))
        });
        match (asked, self.here.as_mut()) {
            (Some(answer), _) => answer,
            (None, Some(vm)) => vm
                .set_global(name, value)
                .map_err(|err| DapError::user(err.to_string())),
            (None, None) => Err(neither()),
        }
    }

    /// Sets where the thread stops: breakpoint lines and instructions (nothing is
    /// sent when they are as they were).
    pub fn set_breakpoints(&mut self, stops: &Stops) -> Result<(), DapError> {
        if self.applied.as_ref() == Some(stops) {
            return Ok(());
        }
        let asked = self.ask(|remote| {
            let runtime = remote.runtime.clone();
            runtime.block_on(async {
                remote.thread.set_breakpoints(&stops.lines).await?;
                remote
                    .thread
                    .set_instruction_breakpoints(&stops.instructions)
                    .await
            })
        });
        let set = match (asked, self.here.as_mut()) {
            (Some(answer), _) => answer,
            (None, Some(vm)) => {
                vm.set_breakpoints(&stops.lines);
                vm.set_instruction_breakpoints(&stops.instructions);
                Ok(())
            }
            (None, None) => Err(neither()),
        };
        // A thread that came home lost them: they are set again next time.
        self.applied = match (&set, &self.home_note) {
            (Ok(()), None) => Some(stops.clone()),
            _ => None,
        };
        set
    }

    /// Runs the thread until something stops it (`step` none) or one step.
    pub fn resume(&mut self, step: Option<StepKind>) -> Ran {
        if let Some(why) = &self.gone {
            // An attached thread whose node was lost: the run ends.
            return Ran::Vm(Err(gone(why.clone())));
        }
        if let Some(remote) = self.there.as_mut() {
            remote.forget();
            let runtime = remote.runtime.clone();
            return match runtime.block_on(remote.thread.resume(step)) {
                Ok(Resumed::Stopped { stop, instructions }) => {
                    remote.instructions = instructions;
                    remote.failed = false;
                    Ran::Vm(match stop {
                        RemoteStop::Breakpoint => Ok(Stop::Breakpoint),
                        RemoteStop::Step => Ok(Stop::Step),
                        RemoteStop::Paused => Ok(Stop::Paused),
                        RemoteStop::Error(err) => {
                            remote.failed = true;
                            Err(err)
                        }
                    })
                }
                Ok(Resumed::Finished(value)) => {
                    // The result's chunks came home with it.
                    if let Some(remote) = self.there.take() {
                        self.here = Some(Box::new(remote.thread.into_local()));
                    }
                    Ran::Vm(Ok(Stop::Finished(value)))
                }
                Err(DebugError::Refused(why)) => Ran::Refused(why),
                Err(err) if remote.attached => {
                    // The session's thread is gone: the run ends here.
                    let why = self.came_home(&err);
                    self.setup
                        .out
                        .send(crate::protocol::output("stderr", &format!("{why}\n")));
                    Ran::Vm(Err(gone(why)))
                }
                Err(err) => Ran::Home(self.came_home(&err)),
            };
        }
        match self.here.as_mut() {
            Some(vm) => Ran::Vm(match step {
                Some(kind) => vm.step(kind),
                None => vm.run(),
            }),
            None => Ran::Home("a thread neither here nor there".to_string()),
        }
    }

    /// Moves the thread to the node of `client` (from here, or from the node it is
    /// on: home first). On failure the thread stays where it was and the error says
    /// why.
    pub fn move_to(
        &mut self,
        client: Arc<Client>,
        address: &str,
        runtime: Arc<Runtime>,
        stops: &Stops,
    ) -> Result<Moved, DapError> {
        let from = self.node().unwrap_or("local").to_string();
        let started = std::time::Instant::now();
        let mut moved = (0u64, 0u64);
        if self.there.is_some() {
            let back = self.come_home()?;
            moved = (back.chunks, back.bytes);
        }
        let Some(vm) = self.here.take() else {
            return Err(neither());
        };
        let opened = runtime.block_on(RemoteThread::open(
            client,
            *vm,
            &self.setup.source,
            Prefetch::Graph,
            self.setup.on_line(),
        ));
        let (thread, report) = match opened {
            Ok(opened) => opened,
            Err(not_moved) => {
                self.here = Some(not_moved.vm);
                return Err(DapError::user(format!(
                    "{}; the thread stays {}",
                    not_moved.error,
                    if from == "local" {
                        "here".to_string()
                    } else {
                        format!("here (it came back from {from} first)")
                    }
                )));
            }
        };
        let to = thread.node_name().to_string();
        let instructions = thread.local().instructions();
        let remote = Box::new(Remote {
            thread,
            address: address.to_string(),
            runtime: runtime.clone(),
            instructions,
            failed: false,
            attached: false,
            stack: None,
            locals: BTreeMap::new(),
            params: None,
        });
        // The node's copy has no breakpoints yet.
        self.there = Some(remote);
        self.applied = None;
        if let Err(err) = self.set_breakpoints(stops) {
            self.home_note = None;
            return Err(DapError::user(format!("setting the breakpoints: {err}")));
        }
        let sent = traffic(&report);
        Ok(Moved {
            from,
            to,
            chunks: moved.0 + sent.0,
            bytes: moved.1 + sent.1,
            ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Brings a remote thread home (nothing to do for one here).
    pub fn come_home(&mut self) -> Result<Moved, DapError> {
        let Some(remote) = self.there.take() else {
            return Ok(Moved {
                from: "local".into(),
                to: "local".into(),
                chunks: 0,
                bytes: 0,
                ms: 0.0,
            });
        };
        let from = remote.thread.node_name().to_string();
        let started = std::time::Instant::now();
        let runtime = remote.runtime.clone();
        self.applied = None;
        match runtime.block_on(remote.thread.hand_back()) {
            Ok((mut vm, report)) => {
                self.setup.settle(&mut vm);
                self.here = Some(Box::new(vm));
                Ok(Moved {
                    from,
                    to: "local".into(),
                    chunks: report.returned.chunks,
                    bytes: report.returned.bytes,
                    ms: started.elapsed().as_secs_f64() * 1000.0,
                })
            }
            Err(not_moved) => {
                self.here = Some(not_moved.vm);
                Err(DapError::user(format!(
                    "{}: the thread is back here, as it was when it left for {from}",
                    not_moved.error
                )))
            }
        }
    }

    /// The chunks reachable from the thread and where each is.
    pub fn chunks(&mut self) -> Result<(ChunkId, Vec<ChunkRow>), DapError> {
        let asked = self.ask(|remote| {
            let runtime = remote.runtime.clone();
            runtime.block_on(remote.thread.chunks())
        });
        if let Some(answer) = asked {
            let (root, infos) = answer?;
            let store = self.local()?.store();
            let rows = infos
                .into_iter()
                .map(|info| remote_row(info, store))
                .collect();
            return Ok((root, rows));
        }
        let Some(vm) = self.here.as_mut() else {
            return Err(neither());
        };
        let root = vm.materialize();
        let store = vm.store();
        let reached = store
            .reachable(&[root])
            .map_err(|err| DapError::internal(format!("walking the thread's chunks: {err}")))?;
        let rows = reached
            .iter()
            .filter_map(|id| {
                let chunk = store.get(*id)?;
                Some(ChunkRow {
                    id: *id,
                    kind: format!("{:?}", chunk.kind),
                    slots_used: used_slots(chunk),
                    links: chunk.links_iter().filter(|l| !l.is_nil()).collect(),
                    residence: "here",
                })
            })
            .collect();
        Ok((root, rows))
    }
}

/// The end of a run whose attached thread left the session.
fn gone(why: String) -> RuntimeError {
    RuntimeError {
        kind: chunkvm::exec::ErrorKind::Cancelled,
        message: why,
        span: chunkvm::syntax::span::Span::default(),
        trace: Vec::new(),
    }
}

/// Chunks and bytes a migration moved to the node.
fn traffic(report: &MigrateReport) -> (u64, u64) {
    let chunks = report.sent_ahead.chunks + report.fetched.chunks + report.prefetched.chunks;
    let bytes = report.sent_ahead.bytes + report.fetched.bytes + report.prefetched.bytes;
    (chunks, bytes)
}

fn used_slots(chunk: &chunkvm::chunk::Chunk) -> usize {
    (0..SLOTS)
        .filter(|slot| chunk.is_link(*slot) || chunk.get(*slot) != 0)
        .count()
}

/// A row for a chunk of a thread on a node: a chunk the node does not have is
/// described from the copy here.
fn remote_row(info: ChunkInfo, store: &chunkvm::chunk::Store) -> ChunkRow {
    let residence = match info.residence {
        Residence::SentAhead => "prefetched",
        Residence::Fetched => "fetched",
        Residence::Made => "remote",
        Residence::NotThere => "here",
    };
    match (info.residence, store.get(info.id)) {
        (Residence::NotThere, Some(chunk)) => ChunkRow {
            id: info.id,
            kind: format!("{:?}", chunk.kind),
            slots_used: used_slots(chunk),
            links: chunk.links_iter().filter(|l| !l.is_nil()).collect(),
            residence,
        },
        _ => ChunkRow {
            id: info.id,
            kind: info.kind,
            slots_used: info.slots_used as usize,
            links: info.links,
            residence,
        },
    }
}

/// The state a [`Debuggee`] never reaches (one of its sides is always set), answered
/// as an internal error rather than a panic.
fn neither() -> DapError {
    DapError::internal("a thread neither here nor there")
}
