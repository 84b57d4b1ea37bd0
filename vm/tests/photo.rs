//! Photos as chunk graphs: the pyramid, tiles read only where a filter
//! looks, filters and pipelines over real photos.

#![allow(clippy::unwrap_used)]

use chunkvm::chunk::{ImageView, NodeId, Store};
use chunkvm::exec::Vm;
use chunkvm::photo::{
    level_count, level_size, photo_info, photo_level, photo_new, preview_level, Rgba8, RunError,
    RunOptions, Target,
};
use std::path::Path;

mod common;
use common::{run_source as run, test_photo};

fn chelsea() -> Rgba8 {
    Rgba8::load(&test_photo("chelsea.png")).unwrap()
}

#[test]
fn photos_load_from_png_and_jpeg() {
    let cat = chelsea();
    assert_eq!((cat.width, cat.height), (451, 300));
    let rocket = Rgba8::load(&test_photo("rocket.jpg")).unwrap();
    assert_eq!((rocket.width, rocket.height), (640, 427));
    assert!(rocket.pixels.chunks(4).all(|px| px[3] == 255));
}

#[test]
fn bad_image_files_are_named_with_their_cause() {
    let err = Rgba8::load(Path::new("/no/such/photo.png"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/no/such/photo.png") && err.contains("no such file"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("chunkvm-photo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.png");
    let mut bytes = std::fs::read(test_photo("chelsea.png")).unwrap();
    bytes.truncate(2000);
    std::fs::write(&bad, &bytes).unwrap();
    let err = Rgba8::load(&bad).unwrap_err().to_string();
    assert!(
        err.contains("broken.png") && err.contains("corrupt"),
        "{err}"
    );
    std::fs::write(&bad, b"hello").unwrap();
    let err = Rgba8::load(&bad).unwrap_err().to_string();
    assert!(err.contains("not a PNG or JPEG"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_pyramid_goes_down_to_a_thumbnail_and_levels_are_made_once() {
    assert_eq!(level_count(4000, 3000), 5);
    assert_eq!(level_size(4000, 3000, 4), (250, 188));
    assert_eq!(level_count(256, 100), 1);
    assert_eq!(level_size(451, 300, 1), (226, 150));
    assert_eq!(preview_level(4000, 3000), 3);

    let cat = chelsea();
    let mut store = Store::new(NodeId(1));
    let photo = photo_new(&mut store, &cat).unwrap();
    assert_eq!(photo_info(&store, photo).unwrap(), (451, 300, 2));
    let before = store.data_len();
    let level1 = photo_level(&mut store, photo, 1).unwrap();
    let made = store.data_len() - before;
    assert!(made > 0);
    assert_eq!(photo_level(&mut store, photo, 1).unwrap(), level1, "cached");
    assert_eq!(store.data_len() - before, made, "made once");
    let view = ImageView::open(&store, level1).unwrap();
    assert_eq!((view.width(), view.height()), (226, 150));
    assert!(photo_level(&mut store, photo, 2).is_err());
}

#[test]
fn a_filter_over_a_crop_reads_only_the_crop_and_its_border() {
    let source = "filter soft(src: image, x: int, y: int) -> color {\n    (src.at(x - 1, y) + src.at(x + 1, y)) / 2.0\n}\n";
    let (_, program) = chunkvm::driver::build(source).unwrap();
    let mut vm = Vm::new(program);
    let cat = chelsea();
    let image = vm.store_image(cat.width, cat.height, &cat.pixels).unwrap();
    let (func, _) = vm.program().function("soft").unwrap();
    // 16x16 pixels starting at a tile corner, reading one pixel left and right:
    // 2 tiles wide for the crop, plus one column of tiles on each side.
    vm.apply_region(func, image, (64, 64, 80, 80)).unwrap();
    let view = ImageView::open(vm.store(), image).unwrap();
    let total = view.tile_ids().len();
    let read = vm.tiles_read();
    assert_eq!(read, 4 * 2, "read {read} of {total} tiles");
}

#[test]
fn a_pipeline_runs_its_stages_in_order() {
    let source = r#"
param amount: float = 1.0 in 0.0..1.0;
filter invert(c: color) -> color {
    mix(c, rgba(1.0 - c.r, 1.0 - c.g, 1.0 - c.b, c.a), amount)
}
filter red_only(c: color) -> color {
    rgba(c.r, 0.0, 0.0, c.a)
}
pipeline twice = invert |> invert(amount: 1.0) |> red_only;
"#;
    let cat = chelsea();
    let out = run(
        source,
        Some(&Target::Pipeline("twice".into())),
        &cat,
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(out.stages, ["invert", "invert", "red_only"]);
    assert_eq!((out.image.width, out.image.height), (451, 300));
    for (got, want) in out.image.pixels.chunks(4).zip(cat.pixels.chunks(4)) {
        assert_eq!(got, [want[0], 0, 0, want[3]]);
    }
    let preview = run(
        source,
        Some(&Target::Filter("red_only".into())),
        &cat,
        &RunOptions {
            level: 1,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!((preview.image.width, preview.image.height), (226, 150));
}

#[test]
fn threads_give_the_same_pixels_as_one_thread() {
    let source = "filter edge(src: image, x: int, y: int) -> color {\n    src.at(x + 1, y) - src.at(x - 1, y) + rgba(0.5, 0.5, 0.5, 1.0)\n}\n";
    let cat = chelsea();
    let one = run(source, None, &cat, &RunOptions::default()).unwrap();
    let three = run(
        source,
        None,
        &cat,
        &RunOptions {
            threads: 3,
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(one.image, three.image);
    assert_eq!(one.instructions, three.instructions);
}

#[test]
fn a_runtime_error_in_a_worker_is_reported() {
    let source = "filter bad(src: image, x: int, y: int) -> color {\n    let d = 250 - y;\n    gray(float(10 / d))\n}\n";
    let cat = chelsea();
    for threads in [1, 2] {
        let err = run(
            source,
            None,
            &cat,
            &RunOptions {
                threads,
                ..RunOptions::default()
            },
        )
        .unwrap_err();
        let RunError::Runtime(err) = err else {
            panic!("{err}");
        };
        assert_eq!(err.message, "division by zero");
    }
}

/// A filter slow enough that a run is still going when it is cancelled.
const SLOW: &str = "filter slow(src: image, x: int, y: int) -> color {\n    var c = src.at(x, y);\n    for i in 0..50 {\n        c = c * 1.0;\n    }\n    c\n}\n";

/// On one thread and on two, a run is cancelled from another thread once its progress
/// shows it has started: it ends with [`RunError::Cancelled`], before all rows are done.
/// Every progress report waits until the other thread has set the flag, so no worker
/// gets past the band it was on (no timing is involved).
#[test]
fn a_running_run_can_be_cancelled_from_another_thread() {
    use chunkvm::photo::{run_input, Compiled, Input, BAND_ROWS};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{mpsc, Arc, Condvar, Mutex};
    use std::time::Duration;
    // Generous bounds on waiting for the other side; they are not what is tested.
    const WAIT: Duration = Duration::from_secs(120);
    let cat = chelsea();
    let total = cat.height as u64;
    assert!(total > 4 * BAND_ROWS as u64, "the photo has too few bands");
    for threads in [1, 2] {
        let flag = Arc::new(AtomicBool::new(false));
        let cancelled = Arc::new((Mutex::new(false), Condvar::new()));
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let canceller = {
            let (flag, cancelled) = (flag.clone(), cancelled.clone());
            std::thread::spawn(move || {
                started_rx.recv_timeout(WAIT).expect("no progress reported");
                flag.store(true, Ordering::Relaxed);
                let (done, signal) = &*cancelled;
                *done.lock().expect("lock") = true;
                signal.notify_all();
            })
        };
        let started = Mutex::new(Some(started_tx));
        let most_rows = AtomicU64::new(0);
        let progress = |done: u64, all: u64| {
            assert_eq!(all, total);
            most_rows.fetch_max(done, Ordering::Relaxed);
            if let Some(tx) = started.lock().expect("lock").take() {
                tx.send(()).expect("the canceller waits");
            }
            let (lock, signal) = &*cancelled;
            let (done, _) = signal
                .wait_timeout_while(lock.lock().expect("lock"), WAIT, |done| !*done)
                .expect("lock");
            assert!(*done, "the canceller did not cancel");
        };
        let options = RunOptions {
            threads,
            cancel: Some(flag.clone()),
            ..RunOptions::default()
        };
        let input = Input::Image(std::borrow::Cow::Borrowed(&cat));
        let (analyzed, program) = chunkvm::driver::build(SLOW).unwrap();
        let compiled = Compiled::of(&analyzed, program);
        let err = run_input(compiled, None, &input, &options, &progress).unwrap_err();
        canceller.join().unwrap();
        assert!(
            matches!(err, RunError::Cancelled),
            "{threads} threads: {err}"
        );
        // Each thread finished at most the band it was on when the flag was set.
        let done = most_rows.load(Ordering::Relaxed);
        assert!(
            done <= threads as u64 * BAND_ROWS as u64 && done < total,
            "{threads} threads: {done} of {total} rows done"
        );
    }
}

/// Cancelled before it starts, a run does no work.
#[test]
fn a_run_cancelled_before_it_starts_does_nothing() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let cat = chelsea();
    for threads in [1, 2] {
        let options = RunOptions {
            threads,
            cancel: Some(Arc::new(AtomicBool::new(true))),
            ..RunOptions::default()
        };
        let err = run(SLOW, None, &cat, &options).unwrap_err();
        assert!(
            matches!(err, RunError::Cancelled),
            "{threads} threads: {err}"
        );
    }
}
