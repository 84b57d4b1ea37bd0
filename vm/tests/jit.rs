//! The JIT against the interpreter: every language test program and the bench's
//! CPU-bound programs give the same output, errors and instruction counts with and
//! without it; stopping a JIT run at many safe points, moving it and resuming it changes
//! nothing; the budget stops at the same instruction; random arithmetic over edge values
//! (overflow, NaN, -0.0, infinities, division by zero) gives the same bits.

// Without the `jit` feature there is nothing to compare.
#![cfg(feature = "jit")]
#![allow(clippy::unwrap_used)]

mod common;

use chunkvm::chunk::NodeId;
use chunkvm::compile::ir::{pack_targets, Block, Function, Instr, Op, Program};
use chunkvm::driver::analyze;
use chunkvm::exec::{Capture, ErrorKind, Limits, RuntimeError, StepKind, Stop, Vm};
use chunkvm::syntax::span::Span;
use chunkvm::types::Type;
use common::{chop_files, expectations, lang_dir, run_to, vm_for_file, vm_for_main};

/// Compile everything at its first entry: small programs reach the JIT too.
fn jit_on(vm: &mut Vm) {
    vm.set_jit(true);
    vm.set_jit_hot(0);
}

/// What a run did: output, outcome (error kind, message, place) and instructions.
type Outcome = (String, Result<(), (ErrorKind, String, Span)>, u64);

fn run(mut vm: Vm, capture: &Capture) -> (Outcome, u64) {
    let result = vm
        .run_to_end()
        .map(|_| ())
        .map_err(|err: RuntimeError| (err.kind, err.message, err.span));
    let jitted = vm.jit_instructions();
    ((capture.text(), result, vm.instructions()), jitted)
}

fn both_ways(text: &str, make: impl Fn(&str) -> (Vm, Capture)) -> (Outcome, Outcome, u64) {
    let (mut plain, plain_out) = make(text);
    plain.set_jit(false);
    let (plain, _) = run(plain, &plain_out);
    let (mut jit, jit_out) = make(text);
    jit_on(&mut jit);
    let (jitted, count) = run(jit, &jit_out);
    (plain, jitted, count)
}

/// The single-file programs of the language tests (the cases of `modules/` need the
/// files they use, and some of those have no `main`).
fn lang_programs() -> Vec<(String, String)> {
    chop_files(&lang_dir())
        .into_iter()
        .filter(|path| !path.starts_with(lang_dir().join("modules")))
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            (!analyze(&text).has_errors()).then(|| (path.display().to_string(), text))
        })
        .collect()
}

#[test]
fn this_build_compiles() {
    assert!(
        chunkvm::exec::jit::supported(),
        "the tests run on a host cranelift supports, with the jit feature"
    );
}

#[test]
fn every_language_program_runs_the_same_with_the_jit() {
    let programs = lang_programs();
    assert!(programs.len() >= 10, "too few programs: {}", programs.len());
    let (mut jitted_programs, mut jitted) = (0, 0u64);
    for (name, text) in &programs {
        let (plain, with_jit, count) = both_ways(text, vm_for_file);
        assert_eq!(plain, with_jit, "{name}");
        if count > 0 {
            jitted_programs += 1;
        }
        jitted += count;
    }
    println!(
        "{} programs, {jitted_programs} ran compiled code, {jitted} instructions compiled",
        programs.len()
    );
    assert!(
        jitted_programs >= 5,
        "only {jitted_programs} programs ran compiled code"
    );
}

/// The bench's integer loop and fib (`chunkvm bench --vm-only`).
const BENCH: &str = r#"
fn sum_loop(n: int) -> int {
    var total = 0;
    for i in 0..n {
        total = total + i * i % 7;
    }
    total
}

fn fib(n: int) -> int {
    if n < 2 {
        return n;
    }
    fib(n - 1) + fib(n - 2)
}

fn main() {
    print(sum_loop(100000));
    print(fib(18));
    var x = 1.5;
    var k = 0;
    while x < 1.0e300 {
        x = x * x + 0.25 - x / 3.0;
        k = k + 1;
    }
    print(x, k);
}
"#;

#[test]
fn the_bench_programs_run_the_same_and_the_loop_runs_compiled() {
    let (plain, with_jit, count) = both_ways(BENCH, vm_for_main);
    assert_eq!(plain, with_jit);
    assert!(plain.0.starts_with("199999\n2584\n"), "{}", plain.0);
    // The loop's body and back edge are all compiled: nearly all its instructions.
    assert!(count > 390_000, "{count} instructions compiled");
    // At the default threshold too.
    let (mut vm, out) = vm_for_main(BENCH);
    vm.set_jit(true);
    let (default, count) = run(vm, &out);
    assert_eq!(default, plain);
    assert!(count > 390_000, "{count}");
    let (vm, _) = vm_for_main(BENCH);
    assert_eq!(vm.jit_stats().regions, 0, "nothing compiled before a run");
}

#[test]
fn a_program_compiles_once_and_its_threads_share_the_code() {
    let (_, program) = chunkvm::driver::build(BENCH).unwrap();
    let mut store = chunkvm::chunk::Store::new(NodeId(1));
    let loaded = std::sync::Arc::new(chunkvm::exec::Loaded::new(program, &mut store));
    let (main, _) = loaded.program.function("main").unwrap();
    let mut stats = Vec::new();
    for _ in 0..2 {
        let mut vm = Vm::with_store(loaded.clone(), store.clone());
        vm.set_output(Box::new(Capture::new()));
        jit_on(&mut vm);
        vm.start(main, &[]).unwrap();
        vm.run_to_end().unwrap();
        assert!(vm.jit_instructions() > 0);
        stats.push(vm.jit_stats());
    }
    assert!(stats[0].regions > 0 && stats[0].code_bytes > 0, "{stats:?}");
    assert_eq!(
        stats[0], stats[1],
        "the second thread compiled nothing more"
    );
}

#[test]
fn stopping_a_jit_run_anywhere_and_resuming_elsewhere_changes_nothing() {
    let mut programs: Vec<(String, String)> = lang_programs()
        .into_iter()
        .filter(|(_, text)| {
            let expect = expectations(text);
            expect.runtime_error.is_none()
                && expect.instructions.is_none()
                && expect.chunks.is_none()
        })
        .collect();
    programs.push(("bench".into(), BENCH.into()));
    let mut stops = 0;
    for (name, text) in &programs {
        let (mut reference, capture) = vm_for_main(text);
        reference.set_jit(false);
        reference.run_to_end().unwrap();
        let expected = capture.text();
        let total = reference.instructions();
        for step in 1..=12u64 {
            let at = total * step / 13;
            if at == 0 {
                continue;
            }
            // Where the interpreter stops...
            let (mut plain, _) = vm_for_main(text);
            plain.set_jit(false);
            let plain_stopped = run_to(&mut plain, at);
            // ...the JIT stops too.
            let (mut vm, first) = vm_for_main(text);
            jit_on(&mut vm);
            let stopped = run_to(&mut vm, at);
            assert_eq!(stopped, plain_stopped, "{name} at {at}");
            assert_eq!(vm.instructions(), plain.instructions(), "{name} at {at}");
            assert_eq!(vm.stack(), plain.stack(), "{name} at {at}");
            if !stopped {
                continue;
            }
            stops += 1;
            let bytes = vm.snapshot().unwrap();
            let mut moved = Vm::from_snapshot(&bytes, NodeId(2)).unwrap();
            jit_on(&mut moved);
            let second = Capture::new();
            moved.set_output(Box::new(second.clone()));
            moved.run_to_end().unwrap();
            assert_eq!(
                format!("{}{}", first.text(), second.text()),
                expected,
                "{name}: stopped at {at}"
            );
            assert_eq!(moved.instructions(), total, "{name}: stopped at {at}");
        }
    }
    assert!(stops >= 100, "only {stops} stops");
}

#[test]
fn the_budget_stops_at_the_same_instruction() {
    let text = "fn main() { var t = 0; for i in 0..1000000 { t = t + i * 3 % 5; } print(t); }";
    for budget in [1, 5, 17, 100, 1001, 4099, 16_384, 16_385, 99_999, 123_457] {
        let outcome = |jit: bool| {
            let (mut vm, out) = vm_for_main(text);
            if jit {
                jit_on(&mut vm);
            } else {
                vm.set_jit(false);
            }
            vm.set_limits(Limits {
                instructions: budget,
                ..Limits::default()
            });
            run(vm, &out)
        };
        let (plain, _) = outcome(false);
        let (with_jit, count) = outcome(true);
        assert_eq!(plain, with_jit, "budget {budget}");
        assert!(
            matches!(&plain.1, Err((ErrorKind::Budget, _, _))),
            "{plain:?}"
        );
        if budget > 1000 {
            assert!(count > 0, "budget {budget}: the JIT ran");
        }
    }
}

#[test]
fn a_debugger_without_a_breakpoint_placed_runs_compiled_code() {
    let (mut vm, out) = vm_for_main(BENCH);
    jit_on(&mut vm);
    // A debugger attached (the source given to map lines), no breakpoint placed: the
    // debugger looks at no instruction, and the thread runs as without it.
    vm.set_source(BENCH);
    assert_eq!(vm.set_breakpoints(&[1_000]), vec![None]);
    let (outcome, count) = run(vm, &out);
    let (mut plain, plain_out) = vm_for_main(BENCH);
    plain.set_jit(false);
    let (plain, _) = run(plain, &plain_out);
    assert_eq!(outcome, plain);
    assert!(count > 390_000, "{count} instructions compiled");
}

/// The debuggee of the tests of a debugged thread that continues through hot loops;
/// lines are found by their markers.
const DEBUGGEE: &str = r#"
fn work(n: int, scale: float) -> int {
    var total = 0; // @start
    var x = 0.5;
    for i in 0..n {
        total += i * i % 7; // @body
        x = x * 0.5 + scale;
        if total % 50 == 49 {
            total -= 3; // @rare
        }
        let twice = total * 2; // @twice
        total = twice - total;
    }
    let done = total + 1; // @after
    done
}

fn main() {
    var all = 0;
    for round in 0..3 {
        all += work(300 + round * 7, 0.25); // @call
        print(all); // @print
    }
    var k = 0;
    while k < 20000 {
        k += 3; // @while
    }
    print(k); // @end
}
"#;

fn marker(name: &str) -> u32 {
    DEBUGGEE
        .lines()
        .position(|line| line.contains(&format!("// {name}")))
        .map(|idx| idx as u32 + 1)
        .unwrap_or_else(|| panic!("no marker {name}"))
}

/// A debugged thread of [`DEBUGGEE`] (its source given), with the JIT compiling every
/// block at its first entry (`jit`) or off.
fn debugged(text: &str, jit: bool) -> (Vm, Capture) {
    let (mut vm, out) = vm_for_main(text);
    if jit {
        jit_on(&mut vm);
    } else {
        vm.set_jit(false);
    }
    vm.set_source(text);
    (vm, out)
}

/// What a debugger sees of a stop: why, where, after how many instructions, and the
/// innermost frame's locals.
fn seen(vm: &Vm, stop: &Stop) -> String {
    let top = vm.stack().into_iter().next();
    let locals: Vec<String> = vm
        .locals(0)
        .iter()
        .map(|var| format!("{}={:?}", var.name, var.value))
        .collect();
    format!(
        "{stop:?} {} line {} pc {} after {} [{}]",
        top.as_ref().map_or("-", |f| f.function.as_str()),
        top.as_ref().map_or(0, |f| f.line),
        top.as_ref().map_or(0, |f| f.pc),
        vm.instructions(),
        locals.join(" ")
    )
}

/// Runs `session` on a debugged thread with the JIT and without it: what it saw (and
/// the output) must be the same. The instructions that ran compiled.
fn same_with_the_jit(session: impl Fn(&mut Vm) -> Vec<String>) -> (Vec<String>, u64) {
    same_with_the_jit_for(DEBUGGEE, session)
}

/// [`same_with_the_jit`] for the program `text`.
fn same_with_the_jit_for(
    text: &str,
    session: impl Fn(&mut Vm) -> Vec<String>,
) -> (Vec<String>, u64) {
    let (mut plain, plain_out) = debugged(text, false);
    let mut expected = session(&mut plain);
    expected.push(plain_out.text());
    assert_eq!(plain.jit_instructions(), 0);
    let (mut vm, out) = debugged(text, true);
    let mut got = session(&mut vm);
    got.push(out.text());
    assert_eq!(got, expected);
    assert!(expected.len() > 1, "the session saw something");
    (got, vm.jit_instructions())
}

/// Continues to the end, each stop seen.
fn continue_to_end(vm: &mut Vm, log: &mut Vec<String>) {
    loop {
        let stop = vm.run().unwrap();
        log.push(seen(vm, &stop));
        if matches!(stop, Stop::Finished(_)) {
            return;
        }
    }
}

#[test]
fn a_breakpoint_after_a_hot_loop_stops_once_per_call_and_the_loop_runs_compiled() {
    let after = marker("@after");
    let (seen, jitted) = same_with_the_jit(|vm| {
        assert_eq!(vm.set_breakpoints(&[after]), vec![Some(after)]);
        let mut log = Vec::new();
        continue_to_end(vm, &mut log);
        log
    });
    let hits = seen.iter().filter(|s| s.starts_with("Breakpoint")).count();
    assert_eq!(hits, 3, "{seen:#?}");
    assert!(seen[0].contains(&format!("line {after} ")), "{}", seen[0]);
    // Nearly all of the three loops and the while loop.
    assert!(jitted > 10_000, "{jitted} instructions compiled");
}

#[test]
fn a_region_that_leaves_for_its_own_line_does_not_stop_there_again() {
    // The line's code after the call is a compiled region (entered where the call
    // returns), whose branch goes to the `if`'s blocks on the same line: the thread goes
    // on in that line, which a breakpoint on it does not stop at again, as in the
    // interpreter, which compares with the instruction before (the region's branch).
    let text = "
fn sq(v: int) -> int {
    v * v
}

fn main() {
    var total = 0;
    for i in 0..200 {
        let a = sq(i) * 3 + i * 5 - 7 + i * i % 11; if a % 2 == 0 { total += 1; } else { total -= 2; } // @oneline
        total += 1;
    }
    print(total);
}
";
    let line = text.lines().position(|l| l.contains("@oneline")).unwrap() as u32 + 1;
    let (seen, jitted) = same_with_the_jit_for(text, |vm| {
        assert_eq!(vm.set_breakpoints(&[line]), vec![Some(line)]);
        let mut log = Vec::new();
        continue_to_end(vm, &mut log);
        log
    });
    let hits = seen.iter().filter(|s| s.starts_with("Breakpoint")).count();
    assert_eq!(hits, 200, "{seen:#?}");
    assert!(jitted > 0);
}

#[test]
fn breakpoints_inside_a_hot_loop_stop_on_every_iteration() {
    let twice = marker("@twice");
    let body = marker("@body");
    let end = marker("@end");
    for lines in [vec![twice], vec![body], vec![twice, end]] {
        let (seen, _) = same_with_the_jit(|vm| {
            vm.set_breakpoints(&lines);
            let mut log = Vec::new();
            continue_to_end(vm, &mut log);
            log
        });
        let hits = seen.iter().filter(|s| s.starts_with("Breakpoint")).count();
        let expected = 300 + 307 + 314 + usize::from(lines.contains(&end));
        assert_eq!(hits, expected, "{lines:?}");
    }
    // A line that runs once in 50 iterations or so, the loop around it compiled.
    let rare = marker("@rare");
    let (seen, jitted) = same_with_the_jit(|vm| {
        vm.set_breakpoints(&[rare]);
        let mut log = Vec::new();
        continue_to_end(vm, &mut log);
        log
    });
    let hits = seen.iter().filter(|s| s.starts_with("Breakpoint")).count();
    assert!(hits > 3 && hits < 100, "{hits}");
    assert!(jitted > 10_000, "{jitted} instructions compiled");
}

#[test]
fn an_instruction_breakpoint_in_a_hot_loop_stops_each_time() {
    // The instruction after the first of `@twice`'s line, inside its block: a stop mark
    // in the middle of what would be one compiled segment.
    let twice = marker("@twice");
    let (seen, _) = same_with_the_jit(|vm| {
        let (work, _) = vm.program().function("work").unwrap();
        // The line's first instruction, found by a line breakpoint (which stops there
        // on the first iteration), then taken out.
        vm.set_breakpoints(&[twice]);
        let mut log = Vec::new();
        let stop = vm.run().unwrap();
        log.push(seen(vm, &stop));
        let at = vm.stack()[0].pc;
        vm.set_breakpoints(&[]);
        assert_eq!(
            vm.set_instruction_breakpoints(&[(work, at + 1)]),
            vec![true]
        );
        continue_to_end(vm, &mut log);
        log
    });
    // The line breakpoint once, then the instruction on every iteration.
    let hits = seen.iter().filter(|s| s.starts_with("Breakpoint")).count();
    assert_eq!(hits, 1 + 300 + 307 + 314);
}

#[test]
fn conditional_and_hit_count_breakpoints_and_logpoints_see_the_same_values() {
    // A debugger's conditional breakpoint, hit count and logpoint are line breakpoints
    // at which it looks at the thread and goes on (as chop-dap does).
    let twice = marker("@twice");
    let after = marker("@after");
    let (seen, jitted) = same_with_the_jit(|vm| {
        vm.set_breakpoints(&[twice, after]);
        let mut log = Vec::new();
        let mut hits_at_twice = 0;
        loop {
            let stop = vm.run().unwrap();
            if matches!(stop, Stop::Finished(_)) {
                log.push(seen(vm, &stop));
                break;
            }
            let line = vm.stack()[0].line;
            let total = vm
                .locals(0)
                .into_iter()
                .find(|v| v.name == "total")
                .map(|v| v.value);
            if line == twice {
                hits_at_twice += 1;
                // The condition `total % 10 == 3`.
                if let Some(chunkvm::exec::Value::Int(t)) = total {
                    if t % 10 == 3 {
                        log.push(format!("condition: {}", seen(vm, &stop)));
                    }
                }
                // The hit count `== 250`.
                if hits_at_twice == 250 {
                    log.push(format!("hit 250: {}", seen(vm, &stop)));
                }
            } else {
                // A logpoint: `done is {total + 1}`.
                log.push(format!(
                    "log: total is {total:?} after {}",
                    vm.instructions()
                ));
            }
        }
        log
    });
    assert!(seen.iter().any(|s| s.starts_with("condition")));
    assert!(seen.iter().any(|s| s.starts_with("hit 250")));
    assert_eq!(seen.iter().filter(|s| s.starts_with("log")).count(), 3);
    // The while loop after them, at least, ran compiled.
    assert!(jitted > 5_000, "{jitted} instructions compiled");
}

#[test]
fn a_breakpoint_set_while_stopped_inside_a_compiled_loop_stops_at_once() {
    let after = marker("@after");
    let twice = marker("@twice");
    let compiled_before = std::cell::Cell::new(0);
    let (seen, jitted) = same_with_the_jit(|vm| {
        vm.set_breakpoints(&[after]);
        let mut log = Vec::new();
        // Stop inside the first call's loop, at a safe point.
        vm.stop_after(1_000);
        let stop = vm.run().unwrap();
        assert_eq!(stop, Stop::SafePoint);
        log.push(seen(vm, &stop));
        compiled_before.set(vm.jit_instructions());
        vm.set_breakpoints(&[after, twice]);
        for _ in 0..5 {
            let stop = vm.run().unwrap();
            log.push(seen(vm, &stop));
        }
        // Steps from there, then the breakpoint inside the loop taken out again.
        for kind in [StepKind::Over, StepKind::Over, StepKind::Into] {
            let stop = vm.step(kind).unwrap();
            log.push(seen(vm, &stop));
        }
        vm.set_breakpoints(&[after]);
        continue_to_end(vm, &mut log);
        log
    });
    // With the JIT (the last session), the loop ran compiled before the stop.
    assert!(compiled_before.get() > 0);
    assert!(seen[0].contains("work"), "{}", seen[0]);
    for stop in &seen[1..6] {
        assert!(stop.contains(&format!("line {twice} ")), "{stop}");
    }
    assert!(jitted > 0);
}

#[test]
fn a_pause_lands_where_it_does_in_the_interpreter() {
    let after = marker("@after");
    let (seen, jitted) = same_with_the_jit(|vm| {
        vm.set_breakpoints(&[after]);
        let mut log = Vec::new();
        // Asked before each run: the thread pauses at its first poll (16384
        // instructions on, in the `while` loop), unless a breakpoint comes first (the
        // flag stays up until a poll sees it).
        for _ in 0..5 {
            vm.pause_flag()
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let stop = vm.run().unwrap();
            log.push(seen(vm, &stop));
        }
        continue_to_end(vm, &mut log);
        log
    });
    assert!(seen[3].starts_with("Paused main"), "{seen:#?}");
    assert!(jitted > 0);
}

#[test]
fn a_pause_from_another_thread_while_running_compiled() {
    // The while loop for long enough: the pause comes while it runs (in machine code,
    // mostly); wherever it lands, the thread goes on to the same end.
    let text = DEBUGGEE.replace("k < 20000", "k < 150000000");
    let (mut vm, out) = vm_for_main(&text);
    jit_on(&mut vm);
    vm.set_source(&text);
    vm.set_breakpoints(&[marker("@end")]);
    let flag = vm.pause_flag();
    let pauser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let mut stops = Vec::new();
    loop {
        let stop = vm.run().unwrap();
        let done = matches!(stop, Stop::Finished(_));
        stops.push((stop, vm.stack().first().map(|f| f.line)));
        if done {
            break;
        }
    }
    pauser.join().unwrap();
    assert!(vm.jit_instructions() > 0);
    // The breakpoint at `@end` stops once, after the pause if it came in time.
    let breaks: Vec<_> = stops
        .iter()
        .filter(|(s, _)| *s == Stop::Breakpoint)
        .collect();
    assert_eq!(breaks.len(), 1, "{stops:?}");
    assert_eq!(breaks[0].1, Some(marker("@end")));
    assert!(out.text().ends_with("150000000\n"), "{}", out.text());
}

/// A small random generator (xorshift), seeded: the same cases every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}

const EDGE_BITS: &[u64] = &[
    0,
    1,
    2,
    3,
    7,
    u64::MAX, // -1
    i64::MIN as u64,
    i64::MAX as u64,
    (i64::MIN + 1) as u64,
    63,
    64,
    0x8000_0000,
    0x1_0000_0000,
];

fn edge_float(rng: &mut Rng) -> f64 {
    rng.pick(&[
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        3.0,
        1e308,
        -1e308,
        f64::MIN_POSITIVE,
        5e-324,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::EPSILON,
        0.1,
        1.0 / 3.0,
    ])
}

/// The compiled instructions over registers 0..15 (register 15 counts the loop).
const OPS: &[Op] = &[
    Op::Nop,
    Op::Const,
    Op::Mov,
    Op::Mov2,
    Op::AddI,
    Op::SubI,
    Op::MulI,
    Op::DivI,
    Op::RemI,
    Op::NegI,
    Op::AddIK,
    Op::MulIK,
    Op::DivIK,
    Op::RemIK,
    Op::AddFK,
    Op::SubFK,
    Op::RSubFK,
    Op::MulFK,
    Op::DivFK,
    Op::AddF,
    Op::SubF,
    Op::MulF,
    Op::DivF,
    Op::NegF,
    Op::EqI,
    Op::NeI,
    Op::LtI,
    Op::LeI,
    Op::EqF,
    Op::NeF,
    Op::LtF,
    Op::LeF,
    Op::Not,
];

const REGS: u16 = 16;

/// Registers holding ints (0..6), floats (6..12), and either (12..15).
fn random_op(rng: &mut Rng) -> Instr {
    let op = rng.pick(OPS);
    let int = |rng: &mut Rng| rng.below(6) as u16;
    let float = |rng: &mut Rng| 6 + rng.below(6) as u16;
    let any = |rng: &mut Rng| rng.below(15) as u16;
    let float_op = matches!(
        op,
        Op::AddFK
            | Op::SubFK
            | Op::RSubFK
            | Op::MulFK
            | Op::DivFK
            | Op::AddF
            | Op::SubF
            | Op::MulF
            | Op::DivF
            | Op::NegF
    );
    let operand = |rng: &mut Rng| {
        if rng.below(5) == 0 {
            any(rng)
        } else if float_op || matches!(op, Op::EqF | Op::NeF | Op::LtF | Op::LeF) {
            float(rng)
        } else {
            int(rng)
        }
    };
    let dest = |rng: &mut Rng| {
        if rng.below(5) == 0 {
            12 + rng.below(3) as u16
        } else if float_op {
            float(rng)
        } else {
            int(rng)
        }
    };
    let k = match op {
        Op::DivIK | Op::RemIK => {
            let k = rng.pick(EDGE_BITS);
            if k == 0 {
                u64::MAX
            } else {
                k
            }
        }
        Op::AddIK | Op::MulIK => rng.pick(EDGE_BITS),
        Op::Const => {
            if rng.below(2) == 0 {
                rng.pick(EDGE_BITS)
            } else {
                edge_float(rng).to_bits()
            }
        }
        _ => edge_float(rng).to_bits(),
    };
    let a = if op == Op::Mov2 {
        rng.below(14) as u16
    } else {
        dest(rng)
    };
    let b = if op == Op::Mov2 {
        rng.below(14) as u16
    } else {
        operand(rng)
    };
    Instr::with_k(op, a, b, operand(rng), k)
}

/// `main`: the registers set to edge values, a loop of `body` run three times, then
/// every register printed as the int of its bits.
fn program(rng: &mut Rng, body: Vec<Instr>) -> Program {
    let mut init = Vec::new();
    for reg in 0..REGS - 1 {
        let bits = if (6..12).contains(&reg) || (reg >= 12 && rng.below(2) == 0) {
            edge_float(rng).to_bits()
        } else if rng.below(3) == 0 {
            rng.next()
        } else {
            rng.pick(EDGE_BITS)
        };
        init.push(Instr::with_k(Op::Const, reg, 0, 0, bits));
    }
    init.push(Instr::with_k(Op::Const, REGS - 1, 0, 0, 0));
    init.push(Instr::with_k(Op::Jmp, 0, 0, 0, 1));
    let mut body = body;
    body.push(Instr::with_k(
        Op::ForStepK,
        REGS - 1,
        0,
        3,
        pack_targets(1, 2),
    ));
    let mut out = Vec::new();
    for reg in 0..REGS {
        out.push(Instr::with_k(Op::Print, reg, 0, 0, 0));
    }
    out.push(Instr::new(Op::PrintEnd, 0, 0, 0));
    out.push(Instr::new(Op::RetU, 0, 0, 0));
    let block = |instrs: Vec<Instr>| Block {
        spans: (0..instrs.len())
            .map(|i| Span {
                start: i,
                end: i + 1,
            })
            .collect(),
        instrs,
    };
    Program {
        functions: vec![Function {
            name: "main".into(),
            params: Vec::new(),
            ret: Type::Unit,
            nregs: REGS,
            nrefs: 0,
            env_slots: 0,
            env_links: Vec::new(),
            is_closure: false,
            blocks: vec![block(init), block(body), block(out)],
            locals: Vec::new(),
            span: Span::default(),
        }],
        types: vec![Type::Int],
        ..Program::default()
    }
}

#[test]
fn random_arithmetic_over_edge_values_is_the_same_bits() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut failed, mut jitted) = (0, 0);
    for case in 0..400 {
        let len = 1 + rng.below(24) as usize;
        let body: Vec<Instr> = (0..len).map(|_| random_op(&mut rng)).collect();
        let prog = program(&mut rng, body);
        assert!(
            chunkvm::compile::chunks::verify(&prog).is_ok(),
            "case {case}"
        );
        let outcome = |jit: bool| {
            let mut vm = Vm::new(prog.clone());
            let capture = Capture::new();
            vm.set_output(Box::new(capture.clone()));
            if jit {
                jit_on(&mut vm);
            } else {
                vm.set_jit(false);
            }
            vm.start(0, &[]).unwrap();
            run(vm, &capture)
        };
        let (plain, _) = outcome(false);
        let (with_jit, count) = outcome(true);
        assert_eq!(
            plain, with_jit,
            "case {case}: {:?}",
            prog.functions[0].blocks[1]
        );
        if plain.1.is_err() {
            failed += 1;
        }
        if count > 0 {
            jitted += 1;
        }
    }
    // Divisions by zero happen, and most cases run compiled.
    assert!(failed > 10, "{failed} cases failed");
    assert!(jitted > 300, "{jitted} cases ran compiled");
}

/// Divisors of every kind the JIT divides by without a division: powers of two, magic
/// numbers with and without the add/subtract correction, of both signs, and the
/// extremes it leaves to the machine's division (1, -1, `i64::MIN`).
const DIVISORS: &[i64] = &[
    1,
    -1,
    2,
    -2,
    3,
    -3,
    5,
    -5,
    6,
    7,
    -7,
    10,
    -10,
    25,
    641,
    1 << 20,
    -(1 << 20),
    (1 << 32) + 1,
    1 << 62,
    -(1 << 62),
    i64::MAX,
    i64::MIN,
    i64::MIN + 1,
    0x5555_5555_5555_5555,
    -0x5555_5555_5555_5555,
];

#[test]
fn divisions_by_constants_are_the_interpreters_over_edge_values() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut jitted = 0;
    for case in 0..120 {
        // Each divisor divides and takes the remainder of int registers, results feed on.
        let body: Vec<Instr> = (0..8)
            .map(|_| {
                let op = if rng.below(2) == 0 {
                    Op::DivIK
                } else {
                    Op::RemIK
                };
                let k = rng.pick(DIVISORS) as u64;
                Instr::with_k(op, rng.below(6) as u16, rng.below(6) as u16, 0, k)
            })
            .collect();
        let prog = program(&mut rng, body);
        assert!(
            chunkvm::compile::chunks::verify(&prog).is_ok(),
            "case {case}"
        );
        let outcome = |jit: bool| {
            let mut vm = Vm::new(prog.clone());
            let capture = Capture::new();
            vm.set_output(Box::new(capture.clone()));
            if jit {
                jit_on(&mut vm);
            } else {
                vm.set_jit(false);
            }
            vm.start(0, &[]).unwrap();
            run(vm, &capture)
        };
        let (plain, _) = outcome(false);
        let (with_jit, count) = outcome(true);
        assert!(plain.1.is_ok(), "case {case}: {plain:?}");
        assert_eq!(
            plain, with_jit,
            "case {case}: {:?}",
            prog.functions[0].blocks[1]
        );
        if count > 0 {
            jitted += 1;
        }
    }
    assert!(jitted > 100, "{jitted} cases ran compiled");
}

/// A loop whose body is several compiled blocks (a branch inside it) and divides by
/// constants: budgets and stops landing on every instruction of a few iterations, at
/// the start and around the first poll, end where the interpreter's do.
const CHAIN: &str = "fn main() {
    var t = 0;
    for i in 0..100000 {
        if i % 3 == 0 { t = t + i / 7; } else { t = t - i % 5; }
    }
    print(t);
}";

#[test]
fn budgets_and_stops_inside_a_chain_of_compiled_blocks_land_where_the_interpreter_does() {
    let budgets = (1..60u64).chain(16_360..16_420);
    for budget in budgets {
        let outcome = |jit: bool| {
            let (mut vm, out) = vm_for_main(CHAIN);
            if jit {
                jit_on(&mut vm);
            } else {
                vm.set_jit(false);
            }
            vm.set_limits(Limits {
                instructions: budget,
                ..Limits::default()
            });
            run(vm, &out)
        };
        let (plain, _) = outcome(false);
        let (with_jit, _) = outcome(true);
        assert_eq!(plain, with_jit, "budget {budget}");
        assert!(
            matches!(&plain.1, Err((ErrorKind::Budget, _, _))),
            "{plain:?}"
        );
    }
    let (mut reference, capture) = vm_for_main(CHAIN);
    reference.set_jit(false);
    reference.run_to_end().unwrap();
    let (expected, total) = (capture.text(), reference.instructions());
    let mut jitted = 0;
    for at in (40..80u64).chain([total / 2, total / 2 + 1, total / 2 + 2, total - 3]) {
        let (mut plain, _) = vm_for_main(CHAIN);
        plain.set_jit(false);
        let plain_stopped = run_to(&mut plain, at);
        let (mut vm, first) = vm_for_main(CHAIN);
        jit_on(&mut vm);
        let stopped = run_to(&mut vm, at);
        assert_eq!(stopped, plain_stopped, "stop at {at}");
        assert_eq!(vm.instructions(), plain.instructions(), "stop at {at}");
        assert_eq!(vm.stack(), plain.stack(), "stop at {at}");
        jitted += vm.jit_instructions();
        let second = Capture::new();
        vm.set_output(Box::new(second.clone()));
        vm.run_to_end().unwrap();
        assert_eq!(format!("{}{}", first.text(), second.text()), expected);
        assert_eq!(vm.instructions(), total, "resumed after {at}");
    }
    assert!(jitted > 0, "the loop ran compiled");
}
