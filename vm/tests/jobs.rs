//! A filter or pipeline run is a thread like the others: stopped at any safe point
//! (between two pixels or inside a filter's call), encoded, decoded into a fresh
//! store on another node and resumed there, it makes exactly the image of an
//! uninterrupted run, in exactly as many instructions. A node that holds only the
//! Thread chunk fetches the rest on demand, each chunk once.

#![allow(clippy::unwrap_used)]

mod common;
use common::run_to;

use chunkvm::chunk::{Chunk, ChunkId, NodeId, Store};
use chunkvm::exec::{Fetch, FetchError, ThreadError, Value, Vm};
use chunkvm::photo::{self, Compiled, Input, Rgba8, RunOptions, Target};
use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A file of the library, by its path under `filters/` (the cases are built from it
/// and the files it uses).
fn filter_source(name: &str) -> String {
    name.to_string()
}

/// Analyses and compiles a file of the library with the files it uses.
fn build(name: &str) -> (chunkvm::driver::Analyzed, chunkvm::compile::Program) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../filters")
        .join(name);
    let analyzed =
        chunkvm::driver::analyze_path(&path, &chunkvm::modules::FsResolver, &[]).unwrap();
    let program = analyzed.compile().unwrap();
    (analyzed, program)
}

/// A small photo with detail in every tile: 37x29, so edge tiles are partial.
fn photo() -> Rgba8 {
    let (width, height) = (37u32, 29u32);
    let mut pixels = Vec::new();
    for y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(&[(x * 7) as u8, (y * 9) as u8, ((x * y) % 251) as u8, 255]);
        }
    }
    Rgba8 {
        width,
        height,
        pixels,
    }
}

/// A run of `target` of `source` made a thread, ready to run.
fn started(source: &str, target: Option<&Target>) -> photo::Started {
    let (analyzed, program) = build(source);
    let image = photo();
    photo::start(
        Compiled::of(&analyzed, program),
        target,
        &Input::Image(Cow::Owned(image)),
        &RunOptions::default(),
    )
    .unwrap()
}

/// Runs to the end; the output image.
fn to_end(vm: &mut Vm) -> Rgba8 {
    let value = vm.run_to_end().unwrap();
    photo::finish(vm, &value).unwrap()
}

/// The cases: a point filter, a kernel filter, a pipeline of several stages.
fn cases() -> Vec<(&'static str, String, Option<Target>)> {
    vec![
        ("sepia", filter_source("sepia.chop"), None),
        ("box_blur", filter_source("box_blur.chop"), None),
        (
            "old_photo",
            filter_source("pipelines/old_photo.chop"),
            Some(Target::Pipeline("old_photo".into())),
        ),
    ]
}

/// `photo::run` runs in bands, on the calling thread when given one: the same image
/// and count as the job a debugger or a migration runs.
#[test]
fn a_job_equals_the_banded_run_on_one_thread_and_on_worker_threads() {
    for (name, source, target) in cases() {
        let mut job = started(&source, target.as_ref());
        let image = to_end(&mut job.vm);
        for threads in [1, 3] {
            let (analyzed, program) = build(&source);
            let options = RunOptions {
                threads,
                ..RunOptions::default()
            };
            let banded = photo::run(
                Compiled::of(&analyzed, program),
                target.as_ref(),
                &photo(),
                &options,
            )
            .unwrap();
            assert_eq!(
                image, banded.image,
                "{name}: the job and the bands on {threads} threads differ"
            );
            assert_eq!(job.vm.instructions(), banded.instructions, "{name}");
        }
    }
}

#[test]
fn a_job_resumed_from_any_safe_point_on_another_node_makes_the_same_image() {
    let mut inside_calls = 0;
    for (name, source, target) in cases() {
        let mut reference = started(&source, target.as_ref());
        let expected = to_end(&mut reference.vm);
        let total = reference.vm.instructions();
        for step in 1..=20u64 {
            let at = total * step / 21;
            let mut job = started(&source, target.as_ref());
            // Per pixel, so that stops fall inside calls too (`tests/tiles.rs` stops
            // tile-wide jobs).
            job.vm.set_tiles(false);
            assert!(run_to(&mut job.vm, at), "{name}: finished before {at}");
            if job.vm.frames().first().is_some_and(|frame| frame.pc != 0) {
                inside_calls += 1;
            }
            let bytes = job.vm.snapshot().unwrap();
            let mut moved = Vm::from_snapshot(&bytes, NodeId(40 + step as u16)).unwrap();
            let image = to_end(&mut moved);
            assert_eq!(image, expected, "{name}: resumed at {at} of {total}");
            assert_eq!(moved.instructions(), total, "{name}: resumed at {at}");
        }
    }
    // The kernel filter loops over its window: some stops fall inside its calls.
    assert!(inside_calls > 0, "no stop fell inside a filter's call");
}

#[test]
fn a_job_hops_from_node_to_node_and_home() {
    let (_, source, target) = cases().swap_remove(2);
    let mut reference = started(&source, target.as_ref());
    let expected = to_end(&mut reference.vm);
    let total = reference.vm.instructions();
    let mut job = started(&source, target.as_ref()).vm;
    for (hop, node) in [(1u64, 7u16), (2, 8), (3, 9), (4, 1)] {
        assert!(run_to(&mut job, total * hop / 5));
        let bytes = job.snapshot().unwrap();
        job = Vm::from_snapshot(&bytes, NodeId(node)).unwrap();
    }
    assert_eq!(to_end(&mut job), expected);
    assert_eq!(job.instructions(), total);
}

#[test]
fn the_job_progress_counts_rows_over_all_stages() {
    let (_, source, target) = cases().swap_remove(2);
    let mut job = started(&source, target.as_ref());
    let first = job.vm.job_progress().unwrap();
    assert_eq!((first.stage, first.rows_done), (0, 0));
    assert_eq!(first.rows, 29 * first.stages as u64);
    assert!(first.stages >= 2, "old_photo has several stages");
    let total = {
        let mut reference = started(&source, target.as_ref());
        to_end(&mut reference.vm);
        reference.vm.instructions()
    };
    assert!(run_to(&mut job.vm, total / 2));
    let half = job.vm.job_progress().unwrap();
    assert!(half.rows_done > 0 && half.rows_done < half.rows, "{half:?}");
}

#[test]
fn the_bottom_frame_of_a_job_names_the_pixel_it_computes() {
    let (_, source, _) = cases().swap_remove(1);
    let mut job = started(&source, None);
    job.vm.set_tiles(false);
    let mut seen = 0;
    for at in [1, 5_000, 40_000, 90_000] {
        if !run_to(&mut job.vm, at) {
            break;
        }
        let stack = job.vm.stack();
        let Some(bottom) = stack.last() else { continue };
        let depth = stack.len() - 1;
        let locals = job.vm.locals(depth);
        let int = |name: &str| match locals.iter().find(|v| v.name == name).map(|v| &v.value) {
            Some(Value::Int(n)) => *n as u32,
            other => panic!("box_blur's `{name}` is {other:?}"),
        };
        assert_eq!(bottom.pixel, Some((int("x"), int("y"))), "at {at}");
        assert!(stack[..depth].iter().all(|frame| frame.pixel.is_none()));
        seen += 1;
    }
    assert!(seen >= 2, "the run stopped inside a call only {seen} times");
    to_end(&mut job.vm);
    assert_eq!(job.vm.job_pixel(), None, "a finished job computes no pixel");
}

/// The chunks of a stopped thread's store, handed out one fetch at a time, counting.
#[derive(Clone)]
struct Source {
    store: Arc<Store>,
    sent: Arc<Mutex<Vec<ChunkId>>>,
}

impl Fetch for Source {
    fn fetch(&mut self, id: ChunkId) -> Result<Vec<(ChunkId, Chunk)>, FetchError> {
        let chunk = self
            .store
            .get(id)
            .ok_or_else(|| FetchError(format!("{id} is not at the source")))?;
        self.sent.lock().unwrap().push(id);
        Ok(vec![(id, chunk.clone())])
    }
}

#[test]
fn a_node_with_only_the_thread_chunk_fetches_the_rest_each_chunk_once() {
    for (name, source, target) in cases() {
        let mut reference = started(&source, target.as_ref());
        let expected = to_end(&mut reference.vm);
        let total = reference.vm.instructions();
        for step in [1u64, 4, 9] {
            let mut job = started(&source, target.as_ref()).vm;
            assert!(run_to(&mut job, total * step / 10));
            let root = job.materialize();
            let home = Source {
                store: Arc::new(job.store().clone()),
                sent: Arc::default(),
            };
            let mut store = Store::new(NodeId(77));
            store.insert(root, home.store.get(root).unwrap().clone());
            let mut moved = Vm::restore_fetching(store, root, Box::new(home.clone())).unwrap();
            let value = moved.run_to_end().unwrap();
            let Value::Image { id, .. } = value else {
                panic!(
                    "{name} at step {step}: {value:?} {:?}",
                    moved.job_progress()
                );
            };
            // Tiles made before the move are still at home.
            moved.fetch_reachable(&[id]).unwrap();
            let image = photo::finish(&moved, &value).unwrap();
            assert_eq!(image, expected, "{name}: moved at step {step}");
            assert_eq!(moved.instructions(), total, "{name}");
            let sent = home.sent.lock().unwrap().clone();
            let unique: std::collections::HashSet<_> = sent.iter().collect();
            assert_eq!(
                unique.len(),
                sent.len(),
                "{name}: a chunk was fetched twice"
            );
            assert!(!sent.is_empty(), "{name}: nothing was fetched");
            let (chunks, fetches) = moved.fetched();
            assert!(chunks > 0 && fetches > 0, "{name}");
        }
    }
}

#[test]
fn a_fetch_that_fails_is_an_error_naming_the_chunk() {
    struct Gone;
    impl Fetch for Gone {
        fn fetch(&mut self, _: ChunkId) -> Result<Vec<(ChunkId, Chunk)>, FetchError> {
            Err(FetchError("the connection was lost".into()))
        }
    }
    let (_, source, target) = cases().swap_remove(1);
    let mut job = started(&source, target.as_ref()).vm;
    assert!(run_to(&mut job, 500));
    let root = job.materialize();
    let mut store = Store::new(NodeId(78));
    store.insert(root, job.store().get(root).unwrap().clone());
    let err = Vm::restore_fetching(store, root, Box::new(Gone))
        .err()
        .unwrap();
    assert!(
        matches!(&err, ThreadError::Fetch { why, .. } if why.contains("connection was lost")),
        "{err}"
    );
}

#[test]
fn bands_of_rows_make_the_rows_of_tiles_of_the_whole_image() {
    use chunkvm::chunk::ImageView;
    let (_, source, target) = cases().swap_remove(1);
    let mut whole = started(&source, target.as_ref());
    let value = whole.vm.run_to_end().unwrap();
    let Value::Image { id, .. } = value else {
        panic!("{value:?}");
    };
    let expected: Vec<[u8; 4]> = expected_pixels(whole.vm.store(), id);
    let (_, height) = whole.size;
    let mut rows = Vec::new();
    for (y0, y1) in [(0, 8), (8, 24), (24, height)] {
        let mut band = started(&source, target.as_ref());
        let stages = band.vm.job_stages().unwrap();
        let src = band.vm.job_source().unwrap();
        band.vm.start_band(stages, src, Some((y0, y1))).unwrap();
        // Moved mid-band, too.
        assert!(run_to(&mut band.vm, 300));
        let bytes = band.vm.snapshot().unwrap();
        let mut moved = Vm::from_snapshot(&bytes, NodeId(90)).unwrap();
        let Value::Image { id, height: h, .. } = moved.run_to_end().unwrap() else {
            panic!("a band makes an image");
        };
        assert_eq!(h, y1 - y0);
        rows.extend(expected_pixels(moved.store(), id));
        let _ = ImageView::open(moved.store(), id).unwrap();
    }
    assert_eq!(rows, expected);
}

fn expected_pixels(store: &Store, id: ChunkId) -> Vec<[u8; 4]> {
    let (_, _, pixels) = chunkvm::chunk::image_to_rgba8(store, id).unwrap();
    pixels.chunks(4).map(|p| [p[0], p[1], p[2], p[3]]).collect()
}
