//! The stepping API that the debugger stands on: breakpoints by line, steps
//! by instruction and by line (over, into, out), pausing from another OS
//! thread, and reading frames, locals and chunks. Lines are found by marker
//! comments in the source, never by number.

#![allow(clippy::unwrap_used)]

mod common;

use chunkvm::chunk::Kind;
use chunkvm::exec::{StepKind, Stop, Value, Vm};
use common::vm_for_main;

const PROGRAM: &str = r#"
fn square(v: int) -> int {
    let result = v * v; // @square-body
    result // @square-return
}

fn main() {
    var total = 0; // @main-first
    let scale = 1.5;
    for i in 0..3 {
        total += square(i); // @call
        let shown = total * 2; // @after-call
    }
    print(total, scale); // @print
}
"#;

fn line_of(marker: &str) -> u32 {
    PROGRAM
        .lines()
        .position(|line| line.contains(&format!("// {marker}")))
        .map(|idx| idx as u32 + 1)
        .unwrap_or_else(|| panic!("no marker {marker}"))
}

fn debug_vm() -> (Vm, common_capture::Capture) {
    let (mut vm, capture) = vm_for_main(PROGRAM);
    vm.set_source(PROGRAM);
    (vm, capture)
}

mod common_capture {
    pub use chunkvm::exec::Capture;
}

fn current_line(vm: &Vm) -> u32 {
    vm.stack().first().map(|frame| frame.line).unwrap_or(0)
}

fn local(vm: &Vm, frame: usize, name: &str) -> Option<Value> {
    vm.locals(frame)
        .into_iter()
        .find(|var| var.name == name)
        .map(|var| var.value)
}

#[test]
fn breakpoints_stop_on_their_line_each_time_it_runs() {
    let (mut vm, capture) = debug_vm();
    let call = line_of("@call");
    assert_eq!(vm.set_breakpoints(&[call]), vec![Some(call)]);
    let mut hits = 0;
    loop {
        match vm.run().unwrap() {
            Stop::Breakpoint => {
                hits += 1;
                assert_eq!(current_line(&vm), call);
                assert_eq!(vm.stack()[0].function, "main");
                assert_eq!(local(&vm, 0, "i"), Some(Value::Int(hits - 1)));
            }
            Stop::Finished(_) => break,
            other => panic!("unexpected stop {other:?}"),
        }
    }
    assert_eq!(hits, 3);
    assert_eq!(capture.text(), "5 1.5\n");
}

#[test]
fn a_breakpoint_on_a_line_without_code_moves_to_the_next_line_with_code() {
    let (mut vm, _) = debug_vm();
    let blank = line_of("@square-return") + 1; // the closing brace has a return
    let set = vm.set_breakpoints(&[1, blank]);
    assert_eq!(set[0], Some(line_of("@square-body")));
    assert!(set[1].is_some());
}

#[test]
fn step_over_into_and_out() {
    let (mut vm, _) = debug_vm();
    vm.set_breakpoints(&[line_of("@call")]);
    assert_eq!(vm.run().unwrap(), Stop::Breakpoint);
    vm.set_breakpoints(&[]);

    // Over: the call runs, and the next line of main comes.
    assert_eq!(vm.step(StepKind::Over).unwrap(), Stop::Step);
    assert_eq!(current_line(&vm), line_of("@after-call"));
    assert_eq!(vm.stack().len(), 1);

    // Over again: back to the loop head, then the call line.
    let mut guard = 0;
    while current_line(&vm) != line_of("@call") {
        vm.step(StepKind::Over).unwrap();
        guard += 1;
        assert!(guard < 10, "never came back to the call");
    }

    // Into: the first line of `square`, one frame deeper, with its parameter.
    assert_eq!(vm.step(StepKind::Into).unwrap(), Stop::Step);
    assert_eq!(current_line(&vm), line_of("@square-body"));
    let stack = vm.stack();
    assert_eq!(stack.len(), 2);
    assert_eq!(stack[0].function, "square");
    assert_eq!(stack[1].function, "main");
    assert_eq!(stack[1].line, line_of("@call"));
    let params = vm.locals(0);
    assert_eq!(params[0].name, "v");
    assert!(params[0].is_param);
    assert_eq!(params[0].ty.to_string(), "int");
    assert_eq!(params[0].value, Value::Int(1));

    vm.step(StepKind::Over).unwrap();
    assert_eq!(current_line(&vm), line_of("@square-return"));
    assert_eq!(local(&vm, 0, "result"), Some(Value::Int(1)));

    // Out: back in main, on the line of the call.
    assert_eq!(vm.step(StepKind::Out).unwrap(), Stop::Step);
    assert_eq!(vm.stack().len(), 1);
    assert_eq!(current_line(&vm), line_of("@call"));
    assert_eq!(local(&vm, 0, "scale"), Some(Value::Float(1.5)));
}

#[test]
fn step_instruction_moves_one_instruction() {
    let (mut vm, _) = debug_vm();
    let before = vm.instructions();
    let pc = vm.stack()[0].pc;
    assert_eq!(vm.step(StepKind::Instruction).unwrap(), Stop::Step);
    assert_eq!(vm.instructions(), before + 1);
    assert_eq!(vm.stack()[0].pc, pc + 1);
    for _ in 0..20 {
        let before = vm.instructions();
        vm.step(StepKind::Instruction).unwrap();
        assert_eq!(vm.instructions(), before + 1);
    }
}

#[test]
fn pause_from_another_thread() {
    let source = "fn main() { var n = 0; while true { n += 1; } print(n); }";
    let (mut vm, _) = vm_for_main(source);
    let flag = vm.pause_flag();
    let pauser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let stop = vm.run().unwrap();
    pauser.join().unwrap();
    assert_eq!(stop, Stop::Paused);
    let Some(Value::Int(n)) = local(&vm, 0, "n") else {
        panic!("no n");
    };
    assert!(n > 0);
    // It goes on from where it paused.
    vm.stop_after(1000);
    assert_eq!(vm.run().unwrap(), Stop::SafePoint);
    let Some(Value::Int(later)) = local(&vm, 0, "n") else {
        panic!("no n");
    };
    assert!(later > n);
}

#[test]
fn the_chunks_reachable_from_a_stopped_thread() {
    let (mut vm, _) = debug_vm();
    vm.set_breakpoints(&[line_of("@square-body")]);
    assert_eq!(vm.run().unwrap(), Stop::Breakpoint);
    let frame_block = vm.stack()[0].block.0;
    let root = vm.materialize();
    let reached = vm.store().reachable(&[root]).unwrap();
    let kind_of = |id| vm.store().get(id).map(|c| c.kind);
    let frames = reached
        .iter()
        .filter(|id| kind_of(**id) == Some(Kind::Frame))
        .count();
    assert_eq!(frames, 2, "one frame chunk per Chop frame");
    assert!(
        reached.contains(&frame_block),
        "the PC's block chunk is reachable"
    );
    assert!(reached.iter().any(|id| kind_of(*id) == Some(Kind::Program)));
    assert_eq!(kind_of(root), Some(Kind::Thread));
}

#[test]
fn runtime_errors_carry_the_chop_stack() {
    let source = "fn inner(d: int) -> int {\n  10 / d\n}\nfn outer(d: int) -> int {\n  inner(d) + 1\n}\nfn main() {\n  print(outer(0));\n}\n";
    let (mut vm, _) = vm_for_main(source);
    let err = vm.run().unwrap_err();
    assert_eq!(err.message, "division by zero");
    let names: Vec<&str> = err.trace.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["inner", "outer", "main"]);
    assert_eq!(&source[err.span.start..err.span.end], "10 / d");
    assert!(!vm.is_running(), "a failed thread stops");
}

/// A debugger stopping on an exception sees the stack and the locals where it failed.
#[test]
fn a_failed_thread_keeps_its_frames_for_a_debugger() {
    let text = "fn div(a: int, b: int) -> int { a / b }\n\
                fn main() { let k = 0; print(div(7, k)); }";
    let (mut vm, _) = vm_for_main(text);
    vm.set_source(text);
    vm.keep_frames_on_error(true);
    let err = vm.run().unwrap_err();
    assert!(err.message.contains("division by zero"), "{}", err.message);
    let stack = vm.stack();
    let names: Vec<&str> = stack.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["div", "main"]);
    let locals = vm.locals(0);
    assert!(
        locals
            .iter()
            .any(|v| v.name == "b" && v.value == Value::Int(0)),
        "{locals:?}"
    );
    assert_eq!(
        vm.failed().map(|e| e.message.clone()),
        Some(err.message.clone())
    );
    // It runs no more: the same error again.
    assert_eq!(vm.run().unwrap_err().message, err.message);

    // Without it, the frames go (what the command line does).
    let (mut plain, _) = vm_for_main(text);
    assert!(plain.run().is_err());
    assert!(plain.stack().is_empty());
}

/// A debugger's setVariable: a scalar local of a stopped frame changes, the run goes on
/// with it; references and unknown names are refused.
#[test]
fn a_stopped_thread_s_local_can_be_set() {
    let text = "fn main() {\n    var total = 1;\n    let c = rgb(0.5, 0.5, 0.5);\n    let a = [1, 2];\n    total += 1; // @stop\n    print(total, c.r, a[0]);\n}";
    let (mut vm, capture) = vm_for_main(text);
    vm.set_source(text);
    let line = text.lines().position(|l| l.contains("@stop")).unwrap() as u32 + 1;
    vm.set_breakpoints(&[line]);
    assert_eq!(vm.run().unwrap(), Stop::Breakpoint);
    vm.set_local(0, "total", &Value::Int(40)).unwrap();
    vm.set_local(0, "c", &Value::Color([0.25, 0.0, 0.0, 1.0]))
        .unwrap();
    let refused = vm.set_local(0, "a", &Value::Int(3)).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("only int, float, bool and color"),
        "{refused}"
    );
    let wrong = vm.set_local(0, "total", &Value::Bool(true)).unwrap_err();
    assert!(wrong.to_string().contains("total"), "{wrong}");
    assert!(vm.set_local(0, "nope", &Value::Int(1)).is_err());
    assert!(vm.set_local(5, "total", &Value::Int(1)).is_err());
    vm.set_breakpoints(&[]);
    vm.run_to_end().unwrap();
    assert_eq!(capture.text(), "41 0.25 1\n");
}

#[test]
fn instruction_breakpoints_stop_on_their_instruction_each_time() {
    let (mut vm, _) = debug_vm();
    let (square, _) = vm.program().function("square").unwrap();
    // The second instruction of `square`, and one that does not exist.
    let placed = vm.set_instruction_breakpoints(&[(square, 1), (square, 100_000)]);
    assert_eq!(placed, [true, false]);
    for i in 0..3 {
        assert_eq!(vm.run().unwrap(), Stop::Breakpoint, "call {i}");
        let top = &vm.stack()[0];
        assert_eq!((top.function.as_str(), top.pc), ("square", 1));
        assert_eq!(local(&vm, 0, "v"), Some(Value::Int(i)));
    }
    // Cleared: the run goes to its end.
    vm.set_instruction_breakpoints(&[]);
    loop {
        match vm.run().unwrap() {
            Stop::Finished(_) => break,
            Stop::Breakpoint => panic!("stopped on a cleared instruction breakpoint"),
            _ => {}
        }
    }
}
