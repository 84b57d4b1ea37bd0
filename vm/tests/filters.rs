//! The PhotoChop filter library (`filters/`): every filter and pipeline run by the VM
//! on real photos, compared with its native reference (`chunkvm::reference`) and,
//! where the `image` crate has the same operation, with `image::imageops`.
//!
//! Point filters must match their reference exactly, kernel filters within one level
//! per channel. Each comparison prints its largest difference (see them with
//! `cargo test -p chunkvm --test filters -- --nocapture`).

#![allow(clippy::unwrap_used)]

use chunkvm::photo::{run, Rgba8, RunOptions, Target};
use chunkvm::reference::{find, Arg, RefFilter, FILTERS, PIPELINES};
use image::{imageops, RgbaImage};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::test_photo;

/// The width of the test photos: small, so that the VM runs quickly in a debug build.
const WIDTH: u32 = 160;

fn filters_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters")
}

fn source(file: &str) -> String {
    let path = filters_dir().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A test photo scaled down to [`WIDTH`] pixels wide.
fn photo(name: &str) -> Rgba8 {
    let path = test_photo(name);
    let full = Rgba8::load(&path).unwrap_or_else(|err| panic!("{err}"));
    let height = (full.height as u64 * WIDTH as u64 / full.width as u64) as u32;
    full.resized(WIDTH, height)
}

/// The test photos: a cat (PNG) and a rocket launch (JPEG).
fn photos() -> &'static [(&'static str, Rgba8)] {
    static PHOTOS: OnceLock<Vec<(&'static str, Rgba8)>> = OnceLock::new();
    PHOTOS.get_or_init(|| {
        vec![
            ("chelsea.png", photo("chelsea.png")),
            ("rocket.jpg", photo("rocket.jpg")),
        ]
    })
}

/// The largest difference between two images of the same size, over the channels
/// `channels` (0..3: colour only, 0..4: with alpha) of the pixels with
/// `x0 <= x < x1`, `y0 <= y < y1`, and how many channels differ at all.
fn max_diff_in(
    a: &Rgba8,
    b: &Rgba8,
    channels: std::ops::Range<usize>,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
) -> (u8, usize) {
    assert_eq!((a.width, a.height), (b.width, b.height), "sizes differ");
    let (mut max, mut count) = (0u8, 0usize);
    for y in y0..y1 {
        for x in x0..x1 {
            let idx = ((y * a.width + x) * 4) as usize;
            for ch in channels.clone() {
                let d = a.pixels[idx + ch].abs_diff(b.pixels[idx + ch]);
                max = max.max(d);
                count += (d > 0) as usize;
            }
        }
    }
    (max, count)
}

/// The largest difference over every channel of every pixel.
fn max_diff(a: &Rgba8, b: &Rgba8) -> (u8, usize) {
    max_diff_in(a, b, 0..4, (0, 0, a.width, a.height))
}

fn params(args: &[(&str, Arg)]) -> Vec<(String, chunkvm::exec::Value)> {
    args.iter()
        .map(|(name, arg)| (name.to_string(), arg.value()))
        .collect()
}

/// Runs filter `name` of `file` with `args` through the VM.
fn run_filter(file: &str, name: &str, input: &Rgba8, args: &[(&str, Arg)]) -> Rgba8 {
    let options = RunOptions {
        params: params(args),
        ..RunOptions::default()
    };
    run(
        &source(file),
        Some(&Target::Filter(name.into())),
        input,
        &options,
    )
    .unwrap_or_else(|err| panic!("{file}: {err}"))
    .image
}

/// Runs one filter on both photos with each of its settings, and once with its
/// defaults, against its reference.
fn check_filter(name: &str) {
    let filter: &RefFilter = find(name).unwrap();
    let mut worst = 0;
    for (photo_name, input) in photos() {
        for args in filter.settings {
            let got = run_filter(filter.file, filter.filter, input, args);
            let want = (filter.apply)(input, args);
            let (max, count) = max_diff(&got, &want);
            println!(
                "{name} {args:?} on {photo_name}: max difference {max} ({count} channels differ)"
            );
            assert!(
                max <= filter.tolerance(),
                "{name} {args:?} on {photo_name}: the VM and the reference differ by {max} \
                 (allowed: {})",
                filter.tolerance()
            );
            worst = worst.max(max);
        }
    }
    // With no params set, the VM uses the file's defaults and the reference its own:
    // they must agree.
    let (_, input) = &photos()[0];
    let got = run_filter(filter.file, filter.filter, input, &[]);
    let (max, _) = max_diff(&got, &(filter.apply)(input, &[]));
    assert!(
        max <= filter.tolerance(),
        "{name}: the defaults differ ({max})"
    );
    println!("{name}: worst difference {worst}");
}

macro_rules! filter_tests {
    ($($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                check_filter(stringify!($name));
            }
        )*

        /// The tests above cover every filter of the table.
        #[test]
        fn every_filter_of_the_table_has_a_test() {
            let tested = [$(stringify!($name)),*];
            for filter in FILTERS {
                assert!(tested.contains(&filter.filter), "no test for {}", filter.filter);
            }
            assert_eq!(tested.len(), FILTERS.len());
        }
    };
}

filter_tests! {
    invert grayscale brightness contrast saturation sepia threshold gamma
    box_blur gaussian_blur sharpen sobel emboss vignette pixelate median3x3
}

/// Every `.chop` file of `filters/` is one documented filter of the table, and checks
/// without a diagnostic.
#[test]
fn every_filter_file_is_in_the_table_documented_and_clean() {
    let mut files: Vec<String> = std::fs::read_dir(filters_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".chop"))
        .collect();
    files.sort();
    let mut listed: Vec<String> = FILTERS.iter().map(|f| f.file.to_string()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "filters/*.chop and reference::FILTERS differ"
    );

    let mut all = files.clone();
    all.extend(PIPELINES.iter().map(|p| p.file.to_string()));
    for file in &all {
        let text = source(file);
        let analyzed = chunkvm::driver::analyze(&text);
        let diagnostics = analyzed.diagnostics();
        assert!(diagnostics.is_empty(), "{file}: {diagnostics:?}");
        assert!(text.starts_with("//! "), "{file}: no `//!` file doc");
        let lines: Vec<&str> = text.lines().collect();
        for (idx, line) in lines.iter().enumerate() {
            let item = ["param ", "filter ", "fn ", "pipeline "]
                .iter()
                .any(|keyword| line.starts_with(keyword));
            if item {
                assert!(
                    idx > 0 && lines[idx - 1].starts_with("///"),
                    "{file}:{}: `{line}` has no `///` doc",
                    idx + 1
                );
            }
        }
        if !file.starts_with("pipelines/") {
            let filters = lines.iter().filter(|l| l.starts_with("filter ")).count();
            assert_eq!(filters, 1, "{file}: one filter per file");
        }
    }
}

/// Each pipeline file holds verbatim copies of the filter files it uses (all but
/// their `//!` doc), so a change to a filter must be copied there too.
#[test]
fn pipeline_files_hold_exact_copies_of_their_filters() {
    for pipeline in PIPELINES {
        let text = source(pipeline.file);
        for (stage, _) in pipeline.stages {
            let original = source(find(stage).unwrap().file);
            let body: String = original
                .lines()
                .filter(|line| !line.starts_with("//!"))
                .skip_while(|line| line.is_empty())
                .map(|line| format!("{line}\n"))
                .collect();
            assert!(
                text.contains(&body),
                "{}: its copy of `{stage}` differs from filters/{stage}.chop",
                pipeline.file
            );
        }
    }
}

/// Every pipeline equals its stages' references applied in order.
#[test]
fn pipelines_equal_the_composition_of_the_references() {
    for pipeline in PIPELINES {
        for (photo_name, input) in photos() {
            let out = run(
                &source(pipeline.file),
                Some(&Target::Pipeline(pipeline.pipeline.into())),
                input,
                &RunOptions::default(),
            )
            .unwrap_or_else(|err| panic!("{}: {err}", pipeline.file));
            let stages: Vec<&str> = pipeline.stages.iter().map(|(name, _)| *name).collect();
            assert_eq!(out.stages, stages);
            let want = pipeline.apply(input).unwrap();
            let (max, count) = max_diff(&out.image, &want);
            println!(
                "pipeline {} on {photo_name}: max difference {max} ({count} channels differ)",
                pipeline.pipeline
            );
            // Each stage reads the bytes the one before wrote, so a one-level difference
            // in a kernel stage could grow in the stages after it; none is seen.
            assert_eq!(max, 0, "pipeline {} on {photo_name}", pipeline.pipeline);
        }
    }
}

fn to_image(src: &Rgba8) -> RgbaImage {
    RgbaImage::from_raw(src.width, src.height, src.pixels.clone()).unwrap()
}

fn from_image(img: RgbaImage) -> Rgba8 {
    Rgba8 {
        width: img.width(),
        height: img.height(),
        pixels: img.into_raw(),
    }
}

/// `imageops::invert` inverts red, green and blue (`255 - v`) and keeps alpha: the
/// same bytes as `invert` at amount 1.
#[test]
fn invert_equals_image_crate_invert() {
    for (photo_name, input) in photos() {
        let mut theirs = to_image(input);
        imageops::invert(&mut theirs);
        let ours = run_filter(
            "invert.chop",
            "invert",
            input,
            &[("amount", Arg::Float(1.0))],
        );
        let (max, _) = max_diff(&ours, &from_image(theirs));
        println!("invert vs imageops::invert on {photo_name}: max difference {max}");
        assert_eq!(max, 0);
    }
}

/// `imageops::grayscale` uses the Rec. 709 weights in integers,
/// `(2126 r + 7152 g + 722 b) / 10000` truncated, where `luma` is Rec. 601. With
/// `rec709: true` the filter uses the same weights in floats and rounds: at most one
/// level apart. With the default Rec. 601 weights the greys differ by more: reported,
/// and bounded by the largest gap between the two weightings, `0.1282 g` (33 levels,
/// for pure green), plus one for rounding.
#[test]
fn grayscale_rec709_equals_image_crate_grayscale_within_rounding() {
    for (photo_name, input) in photos() {
        let theirs = imageops::grayscale(&to_image(input));
        let theirs = Rgba8 {
            width: input.width,
            height: input.height,
            pixels: theirs
                .pixels()
                .zip(input.pixels.chunks(4))
                .flat_map(|(luma, px)| [luma[0], luma[0], luma[0], px[3]])
                .collect(),
        };
        let ours = run_filter(
            "grayscale.chop",
            "grayscale",
            input,
            &[("rec709", Arg::Bool(true))],
        );
        let (max, count) = max_diff(&ours, &theirs);
        println!(
            "grayscale rec709 vs imageops::grayscale on {photo_name}: max difference {max} ({count} channels differ)"
        );
        assert!(max <= 1, "{max}");
        let ours = run_filter(
            "grayscale.chop",
            "grayscale",
            input,
            &[("rec709", Arg::Bool(false))],
        );
        let (max, count) = max_diff(&ours, &theirs);
        println!(
            "grayscale rec601 vs imageops::grayscale on {photo_name}: max difference {max} ({count} channels differ)"
        );
        assert!(max <= 34, "{max}");
    }
}

/// `imageops::brighten(value)` adds the integer `value` to red, green and blue and
/// clamps; `brightness` with `amount = value / 255` gives the same bytes.
#[test]
fn brightness_equals_image_crate_brighten() {
    for (photo_name, input) in photos() {
        for value in [51, -76, 200] {
            let theirs = from_image(imageops::brighten(&to_image(input), value));
            let amount = value as f64 / 255.0;
            let ours = run_filter(
                "brightness.chop",
                "brightness",
                input,
                &[("amount", Arg::Float(amount))],
            );
            let (max, _) = max_diff(&ours, &theirs);
            println!(
                "brightness vs imageops::brighten({value}) on {photo_name}: max difference {max}"
            );
            assert_eq!(max, 0);
        }
    }
}

/// `imageops::contrast(c)` maps `v` to `((v / 255 - 0.5) * p + 0.5) * 255` with
/// `p = ((100 + c) / 100)^2`, in `f32`, clamped and truncated; `contrast` with
/// `factor = p` computes the same in `f64` and rounds: at most one level apart.
/// `imageops::contrast` also applies the curve to alpha (an opaque pixel stays opaque
/// only when `p >= 1`), `contrast` keeps alpha: only colour is compared.
#[test]
fn contrast_equals_image_crate_contrast_within_rounding() {
    for (photo_name, input) in photos() {
        for c in [20.0f32, -20.0, 60.0] {
            let theirs = from_image(imageops::contrast(&to_image(input), c));
            let factor = ((100.0 + c as f64) / 100.0).powi(2);
            let ours = run_filter(
                "contrast.chop",
                "contrast",
                input,
                &[("factor", Arg::Float(factor))],
            );
            let (max, count) = max_diff_in(&ours, &theirs, 0..3, (0, 0, input.width, input.height));
            println!(
                "contrast vs imageops::contrast({c}) on {photo_name}: max difference {max} ({count} channels differ)"
            );
            assert!(max <= 1, "{max}");
        }
    }
}

/// `imageops::filter3x3(kernel)` weights the 3x3 neighbourhood by `kernel` divided by its
/// sum, in `f32` over the bytes, clamps and truncates; it leaves the one-pixel border
/// black and transparent, and filters alpha too (where `f32` rounding can turn 255 into
/// 254). So the interior's colour is compared: at most one level apart (truncation
/// against rounding).
fn compare_filter3x3(name: &str, file: &str, args: &[(&str, Arg)], kernel: [f32; 9]) {
    for (photo_name, input) in photos() {
        let theirs = from_image(imageops::filter3x3(&to_image(input), &kernel));
        let ours = run_filter(file, name, input, args);
        let interior = (1, 1, input.width - 1, input.height - 1);
        let (max, count) = max_diff_in(&ours, &theirs, 0..3, interior);
        println!(
            "{name} {args:?} vs imageops::filter3x3({kernel:?}) on {photo_name}: max difference {max} ({count} channels differ)"
        );
        assert!(max <= 1, "{name}: {max}");
    }
}

#[test]
fn box_blur_radius_1_equals_image_crate_filter3x3() {
    compare_filter3x3(
        "box_blur",
        "box_blur.chop",
        &[("radius", Arg::Int(1))],
        [1.0; 9],
    );
}

/// The unsharp mask with radius 1 is the 3x3 kernel with `1 + 8a/9` at the centre and
/// `-a/9` around it.
#[test]
fn sharpen_radius_1_equals_image_crate_filter3x3() {
    for amount in [1.0f32, 2.5] {
        let edge = -amount / 9.0;
        let centre = 1.0 + 8.0 * amount / 9.0;
        let kernel = [edge, edge, edge, edge, centre, edge, edge, edge, edge];
        let args = [
            ("amount", Arg::Float(amount as f64)),
            ("radius", Arg::Int(1)),
        ];
        compare_filter3x3("sharpen", "sharpen.chop", &args, kernel);
    }
}

#[test]
fn emboss_equals_image_crate_filter3x3() {
    let kernel = [-2.0, -1.0, 0.0, -1.0, 1.0, 1.0, 0.0, 1.0, 2.0];
    compare_filter3x3(
        "emboss",
        "emboss.chop",
        &[("strength", Arg::Float(1.0))],
        kernel,
    );
}

/// Run in bands on worker threads, kernel filters (which read across the bands' edges
/// and use the image's size) give the same pixels as the reference.
#[test]
fn kernel_filters_run_the_same_on_worker_threads() {
    let (photo_name, input) = &photos()[1];
    for filter in FILTERS.iter().filter(|f| !f.point) {
        let args = filter.settings[0];
        let options = RunOptions {
            threads: 3,
            params: params(args),
            ..RunOptions::default()
        };
        let target = Target::Filter(filter.filter.into());
        let got = run(&source(filter.file), Some(&target), input, &options)
            .unwrap_or_else(|err| panic!("{}: {err}", filter.file))
            .image;
        let (max, count) = max_diff(&got, &(filter.apply)(input, args));
        println!(
            "{} {args:?} on {photo_name}, 3 threads: max difference {max} ({count} channels differ)",
            filter.filter
        );
        assert!(max <= filter.tolerance(), "{}: {max}", filter.filter);
    }
}
