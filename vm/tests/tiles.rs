//! Tile-wide execution of filter jobs against the interpreter run pixel by pixel: the
//! same bytes in the same number of instructions for every filter and pipeline of
//! `filters/` at each of its settings, on a photo and on odd sizes; both within the
//! native reference's tolerance. Stopping a tile-wide job anywhere and resuming it
//! elsewhere changes nothing; limits, cancel and errors behave as per pixel.

#![allow(clippy::unwrap_used)]

mod common;
use common::run_to;

use chunkvm::chunk::NodeId;
use chunkvm::exec::{ErrorKind, Limits, Vm};
use chunkvm::photo::{self, Compiled, Input, Rgba8, RunOptions, Target};
use chunkvm::reference::{Arg, FILTERS, PIPELINES};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The library's folder.
fn filters_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters")
}

/// A pattern with detail everywhere, of any size.
fn pattern(width: u32, height: u32) -> Rgba8 {
    let mut pixels = Vec::new();
    for y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(&[
                (x * 37 + y * 11) as u8,
                ((y * 29) ^ (x * 3)) as u8,
                ((x * y) % 251) as u8,
                (255 - (x + y) % 7) as u8,
            ]);
        }
    }
    Rgba8 {
        width,
        height,
        pixels,
    }
}

/// The test photo scaled down to 75 pixels wide (not a multiple of 8 or 64).
fn photo() -> &'static Rgba8 {
    static PHOTO: OnceLock<Rgba8> = OnceLock::new();
    PHOTO.get_or_init(|| {
        let full = Rgba8::load(&common::test_photo("chelsea.png")).unwrap();
        let height = (full.height as u64 * 75 / full.width as u64) as u32;
        full.resized(75, height)
    })
}

/// The inputs: the photo and odd sizes (one pixel, one row, one column, partial tiles,
/// rows longer than a span).
fn inputs() -> Vec<(String, Rgba8)> {
    let mut out = vec![("photo".to_string(), photo().clone())];
    for (w, h) in [(1, 1), (1, 13), (13, 1), (9, 7), (70, 3), (130, 10)] {
        out.push((format!("{w}x{h}"), pattern(w, h)));
    }
    out
}

fn params(args: &[(&str, Arg)]) -> Vec<(String, chunkvm::exec::Value)> {
    args.iter()
        .map(|(name, arg)| (name.to_string(), arg.value()))
        .collect()
}

/// A job of `target` in `file` over `input` with `args`, tile-wide or not.
fn job(file: &str, target: &Target, input: &Rgba8, args: &[(&str, Arg)], tiles: bool) -> Vm {
    // Through the file's path: a pipeline uses the library's files beside it.
    let path = filters_dir().join(file);
    let analyzed = chunkvm::driver::analyze_path(&path, &chunkvm::modules::FsResolver, &[])
        .unwrap_or_else(|err| panic!("{err}"));
    let program = analyzed
        .compile()
        .unwrap_or_else(|d| panic!("{} does not build: {d:?}", path.display()));
    let options = RunOptions {
        params: params(args),
        ..RunOptions::default()
    };
    let mut started = photo::start(
        Compiled::of(&analyzed, program),
        Some(target),
        &Input::Image(Cow::Owned(input.clone())),
        &options,
    )
    .unwrap();
    started.vm.set_tiles(tiles);
    started.vm
}

/// Runs to the end: the image.
fn to_end(vm: &mut Vm) -> Rgba8 {
    let value = vm.run_to_end().unwrap();
    photo::finish(vm, &value).unwrap()
}

fn max_diff(a: &Rgba8, b: &Rgba8) -> u8 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    a.pixels
        .iter()
        .zip(&b.pixels)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

/// Runs both modes: the tile-wide image, after checking it equals the per-pixel one in
/// bytes and instruction count, and that spans did run where a row has room for one.
fn both_modes(
    what: &str,
    (file, stages): (&str, u64),
    target: &Target,
    input: &Rgba8,
    args: &[(&str, Arg)],
) -> Rgba8 {
    let mut tiled = job(file, target, input, args, true);
    let mut plain = job(file, target, input, args, false);
    let a = to_end(&mut tiled);
    let b = to_end(&mut plain);
    assert!(a == b, "{what}: tile-wide and per-pixel images differ");
    assert_eq!(
        tiled.instructions(),
        plain.instructions(),
        "{what}: instruction counts differ"
    );
    assert_eq!(plain.tile_pixels(), 0, "{what}: per-pixel ran tile-wide");
    // Every pixel ran tile-wide but the job's first (begun by the interpreter) and each
    // stage's last (it ends the stage): no span bailed.
    let pixels = (input.width * input.height) as u64;
    assert_eq!(
        tiled.tile_pixels(),
        (stages * pixels).saturating_sub(stages + 1),
        "{what}: pixels run tile-wide"
    );
    a
}

#[test]
fn every_filter_is_the_same_tile_wide_and_per_pixel_and_matches_its_reference() {
    let mut spans_everywhere = 0;
    for filter in FILTERS {
        let target = Target::Filter(filter.filter.into());
        for (name, input) in inputs() {
            for args in filter.settings {
                let what = format!("{} {args:?} on {name}", filter.filter);
                let got = both_modes(&what, (filter.file, 1), &target, &input, args);
                let want = (filter.apply)(&input, args);
                let diff = max_diff(&got, &want);
                assert!(
                    diff <= filter.tolerance(),
                    "{what}: {diff} from the reference"
                );
            }
        }
        spans_everywhere += 1;
    }
    assert_eq!(spans_everywhere, FILTERS.len());
}

#[test]
fn every_pipeline_is_the_same_tile_wide_and_per_pixel() {
    for pipeline in PIPELINES {
        let target = Target::Pipeline(pipeline.pipeline.into());
        for (name, input) in inputs() {
            let what = format!("{} on {name}", pipeline.pipeline);
            let stages = pipeline.stages.len() as u64;
            let got = both_modes(&what, (pipeline.file, stages), &target, &input, &[]);
            let want = pipeline.apply(&input).unwrap();
            assert!(max_diff(&got, &want) <= 1, "{what}: far from the reference");
        }
    }
}

/// The loops compiled twice (`chunkvm::exec::simd`) in their baseline compilation:
/// the other tests run the AVX2 one wherever the processor has it.
#[test]
fn every_filter_and_pipeline_is_the_same_with_the_baseline_loops() {
    chunkvm::exec::simd::force_baseline(true);
    let ran = std::panic::catch_unwind(|| {
        let mut runs = 0;
        for filter in FILTERS {
            let target = Target::Filter(filter.filter.into());
            for (name, input) in inputs() {
                for args in filter.settings {
                    let what = format!("{} {args:?} on {name}, baseline", filter.filter);
                    let got = both_modes(&what, (filter.file, 1), &target, &input, args);
                    let diff = max_diff(&got, &(filter.apply)(&input, args));
                    assert!(
                        diff <= filter.tolerance(),
                        "{what}: {diff} from the reference"
                    );
                    runs += 1;
                }
            }
        }
        for pipeline in PIPELINES {
            let target = Target::Pipeline(pipeline.pipeline.into());
            let (name, input) = &inputs()[0];
            let what = format!("{} on {name}, baseline", pipeline.pipeline);
            let stages = pipeline.stages.len() as u64;
            let got = both_modes(&what, (pipeline.file, stages), &target, input, &[]);
            assert!(
                max_diff(&got, &pipeline.apply(input).unwrap()) <= 1,
                "{what}"
            );
            runs += 1;
        }
        runs
    });
    chunkvm::exec::simd::force_baseline(false);
    let runs = ran.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    assert!(runs > FILTERS.len() + PIPELINES.len(), "{runs} runs");
}

#[test]
fn a_tile_wide_job_stopped_anywhere_and_resumed_elsewhere_makes_the_same_image() {
    let cases = [
        ("box_blur.chop", Target::Filter("box_blur".into())),
        ("gaussian_blur.chop", Target::Filter("gaussian_blur".into())),
        ("threshold.chop", Target::Filter("threshold".into())),
        ("pipelines/comic.chop", Target::Pipeline("comic".into())),
    ];
    let input = pattern(83, 21);
    for (file, target) in cases {
        let mut reference = job(file, &target, &input, &[], true);
        let expected = to_end(&mut reference);
        let total = reference.instructions();
        for step in 1..=12u64 {
            let at = total * step / 13;
            // Stopped tile-wide (at a span's end) and per pixel (anywhere); resumed
            // tile-wide on one node, per pixel on another.
            for stopped_tiles in [true, false] {
                let mut vm = job(file, &target, &input, &[], stopped_tiles);
                assert!(run_to(&mut vm, at), "{file}: finished before {at}");
                let bytes = vm.snapshot().unwrap_or_else(|err| {
                    panic!("{file}: snapshot at {at} (tiles {stopped_tiles}): {err:?}")
                });
                for tiles in [true, false] {
                    let mut moved = Vm::from_snapshot(&bytes, NodeId(60 + step as u16)).unwrap();
                    moved.set_tiles(tiles);
                    let what = format!(
                        "{file}: stopped at {at} (tiles {stopped_tiles}), resumed (tiles {tiles})"
                    );
                    assert_eq!(to_end(&mut moved), expected, "{what}");
                    assert_eq!(moved.instructions(), total, "{what}");
                }
            }
        }
    }
}

#[test]
fn a_budget_stops_a_tile_wide_job_where_it_stops_a_per_pixel_one() {
    let input = pattern(90, 17);
    let target = Target::Filter("box_blur".into());
    let mut full = job("box_blur.chop", &target, &input, &[], true);
    to_end(&mut full);
    let total = full.instructions();
    for budget in [total / 3, total / 2 + 7] {
        let mut errors = Vec::new();
        for tiles in [true, false] {
            let mut vm = job("box_blur.chop", &target, &input, &[], tiles);
            vm.set_limits(Limits {
                instructions: budget,
                ..Limits::default()
            });
            let err = vm.run_to_end().unwrap_err();
            assert_eq!(err.kind, ErrorKind::Budget);
            errors.push((err, vm.instructions()));
        }
        assert_eq!(errors[0], errors[1], "budget {budget}");
    }
}

#[test]
fn cancel_stops_a_tile_wide_job_within_a_span() {
    let input = pattern(128, 64);
    let target = Target::Filter("gaussian_blur".into());
    let mut vm = job("gaussian_blur.chop", &target, &input, &[], true);
    // Run a little, then cancel: the next span's end (or the interpreter's next safe
    // point) stops it.
    assert!(run_to(&mut vm, 200_000));
    let before = vm.tile_pixels();
    let flag = Arc::new(AtomicBool::new(false));
    vm.set_cancel(flag.clone());
    flag.store(true, Ordering::Relaxed);
    let err = vm.run_to_end().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);
    assert!(
        vm.tile_pixels() <= before + chunkvm::exec::LANES as u64,
        "more than a span ran after the cancel"
    );
}

#[test]
fn an_error_in_one_pixel_reports_its_place_and_stack_as_per_pixel() {
    // Pixel (70, 2) divides by zero inside a helper: the span holding it drops back
    // to the interpreter, which reports the error as a per-pixel run does.
    let source = "\
fn ratio(a: int, b: int) -> int {
    a / b
}

filter bad(src: image, x: int, y: int) -> color {
    let d = if x == 70 && y == 2 { 0 } else { 1 };
    let k = ratio(x, d);
    src.at(k, y)
}
";
    let input = pattern(100, 5);
    let mut errors = Vec::new();
    for tiles in [true, false] {
        let (analyzed, program) = chunkvm::driver::build(source).unwrap();
        let mut started = photo::start(
            Compiled::of(&analyzed, program),
            Some(&Target::Filter("bad".into())),
            &Input::Image(Cow::Owned(input.clone())),
            &RunOptions::default(),
        )
        .unwrap();
        started.vm.set_tiles(tiles);
        let err = started.vm.run_to_end().unwrap_err();
        let progress = started.vm.job_progress().unwrap();
        if tiles {
            assert!(started.vm.tile_pixels() > 0, "nothing ran tile-wide");
        }
        errors.push((err, started.vm.instructions(), progress));
    }
    let (err, _, progress) = &errors[0];
    assert_eq!(err.trace.len(), 2, "{err:?}");
    assert_eq!(err.trace[0].0, "ratio");
    assert_eq!(err.trace[1].0, "bad");
    assert_eq!(progress.rows_done, 2, "the failing pixel's row");
    assert_eq!(errors[0], errors[1]);
}

#[test]
fn a_filter_that_prints_runs_per_pixel_in_order() {
    let source = "\
filter loud(c: color) -> color {
    print(c.r);
    c
}
";
    let input = pattern(70, 2);
    let (analyzed, program) = chunkvm::driver::build(source).unwrap();
    let mut started = photo::start(
        Compiled::of(&analyzed, program),
        Some(&Target::Filter("loud".into())),
        &Input::Image(Cow::Owned(input)),
        &RunOptions::default(),
    )
    .unwrap();
    started.vm.set_output(Box::new(std::io::sink()));
    assert!(started.vm.tiles());
    started.vm.run_to_end().unwrap();
    assert_eq!(started.vm.tile_pixels(), 0);
}

/// Runs filter `name` of `source` over `input` in both modes: the images and
/// instruction counts agree, and pixels did run tile-wide.
fn same_both_ways(source: &str, name: &str, input: &Rgba8) {
    let runs = [true, false].map(|tiles| run_filter(source, name, input, tiles));
    assert!(runs[0].0 == runs[1].0, "{name}: the images differ");
    assert_eq!(runs[0].1, runs[1].1, "{name}: instruction counts differ");
}

/// Filter `name` of `source` over `input`, tile-wide or not: the image and the
/// instruction count (tile-wide, some pixels did run so).
fn run_filter(source: &str, name: &str, input: &Rgba8, tiles: bool) -> (Rgba8, u64) {
    let (image, vm) = finished(source, name, input, tiles);
    if tiles && input.width * input.height > 2 {
        assert!(vm.tile_pixels() > 0, "{name}: nothing ran tile-wide");
    }
    (image, vm.instructions())
}

/// A job of filter `name` of `source` over `input`, tile-wide or not, run to its end.
fn finished(source: &str, name: &str, input: &Rgba8, tiles: bool) -> (Rgba8, Vm) {
    let (analyzed, program) = chunkvm::driver::build(source).unwrap();
    let mut started = photo::start(
        Compiled::of(&analyzed, program),
        Some(&Target::Filter(name.into())),
        &Input::Image(Cow::Owned(input.clone())),
        &RunOptions::default(),
    )
    .unwrap();
    started.vm.set_tiles(tiles);
    let image = to_end(&mut started.vm);
    (image, started.vm)
}

#[test]
fn reads_rows_tables_and_builtins_the_same_whatever_the_lanes_hold() {
    // Rows read at once (x + lane, one y) and reads that are not rows (every other
    // pixel, a y per lane, taps only some lanes take), a table read with one index
    // for all lanes and with an index per lane, builtins of the same arguments in
    // every lane and of arguments that differ, colour registers reused in place.
    let source = "\
param k: float = 0.75 in 0.0..2.0;

filter strided(src: image, x: int, y: int) -> color {
    src.at(2 * x - 3, y) + src.at(x, x % 5 - 1) * 0.5
}

filter tabled(src: image, x: int, y: int) -> color {
    var w = [0.0; 7];
    for i in 0..7 {
        w[i] = exp(-float(i) * k);
    }
    var sum = src.at(x, y) * w[x % 7];
    for i in 0..7 {
        sum = sum + src.at(x + i - 3, y - 1) * w[i];
    }
    if x % 3 == 0 {
        sum = sum * sqrt(float(x));
        sum = sum + src.at(x + 1, y + 1);
    }
    sum / (2.0 + sqrt(k))
}
";
    for (w, h) in [
        (1, 1),
        (3, 1),
        (1, 13),
        (9, 7),
        (70, 3),
        (130, 10),
        (200, 2),
    ] {
        let input = pattern(w, h);
        same_both_ways(source, "strided", &input);
        same_both_ways(source, "tabled", &input);
    }
}

#[test]
fn weighted_kernel_reads_add_the_same_whatever_the_lanes_hold() {
    // `sum = sum + src.at(x + dx, y + dy) * w` compiles to one `AtOffMulAcc`: a weight
    // the same in every lane over a row read at once, a weight first, a y per lane,
    // a weight per lane taken by some lanes only, a negative zero weight, coordinates
    // that are not sums (read plus a register of 0), and a product that rounds (as
    // `MulCF` then `AddC` round it).
    let source = "\
param k: float = 0.7 in 0.0..2.0;

filter weighed(src: image, x: int, y: int) -> color {
    var w = [0.0; 5];
    for i in 0..5 {
        w[i] = 0.1 * float(i + 1) * k;
    }
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for j in 0..3 {
        for i in 0..5 {
            sum = sum + src.at(x + i, y + j) * w[i];
            sum += w[j] * src.at(x + (i - 2), y + (x % 3));
        }
    }
    if x % 2 == 0 {
        let q = float(x % 4) / 3.0;
        sum += src.at(x + 1, y + 0) * q;
    }
    let none = -0.0;
    sum = sum + src.at(x + x, y + 0) * none;
    if x % 3 == 1 {
        let bx = x / 2;
        sum += src.at(bx, y);
        sum = sum + src.at(bx, y % 2) * none;
    }
    sum / 4.0
}
";
    // The same weights through a call: not fused (a read, a product, a sum).
    let unfused = format!(
        "fn id(v: float) -> float {{\n    v\n}}\n{}",
        source
            .replace("* w[i]", "* id(w[i])")
            .replace("w[j] *", "id(w[j]) *")
            .replace("* q", "* id(q)")
            .replace("* none", "* id(none)")
    );
    let fused = |source: &str| {
        let (_, program) = chunkvm::driver::build(source).unwrap();
        program
            .functions
            .iter()
            .flat_map(|func| &func.blocks)
            .flat_map(|block| &block.instrs)
            .filter(|ins| ins.op == chunkvm::compile::ir::Op::AtOffMulAcc)
            .count()
    };
    assert_eq!(fused(source), 5, "every weighted read is one AtOffMulAcc");
    assert_eq!(fused(&unfused), 0);
    for (w, h) in [(1, 1), (3, 1), (1, 13), (9, 7), (70, 3), (130, 10)] {
        let input = pattern(w, h);
        same_both_ways(source, "weighed", &input);
        let (image, _) = run_filter(source, "weighed", &input, true);
        let (apart, _) = run_filter(&unfused, "weighed", &input, false);
        assert!(image == apart, "{w}x{h}: fused and unfused reads differ");
    }
}

#[test]
fn tables_written_the_same_in_every_lane_or_not_read_back_per_lane() {
    // A table filled with values the same in every lane (read back as one value),
    // then written where the lanes differ: a varying value at one index, a varying
    // index, a write by some lanes only, a copy, a rewrite that makes an element the
    // same again, and colour tables. Every read must see each lane's own element.
    let source = "\
param k: float = 0.5 in 0.0..2.0;

filter table_lanes(src: image, x: int, y: int) -> color {
    var w = [0.0; 6];
    for i in 0..6 {
        w[i] = float(i) * k + 1.0;
    }
    w[2] = float(x % 5);
    w[(x + y) % 6] = w[(x + y) % 6] + 0.25;
    var copy = w;
    copy[3] = 2.0;
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for i in 0..6 {
        sum = sum + src.at(x + i - 3, y) * w[i] + src.at(x, y) * (copy[i] * 0.125);
    }
    w[2] = 0.5;
    sum = sum * w[2];
    if x % 4 == 1 {
        w[4] = 3.0;
        copy[1] = float(y);
    }
    sum = sum + src.at(x, y - 1) * w[4] + src.at(x, y + 1) * copy[1];
    sum / 40.0
}

filter colour_table(src: image, x: int, y: int) -> color {
    var t = [rgba(0.0, 0.0, 0.0, 0.0); 4];
    for i in 0..4 {
        t[i] = rgba(0.25 * float(i), 0.5, k, 1.0);
    }
    t[x % 4] = src.at(x, y);
    if y % 2 == 0 {
        t[0] = src.at(x + 1, y);
    }
    (t[0] + t[1] + t[2] + t[3]) * 0.25
}

filter table_len(src: image, x: int, y: int) -> color {
    let n = len([1.0; 9]);
    var w = [0.5; 9];
    w[n - 1] = float(x);
    src.at(x, y) * (w[8] / float(x + 1))
}
";
    for (w, h) in [(1, 1), (9, 7), (70, 3), (130, 4)] {
        let input = pattern(w, h);
        same_both_ways(source, "table_lanes", &input);
        same_both_ways(source, "colour_table", &input);
        same_both_ways(source, "table_len", &input);
    }
}

#[test]
fn a_table_read_out_of_range_at_one_index_for_every_lane_fails_as_per_pixel() {
    // Row 3 reads its table at index 6 of 6 (the same index in every lane, from
    // elements known the same in every lane): the span bails mid-way and the
    // interpreter reports the error at the same pixel, in as many instructions.
    let source = "\
filter off_end(src: image, x: int, y: int) -> color {
    var w = [0.5; 6];
    for i in 0..6 {
        w[i] = float(i);
    }
    let k = w[y + 3];
    src.at(x + 1, y) * k
}
";
    let input = pattern(100, 5);
    let mut errors = Vec::new();
    for tiles in [true, false] {
        let (analyzed, program) = chunkvm::driver::build(source).unwrap();
        let mut started = photo::start(
            Compiled::of(&analyzed, program),
            Some(&Target::Filter("off_end".into())),
            &Input::Image(Cow::Owned(input.clone())),
            &RunOptions::default(),
        )
        .unwrap();
        started.vm.set_tiles(tiles);
        let err = started.vm.run_to_end().unwrap_err();
        let progress = started.vm.job_progress().unwrap();
        if tiles {
            assert!(started.vm.tile_pixels() > 0, "nothing ran tile-wide");
        }
        errors.push((err, started.vm.instructions(), progress));
    }
    assert_eq!(errors[0].2.rows_done, 3, "the failing pixel's row");
    assert_eq!(errors[0], errors[1]);
}

#[test]
fn kernels_reading_more_rows_than_are_kept_decoded_read_the_same() {
    // 81 rows around each pixel and rows far apart (more than the rows kept decoded:
    // rows are taken over and decoded again), taps past every edge, and a tap at one x
    // for every lane.
    let source = "\
filter tall(src: image, x: int, y: int) -> color {
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for dy in -40..41 {
        sum = sum + src.at(x + dy % 3, y + dy) + src.at(x + 200, 2 * dy);
    }
    sum / 162.0 + src.at(3, y + 64) * 0.25 + src.at(x - 70, y - 65) * 0.125
}
";
    for (w, h) in [(130, 90), (70, 150), (9, 7), (1, 70)] {
        same_both_ways(source, "tall", &pattern(w, h));
    }
}

#[test]
fn lanes_that_part_at_a_branch_and_meet_again_make_the_same_bytes() {
    // Lanes that go different ways meet again after the branch (an `if` whose lanes
    // differ, nested ones, loops whose trip counts differ per lane, `break` and
    // `continue` taken by some lanes, a call some lanes make, a return from within a
    // branch): each lane must still run its own way, in the same instructions.
    let source = "\
param level: float = 0.45 in 0.0..1.0;

fn shade(v: float, n: int) -> float {
    var acc = v;
    var i = 0;
    while i < n {
        if i % 2 == 0 {
            acc = acc * 0.9;
        } else {
            acc = acc + 0.01;
        }
        i += 1;
    }
    acc
}

filter parted(src: image, x: int, y: int) -> color {
    let c = src.at(x, y);
    var v = luma(c);
    if v >= level {
        v = v * 0.5;
        if x % 3 == 0 {
            v = v + 0.25;
        } else if x % 3 == 1 {
            v = shade(v, x % 5);
        }
    } else {
        v = 1.0 - v;
    }
    var sum = 0.0;
    for k in 0..(x + y) % 7 {
        if k == 3 && y % 2 == 0 {
            continue;
        }
        sum += src.at(x + k, y).g;
        if sum > 2.5 {
            break;
        }
    }
    if x % 11 == 4 {
        return rgba(sum / 7.0, v, 0.5, c.a);
    }
    rgba(v, sum / 7.0, shade(c.b, y % 4), c.a)
}
";
    for (w, h) in [(1, 1), (1, 9), (5, 1), (9, 7), (70, 3), (130, 10), (200, 2)] {
        same_both_ways(source, "parted", &pattern(w, h));
    }
}

#[test]
fn every_function_of_the_library_writes_each_register_before_reading_it() {
    // Tile-wide spans (and the interpreter, pixel after pixel) keep what the last
    // pixel left in a function's scalar registers: compiled code must write each of
    // them on every path before it reads it.
    let dir = filters_dir();
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in [dir.clone(), dir.join("pipelines")] {
        for entry in std::fs::read_dir(&sub).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "chop") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "the library's files: {files:?}");
    let mut functions = 0;
    for path in &files {
        let analyzed = chunkvm::driver::analyze_path(path, &chunkvm::modules::FsResolver, &[])
            .unwrap_or_else(|err| panic!("{err}"));
        let program = analyzed
            .compile()
            .unwrap_or_else(|d| panic!("{} does not build: {d:?}", path.display()));
        for fidx in 0..program.functions.len() {
            if let Some(found) = chunkvm::compile::defined::read_before_written(&program, fidx) {
                panic!("{}: {found}", path.display());
            }
            functions += 1;
        }
    }
    assert!(functions >= files.len());
}

/// Tile-wide runs skip an instruction that would write its registers with what they
/// hold (`compile::redundant`), still counting it: in both ways of a branch whose lanes
/// differ, the bytes and counts are per-pixel's.
#[test]
fn recomputations_skipped_tile_wide_make_the_same_bytes_and_counts() {
    let source = "\
param gain: float = 1.5 in 0.0..4.0;

filter toned(c: color) -> color {
    let r = 0.393 * c.r + 0.769 * c.g + 0.189 * c.b;
    if c.r > c.b {
        rgba(c.g * gain * 0.5, c.g * gain * 0.25, r, c.a)
    } else {
        rgba(c.b * gain * 0.25, c.b * gain * 0.5, r, c.a)
    }
}
";
    let (_, program) = chunkvm::driver::build(source).unwrap();
    let vm = Vm::new(program);
    let loaded = vm.loaded();
    let (func, _) = loaded.program.function("toned").unwrap();
    let lf = &loaded.funcs[func as usize];
    // `c.g * gain` and `c.b * gain` are each computed twice into the same registers.
    let ways: Vec<u32> = (0..lf.code.len() as u32)
        .filter(|&pc| lf.recomputed[pc as usize])
        .map(|pc| lf.block_of(pc).0)
        .collect();
    assert!(ways.contains(&1) && ways.contains(&2), "{ways:?}");
    for input in [photo().clone(), pattern(67, 13), pattern(1, 9)] {
        same_both_ways(source, "toned", &input);
    }
}

/// Kernel loops of the shapes the engine runs at once where a span's row lies in the
/// image (`tile::taps`: constants, one table read at the counter, one tap added to a
/// sum, a block's row whose start differs from lane to lane), and of shapes it must not
/// (taps down a column, a table that differs from pixel to pixel, rows of taps of
/// another length in each lane).
const TAP_LOOPS: &str = "\
param k: float = 0.25 in 0.0..1.0;

filter constant_bounds(src: image, x: int, y: int) -> color {
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for dx in -2..3 {
        sum = sum + src.at(x + dx, y);
    }
    sum / 5.0
}

filter one_weight(src: image, x: int, y: int) -> color {
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for dy in -1..2 {
        for dx in -3..4 {
            sum = sum + src.at(x + dx, y + dy) * k;
        }
    }
    sum
}

filter table(src: image, x: int, y: int) -> color {
    var w = [0.0; 9];
    for i in 0..9 {
        w[i] = float(i + 1) / 45.0;
    }
    let x0 = x - 4;
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for i in 0..9 {
        sum = sum + src.at(x0 + i, y) * w[i];
    }
    sum
}

filter own_table(src: image, x: int, y: int) -> color {
    var w = [0.0; 5];
    for i in 0..5 {
        w[i] = float((x + i) % 3) / 5.0;
    }
    let x0 = x - 2;
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for i in 0..5 {
        sum = sum + src.at(x0 + i, y) * w[i];
    }
    sum
}

filter blocks(src: image, x: int, y: int) -> color {
    let x0 = x / 4 * 4;
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for bx in x0..x0 + 4 {
        sum = sum + src.at(bx, y) * k;
    }
    sum
}

filter ragged(src: image, x: int, y: int) -> color {
    let x0 = x / 4 * 4;
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for bx in x0..x0 + 1 + x % 3 {
        sum = sum + src.at(bx, y);
    }
    sum / 3.0
}

filter column(src: image, x: int, y: int) -> color {
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for dy in -2..3 {
        sum = sum + src.at(x, y + dy);
    }
    sum / 5.0
}
";

#[test]
fn rows_of_taps_run_at_once_make_the_same_bytes_and_counts() {
    // 200 pixels wide: the span of x 64..127 reads its rows inside the image for every
    // kernel here; the others reach past an edge (or are not whole spans) and read
    // instruction by instruction.
    let input = pattern(200, 12);
    for filter in FILTERS.iter().filter(|f| {
        matches!(
            f.filter,
            "box_blur" | "gaussian_blur" | "sharpen" | "pixelate"
        )
    }) {
        let target = Target::Filter(filter.filter.into());
        for args in filter.settings {
            let what = format!("{} {args:?}", filter.filter);
            let mut tiled = job(filter.file, &target, &input, args, true);
            let mut plain = job(filter.file, &target, &input, args, false);
            assert!(
                to_end(&mut tiled) == to_end(&mut plain),
                "{what}: images differ"
            );
            assert_eq!(tiled.instructions(), plain.instructions(), "{what}");
            assert!(tiled.taps_fused() > 0, "{what}: no row of taps ran at once");
        }
    }
    for (name, fused) in [
        ("constant_bounds", true),
        ("one_weight", true),
        ("table", true),
        ("own_table", false),
        ("blocks", true),
        ("ragged", false),
        ("column", false),
    ] {
        let (a, tiled) = finished(TAP_LOOPS, name, &input, true);
        let (b, plain) = finished(TAP_LOOPS, name, &input, false);
        assert!(a == b, "{name}: images differ");
        assert_eq!(tiled.instructions(), plain.instructions(), "{name}");
        assert!(tiled.tile_pixels() > 0, "{name}: nothing ran tile-wide");
        assert_eq!(
            tiled.taps_fused() > 0,
            fused,
            "{name}: rows of taps run at once"
        );
    }
}

#[test]
fn a_job_whose_rows_of_taps_run_at_once_stops_and_resumes_anywhere() {
    // Budgets and stops that fall inside a row of taps land where they land per pixel,
    // and a job stopped there and resumed elsewhere ends the same.
    let input = pattern(150, 9);
    for (file, filter) in [
        ("box_blur.chop", "box_blur"),
        ("gaussian_blur.chop", "gaussian_blur"),
        ("pixelate.chop", "pixelate"),
    ] {
        let target = Target::Filter(filter.into());
        let mut reference = job(file, &target, &input, &[], true);
        let expected = to_end(&mut reference);
        assert!(
            reference.taps_fused() > 0,
            "{filter}: no row of taps ran at once"
        );
        let total = reference.instructions();
        for step in 1..=9u64 {
            let at = total * step / 10 + 3;
            let mut errors = Vec::new();
            for tiles in [true, false] {
                let mut vm = job(file, &target, &input, &[], tiles);
                vm.set_limits(Limits {
                    instructions: at,
                    ..Limits::default()
                });
                let err = vm.run_to_end().unwrap_err();
                assert_eq!(err.kind, ErrorKind::Budget, "{filter}");
                errors.push((err, vm.instructions()));
            }
            assert_eq!(errors[0], errors[1], "{filter}: budget {at}");
            let mut vm = job(file, &target, &input, &[], true);
            assert!(run_to(&mut vm, at), "{filter}: finished before {at}");
            let bytes = vm.snapshot().unwrap();
            let mut moved = Vm::from_snapshot(&bytes, NodeId(90 + step as u16)).unwrap();
            assert_eq!(to_end(&mut moved), expected, "{filter}: stopped at {at}");
            assert_eq!(moved.instructions(), total, "{filter}: stopped at {at}");
        }
    }
}
