//! Debugging a thread that lives on a node: the node exposes the VM's
//! stepping API (breakpoints, continue, steps, pause, stack, locals, params,
//! setting a local or a param, the thread's chunks) for a thread a debugger
//! moved there, so that the debugger can follow it.
//!
//! The client side is [`RemoteThread`]: [`RemoteThread::open`] moves a
//! stopped thread to the node with a `Debug` message (the chunks the
//! [`Policy`] sends ahead, and the program's source for its lines); the node
//! restores it, fetching what it lacks, and holds it stopped. Each method is
//! then one `DebugAsk` and its `DebugAnswer` on that conversation, during
//! which the client answers the node's `Fetch`es from its copy of the thread
//! and hands the lines the thread prints to `on_line`.
//! [`RemoteThread::hand_back`] brings the thread home (`HandBack`, answered
//! `Done` with the chunks the node made or changed), exactly as a
//! migration's thread comes back.
//!
//! ```text
//! client                               node
//! Debug { request, root, chunks, source } -->
//!                                 <--  Fetch / Output ...
//!                                 <--  DebugAnswer { request, Opened { thread } }
//! DebugAsk { r, Resume { step } }  -->
//!                                 <--  Fetch / Output ...
//!                                 <--  DebugAnswer { r, Stopped { stop } } | Done (finished)
//! DebugAsk { r, Stack | Locals | ... } -->
//!                                 <--  DebugAnswer { r, ... } | Error { r }
//! DebugAsk { r, HandBack }         -->
//!                                 <--  Done { root: the Thread chunk, chunks }
//! ```
//!
//! A pause cannot wait for the running ask's answer: it is a `DebugPause {
//! thread }` on a stream of its own ([`Pauser`]), which sets the thread's
//! pause flag; the running `Resume` then answers `Stopped { Paused }`.
//!
//! No thread is lost: the client keeps its copy of the thread (as it was
//! when it left) until the node hands it back. If the node stops, it hands
//! the thread back at its next safe point (the next ask's answer is that
//! `Done`, and [`DebugError::CameHome`] says the thread is home); if the
//! connection or the node fails, [`RemoteThread::into_local`] gives the copy
//! back, to go on from where it left.
//!
//! [`RemoteThread::attach`] opens a session on a thread the node holds
//! already (migrated there by a client, or parked there by a debugger,
//! [`RemoteThread::park`]): the node stops it at its next safe point and the
//! session goes on as above, except that the node fetches what the thread
//! lacks from its owner, not from the debugger. [`RemoteThread::detach`]
//! lets it run on for its owner; [`RemoteThread::terminate`] ends it.
//!
//! ```text
//! debugger                             node
//! Attach { request, thread, source } -->
//!                                 <--  DebugAnswer { request, Attached { thread, program, name, source } }
//! DebugAsk { r, ... }              -->  (as above)
//! DebugAsk { r, Detach | Terminate } -->
//!                                 <--  DebugAnswer { r, Ok }
//! ```
//!
//! The bodies of the asks and answers are in [`messages`].

pub(crate) mod attach;
pub mod messages;
pub(crate) mod serve;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chunkvm::chunk::{ChunkId, IdSet};
use chunkvm::exec::{FrameInfo, StepKind, Value, Variable, Vm};

use crate::client::Client;
use crate::migrate::{take_back, MigrateError, MigrateFailure, MigrateReport};
use crate::prefetch::{Policy, Prefetch};
use crate::transport::{Conversation, TransportError};
use crate::wire::Message;
pub use messages::{ChunkInfo, DebugAnswer, DebugAsk, RemoteStop, Residence};

/// Where a remote thread's printed lines go (one call per line, without
/// its newline).
pub type OnLine = Box<dyn FnMut(String) + Send>;

/// Why an ask about a remote thread failed.
#[derive(Debug)]
pub enum DebugError {
    /// The node refused this ask (a local that cannot be set, say); the
    /// session goes on.
    Refused(String),
    /// The session is over: the connection or the node failed. The thread
    /// is still good at the client ([`RemoteThread::into_local`]), as it
    /// was when it left.
    Lost(MigrateFailure),
    /// The node handed the thread back (it is stopping): the thread is home,
    /// where it stopped on the node ([`RemoteThread::into_local`]).
    CameHome,
}

impl fmt::Display for DebugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DebugError::Refused(why) => f.write_str(why),
            DebugError::Lost(failure) => match failure {
                MigrateFailure::Transport(e) => write!(f, "the node's connection failed: {e}"),
                MigrateFailure::Node(e) => write!(f, "the node failed: {e}"),
                MigrateFailure::Program(e) => f.write_str(e),
                MigrateFailure::BadAnswer(e) => write!(f, "the node's answer is malformed: {e}"),
            },
            DebugError::CameHome => f.write_str("the node handed the thread back (it is stopping)"),
        }
    }
}

impl std::error::Error for DebugError {}

/// Why an attach failed; nothing changed on the node.
#[derive(Debug)]
pub enum AttachError {
    /// The node refused: it holds no such thread (the message lists those
    /// it holds), the thread is held by a debugger already, it ended.
    Refused(String),
    /// The connection or the node failed.
    Lost(MigrateFailure),
    /// The thread's program could not be made here from its source, or the
    /// source given is not the thread's program.
    Program(String),
}

impl fmt::Display for AttachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachError::Refused(why) | AttachError::Program(why) => f.write_str(why),
            AttachError::Lost(failure) => DebugError::Lost(clone_failure(failure)).fmt(f),
        }
    }
}

impl std::error::Error for AttachError {}

fn clone_failure(failure: &MigrateFailure) -> MigrateFailure {
    match failure {
        MigrateFailure::Transport(e) => MigrateFailure::Node(e.to_string()),
        MigrateFailure::Node(e) => MigrateFailure::Node(e.clone()),
        MigrateFailure::Program(e) => MigrateFailure::Program(e.clone()),
        MigrateFailure::BadAnswer(e) => MigrateFailure::BadAnswer(e.clone()),
    }
}

/// What an attach found: the thread as the node described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The thread's number on the node.
    pub thread: u64,
    /// The function or filter it runs.
    pub name: String,
    /// The program's source (the node's, or the one the debugger gave).
    pub source: String,
    /// Its instruction count where it stopped.
    pub instructions: u64,
}

/// A move of a thread that did not happen (to the node, or back): the
/// error, and the thread, still good where it was.
pub struct NotMoved {
    /// The thread: unchanged by a failed open; after a failed hand-back,
    /// the client's copy as it left.
    pub vm: Box<Vm>,
    /// Why.
    pub error: MigrateError,
}

impl fmt::Debug for NotMoved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotMoved")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for NotMoved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for NotMoved {}

/// How a remote run or step ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Resumed {
    /// The thread stopped on the node.
    Stopped {
        /// Why.
        stop: RemoteStop,
        /// Its instruction count.
        instructions: u64,
    },
    /// The thread finished on the node: its value, whose chunks are now in
    /// the client's store ([`RemoteThread::into_local`]).
    Finished(Value),
}

/// What one ask brought.
enum Reply {
    Answer(DebugAnswer),
    Finished(Value),
}

/// Pauses a remote thread while an ask runs it (a `DebugPause` on a stream
/// of its own). Clone it freely.
#[derive(Clone, Debug)]
pub struct Pauser {
    client: Arc<Client>,
    thread: u64,
}

impl Pauser {
    /// Asks the node to pause the thread at its next safe point.
    pub async fn pause(&self) -> Result<(), TransportError> {
        let mut conv = self.client.conversation().await?;
        conv.send(&Message::DebugPause {
            thread: self.thread,
        })
        .await?;
        let reply = conv.recv_within(self.client.limits().read_timeout).await?;
        let _ = conv.finish();
        match reply {
            Message::Ack => Ok(()),
            Message::Error { request, message } => Err(TransportError::Remote { request, message }),
            other => Err(TransportError::Unexpected {
                expected: "Ack",
                got: other.kind(),
            }),
        }
    }
}

/// A thread held by a node for a debugger (see the module documentation).
pub struct RemoteThread {
    client: Arc<Client>,
    conv: Conversation,
    /// The client's copy: the thread as it left (the source of the node's
    /// fetches), or, once home, the thread itself.
    vm: Vm,
    policy: Policy,
    /// The session's request number (an `Error` for it ends the session).
    session: u64,
    thread: u64,
    next_request: u64,
    /// What crossed the wire since the session opened.
    traffic: MigrateReport,
    /// Chunks sent to the node in this session (each goes once).
    seen: IdSet,
    code_sent: Vec<ChunkId>,
    on_line: OnLine,
    /// The thread came home (handed back or finished).
    home: bool,
}

impl fmt::Debug for RemoteThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteThread")
            .field("node", &self.client.node_name())
            .field("thread", &self.thread)
            .field("home", &self.home)
            .finish()
    }
}

impl RemoteThread {
    /// Moves the thread of `vm` (stopped) to the node of `client` and holds
    /// it there for a debugger; `source` is the program's text (the node
    /// maps its instructions to lines with it), `on_line` receives what the
    /// thread prints there. On failure the thread is given back, unchanged.
    pub async fn open(
        client: Arc<Client>,
        mut vm: Vm,
        source: &str,
        prefetch: Prefetch,
        on_line: OnLine,
    ) -> Result<(RemoteThread, MigrateReport), NotMoved> {
        let started = Instant::now();
        let fail = |vm, failure| NotMoved {
            vm: Box::new(vm),
            error: MigrateError { failure, lines: 0 },
        };
        let root = vm.materialize();
        let mut policy = Policy::new(
            prefetch,
            root,
            client.code_sent(),
            client.limits().max_message,
        );
        let ahead = match policy.ahead(vm.store()) {
            Ok(ahead) => ahead,
            Err(e) => return Err(fail(vm, MigrateFailure::BadAnswer(e))),
        };
        let mut traffic = MigrateReport::default();
        traffic.sent_ahead.add(ahead.len());
        let seen: IdSet = ahead.iter().map(|(id, _)| *id).collect();
        let code_sent = ahead
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| id.is_code())
            .collect();
        let conv = match client.conversation().await {
            Ok(conv) => conv,
            Err(e) => return Err(fail(vm, MigrateFailure::Transport(e))),
        };
        let session = client.next_request();
        let mut remote = RemoteThread {
            client,
            conv,
            vm,
            policy,
            session,
            thread: 0,
            next_request: 1,
            traffic,
            seen,
            code_sent,
            on_line,
            home: false,
        };
        let opening = Message::Debug {
            request: session,
            root,
            chunks: ahead,
            source: source.to_string(),
        };
        let opened = match remote.conv.send(&opening).await {
            Ok(()) => remote.receive(session).await,
            Err(e) => Err(DebugError::Lost(MigrateFailure::Transport(e))),
        };
        match opened {
            Ok(Reply::Answer(DebugAnswer::Opened {
                thread, started_us, ..
            })) => {
                remote.thread = thread;
                remote.traffic.to_first_instruction = Duration::from_micros(started_us);
                remote.traffic.total = started.elapsed();
                let report = remote.traffic.clone();
                Ok((remote, report))
            }
            Ok(_) => {
                let vm = remote.into_local();
                Err(fail(
                    vm,
                    MigrateFailure::BadAnswer("the node did not open the session".to_string()),
                ))
            }
            Err(DebugError::Refused(why)) => {
                let vm = remote.into_local();
                Err(fail(vm, MigrateFailure::Node(why)))
            }
            Err(DebugError::Lost(failure)) => {
                let vm = remote.into_local();
                Err(fail(vm, failure))
            }
            Err(DebugError::CameHome) => {
                let vm = remote.into_local();
                Err(fail(
                    vm,
                    MigrateFailure::Node("the node is stopping".to_string()),
                ))
            }
        }
    }

    /// Opens a debug session on thread `thread` that the node of `client`
    /// holds (`chunkvm threads` lists them): the node stops it at its next
    /// safe point. `source` is the program's text if the debugger has it
    /// (the node's copy, when it has one, wins); `make_local` makes the
    /// debugger's copy of the program from the source (its code ids must be
    /// the thread's: code is content-addressed). Chunks the thread lacks are
    /// fetched by the node from the thread's owner.
    pub async fn attach(
        client: Arc<Client>,
        thread: u64,
        source: Option<&str>,
        make_local: impl FnOnce(&str) -> Result<Vm, String>,
        mut on_line: OnLine,
    ) -> Result<(RemoteThread, Attachment), AttachError> {
        let lost = |e| AttachError::Lost(MigrateFailure::Transport(e));
        let mut conv = client.conversation().await.map_err(lost)?;
        let session = client.next_request();
        conv.send(&Message::Attach {
            request: session,
            thread,
            source: source.unwrap_or_default().to_string(),
        })
        .await
        .map_err(lost)?;
        let (program, attachment) = loop {
            match conv.recv().await.map_err(lost)? {
                Message::Output { line } => on_line(line),
                Message::DebugAnswer {
                    request,
                    answer:
                        DebugAnswer::Attached {
                            thread,
                            instructions,
                            program,
                            name,
                            source,
                        },
                } if request == session => {
                    break (
                        program,
                        Attachment {
                            thread,
                            name,
                            source,
                            instructions,
                        },
                    )
                }
                Message::Error { message, .. } => return Err(AttachError::Refused(message)),
                other => {
                    return Err(AttachError::Lost(MigrateFailure::Transport(
                        TransportError::Unexpected {
                            expected: "DebugAnswer { Attached }",
                            got: other.kind(),
                        },
                    )))
                }
            }
        };
        // Leaving now (the conversation dropped) lets the thread run on.
        if attachment.source.is_empty() {
            return Err(AttachError::Program(format!(
                "the node has no source for thread {thread} (it came by a migration, not from a debugger): give the program's file"
            )));
        }
        let vm = make_local(&attachment.source).map_err(AttachError::Program)?;
        if vm.loaded().ids.root != program {
            return Err(AttachError::Program(format!(
                "the program given is not the one thread {thread} runs (its code differs)"
            )));
        }
        let policy = Policy::new(
            Prefetch::OnDemand,
            program,
            client.code_sent(),
            client.limits().max_message,
        );
        let remote = RemoteThread {
            client,
            conv,
            vm,
            policy,
            session,
            thread,
            next_request: 1,
            traffic: MigrateReport::default(),
            seen: IdSet::default(),
            code_sent: Vec::new(),
            on_line,
            home: false,
        };
        Ok((remote, attachment))
    }

    /// Ends an attached session: the thread runs on for its owner, as if
    /// nobody had attached.
    pub async fn detach(mut self) -> Result<(), DebugError> {
        self.expect_ok(DebugAsk::Detach).await
    }

    /// Ends the thread where it stopped (an attached thread's owner gets a
    /// failure that says a debugger ended it).
    pub async fn terminate(mut self) -> Result<(), DebugError> {
        self.expect_ok(DebugAsk::Terminate).await
    }

    /// Leaves the thread of a session this debugger opened (`open`) on the
    /// node: the node fetches every chunk it lacks first, then runs it on,
    /// parked, keeping its result and output in its thread table. Returns
    /// the thread's number there (for `attach` and `chunkvm threads`).
    pub async fn park(mut self) -> Result<u64, DebugError> {
        self.expect_ok(DebugAsk::Park).await?;
        Ok(self.thread)
    }

    /// The node's name.
    pub fn node_name(&self) -> &str {
        self.client.node_name()
    }

    /// The thread's number on the node.
    pub fn thread(&self) -> u64 {
        self.thread
    }

    /// The client's copy of the thread (as it left; its program and code
    /// are the thread's).
    pub fn local(&self) -> &Vm {
        &self.vm
    }

    /// What crossed the wire since the session opened: sent ahead, fetched,
    /// prefetched, round trips.
    pub fn traffic(&self) -> &MigrateReport {
        &self.traffic
    }

    /// Whether the thread is home (it finished or was handed back).
    pub fn is_home(&self) -> bool {
        self.home
    }

    /// A handle that pauses the thread while an ask runs it.
    pub fn pauser(&self) -> Pauser {
        Pauser {
            client: self.client.clone(),
            thread: self.thread,
        }
    }

    /// Ends the session and gives the client's thread back: the thread as it
    /// left, or, once home, as it came back. The node drops its copy when
    /// the conversation ends.
    pub fn into_local(self) -> Vm {
        self.client.remember_code(self.code_sent.iter().copied());
        self.vm
    }

    /// Sets the breakpoints to these 1-based lines.
    pub async fn set_breakpoints(&mut self, lines: &[u32]) -> Result<(), DebugError> {
        self.expect_ok(DebugAsk::Breakpoints {
            lines: lines.to_vec(),
        })
        .await
    }

    /// Sets the instruction breakpoints (function index, code offset).
    pub async fn set_instruction_breakpoints(
        &mut self,
        at: &[(u32, u32)],
    ) -> Result<(), DebugError> {
        self.expect_ok(DebugAsk::InstructionBreakpoints { at: at.to_vec() })
            .await
    }

    /// Runs the thread until something stops it (`step` none) or one step.
    pub async fn resume(&mut self, step: Option<StepKind>) -> Result<Resumed, DebugError> {
        match self.ask(DebugAsk::Resume { step }).await? {
            Reply::Answer(DebugAnswer::Stopped { stop, instructions }) => {
                Ok(Resumed::Stopped { stop, instructions })
            }
            Reply::Finished(value) => Ok(Resumed::Finished(value)),
            Reply::Answer(other) => Err(unexpected("Stopped", &other)),
        }
    }

    /// The frames, innermost first.
    pub async fn stack(&mut self) -> Result<Vec<FrameInfo>, DebugError> {
        match self.answer(DebugAsk::Stack).await? {
            DebugAnswer::Stack(frames) => Ok(frames),
            other => Err(unexpected("Stack", &other)),
        }
    }

    /// The parameters and locals in scope in frame `frame` (0: innermost).
    pub async fn locals(&mut self, frame: usize) -> Result<Vec<Variable>, DebugError> {
        let frame = u32::try_from(frame).unwrap_or(u32::MAX);
        match self.answer(DebugAsk::Locals { frame }).await? {
            DebugAnswer::Variables(vars) => Ok(vars),
            other => Err(unexpected("Variables", &other)),
        }
    }

    /// The file's `param` values as the thread sees them.
    pub async fn params(&mut self) -> Result<Vec<Variable>, DebugError> {
        match self.answer(DebugAsk::Params).await? {
            DebugAnswer::Variables(vars) => Ok(vars),
            other => Err(unexpected("Variables", &other)),
        }
    }

    /// Sets local `name` of frame `frame` (a scalar).
    pub async fn set_local(
        &mut self,
        frame: usize,
        name: &str,
        value: &Value,
    ) -> Result<(), DebugError> {
        self.expect_ok(DebugAsk::SetLocal {
            frame: u32::try_from(frame).unwrap_or(u32::MAX),
            name: name.to_string(),
            value: value.clone(),
        })
        .await
    }

    /// Sets the file's param `name`.
    pub async fn set_param(&mut self, name: &str, value: &Value) -> Result<(), DebugError> {
        self.expect_ok(DebugAsk::SetParam {
            name: name.to_string(),
            value: value.clone(),
        })
        .await
    }

    /// The chunks reachable from the thread (its Thread chunk written at
    /// this stop), and where each is.
    pub async fn chunks(&mut self) -> Result<(ChunkId, Vec<ChunkInfo>), DebugError> {
        match self.answer(DebugAsk::Chunks).await? {
            DebugAnswer::Chunks { root, chunks } => Ok((root, chunks)),
            other => Err(unexpected("Chunks", &other)),
        }
    }

    /// Brings the thread home: the node hands it back with the chunks it made
    /// or changed. On failure the client's copy (as it left) is given back
    /// with the error.
    pub async fn hand_back(mut self) -> Result<(Vm, MigrateReport), NotMoved> {
        let started = Instant::now();
        let returned_before = self.traffic.returned;
        let got = self.ask(DebugAsk::HandBack).await;
        let failure = match got {
            Err(DebugError::CameHome) => None,
            Ok(Reply::Finished(_)) => Some(MigrateFailure::BadAnswer(
                "the node finished the thread instead of handing it back".to_string(),
            )),
            Ok(Reply::Answer(other)) => Some(MigrateFailure::BadAnswer(format!(
                "the node answered {other:?} to a hand-back"
            ))),
            Err(DebugError::Refused(why)) => Some(MigrateFailure::Node(why)),
            Err(DebugError::Lost(failure)) => Some(failure),
        };
        let mut report = self.traffic.clone();
        report.returned.chunks -= returned_before.chunks;
        report.returned.bytes -= returned_before.bytes;
        report.total = started.elapsed();
        let lines = report.lines;
        let vm = self.into_local();
        match failure {
            None => Ok((vm, report)),
            Some(failure) => Err(NotMoved {
                vm: Box::new(vm),
                error: MigrateError { failure, lines },
            }),
        }
    }

    async fn expect_ok(&mut self, ask: DebugAsk) -> Result<(), DebugError> {
        match self.answer(ask).await? {
            DebugAnswer::Ok => Ok(()),
            other => Err(unexpected("Ok", &other)),
        }
    }

    async fn answer(&mut self, ask: DebugAsk) -> Result<DebugAnswer, DebugError> {
        match self.ask(ask).await? {
            Reply::Answer(answer) => Ok(answer),
            Reply::Finished(_) => Err(DebugError::Lost(MigrateFailure::BadAnswer(
                "the thread finished on a question".to_string(),
            ))),
        }
    }

    /// Sends one ask and waits for its answer, serving the node meanwhile.
    async fn ask(&mut self, ask: DebugAsk) -> Result<Reply, DebugError> {
        if self.home {
            return Err(DebugError::CameHome);
        }
        let request = self.next_request;
        self.next_request += 1;
        self.conv
            .send(&Message::DebugAsk { request, ask })
            .await
            .map_err(|e| DebugError::Lost(MigrateFailure::Transport(e)))?;
        self.receive(request).await
    }

    /// Serves the node's fetches and lines until the answer to `request`
    /// (or the session's end) arrives.
    async fn receive(&mut self, request: u64) -> Result<Reply, DebugError> {
        let lost = |e| DebugError::Lost(MigrateFailure::Transport(e));
        loop {
            match self.conv.recv().await.map_err(lost)? {
                Message::Fetch { request: r, ids } => {
                    let answer = match self.policy.answer(self.vm.store(), &ids) {
                        Ok(answer) => {
                            self.traffic.round_trips += 1;
                            self.traffic.fetched.add(answer.asked);
                            self.traffic.prefetched.add(answer.extra());
                            for (id, _) in &answer.chunks {
                                if !self.seen.insert(*id) {
                                    self.traffic.resent += 1;
                                }
                                if id.is_code() {
                                    self.code_sent.push(*id);
                                }
                            }
                            Message::Chunks {
                                request: r,
                                chunks: answer.chunks,
                            }
                        }
                        Err(message) => Message::Error {
                            request: r,
                            message,
                        },
                    };
                    self.conv.send(&answer).await.map_err(lost)?;
                }
                Message::Output { line } => {
                    self.traffic.lines += 1;
                    (self.on_line)(line);
                }
                Message::DebugAnswer { request: r, answer } if r == request => {
                    return Ok(Reply::Answer(answer))
                }
                Message::Error {
                    request: r,
                    message,
                } if r == request && r != self.session => return Err(DebugError::Refused(message)),
                Message::Error { message, .. } => {
                    return Err(DebugError::Lost(MigrateFailure::Node(message)))
                }
                Message::Failed { message } => {
                    return Err(DebugError::Lost(MigrateFailure::Program(message)))
                }
                Message::Done {
                    root,
                    chunks,
                    instructions,
                    value,
                    ..
                } => {
                    self.traffic.returned.add(chunks.len());
                    let taken = take_back(&mut self.vm, root, chunks, instructions, &value)
                        .map_err(DebugError::Lost)?;
                    self.home = true;
                    self.client.remember_code(self.code_sent.iter().copied());
                    return match taken {
                        Some(value) => Ok(Reply::Finished(value)),
                        None => Err(DebugError::CameHome),
                    };
                }
                other => {
                    return Err(DebugError::Lost(MigrateFailure::Transport(
                        TransportError::Unexpected {
                            expected: "Fetch, Output, DebugAnswer or Done",
                            got: other.kind(),
                        },
                    )))
                }
            }
        }
    }
}

fn unexpected(expected: &str, got: &DebugAnswer) -> DebugError {
    DebugError::Lost(MigrateFailure::BadAnswer(format!(
        "expected {expected}, the node answered {got:?}"
    )))
}
