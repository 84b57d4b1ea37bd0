//! The node's side of a migration: [`NodeService`], the transport's
//! [`Handler`] that runs the threads clients send.
//!
//! On a `Migrate` the service makes a store of the node's id, inserts the
//! chunks sent ahead and the program's code if the node holds it already
//! (a node-wide code cache: a node that holds a program's code never fetches
//! it again), and on a blocking thread restores the thread with
//! [`Vm::restore_fetching`]. Its fetcher takes a missing code chunk from the
//! code cache when it is there (code is named per function: a filter another
//! program used is the same chunks), and asks the client for each other missing
//! chunk over the conversation (a channel to the async task that owns it,
//! each answer within the transport's read timeout); the lines the thread
//! prints go back as `Output` messages, in order.
//!
//! The thread runs to its end, or to the first safe point after the
//! `Migrate`'s `run_for` instructions, or to its next safe point once the
//! node is stopping ([`NodeService::stop`]); a thread that did not finish is
//! materialized and handed back. Either way the answer is `Done`:
//!
//! * finished: `value` is the result ([`crate::wire::encode_value`]) and
//!   `root` its chunk (an image's or closure's; nil for other values);
//! * handed back: `value` is empty and `root` is the new Thread chunk.
//!
//! `chunks` are what the client lacks: every chunk reachable from `root`
//! that the node made or changed. The node remembers each chunk it received
//! (the `Arc` of those inserted before the restore, which makes any write
//! copy it; a copy of those fetched later) and compares; code never goes
//! back.
//!
//! A runtime error of the program is answered `Failed` with its text (the
//! client's copy of the thread would fail the same way); a failure of the
//! node's side (the thread does not restore, a chunk cannot be fetched, the
//! connection went away, the node is stopping) is an `Error` for the
//! migration's request, and the client's copy of the thread is still good.
//!
//! Every thread the node holds is in its thread table ([`crate::threads`],
//! answered to `Threads`), from the conversation that brought it to its end;
//! a debugger may attach to one (`Attach`, [`crate::debug`]): the thread stops
//! at its next safe point and serves the debugger's asks while its fetches
//! still go to its owner.
//!
//! Data ids a node makes carry its node id and a serial. Every migration's
//! store allocates in a range of serials of its own ([`SERIAL_RANGE`] wide,
//! handed out in turn from a start drawn when the node starts), so two
//! migrations running at once, or a thread that comes back to the node, never
//! meet an id made in another migration for another chunk. (After 65,536
//! migrations the ranges come round again.)

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chunkvm::chunk::{Chunk, ChunkId, IdMap, Kind, NodeId, Store};
use chunkvm::exec::{ErrorKind, Fetch, FetchError, Stop, Value, Vm};
use tokio::sync::{mpsc, Notify};

use crate::debug::attach::{on_pause, AttachEnd, Base};
use crate::server::{Handler, NodeStatus};
use crate::threads::ThreadState;
use crate::transport::{request_of, Conversation, PeerInfo};
use crate::wire::{encode_value, ChunkList, Message};

/// What the node's thread tells the task that owns the conversation.
pub(crate) enum Event {
    /// Fetch this chunk from the client; answer on the channel.
    Fetch(
        ChunkId,
        std::sync::mpsc::SyncSender<Result<ChunkList, String>>,
    ),
    /// A line the thread printed.
    Line(String),
    /// The thread's run is over: the message that ends the migration.
    End(End),
    /// The answer to a debug session's ask (or the reason it has none).
    Answer(u64, Result<crate::wire::DebugAnswer, String>),
}

/// How a migration ends.
pub(crate) enum End {
    /// Finished or handed back.
    Done {
        root: ChunkId,
        chunks: ChunkList,
        instructions: u64,
        value: Vec<u8>,
        started_us: u64,
    },
    /// The program failed (a runtime error).
    Program(String),
    /// The node's side failed.
    Node(String),
    /// A debugger parked the thread: it runs on on the node, nobody waits
    /// for it (the session's answer was sent; the conversation ends).
    Parked,
}

/// The message that ends a conversation that ended with `end` (request
/// `request`'s).
pub(crate) fn end_message(end: End, request: u64) -> Message {
    match end {
        End::Done {
            root,
            chunks,
            instructions,
            value,
            started_us,
        } => Message::Done {
            root,
            chunks,
            instructions,
            value,
            started_us,
        },
        End::Program(message) => Message::Failed { message },
        End::Node(message) => Message::Error { request, message },
        End::Parked => Message::Ack,
    }
}

/// The running threads and whether the node is stopping.
#[derive(Default)]
pub(crate) struct Running {
    pub(crate) stopping: bool,
    next: u64,
    /// The pause flag of each running thread (none while it restores).
    pub(crate) pause: HashMap<u64, Option<Arc<AtomicBool>>>,
}

/// What every migration of the node shares.
pub(crate) struct Inner {
    node: NodeId,
    /// Code chunks of every program the node ran (shared with each thread's fetcher:
    /// code is named per function, so another program's threads find theirs here).
    code: Arc<Mutex<Store>>,
    pub(crate) running: Mutex<Running>,
    /// Chunks the running migrations received.
    received: AtomicU64,
    /// The first serial of the next migration's range.
    next_range: AtomicU64,
    /// Told whenever a migration ends.
    pub(crate) ended: Notify,
    /// The threads the node holds ([`crate::threads`]).
    pub(crate) table: Mutex<crate::debug::attach::Table>,
    /// Whether the node's threads run in the interpreter only ([`NodeService::set_jit`]).
    no_jit: AtomicBool,
}

/// Locks `m`, taking over a lock a panicking thread left.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The node's work: runs migrated threads (see the module documentation).
/// Share it as an `Arc` between the [`crate::Server`] and whoever stops it.
pub struct NodeService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NodeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeService")
            .field("node", &self.inner.node)
            .field("status", &self.status())
            .finish()
    }
}

impl NodeService {
    /// A service whose threads make data chunks with ids of node `node`.
    pub fn new(node: NodeId) -> NodeService {
        NodeService {
            inner: Arc::new(Inner {
                node,
                code: Arc::new(Mutex::new(Store::new(node))),
                running: Mutex::new(Running::default()),
                received: AtomicU64::new(0),
                next_range: AtomicU64::new(first_range()),
                ended: Notify::new(),
                table: Mutex::new(crate::debug::attach::Table::default()),
                no_jit: AtomicBool::new(false),
            }),
        }
    }

    /// Whether the threads the node restores from now on may run hot blocks as machine
    /// code (the default, where the build, the host and `CHUNKVM_NO_JIT` allow it) or
    /// run in the interpreter only. Both give the same results in the same instruction
    /// count; tests whose threads are sized for the interpreter's speed turn it off.
    pub fn set_jit(&self, on: bool) {
        self.inner.no_jit.store(!on, Ordering::SeqCst);
    }

    /// Stops the node's work: new `Migrate`s are refused ("the node is
    /// stopping") and each running thread is handed back at its next safe
    /// point. [`NodeService::wait_idle`] waits for them.
    pub fn stop(&self) {
        let mut running = lock(&self.inner.running);
        running.stopping = true;
        for flag in running.pause.values().flatten() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Whether [`NodeService::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        lock(&self.inner.running).stopping
    }

    /// The migrations under way.
    pub fn running(&self) -> u64 {
        lock(&self.inner.running).pause.len() as u64
    }

    /// The node's thread table: the threads it holds (and parked threads
    /// that ended, for a while).
    pub fn threads(&self) -> Vec<crate::threads::ThreadInfo> {
        lock(&self.inner.table).list()
    }

    /// The code chunks the node holds (of every program it ran).
    pub fn code_chunks(&self) -> usize {
        lock(&self.inner.code).len()
    }

    /// Waits until no migration is under way (their answers sent).
    pub async fn wait_idle(&self) {
        loop {
            let ended = self.inner.ended.notified();
            if self.running() == 0 {
                return;
            }
            ended.await;
        }
    }
}

impl Handler for NodeService {
    fn status(&self) -> NodeStatus {
        let running = lock(&self.inner.running);
        let threads = running.pause.len() as u64;
        let code = lock(&self.inner.code).len() as u64;
        NodeStatus {
            threads,
            chunks_held: code + self.inner.received.load(Ordering::Relaxed),
            load: threads,
            busy: running.stopping,
        }
    }

    async fn on_conversation(&self, peer: PeerInfo, first: Message, mut conv: Conversation) {
        let received_at = Instant::now();
        let (request, work) = match first {
            Message::Migrate {
                request,
                root,
                chunks,
                run_for,
            } => (
                request,
                Work::Run(Migration {
                    root,
                    chunks,
                    run_for,
                    received_at,
                }),
            ),
            Message::Debug {
                request,
                root,
                chunks,
                source,
            } => (
                request,
                Work::Debug(DebugOpen {
                    root,
                    chunks,
                    source,
                    received_at,
                }),
            ),
            Message::DebugPause { thread } => {
                let reply = if self.pause_thread(thread) {
                    Message::Ack
                } else {
                    Message::Error {
                        request: 0,
                        message: format!("the node holds no thread {thread}"),
                    }
                };
                let _ = conv.send(&reply).await;
                let _ = conv.finish();
                return;
            }
            Message::Threads => {
                let threads = self.threads();
                let _ = conv.send(&Message::ThreadList { threads }).await;
                let _ = conv.finish();
                return;
            }
            Message::Attach {
                request,
                thread,
                source,
            } => {
                crate::debug::attach::serve_attach(&self.inner, request, thread, source, conv)
                    .await;
                return;
            }
            other => {
                let _ = conv
                    .send(&Message::Error {
                        request: request_of(&other),
                        message: format!("{} is not served by this node", other.kind()),
                    })
                    .await;
                let _ = conv.finish();
                return;
            }
        };
        let key = {
            let mut running = lock(&self.inner.running);
            if running.stopping {
                None
            } else {
                running.next += 1;
                let key = running.next;
                running.pause.insert(key, None);
                Some(key)
            }
        };
        if let Some(key) = key {
            let (state, source) = match &work {
                Work::Run(_) => (ThreadState::Running, String::new()),
                Work::Debug(d) => (ThreadState::Debugged, d.source.clone()),
            };
            let owner = format!("{} node {}", peer.address, peer.client_node.0);
            lock(&self.inner.table).add(key, owner, state, source);
        }
        let Some(key) = key else {
            let _ = conv
                .send(&Message::Error {
                    request,
                    message: "the node is stopping".to_string(),
                })
                .await;
            let _ = conv.finish();
            return;
        };
        let count = match &work {
            Work::Run(m) => m.chunks.len(),
            Work::Debug(d) => d.chunks.len(),
        } as u64;
        self.inner.received.fetch_add(count, Ordering::Relaxed);
        let end = match work {
            Work::Run(migration) => serve_migration(&self.inner, key, &mut conv, migration).await,
            Work::Debug(open) => {
                crate::debug::serve::serve_debug(&self.inner, key, request, &mut conv, open).await
            }
        };
        let parked = matches!(end, End::Parked);
        // The client may be gone: nothing more to do then.
        let _ = conv.send(&end_message(end, request)).await;
        let _ = conv.finish();
        self.inner.received.fetch_sub(count, Ordering::Relaxed);
        if !parked {
            // A parked thread runs on: it leaves the table's running part
            // itself ([`crate::debug::attach::run_parked`]).
            lock(&self.inner.table).remove(key);
            lock(&self.inner.running).pause.remove(&key);
            self.inner.ended.notify_waiters();
        }
    }
}

impl NodeService {
    /// Sets the pause flag of thread `key`; false when the node holds no such thread.
    fn pause_thread(&self, key: u64) -> bool {
        let running = lock(&self.inner.running);
        match running.pause.get(&key) {
            Some(Some(flag)) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    }
}

/// What a conversation asks of the node.
enum Work {
    /// Run a migrated thread.
    Run(Migration),
    /// Hold a thread for a debugger.
    Debug(DebugOpen),
}

/// A `Debug`'s fields.
pub(crate) struct DebugOpen {
    pub(crate) root: ChunkId,
    pub(crate) chunks: ChunkList,
    pub(crate) source: String,
    pub(crate) received_at: Instant,
}

/// A `Migrate`'s fields.
struct Migration {
    root: ChunkId,
    chunks: ChunkList,
    run_for: Option<u64>,
    received_at: Instant,
}

/// Runs one migration: the thread on a blocking thread, its fetches and
/// lines over `conv`; returns how it ended.
async fn serve_migration(
    inner: &Arc<Inner>,
    key: u64,
    conv: &mut Conversation,
    migration: Migration,
) -> End {
    let (tx, mut rx) = mpsc::channel::<Event>(64);
    let cancel = Arc::new(AtomicBool::new(false));
    let wait = conv.limits().read_timeout.saturating_mul(2);
    let worker = {
        let inner = inner.clone();
        let cancel = cancel.clone();
        let tx = tx.clone();
        tokio::task::spawn_blocking(move || {
            let end = run_thread(&inner, key, migration, tx.clone(), cancel, wait);
            let _ = tx.blocking_send(Event::End(end));
        })
    };
    drop(tx);
    let conn = conv.connection().clone();
    let closed = conn.closed();
    tokio::pin!(closed);
    let mut gone = false;
    let end = loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(Event::Fetch(id, reply)) => relay_fetch(conv, id, reply, &cancel).await,
                Some(Event::Line(line)) => relay_line(conv, line, &cancel).await,
                Some(Event::End(end)) => break end,
                // A migration's thread has no asks to answer.
                Some(Event::Answer(..)) => {}
                None => break End::Node("the node's thread ended without an answer".to_string()),
            },
            _ = &mut closed, if !gone => {
                gone = true;
                cancel.store(true, Ordering::SeqCst);
            }
        }
    };
    let _ = worker.await;
    end
}

/// Fetches chunk `id` from the client for the node's thread and hands it the
/// answer; a failure cancels the thread (its fetcher gets the error too).
pub(crate) async fn relay_fetch(
    conv: &mut Conversation,
    id: ChunkId,
    reply: std::sync::mpsc::SyncSender<Result<ChunkList, String>>,
    cancel: &AtomicBool,
) {
    let got = conv.fetch(vec![id]).await.map_err(|e| e.to_string());
    if got.is_err() {
        cancel.store(true, Ordering::SeqCst);
    }
    let _ = reply.send(got);
}

/// Sends a line the node's thread printed; a failure cancels the thread.
pub(crate) async fn relay_line(conv: &mut Conversation, line: String, cancel: &AtomicBool) {
    if conv.send(&Message::Output { line }).await.is_err() {
        cancel.store(true, Ordering::SeqCst);
    }
}

/// The fetcher of a node's thread: asks the conversation's task for each
/// missing chunk and waits for the answer.
pub(crate) struct Bridge {
    tx: mpsc::Sender<Event>,
    /// The node's code cache: a code chunk found there is not asked for.
    code: Arc<Mutex<Store>>,
    /// A copy of every chunk fetched, to tell later whether it changed.
    fetched: Arc<Mutex<IdMap<Chunk>>>,
    wait: Duration,
}

impl Fetch for Bridge {
    fn fetch(&mut self, id: ChunkId) -> Result<Vec<(ChunkId, Chunk)>, FetchError> {
        if id.is_code() {
            // Code the node holds (a function another program shares with this one),
            // with the code it reaches.
            let code = lock(&self.code);
            if let Ok(ids) = code.reachable(&[id]) {
                let held: Vec<(ChunkId, Chunk)> = ids
                    .into_iter()
                    .filter_map(|id| code.get(id).map(|chunk| (id, chunk.clone())))
                    .collect();
                if !held.is_empty() {
                    return Ok(held);
                }
            }
        }
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.tx
            .blocking_send(Event::Fetch(id, reply))
            .map_err(|_| FetchError("the migration's connection is gone".to_string()))?;
        let chunks = match answer.recv_timeout(self.wait) {
            Ok(Ok(chunks)) => chunks,
            Ok(Err(why)) => return Err(FetchError(why)),
            Err(_) => {
                return Err(FetchError(format!(
                    "no answer from the client within {} ms",
                    self.wait.as_millis()
                )))
            }
        };
        let mut fetched = lock(&self.fetched);
        for (got, chunk) in &chunks {
            if !got.is_code() {
                fetched.insert(*got, chunk.clone());
            }
        }
        Ok(chunks)
    }
}

/// The thread's output: whole lines go to the conversation's task.
struct Lines {
    tx: mpsc::Sender<Event>,
    partial: Vec<u8>,
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(&self.partial[..end]).into_owned();
            self.partial.drain(..=end);
            self.tx.blocking_send(Event::Line(line)).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "the migration's connection is gone",
                )
            })?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A thread restored on the node, with what it received.
pub(crate) struct Here {
    pub(crate) vm: Vm,
    /// The chunks received with the thread, by their `Arc` (a write copies them).
    pub(crate) received: IdMap<Arc<Chunk>>,
    /// A copy of each chunk fetched since.
    pub(crate) fetched: Arc<Mutex<IdMap<Chunk>>>,
}

/// Restores the thread whose root is `root` in a store of the node's own
/// with `chunks` (and the program's code if the node holds it), fetching
/// the rest over `tx`; its lines go to `tx` and its pause flag is
/// registered as thread `key`'s.
pub(crate) fn restore_here(
    inner: &Inner,
    key: u64,
    root: ChunkId,
    chunks: ChunkList,
    tx: &mpsc::Sender<Event>,
    cancel: Arc<AtomicBool>,
    wait: Duration,
) -> Result<Here, End> {
    let mut store = Store::new(inner.node);
    let range =
        inner.next_range.fetch_add(SERIAL_RANGE, Ordering::SeqCst) % (ChunkId::MAX_SERIAL + 1);
    reserve_past(&mut store, range.max(1));
    // The chunks received, remembered by their `Arc`: a write copies them.
    let mut received: IdMap<Arc<Chunk>> = IdMap::default();
    for (id, chunk) in chunks {
        store.insert(id, chunk);
        if !id.is_code() {
            if let Some(arc) = store.get_arc(id) {
                received.insert(id, arc);
            }
        }
    }
    // The program's code, if the node holds it already.
    if let Some(program) = store
        .get(root)
        .filter(|c| c.kind == Kind::Thread)
        .and_then(|c| c.link(0))
    {
        let code = lock(&inner.code);
        if code.contains(program) {
            let _ = code.share_into(&mut store, &[program]);
        }
    }
    let fetched = Arc::new(Mutex::new(IdMap::default()));
    let bridge = Bridge {
        tx: tx.clone(),
        code: inner.code.clone(),
        fetched: fetched.clone(),
        wait,
    };
    let mut vm = match Vm::restore_fetching(store, root, Box::new(bridge)) {
        Ok(vm) => vm,
        Err(err) => {
            return Err(End::Node(format!(
                "the thread does not restore here: {err}"
            )))
        }
    };
    // Keep the program's code for the next migrations.
    {
        let program = vm.loaded().ids.root;
        let mut code = lock(&inner.code);
        if !code.contains(program) {
            let _ = vm.store().share_into(&mut code, &[program]);
        }
    }
    vm.set_output(Box::new(Lines {
        tx: tx.clone(),
        partial: Vec::new(),
    }));
    vm.set_cancel(cancel);
    if inner.no_jit.load(Ordering::SeqCst) {
        vm.set_jit(false);
    }
    {
        let mut running = lock(&inner.running);
        let flag = vm.pause_flag();
        if running.stopping {
            flag.store(true, Ordering::SeqCst);
        }
        running.pause.insert(key, Some(flag));
    }
    // A debugger that asked to attach while the thread was restoring.
    if lock(&inner.table).attach_waits(key) {
        flag_set(&vm);
    }
    lock(&inner.table).named(key, &vm);
    Ok(Here {
        vm,
        received,
        fetched,
    })
}

impl Here {
    /// The end of a thread on the node: finished with `value`, or (none)
    /// handed back, materialized at this safe point.
    pub(crate) fn end(mut self, value: Option<Value>, started_us: u64) -> End {
        let (root, value) = match value {
            Some(value) => {
                let root = match &value {
                    Value::Image { id, .. } | Value::Closure { id, .. } => *id,
                    _ => ChunkId::NIL,
                };
                (root, encode_value(&value))
            }
            None => (self.vm.materialize(), Vec::new()),
        };
        let fetched = lock(&self.fetched);
        let chunks = made_or_changed(self.vm.store(), root, &self.received, &fetched);
        End::Done {
            root,
            chunks,
            instructions: self.vm.instructions(),
            value,
            started_us,
        }
    }
}

/// Sets a thread's pause flag (it stops at its next safe point).
fn flag_set(vm: &Vm) {
    vm.pause_flag().store(true, Ordering::SeqCst);
}

/// Restores and runs the thread of `migration` (on a blocking thread),
/// serving the debuggers that attach to it.
fn run_thread(
    inner: &Inner,
    key: u64,
    migration: Migration,
    tx: mpsc::Sender<Event>,
    cancel: Arc<AtomicBool>,
    wait: Duration,
) -> End {
    let Migration {
        root,
        chunks,
        run_for,
        received_at,
    } = migration;
    let mut here = match restore_here(inner, key, root, chunks, &tx, cancel, wait) {
        Ok(here) => here,
        Err(end) => return end,
    };
    if let Some(n) = run_for {
        here.vm.stop_after(n);
    }
    let started_us = u64::try_from(received_at.elapsed().as_micros()).unwrap_or(u64::MAX);
    let sent: chunkvm::chunk::IdSet = here.received.keys().copied().collect();
    let base = Base::Owner(tx.clone());
    let ended = loop {
        match here.vm.run() {
            Ok(Stop::Finished(value)) => break Ok(Some(value)),
            Ok(Stop::SafePoint) if run_for.is_some() => break Ok(None),
            Ok(Stop::Paused) if lock(&inner.running).stopping => break Ok(None),
            // Paused for a debugger that attaches (or for nothing: it runs on).
            Ok(Stop::Paused) => match on_pause(inner, key, &mut here, &base, &sent) {
                AttachEnd::RunOn => continue,
                AttachEnd::Finished(value) => break Ok(Some(value)),
                AttachEnd::HandBack => break Ok(None),
                AttachEnd::End(end) => return end,
            },
            Ok(_) => continue,
            Err(err) => break Err(err),
        }
    };
    match ended {
        Ok(value) => here.end(value, started_us),
        Err(err) => node_or_program(err),
    }
}

/// A runtime error on the node: the node's failure (a chunk that could not
/// come, a cancel, the output gone) or the program's.
pub(crate) fn node_or_program(err: chunkvm::exec::RuntimeError) -> End {
    match err.kind {
        ErrorKind::Missing | ErrorKind::Cancelled | ErrorKind::OutputClosed => {
            End::Node(format!("the thread stopped on the node: {err}"))
        }
        _ => End::Program(err.message),
    }
}

/// Serials each migration's store may allocate: more chunks than any thread's quota.
pub const SERIAL_RANGE: u64 = 1 << 32;

/// The first range of a node's life: drawn from the clock, so that a restarted node
/// does not hand out again the ids of its last run.
fn first_range() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let pick = (now ^ (now >> 17) ^ std::process::id() as u64) & 0xffff;
    pick * SERIAL_RANGE
}

/// Moves `store`'s allocator to `serial` (its next data id has that serial
/// or a higher one). The store has no call for it: inserting one of its own
/// ids moves the allocator past it.
fn reserve_past(store: &mut Store, serial: u64) {
    if serial > 1 && serial - 1 <= ChunkId::MAX_SERIAL {
        let id = ChunkId::data(store.node(), serial - 1);
        store.insert(id, Chunk::new(Kind::Regs));
        store.remove(id);
    }
}

/// The chunks reachable from `root` in `store` that are not as received:
/// made here, or changed (code never).
pub(crate) fn made_or_changed(
    store: &Store,
    root: ChunkId,
    received: &IdMap<Arc<Chunk>>,
    fetched: &IdMap<Chunk>,
) -> ChunkList {
    let (present, _) = store.reachable_partial(&[root]);
    let mut out = Vec::new();
    for id in present {
        if id.is_code() {
            continue;
        }
        let Some(now) = store.get_arc(id) else {
            continue;
        };
        let same = match (received.get(&id), fetched.get(&id)) {
            (Some(got), _) => Arc::ptr_eq(got, &now) || **got == *now,
            (None, Some(got)) => *got == *now,
            (None, None) => false,
        };
        if !same {
            out.push((id, (*now).clone()));
        }
    }
    out
}
