//! Document sync: incremental changes, their strict order under a burst of
//! notifications, debounced diagnostics, configuration, closing.

#![allow(clippy::unwrap_used)]

mod common;

use chop_lsp::harness::{frame, position, range, TestClient};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn codes(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| {
            format!(
                "{} {}:{} {}",
                d["code"].as_str().unwrap(),
                d["range"]["start"]["line"],
                d["range"]["start"]["character"],
                d["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn diagnostics_on_open_carry_codes_and_help() {
    let text = "param p: float = 2.0 in 0.0..1.0;\n\nfn main() {\n    let unused = 1;\n    let x = 1 + true;\n    print(x);\n}\n";
    let client = open_with(text, capable(), json!({})).await;
    client.change(URI, 2, range(0, 0, 0, 0), "").await;
    let diags = client.diagnostics(URI, 2).await.unwrap();
    insta::assert_json_snapshot!(diags);
    assert_eq!(client.shutdown().await, Some(true));
}

#[tokio::test]
async fn several_incremental_changes_in_a_row() {
    let text = "fn main() {\n    let x = 1;\n    print(x);\n}\n";
    let client = open(text).await;
    // Break it, in three changes of one notification and two more notifications.
    client
        .notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": URI, "version": 2},
                "contentChanges": [
                    {"range": range(1, 12, 1, 13), "text": "true"},
                    {"range": range(2, 10, 2, 11), "text": "x + 1"},
                    {"range": range(3, 1, 3, 1), "text": "\nfn f() -> int {\n}"},
                ],
            }),
        )
        .await;
    client.change(URI, 3, range(0, 3, 0, 7), "start").await;
    client.change(URI, 4, range(6, 1, 6, 1), "\n").await;
    let diags = client.diagnostics(URI, 4).await.unwrap();
    insta::assert_debug_snapshot!(codes(&diags));
    // The text is what the changes say: formatting shows it.
    let formatted = client
        .call(
            "textDocument/formatting",
            json!({"textDocument": {"uri": URI}, "options": {"tabSize": 4, "insertSpaces": true}}),
        )
        .await;
    let expected = "fn start() {\n    let x = true;\n    print(x + 1);\n}\nfn f() -> int {\n}\n\n";
    assert_eq!(
        apply_edits(expected, formatted.as_array().unwrap()),
        chop_ide::fmt::format(expected).unwrap()
    );
    // Fix everything: no diagnostics left.
    client.change(URI, 5, range(1, 12, 1, 16), "1").await;
    client.change(URI, 6, range(4, 0, 6, 1), "").await;
    let diags = client.diagnostics(URI, 6).await.unwrap();
    assert_eq!(codes(&diags), Vec::<String>::new());
    // A whole-text change.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": 7}, "contentChanges": [{"text": "fn g( {"}]}),
        )
        .await;
    let diags = client.diagnostics(URI, 7).await.unwrap();
    assert!(
        diags
            .iter()
            .all(|d| d["code"] == "E0001" || d["code"] == "E0002"),
        "{diags:?}"
    );
    assert!(!diags.is_empty());
}

/// 100 one-character changes sent in one burst (the server reads them at
/// once and runs their handlers concurrently): the text and the diagnostics
/// at the end are those of the changes applied in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_quick_changes_apply_in_order() {
    let text = "fn main() {\n    let v = 0;\n}\n";
    let client = open(text).await;
    let letters: Vec<char> = "abcdefghijklmnopqrstuvwxyz0123456789"
        .chars()
        .cycle()
        .take(100)
        .collect();
    let mut burst = Vec::new();
    for (idx, letter) in letters.iter().enumerate() {
        let col = 9 + idx as u32;
        let message = json!({
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": URI, "version": 2 + idx},
                "contentChanges": [{"range": range(1, col, 1, col), "text": letter.to_string()}],
            },
        });
        burst.extend(frame(&message.to_string()));
        // Requests in the middle of the burst must see every change before them.
        if idx % 25 == 24 {
            let request = json!({
                "jsonrpc": "2.0", "id": 1000 + idx, "method": "textDocument/documentSymbol",
                "params": {"textDocument": {"uri": URI}},
            });
            burst.extend(frame(&request.to_string()));
        }
    }
    client.send_raw(&burst).await;
    let name: String = std::iter::once('v')
        .chain(letters.iter().copied())
        .collect();
    let last_published = client
        .wait_for(Duration::from_secs(20), |n| {
            n["method"] == "textDocument/publishDiagnostics" && n["params"]["version"] == 101
        })
        .await
        .unwrap();
    // No publication before the last had a version the text had not reached,
    // nor went backwards.
    let mut last = 0;
    for published in client.notifications("textDocument/publishDiagnostics") {
        let version = published["params"]["version"].as_i64().unwrap_or(0);
        assert!(version >= last && version < 101, "{version} after {last}");
        last = version;
    }
    let diags = last_published.message["params"]["diagnostics"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "W0002");
    assert_eq!(
        diags[0]["message"],
        format!("variable `{name}` is never read")
    );
    assert_eq!(diags[0]["range"], range(1, 8, 1, 8 + name.len() as u32));
    // A request sees the last text too (the outline holds items only: hover the local).
    let hover = client
        .call(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 9}}),
        )
        .await;
    assert!(hover.to_string().contains(name.as_str()), "{hover}");
}

/// The versions of the diagnostics published (and not taken yet) for [`URI`].
fn published_versions(client: &TestClient) -> Vec<i64> {
    client
        .notifications("textDocument/publishDiagnostics")
        .iter()
        .filter(|n| n["params"]["uri"] == URI)
        .map(|n| n["params"]["version"].as_i64().unwrap())
        .collect()
}

/// Sends one-space changes at the end of line 0 (`fn main() {}`, growing)
/// for `versions`, in one write.
async fn spaces(client: &TestClient, versions: std::ops::RangeInclusive<i64>) {
    let mut burst = Vec::new();
    for version in versions {
        let col = 11 + version as u32 - 2;
        let message = json!({
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": [{"range": range(0, col, 0, col), "text": " "}],
            },
        });
        burst.extend(frame(&message.to_string()));
    }
    client.send_raw(&burst).await;
}

/// Debounced diagnostics, shown by the order of events, not by the clock: the
/// actor publishes a document's versions in order, so a version published
/// early would arrive before the one waited for.
#[tokio::test]
async fn diagnostics_are_debounced_and_the_debounce_is_configurable() {
    let client = TestClient::start();
    client
        .initialize(json!({}), json!({"debounceMs": 300}))
        .await;
    client.open(URI, "fn main() {}\n").await;
    client.diagnostics(URI, 1).await.unwrap();
    // A burst: only its last version is published, once things are quiet.
    spaces(&client, 2..=6).await;
    let found = client
        .wait_for(Duration::from_secs(20), |n| {
            n["method"] == "textDocument/publishDiagnostics" && n["params"]["version"] == 6
        })
        .await
        .unwrap();
    assert_eq!(found.message["params"]["diagnostics"], json!([]));
    assert_eq!(published_versions(&client), Vec::<i64>::new());
    // The longest debounce (10 s): version 7 is analysed (a request sees
    // it) but not published while changes keep coming.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"chop": {"debounceMs": 10_000}}}),
        )
        .await;
    let analysed = |version: i64| {
        let client = &client;
        async move {
            spaces(client, version..=version).await;
            let symbols = client
                .call(
                    "textDocument/documentSymbol",
                    json!({"textDocument": {"uri": URI}}),
                )
                .await;
            let line = &symbols[0]["location"]["range"]["end"];
            assert_eq!(line["character"], 11 + version, "{symbols}");
        }
    };
    analysed(7).await;
    // Without a debounce each analysed version is published before the
    // actor takes the next change: 8, 9 and 10 come before 11. (Were the 10 s
    // still in force, only 11 would come, 10 s after it was sent. Settings
    // apply before a change sent after them is queued: both handlers do their
    // work before their first `await`, in arrival order.)
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"chop": {"debounceMs": 0}}}),
        )
        .await;
    for version in 8..=11 {
        analysed(version).await;
    }
    let found = client
        .wait_for(Duration::from_secs(30), |n| {
            n["method"] == "textDocument/publishDiagnostics" && n["params"]["version"] == 11
        })
        .await
        .expect("version 11 published");
    assert_eq!(found.message["params"]["diagnostics"], json!([]));
    assert_eq!(published_versions(&client), vec![8, 9, 10]);
}

#[tokio::test]
async fn requests_see_the_latest_text() {
    let client = open("fn main() {\n    let a = 1;\n    print(a);\n}\n").await;
    for round in 0..20u32 {
        // Rename `a` by hand to a longer name, then ask at once where the use points.
        let name = format!("a{round}");
        let old = if round == 0 {
            "a".to_string()
        } else {
            format!("a{}", round - 1)
        };
        let len = old.len() as u32;
        client
            .notify(
                "textDocument/didChange",
                json!({
                    "textDocument": {"uri": URI, "version": 2 + round},
                    "contentChanges": [
                        {"range": range(2, 10, 2, 10 + len), "text": name},
                        {"range": range(1, 8, 1, 8 + len), "text": name},
                    ],
                }),
            )
            .await;
        let found = client
            .call(
                "textDocument/definition",
                json!({"textDocument": {"uri": URI}, "position": position(2, 10)}),
            )
            .await;
        assert_eq!(
            found["range"],
            range(1, 8, 1, 8 + name.len() as u32),
            "round {round}"
        );
    }
}

#[tokio::test]
async fn closing_clears_the_diagnostics_and_reopening_works() {
    let client = open("fn main() { let x = 1 + true; }\n").await;
    client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    let cleared = client
        .wait_for(Duration::from_secs(20), |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == URI
                && n["params"]["diagnostics"] == json!([])
        })
        .await;
    assert!(cleared.is_some());
    let hover = client
        .call(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": position(0, 16)}),
        )
        .await;
    assert_eq!(hover, Value::Null);
    client
        .open(URI, "fn main() { let y = 2; print(y); }\n")
        .await;
    assert_eq!(
        client.diagnostics(URI, 1).await.unwrap(),
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn help_goes_into_the_message_without_related_information() {
    let client = open_with(
        "fn main() {\n    let unused = 1;\n}\n",
        json!({}),
        json!({}),
    )
    .await;
    client.change(URI, 2, range(0, 0, 0, 0), "").await;
    let diags = client.diagnostics(URI, 2).await.unwrap();
    assert!(diags[0]["relatedInformation"].is_null());
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("\nhelp: remove it"));
}
