//! The custom request `migrate` {threadId, node, tokenFile?}: moves the stopped thread
//! to a `chunkvm` node (`quic://HOST:PORT`) or home (`local`), through the node
//! protocol's debug sessions ([`chunkvm_node::debug`]). The session goes on: the same
//! thread id keeps stepping, and every request now answers from where the thread is.
//! A move that fails leaves the thread where it was, stopped. A running thread moves
//! at its next safe point and runs on there; the response comes once it has moved
//! (an error if the program ends first).
//!
//! After the response: an output line (what moved, how long it took), the custom
//! event `chunkvm/migrated` {threadId, from, to, chunks, bytes, ms} and `invalidated`
//! (threads, stacks, variables), so that clients read the thread's new name and state.

use crate::adapter::{After, Handled};
use crate::debuggee::{Debuggee, Moved};
use crate::protocol::{arguments, output, response, DapError, Request};
use crate::run::migrated;
use crate::session::{RunState, Session, Shared, THREAD_ID};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// The arguments of `migrate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrateArgs {
    /// The thread.
    pub thread_id: i64,
    /// `quic://HOST:PORT`, or `local` to bring it home.
    pub node: String,
    /// The node's token file (default: the token of a node started on this machine).
    #[serde(default)]
    pub token_file: Option<String>,
    /// The node's certificate fingerprint (`chunkvm serve` prints it): pins it instead
    /// of trusting the node on first use.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// Where to move a thread: a node (`quic://HOST:PORT`) or `local`, with what reaches it.
#[derive(Clone, Debug, Default)]
pub struct Destination {
    /// `quic://HOST:PORT` or `local`.
    pub node: String,
    /// The node's token file.
    pub token_file: Option<PathBuf>,
    /// The node's certificate fingerprint, pinned.
    pub fingerprint: Option<String>,
}

/// `migrate`.
pub fn migrate(shared: &Arc<Shared>, request: &Request) -> Handled {
    let moved = (|| {
        let args: MigrateArgs = arguments(request)?;
        {
            let session = shared.lock();
            if session.bands.is_some() {
                if !session.has_thread(args.thread_id) {
                    return Err(session.no_thread(args.thread_id));
                }
                return Err(DapError::user(format!(
                    "thread {} is a band of a run in bands: migrate works on a one-thread run: launch with threads: 1",
                    args.thread_id
                )));
            }
        }
        if args.thread_id != THREAD_ID {
            return Err(DapError::user(format!("no thread {}", args.thread_id)));
        }
        let to = Destination {
            node: args.node,
            token_file: args.token_file.map(PathBuf::from),
            fingerprint: args.fingerprint,
        };
        let mut session = shared.lock();
        match session.state {
            RunState::Stopped => {}
            RunState::Running => {
                // It moves at its next safe point and runs on there; the response
                // comes then.
                if session.pending_move.is_some() {
                    return Err(DapError::user("a migration of the thread is under way"));
                }
                session.pending_move = Some((to, request.seq));
                session.pause_all();
                return Ok(None);
            }
            RunState::NotLaunched => return Err(DapError::user("no program was launched")),
            RunState::Terminated => return Err(DapError::user("the program has ended")),
        }
        move_thread(&mut session, &to).map(Some)
    })();
    match moved {
        Ok(Some(moved)) => {
            let body = body(&moved);
            let then = Box::new(move |shared: &Arc<Shared>| announce(shared, &moved));
            (Ok(body), After::Then(then))
        }
        Ok(None) => (Ok(json!({})), After::Later),
        Err(err) => (Err(err), After::Nothing),
    }
}

/// The response's body for a move.
fn body(moved: &Moved) -> serde_json::Value {
    json!({
        "from": moved.from,
        "to": moved.to,
        "chunks": moved.chunks,
        "bytes": moved.bytes,
        "ms": moved.ms,
    })
}

/// Moves a running thread, paused at a safe point on the run thread for the
/// migration asked by request `seq`, and answers that request.
pub fn move_now(shared: &Arc<Shared>, thread: &mut Debuggee, to: &Destination, seq: i64) {
    let moved = {
        let mut session = shared.lock();
        let moved = move_debuggee(&mut session, thread, to);
        session.pauses = thread.pause().into_iter().collect();
        session.node = thread.node().map(str::to_string);
        moved
    };
    let reply = moved.as_ref().map(body).map_err(Clone::clone);
    shared.send(response(seq, "migrate", &reply));
    if let Ok(moved) = moved {
        shared.send(output(
            "console",
            &format!(
                "migrated the thread from {} to {} at a safe point: {} chunks ({}) in {:.1} ms\n",
                moved.from,
                moved.to,
                moved.chunks,
                bytes(moved.bytes),
                moved.ms
            ),
        ));
        migrated(shared, thread, Some(&moved));
    }
}

/// Moves the session's stopped thread to `to`.
pub fn move_thread(session: &mut Session, to: &Destination) -> Result<Moved, DapError> {
    let mut thread = session
        .threads
        .first_mut()
        .and_then(|band| band.thread.take())
        .ok_or_else(|| DapError::internal("a stopped session without its thread"))?;
    let moved = move_debuggee(session, &mut thread, to);
    session.pauses = thread.pause().into_iter().collect();
    session.node = thread.node().map(str::to_string);
    if let Some(band) = session.threads.first_mut() {
        band.thread = Some(thread);
    }
    session.handles.clear();
    moved
}

/// Moves `thread` to `to` (`quic://HOST:PORT` or `local`) with the session's
/// connections and breakpoints.
fn move_debuggee(
    session: &mut Session,
    thread: &mut Debuggee,
    to: &Destination,
) -> Result<Moved, DapError> {
    let node = to.node.as_str();
    let stops = session.stops();
    if node == "local" {
        return thread.come_home();
    }
    chunkvm_node::reach::node_address(node)
        .map_err(|why| DapError::user(format!("`node`: {why}, or `local`")))?;
    let pin = match to.fingerprint.as_deref() {
        Some(text) => Some(
            text.parse::<chunkvm_node::Fingerprint>()
                .map_err(|why| DapError::user(format!("`fingerprint`: {why}")))?,
        ),
        None => None,
    };
    let runtime = node_runtime(session)?;
    let client = match session.clients.get(node) {
        Some(client) if client.connection().close_reason().is_none() => client.clone(),
        _ => {
            let client = runtime
                .block_on(chunkvm_node::reach::connect(
                    node,
                    to.token_file.as_deref(),
                    pin,
                    &chunkvm_node::reach::interactive(),
                ))
                .map(Arc::new)
                .map_err(|why| DapError::user(format!("{why}; the thread stays where it was")))?;
            session.clients.insert(node.to_string(), client.clone());
            client
        }
    };
    let moved = thread.move_to(client, node, runtime, &stops);
    if moved.is_err() {
        // A connection that failed is made again next time.
        session.clients.remove(node);
    }
    moved
}

/// The runtime of the session's node connections, made the first time.
pub fn node_runtime(session: &mut Session) -> Result<Arc<tokio::runtime::Runtime>, DapError> {
    if let Some(runtime) = &session.runtime {
        return Ok(runtime.clone());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("chop-dap node")
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|err| DapError::internal(format!("cannot start the node runtime: {err}")))?;
    session.runtime = Some(runtime.clone());
    Ok(runtime)
}

/// Tells the client what moved.
pub fn announce(shared: &Arc<Shared>, moved: &Moved) {
    shared.send(output(
        "console",
        &format!(
            "migrated the thread from {} to {}: {} chunks ({}) in {:.1} ms\n",
            moved.from,
            moved.to,
            moved.chunks,
            bytes(moved.bytes),
            moved.ms
        ),
    ));
    let session = shared.lock();
    if let Some(thread) = session
        .threads
        .first()
        .and_then(|band| band.thread.as_ref())
    {
        migrated(shared, thread, Some(moved));
    }
}

/// Bytes for people.
fn bytes(n: u64) -> String {
    if n >= 10 << 20 {
        format!("{:.1} MB", n as f64 / (1 << 20) as f64)
    } else if n >= 10 << 10 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}
