//! The node's side of a debug session: the thread is restored as for a
//! migration ([`crate::service`]), then held stopped on a blocking thread
//! that does what each `DebugAsk` says, one at a time, while the
//! conversation's task answers the thread's fetches and sends its lines.
//!
//! The session ends with `Done` when the thread finishes or is handed back
//! (a `HandBack`, or the node stopping: the thread comes back at its next
//! safe point), `Failed` never (a runtime error stops the thread with its
//! frames kept, for the debugger to show), and `Error` when the node's side
//! fails. A debugger that goes away takes nothing with it: the client kept
//! its copy of the thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chunkvm::chunk::{IdSet, SLOTS};
use chunkvm::exec::{ErrorKind, Stop, Value};
use tokio::sync::mpsc;

use super::attach::{park, run_parked};
use crate::service::{
    lock, node_or_program, relay_fetch, relay_line, restore_here, DebugOpen, End, Event, Here,
    Inner,
};
use crate::transport::{request_of, Conversation};
use crate::wire::{ChunkInfo, DebugAnswer, DebugAsk, Message, RemoteStop, Residence};

/// How often a thread waiting for an ask looks whether the node is stopping.
pub(crate) const STOPPING_POLL: Duration = Duration::from_millis(100);

/// What the task waits for while the thread waits for an ask.
enum Idle {
    Message(Result<Message, crate::transport::TransportError>),
    Event(Option<Event>),
}

/// Serves the debug session that `Debug` (request `request`) opened.
pub(crate) async fn serve_debug(
    inner: &Arc<Inner>,
    key: u64,
    request: u64,
    conv: &mut Conversation,
    open: DebugOpen,
) -> End {
    let (tx, mut rx) = mpsc::channel::<Event>(64);
    let (asks_tx, asks_rx) = std::sync::mpsc::channel::<(u64, DebugAsk)>();
    let cancel = Arc::new(AtomicBool::new(false));
    let wait = conv.limits().read_timeout.saturating_mul(2);
    let worker = {
        let inner = inner.clone();
        let cancel = cancel.clone();
        let tx = tx.clone();
        tokio::task::spawn_blocking(move || {
            let end = hold_thread(&inner, key, request, open, &tx, asks_rx, cancel, wait);
            let _ = tx.blocking_send(Event::End(end));
        })
    };
    drop(tx);
    // Whether the thread is at work (on the `Debug` or an ask) rather than
    // waiting for the next ask.
    let mut busy = true;
    // Whether the ask at work parks the thread: once it is answered, the session's end
    // (`End::Parked`) follows at once, and a debugger that closes the conversation on
    // the answer must not be taken for one that left (which would drop the thread
    // from the table while it runs on, parked).
    let mut parking = false;
    let end = loop {
        let event = if busy {
            rx.recv().await
        } else {
            let idle = tokio::select! {
                got = conv.recv() => Idle::Message(got),
                event = rx.recv() => Idle::Event(event),
            };
            match idle {
                Idle::Event(event) => event,
                Idle::Message(Ok(Message::DebugAsk { request, ask })) => {
                    parking = matches!(ask, DebugAsk::Park);
                    if asks_tx.send((request, ask)).is_ok() {
                        busy = true;
                    }
                    continue;
                }
                Idle::Message(Ok(other)) => {
                    let reply = Message::Error {
                        request: request_of(&other),
                        message: format!("{} is not part of a debug session", other.kind()),
                    };
                    if conv.send(&reply).await.is_err() {
                        cancel.store(true, Ordering::SeqCst);
                        break End::Node("the debugger's connection is gone".to_string());
                    }
                    continue;
                }
                Idle::Message(Err(err)) => {
                    // The debugger went away (or broke the protocol): the
                    // thread is dropped here; its client kept its copy.
                    cancel.store(true, Ordering::SeqCst);
                    break End::Node(format!("the debugger's conversation ended: {err}"));
                }
            }
        };
        match event {
            Some(Event::Fetch(id, reply)) => relay_fetch(conv, id, reply, &cancel).await,
            Some(Event::Line(line)) => relay_line(conv, line, &cancel).await,
            Some(Event::Answer(request, answer)) => {
                // A park that succeeded: wait for its end, not for the next ask.
                let parked = parking && answer.is_ok();
                let reply = match answer {
                    Ok(answer) => Message::DebugAnswer { request, answer },
                    Err(message) => Message::Error { request, message },
                };
                // A parked thread runs on whether or not the debugger hears of it.
                if conv.send(&reply).await.is_err() && !parked {
                    cancel.store(true, Ordering::SeqCst);
                    break End::Node("the debugger's connection is gone".to_string());
                }
                busy = parked;
            }
            Some(Event::End(end)) => break end,
            None => break End::Node("the node's thread ended without an answer".to_string()),
        }
    };
    drop(asks_tx);
    // A parked thread runs on on its blocking thread: nobody waits for it.
    if !matches!(end, End::Parked) {
        let _ = worker.await;
    }
    end
}

/// Restores the thread and does what the asks say until it finishes, is
/// handed back or the session ends (on a blocking thread).
#[allow(clippy::too_many_arguments)]
fn hold_thread(
    inner: &Arc<Inner>,
    key: u64,
    request: u64,
    open: DebugOpen,
    tx: &mpsc::Sender<Event>,
    asks: Receiver<(u64, DebugAsk)>,
    cancel: Arc<AtomicBool>,
    wait: Duration,
) -> End {
    let DebugOpen {
        root,
        chunks,
        source,
        received_at,
    } = open;
    let sent: IdSet = chunks.iter().map(|(id, _)| *id).collect();
    let mut here = match restore_here(inner, key, root, chunks, tx, cancel, wait) {
        Ok(here) => here,
        Err(end) => return end,
    };
    here.vm.set_source(&source);
    here.vm.keep_frames_on_error(true);
    let started_us = micros(received_at);
    let opened = DebugAnswer::Opened {
        thread: key,
        instructions: here.vm.instructions(),
        started_us,
    };
    if tx
        .blocking_send(Event::Answer(request, Ok(opened)))
        .is_err()
    {
        return End::Node("the debugger's conversation is gone".to_string());
    }
    loop {
        let got = asks.recv_timeout(STOPPING_POLL);
        // A node that stops hands the thread back before it does anything more.
        if lock(&inner.running).stopping {
            return here.end(None, started_us);
        }
        let (request, ask) = match got {
            Ok(got) => got,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                return End::Node("the debugger left".to_string())
            }
        };
        let answer = match ask {
            DebugAsk::HandBack => return here.end(None, started_us),
            DebugAsk::Park => match park(inner, key, &mut here) {
                Ok(()) => {
                    // The answer, then the session's end; the thread runs on here.
                    let _ = tx.blocking_send(Event::Answer(request, Ok(DebugAnswer::Ok)));
                    let _ = tx.blocking_send(Event::End(End::Parked));
                    run_parked(inner, key, here, &sent);
                    return End::Parked;
                }
                Err(why) => Err(why),
            },
            DebugAsk::Terminate => {
                let _ = tx.blocking_send(Event::Answer(request, Ok(DebugAnswer::Ok)));
                return End::Node("the debugger ended the thread".to_string());
            }
            DebugAsk::Detach => Err(
                "this debugger sent the thread: hand it back or park it (detach is for an attached thread)"
                    .to_string(),
            ),
            DebugAsk::Resume { step } => match resume(inner, &mut here, step) {
                Resumed::Stopped(answer) => Ok(answer),
                Resumed::Finished(value) => return here.end(Some(value), started_us),
                Resumed::HandBack => return here.end(None, started_us),
                Resumed::Failed(end) => return end,
            },
            ask => answer_ask(&mut here, ask, &sent),
        };
        lock(&inner.table).counted(key, here.vm.instructions());
        if tx.blocking_send(Event::Answer(request, answer)).is_err() {
            return End::Node("the debugger's conversation is gone".to_string());
        }
    }
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// How a `Resume` ended.
pub(crate) enum Resumed {
    Stopped(DebugAnswer),
    Finished(Value),
    /// The node is stopping: the thread goes back.
    HandBack,
    /// The node's side failed (a chunk that did not come, a cancel).
    Failed(End),
}

pub(crate) fn resume(
    inner: &Inner,
    here: &mut Here,
    step: Option<chunkvm::exec::StepKind>,
) -> Resumed {
    let vm = &mut here.vm;
    // A pause may come before this ask is served (it travels on a stream of its
    // own): it is kept, and cleared once the run has stopped.
    let result = loop {
        let result = match step {
            Some(kind) => vm.step(kind),
            None => vm.run(),
        };
        if !matches!(result, Ok(Stop::SafePoint)) {
            break result;
        }
    };
    if !lock(&inner.running).stopping {
        vm.pause_flag().store(false, Ordering::SeqCst);
    }
    let stop = match result {
        Ok(Stop::Finished(value)) => return Resumed::Finished(value),
        Ok(Stop::Paused) if lock(&inner.running).stopping => return Resumed::HandBack,
        Ok(Stop::Breakpoint) => RemoteStop::Breakpoint,
        Ok(Stop::Paused) => RemoteStop::Paused,
        Ok(_) => RemoteStop::Step,
        Err(err)
            if matches!(
                err.kind,
                ErrorKind::Missing | ErrorKind::Cancelled | ErrorKind::OutputClosed
            ) =>
        {
            return Resumed::Failed(node_or_program(err))
        }
        Err(err) => RemoteStop::Error(err),
    };
    Resumed::Stopped(DebugAnswer::Stopped {
        stop,
        instructions: vm.instructions(),
    })
}

/// Answers an ask that does not run the thread.
pub(crate) fn answer_ask(
    here: &mut Here,
    ask: DebugAsk,
    sent: &IdSet,
) -> Result<DebugAnswer, String> {
    let vm = &mut here.vm;
    Ok(match ask {
        DebugAsk::Breakpoints { lines } => {
            vm.set_breakpoints(&lines);
            DebugAnswer::Ok
        }
        DebugAsk::InstructionBreakpoints { at } => {
            vm.set_instruction_breakpoints(&at);
            DebugAnswer::Ok
        }
        DebugAsk::Stack => DebugAnswer::Stack(vm.stack()),
        DebugAsk::Locals { frame } => DebugAnswer::Variables(vm.locals(frame as usize)),
        DebugAsk::Params => DebugAnswer::Variables(vm.params()),
        DebugAsk::SetLocal { frame, name, value } => {
            vm.set_local(frame as usize, &name, &value)
                .map_err(|e| e.to_string())?;
            DebugAnswer::Ok
        }
        DebugAsk::SetParam { name, value } => {
            vm.set_global(&name, &value).map_err(|e| e.to_string())?;
            DebugAnswer::Ok
        }
        DebugAsk::Chunks => chunks(here, sent),
        DebugAsk::Resume { .. }
        | DebugAsk::HandBack
        | DebugAsk::Detach
        | DebugAsk::Terminate
        | DebugAsk::Park => return Err("internal: a run ask reached the answers".to_string()),
    })
}

/// The chunks reachable from the thread (written at this stop) and where
/// each is: sent ahead, fetched (a code chunk the node held already counts
/// as fetched), made or changed here, or not on the node.
fn chunks(here: &mut Here, sent: &IdSet) -> DebugAnswer {
    let root = here.vm.materialize();
    let store = here.vm.store();
    let (present, missing) = store.reachable_partial(&[root]);
    let fetched = lock(&here.fetched);
    let mut list = Vec::with_capacity(present.len() + missing.len());
    for id in present {
        let Some(now) = store.get_arc(id) else {
            continue;
        };
        let residence = if id.is_code() {
            if sent.contains(&id) {
                Residence::SentAhead
            } else {
                Residence::Fetched
            }
        } else if let Some(got) = here.received.get(&id) {
            if Arc::ptr_eq(got, &now) || **got == *now {
                Residence::SentAhead
            } else {
                Residence::Made
            }
        } else if fetched.get(&id).is_some_and(|got| *got == *now) {
            Residence::Fetched
        } else {
            Residence::Made
        };
        let used = (0..SLOTS)
            .filter(|slot| now.is_link(*slot) || now.get(*slot) != 0)
            .count() as u32;
        list.push(ChunkInfo {
            id,
            kind: format!("{:?}", now.kind),
            slots_used: used,
            links: now.links_iter().filter(|l| !l.is_nil()).collect(),
            residence,
        });
    }
    for id in missing {
        list.push(ChunkInfo {
            id,
            kind: String::new(),
            slots_used: 0,
            links: Vec::new(),
            residence: Residence::NotThere,
        });
    }
    DebugAnswer::Chunks { root, chunks: list }
}
