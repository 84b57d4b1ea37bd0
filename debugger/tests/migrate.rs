//! Migration from the debugger: a stopped thread moves to a real `chunkvm serve`
//! process on 127.0.0.1, steps there, answers stack, variables, evaluate and
//! setVariable from there, shows where its chunks are, and comes home; a session that
//! never moved, driven the same way, sees the same lines and values. A node that
//! cannot be reached, refuses the token or dies leaves the thread here, stopped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data, line_of, repo_file, scratch, Client, Node};
use serde_json::{json, Value};
use std::path::Path;

/// A session on `loop.chop` stopped on `#BP1`, its state in `state`.
fn stopped_on_bp1(state: &Path) -> (Client, std::path::PathBuf) {
    let program = data("loop.chop");
    let mut client = Client::start_in(Some(state));
    client.launch(json!({ "program": program }));
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": program }, "breakpoints": [{ "line": line_of(&program, "#BP1") }] }),
    );
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    (client, program)
}

/// The innermost frame's line and its locals (name, value).
fn view(client: &mut Client) -> (u64, Vec<(String, String)>) {
    let line = client.frames()[0]["line"].as_u64().unwrap();
    let locals = client
        .locals()
        .into_iter()
        .map(|(name, value, _)| (name, value))
        .collect();
    (line, locals)
}

fn step(client: &mut Client, command: &str) {
    client.ok(command, json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "step");
}

fn migrate(client: &mut Client, node: &str, token: Option<&Path>) -> Value {
    let mut args = json!({ "threadId": 1, "node": node });
    if let Some(token) = token {
        args["tokenFile"] = json!(token);
    }
    client.ok("migrate", args)
}

#[test]
fn a_thread_steps_on_a_node_and_comes_home_seeing_what_a_local_session_sees() {
    let dir = scratch("migrate-steps");
    let node = Node::start(&dir.join("node"), "pi3");
    let (mut here, _) = stopped_on_bp1(&dir.join("here"));
    let (mut there, program) = stopped_on_bp1(&dir.join("there"));
    assert_eq!(view(&mut here), view(&mut there));

    let moved = migrate(&mut there, &node.address, Some(&node.token_file));
    assert_eq!(moved["from"], "local");
    assert_eq!(moved["to"], "pi3");
    assert!(moved["chunks"].as_u64().unwrap() > 0, "{moved}");
    let event = there.event("chunkvm/migrated");
    assert_eq!(event["to"], "pi3");
    assert_eq!(event["threadId"], 1);
    assert!(there
        .output
        .contains("migrated the thread from local to pi3"));
    let threads = there.ok("threads", json!({}));
    assert_eq!(threads["threads"][0]["name"], "main @ pi3");

    // The same place, then three lines stepped there and here: the same lines and
    // values each time.
    assert_eq!(view(&mut here), view(&mut there));
    for command in ["next", "stepIn", "next"] {
        step(&mut here, command);
        step(&mut there, command);
        assert_eq!(view(&mut here), view(&mut there), "after {command}");
    }
    assert_eq!(here.eval("total + 100"), there.eval("total + 100"));

    // Its chunks: the Thread chunk written there, what it fetched, what went ahead,
    // and what it never needed still here.
    let chunks = there.ok("chunks", json!({ "threadId": 1 }));
    assert_eq!(chunks["node"], "pi3");
    let residences: std::collections::BTreeSet<&str> = chunks["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["residence"].as_str().unwrap())
        .collect();
    assert!(residences.contains("remote"), "{residences:?}");
    assert!(
        residences.contains("fetched") || residences.contains("prefetched"),
        "{residences:?}"
    );

    // setVariable there, the same here; then home and on to the end.
    let frame = there.frames()[0]["id"].clone();
    let locals_ref = there
        .scopes(&frame)
        .into_iter()
        .find(|(n, _)| n == "Locals")
        .unwrap()
        .1;
    let set = json!({ "variablesReference": locals_ref, "name": "total", "value": "1000" });
    there.ok("setVariable", set);
    let frame = here.frames()[0]["id"].clone();
    let locals_ref = here
        .scopes(&frame)
        .into_iter()
        .find(|(n, _)| n == "Locals")
        .unwrap()
        .1;
    here.ok(
        "setVariable",
        json!({ "variablesReference": locals_ref, "name": "total", "value": "1000" }),
    );
    assert_eq!(view(&mut here), view(&mut there));

    let back = migrate(&mut there, "local", None);
    assert_eq!(back["from"], "pi3");
    assert_eq!(back["to"], "local");
    let threads = there.ok("threads", json!({}));
    assert_eq!(threads["threads"][0]["name"], "main");
    step(&mut here, "next");
    step(&mut there, "next");
    assert_eq!(view(&mut here), view(&mut there));
    for client in [&mut here, &mut there] {
        client.ok(
            "setBreakpoints",
            json!({ "source": { "path": program }, "breakpoints": [] }),
        );
        client.ok("continue", json!({ "threadId": 1 }));
        assert_eq!(client.run_to_end(), 0);
    }
    let printed = |c: &Client| {
        c.output
            .lines()
            .filter(|l| !l.starts_with("migrated"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(printed(&here), printed(&there));
    here.disconnect();
    there.disconnect();
}

#[test]
fn a_filter_moved_mid_pixel_makes_the_image_a_local_session_makes() {
    let dir = scratch("migrate-filter");
    let node = Node::start(&dir.join("node"), "edge");
    let input = dir.join("small.png");
    let mut pixels = Vec::new();
    for idx in 0..(9 * 7) {
        pixels.extend_from_slice(&[(idx * 4) as u8, (idx * 7 % 256) as u8, 200, 255]);
    }
    chunkvm::photo::Rgba8 {
        width: 9,
        height: 7,
        pixels,
    }
    .save_png(&input)
    .unwrap();
    let program = repo_file("filters/box_blur.chop");
    let body_line = line_of(&program, "sum = sum + src.at(");
    let mut outputs = Vec::new();
    for (name, moves) in [("here", false), ("moved", true)] {
        let output = dir.join(format!("{name}.png"));
        let mut client = Client::start_in(Some(&dir.join(name)));
        client.launch(json!({
            "program": program,
            "filter": "box_blur",
            "input": input,
            "output": output,
            "params": { "radius": 1 },
        }));
        client.ok(
            "setBreakpoints",
            json!({ "source": { "path": program }, "breakpoints": [{ "line": body_line, "condition": "x == 4 && y == 3" }] }),
        );
        client.ok("configurationDone", json!({}));
        assert_eq!(client.stopped()["reason"], "breakpoint");
        if moves {
            migrate(&mut client, &node.address, Some(&node.token_file));
            // On the node too, the frame names its pixel.
            let name = client.frames()[0]["name"].as_str().unwrap().to_string();
            assert!(name.starts_with("box_blur (x "), "{name}");
        }
        for _ in 0..3 {
            step(&mut client, "next");
        }
        let locals = client.locals();
        let x = locals.iter().find(|(n, _, _)| n == "x").unwrap();
        assert_eq!(x.1, "4");
        if moves {
            migrate(&mut client, "local", None);
        }
        client.ok(
            "setBreakpoints",
            json!({ "source": { "path": program }, "breakpoints": [] }),
        );
        client.ok("continue", json!({ "threadId": 1 }));
        assert_eq!(client.run_to_end(), 0);
        client.disconnect();
        outputs.push(std::fs::read(&output).unwrap());
    }
    assert_eq!(
        outputs[0], outputs[1],
        "the migrated session's image differs"
    );
}

#[test]
fn a_node_that_is_not_there_refuses_or_dies_leaves_the_thread_here() {
    let dir = scratch("migrate-fail");
    let (mut client, _) = stopped_on_bp1(&dir.join("state"));
    let before = view(&mut client);
    // Nothing listens there.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let free = socket.local_addr().unwrap();
    drop(socket);
    let err = client.fails(
        "migrate",
        json!({ "threadId": 1, "node": format!("quic://{free}"), "tokenFile": dir.join("none") }),
    );
    assert!(err.contains("token") || err.contains("stays"), "{err}");
    let err = client.fails("migrate", json!({ "threadId": 1, "node": "pi3:7070" }));
    assert!(err.contains("quic://"), "{err}");
    // A wrong token.
    let mut node = Node::start(&dir.join("node"), "strict");
    let wrong = dir.join("wrong-token");
    std::fs::write(&wrong, "b".repeat(64)).unwrap();
    let err = client.fails(
        "migrate",
        json!({ "threadId": 1, "node": node.address, "tokenFile": wrong }),
    );
    assert!(err.contains("stays where it was"), "{err}");
    assert_eq!(view(&mut client), before);
    // A node that dies under the thread: it comes back as it left.
    migrate(&mut client, &node.address, Some(&node.token_file));
    node.kill();
    let moved_at = client.output.len();
    client.ok("next", json!({ "threadId": 1 }));
    client.stopped();
    assert!(
        client.output[moved_at..].contains("back here, as it was when it left for strict"),
        "{}",
        client.output
    );
    assert_eq!(
        client.ok("threads", json!({}))["threads"][0]["name"],
        "main"
    );
    // It came back as it left, and the step went on here.
    let (mut reference, _) = stopped_on_bp1(&dir.join("reference"));
    assert_eq!(view(&mut reference), before);
    step(&mut reference, "next");
    assert_eq!(view(&mut client), view(&mut reference));
    reference.disconnect();
    // A node that dies while the thread is stopped there: the next request that asks
    // the node fails, the thread is home, and the client hears it.
    let mut second = Node::start(&dir.join("node2"), "fleeting");
    migrate(&mut client, &second.address, Some(&second.token_file));
    assert_eq!(client.event("chunkvm/migrated")["to"], "fleeting");
    second.kill();
    let err = client.fails("scopes", json!({ "frameId": 1 }));
    assert!(err.contains("back here"), "{err}");
    let home = client.event("chunkvm/migrated");
    assert_eq!(home["from"], Value::Null, "{home}");
    assert_eq!(
        client.ok("threads", json!({}))["threads"][0]["name"],
        "main"
    );
    step(&mut client, "next");
    client.disconnect();
}

#[test]
fn a_running_thread_moves_at_its_next_safe_point_and_runs_on_there() {
    let dir = scratch("migrate-running");
    let node = Node::start(&dir.join("node"), "runner");
    let program = data("spin.chop");
    let mut client = Client::start_in(Some(&dir.join("state")));
    client.launch(json!({ "program": program }));
    client.ok("configurationDone", json!({}));
    client.event("continued");
    // Moved while it runs: the answer comes once it has moved, and it runs on there.
    let moved = migrate(&mut client, &node.address, Some(&node.token_file));
    assert_eq!(moved["to"], "runner");
    assert_eq!(client.event("chunkvm/migrated")["to"], "runner");
    assert_eq!(
        client.ok("threads", json!({}))["threads"][0]["name"],
        "main @ runner"
    );
    let err = client.fails("stackTrace", json!({ "threadId": 1 }));
    assert!(err.contains("running"), "{err}");
    // Paused there: its state is read from the node.
    client.ok("pause", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "pause");
    let (line, locals) = view(&mut client);
    // In the loop: its header (a safe point) or its body.
    let spin = u64::from(line_of(&program, "#SPIN"));
    assert!(line == spin || line + 1 == spin, "line {line}");
    let n: i64 = locals
        .iter()
        .find(|(name, _)| name == "n")
        .map(|(_, value)| value.parse().unwrap())
        .unwrap();
    assert!(n > 0, "{locals:?}");
    // Home while running: it moves back and runs on here.
    client.ok("continue", json!({ "threadId": 1 }));
    let back = migrate(&mut client, "local", None);
    assert_eq!(back["from"], "runner");
    assert_eq!(
        client.ok("threads", json!({}))["threads"][0]["name"],
        "main"
    );
    client.ok("pause", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "pause");
    let (_, locals) = view(&mut client);
    let later: i64 = locals
        .iter()
        .find(|(name, _)| name == "n")
        .map(|(_, value)| value.parse().unwrap())
        .unwrap();
    assert!(later > n, "{later} after {n}");
    // Ended while it runs on the node: the run ends, as here.
    migrate(&mut client, &node.address, Some(&node.token_file));
    client.ok("continue", json!({ "threadId": 1 }));
    client.ok("terminate", json!({}));
    assert_eq!(client.run_to_end(), 1);
    client.disconnect();
}

#[test]
fn instruction_breakpoints_hold_on_the_node() {
    let dir = scratch("migrate-instruction");
    let node = Node::start(&dir.join("node"), "pc");
    let program = data("loop.chop");
    let mut client = Client::start_in(Some(&dir.join("state")));
    client.launch(json!({ "program": program }));
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": program }, "breakpoints": [{ "line": line_of(&program, "#SQUARE") }] }),
    );
    client.ok("configurationDone", json!({}));
    client.stopped();
    let here = client.frames()[0]["instructionPointerReference"]
        .as_str()
        .unwrap()
        .to_string();
    migrate(&mut client, &node.address, Some(&node.token_file));
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": program }, "breakpoints": [] }),
    );
    let body = client.ok(
        "setInstructionBreakpoints",
        json!({ "breakpoints": [{ "instructionReference": here }] }),
    );
    assert_eq!(body["breakpoints"][0]["verified"], true);
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "instruction breakpoint");
    assert_eq!(
        client.frames()[0]["instructionPointerReference"],
        here.as_str()
    );
    assert_eq!(
        client.ok("threads", json!({}))["threads"][0]["name"],
        "main @ pc"
    );
    client.disconnect();
}
