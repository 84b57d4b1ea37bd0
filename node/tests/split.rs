//! A photo job split over this process and nodes on 127.0.0.1 ([`split`]):
//! the output is a local run's, byte for byte; a node that stops mid-job
//! loses its bands to the others, and every band's result is taken once.

#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use chunkvm::exec::Vm;
use chunkvm::photo::{self, Compiled, Input, Rgba8, RunOptions};
use chunkvm_node::{split, Member, SplitEvent, SplitOptions, Trust};
use common::{bounded, node, Node};

fn member(node: &Node) -> Member {
    Member::Node {
        label: format!("quic://{}", node.server.local_addr()),
        addr: node.server.local_addr(),
        token: node.identity.token().clone(),
        trust: Trust::Pinned(node.identity.fingerprint()),
    }
}

/// A photo with detail in every tile: 61x83, so edge tiles are partial.
fn image() -> Rgba8 {
    let (width, height) = (61u32, 83u32);
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

/// A pipeline of three stages, two of them reading their neighbours' rows.
fn pipeline_job() -> Vm {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/box_blur.chop");
    let mut source = std::fs::read_to_string(path).unwrap();
    source.push_str(
        "\nfilter invert(c: color) -> color {\n    rgba(1.0 - c.r, 1.0 - c.g, 1.0 - c.b, c.a)\n}\n\
         \npipeline mixed = box_blur |> invert |> box_blur(radius: 1);\n",
    );
    let (analyzed, program) = chunkvm::driver::build(&source).unwrap();
    photo::start(
        Compiled::of(&analyzed, program),
        Some(&photo::Target::Pipeline("mixed".into())),
        &Input::Image(Cow::Owned(image())),
        &RunOptions::default(),
    )
    .unwrap()
    .vm
}

/// The pipeline's output run here, on one thread.
fn expected() -> Rgba8 {
    let mut vm = pipeline_job();
    let value = vm.run_to_end().unwrap();
    photo::finish(&vm, &value).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_split_over_local_and_two_nodes_equals_a_local_run() {
    let (a, b) = (node("split-a"), node("split-b"));
    let members = [Member::Local, member(&a), member(&b)];
    // Every member takes part: the local member would otherwise finish this
    // small job before a node's handshake ends on a loaded machine.
    let options = SplitOptions {
        wait_for_all: true,
        ..SplitOptions::default()
    };
    let mut vm = pipeline_job();
    let mut events = Vec::new();
    let report = bounded(split(&mut vm, &members, &options, |e| events.push(e)))
        .await
        .unwrap();
    assert_eq!(photo::finish(&vm, &report.value).unwrap(), expected());
    // 83 rows, 3 members, 6 bands each: one row of tiles a band, 11 a stage.
    assert_eq!(report.bands, 33);
    assert_eq!(report.taken, 33);
    assert_eq!(
        report.members.iter().map(|m| m.bands).sum::<u64>(),
        33,
        "{report:?}"
    );
    assert!(
        report.members.iter().all(|m| m.lost.is_none()),
        "{report:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SplitEvent::Warning(w) if w.starts_with("warning:"))),
        "{events:?}"
    );
    assert!(report.instructions > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_mid_job_loses_its_bands_to_the_others() {
    let (a, b) = (node("lost-a"), node("lost-b"));
    let members = [Member::Local, member(&a), member(&b)];
    // Every member takes part: the local member would otherwise finish this
    // small job before a node's handshake ends on a loaded machine.
    let options = SplitOptions {
        wait_for_all: true,
        ..SplitOptions::default()
    };
    let mut vm = pipeline_job();
    let mut warnings = Vec::new();
    let mut taken: HashMap<(usize, usize), u32> = HashMap::new();
    let stopper = b.service.clone();
    let report = bounded(split(&mut vm, &members, &options, |e| {
        match e {
            // After the first band anyone finishes, node b stops: it hands back
            // the band it runs (if any) and refuses the next.
            SplitEvent::BandDone { stage, band, .. } => {
                *taken.entry((stage, band)).or_default() += 1;
                stopper.stop();
            }
            SplitEvent::Warning(line) if line.starts_with("warning:") => warnings.push(line),
            SplitEvent::Warning(_) | SplitEvent::Line(_) => {}
        }
    }))
    .await
    .unwrap();
    assert_eq!(photo::finish(&vm, &report.value).unwrap(), expected());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&b.server.local_addr().to_string()),
        "{warnings:?}"
    );
    assert!(report.members[2].lost.is_some(), "{report:?}");
    assert!(report.members[0].lost.is_none() && report.members[1].lost.is_none());
    // Each band's result was taken once, and every band has one.
    assert_eq!(taken.len(), 33);
    assert!(taken.values().all(|n| *n == 1), "{taken:?}");
    assert_eq!(report.taken, 33);
    assert_eq!(
        report.members.iter().map(|m| m.bands).sum::<u64>(),
        33,
        "{report:?}"
    );
    assert!(report.members[2].bands <= 1, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_cannot_be_reached_leaves_the_job_to_the_others() {
    let gone = node("gone");
    let dead = member(&gone);
    gone.server.shutdown().await;
    let mut vm = pipeline_job();
    let mut warnings = Vec::new();
    let report = bounded(split(&mut vm, &[dead], &SplitOptions::default(), |e| {
        if let SplitEvent::Warning(line) = e {
            if line.starts_with("warning:") {
                warnings.push(line)
            }
        }
    }))
    .await
    .unwrap();
    assert_eq!(photo::finish(&vm, &report.value).unwrap(), expected());
    // The node, then "every member is lost": the job ran here.
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(report.members.len(), 2);
    assert_eq!(report.members[1].label, "local");
    assert_eq!(report.members[1].bands, report.bands);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_all_members_does_not_wait_for_one_that_cannot_be_reached() {
    let gone = node("gone-wait");
    let dead = member(&gone);
    gone.server.shutdown().await;
    let options = SplitOptions {
        wait_for_all: true,
        ..SplitOptions::default()
    };
    let mut vm = pipeline_job();
    let mut warnings = Vec::new();
    let report = bounded(split(&mut vm, &[Member::Local, dead], &options, |e| {
        if let SplitEvent::Warning(line) = e {
            warnings.push(line)
        }
    }))
    .await
    .unwrap();
    assert_eq!(photo::finish(&vm, &report.value).unwrap(), expected());
    // The dead node is lost (one warning); the local member ran every band.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(report.members[1].lost.is_some(), "{report:?}");
    assert_eq!(report.members[0].bands, report.bands, "{report:?}");
}
