//! A filter or pipeline launched with `threads`: each stage runs in bands of rows, each
//! band a thread of the session. All-stop: a breakpoint, a step's end, an error or a
//! pause in one band stops them all; `continue` runs them all, a step the one thread.
//! The output equals a one-thread run's, byte for byte; a pipeline's bands start stage
//! by stage.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data, line_of, repo_file, scratch, Client};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

/// The live threads: (id, name).
fn threads(client: &mut Client) -> Vec<(i64, String)> {
    let body = client.ok("threads", json!({}));
    body["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_i64().unwrap(),
                t["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The frames of thread `id`.
fn frames_of(client: &mut Client, id: i64) -> Vec<Value> {
    let body = client.ok("stackTrace", json!({ "threadId": id }));
    body["stackFrames"].as_array().unwrap().clone()
}

/// The value of local `name` in frame `frame` (as `evaluate` in that frame shows it).
fn eval_in(client: &mut Client, frame: &Value, expression: &str) -> String {
    let body = client.ok(
        "evaluate",
        json!({ "expression": expression, "frameId": frame, "context": "watch" }),
    );
    body["result"].as_str().unwrap().to_string()
}

/// The pixel (x, y) thread `id` is on, and its top frame's line.
fn where_is(client: &mut Client, id: i64) -> (i64, i64, i64) {
    let frames = frames_of(client, id);
    let top = frames[0].clone();
    let x = eval_in(client, &top["id"], "x").parse().unwrap();
    let y = eval_in(client, &top["id"], "y").parse().unwrap();
    (x, y, top["line"].as_i64().unwrap())
}

/// Takes `n` `thread` events: (reason, thread id).
fn thread_events(client: &mut Client, n: usize) -> Vec<(String, i64)> {
    (0..n)
        .map(|_| {
            let body = client.event("thread");
            (
                body["reason"].as_str().unwrap().to_string(),
                body["threadId"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Runs `launch` (plus `output`) to its end without breakpoints: the image written.
fn output_of(launch: Value, output: &Path) -> Vec<u8> {
    let mut client = Client::start();
    let mut args = launch;
    args["output"] = json!(output);
    client.launch(args);
    client.ok("configurationDone", json!({}));
    assert_eq!(client.run_to_end(), 0, "{}", client.output);
    client.disconnect();
    std::fs::read(output).unwrap()
}

/// A 12x38 photo in `dir` (four bands of whole rows of tiles: 16, 8, 8 and 6 rows).
fn photo(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("photo.png");
    let mut pixels = Vec::new();
    for idx in 0..(12 * 38) {
        pixels.extend_from_slice(&[(idx * 5 % 256) as u8, (idx * 11 % 256) as u8, 120, 255]);
    }
    chunkvm::photo::Rgba8 {
        width: 12,
        height: 38,
        pixels,
    }
    .save_png(&path)
    .unwrap();
    path
}

fn box_blur(input: &Path, threads: usize) -> Value {
    json!({
        "program": repo_file("filters/box_blur.chop"),
        "filter": "box_blur",
        "input": input,
        "params": { "radius": 1 },
        "threads": threads,
    })
}

#[test]
fn bands_are_threads_that_stop_together_and_make_the_one_thread_image() {
    let dir = scratch("bands");
    let program = repo_file("filters/box_blur.chop");
    let body_line = line_of(&program, "sum = sum + src.at(");
    let mut client = Client::start();
    let input = photo(&dir);
    let mut args = box_blur(&input, 4);
    args["output"] = json!(dir.join("bands.png"));
    client.launch(args);
    // Four bands of whole rows of tiles.
    let listed = threads(&mut client);
    let names: Vec<&str> = listed.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "box_blur rows 0\u{2013}15",
            "box_blur rows 16\u{2013}23",
            "box_blur rows 24\u{2013}31",
            "box_blur rows 32\u{2013}37"
        ]
    );
    let ids: Vec<i64> = listed.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": program }, "breakpoints": [{ "line": body_line, "condition": "y == 20 && x == 5" }] }),
    );
    client.ok("configurationDone", json!({}));
    // Band 2 (rows 16-23) hits it; all threads stop with it.
    let stopped = client.stopped();
    assert_eq!(stopped["reason"], "breakpoint");
    assert_eq!(stopped["threadId"], 2);
    assert_eq!(stopped["allThreadsStopped"], true);
    assert_eq!(where_is(&mut client, 2), (5, 20, body_line as i64));
    // Every other band answers with its own frames, each on a pixel of its rows.
    let mut others = Vec::new();
    for (id, rows) in [(1, 0..16), (3, 24..32), (4, 32..38)] {
        let frames = frames_of(&mut client, id);
        let name = frames[0]["name"].as_str().unwrap();
        assert!(name.starts_with("box_blur (x "), "{name}");
        assert!(frames[0]["id"] != json!(1) || id == 1);
        let (x, y, line) = where_is(&mut client, id);
        assert!(rows.contains(&y), "thread {id} on row {y}");
        others.push((id, (x, y, line)));
    }
    // Scopes and variables of another band's frame are its own.
    let frame3 = frames_of(&mut client, 3)[0]["id"].clone();
    let scopes = client.scopes(&frame3);
    let locals = client.variables(&scopes[0].1);
    let y3 = locals.iter().find(|v| v["name"] == "y").unwrap()["value"].clone();
    assert_eq!(y3, json!(others[1].1 .1.to_string()));
    // A step moves thread 2 only.
    client.ok("next", json!({ "threadId": 2 }));
    let continued = client.event("continued");
    assert_eq!(continued["allThreadsContinued"], false);
    let stepped = client.stopped();
    assert_eq!(stepped["reason"], "step");
    assert_eq!(stepped["threadId"], 2);
    assert_eq!(stepped["allThreadsStopped"], true);
    for (id, at) in &others {
        assert_eq!(where_is(&mut client, *id), *at, "thread {id} moved");
    }
    // Migration works on a one-thread run only.
    let err = client.fails(
        "migrate",
        json!({ "threadId": 3, "node": "quic://127.0.0.1:9" }),
    );
    assert!(err.contains("threads: 1"), "{err}");
    // Continue runs them all to the end: each band's thread exits.
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": program }, "breakpoints": [] }),
    );
    let body = client.ok("continue", json!({ "threadId": 2 }));
    assert_eq!(body["allThreadsContinued"], true);
    let exited: BTreeSet<i64> = thread_events(&mut client, 4)
        .into_iter()
        .map(|(reason, id)| {
            assert_eq!(reason, "exited");
            id
        })
        .collect();
    assert_eq!(exited, BTreeSet::from([1, 2, 3, 4]));
    assert_eq!(client.run_to_end(), 0, "{}", client.output);
    client.disconnect();
    let banded = std::fs::read(dir.join("bands.png")).unwrap();
    let one = output_of(box_blur(&input, 1), &dir.join("one.png"));
    assert!(banded == one, "the bands' image differs from one thread's");
}

#[test]
fn pause_stops_every_band_and_restart_starts_them_again() {
    let program = data("bands.chop");
    let input = photo(&scratch("bands-pause"));
    let mut client = Client::start();
    client.launch(json!({ "program": program, "filter": "slow", "input": input, "threads": 3 }));
    assert_eq!(threads(&mut client).len(), 3);
    client.ok("configurationDone", json!({}));
    client.event("continued");
    let err = client.fails("stackTrace", json!({ "threadId": 1 }));
    assert!(err.contains("running"), "{err}");
    client.ok("pause", json!({ "threadId": 3 }));
    let stopped = client.stopped();
    assert_eq!(stopped["reason"], "pause");
    assert_eq!(stopped["allThreadsStopped"], true);
    let slow = line_of(&program, "#SLOW") as i64;
    for (id, _) in threads(&mut client) {
        let frames = frames_of(&mut client, id);
        let name = frames[0]["name"].as_str().unwrap();
        assert!(name.starts_with("slow (x "), "{name}");
        // Anywhere in `slow`, from its header (a band that has not run yet) to its end.
        let line = frames[0]["line"].as_i64().unwrap();
        assert!(
            (slow - 3..=slow + 5).contains(&line),
            "thread {id} paused at line {line}, outside `slow` (lines {}..={})",
            slow - 3,
            slow + 5
        );
    }
    // Restart: three new bands, stopped on entry.
    client.ok(
        "restart",
        json!({ "arguments": { "program": program, "filter": "slow", "input": input, "threads": 3, "stopOnEntry": true } }),
    );
    let stopped = client.stopped();
    assert_eq!(stopped["reason"], "entry");
    let listed = threads(&mut client);
    assert_eq!(listed.len(), 3);
    assert_eq!(where_is(&mut client, listed[2].0).0, 0);
    client.ok("terminate", json!({}));
    assert_eq!(client.run_to_end(), 1);
    client.disconnect();
}

#[test]
fn an_error_in_one_band_stops_all_with_its_exception() {
    let program = data("bands.chop");
    let input = photo(&scratch("bands-error"));
    let mut client = Client::start();
    client.launch(
        json!({ "program": program, "filter": "fails_on_row", "input": input, "threads": 4 }),
    );
    client.ok("setExceptionBreakpoints", json!({ "filters": ["runtime"] }));
    client.ok("configurationDone", json!({}));
    let stopped = client.stopped();
    assert_eq!(stopped["reason"], "exception");
    // Row 30 is in the third band (rows 24-31).
    assert_eq!(stopped["threadId"], 3);
    assert_eq!(stopped["allThreadsStopped"], true);
    let info = client.ok("exceptionInfo", json!({ "threadId": 3 }));
    assert!(
        info["details"]["message"]
            .as_str()
            .unwrap()
            .contains("division by zero"),
        "{info}"
    );
    let (_, y, line) = where_is(&mut client, 3);
    assert_eq!((y, line), (30, line_of(&program, "#FAIL") as i64));
    let err = client.fails("exceptionInfo", json!({ "threadId": 1 }));
    assert!(err.contains("did not stop on a runtime error"), "{err}");
    // The failing frame names its pixel, the first of row 30; another band's its own.
    assert_eq!(
        frames_of(&mut client, 3)[0]["name"],
        "fails_on_row (x 0, y 30)"
    );
    let other = frames_of(&mut client, 4)[0]["name"].clone();
    assert!(
        other.as_str().unwrap().starts_with("fails_on_row (x "),
        "{other}"
    );
    client.ok("continue", json!({ "threadId": 3 }));
    assert_eq!(client.run_to_end(), 1);
    assert!(
        client.output.contains("division by zero"),
        "{}",
        client.output
    );
    client.disconnect();
}

#[test]
fn a_pipeline_runs_its_stages_band_by_band() {
    let dir = scratch("bands-pipeline");
    let program = repo_file("filters/pipelines/comic.chop");
    let input = photo(&dir);
    let launch = |threads: usize| json!({ "program": program, "pipeline": "comic", "input": input, "threads": threads });
    let mut client = Client::start();
    let mut args = launch(2);
    args["output"] = json!(dir.join("bands.png"));
    client.launch(args);
    let first: Vec<i64> = threads(&mut client).iter().map(|(id, _)| *id).collect();
    assert_eq!(first, [1, 2]);
    client.ok(
        "setFunctionBreakpoints",
        json!({ "breakpoints": [{ "name": "saturation" }] }),
    );
    client.ok("configurationDone", json!({}));
    // The first stage's bands end, then the second stage's start.
    let events = thread_events(&mut client, 4);
    let exited: BTreeSet<i64> = events
        .iter()
        .filter(|(r, _)| r == "exited")
        .map(|(_, id)| *id)
        .collect();
    let started: Vec<i64> = events
        .iter()
        .filter(|(r, _)| r == "started")
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(exited, BTreeSet::from([1, 2]));
    assert_eq!(started, [3, 4]);
    assert!(events[..2].iter().all(|(r, _)| r == "exited"), "{events:?}");
    let stopped = client.stopped();
    assert_eq!(stopped["reason"], "function breakpoint");
    let listed = threads(&mut client);
    assert_eq!(
        listed,
        [
            (3, "saturation rows 0\u{2013}23".to_string()),
            (4, "saturation rows 24\u{2013}37".to_string())
        ]
    );
    let id = stopped["threadId"].as_i64().unwrap();
    let top = frames_of(&mut client, id)[0].clone();
    let name = top["name"].as_str().unwrap();
    // The library's filter, used by the pipeline: named as in the program.
    assert!(name.starts_with("saturation.saturation (x "), "{name}");
    assert_eq!(eval_in(&mut client, &top["id"], "amount"), "1.8");
    let err = client.fails("stackTrace", json!({ "threadId": 1 }));
    assert!(err.contains("no thread 1"), "{err}");
    // Thread 1 has ended: nothing to migrate (and the bands of this stage do not move).
    let err = client.fails(
        "migrate",
        json!({ "threadId": 1, "node": "quic://127.0.0.1:9" }),
    );
    assert!(err.contains("no thread 1"), "{err}");
    let err = client.fails(
        "migrate",
        json!({ "threadId": id, "node": "quic://127.0.0.1:9" }),
    );
    assert!(err.contains("threads: 1"), "{err}");
    client.ok("setFunctionBreakpoints", json!({ "breakpoints": [] }));
    client.ok("continue", json!({ "threadId": id }));
    assert_eq!(client.run_to_end(), 0, "{}", client.output);
    client.disconnect();
    let banded = std::fs::read(dir.join("bands.png")).unwrap();
    let one = output_of(launch(1), &dir.join("one.png"));
    assert!(banded == one, "the bands' image differs from one thread's");
}

#[test]
fn threads_is_checked() {
    let mut client = Client::start();
    client.ok(
        "initialize",
        json!({ "adapterID": "chop", "linesStartAt1": true }),
    );
    let err = client.fails(
        "launch",
        json!({ "program": repo_file("filters/box_blur.chop"), "threads": 0 }),
    );
    assert!(err.contains("threads"), "{err}");
    let err = client.fails(
        "launch",
        json!({ "program": data("loop.chop"), "threads": 2 }),
    );
    assert!(err.contains("one thread"), "{err}");
    // Too few rows for two bands: one thread, as with `threads: 1`.
    let dir = scratch("bands-small");
    let input = dir.join("small.png");
    chunkvm::photo::Rgba8 {
        width: 5,
        height: 6,
        pixels: vec![90; 5 * 6 * 4],
    }
    .save_png(&input)
    .unwrap();
    client.ok(
        "launch",
        json!({ "program": repo_file("filters/box_blur.chop"), "input": input, "threads": 4 }),
    );
    assert_eq!(threads(&mut client), [(1, "box_blur".to_string())]);
    client.disconnect();
}
