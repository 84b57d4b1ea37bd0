//! The node's side of `attach` and of parking: a debugger opens a debug
//! session on a thread the node holds already ([`crate::threads`]), and a
//! debugger leaves the thread it sent on the node when it goes.
//!
//! An `Attach { thread }` leaves an [`AttachSlot`] in the thread's table
//! entry and sets the thread's pause flag. The thread's own blocking thread
//! (the one that runs it for its owner, or runs it parked) stops at its next
//! safe point, finds the slot ([`on_pause`]) and from then on does what the
//! debugger's asks say, exactly as for a thread sent with `Debug` (the same
//! [`super::serve::resume`] and [`super::serve::answer_ask`]). Chunks the
//! thread lacks are still fetched from its owner over the owner's
//! conversation; the lines it prints still go to its owner (and, while
//! attached, to the debugger too).
//!
//! The session ends with:
//!
//! * `Detach`, or the debugger going away: the breakpoints are cleared and
//!   the thread runs on; its owner gets its result as if nobody had
//!   attached (same output, same instruction count);
//! * `Terminate`: the thread ends; its owner gets `Failed` ("ended by a
//!   debugger at ...");
//! * `HandBack`: the node first fetches every chunk of the thread from its
//!   owner, then hands the whole thread (every data chunk reachable from it)
//!   to the debugger; its owner gets `Failed` ("taken by a debugger at ...");
//! * the thread finishing under a `Resume`: the owner gets `Done` as usual,
//!   the debugger a `Done` with the value (and no chunks).
//!
//! Parking (`Park` in a launched session, see [`park`]): the node fetches
//! every chunk reachable from the thread from the debugger, then runs the
//! thread on with nobody waiting ([`run_parked`]); its result and the lines
//! it prints stay in the table for a while.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Instant;

use chunkvm::chunk::{ChunkId, IdSet};
use chunkvm::exec::{Fetch, FetchError, Stop, Value, Vm};
use tokio::sync::mpsc;

use super::serve::{answer_ask, resume, Resumed, STOPPING_POLL};
use crate::service::{end_message, lock, End, Event, Here, Inner};
use crate::threads::{summary, ThreadInfo, ThreadState, KEEP_ENDED, MAX_ENDED, MAX_LINES};
use crate::transport::{request_of, Conversation};
use crate::wire::{encode_value, ChunkList, DebugAnswer, DebugAsk, Message};

/// A debugger waiting for a thread to reach a safe point.
pub(crate) struct AttachSlot {
    /// The `Attach`'s request number.
    request: u64,
    /// The debugger's asks.
    asks: Receiver<(u64, DebugAsk)>,
    /// To the debugger's conversation.
    events: mpsc::Sender<Event>,
    /// The debugger's source (empty: none).
    source: String,
}

/// A thread of the table.
pub(crate) struct Entry {
    name: String,
    owner: String,
    state: ThreadState,
    instructions: u64,
    /// The program's source as the node has it (empty: none).
    source: String,
    result: String,
    output: Vec<String>,
    /// Lines printed beyond [`MAX_LINES`].
    dropped: u64,
    ended_at: Option<Instant>,
    attach: Option<AttachSlot>,
}

/// The node's threads (see [`crate::threads`]).
#[derive(Default)]
pub(crate) struct Table {
    entries: BTreeMap<u64, Entry>,
}

impl Table {
    /// A thread a conversation brought.
    pub(crate) fn add(&mut self, key: u64, owner: String, state: ThreadState, source: String) {
        self.prune();
        self.entries.insert(
            key,
            Entry {
                name: String::new(),
                owner,
                state,
                instructions: 0,
                source,
                result: String::new(),
                output: Vec::new(),
                dropped: 0,
                ended_at: None,
                attach: None,
            },
        );
    }

    /// A thread that is over (its owner has its result): out of the table.
    pub(crate) fn remove(&mut self, key: u64) {
        self.entries.remove(&key);
    }

    /// Names a restored thread after its outermost frame.
    pub(crate) fn named(&mut self, key: u64, vm: &Vm) {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.name = vm
                .stack()
                .last()
                .map(|frame| frame.function.clone())
                .unwrap_or_default();
            entry.instructions = vm.instructions();
        }
    }

    /// Thread `key`'s instruction count as last seen.
    pub(crate) fn counted(&mut self, key: u64, instructions: u64) {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.instructions = instructions;
        }
    }

    /// Whether a debugger waits to attach to thread `key`.
    pub(crate) fn attach_waits(&self, key: u64) -> bool {
        self.entries.get(&key).is_some_and(|e| e.attach.is_some())
    }

    fn state(&mut self, key: u64, state: ThreadState, instructions: u64) {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.state = state;
            entry.instructions = instructions;
        }
    }

    /// A parked thread ended: its result is kept (and its attach slot, if
    /// any, dropped: that debugger hears it ended).
    fn end(&mut self, key: u64, result: String, instructions: u64) {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.state = ThreadState::Ended;
            entry.result = result;
            entry.instructions = instructions;
            entry.ended_at = Some(Instant::now());
            entry.attach = None;
        }
        self.prune();
    }

    fn line(&mut self, key: u64, line: String) {
        if let Some(entry) = self.entries.get_mut(&key) {
            if entry.output.len() < MAX_LINES {
                entry.output.push(line);
            } else {
                entry.dropped += 1;
            }
        }
    }

    /// The threads, for `Threads`.
    pub(crate) fn list(&mut self) -> Vec<ThreadInfo> {
        self.prune();
        self.entries
            .iter()
            .map(|(id, e)| {
                let mut output = e.output.clone();
                if e.dropped > 0 {
                    output.push(format!("... and {} more lines", e.dropped));
                }
                ThreadInfo {
                    id: *id,
                    name: e.name.clone(),
                    owner: e.owner.clone(),
                    state: e.state,
                    instructions: e.instructions,
                    result: e.result.clone(),
                    output,
                }
            })
            .collect()
    }

    /// Drops ended threads older than [`KEEP_ENDED`], and the oldest beyond
    /// [`MAX_ENDED`].
    fn prune(&mut self) {
        let now = Instant::now();
        self.entries.retain(|_, e| match e.ended_at {
            Some(at) => now.duration_since(at) < KEEP_ENDED,
            None => true,
        });
        let mut ended: Vec<(Instant, u64)> = self
            .entries
            .iter()
            .filter_map(|(key, e)| e.ended_at.map(|at| (at, *key)))
            .collect();
        if ended.len() > MAX_ENDED {
            ended.sort();
            for (_, key) in &ended[..ended.len() - MAX_ENDED] {
                self.entries.remove(key);
            }
        }
    }
}

/// Serves an `Attach` (request `request`, thread `thread`) on `conv`:
/// waits for the thread to stop at a safe point, then carries the
/// debugger's asks to it and its answers back, until the session ends.
pub(crate) async fn serve_attach(
    inner: &Arc<Inner>,
    request: u64,
    thread: u64,
    source: String,
    mut conv: Conversation,
) {
    let (tx, mut rx) = mpsc::channel::<Event>(64);
    let (asks_tx, asks_rx) = std::sync::mpsc::channel::<(u64, DebugAsk)>();
    let refused = {
        let mut table = lock(&inner.table);
        let list = table.list();
        match table.entries.get_mut(&thread) {
            None => Some(format!(
                "the node holds no thread {thread}; its threads: {}",
                summary(&list)
            )),
            Some(entry) if entry.state == ThreadState::Ended => Some(format!(
                "thread {thread} ({}) has ended: {}{}",
                entry.name,
                entry.result,
                if entry.output.is_empty() {
                    String::new()
                } else {
                    format!("; it printed {} lines", entry.output.len())
                }
            )),
            Some(entry)
                if matches!(entry.state, ThreadState::Debugged | ThreadState::Attached)
                    || entry.attach.is_some() =>
            {
                Some(format!(
                    "thread {thread} ({}) is held by a debugger already",
                    entry.name
                ))
            }
            Some(entry) => {
                entry.attach = Some(AttachSlot {
                    request,
                    asks: asks_rx,
                    events: tx,
                    source,
                });
                None
            }
        }
    };
    if let Some(message) = refused {
        let _ = conv.send(&Message::Error { request, message }).await;
        let _ = conv.finish();
        return;
    }
    // Stop it at its next safe point (a thread still restoring is stopped
    // when its flag is registered: `restore_here` looks at the table).
    if let Some(Some(flag)) = lock(&inner.running).pause.get(&thread) {
        flag.store(true, Ordering::SeqCst);
    }
    let mut opened = false;
    let mut busy = true;
    loop {
        let event = if busy {
            rx.recv().await
        } else {
            tokio::select! {
                got = conv.recv() => match got {
                    Ok(Message::DebugAsk { request, ask }) => {
                        if asks_tx.send((request, ask)).is_ok() {
                            busy = true;
                        }
                        continue;
                    }
                    Ok(other) => {
                        let reply = Message::Error {
                            request: request_of(&other),
                            message: format!("{} is not part of a debug session", other.kind()),
                        };
                        if conv.send(&reply).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    // The debugger went away: the thread runs on (its
                    // worker sees the asks' channel closed).
                    Err(_) => break,
                },
                event = rx.recv() => event,
            }
        };
        match event {
            Some(Event::Answer(r, answer)) => {
                opened = true;
                let reply = match answer {
                    Ok(answer) => Message::DebugAnswer { request: r, answer },
                    Err(message) => Message::Error {
                        request: r,
                        message,
                    },
                };
                if conv.send(&reply).await.is_err() {
                    break;
                }
                busy = false;
            }
            Some(Event::Line(line)) => {
                if conv.send(&Message::Output { line }).await.is_err() {
                    break;
                }
            }
            Some(Event::End(end)) => {
                let _ = conv.send(&end_message(end, request)).await;
                break;
            }
            // Fetches of an attached thread go to its owner, never here.
            Some(Event::Fetch(..)) => {}
            None => {
                if !opened {
                    let message = format!(
                        "thread {thread} ended before it reached a safe point to attach at (its result went to its owner)"
                    );
                    let _ = conv.send(&Message::Error { request, message }).await;
                }
                break;
            }
        }
    }
    drop(asks_tx);
    // A slot nobody took (the debugger left first) goes.
    if let Some(entry) = lock(&inner.table).entries.get_mut(&thread) {
        if entry.attach.as_ref().is_some_and(|s| s.request == request) {
            entry.attach = None;
        }
    }
    let _ = conv.finish();
}

/// Where a held thread's lines go when no debugger is attached.
#[derive(Clone)]
pub(crate) enum Base {
    /// To the owner's conversation.
    Owner(mpsc::Sender<Event>),
    /// Into the table (a parked thread).
    Parked(Arc<Inner>, u64),
}

impl Base {
    fn state(&self) -> ThreadState {
        match self {
            Base::Owner(_) => ThreadState::Running,
            Base::Parked(..) => ThreadState::Parked,
        }
    }

    fn send(&self, line: String) -> bool {
        match self {
            Base::Owner(tx) => tx.blocking_send(Event::Line(line)).is_ok(),
            Base::Parked(inner, key) => {
                lock(&inner.table).line(*key, line);
                true
            }
        }
    }
}

/// A thread's output: whole lines to its base, and to an attached debugger.
struct LineSink {
    base: Base,
    debugger: Option<mpsc::Sender<Event>>,
    partial: Vec<u8>,
}

impl Write for LineSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(&self.partial[..end]).into_owned();
            self.partial.drain(..=end);
            if let Some(debugger) = &self.debugger {
                // The debugger's copy is best effort: its owner's is not.
                let _ = debugger.blocking_send(Event::Line(line.clone()));
            }
            if !self.base.send(line) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "the thread's owner is gone",
                ));
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How an attached session left the thread.
pub(crate) enum AttachEnd {
    /// It runs on (nobody attached, or the debugger detached or left).
    RunOn,
    /// It finished under the debugger: the value goes to its owner.
    Finished(Value),
    /// The node is stopping: it goes back to its owner at this safe point.
    HandBack,
    /// It ends: this goes to its owner.
    End(End),
}

/// Where the thread stopped, for people: `f (line 12)`.
fn position(vm: &Vm) -> String {
    match vm.stack().first() {
        Some(frame) if frame.line > 0 => format!("{} (line {})", frame.function, frame.line),
        Some(frame) => format!("{} (instruction {})", frame.function, frame.pc),
        None => "its end".to_string(),
    }
}

/// What an end says to a debugger.
fn end_text(end: &End) -> String {
    match end {
        End::Program(message) => message.clone(),
        End::Node(message) => message.clone(),
        End::Done { .. } => "the thread finished".to_string(),
        End::Parked => "the thread was parked".to_string(),
    }
}

/// The thread of `here` paused (not for a stopping node): serves the
/// debugger waiting to attach to thread `key`, if one does (see the module
/// documentation); `sent` are the chunks that came with the thread.
pub(crate) fn on_pause(
    inner: &Inner,
    key: u64,
    here: &mut Here,
    base: &Base,
    sent: &IdSet,
) -> AttachEnd {
    let slot = lock(&inner.table)
        .entries
        .get_mut(&key)
        .and_then(|e| e.attach.take());
    here.vm.pause_flag().store(false, Ordering::SeqCst);
    let Some(slot) = slot else {
        return AttachEnd::RunOn;
    };
    let source = {
        let mut table = lock(&inner.table);
        match table.entries.get_mut(&key) {
            Some(entry) => {
                entry.state = ThreadState::Attached;
                entry.instructions = here.vm.instructions();
                // The debugger's source serves this session only: the node
                // cannot tell whether it is the thread's program.
                if entry.source.is_empty() {
                    slot.source.clone()
                } else {
                    entry.source.clone()
                }
            }
            None => slot.source.clone(),
        }
    };
    if !source.is_empty() {
        here.vm.set_source(&source);
    }
    here.vm.keep_frames_on_error(true);
    here.vm.set_output(Box::new(LineSink {
        base: base.clone(),
        debugger: Some(slot.events.clone()),
        partial: Vec::new(),
    }));
    let name = here
        .vm
        .stack()
        .last()
        .map(|f| f.function.clone())
        .unwrap_or_default();
    let attached = DebugAnswer::Attached {
        thread: key,
        instructions: here.vm.instructions(),
        program: here.vm.loaded().ids.root,
        name,
        source,
    };
    let end = if slot
        .events
        .blocking_send(Event::Answer(slot.request, Ok(attached)))
        .is_err()
    {
        AttachEnd::RunOn
    } else {
        attached_loop(inner, here, &slot, sent)
    };
    // Back to running for its owner (or parked).
    here.vm.set_breakpoints(&[]);
    here.vm.set_instruction_breakpoints(&[]);
    // A parked thread keeps its frames on an error, to say where it failed.
    here.vm
        .keep_frames_on_error(matches!(base, Base::Parked(..)));
    here.vm.set_output(Box::new(LineSink {
        base: base.clone(),
        debugger: None,
        partial: Vec::new(),
    }));
    if !lock(&inner.running).stopping {
        here.vm.pause_flag().store(false, Ordering::SeqCst);
    }
    lock(&inner.table).state(key, base.state(), here.vm.instructions());
    end
}

/// Does what the attached debugger's asks say until the session ends.
fn attached_loop(inner: &Inner, here: &mut Here, slot: &AttachSlot, sent: &IdSet) -> AttachEnd {
    let tell = |event: Event| {
        let _ = slot.events.blocking_send(event);
    };
    loop {
        let got = slot.asks.recv_timeout(STOPPING_POLL);
        if lock(&inner.running).stopping {
            tell(Event::End(End::Node(
                "the node is stopping: the thread went back to its owner".to_string(),
            )));
            return AttachEnd::HandBack;
        }
        let (request, ask) = match got {
            Ok(got) => got,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return AttachEnd::RunOn,
        };
        let answer = match ask {
            DebugAsk::Detach => {
                tell(Event::Answer(request, Ok(DebugAnswer::Ok)));
                return AttachEnd::RunOn;
            }
            DebugAsk::Terminate => {
                let why = format!("ended by a debugger at {}", position(&here.vm));
                tell(Event::Answer(request, Ok(DebugAnswer::Ok)));
                return AttachEnd::End(End::Program(why));
            }
            DebugAsk::HandBack => match whole_thread(here) {
                Ok((root, chunks)) => {
                    let why = format!("taken by a debugger at {}", position(&here.vm));
                    tell(Event::End(End::Done {
                        root,
                        chunks,
                        instructions: here.vm.instructions(),
                        value: Vec::new(),
                        started_us: 0,
                    }));
                    return AttachEnd::End(End::Program(why));
                }
                Err(why) => Err(why),
            },
            DebugAsk::Park => {
                Err("the thread is on the node already: detach to let it run on".to_string())
            }
            DebugAsk::Resume { step } => match resume(inner, here, step) {
                Resumed::Stopped(answer) => Ok(answer),
                Resumed::Finished(value) => {
                    tell(Event::End(End::Done {
                        root: ChunkId::NIL,
                        chunks: Vec::new(),
                        instructions: here.vm.instructions(),
                        value: encode_value(&value),
                        started_us: 0,
                    }));
                    return AttachEnd::Finished(value);
                }
                Resumed::HandBack => {
                    tell(Event::End(End::Node(
                        "the node is stopping: the thread went back to its owner".to_string(),
                    )));
                    return AttachEnd::HandBack;
                }
                Resumed::Failed(end) => {
                    tell(Event::End(End::Node(end_text(&end))));
                    return AttachEnd::End(end);
                }
            },
            ask => answer_ask(here, ask, sent),
        };
        if slot
            .events
            .blocking_send(Event::Answer(request, answer))
            .is_err()
        {
            // The debugger's conversation is gone: the thread runs on.
            return AttachEnd::RunOn;
        }
    }
}

/// Every chunk of the thread, fetched first where it lacks any: the Thread
/// chunk written at this safe point and every data chunk reachable from it
/// (code the debugger makes from the source).
fn whole_thread(here: &mut Here) -> Result<(ChunkId, ChunkList), String> {
    let root = here.vm.materialize();
    here.vm
        .fetch_reachable(&[root])
        .map_err(|e| format!("the node could not fetch the thread's chunks from its owner: {e}"))?;
    let store = here.vm.store();
    let (present, _) = store.reachable_partial(&[root]);
    let chunks = present
        .into_iter()
        .filter(|id| !id.is_code())
        .filter_map(|id| store.get(id).map(|c| (id, c.clone())))
        .collect();
    Ok((root, chunks))
}

/// A fetcher for a parked thread: it has every chunk (a fetch is a bug of
/// the node, answered as a missing chunk).
struct NoOwner;

impl Fetch for NoOwner {
    fn fetch(&mut self, id: ChunkId) -> Result<Vec<(ChunkId, chunkvm::chunk::Chunk)>, FetchError> {
        Err(FetchError(format!(
            "chunk {id} is missing and the parked thread has no owner to fetch it from"
        )))
    }
}

/// Makes the thread of a launched debug session (thread `key`) parked: the
/// node fetches every chunk reachable from it (from the debugger, whose
/// conversation is still open), then it is cut loose from the conversation
/// (output into the table, a cancel flag of its own, no fetcher). On error
/// nothing changed and the session goes on.
pub(crate) fn park(inner: &Arc<Inner>, key: u64, here: &mut Here) -> Result<(), String> {
    let root = here.vm.materialize();
    here.vm
        .fetch_reachable(&[root])
        .map_err(|e| format!("the node could not fetch the thread's chunks: {e}"))?;
    here.vm.set_fetch(Box::new(NoOwner));
    here.vm.set_cancel(Arc::new(AtomicBool::new(false)));
    here.vm.set_breakpoints(&[]);
    here.vm.set_instruction_breakpoints(&[]);
    here.vm.keep_frames_on_error(true);
    here.vm.set_output(Box::new(LineSink {
        base: Base::Parked(inner.clone(), key),
        debugger: None,
        partial: Vec::new(),
    }));
    here.vm.pause_flag().store(false, Ordering::SeqCst);
    let mut table = lock(&inner.table);
    table.named(key, &here.vm);
    table.state(key, ThreadState::Parked, here.vm.instructions());
    Ok(())
}

/// Runs a parked thread to its end (on the blocking thread that held it),
/// serving debuggers that attach; keeps its result in the table and lets
/// the node know it is over.
pub(crate) fn run_parked(inner: &Arc<Inner>, key: u64, mut here: Here, sent: &IdSet) {
    let base = Base::Parked(inner.clone(), key);
    let result = loop {
        match here.vm.run() {
            Ok(Stop::Finished(value)) => break format!("finished: {value}"),
            Ok(Stop::Paused) if lock(&inner.running).stopping => {
                break "dropped: the node stopped".to_string()
            }
            Ok(Stop::Paused) => match on_pause(inner, key, &mut here, &base, sent) {
                AttachEnd::RunOn => continue,
                AttachEnd::Finished(value) => break format!("finished: {value}"),
                AttachEnd::HandBack => break "dropped: the node stopped".to_string(),
                AttachEnd::End(end) => break end_text(&end),
            },
            Ok(_) => continue,
            Err(err) => break format!("runtime error at {}: {}", position(&here.vm), err.message),
        }
    };
    lock(&inner.table).end(key, result, here.vm.instructions());
    lock(&inner.running).pause.remove(&key);
    inner.ended.notify_waiters();
}
