//! The PhotoChop filter library (`filters/`): every filter and pipeline run by the VM
//! on real photos, compared with its native reference (`chunkvm::reference`) and,
//! where the `image` crate has the same operation, with `image::imageops`.
//!
//! Point filters must match their reference exactly, kernel filters within one level
//! per channel. Each comparison prints its largest difference (see them with
//! `cargo test -p chunkvm --test filters -- --nocapture`).

#![allow(clippy::unwrap_used)]

use chunkvm::photo::{Rgba8, RunOptions, Target};
use chunkvm::reference::{find, Arg, RefFilter, FILTERS, PIPELINES};
use image::{imageops, RgbaImage};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::{run_path, run_source, test_photo};

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
    run_source(
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
        let analyzed = chunkvm::driver::analyze_path(
            &filters_dir().join(file),
            &chunkvm::modules::FsResolver,
            &[],
        )
        .unwrap();
        for unit in analyzed.file_diagnostics() {
            assert!(
                unit.diagnostics.is_empty(),
                "{file}: {}: {:?}",
                unit.path.display(),
                unit.diagnostics
            );
        }
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

/// Every pipeline equals its stages' references applied in order.
#[test]
fn pipelines_equal_the_composition_of_the_references() {
    for pipeline in PIPELINES {
        for (photo_name, input) in photos() {
            let out = run_path(
                &filters_dir().join(pipeline.file),
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
        let got = run_source(&source(filter.file), Some(&target), input, &options)
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

// The filters against their documented formulas. The references above are ports of
// the Chop code: they show that the VM runs the filters right, not that the filters
// do what `filters/README.md` says. So each filter the `image` crate does not have is
// also run on a tiny image whose output was computed by hand from its documented
// formula (the arithmetic is in the comments), edge pixels (whose reads beyond the
// border repeat the edge) and alpha included, at the ends of its params' ranges.

/// A `width` x `height` image of `pixels`, row by row.
fn tiny(width: u32, height: u32, pixels: &[[u8; 4]]) -> Rgba8 {
    assert_eq!(pixels.len(), (width * height) as usize);
    Rgba8 {
        width,
        height,
        pixels: pixels.concat(),
    }
}

/// An opaque-or-not grey.
fn grey(v: u8, alpha: u8) -> [u8; 4] {
    [v, v, v, alpha]
}

/// Runs filter `name` with `args` on `input` in the VM and in its reference: both must
/// give exactly the pixels `want` (computed by hand from the filter's documentation).
fn expect_pixels(name: &str, args: &[(&str, Arg)], input: &Rgba8, want: &[[u8; 4]]) {
    let filter = find(name).unwrap();
    let want = tiny(input.width, input.height, want);
    let vm = run_filter(filter.file, filter.filter, input, args);
    let reference = (filter.apply)(input, args);
    for (what, got) in [("the VM", &vm), ("the reference", &reference)] {
        assert_eq!((got.width, got.height), (want.width, want.height));
        for (idx, (got_px, want_px)) in got.pixels.chunks(4).zip(want.pixels.chunks(4)).enumerate()
        {
            let (x, y) = (idx as u32 % want.width, idx as u32 / want.width);
            assert_eq!(
                got_px, want_px,
                "{name} {args:?}, {what}: pixel ({x}, {y}) is {got_px:?}, the formula gives {want_px:?}"
            );
        }
    }
}

/// `y + (v - y) * amount`, clamped; `y = 0.299 r + 0.587 g + 0.114 b`; alpha kept.
#[test]
fn saturation_follows_its_formula() {
    // (204, 102, 51) is (0.8, 0.4, 0.2): y = 0.2392 + 0.2348 + 0.0228 = 0.4968.
    // White: y = 1 (up to rounding), so it stays white; black stays black.
    let input = tiny(3, 1, &[[204, 102, 51, 128], grey(255, 0), grey(0, 255)]);
    // amount 0: grey y: 0.4968 * 255 = 126.68 -> 127.
    expect_pixels(
        "saturation",
        &[("amount", Arg::Float(0.0))],
        &input,
        &[grey(127, 128), grey(255, 0), grey(0, 255)],
    );
    // amount 1.5: 0.4968 + 0.3032 * 1.5 = 0.9516 -> 242.66 -> 243;
    // 0.4968 - 0.0968 * 1.5 = 0.3516 -> 89.66 -> 90; 0.4968 - 0.2968 * 1.5 = 0.0516 -> 13.16 -> 13.
    expect_pixels(
        "saturation",
        &[("amount", Arg::Float(1.5))],
        &input,
        &[[243, 90, 13, 128], grey(255, 0), grey(0, 255)],
    );
    // amount 3 (the top of the range): 0.4968 + 0.3032 * 3 = 1.4064 -> 255;
    // 0.4968 - 0.0968 * 3 = 0.2064 -> 52.63 -> 53; 0.4968 - 0.2968 * 3 < 0 -> 0.
    expect_pixels(
        "saturation",
        &[("amount", Arg::Float(3.0))],
        &input,
        &[[255, 53, 0, 128], grey(255, 0), grey(0, 255)],
    );
}

/// The sepia matrix, clamped, mixed with the original by `amount`; alpha kept.
#[test]
fn sepia_follows_its_formula() {
    // (204, 102, 51) is (0.8, 0.4, 0.2):
    //   red   0.393 * 0.8 + 0.769 * 0.4 + 0.189 * 0.2 = 0.6598 -> 168.25 -> 168
    //   green 0.349 * 0.8 + 0.686 * 0.4 + 0.168 * 0.2 = 0.5872 -> 149.74 -> 150
    //   blue  0.272 * 0.8 + 0.534 * 0.4 + 0.131 * 0.2 = 0.4574 -> 116.64 -> 117
    // White: red 1.351 and green 1.203 clamp to 1, blue 0.937 -> 238.94 -> 239.
    let input = tiny(3, 1, &[[204, 102, 51, 200], grey(255, 9), grey(0, 255)]);
    expect_pixels(
        "sepia",
        &[("amount", Arg::Float(1.0))],
        &input,
        &[[168, 150, 117, 200], [255, 255, 239, 9], grey(0, 255)],
    );
    // amount 0.5: the means (0.8 + 0.6598) / 2 = 0.7299 -> 186.12, (0.4 + 0.5872) / 2 =
    // 0.4936 -> 125.87, (0.2 + 0.4574) / 2 = 0.3287 -> 83.82; white's blue
    // (1 + 0.937) / 2 = 0.9685 -> 246.97.
    expect_pixels(
        "sepia",
        &[("amount", Arg::Float(0.5))],
        &input,
        &[[186, 126, 84, 200], [255, 255, 247, 9], grey(0, 255)],
    );
    // amount 0: unchanged.
    expect_pixels(
        "sepia",
        &[("amount", Arg::Float(0.0))],
        &input,
        &[[204, 102, 51, 200], grey(255, 9), grey(0, 255)],
    );
}

/// White where the luma is at least `level`, black elsewhere; alpha kept.
#[test]
fn threshold_follows_its_formula() {
    // Lumas: white 1, black 0, grey 128 is 0.50196, grey 127 is 0.49804, pure green
    // 0.587.
    let input = tiny(
        5,
        1,
        &[
            grey(255, 255),
            grey(0, 254),
            grey(128, 77),
            grey(127, 10),
            [0, 255, 0, 0],
        ],
    );
    // level 0: every luma is at least 0.
    expect_pixels(
        "threshold",
        &[("level", Arg::Float(0.0))],
        &input,
        &[
            grey(255, 255),
            grey(255, 254),
            grey(255, 77),
            grey(255, 10),
            grey(255, 0),
        ],
    );
    expect_pixels(
        "threshold",
        &[("level", Arg::Float(0.5))],
        &input,
        &[
            grey(255, 255),
            grey(0, 254),
            grey(255, 77),
            grey(0, 10),
            grey(255, 0),
        ],
    );
    // level 1: only white reaches it (its luma is 0.9999999999999999 in floats).
    expect_pixels(
        "threshold",
        &[("level", Arg::Float(1.0))],
        &input,
        &[
            grey(255, 255),
            grey(0, 254),
            grey(0, 77),
            grey(0, 10),
            grey(0, 0),
        ],
    );
}

/// Each of red, green and blue raised to `1 / value`; alpha kept.
#[test]
fn gamma_follows_its_formula() {
    // Greys 0, 64, 128, 230, 255 are 0, 0.25098, 0.50196, 0.90196, 1.
    let input = tiny(
        5,
        1,
        &[
            grey(0, 255),
            grey(64, 100),
            grey(128, 0),
            grey(230, 30),
            grey(255, 255),
        ],
    );
    // value 2.2: 0.25098^(1/2.2) = 0.53347 -> 136.03; 0.50196^(1/2.2) = 0.73104 -> 186.42;
    // 0.90196^(1/2.2) = 0.95418 -> 243.32.
    expect_pixels(
        "gamma",
        &[("value", Arg::Float(2.2))],
        &input,
        &[
            grey(0, 255),
            grey(136, 100),
            grey(186, 0),
            grey(243, 30),
            grey(255, 255),
        ],
    );
    // value 5 (the top): 0.25098^0.2 = 0.75845 -> 193.41; 0.50196^0.2 = 0.87123 -> 222.16;
    // 0.90196^0.2 = 0.97958 -> 249.79.
    expect_pixels(
        "gamma",
        &[("value", Arg::Float(5.0))],
        &input,
        &[
            grey(0, 255),
            grey(193, 100),
            grey(222, 0),
            grey(250, 30),
            grey(255, 255),
        ],
    );
    // value 0.1 (the bottom): v^10: 0.25098^10 = 1e-6 and 0.50196^10 = 0.001 -> 0;
    // 0.90196^10 = 0.35635 -> 90.87.
    expect_pixels(
        "gamma",
        &[("value", Arg::Float(0.1))],
        &input,
        &[
            grey(0, 255),
            grey(0, 100),
            grey(0, 0),
            grey(91, 30),
            grey(255, 255),
        ],
    );
}

/// The normalised Gaussian weights over `r = ceil(3 sigma)`; alpha averaged too.
#[test]
fn gaussian_blur_follows_its_formula() {
    // sigma 0.5: r = ceil(1.5) = 2; w[k] = exp(-k^2 / 0.5): 1, e^-2 = 0.135335,
    // e^-8 = 0.000335, summing to 1.271341; normalised: w0 = 0.786571, w1 = 0.106451,
    // w2 = 0.000264. One row: the rows above and below repeat it, and their weights
    // sum to 1, so each pixel is the 1D blur of the row, reads beyond the ends
    // repeating the end pixels (x = 0 reads x = 0, 0, 0, 1, 2).
    // Red 1, 0, 0: x0 = w2 + w1 + w0 = 0.893285 -> 227.79; x1 = w2 + w1 = 0.106715 ->
    // 27.21; x2 = w2 -> 0.07. Green 0, 1, 0: w1 -> 27.15, w0 -> 200.58, w1.
    // Blue and alpha 1, 1, 0: x0 = 1 - w2 -> 254.93, x1 = 0.893285 -> 227.79, x2 -> 27.21.
    let input = tiny(
        3,
        1,
        &[[255, 0, 255, 255], [0, 255, 255, 255], [0, 0, 0, 0]],
    );
    expect_pixels(
        "gaussian_blur",
        &[("sigma", Arg::Float(0.5))],
        &input,
        &[[228, 27, 255, 255], [27, 201, 228, 228], [0, 27, 27, 27]],
    );
}

/// The magnitude of the Sobel gradient of the luma, times `gain`, clamped; alpha kept.
#[test]
fn sobel_follows_its_formula() {
    // 2x2: black, black / black, pure red (luma 0.299 = L); reads beyond the border
    // repeat the edge. With tl t tr / l . r / bl b br the lumas around a pixel,
    // gx = (tr + 2r + br) - (tl + 2l + bl), gy = (bl + 2b + br) - (tl + 2t + tr):
    // (0, 0): only br = (1, 1) is red: gx = gy = L, |g| = sqrt(2) L = 0.42285 -> 107.83
    // (1, 0): b = (1, 1) and br = (2, 1) -> (1, 1) are red: gx = br = L, gy = 2b + br = 3L,
    //         |g| = sqrt(10) L = 0.94552 -> 241.11
    // (0, 1): r = (1, 1) and br = (1, 2) -> (1, 1) are red: gx = 2r + br = 3L, gy = br = L,
    //         241.11 as well
    // (1, 1): r, b and br all read (1, 1), the rest black: gx = gy = 3L,
    //         |g| = sqrt(18) L = 1.2686 -> clamped to 255
    let input = tiny(
        2,
        2,
        &[grey(0, 255), grey(0, 200), grey(0, 100), [255, 0, 0, 0]],
    );
    expect_pixels(
        "sobel",
        &[("gain", Arg::Float(1.0))],
        &input,
        &[grey(108, 255), grey(241, 200), grey(241, 100), grey(255, 0)],
    );
    // gain 0: no edges at all; gain 4: 4 * 0.42285 > 1, so all white.
    expect_pixels(
        "sobel",
        &[("gain", Arg::Float(0.0))],
        &input,
        &[grey(0, 255), grey(0, 200), grey(0, 100), grey(0, 0)],
    );
    expect_pixels(
        "sobel",
        &[("gain", Arg::Float(4.0))],
        &input,
        &[grey(255, 255), grey(255, 200), grey(255, 100), grey(255, 0)],
    );
}

/// Red, green and blue times `1 - strength * smoothstep(radius, 1, d)`; alpha kept.
#[test]
fn vignette_follows_its_formula() {
    // 3x3 white, corners half transparent. The centre is (1.5, 1.5), the half-diagonal
    // sqrt(4.5) = 2.12132; pixel centres: the middle d = 0, an edge's middle (1 away)
    // d = 0.471405, a corner (sqrt(2) away) d = 2/3.
    let c = grey(255, 128);
    let w = grey(255, 255);
    let input = tiny(3, 3, &[c, w, c, w, w, w, c, w, c]);
    // strength 0.6, radius 0.4: a corner t = (2/3 - 0.4) / 0.6 = 0.444444,
    // smoothstep = t^2 (3 - 2t) = 0.417010, f = 1 - 0.6 * 0.417010 = 0.749794 -> 191.20;
    // an edge t = 0.119008, smoothstep = 0.039119, f = 0.976530 -> 249.02.
    let (c, e, m) = (grey(191, 128), grey(249, 255), grey(255, 255));
    expect_pixels(
        "vignette",
        &[("strength", Arg::Float(0.6)), ("radius", Arg::Float(0.4))],
        &input,
        &[c, e, c, e, m, e, c, e, c],
    );
    // strength 1, radius 0: a corner t = 2/3, smoothstep = 0.740741, f = 0.259259 ->
    // 66.11; an edge t = 0.471405, smoothstep = 0.457153, f = 0.542846 -> 138.43.
    let (c, e) = (grey(66, 128), grey(138, 255));
    expect_pixels(
        "vignette",
        &[("strength", Arg::Float(1.0)), ("radius", Arg::Float(0.0))],
        &input,
        &[c, e, c, e, m, e, c, e, c],
    );
    // radius 1: smoothstep(1, 1, d) is 0 for every d < 1, so nothing darkens;
    // strength 0 darkens nothing either.
    for args in [
        [("strength", Arg::Float(1.0)), ("radius", Arg::Float(1.0))],
        [("strength", Arg::Float(0.0)), ("radius", Arg::Float(0.0))],
    ] {
        let input_pixels: Vec<[u8; 4]> = input
            .pixels
            .chunks(4)
            .map(|px| [px[0], px[1], px[2], px[3]])
            .collect();
        expect_pixels("vignette", &args, &input, &input_pixels);
    }
}

/// The grey levels of the 3x3 images below, row by row.
const GRID: [[u8; 3]; 3] = [[0, 100, 50], [200, 60, 30], [10, 20, 255]];

/// The mean of the `size x size` block holding each pixel, alpha too.
#[test]
fn pixelate_follows_its_formula() {
    let mut pixels = Vec::new();
    for (y, row) in GRID.iter().enumerate() {
        for (x, v) in row.iter().enumerate() {
            pixels.push(grey(*v, if (x, y) == (1, 1) { 55 } else { 255 }));
        }
    }
    let input = tiny(3, 3, &pixels);
    // size 2: blocks x 0..2 / 2..3 by y 0..2 / 2..3, cut at the edges:
    // top left (0 + 100 + 200 + 60) / 4 = 90, alpha (3 * 255 + 55) / 4 = 205;
    // top right (50 + 30) / 2 = 40; bottom left (10 + 20) / 2 = 15; bottom right 255.
    let (a, b, c, d) = (grey(90, 205), grey(40, 255), grey(15, 255), grey(255, 255));
    expect_pixels(
        "pixelate",
        &[("size", Arg::Int(2))],
        &input,
        &[a, a, b, a, a, b, c, c, d],
    );
    // size 64: one block, cut to the image: 725 / 9 = 80.56 -> 81, alpha 2095 / 9 =
    // 232.78 -> 233.
    expect_pixels(
        "pixelate",
        &[("size", Arg::Int(64))],
        &input,
        &[grey(81, 233); 9],
    );
}

/// Each of red, green and blue the median of its 3x3 square; alpha kept.
#[test]
fn median3x3_follows_its_formula() {
    // Red is GRID, green 255 minus it (so its median is 255 minus red's), blue 0,
    // alpha 10, 20, ... 90. Reads beyond the border repeat the edge; the nine reds:
    // (0,0): 0 0 100 / 0 0 100 / 200 200 60 -> sorted 0 0 0 0 [60] 100 100 200 200
    // (1,0): 0 100 50 / 0 100 50 / 200 60 30 -> 0 0 30 50 [50] 60 100 100 200
    // (2,0): 100 50 50 / 100 50 50 / 60 30 30 -> 30 30 50 50 [50] 50 60 100 100
    // (0,1): 0 0 100 / 200 200 60 / 10 10 20 -> 0 0 10 10 [20] 60 100 200 200
    // (1,1): 0 100 50 / 200 60 30 / 10 20 255 -> 0 10 20 30 [50] 60 100 200 255
    // (2,1): 100 50 50 / 60 30 30 / 20 255 255 -> 20 30 30 50 [50] 60 100 255 255
    // (0,2): 200 200 60 / 10 10 20 / 10 10 20 -> 10 10 10 10 [20] 20 60 200 200
    // (1,2): 200 60 30 / 10 20 255 / 10 20 255 -> 10 10 20 20 [30] 60 200 255 255
    // (2,2): 60 30 30 / 20 255 255 / 20 255 255 -> 20 20 30 30 [60] 255 255 255 255
    let mut pixels = Vec::new();
    for row in GRID {
        for v in row {
            let alpha = 10 * (pixels.len() as u8 + 1);
            pixels.push([v, 255 - v, 0, alpha]);
        }
    }
    let input = tiny(3, 3, &pixels);
    let medians = [60, 50, 50, 20, 50, 50, 20, 30, 60];
    let want: Vec<[u8; 4]> = medians
        .iter()
        .zip(&pixels)
        .map(|(m, px)| [*m, 255 - m, 0, px[3]])
        .collect();
    expect_pixels("median3x3", &[], &input, &want);
}

/// `smoothstep(e0, e1, x)` as the builtin's doc says: 0 below `e0`, 1 above `e1`,
/// `t * t * (3 - 2 * t)` between (`t = (x - e0) / (e1 - e0)`); a step at `e0` when the
/// two are equal.
fn smoothstep(e0: f64, e1: f64, x: f64) -> f64 {
    if e0 >= e1 {
        return if x < e0 { 0.0 } else { 1.0 };
    }
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// What `filters/README.md` says filter `name` makes of pixel `(x, y)` of a flat
/// `w` x `h` image of grey `v` (0 to 1), with the param values `p` (a bool as 0 or 1):
/// its red, green and blue. (Alpha is kept or averaged, so it stays as it is.)
fn documented_on_flat_grey(
    name: &str,
    p: &dyn Fn(&str) -> f64,
    v: f64,
    (x, y, w, h): (u32, u32, u32, u32),
) -> [f64; 3] {
    let clamp = |v: f64| v.clamp(0.0, 1.0);
    let g = match name {
        "invert" => (1.0 - p("amount")) * v + p("amount") * (1.0 - v),
        // The luma of a grey is the grey, with either weighting; a grey has no
        // colour to saturate.
        "grayscale" | "saturation" => v,
        "brightness" => clamp(v + p("amount")),
        "contrast" => clamp((v - 0.5) * p("factor") + 0.5),
        "threshold" => {
            if v >= p("level") {
                1.0
            } else {
                0.0
            }
        }
        "gamma" => v.powf(1.0 / p("value")),
        "sepia" => {
            // The rows of the matrix sum to 1.351, 1.203 and 0.937.
            let a = p("amount");
            return [1.351, 1.203, 0.937].map(|k: f64| (1.0 - a) * v + a * clamp(k * v));
        }
        // Means, medians and kernels whose weights sum to 1 keep a flat image; the
        // detail a sharpen adds back is 0.
        "box_blur" | "gaussian_blur" | "pixelate" | "median3x3" | "sharpen" | "emboss" => v,
        // No edges.
        "sobel" => 0.0,
        "vignette" => {
            let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
            let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
            let d = (dx * dx + dy * dy).sqrt() / (cx * cx + cy * cy).sqrt();
            v * (1.0 - p("strength") * smoothstep(p("radius"), 1.0, d))
        }
        _ => panic!("filters/README.md: no documented behaviour of `{name}` here: add it"),
    };
    [g; 3]
}

/// Every filter of `filters/`, with its params (read from the file by the library)
/// at their defaults and each at the least and the greatest value of its range (the
/// others at their defaults), on flat pure black, mid-grey and pure white with alpha
/// 77: the VM and the reference give what the documentation says, within one level
/// (float rounding), and keep the alpha.
#[test]
fn every_filter_at_the_ends_of_its_ranges_on_black_grey_and_white() {
    use chunkvm::check::Const;
    let mut runs = 0;
    for filter in FILTERS {
        let text = source(filter.file);
        let sliders = chunkvm::driver::analyze(&text).params();
        let to_arg = |value: Const| match value {
            Const::Float(v) => Arg::Float(v),
            Const::Int(v) => Arg::Int(v),
            Const::Bool(v) => Arg::Bool(v),
            Const::Color(_) => panic!("{}: a colour param", filter.file),
        };
        let mut settings: Vec<Vec<(&str, Arg)>> = vec![Vec::new()];
        for slider in &sliders {
            let ends = match slider.range {
                Some((lo, hi)) => [lo, hi],
                None if slider.ty == chunkvm::types::Type::Bool => {
                    [Const::Bool(false), Const::Bool(true)]
                }
                None => panic!("{}: param `{}` has no range", filter.file, slider.name),
            };
            for end in ends {
                settings.push(vec![(slider.name.as_str(), to_arg(end))]);
            }
        }
        for args in &settings {
            let p = |name: &str| -> f64 {
                let arg = args.iter().find(|(n, _)| *n == name).map(|(_, a)| *a);
                let slider = sliders.iter().find(|s| s.name == name);
                let arg = arg.unwrap_or_else(|| {
                    let slider =
                        slider.unwrap_or_else(|| panic!("{}: no param `{name}`", filter.file));
                    to_arg(slider.default)
                });
                match arg {
                    Arg::Float(v) => v,
                    Arg::Int(v) => v as f64,
                    Arg::Bool(v) => v as u8 as f64,
                }
            };
            for level in [0u8, 128, 255] {
                let input = Rgba8::filled(3, 3, [level, level, level, 77]);
                let vm = run_filter(filter.file, filter.filter, &input, args);
                let reference = (filter.apply)(&input, args);
                for (what, got) in [("the VM", &vm), ("the reference", &reference)] {
                    for (idx, px) in got.pixels.chunks(4).enumerate() {
                        let (x, y) = (idx as u32 % 3, idx as u32 / 3);
                        let want = documented_on_flat_grey(
                            filter.filter,
                            &p,
                            level as f64 / 255.0,
                            (x, y, 3, 3),
                        );
                        let want = want.map(|v| (v.clamp(0.0, 1.0) * 255.0).round());
                        let ok = (0..3).all(|ch| (px[ch] as f64 - want[ch]).abs() <= 1.0);
                        assert!(
                            ok && px[3] == 77,
                            "{} {args:?} on grey {level}, {what}: pixel ({x}, {y}) is {px:?}, \
                             the documentation says {want:?} and alpha 77",
                            filter.filter
                        );
                    }
                }
                runs += 1;
            }
        }
    }
    // 16 filters, 3 greys: the defaults and two ends of each of 17 params.
    assert_eq!(runs, 3 * (16 + 2 * 17), "{runs} runs");
}
