//! `chunkvm bench --nodes`: lazy migration measured against eager, and a migrated run
//! against a local one, all in the same run, on loopback.
//!
//! A kernel filter (the 3x3 box blur) runs over a synthetic photo (12 megapixels; 1
//! with `--quick`), is stopped a tenth of the way in, and moves with each prefetch
//! policy. Two measurements per policy:
//! - the chunks and bytes the destination holds when its first instruction runs: the
//!   policy's chunks sent ahead and what the restore fetched, measured in-process with
//!   the policy itself (no network: exact counts);
//! - a real migration over QUIC to a node started in this process (real TLS), on a
//!   warm connection: time from the request to the first instruction at the node, fetch
//!   round trips against chunks fetched, bytes in all, and the whole run's time against
//!   the local run's.

#![warn(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a closed pipe would panic: use outln!/errln!"
)]

use chunkvm::chunk::{Chunk, ChunkId, IdSet, NodeId, Store, ENTRY_LEN};
use chunkvm::exec::{Fetch, FetchError, Stop, Value, Vm};
use chunkvm::photo::{self, Compiled, Input, Rgba8, RunOptions};
use chunkvm_node::migrate::{migrate, MigrateOptions};
use chunkvm_node::prefetch::{Policy, Prefetch};
use chunkvm_node::service::NodeService;
use chunkvm_node::split::{split, Member, SplitOptions};
use chunkvm_node::{Client, Identity, IdentityOptions, Limits, Server, TokenSource, Trust};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The filter moved.
const FILTER: &str = include_str!("../../filters/box_blur.chop");

/// A tiny program, migrated once first so that the measured migration finds the
/// connection warm (and the node's code cache without the filter's code).
const WARM_UP: &str = "fn main() { var s = 0; for i in 0..100 { s += i; } print(s); }";

fn synthetic(width: u32, height: u32) -> Rgba8 {
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 4);
    for y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(&[
                (x % 251) as u8,
                (y % 241) as u8,
                ((x ^ y) % 239) as u8,
                255,
            ]);
        }
    }
    Rgba8 {
        width,
        height,
        pixels,
    }
}

/// The filter's run over `image`, made a thread, ready to run.
fn started(image: &Rgba8) -> Result<Vm, String> {
    let (analyzed, program) =
        chunkvm::driver::build(FILTER).map_err(|_| "the box blur does not build".to_string())?;
    let started = photo::start(
        Compiled::of(&analyzed, program),
        None,
        &Input::Image(Cow::Borrowed(image)),
        &RunOptions::default(),
    )
    .map_err(|err| err.to_string())?;
    Ok(started.vm)
}

/// Runs to the first safe point after `n` instructions.
fn run_to(vm: &mut Vm, n: u64) -> Result<(), String> {
    vm.stop_after(n);
    loop {
        match vm.run().map_err(|err| err.message.clone())? {
            Stop::SafePoint => return Ok(()),
            Stop::Finished(_) => return Err("the run finished before the migration point".into()),
            _ => continue,
        }
    }
}

/// A policy answering a restore's fetches in-process, counting what it sends.
struct Counted {
    source: Arc<Store>,
    policy: Policy,
    sent: Arc<Mutex<(u64, u64)>>,
}

impl Fetch for Counted {
    fn fetch(&mut self, id: ChunkId) -> Result<Vec<(ChunkId, Chunk)>, FetchError> {
        let answer = self
            .policy
            .answer(&self.source, &[id])
            .map_err(FetchError)?;
        if let Ok(mut sent) = self.sent.lock() {
            sent.0 += answer.chunks.len() as u64;
            sent.1 += 1;
        }
        Ok(answer.chunks)
    }
}

/// Chunks held at the destination when its first instruction runs, and the fetches
/// that brought them (beyond those sent ahead).
fn before_first_instruction(
    image: &Rgba8,
    at: u64,
    prefetch: Prefetch,
) -> Result<(u64, u64, u64), String> {
    let mut vm = started(image)?;
    run_to(&mut vm, at)?;
    let root = vm.materialize();
    let source = Arc::new(vm.into_store());
    let mut policy = Policy::new(prefetch, root, IdSet::default(), chunkvm_node::MAX_MESSAGE);
    let ahead = policy.ahead(&source)?;
    let mut store = Store::new(NodeId(4000));
    let sent_ahead = ahead.len() as u64;
    for (id, chunk) in ahead {
        store.insert(id, chunk);
    }
    let sent = Arc::new(Mutex::new((0, 0)));
    let fetch = Counted {
        source,
        policy,
        sent: sent.clone(),
    };
    Vm::restore_fetching(store, root, Box::new(fetch)).map_err(|err| err.to_string())?;
    let (fetched, trips) = sent.lock().map(|it| *it).unwrap_or_default();
    Ok((sent_ahead, fetched, trips))
}

/// A node inside this process, on loopback, with its state in a temporary folder.
struct LocalNode {
    server: Server,
    service: Arc<NodeService>,
    client: Client,
    dir: std::path::PathBuf,
    member: Member,
}

async fn local_node(name: &str) -> Result<LocalNode, String> {
    let dir =
        std::env::temp_dir().join(format!("chunkvm-bench-node-{name}-{}", std::process::id()));
    let identity = Identity::load_or_create(
        &dir,
        &IdentityOptions {
            name: Some(name.into()),
            token: TokenSource::default(),
        },
    )
    .map_err(|err| err.to_string())?;
    let service = Arc::new(NodeService::new(identity.node_id()));
    let server = Server::bind(
        ([127, 0, 0, 1], 0).into(),
        &identity,
        service.clone(),
        Limits::default(),
    )
    .map_err(|err| err.to_string())?;
    let client = Client::connect(
        server.local_addr(),
        identity.token(),
        &Trust::Pinned(identity.fingerprint()),
    )
    .await
    .map_err(|err| err.to_string())?;
    let member = Member::Node {
        label: format!("quic://{}", server.local_addr()),
        addr: server.local_addr(),
        token: identity.token().clone(),
        trust: Trust::Pinned(identity.fingerprint()),
    };
    Ok(LocalNode {
        server,
        service,
        client,
        dir,
        member,
    })
}

impl LocalNode {
    async fn stop(self) {
        self.client.close().await;
        self.service.stop();
        self.server.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The whole job split over `members`: its time, checked against the local image.
async fn split_run(
    members: &[Member],
    image: &Rgba8,
    expected: &Rgba8,
) -> Result<Duration, String> {
    let started_at = Instant::now();
    let mut vm = started(image)?;
    let report = split(&mut vm, members, &SplitOptions::default(), |_| {})
        .await
        .map_err(|err| err.to_string())?;
    let out = photo::finish(&vm, &report.value).map_err(|err| err.to_string())?;
    let took = started_at.elapsed();
    if &out != expected {
        return Err("the split run made another image than the local run".into());
    }
    Ok(took)
}

/// One measured migration: the report's figures and the whole run's time.
struct Moved {
    first: Duration,
    whole: Duration,
    fetched: u64,
    prefetched: u64,
    trips: u64,
    bytes: u64,
}

async fn migrated_run(
    node: &LocalNode,
    image: &Rgba8,
    at: u64,
    prefetch: Prefetch,
    expected: &Rgba8,
) -> Result<Moved, String> {
    // Warm the connection with a migration of another program.
    let (_, program) =
        chunkvm::driver::build(WARM_UP).map_err(|_| "the warm-up does not build".to_string())?;
    let mut warm = Vm::new(program.clone());
    warm.set_output(Box::new(std::io::sink()));
    let main = program.function("main").map(|(idx, _)| idx).unwrap_or(0);
    warm.start(main, &[]).map_err(|err| err.to_string())?;
    migrate(
        &node.client,
        &mut warm,
        &MigrateOptions {
            prefetch,
            run_for: None,
        },
        |_| {},
    )
    .await
    .map_err(|err| err.to_string())?;

    let started_at = Instant::now();
    let mut vm = started(image)?;
    run_to(&mut vm, at)?;
    let report = migrate(
        &node.client,
        &mut vm,
        &MigrateOptions {
            prefetch,
            run_for: None,
        },
        |_| {},
    )
    .await
    .map_err(|err| err.to_string())?;
    let value = report
        .finished
        .clone()
        .ok_or("the node handed the thread back")?;
    let Value::Image { .. } = value else {
        return Err("the run did not finish with an image".into());
    };
    let image = photo::finish(&vm, &value).map_err(|err| err.to_string())?;
    let whole = started_at.elapsed();
    if &image != expected {
        return Err(format!(
            "the migrated run ({}) made another image than the local run",
            prefetch.name()
        ));
    }
    Ok(Moved {
        first: report.to_first_instruction,
        whole,
        fetched: report.fetched.chunks,
        prefetched: report.prefetched.chunks,
        trips: report.round_trips,
        bytes: report.sent_ahead.bytes + report.fetched.bytes + report.prefetched.bytes,
    })
}

/// `chunkvm bench --nodes`.
pub fn run_nodes(quick: bool) -> Result<(), String> {
    let (width, height) = if quick { (1000, 1000) } else { (4000, 3000) };
    let image = synthetic(width, height);
    crate::outln!(
        "== migration of a kernel filter (box_blur) over a {width}x{height} photo ({:.0} MP), mid-run, on loopback",
        width as f64 * height as f64 / 1e6
    );
    let local_start = Instant::now();
    let mut vm = started(&image)?;
    let value = vm.run_to_end().map_err(|err| err.message.clone())?;
    let expected = photo::finish(&vm, &value).map_err(|err| err.to_string())?;
    let local = local_start.elapsed();
    let total = vm.instructions();
    let at = total / 10;
    crate::outln!(
        "local run: {:.0} ms, {total} instructions; migrated after {at} instructions",
        local.as_secs_f64() * 1e3
    );

    let mut eager_bytes = 0u64;
    let mut rows = Vec::new();
    for prefetch in [Prefetch::Eager, Prefetch::OnDemand, Prefetch::Graph] {
        let (ahead, fetched, trips) = before_first_instruction(&image, at, prefetch)?;
        let bytes = (ahead + fetched) * ENTRY_LEN as u64;
        if prefetch == Prefetch::Eager {
            eager_bytes = bytes;
        }
        rows.push((prefetch, ahead, fetched, trips, bytes));
    }
    crate::outln!(
        "\n{:<10} {:>10} {:>12} {:>8} {:>14} {:>9}",
        "policy",
        "ahead",
        "restore+",
        "trips",
        "bytes@first",
        "of eager"
    );
    for (prefetch, ahead, fetched, trips, bytes) in &rows {
        crate::outln!(
            "{:<10} {:>10} {:>12} {:>8} {:>14} {:>8.2}%",
            prefetch.name(),
            ahead,
            fetched,
            trips,
            bytes,
            100.0 * *bytes as f64 / eager_bytes.max(1) as f64
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    let (measured, split_time) = runtime.block_on(async {
        let node = local_node("a").await?;
        let mut out = Vec::new();
        for prefetch in [Prefetch::Eager, Prefetch::OnDemand, Prefetch::Graph] {
            out.push((
                prefetch,
                migrated_run(&node, &image, at, prefetch, &expected).await?,
            ));
        }
        let other = local_node("b").await?;
        let members = [node.member.clone(), other.member.clone()];
        let split_time = split_run(&members, &image, &expected).await;
        node.stop().await;
        other.stop().await;
        Ok::<_, String>((out, split_time?))
    })?;
    crate::outln!(
        "\n{:<10} {:>11} {:>8} {:>10} {:>7} {:>9} {:>13} {:>9} {:>8}",
        "policy",
        "first (ms)",
        "asked",
        "prefetched",
        "trips",
        "trips/ch",
        "bytes in all",
        "run (ms)",
        "/ local"
    );
    for (prefetch, moved) in &measured {
        crate::outln!(
            "{:<10} {:>11.3} {:>8} {:>10} {:>7} {:>9.3} {:>13} {:>9.0} {:>7.2}x",
            prefetch.name(),
            moved.first.as_secs_f64() * 1e3,
            moved.fetched,
            moved.prefetched,
            moved.trips,
            moved.trips as f64 / (moved.fetched + moved.prefetched).max(1) as f64,
            moved.bytes,
            moved.whole.as_secs_f64() * 1e3,
            moved.whole.as_secs_f64() / local.as_secs_f64().max(1e-9)
        );
    }
    crate::outln!(
        "\nsplit over 2 nodes (in this process, each on its own threads): {:.0} ms, {:.2}x faster than the local run",
        split_time.as_secs_f64() * 1e3,
        local.as_secs_f64() / split_time.as_secs_f64().max(1e-9)
    );
    crate::outln!(
        "\nfirst: from the node receiving the request to its first instruction (the node's clock);\nrun: the whole run (here to the migration point, then there), each migrated run's image checked equal to the local run's"
    );
    Ok(())
}
