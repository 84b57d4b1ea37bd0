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
use chunkvm::exec::{JitStats, Value, Vm};
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

/// A photo converted to tile chunks and back, against a plain copy of its bytes.
#[derive(Clone, Debug)]
pub struct ConversionFigure {
    /// The photo's width.
    pub width: u32,
    /// The photo's height.
    pub height: u32,
    /// RGBA8 to an Image chunk and its tiles, in a fresh store.
    pub to_tiles: Duration,
    /// The Image chunk back to RGBA8.
    pub from_tiles: Duration,
    /// A copy of the same bytes into a fresh buffer (`memcpy`).
    pub memcpy: Duration,
}

impl ConversionFigure {
    /// Megapixels of the photo.
    pub fn megapixels(&self) -> f64 {
        self.width as f64 * self.height as f64 / 1e6
    }

    /// A duration in milliseconds per megapixel of this photo.
    pub fn per_mp(&self, d: Duration) -> f64 {
        d.as_secs_f64() * 1e3 / self.megapixels().max(1e-9)
    }
}

/// RGBA8 `pixels` of a `width` x `height` photo to tile chunks in a fresh store
/// and back: the store, the image's root and the bytes read back.
pub fn conversion_round_trip(
    width: u32,
    height: u32,
    pixels: &[u8],
) -> Result<(Store, chunkvm::chunk::ChunkId, Vec<u8>), String> {
    let mut store = Store::new(NodeId(1));
    let id = chunkvm::chunk::image_from_rgba8(&mut store, width, height, pixels)
        .map_err(|err| err.to_string())?;
    let (w, h, back) = chunkvm::chunk::image_to_rgba8(&store, id).map_err(|err| err.to_string())?;
    if (w, h) != (width, height) || back != pixels {
        return Err(format!(
            "a {width}x{height} photo came back from its tiles as {w}x{h}, or with other bytes"
        ));
    }
    Ok((store, id, back))
}

/// Times a `width` x `height` photo to tile chunks and back (best of `runs`), and a
/// plain copy of its bytes in the same run; an error when the round trip changes a
/// byte.
pub fn measure_conversion(
    width: u32,
    height: u32,
    runs: usize,
) -> Result<ConversionFigure, String> {
    use chunkvm::chunk::{image_from_rgba8, image_to_rgba8};
    let pixels = test_photo(width, height);
    let (store, id, _) = conversion_round_trip(width, height, &pixels)?;
    let mut stores = Vec::new();
    let (to_tiles, made) = best(runs, || {
        let mut fresh = Store::new(NodeId(1));
        let made = image_from_rgba8(&mut fresh, width, height, black_box(&pixels));
        // Dropped after the timing: freeing is not converting.
        stores.push(fresh);
        made
    });
    made.map_err(|err| err.to_string())?;
    drop(stores);
    let mut outputs = Vec::new();
    let (from_tiles, back) = best(runs, || {
        image_to_rgba8(black_box(&store), id).map(|(_, _, px)| {
            let len = px.len();
            // Dropped after the timing, as the copies below.
            outputs.push(px);
            len
        })
    });
    back.map_err(|err| err.to_string())?;
    drop(outputs);
    let mut copies = Vec::new();
    let (memcpy, copied) = best(runs, || {
        let copy = black_box(&pixels).to_vec();
        let len = copy.len();
        copies.push(copy);
        len
    });
    if copied != pixels.len() {
        return Err("the copy lost bytes".into());
    }
    Ok(ConversionFigure {
        width,
        height,
        to_tiles,
        from_tiles,
        memcpy,
    })
}

/// What the editor previews: a file of `filters/` and one of its filters or pipelines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewTarget {
    /// The file, relative to `filters/`.
    pub file: String,
    /// The filter or pipeline.
    pub target: chunkvm::photo::Target,
}

impl PreviewTarget {
    /// The filter's or pipeline's name.
    pub fn name(&self) -> &str {
        use chunkvm::photo::Target;
        match &self.target {
            Target::Filter(name) | Target::Pipeline(name) => name,
        }
    }
}

/// The `filters/` folder of the repository.
fn filters_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters")
}

/// Every filter of the library (the `.chop` files of `filters/`) and every pipeline
/// of `filters/pipelines/`, in file order; `only` keeps the filter of that name.
pub fn preview_targets(only: Option<&str>) -> Result<Vec<PreviewTarget>, String> {
    use chunkvm::photo::Target;
    let mut out = Vec::new();
    for (folder, pipelines) in [("", false), ("pipelines", true)] {
        let dir = filters_dir().join(folder);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|err| format!("{}: {err}", dir.display()))?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".chop"))
            .collect();
        files.sort();
        for name in files {
            let file = if folder.is_empty() {
                name
            } else {
                format!("{folder}/{name}")
            };
            let text = std::fs::read_to_string(filters_dir().join(&file))
                .map_err(|err| format!("{file}: {err}"))?;
            let targets = chop_ide::preview::Targets::of(&chop_ide::Doc::new(&text));
            let found = if pipelines {
                targets
                    .pipelines
                    .into_iter()
                    .map(Target::Pipeline)
                    .collect()
            } else {
                targets
                    .filters
                    .into_iter()
                    .map(Target::Filter)
                    .collect::<Vec<_>>()
            };
            for target in found {
                let t = PreviewTarget {
                    file: file.clone(),
                    target,
                };
                if only.is_none_or(|only| matches!(&t.target, Target::Filter(n) if n == only)) {
                    out.push(t);
                }
            }
        }
    }
    Ok(out)
}

/// The level of `photo` the editor previews (the first at most 512 pixels on its
/// longer side), made as the editor's photo cache makes it: each level the mean of
/// 2x2 blocks of the one above.
pub fn preview_image(photo: &chunkvm::photo::Rgba8) -> chunkvm::photo::Rgba8 {
    use chunkvm::photo::{downsample, preview_level};
    let mut image = photo.clone();
    for _ in 0..preview_level(photo.width, photo.height) {
        image = downsample(&image);
    }
    image
}

/// One filter's or pipeline's editor preview, timed.
#[derive(Clone, Debug)]
pub struct PreviewFigure {
    /// The filter or pipeline.
    pub name: String,
    /// Whether it is a pipeline.
    pub pipeline: bool,
    /// The median time of a preview (the whole request: compile, run, PNG).
    pub p50: Duration,
    /// The longest.
    pub max: Duration,
    /// The filter's native reference on the same image (filters only).
    pub native: Option<Duration>,
}

/// The figure a frame at 60 frames a second leaves a preview.
pub const PREVIEW_GOAL: Duration = Duration::from_millis(16);

/// Runs the editor's preview ([`chop_ide::preview::preview`], as the language
/// server's `chop/preview` calls it: the preview level given, default params) of
/// every target `runs` times on `image`: the median and the longest run, and the
/// native reference of each filter on the same image. An error when a preview fails
/// or a filter's preview differs from its reference.
pub fn measure_preview(
    image: &chunkvm::photo::Rgba8,
    targets: &[PreviewTarget],
    runs: usize,
) -> Result<Vec<PreviewFigure>, String> {
    use chunkvm::exec::Limits;
    use chunkvm::photo::{Rgba8, Target};
    use chunkvm::reference::FILTERS;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let mut out = Vec::new();
    for t in targets {
        let path = filters_dir().join(&t.file);
        let text = std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", t.file))?;
        let mut document = chop_ide::Document::new(&text);
        // As the editor does: a pipeline's used filters come from the library's files.
        document.set_program(Some(chop_ide::ProgramContext {
            path,
            lib: vec![filters_dir()],
            resolver: Arc::new(chunkvm::modules::FsResolver),
            cache: None,
        }));
        let doc = document.analyse();
        let mut times = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let result = chop_ide::preview::preview(
                &doc,
                Some(&t.target),
                black_box(image),
                &[],
                Some(0),
                Limits::default(),
                Arc::new(AtomicBool::new(false)),
                &|_, _| {},
            )
            .map_err(|err| format!("preview of {}: {err}", t.name()))?;
            times.push(started.elapsed());
            last = Some(result);
        }
        times.sort();
        // The lower median: of two runs, the faster.
        let p50 = times[(times.len() - 1) / 2];
        let max = times[times.len() - 1];
        let mut native = None;
        if let (Target::Filter(name), Some(result)) = (&t.target, &last) {
            if let Some(filter) = FILTERS.iter().find(|f| f.filter == name) {
                let shown = Rgba8::decode(&result.png).map_err(|err| err.to_string())?;
                let (time, reference) = best(runs.max(1), || (filter.apply)(black_box(image), &[]));
                compare_images(
                    name,
                    image.width,
                    &shown.pixels,
                    &reference.pixels,
                    filter.tolerance(),
                )?;
                native = Some(time);
            }
        }
        out.push(PreviewFigure {
            name: t.name().to_string(),
            pipeline: matches!(t.target, Target::Pipeline(_)),
            p50,
            max,
            native,
        });
    }
    Ok(out)
}

/// A filter run on one worker thread and on two.
#[derive(Clone, Debug)]
pub struct ThreadsFigure {
    /// The filter.
    pub filter: String,
    /// The photo's width.
    pub width: u32,
    /// The photo's height.
    pub height: u32,
    /// The best run on one thread.
    pub one: Duration,
    /// The best run on two.
    pub two: Duration,
    /// CPU time per run on one thread, all threads of the process together (Linux).
    pub one_cpu: Option<Duration>,
    /// CPU time per run on two threads: about twice [`ThreadsFigure::two`] when
    /// both ran at once, about [`ThreadsFigure::two`] when they took turns.
    pub two_cpu: Option<Duration>,
    /// The machine's load average over the last minute, after the runs (Linux).
    pub load: Option<f64>,
}

impl ThreadsFigure {
    /// How many times faster two threads are than one.
    pub fn speedup(&self) -> f64 {
        self.one.as_secs_f64() / self.two.as_secs_f64().max(1e-9)
    }
}

/// Runs `filter` of the library (default params) on a `width` x `height` photo
/// with 1 worker thread and with 2, best of `runs` each; an error when the two give
/// different images.
pub fn measure_two_threads(
    filter: &str,
    width: u32,
    height: u32,
    runs: usize,
) -> Result<ThreadsFigure, String> {
    use chunkvm::photo::{run, Compiled, Rgba8, RunOptions, Target};
    let base = Rgba8::decode(include_bytes!("../../samples/chelsea.png"))
        .map_err(|err| err.to_string())?;
    let photo = base.resized(width, height);
    let file = format!("{filter}.chop");
    let source = std::fs::read_to_string(filters_dir().join(&file))
        .map_err(|err| format!("{file}: {err}"))?;
    let (analyzed, program) = build(&source).map_err(|diags| format!("{file}: {diags:?}"))?;
    let target = Target::Filter(filter.to_string());
    let run_on = |threads: usize| {
        let options = RunOptions {
            threads,
            ..RunOptions::default()
        };
        let compiled = Compiled::of(&analyzed, program.clone());
        run(compiled, Some(&target), black_box(&photo), &options).map(|out| out.image)
    };
    let per_run = |before: Option<Duration>| {
        let after = process_cpu()?;
        Some(after.saturating_sub(before?) / runs.max(1) as u32)
    };
    let before = process_cpu();
    let (one, on_one) = best(runs, || run_on(1));
    let one_cpu = per_run(before);
    let before = process_cpu();
    let (two, on_two) = best(runs, || run_on(2));
    let two_cpu = per_run(before);
    if on_one.map_err(|err| err.to_string())? != on_two.map_err(|err| err.to_string())? {
        return Err(format!("{filter}: two threads made another image than one"));
    }
    Ok(ThreadsFigure {
        filter: filter.to_string(),
        width,
        height,
        one,
        two,
        one_cpu,
        two_cpu,
        load: load_average(),
    })
}

/// The CPU time this process used so far, all its threads (ended ones included),
/// from `/proc/self/stat` in ticks of 10 ms (Linux's `USER_HZ`); `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command's closing parenthesis start with field 3; utime
    // and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |at: usize| fields.get(at).and_then(|f| f.parse::<u64>().ok());
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// The load average over the last minute, from `/proc/loadavg`; `None` elsewhere.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Prints the photo sections: the conversion to tile chunks and back against a
/// copy, the editor's preview of every filter and pipeline against the 16 ms of a
/// frame, and two threads against one. `only` limits the preview to that filter.
pub fn run_photo(quick: bool, only: Option<&str>) -> Result<(), String> {
    let (w, h) = if quick { (800, 600) } else { (4000, 3000) };
    let runs = if quick { 2 } else { 5 };
    let conv = measure_conversion(w, h, runs)?;
    let copy = conv.per_mp(conv.memcpy);
    crate::outln!(
        "photo to tile chunks and back, a {w}x{h} photo ({:.1} megapixels), best of {runs}, ms per megapixel:",
        conv.megapixels()
    );
    for (what, d) in [("to tiles", conv.to_tiles), ("from tiles", conv.from_tiles)] {
        crate::outln!(
            "  {what:<11} {:>7.2}  {:>6.2}x a copy of the same bytes ({copy:.2})",
            conv.per_mp(d),
            conv.per_mp(d) / copy.max(1e-9)
        );
    }

    let base = chunkvm::photo::Rgba8::decode(include_bytes!("../../samples/chelsea.png"))
        .map_err(|err| err.to_string())?;
    let image = preview_image(&base.resized(w, h));
    let targets = preview_targets(only)?;
    let figures = measure_preview(&image, &targets, runs)?;
    let goal = PREVIEW_GOAL.as_secs_f64() * 1e3;
    crate::outln!(
        "editor preview of a {w}x{h} photo: its preview level ({}x{}), default params, {runs} runs each, ms per run (goal {goal:.0} ms, 60 frames a second):",
        image.width,
        image.height
    );
    crate::outln!(
        "{:<15} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "filter",
        "p50",
        "max",
        "p50/goal",
        "native",
        "p50/native"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for fig in &figures {
        let name = if fig.pipeline {
            format!("{} (p)", fig.name)
        } else {
            fig.name.clone()
        };
        crate::outln!(
            "{:<15} {:>9.1} {:>9.1} {:>8.1}x {:>9} {:>10}",
            name,
            ms(fig.p50),
            ms(fig.max),
            ms(fig.p50) / goal,
            fig.native.map_or("-".into(), |n| format!("{:.2}", ms(n))),
            fig.native.map_or("-".into(), |n| format!(
                "{:.1}x",
                ms(fig.p50) / ms(n).max(1e-9)
            )),
        );
    }
    let under = figures.iter().filter(|f| f.max <= PREVIEW_GOAL).count();
    crate::outln!(
        "{under} of {} under the goal at their slowest ((p): a pipeline)",
        figures.len()
    );

    let threads = measure_two_threads("box_blur", w, h, if quick { 1 } else { 2 })?;
    crate::outln!(
        "{} on a {}x{} photo, two worker threads against one: {:.0} ms against {:.0} ms: {:.2}x (goal 1.9x)",
        threads.filter,
        threads.width,
        threads.height,
        ms(threads.two),
        ms(threads.one),
        threads.speedup()
    );
    if let (Some(one), Some(two)) = (threads.one_cpu, threads.two_cpu) {
        crate::outln!(
            "  CPU time per run: {:.0} ms on one thread, {:.0} ms on two ({:.2}x the wall time; load average {})",
            ms(one),
            ms(two),
            ms(two) / ms(threads.two).max(1e-9),
            threads.load.map_or("-".into(), |l| format!("{l:.1}"))
        );
    }
    Ok(())
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
    fn the_jit_and_the_interpreter_agree_on_the_bench_programs() {
        let (_, _, value, stats) = interpreter_and_jit(LOOP, "sum_loop", 5000, 1).unwrap();
        assert_eq!(value, Value::Int(native_loop(5000)));
        if chunkvm::exec::jit_by_default() {
            assert!(stats.regions > 0 && stats.code_bytes > 0, "{stats:?}");
        }
        let (_, _, value, _) = interpreter_and_jit(FIB, "fib", 15, 1).unwrap();
        assert_eq!(value, Value::Int(native_fib(15)));
    }

    #[test]
    fn the_conversion_round_trip_gives_the_same_bytes() {
        for (w, h) in [(1, 1), (1, 13), (13, 1), (9, 9), (23, 17), (0, 4)] {
            let pixels = test_photo(w, h);
            let (store, id, back) = conversion_round_trip(w, h, &pixels).unwrap();
            assert_eq!(back, pixels, "{w}x{h}");
            assert!(store.contains(id));
        }
        let fig = measure_conversion(17, 9, 1).unwrap();
        assert_eq!((fig.width, fig.height), (17, 9));
        assert!((fig.megapixels() - 17.0 * 9.0 / 1e6).abs() < 1e-12);
        let want = 1.0 / fig.megapixels();
        assert!((fig.per_mp(Duration::from_millis(1)) - want).abs() < want * 1e-9);
    }

    #[test]
    fn the_preview_covers_the_library_and_matches_the_references() {
        let all = preview_targets(None).unwrap();
        for filter in chunkvm::reference::FILTERS {
            assert!(
                all.iter().any(|t| t.name() == filter.filter
                    && matches!(t.target, chunkvm::photo::Target::Filter(_))),
                "{}",
                filter.filter
            );
        }
        let pipelines: Vec<&str> = all
            .iter()
            .filter(|t| matches!(t.target, chunkvm::photo::Target::Pipeline(_)))
            .map(|t| t.name())
            .collect();
        assert!(
            pipelines.contains(&"comic") && pipelines.len() >= 4,
            "{pipelines:?}"
        );
        let only = preview_targets(Some("box_blur")).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].file, "box_blur.chop");

        // Every target runs as the editor runs it; filters agree with their references.
        let base =
            chunkvm::photo::Rgba8::decode(include_bytes!("../../samples/chelsea.png")).unwrap();
        let image = base.resized(21, 13);
        let figures = measure_preview(&image, &all, 1).unwrap();
        assert_eq!(figures.len(), all.len());
        for fig in &figures {
            assert!(fig.p50 <= fig.max, "{}", fig.name);
            assert_eq!(fig.native.is_some(), !fig.pipeline, "{}", fig.name);
        }
        // The preview level of a large photo is at most 512 pixels on its longer side.
        let level = preview_image(&base.resized(1100, 700));
        assert_eq!((level.width, level.height), (275, 175));
        let small = preview_image(&image);
        assert_eq!((small.width, small.height), (21, 13));
    }

    #[test]
    fn two_threads_make_the_image_one_makes() {
        // Three bands of rows, so that both threads have work.
        let fig = measure_two_threads("box_blur", 19, 70, 1).unwrap();
        assert_eq!(
            (fig.filter.as_str(), fig.width, fig.height),
            ("box_blur", 19, 70)
        );
        assert!(fig.speedup() > 0.0);
        if cfg!(target_os = "linux") {
            assert!(fig.one_cpu.is_some() && fig.two_cpu.is_some() && fig.load.is_some());
        }
        assert!(measure_two_threads("no_such_filter", 4, 4, 1).is_err());
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
