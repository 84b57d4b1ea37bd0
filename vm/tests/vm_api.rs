//! The public API a client (the command line, a bench) drives the VM with:
//! [`Vm::run_to_end`], [`Vm::stats`], [`Vm::program`], [`Vm::store_image`].

#![allow(clippy::unwrap_used)]

use chunkvm::exec::{Capture, Stats, Value, Vm};

fn vm_for(source: &str) -> Vm {
    let (_, program) = chunkvm::driver::build(source).unwrap();
    let mut vm = Vm::new(program);
    vm.set_output(Box::new(Capture::new()));
    vm
}

const SUM: &str =
    "fn sum(n: int) -> int {\n    var t = 0;\n    for i in 0..n { t += i; }\n    t\n}\n";

/// A call runs through the safe points it is asked to stop at, to its value.
#[test]
fn run_to_end_goes_through_stops_to_the_value() {
    let mut vm = vm_for(SUM);
    let (sum, _) = vm.program().function("sum").unwrap();
    vm.start(sum, &[Value::Int(100)]).unwrap();
    // Stop at the first safe point after 5 instructions: `run` alone comes back early.
    vm.stop_after(5);
    assert_eq!(vm.run_to_end(), Ok(Value::Int(4950)));
    assert!(!vm.is_running());
}

/// The error that ends a call is its result, with its position.
#[test]
fn run_to_end_gives_the_runtime_error() {
    let mut vm = vm_for("fn f(d: int) -> int {\n    10 / d\n}\n");
    let (f, _) = vm.program().function("f").unwrap();
    vm.start(f, &[Value::Int(0)]).unwrap();
    let err = vm.run_to_end().unwrap_err();
    assert_eq!(err.message, "division by zero");
    assert_eq!(err.trace.first().map(|(name, _)| name.as_str()), Some("f"));
}

/// The stats count the instructions run and the chunks the store holds.
#[test]
fn stats_count_instructions_and_chunks() {
    let mut vm = vm_for("fn make(n: int) -> int {\n    let a = [1, 2, 3, 4];\n    var t = 0;\n    for i in 0..n { t += a[i % 4]; }\n    t\n}\n");
    let code = vm.stats();
    assert_eq!(code.instructions, 0);
    assert_eq!(code.chunks, vm.store().len());
    assert!(code.chunks > 0, "the code is in the store");
    let (make, _) = vm.program().function("make").unwrap();
    vm.start(make, &[Value::Int(10)]).unwrap();
    assert_eq!(vm.run_to_end(), Ok(Value::Int(23)));
    let after: Stats = vm.stats();
    assert_eq!(after.instructions, vm.instructions());
    assert!(after.instructions > 10, "{after:?}");
    assert!(
        after.chunks > code.chunks,
        "the array is a chunk: {after:?}"
    );
    assert_eq!(after.chunks, vm.store().len());
}

/// An image stored in the thread's store is what a filter reads.
#[test]
fn store_image_gives_a_filter_its_input() {
    let mut vm = vm_for(
        "filter invert(c: color) -> color {\n    rgba(1.0 - c.r, 1.0 - c.g, 1.0 - c.b, c.a)\n}\n",
    );
    let pixels: Vec<u8> = [10u8, 20, 30, 255].repeat(12 * 10);
    let image = vm.store_image(12, 10, &pixels).unwrap();
    let (invert, _) = vm.program().function("invert").unwrap();
    let out = vm.apply_region(invert, image, (0, 0, 12, 10)).unwrap();
    assert_eq!(out.len(), 12 * 10 * 4);
    assert_eq!(&out[..4], &[245, 235, 225, 255]);
}
