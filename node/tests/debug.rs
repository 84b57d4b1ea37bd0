//! Debugging a thread held by a node, through the library API: every
//! answer the node gives (stops, stacks, locals, params) equals what the
//! same asks give on a local copy of the thread; breakpoints, steps, pause,
//! setting locals, the thread's chunks and where they are, a runtime error,
//! a hand-back and a node that stops under a held thread.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use chunkvm::exec::{StepKind, Stop, Value, Vm};
use chunkvm_node::debug::{OnLine, RemoteStop, Residence};
use chunkvm_node::{DebugError, Prefetch, RemoteThread, Resumed};
use common::{bounded, connect, node, plain};

/// A program with calls, arrays and prints; `#BP` marks the breakpoint.
const PROGRAM: &str = r#"
fn square(x: int) -> int {
    let y = x * x;
    y
}

fn main() {
    var total = 0;
    let grid = [1, 2, 3, 4];
    for i in 0..4 {
        total += square(grid[i]); // #BP
        print("i", i, total);
    }
    print("total", total);
}
"#;

/// A loop that runs long enough to be paused.
const SPINNER: &str = r#"
fn main() {
    var spin = 0;
    for k in 0..200000000 {
        spin += k % 7;
    }
    print(spin);
}
"#;

/// A program that fails in a call.
const FAILING: &str = r#"
fn pick(items: [int; 3], at: int) -> int {
    items[at]
}

fn main() {
    let items = [4, 5, 6];
    var sum = 0;
    for i in 0..5 {
        sum += pick(items, i);
    }
    print(sum);
}
"#;

/// The 1-based line of the first line of `source` holding `marker`.
fn line_of(source: &str, marker: &str) -> u32 {
    source
        .lines()
        .position(|line| line.contains(marker))
        .map(|idx| idx as u32 + 1)
        .unwrap()
}

/// A started `main` of `source` that knows its lines.
fn debuggee(source: &str) -> Vm {
    let (mut vm, _) = plain(source);
    vm.set_source(source);
    vm.keep_frames_on_error(true);
    vm
}

/// Runs the local copy as the node runs a `Resume`.
fn resume_here(vm: &mut Vm, step: Option<StepKind>) -> Result<Stop, chunkvm::exec::RuntimeError> {
    loop {
        let got = match step {
            Some(kind) => vm.step(kind),
            None => vm.run(),
        };
        if !matches!(got, Ok(Stop::SafePoint)) {
            return got;
        }
    }
}

/// Lines the node printed.
fn lines_sink() -> (Arc<Mutex<Vec<String>>>, OnLine) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    (lines, Box::new(move |line| sink.lock().unwrap().push(line)))
}

/// Compares the node's stack and every frame's locals and the params with
/// the local copy's.
async fn same_view(remote: &mut RemoteThread, here: &Vm) {
    let stack = remote.stack().await.unwrap();
    assert_eq!(stack, here.stack());
    for frame in 0..stack.len() {
        assert_eq!(remote.locals(frame).await.unwrap(), here.locals(frame));
    }
    let params = remote.params().await.unwrap();
    assert_eq!(params.len(), here.program().globals.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_on_a_node_steps_and_reads_as_it_does_here() {
    bounded(async {
        let bp = line_of(PROGRAM, "#BP");
        let node = node("debug-steps");
        let client = Arc::new(connect(&node).await);
        // The thread stops on the breakpoint here, then moves.
        let mut vm = debuggee(PROGRAM);
        vm.set_breakpoints(&[bp]);
        assert_eq!(resume_here(&mut vm, None).unwrap(), Stop::Breakpoint);
        let (mut here, here_printed) = plain(PROGRAM);
        here.set_source(PROGRAM);
        here.keep_frames_on_error(true);
        here.set_breakpoints(&[bp]);
        resume_here(&mut here, None).unwrap();
        let printed_before = here_printed.text().len();
        let (lines, sink) = lines_sink();
        let (mut remote, report) =
            RemoteThread::open(client.clone(), vm, PROGRAM, Prefetch::Graph, sink)
                .await
                .unwrap();
        assert!(report.sent_ahead.chunks > 0);
        assert_eq!(remote.node_name(), node.identity.name());
        // A thread arrives with no breakpoints: the debugger sets them.
        remote.set_breakpoints(&[bp]).await.unwrap();
        same_view(&mut remote, &here).await;
        // Steps of each kind, then a continue to the breakpoint: each stop is
        // the same as here, with the same instruction count.
        let steps = [
            Some(StepKind::Into),
            Some(StepKind::Over),
            Some(StepKind::Out),
            Some(StepKind::Over),
            Some(StepKind::Instruction),
            None,
            Some(StepKind::Over),
        ];
        for step in steps {
            let got = remote.resume(step).await.unwrap();
            let want = resume_here(&mut here, step).unwrap();
            let Resumed::Stopped { stop, instructions } = got else {
                panic!("the thread finished on {step:?}");
            };
            let want = match want {
                Stop::Breakpoint => RemoteStop::Breakpoint,
                Stop::Paused => RemoteStop::Paused,
                _ => RemoteStop::Step,
            };
            assert_eq!(stop, want, "after {step:?}");
            assert_eq!(instructions, here.instructions(), "after {step:?}");
            same_view(&mut remote, &here).await;
        }
        // Setting a local there is seen there.
        remote
            .set_local(0, "total", &Value::Int(100))
            .await
            .unwrap();
        here.set_local(0, "total", &Value::Int(100)).unwrap();
        same_view(&mut remote, &here).await;
        let refused = remote
            .set_local(0, "nothing", &Value::Int(1))
            .await
            .unwrap_err();
        assert!(matches!(refused, DebugError::Refused(_)), "{refused}");
        // The session goes on after a refused ask; breakpoints cleared, the
        // thread finishes there, printing what it prints here.
        remote.set_breakpoints(&[]).await.unwrap();
        here.set_breakpoints(&[]);
        let done = remote.resume(None).await.unwrap();
        assert_eq!(
            resume_here(&mut here, None).unwrap(),
            Stop::Finished(Value::Unit)
        );
        assert_eq!(done, Resumed::Finished(Value::Unit));
        assert!(remote.is_home());
        let printed = lines.lock().unwrap().join("\n") + "\n";
        // The node printed what the copy here printed since the move.
        assert_eq!(printed, here_printed.text()[printed_before..]);
        assert!(printed.contains("total 125"), "{printed}");
        let _ = remote.into_local();
        node.service.wait_idle().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_thread_handed_back_finishes_here_as_a_local_run() {
    bounded(async {
        let node = node("debug-pause");
        let client = Arc::new(connect(&node).await);
        let (mut reference, expected) = plain(SPINNER);
        reference.stop_after(3_000_000);
        let vm = debuggee(SPINNER);
        let (_, sink) = lines_sink();
        let (mut remote, _) =
            RemoteThread::open(client.clone(), vm, SPINNER, Prefetch::OnDemand, sink)
                .await
                .unwrap();
        let pauser = remote.pauser();
        let pausing = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            pauser.pause().await
        });
        let stopped = remote.resume(None).await.unwrap();
        pausing.await.unwrap().unwrap();
        let Resumed::Stopped {
            stop: RemoteStop::Paused,
            instructions,
        } = stopped
        else {
            panic!("not paused: {stopped:?}");
        };
        assert!(instructions > 0);
        let stack = remote.stack().await.unwrap();
        assert_eq!(stack[0].function, "main");
        // Home again: it goes on here from where it paused there.
        let (mut vm, report) = remote.hand_back().await.unwrap();
        assert_eq!(vm.instructions(), instructions);
        assert!(report.returned.chunks > 0);
        let capture = chunkvm::exec::Capture::new();
        vm.set_output(Box::new(capture.clone()));
        vm.run_to_end().unwrap();
        reference.stop_after(u64::MAX);
        reference.run_to_end().unwrap();
        assert_eq!(capture.text(), expected.text());
        assert_eq!(vm.instructions(), reference.instructions());
        node.service.wait_idle().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chunks_of_a_held_thread_say_where_they_are() {
    bounded(async {
        let bp = line_of(PROGRAM, "#BP");
        let node = node("debug-chunks");
        let client = Arc::new(connect(&node).await);
        let mut vm = debuggee(PROGRAM);
        vm.set_breakpoints(&[bp]);
        resume_here(&mut vm, None).unwrap();
        let here_root = vm.materialize();
        let (everything, _) = vm.store().reachable_partial(&[here_root]);
        let (_, sink) = lines_sink();
        let (mut remote, report) =
            RemoteThread::open(client.clone(), vm, PROGRAM, Prefetch::OnDemand, sink)
                .await
                .unwrap();
        let (root, chunks) = remote.chunks().await.unwrap();
        // The Thread chunk is written at this stop, there.
        assert!(chunks
            .iter()
            .any(|c| c.id == root && c.kind == "Thread" && c.residence == Residence::Made));
        let count = |r: Residence| chunks.iter().filter(|c| c.residence == r).count();
        // On demand: only the Thread chunk went ahead (replaced since), what
        // the restore read was fetched, and the rest is still only here.
        assert_eq!(report.sent_ahead.chunks, 1);
        assert!(count(Residence::Fetched) > 0);
        assert!(count(Residence::NotThere) > 0, "{chunks:?}");
        // A step makes and changes chunks there.
        remote.resume(Some(StepKind::Over)).await.unwrap();
        let (_, after) = remote.chunks().await.unwrap();
        assert!(after.iter().any(|c| c.residence == Residence::Made));
        // Every chunk it lists is one this thread reaches (here or there).
        for chunk in &after {
            if chunk.residence == Residence::NotThere {
                assert!(everything.contains(&chunk.id), "{chunk:?}");
            }
        }
        let (vm, _) = remote.hand_back().await.unwrap();
        assert!(vm.instructions() > 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_error_there_stops_the_thread_with_its_stack() {
    bounded(async {
        let node = node("debug-error");
        let client = Arc::new(connect(&node).await);
        let vm = debuggee(FAILING);
        let (_, sink) = lines_sink();
        let (mut remote, _) =
            RemoteThread::open(client.clone(), vm, FAILING, Prefetch::Graph, sink)
                .await
                .unwrap();
        let got = remote.resume(None).await.unwrap();
        let Resumed::Stopped {
            stop: RemoteStop::Error(err),
            ..
        } = got
        else {
            panic!("no error: {got:?}");
        };
        assert!(err.message.contains("out of"), "{}", err.message);
        let stack = remote.stack().await.unwrap();
        let names: Vec<&str> = stack.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(names, ["pick", "main"]);
        let locals = remote.locals(0).await.unwrap();
        let at = locals.iter().find(|v| v.name == "at").unwrap();
        assert_eq!(at.value, Value::Int(3));
        drop(remote);
        node.service.wait_idle().await;
        assert_eq!(node.service.running(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_hands_a_held_thread_back() {
    bounded(async {
        let bp = line_of(PROGRAM, "#BP");
        let node = node("debug-stop");
        let client = Arc::new(connect(&node).await);
        let (mut reference, expected) = plain(PROGRAM);
        reference.run_to_end().unwrap();
        let (mut vm, capture) = plain(PROGRAM);
        vm.set_source(PROGRAM);
        vm.set_breakpoints(&[bp]);
        resume_here(&mut vm, None).unwrap();
        let (lines, sink) = lines_sink();
        let (mut remote, _) =
            RemoteThread::open(client.clone(), vm, PROGRAM, Prefetch::Graph, sink)
                .await
                .unwrap();
        remote.resume(Some(StepKind::Over)).await.unwrap();
        remote.resume(Some(StepKind::Over)).await.unwrap();
        node.service.stop();
        // The next ask finds the thread home, where it stopped there.
        let err = loop {
            match remote.stack().await {
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                Err(err) => break err,
            }
        };
        assert!(matches!(err, DebugError::CameHome), "{err}");
        let mut vm = remote.into_local();
        vm.set_output(Box::new(capture.clone()));
        vm.run_to_end().unwrap();
        // The lines the node printed came to `lines`, the rest to the capture.
        let mut printed: String = lines
            .lock()
            .unwrap()
            .iter()
            .map(|line| format!("{line}\n"))
            .collect();
        printed.push_str(&capture.text());
        assert_eq!(printed, expected.text());
        assert_eq!(vm.instructions(), reference.instructions());
        node.service.wait_idle().await;
    })
    .await;
}
