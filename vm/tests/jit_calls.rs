//! The JIT's calls and returns (a region that calls its own function: see `exec::jit`)
//! against the interpreter: recursive programs give the same output, values, errors
//! (with their Chop stacks) and instruction counts; the depth limit, budgets and stops
//! land on the same instruction with the same frames; a thread stopped deep in compiled
//! recursion moves and resumes; a debugger sees the same stops.

// Without the `jit` feature there is nothing to compare.
#![cfg(feature = "jit")]
#![allow(clippy::unwrap_used)]

mod common;

use chunkvm::chunk::NodeId;
use chunkvm::exec::{Capture, ErrorKind, Limits, Vm};
use chunkvm::syntax::span::Span;
use common::{run_to, vm_for_main};

/// Recursion of several shapes: two calls of itself (fib), three with a loop and floats
/// between them, a deep linear one, mutual recursion (not compiled: another function),
/// a colour result (`Ret2`, not compiled).
const RECURSE: &str = r#"
fn fib(n: int) -> int {
    if n < 2 {
        return n;
    }
    fib(n - 1) + fib(n - 2)
}

fn walk(n: int, x: float) -> float {
    if n <= 0 {
        return x;
    }
    var acc = 0.0;
    for i in 0..3 {
        acc = acc + x * 0.5;
    }
    walk(n - 1, acc - 1.0) + walk(n - 2, x / 3.0) * 0.25 - walk(n - 3, acc)
}

fn down(n: int) -> int {
    if n == 0 {
        return 0;
    }
    down(n - 1) + 1
}

fn even(n: int) -> bool {
    if n == 0 {
        return true;
    }
    odd(n - 1)
}

fn odd(n: int) -> bool {
    if n == 0 {
        return false;
    }
    even(n - 1)
}

fn shade(n: int, c: color) -> color {
    if n == 0 {
        return c;
    }
    shade(n - 1, c * 0.9)
}

fn main() {
    print(fib(17));
    print(walk(11, 1.5));
    print(down(2000));
    print(even(301));
    print(shade(20, rgba(1.0, 0.5, 0.25, 1.0)));
    print(fib(12) + down(40));
}
"#;

/// What a run did: output, outcome (error kind, message, place, Chop stack) and
/// instructions.
type Outcome = (
    String,
    Result<(), (ErrorKind, String, Span, Vec<(String, Span)>)>,
    u64,
);

/// Runs `main` of `text` to the end with the JIT compiling at once (`jit`) or off,
/// under `limits`: what it did and the instructions that ran compiled.
fn outcome(text: &str, jit: bool, limits: Limits) -> (Outcome, u64) {
    let (mut vm, out) = vm_for_main(text);
    if jit {
        vm.set_jit(true);
        vm.set_jit_hot(0);
    } else {
        vm.set_jit(false);
    }
    vm.set_limits(limits);
    let result = vm
        .run_to_end()
        .map(|_| ())
        .map_err(|err| (err.kind, err.message, err.span, err.trace));
    (
        (out.text(), result, vm.instructions()),
        vm.jit_instructions(),
    )
}

#[test]
fn recursion_runs_compiled_with_the_same_results_and_counts() {
    let (plain, _) = outcome(RECURSE, false, Limits::default());
    let (with_jit, jitted) = outcome(RECURSE, true, Limits::default());
    assert_eq!(plain, with_jit);
    assert!(plain.1.is_ok(), "{plain:?}");
    assert!(plain.0.starts_with("1597\n"), "{}", plain.0);
    // fib, walk and down run their calls and returns compiled: nearly everything.
    assert!(
        jitted * 10 > plain.2 * 8,
        "{jitted} of {} compiled",
        plain.2
    );
    // At the default threshold too.
    let (mut vm, out) = vm_for_main(RECURSE);
    vm.set_jit(true);
    vm.run_to_end().unwrap();
    assert_eq!((out.text(), vm.instructions()), (plain.0, plain.2));
    assert!(vm.jit_instructions() * 10 > plain.2 * 8);
}

const DEEP: &str = r#"
fn down(n: int) -> int {
    if n == 0 {
        return 0;
    }
    down(n - 1) + 1
}

fn main() {
    print(down(3));
    print(down(5000));
}
"#;

#[test]
fn the_depth_limit_fails_at_the_same_call_with_the_same_stack() {
    for depth in [2, 3, 5, 6, 17, 100, 1000, 4999, 5001, 5002, 10_000] {
        let limits = Limits {
            depth,
            ..Limits::default()
        };
        let (plain, _) = outcome(DEEP, false, limits);
        let (with_jit, _) = outcome(DEEP, true, limits);
        assert_eq!(plain, with_jit, "depth {depth}");
        if depth <= 5001 {
            assert!(
                matches!(&plain.1, Err((ErrorKind::Depth, ..))),
                "depth {depth}: {plain:?}"
            );
        } else {
            assert!(plain.1.is_ok(), "depth {depth}: {plain:?}");
        }
    }
}

#[test]
fn an_error_deep_in_compiled_recursion_reports_the_interpreters_stack() {
    let text = r#"
fn dive(n: int, d: int) -> int {
    if n == 0 {
        return 10 / d;
    }
    dive(n - 1, d) + dive(n - 2 + n % 2, d)
}

fn main() {
    print(dive(9, 2));
    print(dive(25, 0));
}
"#;
    let (plain, _) = outcome(text, false, Limits::default());
    let (with_jit, jitted) = outcome(text, true, Limits::default());
    assert_eq!(plain, with_jit);
    let Err((kind, _, _, trace)) = &plain.1 else {
        panic!("{plain:?}")
    };
    assert_eq!(*kind, ErrorKind::Failed);
    assert!(trace.len() > 20, "{trace:?}");
    assert!(jitted > 0);
}

#[test]
fn budgets_inside_compiled_recursion_stop_at_the_same_instruction() {
    let (reference, _) = outcome(RECURSE, false, Limits::default());
    let total = reference.2;
    let budgets = (1..120u64)
        .chain(16_370..16_400)
        .chain((1..40).map(|k| total * k / 41 + k));
    for budget in budgets {
        let limits = Limits {
            instructions: budget,
            ..Limits::default()
        };
        let (plain, _) = outcome(RECURSE, false, limits);
        let (with_jit, _) = outcome(RECURSE, true, limits);
        assert_eq!(plain, with_jit, "budget {budget}");
        assert!(
            matches!(&plain.1, Err((ErrorKind::Budget, ..))),
            "budget {budget}: {plain:?}"
        );
    }
}

#[test]
fn stopping_deep_in_compiled_recursion_and_resuming_elsewhere_changes_nothing() {
    let (mut reference, capture) = vm_for_main(RECURSE);
    reference.set_jit(false);
    reference.run_to_end().unwrap();
    let (expected, total) = (capture.text(), reference.instructions());
    let mut deep = 0;
    let points = (1..60u64)
        .map(|k| total * k / 61)
        .chain(16_380..16_390)
        .chain(3000..3040);
    for at in points {
        let (mut plain, _) = vm_for_main(RECURSE);
        plain.set_jit(false);
        let plain_stopped = run_to(&mut plain, at);
        let (mut vm, first) = vm_for_main(RECURSE);
        vm.set_jit(true);
        vm.set_jit_hot(0);
        let stopped = run_to(&mut vm, at);
        assert_eq!(stopped, plain_stopped, "stop at {at}");
        assert_eq!(vm.instructions(), plain.instructions(), "stop at {at}");
        // The same frames: functions, pcs, register bases, environments.
        assert_eq!(vm.frames(), plain.frames(), "stop at {at}");
        assert_eq!(vm.stack(), plain.stack(), "stop at {at}");
        if !stopped {
            continue;
        }
        if vm.frames().len() > 5 {
            deep += 1;
        }
        let bytes = vm.snapshot().unwrap();
        let mut moved = Vm::from_snapshot(&bytes, NodeId(2)).unwrap();
        moved.set_jit(true);
        moved.set_jit_hot(0);
        let second = Capture::new();
        moved.set_output(Box::new(second.clone()));
        moved.run_to_end().unwrap();
        assert_eq!(
            format!("{}{}", first.text(), second.text()),
            expected,
            "stopped at {at}"
        );
        assert_eq!(moved.instructions(), total, "stopped at {at}");
    }
    assert!(deep > 20, "only {deep} stops deep in recursion");
}

#[test]
fn a_breakpoint_in_a_recursive_function_stops_as_in_the_interpreter() {
    let line = RECURSE
        .lines()
        .position(|l| l.contains("return n;"))
        .unwrap() as u32
        + 1;
    let session = |jit: bool| {
        let (mut vm, out) = vm_for_main(RECURSE);
        if jit {
            vm.set_jit(true);
            vm.set_jit_hot(0);
        } else {
            vm.set_jit(false);
        }
        vm.set_source(RECURSE);
        assert_eq!(vm.set_breakpoints(&[line]), vec![Some(line)]);
        let mut log = Vec::new();
        for _ in 0..40 {
            let stop = vm.run().unwrap();
            let frames: Vec<String> = vm
                .stack()
                .iter()
                .map(|f| format!("{}:{}:{}", f.function, f.line, f.pc))
                .collect();
            log.push(format!("{stop:?} {} {frames:?}", vm.instructions()));
        }
        // Without the breakpoint, on to the end.
        vm.set_breakpoints(&[]);
        let end = vm.run_to_end().map_err(|e| e.message);
        log.push(format!("{end:?} {} {}", vm.instructions(), out.text()));
        (log, vm.jit_instructions())
    };
    let (plain, _) = session(false);
    let (with_jit, jitted) = session(true);
    assert_eq!(plain, with_jit);
    assert!(plain[0].starts_with("Breakpoint"), "{}", plain[0]);
    assert!(jitted > 0, "the rest ran compiled");
}

/// fib alone: entered at its entry, after each of its calls and at its branch's
/// targets, by the interpreter.
const FIB: &str = r#"
fn fib(n: int) -> int {
    if n < 2 {
        return n;
    }
    fib(n - 1) + fib(n - 2)
}
"#;

#[test]
fn a_recursive_function_compiles_once_and_its_other_entries_share_the_code() {
    use chunkvm::exec::Value;
    for hot in [0, 1, 16] {
        let (_, program) = chunkvm::driver::build(FIB).unwrap();
        let mut vm = Vm::new(program);
        vm.set_jit(true);
        vm.set_jit_hot(hot);
        let (idx, _) = vm.program().function("fib").unwrap();
        let (mut before, mut all) = (0, 0);
        for run in 0..3 {
            vm.start(idx, &[Value::Int(20)]).unwrap();
            assert_eq!(vm.run_to_end().unwrap(), Value::Int(6765));
            let stats = vm.jit_stats();
            // One region (from the entry: every segment of fib), entered at the
            // instruction after each call and at the branch's `else` too; nothing
            // compiled for the call a region left before for want of room, nor after
            // the first run.
            assert_eq!(
                (stats.regions, stats.segments, stats.shared),
                (1, 5, 3),
                "hot {hot}, run {run}: {stats:?}"
            );
            // Nearly all of each run compiled, the first too.
            let (jitted, ran) = (vm.jit_instructions() - before, vm.instructions() - all);
            (before, all) = (vm.jit_instructions(), vm.instructions());
            assert!(
                jitted * 10 > ran * 9,
                "hot {hot}, run {run}: {jitted} of {ran}"
            );
        }
    }
}

#[test]
fn a_region_entered_at_any_of_its_entries_runs_as_the_interpreter() {
    use chunkvm::exec::Value;
    let start = |jit: bool| {
        let (_, program) = chunkvm::driver::build(FIB).unwrap();
        let mut vm = Vm::new(program);
        vm.set_jit(jit);
        vm.set_jit_hot(0);
        let (idx, _) = vm.program().function("fib").unwrap();
        vm.start(idx, &[Value::Int(9)]).unwrap();
        vm
    };
    let mut reference = start(false);
    assert_eq!(reference.run_to_end().unwrap(), Value::Int(34));
    let total = reference.instructions();
    let (mut pcs, mut stops, mut compiled) = (std::collections::BTreeSet::new(), 0, 0);
    for at in 1..total {
        let (mut plain, mut vm) = (start(false), start(true));
        let stopped = run_to(&mut plain, at);
        assert_eq!(run_to(&mut vm, at), stopped, "stop at {at}");
        assert_eq!(vm.instructions(), plain.instructions(), "stop at {at}");
        assert_eq!(vm.frames(), plain.frames(), "stop at {at}");
        if !stopped {
            continue;
        }
        pcs.insert(vm.frames().last().unwrap().pc);
        // On in the same VM, whose region every entry shares, and moved to one whose
        // first region is compiled from where it goes on: the same value and count.
        let bytes = vm.snapshot().unwrap();
        let mut moved = Vm::from_snapshot(&bytes, NodeId(2)).unwrap();
        moved.set_jit(true);
        moved.set_jit_hot(0);
        for vm in [&mut vm, &mut moved] {
            assert_eq!(vm.run_to_end().unwrap(), Value::Int(34), "stopped at {at}");
            assert_eq!(vm.instructions(), total, "stopped at {at}");
        }
        stops += 1;
        compiled += u64::from(moved.jit_instructions() > 0);
    }
    // Stopped at the entry, at the branch's targets and after each call; nearly every
    // moved thread went on compiled (not those stopped in the last returns).
    assert!(pcs.len() >= 4, "{pcs:?}");
    assert!(compiled * 10 > stops * 9, "{compiled} of {stops}");
}
