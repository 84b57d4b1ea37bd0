//! `chunkvm bench`: CPU-bound Chop programs against the same algorithms in
//! plain Rust, measured in the same run, reported as a ratio.
//!
//! The machines this runs on are shared and noisy: each figure is the best
//! of several runs, and only the ratio VM/native is meant to be compared.

#![warn(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a closed pipe would panic: use outln!/errln!"
)]

use chunkvm::chunk::{NodeId, Store};
use chunkvm::driver::build;
use chunkvm::exec::{Value, Vm};
use std::hint::black_box;
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

/// A byte channel as a number from 0 to 1: the bench's own conversion, written
/// apart from the VM's (`exec::value::from_u8`) so that comparing the two blurs
/// also checks the VM's conversions.
fn unit_of_byte(b: u8) -> f64 {
    f64::from(b) / 255.0
}

/// A number from 0 to 1 as a byte channel, clamped and rounded to nearest (the
/// bench's own twin of `exec::value::to_u8`).
fn byte_of_unit(v: f64) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

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

/// Compares the VM's output image (`width` pixels wide, RGBA8) with the native
/// reference's: an error naming `name` and the first pixel where some channel
/// differs by more than `tolerance`, with both pixels' values.
pub fn compare_images(
    name: &str,
    width: u32,
    vm: &[u8],
    native: &[u8],
    tolerance: u8,
) -> Result<(), String> {
    if vm.len() != native.len() {
        return Err(format!(
            "{name}: the VM's output has {} bytes and the native reference's {}",
            vm.len(),
            native.len()
        ));
    }
    let first = vm
        .chunks_exact(4)
        .zip(native.chunks_exact(4))
        .enumerate()
        .find(|(_, (a, b))| a.iter().zip(*b).any(|(x, y)| x.abs_diff(*y) > tolerance));
    let Some((index, (at_vm, at_native))) = first else {
        return Ok(());
    };
    let width = width.max(1) as usize;
    Err(format!(
        "{name}: the VM differs from the native reference at pixel ({}, {}): VM {at_vm:?}, native {at_native:?} (tolerance {tolerance})",
        index % width,
        index / width,
    ))
}

/// An error listing the filters the benchmark knows when `only` is none of them.
pub fn check_filter_name(only: Option<&str>) -> Result<(), String> {
    let names: Vec<&str> = chunkvm::reference::FILTERS
        .iter()
        .map(|f| f.filter)
        .collect();
    match only {
        Some(name) if !names.contains(&name) => Err(format!(
            "no filter `{name}` in the benchmark; it has: {}",
            names.join(", ")
        )),
        _ => Ok(()),
    }
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

/// One filter's figures, per megapixel.
#[derive(Clone, Debug)]
pub struct FilterFigure {
    /// The filter.
    pub name: String,
    /// The VM, one thread, tile-wide: the whole run (photo to chunks, filter, back).
    pub vm: Duration,
    /// The same run one pixel at a time in the interpreter (`--no-tiles`).
    pub vm_per_pixel: Duration,
    /// The native reference.
    pub native: Duration,
    /// The `image` crate's operation, where it has one.
    pub image_crate: Option<Duration>,
    /// Megapixels of the photo.
    pub megapixels: f64,
}

fn image_crate_op<'i>(
    name: &str,
    img: &'i image::RgbaImage,
) -> Option<Box<dyn Fn() -> image::RgbaImage + 'i>> {
    use image::imageops;
    Some(match name {
        "invert" => Box::new(move || {
            let mut copy = img.clone();
            imageops::invert(&mut copy);
            copy
        }),
        "grayscale" => {
            Box::new(move || image::DynamicImage::ImageLuma8(imageops::grayscale(img)).to_rgba8())
        }
        "brightness" => Box::new(move || imageops::brighten(img, 12)),
        "contrast" => Box::new(move || imageops::contrast(img, 20.0)),
        "box_blur" => Box::new(move || imageops::filter3x3(img, &[1.0 / 9.0; 9])),
        "sharpen" => Box::new(move || {
            imageops::filter3x3(img, &[0.0, -1.0, 0.0, -1.0, 5.0, -1.0, 0.0, -1.0, 0.0])
        }),
        "emboss" => Box::new(move || {
            imageops::filter3x3(img, &[-2.0, -1.0, 0.0, -1.0, 1.0, 1.0, 0.0, 1.0, 2.0])
        }),
        "gaussian_blur" => Box::new(move || imageops::blur(img, 2.0)),
        _ => return None,
    })
}

/// Times every filter of the library on a `width` x `height` photo (made by resizing
/// the bundled one), against its native reference and the `image` crate.
pub fn measure_filters(
    width: u32,
    height: u32,
    only: Option<&str>,
) -> Result<Vec<FilterFigure>, String> {
    use chunkvm::photo::{run, Compiled, Rgba8, RunOptions, Target};
    use chunkvm::reference::FILTERS;
    check_filter_name(only)?;
    let base = Rgba8::decode(include_bytes!("../../samples/chelsea.png"))
        .map_err(|err| err.to_string())?;
    let photo = base.resized(width, height);
    let as_image = image::RgbaImage::from_raw(width, height, photo.pixels.clone())
        .ok_or("cannot make an image of the photo")?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
    let megapixels = width as f64 * height as f64 / 1e6;
    let mut out = Vec::new();
    for filter in FILTERS {
        if only.is_some_and(|name| name != filter.filter) {
            continue;
        }
        let source = std::fs::read_to_string(dir.join(filter.file))
            .map_err(|err| format!("{}: {err}", filter.file))?;
        let (analyzed, program) =
            build(&source).map_err(|diags| format!("{}: {diags:?}", filter.file))?;
        let setting = filter.settings.first().copied().unwrap_or(&[]);
        let options = RunOptions {
            params: setting
                .iter()
                .map(|(n, a)| (n.to_string(), a.value()))
                .collect(),
            ..RunOptions::default()
        };
        let target = Target::Filter(filter.filter.to_string());
        let run_mode = |tiles: bool| {
            let options = RunOptions {
                tiles,
                ..options.clone()
            };
            best(1, || {
                let compiled = Compiled::of(&analyzed, program.clone());
                run(compiled, Some(&target), &photo, &options)
            })
        };
        let (vm_time, vm_out) = run_mode(true);
        let vm_out = vm_out.map_err(|err| format!("{}: {err}", filter.filter))?;
        let (per_pixel_time, per_pixel_out) = run_mode(false);
        let per_pixel_out = per_pixel_out.map_err(|err| format!("{}: {err}", filter.filter))?;
        if per_pixel_out.image != vm_out.image || per_pixel_out.instructions != vm_out.instructions
        {
            return Err(format!(
                "{}: the tile-wide run and the per-pixel run differ",
                filter.filter
            ));
        }
        let (native_time, native_out) = best(2, || (filter.apply)(black_box(&photo), setting));
        compare_images(
            filter.filter,
            width,
            &vm_out.image.pixels,
            &native_out.pixels,
            filter.tolerance(),
        )?;
        let image_crate =
            image_crate_op(filter.filter, &as_image).map(|op| best(2, || black_box(op())).0);
        out.push(FilterFigure {
            name: filter.filter.to_string(),
            vm: vm_time,
            vm_per_pixel: per_pixel_time,
            native: native_time,
            image_crate,
            megapixels,
        });
    }
    Ok(out)
}

/// The memory of a photo as chunks against its raw RGBA bytes, estimated from the
/// store's layout and measured as the process's resident memory before and after.
pub fn photo_memory(width: u32, height: u32) -> Result<(usize, usize, Option<usize>), String> {
    let base = chunkvm::photo::Rgba8::decode(include_bytes!("../../samples/chelsea.png"))
        .map_err(|err| err.to_string())?;
    let photo = base.resized(width, height);
    let raw = photo.pixels.len();
    let rss_before = resident_bytes();
    let mut store = Store::new(NodeId(1));
    chunkvm::photo::photo_new(&mut store, &photo).map_err(|err| err.to_string())?;
    let rss_after = resident_bytes();
    let measured = match (rss_before, rss_after) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let estimate = store.approx_bytes();
    drop(store);
    Ok((raw, estimate, measured))
}

fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Runs the box blur on 1 thread and on every core: the speed-up.
pub fn measure_threads(width: u32, height: u32) -> Result<(usize, Duration, Duration), String> {
    use chunkvm::photo::{run, Compiled, Rgba8, RunOptions, Target};
    let base = Rgba8::decode(include_bytes!("../../samples/chelsea.png"))
        .map_err(|err| err.to_string())?;
    let photo = base.resized(width, height);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/box_blur.chop"),
    )
    .map_err(|err| err.to_string())?;
    let target = Target::Filter("box_blur".into());
    let one = RunOptions::default();
    let all = RunOptions {
        threads: cores,
        ..RunOptions::default()
    };
    let (analyzed, program) = build(&source).map_err(|diags| format!("box_blur: {diags:?}"))?;
    let run_with = |options: &RunOptions| {
        let compiled = Compiled::of(&analyzed, program.clone());
        run(compiled, Some(&target), &photo, options)
    };
    let (t1, r1) = best(2, || run_with(&one));
    let (tn, rn) = best(2, || run_with(&all));
    if r1.map_err(|e| e.to_string())?.image != rn.map_err(|e| e.to_string())?.image {
        return Err("threads changed the result".into());
    }
    Ok((cores, t1, tn))
}

/// Prints the filter benchmark; an error when the filter is unknown, a run fails
/// or the VM and a native reference disagree.
pub fn run_filters(quick: bool, only: Option<&str>) -> Result<(), String> {
    check_filter_name(only)?;
    let (w, h) = if quick { (800, 600) } else { (4000, 3000) };
    crate::outln!(
        "filters on a {w}x{h} photo ({:.1} megapixels), one thread, ms per megapixel (the VM per pixel and tile-wide; the ratios are tile-wide):",
        w as f64 * h as f64 / 1e6
    );
    crate::outln!(
        "{:<15} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "filter",
        "per-pixel",
        "tile-wide",
        "native",
        "image",
        "VM/native",
        "VM/image"
    );
    let memory = if only.is_none() {
        Some(photo_memory(w, h))
    } else {
        None
    };
    for fig in measure_filters(w, h, only)? {
        let per_mp = |d: Duration| d.as_secs_f64() * 1e3 / fig.megapixels;
        let image = fig.image_crate.map(per_mp);
        crate::outln!(
            "{:<15} {:>9.1} {:>9.1} {:>9.1} {:>9} {:>9.1}x {:>10}",
            fig.name,
            per_mp(fig.vm_per_pixel),
            per_mp(fig.vm),
            per_mp(fig.native),
            image.map_or("-".to_string(), |v| format!("{v:.1}")),
            fig.vm.as_secs_f64() / fig.native.as_secs_f64().max(1e-9),
            image.map_or("-".to_string(), |v| format!(
                "{:.1}x",
                per_mp(fig.vm) / v.max(1e-9)
            )),
        );
    }
    if let Some(memory) = memory {
        let (raw, estimate, measured) = memory?;
        crate::outln!(
            "memory of the photo as chunks: {:.1} MB estimated from the store's layout ({:.2}x its {:.1} MB of RGBA){}",
            estimate as f64 / 1e6,
            estimate as f64 / raw as f64,
            raw as f64 / 1e6,
            // Freed memory of the runs before may be reused, so the resident growth
            // is a lower bound; say it only when it is one.
            measured
                .filter(|m| *m > raw / 2)
                .map_or(String::new(), |m| format!(", {:.1} MB resident growth ({:.2}x)", m as f64 / 1e6, m as f64 / raw as f64))
        );
        let (cores, one, all) = measure_threads(w, h)?;
        crate::outln!(
            "box blur on {}: {:.0} ms against {:.0} ms on one: {:.2}x",
            chunkvm::diag::plural(cores as u64, "thread"),
            all.as_secs_f64() * 1e3,
            one.as_secs_f64() * 1e3,
            one.as_secs_f64() / all.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}

/// Runs and prints the benchmarks; an error when a run fails or the VM and
/// plain Rust disagree.
pub fn run_all(quick: bool) -> Result<(), String> {
    if cfg!(debug_assertions) {
        crate::errln!("note: this is a debug build; build with --release for meaningful figures");
    }
    let figures = measure(quick)?;
    crate::outln!(
        "{:<16} {:>12} {:>12} {:>12} {:>9}",
        "benchmark",
        "size",
        "VM ms",
        "native ms",
        "VM/native"
    );
    for fig in figures {
        crate::outln!(
            "{:<16} {:>12} {:>12.2} {:>12.2} {:>8.1}x",
            fig.name,
            fig.size,
            fig.vm.as_secs_f64() * 1e3,
            fig.native.as_secs_f64() * 1e3,
            fig.ratio()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_names_the_filter_and_the_first_differing_pixel() {
        let native: Vec<u8> = (0..3 * 2 * 4).map(|v| v as u8).collect();
        assert_eq!(compare_images("blur", 3, &native, &native, 0), Ok(()));
        let mut vm = native.clone();
        // Pixel (2, 1) is the sixth: bytes 20..24. Pixel (0, 1) is off by the tolerance only.
        vm[21] += 3;
        vm[12] += 1;
        assert_eq!(
            compare_images("blur", 3, &vm, &native, 1),
            Err(
                "blur: the VM differs from the native reference at pixel (2, 1): \
                 VM [20, 24, 22, 23], native [20, 21, 22, 23] (tolerance 1)"
                    .into()
            )
        );
        assert!(compare_images("blur", 3, &vm, &native, 0)
            .unwrap_err()
            .contains("at pixel (0, 1)"));
        assert!(compare_images("blur", 3, &vm[4..], &native, 0)
            .unwrap_err()
            .starts_with("blur: the VM's output has 20 bytes"));
    }

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
    fn an_unknown_filter_is_an_error_naming_the_known_ones() {
        let err = check_filter_name(Some("nope")).unwrap_err();
        assert!(
            err.starts_with("no filter `nope` in the benchmark; it has: invert, "),
            "{err}"
        );
        assert!(err.contains("box_blur"), "{err}");
        assert_eq!(check_filter_name(Some("box_blur")), Ok(()));
        assert_eq!(check_filter_name(None), Ok(()));
    }
}
