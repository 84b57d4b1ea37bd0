//! What surrounds a filter run: the photo to tile chunks and back, its memory, the
//! editor's preview of every filter and pipeline, and one thread against two.

use super::*;
use chunkvm::chunk::{NodeId, Store};
use chunkvm::driver::build;
use std::hint::black_box;

/// The memory of a photo as chunks against its raw RGBA bytes, estimated from the
/// store's layout and measured as the process's resident memory before and after.
pub fn photo_memory(width: u32, height: u32) -> Result<(usize, usize, Option<usize>), String> {
    let base = chunkvm::photo::Rgba8::decode(include_bytes!("../../../samples/chelsea.png"))
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
    let base = Rgba8::decode(include_bytes!("../../../samples/chelsea.png"))
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
    let ((t1, r1), (tn, rn)) = best_of_each(3, || run_with(&one), || run_with(&all));
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
    /// The filter's plain-Rust reference, best run alone.
    pub native_one: Duration,
    /// The reference run twice at once, on two threads of its own (best of the
    /// runs): how much two threads of any code get out of this machine.
    pub native_pair: Duration,
}

impl ThreadsFigure {
    /// How many times faster two threads are than one.
    pub fn speedup(&self) -> f64 {
        self.one.as_secs_f64() / self.two.as_secs_f64().max(1e-9)
    }

    /// The machine's own ceiling: how many times the work of one run of the native
    /// reference two runs at once do in the same time (2 where two threads share
    /// nothing; shared cores, caches and memory make it less).
    pub fn native_throughput(&self) -> f64 {
        2.0 * self.native_one.as_secs_f64() / self.native_pair.as_secs_f64().max(1e-9)
    }
}

/// Runs `filter` of the library (default params) on a `width` x `height` photo
/// with 1 worker thread and with 2, best of `runs` each, run alternately (and its
/// native reference alone and twice at once, alike); an error when the two give
/// different images.
pub fn measure_two_threads(
    filter: &str,
    width: u32,
    height: u32,
    runs: usize,
) -> Result<ThreadsFigure, String> {
    use chunkvm::photo::{run, Compiled, Rgba8, RunOptions, Target};
    let base = Rgba8::decode(include_bytes!("../../../samples/chelsea.png"))
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
    // Alternately on one thread and on two, each run's CPU time added to its mode's.
    let (mut cpu_one, mut cpu_two) = (Some(Duration::ZERO), Some(Duration::ZERO));
    let timed = |threads: usize, total: &mut Option<Duration>| {
        let before = process_cpu();
        let out = run_on(threads);
        *total = match (*total, before, process_cpu()) {
            (Some(sum), Some(before), Some(after)) => Some(sum + after.saturating_sub(before)),
            _ => None,
        };
        out
    };
    let ((one, on_one), (two, on_two)) =
        best_of_each(runs, || timed(1, &mut cpu_one), || timed(2, &mut cpu_two));
    let one_cpu = cpu_one.map(|cpu| cpu / runs.max(1) as u32);
    let two_cpu = cpu_two.map(|cpu| cpu / runs.max(1) as u32);
    if on_one.map_err(|err| err.to_string())? != on_two.map_err(|err| err.to_string())? {
        return Err(format!("{filter}: two threads made another image than one"));
    }
    let reference = chunkvm::reference::FILTERS
        .iter()
        .find(|f| f.filter == filter)
        .ok_or_else(|| format!("{filter}: no plain-Rust reference"))?;
    let native = || (reference.apply)(black_box(&photo), &[]);
    let ((native_one, _), (native_pair, _)) = best_of_each(runs, native, || {
        std::thread::scope(|scope| {
            let other = scope.spawn(native);
            (native(), other.join().is_ok())
        })
    });
    Ok(ThreadsFigure {
        filter: filter.to_string(),
        width,
        height,
        one,
        two,
        one_cpu,
        two_cpu,
        load: load_average(),
        native_one,
        native_pair,
    })
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

    let base = chunkvm::photo::Rgba8::decode(include_bytes!("../../../samples/chelsea.png"))
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

    let threads = measure_two_threads("box_blur", w, h, if quick { 1 } else { 3 })?;
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
    crate::outln!(
        "  this machine's ceiling: the native {} alone {:.0} ms, twice at once on two threads {:.0} ms: {:.2}x the work in the same time",
        threads.filter,
        ms(threads.native_one),
        ms(threads.native_pair),
        threads.native_throughput()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            chunkvm::photo::Rgba8::decode(include_bytes!("../../../samples/chelsea.png")).unwrap();
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
        assert!(fig.native_one > Duration::ZERO && fig.native_pair > Duration::ZERO);
        assert!(fig.native_throughput() > 0.0);
        if cfg!(target_os = "linux") {
            assert!(fig.one_cpu.is_some() && fig.two_cpu.is_some() && fig.load.is_some());
        }
        assert!(measure_two_threads("no_such_filter", 4, 4, 1).is_err());
    }
}
