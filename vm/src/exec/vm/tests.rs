//! Tests of the thread API: call errors, runtime error kinds, a closed output.

use super::*;
use crate::exec::Capture;

fn vm_for(source: &str) -> Vm {
    let (_, program) = crate::driver::build(source).expect("builds");
    let mut vm = Vm::new(program);
    vm.set_output(Box::new(Capture::new()));
    vm
}

/// The error a call of `name` with `args` ends with.
fn failure(vm: &mut Vm, name: &str, args: &[Value]) -> RuntimeError {
    let (func, _) = vm.program().function(name).expect("the function");
    vm.start(func, args).expect("starts");
    vm.run_to_end().expect_err("fails")
}

/// A param value or a call the program cannot take is a `CallError` saying which,
/// and its text is the one the command line prints.
#[test]
fn bad_params_and_calls_are_call_errors() {
    let mut vm = vm_for("param amount: float = 0.5;\nfn f(n: int) -> int { n }\n");
    assert_eq!(
        vm.set_global("nope", &Value::Float(1.0)),
        Err(CallError::UnknownParam {
            name: "nope".into()
        })
    );
    let err = vm
        .set_global("amount", &Value::Bool(true))
        .expect_err("a bool is not a float");
    assert_eq!(
        err,
        CallError::ParamType {
            name: "amount".into(),
            ty: Type::Float,
            given: "bool"
        }
    );
    assert_eq!(err.to_string(), "param `amount` is a float, not a bool");
    let (f, _) = vm.program().function("f").expect("f");
    let err = vm.start(f, &[]).expect_err("f takes one argument");
    assert_eq!(
        err,
        CallError::ArgCount {
            function: "f".into(),
            wants: 1,
            given: 0
        }
    );
    assert_eq!(err.to_string(), "`f` takes 1 argument, not 0");
    assert!(matches!(
        vm.start(f, &[Value::Bool(true)]),
        Err(CallError::ArgType { ref name, given: "bool", .. }) if name == "n"
    ));
    assert_eq!(vm.start(99, &[]), Err(CallError::UnknownFunction(99)));
}

/// The error `name()` of `source` ends with, the VM set up by `setup` first.
fn failure_with(source: &str, name: &str, setup: impl FnOnce(&mut Vm)) -> RuntimeError {
    let mut vm = vm_for(source);
    setup(&mut vm);
    failure(&mut vm, name, &[])
}

/// What ended a thread is told by its kind, not by its message.
#[test]
fn runtime_errors_say_their_kind() {
    let mut vm = vm_for("fn f(n: int) -> int { 10 / n }\n");
    let err = failure(&mut vm, "f", &[Value::Int(0)]);
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::Failed, "division by zero")
    );
    let spin = "fn spin() { var i = 0; while true { i += 1; } }\n";
    let err = failure_with(spin, "spin", |vm| {
        vm.set_cancel(Arc::new(AtomicBool::new(true)))
    });
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::Cancelled, "cancelled")
    );
    let under_limits = [
        (spin, "spin", (1000, usize::MAX, 100), ErrorKind::Budget),
        (
            "fn deep() -> int { deep() + 1 }\n",
            "deep",
            (u64::MAX, usize::MAX, 50),
            ErrorKind::Depth,
        ),
        (
            "fn grow() { var i = 0; while true { let a = [1.0; 64]; i += len(a); } }\n",
            "grow",
            (u64::MAX, 3, 100),
            ErrorKind::Quota,
        ),
        (
            "fn big() { let img = blank(4096, 4096, rgb(0.0, 0.0, 0.0)); }\n",
            "big",
            (u64::MAX, 100, 100),
            ErrorKind::Quota,
        ),
    ];
    for (source, name, (instructions, chunks, depth), kind) in under_limits {
        let limits = Limits {
            instructions,
            chunks,
            depth,
        };
        let err = failure_with(source, name, |vm| vm.set_limits(limits));
        assert_eq!(err.kind, kind, "{name}: {err}");
    }
}

/// A `print` whose output is closed (a pipe whose reader left) ends the thread
/// with `OutputClosed`; another write failure is a plain failure.
#[test]
fn a_closed_output_is_its_own_kind() {
    struct Failing(std::io::ErrorKind);
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(self.0))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let source = "fn main() { print(1); }\n";
    let mut vm = vm_for(source);
    vm.set_output(Box::new(Failing(std::io::ErrorKind::BrokenPipe)));
    let err = failure(&mut vm, "main", &[]);
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::OutputClosed, "the output was closed")
    );
    let mut vm = vm_for(source);
    vm.set_output(Box::new(Failing(std::io::ErrorKind::StorageFull)));
    let err = failure(&mut vm, "main", &[]);
    assert_eq!(err.kind, ErrorKind::Failed);
    assert!(err.message.starts_with("cannot write the output"), "{err}");
}

/// A job's output is live until its stage ends, so it does not count towards the
/// next garbage collection (one would walk it and free nothing); what a stage leaves
/// behind (the last stage's input) is collected once the next stage starts.
#[test]
fn a_job_collects_what_its_stages_leave_but_never_for_its_output() {
    use crate::exec::JobStage;
    let mut vm = vm_for("filter dim(c: color) -> color { c * 0.5 }\n");
    let (func, _) = vm.program().function("dim").expect("the filter");
    // 32 x 24 tiles, some fifty safe points where a collection may start.
    let (w, h) = (256, 192);
    let pixels: Vec<u8> = (0..w * h * 4).map(|i| (i % 251) as u8).collect();
    let stage = JobStage {
        func,
        globals: vm.globals().to_vec(),
    };
    vm.gc_floor = 8;
    let src = vm.store_image(w, h, &pixels).expect("stored");
    vm.pin(src);
    let image = vm.store().data_len();
    vm.start_job(vec![stage.clone()], src).expect("starts");
    // As if the last collection had found the store this size: the job's 768 tiles
    // alone would pass it.
    vm.gc_at = image + 8;
    let out = vm.run_to_end().expect("runs");
    assert!(matches!(out, Value::Image { .. }), "{out:?}");
    assert_eq!(vm.stats().collections, 0, "the output was walked");
    let one = vm.store().data_len();
    assert!(one >= 2 * image, "{one} chunks for two images of {image}");

    // Eight stages: each stage's input but the first (pinned) is garbage once the
    // next stage starts, and collected once the store doubled since the last
    // collection: garbage never grows past what is live (the pinned input and the
    // output: two images), where nine images were made.
    let mut vm = vm_for("filter dim(c: color) -> color { c * 0.5 }\n");
    vm.gc_floor = 8;
    let src = vm.store_image(w, h, &pixels).expect("stored");
    vm.pin(src);
    vm.start_job(vec![stage; 8], src).expect("starts");
    let out = vm.run_to_end().expect("runs");
    assert!(matches!(out, Value::Image { .. }), "{out:?}");
    let stats = vm.stats();
    assert!(
        (1..=7).contains(&stats.collections),
        "{} collections: at most one per stage ended",
        stats.collections
    );
    let left = vm.store().data_len();
    assert!(
        left <= 2 * one + 8,
        "{left} chunks left for two images of {image}: stages' inputs kept"
    );
}
