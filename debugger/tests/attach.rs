//! `attach` to a thread a real `chunkvm serve` process holds: a `chunkvm run --on`
//! process migrated it there (its owner), `chunkvm threads` lists it, the adapter
//! attaches by DAP, reads its stack and variables, steps and continues it, and leaves
//! it: detached, its owner prints what a local run prints, with the same instruction
//! count; ended, its owner says a debugger ended it; continued to its end, the
//! session exits and the owner has its result; migrated home, it runs on in the
//! session and its owner says a debugger took it. A launched thread parked on the node
//! by `disconnect` is attached again later. An unknown thread, a bad token and an
//! unreachable node are refused with messages that say so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data, line_of, scratch, Client, Node, TIMEOUT};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `chunkvm` binary beside this test's.
fn chunkvm() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(format!("chunkvm{}", std::env::consts::EXE_SUFFIX)))
        .unwrap()
}

/// What `long.chop` prints.
fn expected_output() -> String {
    let work: i64 = (0..3_000_000i64).map(|k| k % 7).sum();
    let mut out = String::new();
    for round in 0..40 {
        out.push_str(&format!("round {round} {}\n", (round + 1) * work));
    }
    out.push_str(&format!("total {}\n", 40 * work));
    out
}

/// `chunkvm run --on NODE long.chop` with its state in `state`: the thread's owner.
fn owner(node: &Node, state: &Path) -> Child {
    Command::new(chunkvm())
        .env("XDG_STATE_HOME", state)
        .args(["run", "--stats", "--on", &node.address, "--token-file"])
        .arg(&node.token_file)
        .arg(data("long.chop"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the owner's end (bounded).
fn finished(mut child: Child) -> Output {
    let deadline = Instant::now() + TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the owner did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `chunkvm threads --on NODE --format json` with its state in `state`.
fn threads(node: &Node, state: &Path) -> Vec<Value> {
    let out = Command::new(chunkvm())
        .env("XDG_STATE_HOME", state)
        .args([
            "threads",
            "--format",
            "json",
            "--on",
            &node.address,
            "--token-file",
        ])
        .arg(&node.token_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until `chunkvm threads` lists a thread that `pick` accepts.
fn listed(node: &Node, state: &Path, pick: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let list = threads(node, state);
        if let Some(found) = list.iter().find(|t| pick(t)) {
            return found.clone();
        }
        // What was listed last says where a thread that never got there stands.
        assert!(
            Instant::now() < deadline,
            "no such thread listed within {TIMEOUT:?}; the node lists: {}",
            Value::Array(list)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// initialize and `attach` with `args`; the response.
fn attach(client: &mut Client, args: Value) -> Value {
    client.ok(
        "initialize",
        json!({ "adapterID": "chop", "linesStartAt1": true }),
    );
    client.request("attach", args)
}

/// A session attached to the thread the owner migrated to `node`, stopped where the
/// node stopped it (after `configurationDone`).
fn attached(dir: &Path, node: &Node, program: bool) -> (Client, Value) {
    let running = listed(node, &dir.join("dap"), |t| t["name"] == "main");
    assert_eq!(running["state"], "running");
    let mut client = Client::start_in(Some(&dir.join("dap")));
    let mut args = json!({
        "node": node.address,
        "tokenFile": node.token_file,
        "thread": running["id"],
    });
    if program {
        args["program"] = json!(data("long.chop"));
    }
    let answer = attach(&mut client, args);
    assert_eq!(answer["success"], true, "{answer}");
    client.event("initialized");
    (client, answer["body"].clone())
}

#[test]
fn an_attached_thread_steps_and_runs_on_for_its_owner_when_detached() {
    let dir = scratch("attach-detach");
    let node = Node::start(&dir.join("node"), "pi3");
    let owner = owner(&node, &dir.join("owner"));
    let program = data("long.chop");
    let (mut client, body) = attached(&dir, &node, true);
    assert_eq!(body["name"], "main");
    assert_eq!(body["node"], "pi3");
    // The program given is the thread's: the editor shows that file.
    assert_eq!(
        body["source"]["path"],
        json!(std::fs::canonicalize(&program).unwrap())
    );
    let round = line_of(&program, "#ROUND");
    client.ok(
        "setBreakpoints",
        json!({ "source": { "path": program }, "breakpoints": [{ "line": round }] }),
    );
    client.ok("configurationDone", json!({}));
    let stopped = client.stopped();
    assert_eq!(stopped["reason"], "pause");
    let listed_now = threads(&node, &dir.join("dap"));
    assert_eq!(listed_now[0]["state"], "stopped under an attached debugger");
    let names = client.ok("threads", json!({}));
    assert_eq!(names["threads"][0]["name"], "main @ pi3");
    // Its stack, from the node, with the program's lines.
    let frames = client.frames();
    assert_eq!(frames.last().unwrap()["name"], "main");
    // On to the breakpoint: its locals and an evaluation say what the program did.
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    assert_eq!(client.frames()[0]["line"], round);
    let locals = client.locals();
    let value = |name: &str| {
        locals
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.parse::<i64>().unwrap())
            .unwrap()
    };
    let work: i64 = (0..3_000_000i64).map(|k| k % 7).sum();
    assert_eq!(value("total"), (value("round") + 1) * work);
    assert_eq!(
        client.eval("total + 1"),
        ((value("round") + 1) * work + 1).to_string()
    );
    client.ok("next", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "step");
    // Detached (the default for an attach): it runs on for its owner.
    client.ok("disconnect", json!({}));
    assert!(
        client.output.contains("detached from thread"),
        "{}",
        client.output
    );
    let out = finished(owner);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected_output());
    // The same number of instructions as a local run.
    let local = Command::new(chunkvm())
        .args(["run", "--stats"])
        .arg(&program)
        .output()
        .unwrap();
    let local = String::from_utf8_lossy(&local.stderr).into_owned();
    let there = String::from_utf8_lossy(&out.stderr).into_owned();
    let local_count = local
        .lines()
        .find(|l| l.contains(" instructions, "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no count in {local}"));
    let there_count = there
        .split("; ")
        .find_map(|part| part.strip_suffix(" instructions there"))
        .unwrap_or_else(|| panic!("no count in {there}"));
    assert_eq!(there_count, local_count);
}

#[test]
fn a_thread_ended_by_the_debugger_fails_for_its_owner_with_why() {
    let dir = scratch("attach-terminate");
    let node = Node::start(&dir.join("node"), "pi3");
    let owner = owner(&node, &dir.join("owner"));
    // No `program`: the node has no source for a migrated thread.
    let running = listed(&node, &dir.join("dap"), |t| t["name"] == "main");
    let mut client = Client::start_in(Some(&dir.join("dap")));
    let refused = attach(
        &mut client,
        json!({ "node": node.address, "tokenFile": node.token_file, "thread": running["id"] }),
    );
    assert_eq!(refused["success"], false);
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("has no source"), "{message}");
    // With it, the session ends the thread.
    let (mut client, _) = attached(&dir, &node, true);
    client.ok("configurationDone", json!({}));
    client.stopped();
    client.ok("disconnect", json!({ "terminateDebuggee": true }));
    assert!(client.output.contains("ended thread"), "{}", client.output);
    let out = finished(owner);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ended by a debugger at "), "{stderr}");
}

#[test]
fn an_attached_thread_continued_to_its_end_exits_and_its_owner_has_the_result() {
    let dir = scratch("attach-end");
    let node = Node::start(&dir.join("node"), "pi3");
    let owner = owner(&node, &dir.join("owner"));
    let (mut client, _) = attached(&dir, &node, true);
    client.ok("configurationDone", json!({}));
    client.stopped();
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    // The lines it printed while attached came to the session too.
    assert!(client.output.contains("total "), "{}", client.output);
    client.disconnect();
    let out = finished(owner);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected_output());
}

#[test]
fn an_attached_thread_migrated_home_runs_on_here() {
    let dir = scratch("attach-home");
    let node = Node::start(&dir.join("node"), "pi3");
    let owner = owner(&node, &dir.join("owner"));
    let (mut client, _) = attached(&dir, &node, true);
    client.ok("configurationDone", json!({}));
    client.stopped();
    let before = client.frames()[0]["line"].clone();
    let moved = client.ok("migrate", json!({ "threadId": 1, "node": "local" }));
    assert_eq!(moved["from"], "pi3");
    assert_eq!(moved["to"], "local");
    assert!(moved["chunks"].as_u64().unwrap() > 0, "{moved}");
    let names = client.ok("threads", json!({}));
    assert_eq!(names["threads"][0]["name"], "main");
    assert_eq!(client.frames()[0]["line"], before);
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    // What the owner printed before, then what the session printed after: one run's.
    let out = finished(owner);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("taken by a debugger at "), "{stderr}");
    let printed: String = client
        .output
        .lines()
        .filter(|l| l.starts_with("round ") || l.starts_with("total "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        expected_output().ends_with(&printed) && !printed.is_empty(),
        "{printed}"
    );
    client.disconnect();
}

#[test]
fn a_node_that_dies_under_an_attached_session_ends_the_session_not_the_owner_run() {
    let dir = scratch("attach-dies");
    let mut node = Node::start(&dir.join("node"), "pi3");
    let owner = owner(&node, &dir.join("owner"));
    let (mut client, _) = attached(&dir, &node, true);
    client.ok("configurationDone", json!({}));
    client.stopped();
    node.kill();
    client.request("next", json!({ "threadId": 1 }));
    // The session has no thread any more: it ends, and says why.
    assert_eq!(client.run_to_end(), 1);
    assert!(
        client.output.contains("no longer in this session"),
        "{}",
        client.output
    );
    client.disconnect();
    // Its owner kept its copy: it runs it here, to the same end.
    let out = finished(owner);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected_output());
}

#[test]
fn a_parked_thread_is_listed_and_attached_again() {
    let dir = scratch("attach-park");
    let node = Node::start(&dir.join("node"), "pi3");
    let program = data("long.chop");
    let mut first = Client::start_in(Some(&dir.join("dap")));
    first.launch(json!({
        "program": program,
        "node": node.address,
        "tokenFile": node.token_file,
        "stopOnEntry": true,
    }));
    first.ok("configurationDone", json!({}));
    assert_eq!(first.stopped()["reason"], "entry");
    first.ok("disconnect", json!({ "terminateDebuggee": false }));
    assert!(
        first.output.contains("parked the thread on pi3 as thread"),
        "{}",
        first.output
    );
    let parked = listed(&node, &dir.join("dap"), |t| t["state"] == "parked");
    assert_eq!(parked["name"], "main");
    // Attached again without `program`: the node has the source.
    let mut second = Client::start_in(Some(&dir.join("dap")));
    let answer = attach(
        &mut second,
        json!({ "node": node.address, "tokenFile": node.token_file, "thread": parked["id"] }),
    );
    assert_eq!(answer["success"], true, "{answer}");
    second.event("initialized");
    second.ok("configurationDone", json!({}));
    second.stopped();
    let source = second.frames()[0]["source"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        std::fs::read_to_string(&source).unwrap(),
        std::fs::read_to_string(&program).unwrap()
    );
    // The adapter wrote the node's source for this session only: gone when it ends.
    second.disconnect();
    let folder = Path::new(&source).parent().unwrap();
    assert!(!folder.exists(), "{} left behind", folder.display());
    // It ends there; its result and output stay listed.
    let ended = listed(&node, &dir.join("dap"), |t| {
        t["id"] == parked["id"] && t["state"] == "ended"
    });
    assert_eq!(ended["result"], "finished: ()");
    let output: Vec<String> = ended["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{}\n", l.as_str().unwrap()))
        .collect();
    assert_eq!(output.concat(), expected_output());
}

#[test]
fn an_unknown_thread_a_bad_token_and_no_node_are_refused() {
    let dir = scratch("attach-refused");
    let node = Node::start(&dir.join("node"), "pi3");
    let mut client = Client::start_in(Some(&dir.join("dap")));
    let unknown = attach(
        &mut client,
        json!({ "node": node.address, "tokenFile": node.token_file, "thread": 999999 }),
    );
    assert_eq!(unknown["success"], false);
    let message = unknown["message"].as_str().unwrap();
    assert!(
        message.contains("the node holds no thread 999999; its threads: none"),
        "{message}"
    );
    // The session goes on: a wrong token, then no node at all.
    let token = dir.join("wrong-token");
    std::fs::write(&token, "0".repeat(64)).unwrap();
    let bad = client.request(
        "attach",
        json!({ "node": node.address, "tokenFile": token, "thread": 1 }),
    );
    assert_eq!(bad["success"], false);
    let message = bad["message"].as_str().unwrap().to_lowercase();
    assert!(message.contains("token"), "{message}");
    let gone = client.request(
        "attach",
        json!({ "node": "quic://127.0.0.1:1", "tokenFile": node.token_file, "thread": 1 }),
    );
    assert_eq!(gone["success"], false);
    client.disconnect();
}
