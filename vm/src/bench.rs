//! `chunkvm bench`: CPU-bound Chop programs against the same algorithms in
//! plain Rust, measured in the same run, reported as a ratio.
//!
//! The machines this runs on are shared and noisy: each figure is the best
//! of several runs, and only the ratio VM/native is meant to be compared.

use crate::chunk::{image_from_rgba8, NodeId, Store};
use crate::driver::build;
use crate::exec::value::{from_u8, to_u8};
use crate::exec::{Loaded, Stop, Value, Vm};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// A deterministic test photo: smooth gradients with some texture.
pub fn test_photo(width: u32, height: u32) -> Vec<u8> {
    let mut pixels = Vec::with_capacity((width * height * 4) as usize);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for y in 0..height {
        for x in 0..width {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed & 31) as u32;
            pixels.push(((x * 255 / width.max(1)) + noise).min(255) as u8);
            pixels.push(((y * 255 / height.max(1)) + noise).min(255) as u8);
            pixels.push((((x + y) * 255 / (width + height).max(1)) ^ noise) as u8);
            pixels.push(255);
        }
    }
    pixels
}

/// The blur in plain Rust: same arithmetic (f32 channels, edge clamping, /9, rounding).
pub fn native_blur(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as i64, height as i64);
    let mut out = vec![0u8; pixels.len()];
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0f32; 4];
            for dy in -1..2i64 {
                for dx in -1..2i64 {
                    let sx = (x + dx).clamp(0, w - 1);
                    let sy = (y + dy).clamp(0, h - 1);
                    let idx = ((sy * w + sx) * 4) as usize;
                    for ch in 0..4 {
                        sum[ch] += from_u8(pixels[idx + ch]);
                    }
                }
            }
            let idx = ((y * w + x) * 4) as usize;
            for ch in 0..4 {
                out[idx + ch] = to_u8(sum[ch] / 9.0);
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

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    match last {
        Some(value) => (best, value),
        None => (best, f()),
    }
}

fn vm_for(source: &str) -> Result<Vm, String> {
    let (_, program) = build(source).map_err(|diags| format!("{diags:?}"))?;
    let mut store = Store::new(NodeId(1));
    let loaded = Arc::new(Loaded::new(program, &mut store));
    Ok(Vm::with_store(loaded, store))
}

fn call(vm: &mut Vm, name: &str, args: &[Value]) -> Result<Value, String> {
    let (idx, _) = vm
        .loaded
        .program
        .function(name)
        .ok_or_else(|| format!("no function {name}"))?;
    vm.start(idx, args)?;
    loop {
        match vm.run().map_err(|err| err.message)? {
            Stop::Finished(value) => return Ok(value),
            _ => continue,
        }
    }
}

/// One benchmark's figures.
#[derive(Clone, Debug)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// The size used.
    pub size: String,
    /// The VM's best time.
    pub vm: Duration,
    /// Plain Rust's best time.
    pub native: Duration,
}

impl Figure {
    /// VM time over native time.
    pub fn ratio(&self) -> f64 {
        self.vm.as_secs_f64() / self.native.as_secs_f64().max(1e-9)
    }
}

/// Runs every benchmark; `quick` uses small sizes.
pub fn measure(quick: bool) -> Result<Vec<Figure>, String> {
    let runs = if quick { 2 } else { 5 };
    let mut figures = Vec::new();

    let (w, h) = if quick { (400, 300) } else { (2000, 1500) };
    let pixels = test_photo(w, h);
    let mut vm = vm_for(BLUR)?;
    let src = image_from_rgba8(&mut vm.store, w, h, &pixels).map_err(|e| e.to_string())?;
    let (func, _) = vm.loaded.program.function("blur").ok_or("no blur")?;
    let (vm_time, vm_out) = best(runs, || vm.apply_region(func, src, (0, 0, w, h)));
    let vm_out = vm_out.map_err(|err| err.message)?;
    let (native_time, native_out) = best(runs, || native_blur(black_box(&pixels), w, h));
    if vm_out != native_out {
        return Err("the VM's blur differs from the native blur".into());
    }
    figures.push(Figure {
        name: "3x3 box blur".into(),
        size: format!("{w}x{h}"),
        vm: vm_time,
        native: native_time,
    });

    let n = if quick { 1_000_000 } else { 20_000_000 };
    let mut vm = vm_for(LOOP)?;
    let (vm_time, vm_out) = best(runs, || call(&mut vm, "sum_loop", &[Value::Int(n)]));
    let (native_time, native_out) = best(runs, || native_loop(black_box(n)));
    if vm_out? != Value::Int(native_out) {
        return Err("the VM's loop differs from the native loop".into());
    }
    figures.push(Figure {
        name: "integer loop".into(),
        size: format!("n = {n}"),
        vm: vm_time,
        native: native_time,
    });

    let n = if quick { 20 } else { 25 };
    let mut vm = vm_for(FIB)?;
    let (vm_time, vm_out) = best(runs, || call(&mut vm, "fib", &[Value::Int(n)]));
    let (native_time, native_out) = best(runs, || native_fib(black_box(n)));
    if vm_out? != Value::Int(native_out) {
        return Err("the VM's fib differs from the native fib".into());
    }
    figures.push(Figure {
        name: "recursive fib".into(),
        size: format!("fib({n})"),
        vm: vm_time,
        native: native_time,
    });
    Ok(figures)
}

/// Runs and prints the benchmarks.
pub fn run_all(quick: bool) {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; build with --release for meaningful figures");
    }
    match measure(quick) {
        Ok(figures) => {
            println!(
                "{:<16} {:>12} {:>12} {:>12} {:>9}",
                "benchmark", "size", "VM ms", "native ms", "VM/native"
            );
            for fig in figures {
                println!(
                    "{:<16} {:>12} {:>12.2} {:>12.2} {:>8.1}x",
                    fig.name,
                    fig.size,
                    fig.vm.as_secs_f64() * 1e3,
                    fig.native.as_secs_f64() * 1e3,
                    fig.ratio()
                );
            }
        }
        Err(err) => eprintln!("error: {err}"),
    }
}
