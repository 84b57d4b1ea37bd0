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
use chunkvm::exec::{Capture, ErrorKind, Limits, RuntimeError, Stop, Vm};
use chunkvm::syntax::span::Span;
use chunkvm::types::Type;
use common::{chop_files, expectations, lang_dir, vm_for_file, vm_for_main};

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

/// Runs until the first safe point at or after `at` instructions; `false` if it finished.
fn run_to(vm: &mut Vm, at: u64) -> bool {
    let now = vm.instructions();
    vm.stop_after(at.saturating_sub(now).max(1));
    loop {
        match vm.run().unwrap() {
            Stop::SafePoint => return true,
            Stop::Finished(_) => return false,
            _ => continue,
        }
    }
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
fn a_debugger_or_a_breakpoint_keeps_the_thread_in_the_interpreter() {
    let (mut vm, out) = vm_for_main(BENCH);
    jit_on(&mut vm);
    // A debugger attached (the source given to map lines), no breakpoint placed.
    vm.set_source(BENCH);
    assert_eq!(vm.set_breakpoints(&[1_000]), vec![None]);
    let (outcome, count) = run(vm, &out);
    assert!(outcome.1.is_ok(), "{outcome:?}");
    assert_eq!(count, 0, "no compiled code under a debugger");
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
