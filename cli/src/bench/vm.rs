//! The VM against plain Rust on CPU-bound programs (`chunkvm bench --vm-only`): an
//! integer loop, recursive Fibonacci and a 3x3 box blur, in the interpreter and with
//! the JIT.

use super::*;
use chunkvm::driver::build;
use chunkvm::exec::{JitStats, Value, Vm};
use std::hint::black_box;

/// The 3x3 box blur, as a kernel filter.
pub const BLUR: &str = r#"
/// A 3x3 box blur: the mean of each pixel's neighbourhood.
filter blur(src: image, x: int, y: int) -> color {
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for dy in -1..2 {
        for dx in -1..2 {
            sum = sum + src.at(x + dx, y + dy);
        }
    }
    sum / 9.0
}
"#;

/// The integer loop.
pub const LOOP: &str = r#"
fn sum_loop(n: int) -> int {
    var total = 0;
    for i in 0..n {
        total = total + i * i % 7;
    }
    total
}
"#;

/// Recursive Fibonacci.
pub const FIB: &str = r#"
fn fib(n: int) -> int {
    if n < 2 {
        return n;
    }
    fib(n - 1) + fib(n - 2)
}
"#;

/// The blur in plain Rust: edge clamping, the mean of 9 channels, rounding. It
/// works in f64 with its own conversions where the VM works in f32 with its
/// own; both give the same bytes, since the mean of 9 bytes is a multiple of
/// 1/9 and so never within 0.05 of a rounding tie.
pub fn native_blur(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as i64, height as i64);
    let mut out = vec![0u8; pixels.len()];
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0f64; 4];
            for dy in -1..2i64 {
                for dx in -1..2i64 {
                    let sx = (x + dx).clamp(0, w - 1);
                    let sy = (y + dy).clamp(0, h - 1);
                    let idx = ((sy * w + sx) * 4) as usize;
                    for ch in 0..4 {
                        sum[ch] += unit_of_byte(pixels[idx + ch]);
                    }
                }
            }
            let idx = ((y * w + x) * 4) as usize;
            for ch in 0..4 {
                out[idx + ch] = byte_of_unit(sum[ch] / 9.0);
            }
        }
    }
    out
}

/// The integer loop in plain Rust.
pub fn native_loop(n: i64) -> i64 {
    let mut total = 0i64;
    for i in 0..n {
        total = total.wrapping_add(black_box(i.wrapping_mul(i) % 7));
    }
    total
}

/// Recursive Fibonacci in plain Rust.
pub fn native_fib(n: i64) -> i64 {
    if n < 2 {
        return n;
    }
    native_fib(black_box(n - 1)) + native_fib(n - 2)
}

fn vm_for(source: &str) -> Result<Vm, String> {
    let (_, program) = build(source).map_err(|diags| format!("{diags:?}"))?;
    Ok(Vm::new(program))
}

fn call(vm: &mut Vm, name: &str, args: &[Value]) -> Result<Value, String> {
    let (idx, _) = vm
        .program()
        .function(name)
        .ok_or_else(|| format!("no function {name}"))?;
    vm.start(idx, args).map_err(|err| err.to_string())?;
    vm.run_to_end().map_err(|err| err.message)
}

/// One benchmark's figures.
#[derive(Clone, Debug)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// The size used.
    pub size: String,
    /// The VM's best time in the interpreter (no JIT).
    pub vm: Duration,
    /// The VM's best time with the JIT, and what it compiled (`None`: not measured).
    pub jit: Option<(Duration, JitStats)>,
    /// Plain Rust's best time.
    pub native: Duration,
}

impl Figure {
    /// VM time over native time.
    pub fn ratio(&self) -> f64 {
        self.vm.as_secs_f64() / self.native.as_secs_f64().max(1e-9)
    }

    /// JIT time over native time.
    pub fn jit_ratio(&self) -> Option<f64> {
        self.jit
            .map(|(jit, _)| jit.as_secs_f64() / self.native.as_secs_f64().max(1e-9))
    }
}

/// The best time of `name(arg)` in the interpreter and with the JIT (a VM of its own
/// each: the JIT's compiles in its first run), their value (the same, or an error), and
/// what the JIT compiled.
fn interpreter_and_jit(
    source: &str,
    name: &str,
    arg: i64,
    runs: usize,
) -> Result<(Duration, Duration, Value, JitStats), String> {
    let mut vm = vm_for(source)?;
    vm.set_jit(false);
    let (vm_time, vm_out) = best(runs, || call(&mut vm, name, &[Value::Int(arg)]));
    let mut jit = vm_for(source)?;
    jit.set_jit(true);
    let (jit_time, jit_out) = best(runs, || call(&mut jit, name, &[Value::Int(arg)]));
    let (vm_out, jit_out) = (vm_out?, jit_out?);
    if vm_out != jit_out || vm.instructions() != jit.instructions() {
        return Err(format!(
            "{name}: the JIT gives {jit_out} in {} instructions, the interpreter {vm_out} in {}",
            jit.instructions(),
            vm.instructions()
        ));
    }
    Ok((vm_time, jit_time, vm_out, jit.jit_stats()))
}

/// Runs every benchmark; `quick` uses small sizes.
pub fn measure(quick: bool) -> Result<Vec<Figure>, String> {
    let runs = if quick { 2 } else { 5 };
    let mut figures = Vec::new();

    let (w, h) = if quick { (400, 300) } else { (2000, 1500) };
    let pixels = test_photo(w, h);
    let mut vm = vm_for(BLUR)?;
    let src = vm.store_image(w, h, &pixels).map_err(|e| e.to_string())?;
    let (func, _) = vm.program().function("blur").ok_or("no blur")?;
    let (vm_time, vm_out) = best(runs, || vm.apply_region(func, src, (0, 0, w, h)));
    let vm_out = vm_out.map_err(|err| err.message)?;
    let (native_time, native_out) = best(runs, || native_blur(black_box(&pixels), w, h));
    compare_images("3x3 box blur", w, &vm_out, &native_out, 0)?;
    figures.push(Figure {
        name: "3x3 box blur".into(),
        size: format!("{w}x{h}"),
        vm: vm_time,
        jit: None,
        native: native_time,
    });

    let n = if quick { 1_000_000 } else { 20_000_000 };
    let (vm_time, jit_time, vm_out, stats) = interpreter_and_jit(LOOP, "sum_loop", n, runs)?;
    let (native_time, native_out) = best(runs, || native_loop(black_box(n)));
    if vm_out != Value::Int(native_out) {
        return Err("the VM's loop differs from the native loop".into());
    }
    figures.push(Figure {
        name: "integer loop".into(),
        size: format!("n = {n}"),
        vm: vm_time,
        jit: Some((jit_time, stats)),
        native: native_time,
    });

    let n = if quick { 20 } else { 25 };
    let (vm_time, jit_time, vm_out, stats) = interpreter_and_jit(FIB, "fib", n, runs)?;
    let (native_time, native_out) = best(runs, || native_fib(black_box(n)));
    if vm_out != Value::Int(native_out) {
        return Err("the VM's fib differs from the native fib".into());
    }
    figures.push(Figure {
        name: "recursive fib".into(),
        size: format!("fib({n})"),
        vm: vm_time,
        jit: Some((jit_time, stats)),
        native: native_time,
    });
    Ok(figures)
}

/// Runs and prints the benchmarks; an error when a run fails or the VM and
/// plain Rust disagree.
pub fn run_all(quick: bool) -> Result<(), String> {
    if cfg!(debug_assertions) {
        crate::errln!("note: this is a debug build; build with --release for meaningful figures");
    }
    let figures = measure(quick)?;
    crate::outln!(
        "{:<16} {:>12} {:>10} {:>10} {:>10} {:>9} {:>9} {:>10} {:>10}",
        "benchmark",
        "size",
        "VM ms",
        "JIT ms",
        "native ms",
        "VM/native",
        "JIT/nat.",
        "compile ms",
        "code bytes"
    );
    for fig in figures {
        let dash = || "-".to_string();
        crate::outln!(
            "{:<16} {:>12} {:>10.2} {:>10} {:>10.2} {:>8.1}x {:>9} {:>10} {:>10}",
            fig.name,
            fig.size,
            fig.vm.as_secs_f64() * 1e3,
            fig.jit
                .map_or_else(dash, |(t, _)| format!("{:.2}", t.as_secs_f64() * 1e3)),
            fig.native.as_secs_f64() * 1e3,
            fig.ratio(),
            fig.jit_ratio().map_or_else(dash, |r| format!("{r:.1}x")),
            fig.jit.map_or_else(dash, |(_, s)| format!(
                "{:.3}",
                s.compile_time.as_secs_f64() * 1e3
            )),
            fig.jit.map_or_else(dash, |(_, s)| s.code_bytes.to_string()),
        );
    }
    if !chunkvm::exec::jit_by_default() {
        crate::errln!("note: the JIT is off (CHUNKVM_NO_JIT=1, or a build or host without it)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_blur_and_the_vm_blur_agree_byte_for_byte() {
        let (w, h) = (23, 17);
        let pixels = test_photo(w, h);
        let mut vm = vm_for(BLUR).unwrap();
        let src = vm.store_image(w, h, &pixels).unwrap();
        let (func, _) = vm.program().function("blur").unwrap();
        let out = vm.apply_region(func, src, (0, 0, w, h)).unwrap();
        let native = native_blur(&pixels, w, h);
        assert_eq!(compare_images("3x3 box blur", w, &out, &native, 0), Ok(()));
        // The bench's conversions are its own, and round to nearest.
        assert_eq!(byte_of_unit(unit_of_byte(200)), 200);
        assert_eq!(byte_of_unit(0.5), 128);
        assert_eq!(byte_of_unit(-1.0), 0);
        assert_eq!(byte_of_unit(f64::NAN), 0);
    }
    #[test]
    fn the_jit_and_the_interpreter_agree_on_the_bench_programs() {
        let (_, _, value, stats) = interpreter_and_jit(LOOP, "sum_loop", 5000, 1).unwrap();
        assert_eq!(value, Value::Int(native_loop(5000)));
        if chunkvm::exec::jit_by_default() {
            assert!(stats.regions > 0 && stats.code_bytes > 0, "{stats:?}");
        }
        let (_, _, value, _) = interpreter_and_jit(FIB, "fib", 15, 1).unwrap();
        assert_eq!(value, Value::Int(native_fib(15)));
    }
}
