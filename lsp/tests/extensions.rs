//! The protocol extensions: `chop/chunkGraph`, `chop/params`, `chop/preview`
//! (with progress and cancellation).

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use chop_lsp::harness::{position, TestClient};
use chunkvm::photo::{RunOptions, Target, Target::Filter, Target::Pipeline};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const FILE: &str = r#"/// How much of the inverse to take.
param amount: float = 1.0 in 0.0..1.0;
/// Steps of the slow loop.
param steps: int = 10 in 1..100000000;
param tint: color = rgb(1.0, 0.5, 0.0);

/// Inverts a colour.
filter invert(c: color) -> color {
    mix(c, rgb(1.0 - c.r, 1.0 - c.g, 1.0 - c.b), amount)
}

/// Burns instructions.
filter slow(c: color) -> color {
    var s = 0.0;
    for i in 0..steps {
        s += 1.0;
    }
    c * (s / float(steps))
}

fn sum(n: int) -> int {
    var t = 0;
    for i in 0..n {
        if i % 2 == 0 { t += i; } else { t -= 1; }
    }
    t
}

pipeline twice = invert |> invert(amount: 0.5);
"#;

fn doc() -> Value {
    json!({"uri": URI})
}

#[tokio::test]
async fn chunk_graph_by_name_and_by_position() {
    let client = open(FILE).await;
    let by_name = client
        .call(
            "chop/chunkGraph",
            json!({"textDocument": doc(), "function": "sum"}),
        )
        .await;
    assert_eq!(by_name["function"], "sum");
    assert!(by_name["dot"]
        .as_str()
        .unwrap()
        .starts_with("digraph \"sum\""));
    assert!(by_name["svg"].as_str().unwrap().starts_with("<svg"));
    let nodes = by_name["nodes"].as_array().unwrap();
    assert!(nodes.len() >= 4, "{nodes:?}");
    // Each block's location is an LSP range inside `fn sum`.
    for node in nodes.iter().filter(|n| n["kind"] == "block") {
        let line = node["location"]["start"]["line"].as_u64().unwrap();
        assert!((20..=26).contains(&line), "{node}");
        assert!(!node["instrs"].as_array().unwrap().is_empty());
    }
    let kinds: Vec<&str> = by_name["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"then") && kinds.contains(&"else"),
        "{kinds:?}"
    );
    insta::assert_snapshot!("chunk_graph_dot", by_name["dot"].as_str().unwrap());
    let by_position = client
        .call(
            "chop/chunkGraph",
            json!({"textDocument": doc(), "position": position(22, 10)}),
        )
        .await;
    assert_eq!(by_position, by_name);
    // Outside any function: null; a function that does not exist: an error.
    let outside = client
        .call(
            "chop/chunkGraph",
            json!({"textDocument": doc(), "position": position(1, 3)}),
        )
        .await;
    assert_eq!(outside, Value::Null);
    let missing = client
        .request(
            "chop/chunkGraph",
            json!({"textDocument": doc(), "function": "nope"}),
        )
        .await;
    assert_eq!(missing["error"]["code"], -32803, "{missing}");
    assert!(missing["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sum"));
}

#[tokio::test]
async fn chunk_graph_of_a_file_with_errors_says_why() {
    let client = open("fn f() -> int { true }\n").await;
    let response = client
        .request(
            "chop/chunkGraph",
            json!({"textDocument": doc(), "function": "f"}),
        )
        .await;
    assert_eq!(response["error"]["code"], -32803, "{response}");
    assert!(response["error"]["message"]
        .as_str()
        .unwrap()
        .contains("errors"));
}

#[tokio::test]
async fn params_for_the_slider_panel() {
    let client = open(FILE).await;
    let params = client
        .call("chop/params", json!({"textDocument": doc()}))
        .await;
    insta::assert_json_snapshot!(params);
}

fn decode_png(result: &Value) -> chunkvm::photo::Rgba8 {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(result["png"]["base64"].as_str().unwrap())
        .unwrap();
    chunkvm::photo::Rgba8::decode(&bytes).unwrap()
}

/// The pixels of `target` of [`FILE`] run by the `chunkvm` library (as
/// `chunkvm run` does) on level `level` of `photo`, with `params`.
fn reference(
    photo: &chunkvm::photo::Rgba8,
    target: Target,
    level: usize,
    params: &[(String, chunkvm::exec::Value)],
) -> Vec<u8> {
    let options = RunOptions {
        level,
        params: params.to_vec(),
        ..RunOptions::default()
    };
    let (analyzed, program) = chunkvm::driver::build(FILE).unwrap();
    let compiled = chunkvm::photo::Compiled::of(&analyzed, program);
    chunkvm::photo::run(compiled, Some(&target), photo, &options)
        .unwrap()
        .image
        .pixels
}

#[tokio::test]
async fn preview_of_a_filter_and_a_pipeline_on_the_bundled_photo() {
    let client = open(FILE).await;
    let result = client
        .call(
            "chop/preview",
            json!({"textDocument": doc(), "filter": "invert"}),
        )
        .await;
    let image = decode_png(&result);
    assert_eq!((image.width, image.height), (451, 300));
    assert_eq!(result["width"], 451);
    assert_eq!(result["height"], 300);
    assert_eq!(result["level"], 0);
    assert!(result["instructions"].as_u64().unwrap() > 451 * 300);
    assert!(result["millis"].is_u64());
    let path = result["png"]["path"].as_str().unwrap();
    assert!(std::fs::read(path).unwrap().len() > 1000);
    let photo = chunkvm::photo::Rgba8::decode(chop_lsp::ext::preview::BUNDLED_PHOTO).unwrap();
    assert_eq!(image.pixels[0], 255 - photo.pixels[0]);
    assert_eq!(
        image.pixels,
        reference(&photo, Filter("invert".into()), 0, &[])
    );
    // Params: half the inverse; a smaller level.
    let half = client
        .call(
            "chop/preview",
            json!({"textDocument": doc(), "filter": "invert", "params": {"amount": 0.0}, "level": 1}),
        )
        .await;
    assert_eq!(half["level"], 1);
    assert_eq!(
        (half["width"].as_u64(), half["height"].as_u64()),
        (Some(226), Some(150))
    );
    let same = decode_png(&half);
    let level1 = chunkvm::photo::downsample(&photo);
    assert_eq!(same.pixels, level1.pixels);
    let amount = [("amount".to_string(), chunkvm::exec::Value::Float(0.0))];
    assert_eq!(
        same.pixels,
        reference(&photo, Filter("invert".into()), 1, &amount)
    );
    let pipeline = client
        .call(
            "chop/preview",
            json!({"textDocument": doc(), "pipeline": "twice", "level": 1}),
        )
        .await;
    assert_eq!(pipeline["stages"], json!(["invert", "invert"]));
    let twice = decode_png(&pipeline);
    assert_eq!((twice.width, twice.height), (226, 150));
    let want = reference(&photo, Pipeline("twice".into()), 1, &[]);
    assert_eq!(twice.pixels, want);
    // Not the photo itself: the pipeline changed the pixels.
    assert_ne!(twice.pixels, level1.pixels);
    // The PNGs were this session's: shutdown removes them and their folder.
    let folder = std::path::Path::new(path).parent().unwrap().to_path_buf();
    assert!(folder.exists());
    assert_eq!(client.shutdown().await, Some(true));
    assert!(!folder.exists(), "{} left behind", folder.display());
}

#[tokio::test]
async fn preview_errors_are_error_responses() {
    let client = open(FILE).await;
    for (params, want) in [
        (json!({"filter": "nope"}), "no filter `nope`"),
        (
            json!({"filter": "invert", "params": {"amount": 3.0}}),
            "0..1",
        ),
        (
            json!({"filter": "invert", "params": {"nope": 1}}),
            "no param `nope`",
        ),
        (json!({"filter": "invert", "level": 12}), "levels 0 to"),
        (
            json!({"filter": "invert", "photo": "/nonexistent.png"}),
            "no such file",
        ),
    ] {
        let mut request = params.clone();
        request["textDocument"] = doc();
        let response = client.request("chop/preview", request).await;
        assert_eq!(response["error"]["code"], -32803, "{params}: {response}");
        let message = response["error"]["message"].as_str().unwrap();
        assert!(message.contains(want), "{params}: {message}");
    }
}

#[tokio::test]
async fn preview_uses_the_configured_photo_and_level() {
    let dir = std::env::temp_dir().join(format!("chop-lsp-photo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = chunkvm::photo::Rgba8::filled(64, 32, [10, 20, 30, 255]);
    photo.save_png(&dir.join("flat.png")).unwrap();
    let client = TestClient::start();
    client
        .call(
            "initialize",
            json!({
                "capabilities": {},
                "workspaceFolders": [{"uri": format!("file://{}", dir.display()), "name": "w"}],
                "initializationOptions": {"previewPhoto": "flat.png", "previewLevel": 0},
            }),
        )
        .await;
    client.notify("initialized", json!({})).await;
    client.open(URI, FILE).await;
    client.diagnostics(URI, 1).await.unwrap();
    let result = client
        .call(
            "chop/preview",
            json!({"textDocument": doc(), "filter": "invert"}),
        )
        .await;
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(64), Some(32))
    );
    let inverted = decode_png(&result);
    assert_eq!(inverted.pixels.len(), 64 * 32 * 4);
    for pixel in inverted.pixels.chunks(4) {
        assert_eq!(pixel, &[245, 235, 225, 255]);
    }
    // A budget too small for the run: a clear error.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"limits": {"instructions": 100}}}),
        )
        .await;
    let response = client
        .request(
            "chop/preview",
            json!({"textDocument": doc(), "filter": "invert"}),
        )
        .await;
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("budget"),
        "{response}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn preview_reports_progress_on_the_clients_token() {
    let client = open(FILE).await;
    let result = client
        .call(
            "chop/preview",
            json!({"textDocument": doc(), "filter": "invert", "workDoneToken": "tok-1"}),
        )
        .await;
    assert_eq!(result["width"], 451);
    let progress: Vec<Value> = client
        .notifications("$/progress")
        .into_iter()
        .filter(|n| n["params"]["token"] == "tok-1")
        .map(|n| n["params"]["value"].clone())
        .collect();
    assert_eq!(progress.first().unwrap()["kind"], "begin", "{progress:?}");
    assert_eq!(progress.first().unwrap()["title"], "Preview of invert");
    assert_eq!(progress.last().unwrap()["kind"], "end", "{progress:?}");
    assert!(client.server_requests().is_empty());
}

/// A slow run: after 200 ms the server creates a progress of its own; a
/// `$/cancelRequest` then ends the request with `RequestCancelled`, stops
/// the VM and ends the progress as cancelled. The run would take hours (50
/// million loop steps for each of the 135,300 pixels), so a VM that stops
/// within the (generous) bound stopped because of the cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_preview_gets_progress_and_stops_when_cancelled() {
    let client = open(FILE).await;
    let (id, response) = client
        .start_request(
            "chop/preview",
            json!({"textDocument": doc(), "filter": "slow", "params": {"steps": 50_000_000}}),
        )
        .await;
    let began = client
        .wait_for(Duration::from_secs(20), |n| {
            n["method"] == "$/progress" && n["params"]["value"]["kind"] == "begin"
        })
        .await
        .expect("a progress begins");
    let token = began.message["params"]["token"].clone();
    let created = client.server_requests();
    assert_eq!(created[0]["method"], "window/workDoneProgress/create");
    assert_eq!(created[0]["params"]["token"], token);
    assert!(chop_lsp::ext::preview::running() >= 1);
    client.notify("$/cancelRequest", json!({"id": id})).await;
    let response = tokio::time::timeout(Duration::from_secs(30), response)
        .await
        .expect("a response to the cancelled request")
        .unwrap();
    assert_eq!(response["error"]["code"], -32800, "{response}");
    assert!(response.get("result").is_none(), "{response}");
    let ended = client
        .wait_for(Duration::from_secs(20), |n| {
            n["method"] == "$/progress"
                && n["params"]["token"] == token
                && n["params"]["value"]["kind"] == "end"
        })
        .await
        .expect("the progress ends");
    assert_eq!(
        ended.message["params"]["value"]["message"], "cancelled",
        "{ended:?}"
    );
    // The VM stops (the bound is far above the few milliseconds it takes,
    // and far below the run's hours).
    let stopped = tokio::time::timeout(Duration::from_secs(60), async {
        while chop_lsp::ext::preview::running() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(stopped.is_ok(), "the VM run goes on after the cancel");
    // The server goes on.
    let quick = client
        .call(
            "chop/preview",
            json!({"textDocument": doc(), "filter": "invert", "level": 1}),
        )
        .await;
    assert_eq!(quick["level"], 1);
}
