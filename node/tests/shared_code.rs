//! A node that ran one pipeline holds the code chunks of the library filters it used:
//! a second pipeline that uses one of them (the same chunks, named per function) gets
//! none of that filter's chunks from the client.

#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chunkvm::chunk::ChunkId;
use chunkvm::exec::Vm;
use chunkvm::modules::FsResolver;
use chunkvm::photo::{self, Compiled, Input, Rgba8, RunOptions};
use chunkvm_node::{migrate, Client, MigrateOptions, MigrateReport, Prefetch};
use common::{bounded, connect, node};

fn filters() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters")
}

fn image() -> Rgba8 {
    let (width, height) = (21u32, 13u32);
    let mut pixels = Vec::new();
    for y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(&[(x * 11) as u8, (y * 17) as u8, ((x + y) * 5) as u8, 255]);
        }
    }
    Rgba8 {
        width,
        height,
        pixels,
    }
}

/// The library pipeline `name` started as a thread over [`image`] (one thread: a
/// migratable job), and the chunks of `shared`'s code (its Function chunk and all the
/// code it reaches).
fn pipeline_job(name: &str, shared: &str) -> (Vm, BTreeSet<ChunkId>) {
    let path = filters().join("pipelines").join(name);
    let analyzed = chunkvm::driver::analyze_path(&path, &FsResolver, &[filters()]).unwrap();
    let program = analyzed.compile().unwrap();
    let options = RunOptions {
        threads: 1,
        ..RunOptions::default()
    };
    let vm = photo::start(
        Compiled::of(&analyzed, program),
        None,
        &Input::Image(Cow::Owned(image())),
        &options,
    )
    .unwrap()
    .vm;
    let (idx, _) = vm.loaded().program.function(shared).unwrap();
    let function = vm.loaded().ids.functions[idx as usize];
    let code = vm.store().reachable(&[function]).unwrap();
    (vm, code.into_iter().collect())
}

/// Moves `vm` to the node behind `client` (chunks fetched one by one) and back.
async fn hop(client: &Client, vm: &mut Vm) -> MigrateReport {
    let options = MigrateOptions {
        prefetch: Prefetch::OnDemand,
        run_for: None,
    };
    let report = migrate(client, vm, &options, |_| {})
        .await
        .unwrap_or_else(|e| panic!("migration failed: {e}"));
    assert!(report.finished.is_some(), "the pipeline did not finish");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_ran_one_pipeline_fetches_none_of_a_shared_filters_code_for_another() {
    bounded(async {
        // comic = median3x3 |> saturation |> contrast; sketch = median3x3 |> sobel |> invert.
        let (_, comic_median) = pipeline_job("comic.chop", "median3x3.median3x3");
        let (_, sketch_median) = pipeline_job("sketch.chop", "median3x3.median3x3");
        assert_eq!(comic_median, sketch_median, "one filter, one set of chunks");
        assert!(!sketch_median.is_empty());
        // What sketch costs a node that holds nothing.
        let fresh = node("shared-fresh");
        let client = connect(&fresh).await;
        let (mut sketch, _) = pipeline_job("sketch.chop", "median3x3.median3x3");
        let alone = hop(&client, &mut sketch).await;
        // A node that ran comic first, asked by a new connection (which knows nothing
        // of what the node holds).
        let warm = node("shared-warm");
        let (mut comic, _) = pipeline_job("comic.chop", "median3x3.median3x3");
        hop(&connect(&warm).await, &mut comic).await;
        let held = warm.service.code_chunks();
        assert!(held > 0);
        let (mut sketch, _) = pipeline_job("sketch.chop", "median3x3.median3x3");
        let after = hop(&connect(&warm).await, &mut sketch).await;
        // None of median3x3's chunks crossed the wire again: every one the fresh
        // node fetched for it is saved, and sketch's own code still went.
        assert!(after.code_sent > 0, "sketch's own code was not sent");
        assert!(
            alone.code_sent >= after.code_sent + sketch_median.len() as u64,
            "sent {} code chunks alone, {} after comic; median3x3 is {} chunks",
            alone.code_sent,
            after.code_sent,
            sketch_median.len()
        );
        assert!(
            warm.service.code_chunks() > held,
            "sketch's own code is kept too"
        );
    })
    .await;
}
