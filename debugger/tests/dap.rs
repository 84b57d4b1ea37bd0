//! The adapter driven by a scripted client over its standard streams (and once over
//! TCP): launch, breakpoints with conditions, hit counts and logpoints, stepping,
//! pausing, the stack, scopes, variables, evaluation, exceptions, disassembly, the
//! `chunks` request, a filter debugged pixel by pixel, and bad input of every kind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{data, line_of, repo_file, scratch, Client};
use serde_json::{json, Value};

fn launch_loop(client: &mut Client, extra: Value) -> std::path::PathBuf {
    let program = data("loop.chop");
    let mut args = json!({ "program": program });
    if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
        args.extend(extra.clone());
    }
    client.launch(args);
    program
}

fn set_breakpoints(client: &mut Client, program: &std::path::Path, bps: Value) -> Vec<Value> {
    let body = client.ok(
        "setBreakpoints",
        json!({ "source": { "path": program }, "breakpoints": bps }),
    );
    body["breakpoints"].as_array().unwrap().clone()
}

fn value_of<'a>(locals: &'a [(String, String, Value)], name: &str) -> &'a str {
    locals
        .iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, v, _)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {locals:?}"))
}

#[test]
fn initialize_answers_the_capabilities_and_bad_requests_get_errors() {
    let mut client = Client::start();
    let caps = client.ok("initialize", json!({ "adapterID": "chop" }));
    assert_eq!(caps["supportsConfigurationDoneRequest"], true);
    assert_eq!(caps["supportsConditionalBreakpoints"], true);
    assert_eq!(caps["supportsLogPoints"], true);
    assert_eq!(caps["supportsDisassembleRequest"], true);
    assert_eq!(caps["supportsSetVariable"], true);
    assert_eq!(caps["exceptionBreakpointFilters"][0]["filter"], "runtime");

    let message = client.fails("frobnicate", json!({}));
    assert!(message.contains("frobnicate"), "{message}");
    let message = client.fails("launch", json!({ "program": 42 }));
    assert!(message.contains("launch"), "{message}");
    let message = client.fails("stackTrace", json!({ "threadId": 1 }));
    assert!(message.contains("no program"), "{message}");
    // A well-framed body that is not a request: an error response, and the session goes on.
    client.send_raw(b"Content-Length: 9\r\n\r\n{\"seq\":7}");
    let response = client.response(7);
    assert_eq!(response["success"], false);
    assert_eq!(client.ok("threads", json!({}))["threads"], json!([]));
    client.disconnect();
}

#[test]
fn malformed_framing_ends_the_adapter_cleanly() {
    let mut client = Client::start();
    client.ok("initialize", json!({}));
    client.send_raw(b"this is no header\r\n\r\n");
    client.expect_end();
}

#[test]
fn a_conditional_breakpoint_the_stack_scopes_variables_and_evaluate() {
    let mut client = Client::start();
    let program = launch_loop(&mut client, json!({}));
    let bp1 = line_of(&program, "#BP1");
    let set = set_breakpoints(
        &mut client,
        &program,
        json!([{ "line": bp1, "condition": "i == 3" }]),
    );
    assert_eq!(set[0]["verified"], true);
    assert_eq!(set[0]["line"], bp1);
    client.ok("setExceptionBreakpoints", json!({ "filters": [] }));
    client.ok("configurationDone", json!({}));

    let stopped = client.stopped();
    assert_eq!(stopped["reason"], "breakpoint");
    assert_eq!(stopped["hitBreakpointIds"][0], set[0]["id"]);
    let threads = client.ok("threads", json!({}));
    assert_eq!(threads["threads"][0]["id"], 1);

    let frames = client.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["name"], "main");
    assert_eq!(frames[0]["line"], bp1);
    assert!(frames[0]["column"].as_u64().unwrap() > 1);
    let path = frames[0]["source"]["path"].as_str().unwrap();
    assert!(path.ends_with("loop.chop"), "{path}");

    let scopes = client.scopes(&frames[0]["id"]);
    let names: Vec<&str> = scopes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Locals", "Params"]);
    // Handles stay the same while the thread is stopped.
    assert_eq!(client.scopes(&frames[0]["id"]), scopes);

    let locals = client.locals();
    assert_eq!(value_of(&locals, "total"), "5");
    assert_eq!(value_of(&locals, "i"), "3");
    assert_eq!(value_of(&locals, "scale"), "1.5");
    assert_eq!(value_of(&locals, "tint"), "rgba(1.0, 0.5, 0.0, 1.0)");
    assert_eq!(value_of(&locals, "items"), "[10, 20, 30]");
    assert!(value_of(&locals, "twice").contains("fn"), "{locals:?}");
    let tint = locals
        .iter()
        .find(|(n, _, _)| n == "tint")
        .unwrap()
        .2
        .clone();
    assert!(tint.as_i64().unwrap() > 0);
    let channels = client.variables(&tint);
    let shown: Vec<(String, String)> = channels
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().into(),
                v["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [("r", "1.0"), ("g", "0.5"), ("b", "0.0"), ("a", "1.0")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let items = locals
        .iter()
        .find(|(n, _, _)| n == "items")
        .unwrap()
        .2
        .clone();
    let elements = client.variables(&items);
    assert_eq!(elements[1]["name"], "[1]");
    assert_eq!(elements[1]["value"], "20");
    // The same container asked again keeps its handle.
    let again = client.locals();
    assert_eq!(again, locals);

    assert_eq!(client.eval("total + i * 10"), "35");
    assert_eq!(client.eval("tint.g"), "0.5");
    assert_eq!(client.eval("items[1] * 2"), "40");
    assert_eq!(client.eval("i > 2 && total == 5"), "true");
    assert_eq!(client.eval("scale * 2.0"), "3.0");
    let message = client.fails(
        "evaluate",
        json!({ "expression": "nothing + 1", "frameId": 1 }),
    );
    assert!(message.contains("nothing"), "{message}");
    let message = client.fails("evaluate", json!({ "expression": "i +", "frameId": 1 }));
    assert!(!message.is_empty());
    let message = client.fails("scopes", json!({ "frameId": 9 }));
    assert!(message.contains("no frame 9"), "{message}");

    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    assert!(client.output.contains("30 1.5 20 0.5"), "{}", client.output);
    client.disconnect();
}

#[test]
fn stepping_in_over_out_and_by_instruction_then_disassemble_and_chunks() {
    let mut client = Client::start();
    let program = launch_loop(&mut client, json!({}));
    let bp1 = line_of(&program, "#BP1");
    set_breakpoints(
        &mut client,
        &program,
        json!([{ "line": bp1, "hitCondition": "2" }]),
    );
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    assert_eq!(client.eval("i"), "1", "the second hit");
    set_breakpoints(&mut client, &program, json!([]));

    client.ok("stepIn", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "step");
    let frames = client.frames();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0]["name"], "square");
    assert_eq!(frames[0]["line"], line_of(&program, "#SQUARE"));
    assert_eq!(frames[1]["name"], "main");
    assert_eq!(frames[1]["line"], bp1);
    assert_eq!(value_of(&client.locals(), "v"), "1");

    // The chunks of the stopped thread: two frames, the thread's root, all here.
    let chunks = client.ok("chunks", json!({ "threadId": 1 }));
    let list = chunks["chunks"].as_array().unwrap();
    let kind_count = |kind: &str| list.iter().filter(|c| c["kind"] == kind).count();
    assert_eq!(kind_count("Frame"), 2, "{chunks}");
    assert_eq!(kind_count("Thread"), 1);
    assert!(kind_count("Block") >= 1);
    assert!(list.iter().all(|c| c["residence"] == "here"));
    assert!(
        list.iter().any(|c| c["current"] == true),
        "the current block is marked"
    );
    let root = list.iter().find(|c| c["id"] == chunks["root"]).unwrap();
    assert_eq!(root["kind"], "Thread");
    assert!(!root["links"].as_array().unwrap().is_empty());

    // Disassembly around the current instruction.
    let reference = frames[0]["instructionPointerReference"]
        .as_str()
        .unwrap()
        .to_string();
    let body = client.ok(
        "disassemble",
        json!({ "memoryReference": reference, "instructionOffset": 0, "instructionCount": 3 }),
    );
    let instructions = body["instructions"].as_array().unwrap();
    assert_eq!(instructions.len(), 3);
    assert_eq!(instructions[0]["address"], reference);
    assert_eq!(instructions[0]["line"], line_of(&program, "#SQUARE"));
    assert!(!instructions[0]["instruction"].as_str().unwrap().is_empty());
    let before = client.ok(
        "disassemble",
        json!({ "memoryReference": reference, "instructionOffset": -100000, "instructionCount": 1 }),
    );
    assert_eq!(before["instructions"][0]["presentationHint"], "invalid");
    let message = client.fails(
        "disassemble",
        json!({ "memoryReference": "somewhere", "instructionCount": 1 }),
    );
    assert!(message.contains("somewhere"), "{message}");

    // One instruction on.
    let pc = |r: &str| r.rsplit(':').next().unwrap().parse::<u64>().unwrap();
    client.ok(
        "next",
        json!({ "threadId": 1, "granularity": "instruction" }),
    );
    assert_eq!(client.stopped()["reason"], "step");
    let moved = client.frames()[0]["instructionPointerReference"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(pc(&moved), pc(&reference) + 1);

    // `v * v` may be one instruction: the next line may have come already.
    if client.frames()[0]["line"] == line_of(&program, "#SQUARE") {
        client.ok("next", json!({ "threadId": 1 }));
        client.stopped();
    }
    assert_eq!(
        client.frames()[0]["line"],
        line_of(&program, "#SQUARE-RETURN")
    );
    assert_eq!(value_of(&client.locals(), "result"), "1");

    client.ok("stepOut", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "step");
    let frames = client.frames();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["line"], bp1);

    client.ok("next", json!({ "threadId": 1 }));
    client.stopped();
    assert_eq!(client.frames()[0]["line"], line_of(&program, "#AFTER"));

    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    client.disconnect();
}

#[test]
fn logpoints_log_and_function_breakpoints_stop() {
    let mut client = Client::start();
    let program = launch_loop(&mut client, json!({ "stopOnEntry": true }));
    let after = line_of(&program, "#AFTER");
    set_breakpoints(
        &mut client,
        &program,
        json!([{ "line": after, "logMessage": "total={total} next={total + i}" }]),
    );
    let fbs = client.ok(
        "setFunctionBreakpoints",
        json!({ "breakpoints": [{ "name": "square", "condition": "v == 4" }, { "name": "nope" }] }),
    );
    assert_eq!(fbs["breakpoints"][0]["verified"], true);
    assert_eq!(fbs["breakpoints"][1]["verified"], false);
    assert!(fbs["breakpoints"][1]["message"]
        .as_str()
        .unwrap()
        .contains("nope"));
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "entry");
    assert_eq!(client.frames()[0]["line"], line_of(&program, "#FIRST"));
    let sources = client.ok("loadedSources", json!({}));
    assert!(sources["sources"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("loop.chop"));

    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "function breakpoint");
    let frames = client.frames();
    assert_eq!(frames[0]["name"], "square");
    assert_eq!(client.eval("v"), "4");
    for line in [
        "total=0 next=0",
        "total=1 next=2",
        "total=5 next=7",
        "total=14 next=17",
    ] {
        assert!(
            client.output.contains(line),
            "no {line:?} in {}",
            client.output
        );
    }
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    assert!(
        client.output.contains("total=30 next=34"),
        "{}",
        client.output
    );
    client.disconnect();
}

#[test]
fn pause_stops_a_running_thread_and_breakpoints_change_while_it_runs() {
    let mut client = Client::start();
    let program = data("spin.chop");
    client.launch(json!({ "program": program }));
    client.ok("configurationDone", json!({}));
    // While it runs: a breakpoint set now stops it on its line.
    let spin = line_of(&program, "#SPIN");
    let message = client.fails("stackTrace", json!({ "threadId": 1 }));
    assert!(message.contains("running"), "{message}");
    set_breakpoints(&mut client, &program, json!([{ "line": spin }]));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    assert_eq!(client.frames()[0]["line"], spin);
    set_breakpoints(&mut client, &program, json!([]));

    client.ok("continue", json!({ "threadId": 1 }));
    client.ok("pause", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "pause");
    assert_eq!(client.eval("n > 0"), "true");
    client.ok("terminate", json!({}));
    client.run_to_end();
    client.disconnect();
}

#[test]
fn runtime_errors_stop_with_the_exception_and_its_stack() {
    let mut client = Client::start();
    let program = data("fails.chop");
    client.launch(json!({ "program": program }));
    client.ok("setExceptionBreakpoints", json!({ "filters": ["runtime"] }));
    client.ok("configurationDone", json!({}));
    let stopped = client.stopped();
    assert_eq!(stopped["reason"], "exception");
    assert!(stopped["text"]
        .as_str()
        .unwrap()
        .contains("division by zero"));
    let info = client.ok("exceptionInfo", json!({ "threadId": 1 }));
    assert_eq!(info["exceptionId"], "runtime");
    assert!(info["description"]
        .as_str()
        .unwrap()
        .contains("division by zero"));
    let trace = info["details"]["stackTrace"].as_str().unwrap();
    assert!(
        trace.contains("at div") && trace.contains("at main"),
        "{trace}"
    );
    let frames = client.frames();
    let names: Vec<&str> = frames.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["div", "main"]);
    assert_eq!(frames[0]["line"], line_of(&program, "#FAIL"));
    assert_eq!(value_of(&client.locals(), "b"), "0");
    assert!(client.output.contains("before"));
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 1);
    assert!(
        client.output.contains("runtime error: division by zero"),
        "{}",
        client.output
    );
    client.disconnect();
}

#[test]
fn without_the_exception_filter_a_runtime_error_ends_the_program() {
    let mut client = Client::start();
    client.launch(json!({ "program": data("fails.chop") }));
    client.ok("setExceptionBreakpoints", json!({ "filters": [] }));
    let message = client.fails(
        "setExceptionBreakpoints",
        json!({ "filters": ["everything"] }),
    );
    assert!(message.contains("everything"), "{message}");
    client.ok("configurationDone", json!({}));
    assert_eq!(client.run_to_end(), 1);
    assert!(client.output.contains("at div"), "{}", client.output);
    client.disconnect();
}

#[test]
fn a_program_that_does_not_compile_shows_its_diagnostics_and_terminates() {
    let mut client = Client::start();
    client.ok("initialize", json!({}));
    let program = data("broken.chop");
    let message = client.fails("launch", json!({ "program": program }));
    assert!(message.contains("does not compile"), "{message}");
    client.event("terminated");
    let line = line_of(&program, "#BROKEN");
    assert!(
        client.output.contains(&format!("broken.chop:{line}:")),
        "{}",
        client.output
    );
    assert!(client.output.contains("E0004"), "{}", client.output);
    client.disconnect();
}

#[test]
fn bad_launch_arguments_are_refused_and_no_thread_starts() {
    let mut client = Client::start();
    client.ok("initialize", json!({}));
    let missing = client.fails("launch", json!({ "program": data("nowhere.chop") }));
    assert!(missing.contains("nowhere.chop"), "{missing}");
    let photo = client.fails(
        "launch",
        json!({ "program": repo_file("filters/box_blur.chop"), "input": data("no-such-photo.png") }),
    );
    assert!(photo.contains("no-such-photo.png"), "{photo}");
    let param = client.fails(
        "launch",
        json!({ "program": repo_file("filters/box_blur.chop"), "params": { "radius": 99 } }),
    );
    assert!(param.contains("radius"), "{param}");
    let unknown = client.fails(
        "launch",
        json!({ "program": repo_file("filters/box_blur.chop"), "params": { "sigma": 1 } }),
    );
    assert!(unknown.contains("sigma"), "{unknown}");
    let function = client.fails(
        "launch",
        json!({ "program": data("params.chop"), "function": "nope" }),
    );
    assert!(
        function.contains("nope") && function.contains("add"),
        "{function}"
    );
    let arg = client.fails(
        "launch",
        json!({ "program": data("params.chop"), "function": "add", "args": ["two", 0.5] }),
    );
    assert!(arg.contains("two"), "{arg}");
    let level = client.fails(
        "launch",
        json!({ "program": repo_file("filters/box_blur.chop"), "level": 40 }),
    );
    assert!(level.contains("40"), "{level}");
    let mixed = client.fails(
        "launch",
        json!({ "program": data("params.chop"), "function": "add", "args": [1, 2.0], "filter": "x" }),
    );
    assert!(mixed.contains("one or the other"), "{mixed}");
    let count = client.fails(
        "launch",
        json!({ "program": data("params.chop"), "function": "add", "args": [1] }),
    );
    assert!(count.contains("2 arguments"), "{count}");
    assert_eq!(client.ok("threads", json!({}))["threads"], json!([]));

    // A good launch after the bad ones: a function with args and params.
    client.ok(
        "launch",
        json!({ "program": data("params.chop"), "function": "add", "args": ["2", 0.5], "params": { "bias": 4 } }),
    );
    client.event("initialized");
    let program = data("params.chop");
    set_breakpoints(
        &mut client,
        &program,
        json!([{ "line": line_of(&program, "#ADD") }]),
    );
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    assert_eq!(client.eval("bias"), "4");
    let frame = client.frames()[0]["id"].clone();
    let scopes = client.scopes(&frame);
    let params = scopes
        .iter()
        .find(|(n, _)| n == "Params")
        .unwrap()
        .1
        .clone();
    let locals = scopes
        .iter()
        .find(|(n, _)| n == "Locals")
        .unwrap()
        .1
        .clone();
    // A param changes (read against its type and range); so does a local, read against
    // its type.
    let out_of_range = client.fails(
        "setVariable",
        json!({ "variablesReference": params, "name": "bias", "value": "11" }),
    );
    assert!(out_of_range.contains("0..10"), "{out_of_range}");
    let set = client.ok(
        "setVariable",
        json!({ "variablesReference": params, "name": "bias", "value": "5" }),
    );
    assert_eq!(set["value"], "5");
    let not_an_int = client.fails(
        "setVariable",
        json!({ "variablesReference": locals, "name": "a", "value": "1.5" }),
    );
    assert!(not_an_int.contains("a"), "{not_an_int}");
    let local = client.ok(
        "setVariable",
        json!({ "variablesReference": locals, "name": "a", "value": "3" }),
    );
    assert_eq!(local["value"], "3");
    assert_eq!(client.eval("a + bias"), "8");
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    assert!(client.output.contains("8.5"), "{}", client.output);
    client.disconnect();
}

#[test]
fn a_filter_is_debugged_pixel_by_pixel() {
    let dir = scratch("filter");
    let input = dir.join("small.png");
    let output = dir.join("out.png");
    let mut pixels = Vec::new();
    for idx in 0..(6 * 5) {
        pixels.extend_from_slice(&[(idx * 8) as u8, 100, 200, 255]);
    }
    let image = chunkvm::photo::Rgba8 {
        width: 6,
        height: 5,
        pixels,
    };
    image.save_png(&input).unwrap();
    let program = repo_file("filters/box_blur.chop");
    let mut client = Client::start();
    client.launch(json!({
        "program": program,
        "filter": "box_blur",
        "input": input,
        "output": output,
        "params": { "radius": 1 },
    }));
    let body_line = line_of(&program, "sum = sum + src.at(");
    set_breakpoints(
        &mut client,
        &program,
        json!([{ "line": body_line, "condition": "x == 2 && y == 3" }]),
    );
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    let threads = client.ok("threads", json!({}));
    assert_eq!(threads["threads"][0]["name"], "box_blur");
    let frames = client.frames();
    // The frame of a filter's call names its pixel.
    assert_eq!(frames[0]["name"], "box_blur (x 2, y 3)");
    assert_eq!(frames[0]["line"], body_line);
    let locals = client.locals();
    assert_eq!(value_of(&locals, "x"), "2");
    assert_eq!(value_of(&locals, "y"), "3");
    assert_eq!(value_of(&locals, "src"), "image(6x5)");
    assert!(value_of(&locals, "sum").starts_with("rgba("));
    let scopes = client.scopes(&frames[0]["id"]);
    let params = scopes
        .iter()
        .find(|(n, _)| n == "Params")
        .unwrap()
        .1
        .clone();
    let params = client.variables(&params);
    assert_eq!(params[0]["name"], "radius");
    assert_eq!(params[0]["value"], "1");
    assert_eq!(client.eval("src.width * 10 + radius"), "61");

    set_breakpoints(&mut client, &program, json!([]));
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    assert!(client.output.contains("wrote"), "{}", client.output);
    let written = chunkvm::photo::Rgba8::load(&output).unwrap();
    assert_eq!((written.width, written.height), (6, 5));
    client.disconnect();
}

#[test]
fn over_tcp() {
    let mut client = Client::start_tcp();
    let program = launch_loop(&mut client, json!({}));
    let print = line_of(&program, "#PRINT");
    set_breakpoints(&mut client, &program, json!([{ "line": print }]));
    client.ok("configurationDone", json!({}));
    client.event("continued");
    assert_eq!(client.stopped()["reason"], "breakpoint");
    assert_eq!(client.eval("total"), "30");
    client.ok("continue", json!({ "threadId": 1 }));
    client.event("continued");
    assert_eq!(client.run_to_end(), 0);
    client.disconnect();
}

#[test]
fn a_pipeline_on_half_the_bundled_photo_stops_in_its_second_stage() {
    let program = data("comic.chop");
    let mut client = Client::start();
    client.launch(json!({ "program": program, "pipeline": "comic", "level": 1, "threads": 1 }));
    let fbs = client.ok(
        "setFunctionBreakpoints",
        json!({ "breakpoints": [{ "name": "saturation", "hitCondition": "3" }] }),
    );
    assert_eq!(fbs["breakpoints"][0]["verified"], true);
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "function breakpoint");
    let threads = client.ok("threads", json!({}));
    assert_eq!(
        threads["threads"][0]["name"],
        "median3x3 |> saturation |> contrast"
    );
    let frames = client.frames();
    let name = frames[0]["name"].as_str().unwrap();
    assert!(name.starts_with("saturation (x "), "{name}");
    // A colour filter: its pixel, and the stage's own param value.
    assert_eq!(client.eval("c.r >= 0.0 && c.a == 1.0"), "true");
    assert_eq!(client.eval("amount"), "1.8");
    client.ok("terminate", json!({}));
    assert_eq!(client.run_to_end(), 1);
    client.disconnect();
}

#[test]
fn restart_starts_the_program_again_with_its_breakpoints() {
    let mut client = Client::start();
    let caps = client.launch(json!({ "program": data("loop.chop") }));
    assert_eq!(caps["supportsRestartRequest"], true);
    let program = data("loop.chop");
    let bp = line_of(&program, "#BP1");
    set_breakpoints(
        &mut client,
        &program,
        json!([{ "line": bp, "hitCondition": "2" }]),
    );
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    let first = client.locals();
    assert_eq!(value_of(&first, "i"), "1");
    client.ok("next", json!({ "threadId": 1 }));
    client.stopped();
    // Stopped: it starts again, the hit count too (it stops on the second hit again).
    client.ok("restart", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    assert_eq!(client.locals(), first);
    // Running: it stops quietly and starts again.
    set_breakpoints(&mut client, &program, json!([]));
    let spin = data("spin.chop");
    client.ok(
        "restart",
        json!({ "arguments": { "program": spin, "stopOnEntry": false } }),
    );
    client.event("continued");
    client.ok("pause", json!({ "threadId": 1 }));
    assert_eq!(client.stopped()["reason"], "pause");
    assert_eq!(client.frames()[0]["name"], "main");
    client.ok("continue", json!({ "threadId": 1 }));
    client.ok(
        "restart",
        json!({ "arguments": { "program": program, "stopOnEntry": true } }),
    );
    assert_eq!(client.stopped()["reason"], "entry");
    assert_eq!(client.frames()[0]["line"], line_of(&program, "#FIRST"));
    // Three runs, no end told to the client.
    assert!(
        !client
            .seen
            .iter()
            .any(|e| e == "terminated" || e == "exited"),
        "{:?}",
        client.seen
    );
    let err = client.fails(
        "restart",
        json!({ "arguments": { "program": data("nothing-here.chop") } }),
    );
    assert!(err.contains("nothing-here.chop"), "{err}");
    client.disconnect();
}

#[test]
fn instruction_breakpoints_stop_on_their_instruction() {
    let mut client = Client::start();
    let caps = client.launch(json!({ "program": data("loop.chop") }));
    assert_eq!(caps["supportsInstructionBreakpoints"], true);
    let program = data("loop.chop");
    set_breakpoints(
        &mut client,
        &program,
        json!([{ "line": line_of(&program, "#SQUARE") }]),
    );
    client.ok("configurationDone", json!({}));
    assert_eq!(client.stopped()["reason"], "breakpoint");
    let here = client.frames()[0]["instructionPointerReference"]
        .as_str()
        .unwrap()
        .to_string();
    let (func, pc) = here.trim_start_matches('f').split_once(':').unwrap();
    let want = format!("f{func}:{}", pc.parse::<u32>().unwrap() + 1);
    set_breakpoints(&mut client, &program, json!([]));
    let body = client.ok(
        "setInstructionBreakpoints",
        json!({ "breakpoints": [
            { "instructionReference": here, "offset": 1 },
            { "instructionReference": "f999:0" },
            { "instructionReference": "square+1" },
        ] }),
    );
    let placed = body["breakpoints"].as_array().unwrap();
    assert_eq!(placed[0]["verified"], true);
    assert_eq!(placed[0]["instructionReference"], want.as_str());
    assert_eq!(placed[1]["verified"], false);
    assert!(placed[1]["message"]
        .as_str()
        .unwrap()
        .contains("no function 999"));
    assert_eq!(placed[2]["verified"], false);
    // The next calls of `square` stop on that instruction, each with its argument.
    let first = value_of(&client.locals(), "v").to_string();
    for _ in 0..2 {
        client.ok("continue", json!({ "threadId": 1 }));
        let stopped = client.stopped();
        assert_eq!(stopped["reason"], "instruction breakpoint", "{stopped}");
        assert_eq!(
            client.frames()[0]["instructionPointerReference"],
            want.as_str()
        );
    }
    let later = value_of(&client.locals(), "v").to_string();
    assert_ne!(first, later);
    client.ok("setInstructionBreakpoints", json!({ "breakpoints": [] }));
    client.ok("continue", json!({ "threadId": 1 }));
    assert_eq!(client.run_to_end(), 0);
    client.disconnect();
}
