//! Migration over the node transport, end to end on 127.0.0.1: a thread
//! stopped anywhere and moved to a node (with each prefetch policy) prints
//! and makes exactly what a local run does, in as many instructions; it
//! comes back mid-run, hops between nodes, is handed back by a node that
//! stops, and survives a node that dies under it.

#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chunkvm::exec::{Capture, Stop, Vm};
use chunkvm::photo::{self, Compiled, Input, Rgba8, RunOptions};
use chunkvm_node::{
    migrate, Client, MigrateFailure, MigrateOptions, MigrateReport, Prefetch, SkipLines,
};
use common::{bounded, connect, node, plain};

const POLICIES: [Prefetch; 3] = [Prefetch::OnDemand, Prefetch::Graph, Prefetch::Eager];

/// A plain program: loops, arrays, closures, prints.
const PROGRAM: &str = r#"
fn make_counter() -> fn() -> int {
    var count = 0;
    fn() -> int {
        count += 1;
        count
    }
}

fn main() {
    let counter = make_counter();
    var grid = [0; 300];
    var total = 0;
    for i in 0..300 {
        grid[i] = i * i % 97;
    }
    for round in 0..6 {
        var sum = 0;
        for i in 0..300 {
            sum += grid[i];
            grid[i] = (grid[i] + round + counter()) % 101;
        }
        total += sum;
        print("round", round, sum, counter());
    }
    let add = fn(x: int) -> int { x + total };
    print(add(1), grid[7], grid[299]);
}
"#;

/// A program that prints "filled", spins, prints "start", then reads its
/// array in a long loop (a node that received it lazily fetches the array
/// after "start").
const STARTER: &str = r#"
fn main() {
    var data = [0; 2000];
    for i in 0..2000 {
        data[i] = i % 13;
    }
    print("filled");
    var spin = 0;
    for k in 0..50 {
        spin += k;
    }
    print("start", spin);
    var total = 0;
    for round in 0..40 {
        for i in 0..2000 {
            total += data[i] * round;
        }
    }
    print("total", total);
}
"#;

/// Runs to the first safe point at or after `at` instructions in all; false
/// if the run finished first.
fn run_to(vm: &mut Vm, at: u64) -> bool {
    vm.stop_after(at.saturating_sub(vm.instructions()).max(1));
    loop {
        match vm.run().unwrap() {
            Stop::SafePoint => return true,
            Stop::Finished(_) => return false,
            _ => continue,
        }
    }
}

/// A photo with detail in every tile: 37x29, so edge tiles are partial.
fn image() -> Rgba8 {
    let (width, height) = (37u32, 29u32);
    let mut pixels = Vec::new();
    for y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(&[(x * 7) as u8, (y * 9) as u8, ((x * y) % 251) as u8, 255]);
        }
    }
    Rgba8 {
        width,
        height,
        pixels,
    }
}

fn box_blur() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/box_blur.chop");
    std::fs::read_to_string(path).unwrap()
}

/// A box blur run over [`image`] made a thread.
fn blur_job() -> Vm {
    let source = box_blur();
    let (analyzed, program) = chunkvm::driver::build(&source).unwrap();
    photo::start(
        Compiled::of(&analyzed, program),
        None,
        &Input::Image(Cow::Owned(image())),
        &RunOptions::default(),
    )
    .unwrap()
    .vm
}

/// Migrates `vm`, its node's lines going to `capture`; the report.
async fn hop(
    client: &Client,
    vm: &mut Vm,
    options: MigrateOptions,
    capture: &Capture,
) -> MigrateReport {
    let mut sink = capture.clone();
    let report = migrate(client, vm, &options, |line| {
        writeln!(sink, "{line}").unwrap();
    })
    .await
    .unwrap_or_else(|e| panic!("migration failed: {e}"));
    assert_eq!(report.resent, 0, "a chunk crossed the wire twice");
    if report.finished.is_none() {
        vm.set_output(Box::new(capture.clone()));
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_program_moved_at_20_points_prints_the_same_with_each_policy() {
    bounded(async {
        let (mut reference, expected) = plain(PROGRAM);
        reference.run_to_end().unwrap();
        let total = reference.instructions();
        let expected = expected.text();
        assert!(expected.lines().count() == 7, "{expected}");
        let node = node("plain");
        let client = connect(&node).await;
        for prefetch in POLICIES {
            for step in 1..=20u64 {
                let at = total * step / 21;
                let (mut vm, capture) = plain(PROGRAM);
                assert!(run_to(&mut vm, at));
                let before = vm.instructions();
                let options = MigrateOptions {
                    prefetch,
                    run_for: None,
                };
                let report = hop(&client, &mut vm, options, &capture).await;
                assert!(report.finished.is_some(), "{prefetch:?} at {at}");
                assert_eq!(capture.text(), expected, "{prefetch:?} moved at {at}");
                assert_eq!(before + report.instructions, total, "{prefetch:?} at {at}");
                if prefetch == Prefetch::OnDemand {
                    assert_eq!(report.sent_ahead.chunks, 1);
                    assert_eq!(report.prefetched.chunks, 0);
                }
            }
        }
        assert_eq!(node.service.running(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kernel_filter_moved_at_20_points_makes_the_same_image_with_each_policy() {
    bounded(async {
        let mut reference = blur_job();
        let value = reference.run_to_end().unwrap();
        let expected = photo::finish(&reference, &value).unwrap();
        let total = reference.instructions();
        let node = node("blur");
        let client = connect(&node).await;
        for prefetch in POLICIES {
            let mut prefetched = 0;
            for step in 1..=20u64 {
                let at = total * step / 21;
                let mut vm = blur_job();
                assert!(run_to(&mut vm, at));
                let before = vm.instructions();
                let options = MigrateOptions {
                    prefetch,
                    run_for: None,
                };
                let report = hop(&client, &mut vm, options, &Capture::new()).await;
                let value = report.finished.clone().unwrap();
                let made = photo::finish(&vm, &value).unwrap();
                assert_eq!(made, expected, "{prefetch:?} moved at {at}");
                assert_eq!(before + report.instructions, total, "{prefetch:?} at {at}");
                prefetched += report.prefetched.chunks;
            }
            if prefetch == Prefetch::Graph {
                assert!(prefetched > 0, "the graph policy prefetched nothing");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_holds_the_code_never_fetches_it_again() {
    bounded(async {
        let node = node("code");
        let total = {
            let mut reference = blur_job();
            reference.run_to_end().unwrap();
            reference.instructions()
        };
        let graph = MigrateOptions {
            prefetch: Prefetch::Graph,
            run_for: None,
        };
        let first = {
            let client = connect(&node).await;
            let mut vm = blur_job();
            assert!(run_to(&mut vm, total / 3));
            hop(&client, &mut vm, graph, &Capture::new()).await
        };
        assert!(first.code_sent > 0, "the first migration sent no code");
        assert!(node.service.code_chunks() > 0);
        // A new connection (which knows nothing of the first) and each
        // policy: the node has the code, so none is fetched or sent.
        let client = connect(&node).await;
        for prefetch in [Prefetch::OnDemand, Prefetch::Graph] {
            let mut vm = blur_job();
            assert!(run_to(&mut vm, total / 2));
            let options = MigrateOptions {
                prefetch,
                run_for: None,
            };
            let report = hop(&client, &mut vm, options, &Capture::new()).await;
            assert_eq!(report.code_sent, 0, "{prefetch:?} sent code again");
            assert!(report.finished.is_some());
        }
        // Eager sends everything reachable, code included, once per
        // connection: this one sends the code (the node has it already), a
        // second one on the same connection does not.
        for round in 0..2 {
            let mut vm = blur_job();
            assert!(run_to(&mut vm, total / 2));
            let options = MigrateOptions {
                prefetch: Prefetch::Eager,
                run_for: None,
            };
            let report = hop(&client, &mut vm, options, &Capture::new()).await;
            assert_eq!(report.code_sent > 0, round == 0, "eager round {round}");
            assert_eq!(report.round_trips, 0, "eager fetched: {report:?}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_for_hands_the_thread_back_and_it_finishes_locally() {
    bounded(async {
        let (mut reference, expected) = plain(PROGRAM);
        reference.run_to_end().unwrap();
        let total = reference.instructions();
        let expected = expected.text();
        let node = node("run-for");
        let client = connect(&node).await;
        for prefetch in POLICIES {
            let (mut vm, capture) = plain(PROGRAM);
            assert!(run_to(&mut vm, total / 5));
            let before = vm.instructions();
            let options = MigrateOptions {
                prefetch,
                run_for: Some(total / 3),
            };
            let report = hop(&client, &mut vm, options, &capture).await;
            assert!(report.finished.is_none(), "{prefetch:?}: not handed back");
            assert!(report.returned.chunks > 0);
            assert!(vm.instructions() >= before + total / 3);
            assert!(vm.instructions() < total);
            vm.run_to_end().unwrap();
            assert_eq!(capture.text(), expected, "{prefetch:?}");
            assert_eq!(vm.instructions(), total, "{prefetch:?}");
        }
        // A job handed back, too.
        let mut reference = blur_job();
        let value = reference.run_to_end().unwrap();
        let image = photo::finish(&reference, &value).unwrap();
        let total = reference.instructions();
        let mut vm = blur_job();
        assert!(run_to(&mut vm, total / 4));
        let options = MigrateOptions {
            prefetch: Prefetch::Graph,
            run_for: Some(total / 4),
        };
        let report = hop(&client, &mut vm, options, &Capture::new()).await;
        assert!(report.finished.is_none());
        let value = vm.run_to_end().unwrap();
        assert_eq!(photo::finish(&vm, &value).unwrap(), image);
        assert_eq!(vm.instructions(), total);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_hops_between_two_nodes_and_home() {
    bounded(async {
        let (mut reference, expected) = plain(PROGRAM);
        reference.run_to_end().unwrap();
        let total = reference.instructions();
        let expected = expected.text();
        let a = node("hop-a");
        let b = node("hop-b");
        assert_ne!(a.identity.node_id(), b.identity.node_id());
        let (ca, cb) = (connect(&a).await, connect(&b).await);
        let (mut vm, capture) = plain(PROGRAM);
        assert!(run_to(&mut vm, total / 10));
        let run_for = Some(total / 5);
        // client -> A -> client -> B -> client -> A -> client, then to the end here.
        for (client, prefetch) in [
            (&ca, Prefetch::Graph),
            (&cb, Prefetch::OnDemand),
            (&ca, Prefetch::Eager),
        ] {
            let options = MigrateOptions { prefetch, run_for };
            let report = hop(client, &mut vm, options, &capture).await;
            assert!(report.finished.is_none(), "{prefetch:?}");
            // A few local instructions between hops.
            let at = vm.instructions() + 1000;
            assert!(run_to(&mut vm, at));
        }
        vm.run_to_end().unwrap();
        assert_eq!(capture.text(), expected);
        assert_eq!(vm.instructions(), total);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_hands_the_thread_back_and_refuses_more() {
    bounded(async {
        let (mut reference, expected) = plain(STARTER);
        reference.run_to_end().unwrap();
        let total = reference.instructions();
        let expected = expected.text();
        let node = node("stop");
        let client = connect(&node).await;
        let (mut vm, capture) = starter_at_filled();
        let options = MigrateOptions {
            prefetch: Prefetch::OnDemand,
            run_for: None,
        };
        // The node prints "start", then needs the array: it waits for the
        // client, which stops the node on that line before answering.
        let service = node.service.clone();
        let mut sink = capture.clone();
        let report = migrate(&client, &mut vm, &options, |line| {
            if line.starts_with("start") {
                service.stop();
            }
            writeln!(sink, "{line}").unwrap();
        })
        .await
        .unwrap();
        assert!(report.finished.is_none(), "the node did not hand it back");
        assert!(node.service.is_stopping());
        vm.set_output(Box::new(capture.clone()));
        // A node that stops refuses new work; the thread stays good here.
        let err = migrate(&client, &mut vm, &options, |_| {})
            .await
            .err()
            .unwrap();
        assert!(err.thread_is_good());
        assert!(err.to_string().contains("stopping"), "{err}");
        vm.run_to_end().unwrap();
        assert_eq!(capture.text(), expected);
        assert_eq!(vm.instructions(), total);
        node.service.wait_idle().await;
        assert_eq!(node.service.running(), 0);
    })
    .await;
}

/// The [`STARTER`] program run here until it printed "filled" (and not
/// "start").
fn starter_at_filled() -> (Vm, Capture) {
    let (mut vm, capture) = plain(STARTER);
    while !capture.text().contains("filled") {
        let at = vm.instructions() + 20;
        assert!(run_to(&mut vm, at));
    }
    assert!(!capture.text().contains("start"));
    (vm, capture)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_dies_mid_migration_leaves_the_thread_good_here() {
    bounded(async {
        let (mut reference, expected) = plain(STARTER);
        reference.run_to_end().unwrap();
        let total = reference.instructions();
        let expected = expected.text();
        let node = node("dies");
        let client = connect(&node).await;
        let (mut vm, capture) = starter_at_filled();
        let before = vm.instructions();
        let options = MigrateOptions {
            prefetch: Prefetch::OnDemand,
            run_for: None,
        };
        // The node dies on its "start" line, while its thread waits for the array.
        let server = Arc::new(Mutex::new(Some(node.server)));
        let killer = server.clone();
        let mut sink = capture.clone();
        let err = migrate(&client, &mut vm, &options, |line| {
            if line.starts_with("start") {
                drop(killer.lock().unwrap().take());
            }
            writeln!(sink, "{line}").unwrap();
        })
        .await
        .err()
        .unwrap();
        assert!(server.lock().unwrap().is_none());
        assert!(err.thread_is_good(), "{err}");
        assert!(matches!(err.failure, MigrateFailure::Transport(_)), "{err}");
        assert_eq!(err.lines_delivered(), 1);
        assert_eq!(vm.instructions(), before, "the thread here was touched");
        // Resume here, leaving out the line the node printed already.
        vm.set_output(Box::new(SkipLines::new(
            err.lines_delivered(),
            capture.clone(),
        )));
        vm.run_to_end().unwrap();
        assert_eq!(capture.text(), expected);
        assert_eq!(vm.instructions(), total);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_error_on_the_node_is_the_programs_failure() {
    bounded(async {
        let source = "fn main() {\n    var d = 0;\n    for i in 0..100 { d += i; }\n    print(d);\n    print(10 / (d - d));\n}\n";
        let node = node("fails");
        let client = connect(&node).await;
        let (mut vm, capture) = plain(source);
        assert!(run_to(&mut vm, 20));
        let mut sink = capture.clone();
        let err = migrate(&client, &mut vm, &MigrateOptions::default(), |line| {
            writeln!(sink, "{line}").unwrap();
        })
        .await
        .err()
        .unwrap();
        assert!(matches!(err.failure, MigrateFailure::Program(_)), "{err}");
        assert!(!err.thread_is_good());
        assert!(err.to_string().contains("zero"), "{err}");
        assert_eq!(capture.text(), "4950\n");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_counts_the_code_held() {
    bounded(async {
        let node = node("status");
        let client = connect(&node).await;
        let before = client.status().await.unwrap();
        assert_eq!(before.status.threads, 0);
        let (mut vm, capture) = plain(PROGRAM);
        assert!(run_to(&mut vm, 500));
        hop(&client, &mut vm, MigrateOptions::default(), &capture).await;
        let after = client.status().await.unwrap();
        assert_eq!(after.status.threads, 0);
        assert_eq!(after.status.chunks_held, node.service.code_chunks() as u64);
        assert!(after.status.chunks_held > 0);
    })
    .await;
}
