//! Programs of several files (`use`) debugged by the real adapter: a launch with the
//! `lib` search path, breakpoints in a used file, frames at each file's own path and
//! line, stepping into a used function and out again, function breakpoints by qualified
//! and unqualified name, params by qualified name, a runtime error in a used file, a
//! pipeline of the library's filters, and a bad `use` reported at its file and line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data, line_of, repo_file, scratch, Client};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn main_file() -> PathBuf {
    data("mods/main.chop")
}

fn tint_file() -> PathBuf {
    data("mods/lib/tint.chop")
}

fn lib() -> PathBuf {
    data("mods/lib")
}

fn set_breakpoints(client: &mut Client, file: &Path, lines: &[u32]) -> Vec<Value> {
    let bps: Vec<Value> = lines.iter().map(|line| json!({ "line": line })).collect();
    let body = client.ok(
        "setBreakpoints",
        json!({ "source": { "path": file }, "breakpoints": bps }),
    );
    body["breakpoints"].as_array().unwrap().clone()
}

/// The path a frame's source names.
fn path_of(frame: &Value) -> String {
    frame["source"]["path"].as_str().unwrap().to_string()
}

/// The Params scope of the innermost frame with the used files' groups expanded: the
/// qualified name (`tint.warmth`) to shown value.
fn params(client: &mut Client) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (name, value, handle) in client.scope_rows("Params") {
        if value.contains(&format!(" of {name}")) && handle.as_i64().unwrap() > 0 {
            for (inner, value, _) in client.rows(&handle) {
                all.push((format!("{name}.{inner}"), value));
            }
        } else {
            all.push((name, value));
        }
    }
    all
}

#[test]
fn breakpoints_frames_and_steps_cross_files() {
    let mut client = Client::start();
    client.launch(json!({
        "program": main_file(),
        "lib": [lib()],
        "params": { "tint.warmth": 0.5, "count": 3 },
    }));
    let warm = line_of(&tint_file(), "#WARM");
    let after = line_of(&main_file(), "#AFTER-CALL");
    let call = line_of(&main_file(), "#CALL");
    // Breakpoints in the used file and in the main file: each file's own lines.
    let set = set_breakpoints(&mut client, &tint_file(), &[warm]);
    assert_eq!(set[0]["verified"], true, "{set:?}");
    assert_eq!(set[0]["line"], warm);
    let set_main = set_breakpoints(&mut client, &main_file(), &[after]);
    assert_eq!(set_main[0]["verified"], true, "{set_main:?}");
    assert_eq!(set_main[0]["line"], after);
    // A file that is not the program's is refused, saying which are.
    let other = set_breakpoints(&mut client, &data("loop.chop"), &[3]);
    assert_eq!(other[0]["verified"], false);
    assert!(
        other[0]["message"].as_str().unwrap().contains("tint.chop"),
        "{other:?}"
    );
    client.ok("configurationDone", json!({}));

    assert_eq!(client.stopped()["reason"], "breakpoint");
    let frames = client.frames();
    assert_eq!(frames[0]["name"], "tint.warm");
    assert!(
        path_of(&frames[0]).ends_with("mods/lib/tint.chop"),
        "{frames:?}"
    );
    assert_eq!(frames[0]["line"], warm);
    assert_eq!(frames[1]["name"], "main");
    assert!(
        path_of(&frames[1]).ends_with("mods/main.chop"),
        "{frames:?}"
    );
    assert_eq!(frames[1]["line"], call);
    // The used file's params as a group of their own, expandable.
    let top = client.scope_rows("Params");
    let names: Vec<&str> = top.iter().map(|(n, _, _)| n.as_str()).collect();
    assert!(
        names.contains(&"count") && names.contains(&"tint"),
        "{top:?}"
    );
    assert!(!names.iter().any(|n| n.contains('.')), "{top:?}");
    let group = top.iter().find(|(n, _, _)| n == "tint").unwrap();
    assert!(group.1.ends_with("of tint"), "{top:?}");
    // Set through the group by the name its file writes; read back qualified.
    let set = client.ok(
        "setVariable",
        json!({ "variablesReference": group.2, "name": "warmth", "value": "0.25" }),
    );
    assert_eq!(set["value"], "0.25", "{set:?}");
    let shown = params(&mut client);
    assert!(
        shown.contains(&("tint.warmth".to_string(), "0.25".to_string())),
        "{shown:?}"
    );
    client.ok(
        "setVariable",
        json!({ "variablesReference": group.2, "name": "warmth", "value": "0.5" }),
    );
    // Params by their qualified names, the used file's as launched.
    let shown = params(&mut client);
    assert!(
        shown.contains(&("tint.warmth".to_string(), "0.5".to_string())),
        "{shown:?}"
    );
    assert!(
        shown.contains(&("count".to_string(), "3".to_string())),
        "{shown:?}"
    );
    // Evaluated in the used file's frame, its param by the name it writes; in the main
    // file's frame, by its qualified name.
    assert_eq!(client.eval("warmth + v"), "0.5");
    let main_frame = frames[1]["id"].clone();
    let body = client.ok(
        "evaluate",
        json!({ "expression": "tint.warmth * 2.0", "frameId": main_frame, "context": "watch" }),
    );
    assert_eq!(body["result"], "1.0");
    // Every file of the program is a loaded source.
    let sources = client.ok("loadedSources", json!({}));
    let paths: Vec<&str> = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].ends_with("main.chop") && paths[1].ends_with("tint.chop"));

    // The main file's breakpoint stays when the used file's are cleared.
    assert!(set_breakpoints(&mut client, &tint_file(), &[]).is_empty());
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    let frames = client.frames();
    assert_eq!(frames[0]["line"], after);
    assert!(path_of(&frames[0]).ends_with("main.chop"));

    // Step to the next call, into the used file, and out again.
    set_breakpoints(&mut client, &main_file(), &[]);
    let mut guard = 0;
    while client.frames()[0]["line"] != call {
        client.ok("next", json!({ "threadId": 1 }));
        assert_eq!(client.stopped()["reason"], "step");
        guard += 1;
        assert!(guard < 20, "never came back to the call");
    }
    client.ok("stepIn", json!({ "threadId": 1 }));
    client.stopped();
    let frames = client.frames();
    assert_eq!(frames[0]["name"], "tint.warm");
    assert!(path_of(&frames[0]).ends_with("tint.chop"), "{frames:?}");
    assert_eq!(frames[0]["line"], warm);
    client.ok("next", json!({ "threadId": 1 }));
    client.stopped();
    let frames = client.frames();
    assert_eq!(frames[0]["line"], line_of(&tint_file(), "#WARM-RETURN"));
    client.ok("stepOut", json!({ "threadId": 1 }));
    client.stopped();
    let frames = client.frames();
    assert_eq!(frames[0]["name"], "main");
    assert!(path_of(&frames[0]).ends_with("main.chop"), "{frames:?}");
    assert_eq!(frames[0]["line"], call);

    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    // 0.5 + 1.5 + 2.5: the used file's param as launched.
    assert!(client.output.contains("4.5"), "{}", client.output);
    client.disconnect();
}

#[test]
fn function_breakpoints_by_qualified_and_unqualified_name() {
    for name in ["tint.warm", "warm"] {
        let mut client = Client::start();
        client.launch(json!({ "program": main_file(), "lib": [lib()] }));
        let body = client.ok(
            "setFunctionBreakpoints",
            json!({ "breakpoints": [{ "name": name }, { "name": "nothing" }] }),
        );
        let bps = body["breakpoints"].as_array().unwrap();
        assert_eq!(bps[0]["verified"], true, "{name}: {bps:?}");
        assert_eq!(bps[0]["line"], line_of(&tint_file(), "#WARM"));
        assert!(bps[0]["source"]["path"]
            .as_str()
            .unwrap()
            .ends_with("tint.chop"));
        assert_eq!(bps[1]["verified"], false);
        assert!(
            bps[1]["message"].as_str().unwrap().contains("tint.warm"),
            "{bps:?}"
        );
        client.ok("configurationDone", json!({}));
        assert_eq!(client.stopped()["reason"], "function breakpoint");
        let frames = client.frames();
        assert_eq!(frames[0]["name"], "tint.warm");
        assert!(path_of(&frames[0]).ends_with("tint.chop"));
        client.ok("terminate", json!({}));
        client.run_to_end();
        client.disconnect();
    }
}

#[test]
fn a_runtime_error_in_a_used_file_is_at_its_own_place() {
    let mut client = Client::start();
    client.launch(json!({ "program": main_file(), "lib": [lib()], "function": "fails" }));
    client.ok("setExceptionBreakpoints", json!({ "filters": ["runtime"] }));
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "exception");
    let ratio = line_of(&tint_file(), "#RATIO");
    let info = client.ok("exceptionInfo", json!({ "threadId": 1 }));
    let description = info["description"].as_str().unwrap();
    assert!(
        description.contains(&format!("tint.chop line {ratio}")),
        "{description}"
    );
    let trace = info["details"]["stackTrace"].as_str().unwrap();
    assert!(
        trace.contains(&format!("tint.chop:{ratio}:"))
            && trace.contains(&format!(
                "main.chop:{}:",
                line_of(&main_file(), "#CALL-RATIO")
            )),
        "{trace}"
    );
    let frames = client.frames();
    assert!(path_of(&frames[0]).ends_with("tint.chop"));
    assert_eq!(frames[0]["line"], ratio);
    client.ok("terminate", json!({}));
    client.run_to_end();
    client.disconnect();
}

#[test]
fn a_bad_use_and_an_error_in_a_used_file_are_reported_at_their_files() {
    let bad = data("mods/bad_use.chop");
    let mut client = Client::start();
    client.ok("initialize", json!({ "adapterID": "chop" }));
    let message = client.fails("launch", json!({ "program": bad }));
    let line = line_of(&bad, "#BAD-USE");
    assert!(
        message.contains(&format!("bad_use.chop:{line}:5")) && message.contains("nowhere.chop"),
        "{message}"
    );
    client.event("terminated");
    assert!(client.output.contains("E0023"), "{}", client.output);
    client.disconnect();

    let broken = data("mods/lib/broken.chop");
    let mut client = Client::start();
    client.ok("initialize", json!({ "adapterID": "chop" }));
    let message = client.fails(
        "launch",
        json!({ "program": data("mods/uses_broken.chop") }),
    );
    let line = line_of(&broken, "#TYPE-ERROR");
    assert!(
        message.contains(&format!("broken.chop:{line}:")),
        "{message}"
    );
    client.event("terminated");
    assert!(
        client.output.contains(&format!("broken.chop:{line}:")) && client.output.contains("E0004"),
        "{}",
        client.output
    );
    client.disconnect();
}

#[test]
fn a_pipeline_of_library_filters_stops_in_the_library() {
    let dir = scratch("modules-pipeline");
    let output = dir.join("aged.png");
    let vignette = repo_file("filters/vignette.chop");
    let at = line_of(&vignette, "let f = 1.0 - strength");
    let mut client = Client::start();
    client.launch(json!({
        "program": data("mods/photo.chop"),
        "pipeline": "aged",
        "level": 1,
        "output": output,
        "params": { "vignette.strength": 0.9, "radius": 0.2 },
    }));
    let set = set_breakpoints(&mut client, &vignette, &[at]);
    assert_eq!(set[0]["verified"], true, "{set:?}");
    assert_eq!(set[0]["line"], at);
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    let frames = client.frames();
    let name = frames[0]["name"].as_str().unwrap();
    assert!(name.starts_with("vignette.vignette (x "), "{frames:?}");
    assert!(path_of(&frames[0]).ends_with("filters/vignette.chop"));
    assert_eq!(frames[0]["line"], at);
    let shown = params(&mut client);
    assert!(
        shown.contains(&("vignette.strength".to_string(), "0.9".to_string()))
            && shown.contains(&("vignette.radius".to_string(), "0.2".to_string())),
        "{shown:?}"
    );
    set_breakpoints(&mut client, &vignette, &[]);
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    assert!(output.exists());
    client.disconnect();
}

#[test]
fn a_program_of_several_files_steps_into_a_used_file_on_a_node() {
    let dir = scratch("modules-migrate");
    let node = common::Node::start(&dir.join("node"), "pi3");
    let mut client = Client::start_in(Some(&dir.join("here")));
    client.launch(json!({ "program": main_file(), "lib": [lib()] }));
    let call = line_of(&main_file(), "#CALL");
    let warm = line_of(&tint_file(), "#WARM");
    set_breakpoints(&mut client, &main_file(), &[call]);
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");

    let moved = client.ok(
        "migrate",
        json!({ "threadId": 1, "node": node.address, "tokenFile": node.token_file }),
    );
    assert_eq!(moved["to"], "pi3");
    // Stepping on the node goes into the used file and out again, at its own lines.
    client.ok("stepIn", json!({ "threadId": 1 }));
    client.stopped();
    let frames = client.frames();
    assert_eq!(frames[0]["name"], "tint.warm");
    assert!(path_of(&frames[0]).ends_with("tint.chop"), "{frames:?}");
    assert_eq!(frames[0]["line"], warm);
    client.ok("next", json!({ "threadId": 1 }));
    client.stopped();
    assert_eq!(
        client.frames()[0]["line"],
        line_of(&tint_file(), "#WARM-RETURN")
    );
    client.ok("stepOut", json!({ "threadId": 1 }));
    client.stopped();
    let frames = client.frames();
    assert!(path_of(&frames[0]).ends_with("main.chop"), "{frames:?}");
    assert_eq!(frames[0]["line"], call);
    // A breakpoint in the used file, set while the thread is on the node, stops it there.
    set_breakpoints(&mut client, &main_file(), &[]);
    set_breakpoints(&mut client, &tint_file(), &[warm]);
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    let frames = client.frames();
    assert!(path_of(&frames[0]).ends_with("tint.chop"), "{frames:?}");
    assert_eq!(frames[0]["line"], warm);
    let threads = client.ok("threads", json!({}));
    assert_eq!(threads["threads"][0]["name"], "main @ pi3");

    // Home again, and on to the end with the same result as a local run.
    client.ok("migrate", json!({ "threadId": 1, "node": "local" }));
    set_breakpoints(&mut client, &tint_file(), &[]);
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    // 0.25 + 1.25 + 2.25 with the used file's default warmth.
    assert!(client.output.contains("3.75"), "{}", client.output);
    client.disconnect();
}

#[test]
fn a_parked_program_of_several_files_is_attached_again_with_its_files() {
    let dir = scratch("modules-attach");
    let node = common::Node::start(&dir.join("node"), "pi3");
    let mut first = Client::start_in(Some(&dir.join("dap")));
    first.launch(json!({
        "program": main_file(),
        "lib": [lib()],
        "function": "forever",
        "node": node.address,
        "tokenFile": node.token_file,
        "stopOnEntry": true,
    }));
    first.ok("configurationDone", json!({}));
    assert_eq!(first.stopped()["reason"], "entry");
    first.ok("disconnect", json!({ "terminateDebuggee": false }));
    let said = "parked the thread on pi3 as thread ";
    let at = first.output.find(said).expect("parked") + said.len();
    let thread: u64 = first.output[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();

    let mut second = Client::start_in(Some(&dir.join("dap")));
    second.ok(
        "initialize",
        json!({ "adapterID": "chop", "linesStartAt1": true }),
    );
    second.ok(
        "attach",
        json!({
            "node": node.address,
            "tokenFile": node.token_file,
            "thread": thread,
            "program": main_file(),
            "lib": [lib()],
        }),
    );
    second.event("initialized");
    let warm = line_of(&tint_file(), "#WARM");
    let set = set_breakpoints(&mut second, &tint_file(), &[warm]);
    assert_eq!(set[0]["verified"], true, "{set:?}");
    second.ok("configurationDone", json!({}));
    second.stopped();
    second.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(second.stopped()["reason"], "breakpoint");
    let frames = second.frames();
    assert_eq!(frames[0]["name"], "tint.warm");
    assert!(path_of(&frames[0]).ends_with("tint.chop"), "{frames:?}");
    assert_eq!(frames[0]["line"], warm);
    assert!(path_of(&frames[1]).ends_with("main.chop"), "{frames:?}");
    assert_eq!(frames[1]["line"], line_of(&main_file(), "#FOREVER"));
    second.ok("disconnect", json!({}));
}
