//! Attaching a debugger to a thread a node holds, through the library API:
//! the node's thread table; an attach to a thread a client migrated there,
//! whose stack and locals equal a local copy's at the same instruction,
//! stepped, then detached (its owner's output and instruction count are a
//! local run's); a thread ended from the debugger (its owner hears why); a
//! thread parked by its debugger and attached again later; a thread taken
//! home by its debugger (it goes on here; its owner hears why); an unknown
//! thread and a program that is not the thread's.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chunkvm::exec::{StepKind, Stop, Value, Vm};
use chunkvm_node::debug::{OnLine, RemoteStop};
use chunkvm_node::{
    migrate, AttachError, Client, MigrateFailure, MigrateOptions, Prefetch, RemoteThread, Resumed,
    ThreadInfo, ThreadState,
};
use common::{bounded, connect, node, plain};

/// A thread that runs a few seconds: 40 rounds of a long loop, a line each.
const LONG: &str = r#"
fn work(n: int) -> int {
    var spin = 0;
    for k in 0..n {
        spin += k % 7;
    }
    spin
}

fn main() {
    var total = 0;
    for round in 0..40 {
        total += work(400000);
        print("round", round, total);
    }
    print("total", total);
}
"#;

/// What a local run of `source` prints, and its instruction count.
fn local_run(source: &str) -> (String, u64) {
    let (mut vm, printed) = plain(source);
    vm.run_to_end().unwrap();
    (printed.text(), vm.instructions())
}

/// The debugger's copy of the program of `source`.
fn make_local(source: &str) -> Result<Vm, String> {
    let (_, program) = chunkvm::driver::build(source).map_err(|_| "does not build".to_string())?;
    Ok(Vm::new(program))
}

/// Lines handed to a sink.
fn lines_sink() -> (Arc<Mutex<Vec<String>>>, OnLine) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    (lines, Box::new(move |line| sink.lock().unwrap().push(line)))
}

/// Waits until the node lists a thread that `pick` accepts.
async fn listed(client: &Client, pick: impl Fn(&ThreadInfo) -> bool) -> ThreadInfo {
    loop {
        let threads = client.threads().await.unwrap();
        if let Some(found) = threads.into_iter().find(|t| pick(t)) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What the owner of a migrated thread got: its lines and the outcome.
type Owned = (
    Vec<String>,
    Result<chunkvm_node::MigrateReport, chunkvm_node::MigrateError>,
);

/// A node whose threads run in the interpreter only: [`LONG`] is sized for its
/// speed (with the JIT a parked thread could end before a test lists it).
fn interpreted(name: &str) -> common::Node {
    let node = node(name);
    node.service.set_jit(false);
    node
}

/// Migrates a fresh `main` of [`LONG`] to the node of `owner` in a task of
/// its own.
fn migrate_long(owner: Client) -> tokio::task::JoinHandle<Owned> {
    tokio::spawn(async move {
        let (mut vm, _) = plain(LONG);
        let mut lines = Vec::new();
        let got = migrate(&owner, &mut vm, &MigrateOptions::default(), |line| {
            lines.push(line)
        })
        .await;
        (lines, got)
    })
}

/// A local copy of [`LONG`] run to instruction `at` (a safe point).
fn local_at(at: u64) -> Vm {
    let (mut vm, _) = plain(LONG);
    vm.set_source(LONG);
    vm.stop_after(at);
    assert_eq!(vm.run().unwrap(), Stop::SafePoint);
    assert_eq!(vm.instructions(), at);
    vm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_thread_steps_reads_as_here_and_runs_on_for_its_owner() {
    bounded(async {
        let node = interpreted("attach-detach");
        let owned = migrate_long(connect(&node).await);
        let debugger = Arc::new(connect(&node).await);
        let running = listed(&debugger, |t| t.name == "main").await;
        assert_eq!(running.state, ThreadState::Running);
        assert!(running.owner.ends_with("node 1"), "{running:?}");
        assert!(running.result.is_empty());
        let (printed, sink) = lines_sink();
        let (mut remote, found) =
            RemoteThread::attach(debugger.clone(), running.id, Some(LONG), make_local, sink)
                .await
                .unwrap();
        assert_eq!(found.thread, running.id);
        assert_eq!(found.name, "main");
        // The node had no source for a migrated thread: it took the debugger's.
        assert_eq!(found.source, LONG);
        let attached = listed(&debugger, |t| t.id == running.id).await;
        assert_eq!(attached.state, ThreadState::Attached);
        // Stopped at a safe point: the same stack and locals as a local copy
        // run to the same instruction.
        let mut here = local_at(found.instructions);
        assert_eq!(remote.stack().await.unwrap(), here.stack());
        for frame in 0..here.stack().len() {
            assert_eq!(remote.locals(frame).await.unwrap(), here.locals(frame));
        }
        // Steps land where they land here.
        for kind in [StepKind::Over, StepKind::Instruction, StepKind::Out] {
            let there = remote.resume(Some(kind)).await.unwrap();
            let stop = loop {
                match here.step(kind) {
                    Ok(Stop::SafePoint) => continue,
                    got => break got.unwrap(),
                }
            };
            assert_eq!(stop, Stop::Step);
            assert_eq!(
                there,
                Resumed::Stopped {
                    stop: RemoteStop::Step,
                    instructions: here.instructions()
                }
            );
            assert_eq!(remote.stack().await.unwrap(), here.stack());
            assert_eq!(remote.locals(0).await.unwrap(), here.locals(0));
        }
        remote.detach().await.unwrap();
        // The owner gets what a local run makes, as if nobody had attached.
        let (lines, got) = owned.await.unwrap();
        let report = got.unwrap();
        let (expected, count) = local_run(LONG);
        assert_eq!(lines.join("\n") + "\n", expected);
        assert_eq!(report.finished, Some(Value::Unit));
        assert_eq!(report.instructions, count);
        // The debugger saw no line of the owner's after it left; it is gone
        // from the table.
        assert!(printed.lock().unwrap().len() <= lines.len());
        let threads = debugger.threads().await.unwrap();
        assert!(threads.iter().all(|t| t.id != running.id), "{threads:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_ended_by_a_debugger_fails_for_its_owner_with_why() {
    bounded(async {
        let node = interpreted("attach-terminate");
        let owned = migrate_long(connect(&node).await);
        let debugger = Arc::new(connect(&node).await);
        let running = listed(&debugger, |t| t.name == "main").await;
        let (_, sink) = lines_sink();
        let (remote, _) =
            RemoteThread::attach(debugger.clone(), running.id, Some(LONG), make_local, sink)
                .await
                .unwrap();
        remote.terminate().await.unwrap();
        let (_, got) = owned.await.unwrap();
        let err = got.unwrap_err();
        match &err.failure {
            MigrateFailure::Program(why) => {
                assert!(why.starts_with("ended by a debugger at "), "{why}");
                assert!(why.contains("line"), "{why}");
            }
            other => panic!("expected the program's failure, got {other:?}"),
        }
        // The owner does not run it again.
        assert!(!err.thread_is_good());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_thread_runs_on_and_is_attached_again() {
    bounded(async {
        let node = interpreted("attach-park");
        // A debugger launches the thread on the node, sending nothing ahead
        // but the Thread chunk, then parks it and goes.
        let first = Arc::new(connect(&node).await);
        let (vm, _) = plain(LONG);
        let (_, sink) = lines_sink();
        let (remote, _) = RemoteThread::open(first.clone(), vm, LONG, Prefetch::OnDemand, sink)
            .await
            .unwrap();
        let id = remote.park().await.unwrap();
        Arc::try_unwrap(first).unwrap().close().await;
        // Another debugger finds it parked and attaches (the node has its
        // source), then lets it go on.
        let second = Arc::new(connect(&node).await);
        let parked = listed(&second, |t| t.id == id).await;
        assert_eq!(parked.state, ThreadState::Parked);
        assert_eq!(parked.name, "main");
        let (_, sink) = lines_sink();
        let (mut remote, found) = RemoteThread::attach(second.clone(), id, None, make_local, sink)
            .await
            .unwrap();
        assert_eq!(found.source, LONG);
        let here = local_at(found.instructions);
        assert_eq!(remote.stack().await.unwrap(), here.stack());
        assert_eq!(remote.locals(0).await.unwrap(), here.locals(0));
        remote.detach().await.unwrap();
        // It ends on the node; its result and output stay in the table.
        let ended = listed(&second, |t| t.id == id && t.state == ThreadState::Ended).await;
        assert_eq!(ended.result, "finished: ()");
        let (expected, count) = local_run(LONG);
        assert_eq!(ended.output.join("\n") + "\n", expected);
        assert_eq!(ended.instructions, count);
        // An attach to it now says it ended.
        let (_, sink) = lines_sink();
        let err = RemoteThread::attach(second.clone(), id, None, make_local, sink)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AttachError::Refused(why) if why.contains("has ended: finished: ()")),
            "{err}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_thread_is_refused_with_the_list() {
    bounded(async {
        let node = interpreted("attach-unknown");
        let owned = migrate_long(connect(&node).await);
        let debugger = Arc::new(connect(&node).await);
        let running = listed(&debugger, |t| t.name == "main").await;
        let (_, sink) = lines_sink();
        let err = RemoteThread::attach(debugger.clone(), 999_999, None, make_local, sink)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("holds no thread 999999"), "{text}");
        assert!(
            text.contains(&format!("{} main (running)", running.id)),
            "{text}"
        );
        // A program that is not the thread's is refused too, and the thread
        // runs on untouched.
        let (_, sink) = lines_sink();
        let other = LONG.replace("400000", "400001");
        let err =
            RemoteThread::attach(debugger.clone(), running.id, Some(&other), make_local, sink)
                .await
                .unwrap_err();
        assert!(matches!(err, AttachError::Program(_)), "{err}");
        let (lines, got) = owned.await.unwrap();
        assert_eq!(lines.join("\n") + "\n", local_run(LONG).0);
        assert!(got.is_ok());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_thread_taken_home_runs_on_here_and_its_owner_hears_why() {
    bounded(async {
        let node = interpreted("attach-home");
        let owned = migrate_long(connect(&node).await);
        let debugger = Arc::new(connect(&node).await);
        let running = listed(&debugger, |t| t.name == "main").await;
        let (_, sink) = lines_sink();
        let (remote, found) =
            RemoteThread::attach(debugger.clone(), running.id, Some(LONG), make_local, sink)
                .await
                .unwrap();
        // The node fetches what it lacks from the owner, then hands over the
        // whole thread: it goes on here where it was there.
        let (mut home, _) = remote.hand_back().await.unwrap();
        assert_eq!(home.instructions(), found.instructions);
        let here = local_at(found.instructions);
        home.set_source(LONG);
        assert_eq!(home.stack(), here.stack());
        assert_eq!(home.locals(0), here.locals(0));
        let printed = chunkvm::exec::Capture::new();
        home.set_output(Box::new(printed.clone()));
        assert_eq!(home.run_to_end().unwrap(), Value::Unit);
        let (expected, count) = local_run(LONG);
        assert_eq!(home.instructions(), count);
        // The owner printed the lines before, this copy the rest; the owner
        // is told a debugger took the thread, and does not run it again.
        let (lines, got) = owned.await.unwrap();
        let mut all = lines.join("\n");
        if !all.is_empty() {
            all.push('\n');
        }
        all.push_str(&printed.text());
        assert_eq!(all, expected);
        let err = got.unwrap_err();
        assert!(
            matches!(&err.failure, MigrateFailure::Program(why) if why.starts_with("taken by a debugger at ")),
            "{err:?}"
        );
        assert!(!err.thread_is_good());
    })
    .await;
}
