//! The requests answered around the framework (`chop_lsp::raw`): the same
//! results and errors as the framework's path (a server answering every
//! request through tower-lsp-server), `$/cancelRequest`, the lifecycle's
//! refusals, bad params, and changes applied before a request that follows.

#![allow(clippy::unwrap_used)]

mod common;

use chop_lsp::harness::{frame, position, range, TestClient};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// A file with every kind of item, a mistake, and lines to format.
const TEXT: &str = "//! Raw requests.\n\n/// Strength.\nparam strength: float = 0.5 in 0.0..1.0;\n\n/// Twice.\nfn twice(a: float) -> float {\n    let x = a * 2.0;\n    var acc = 0.0;\n    for i in 0..3 {\n        acc += x * float(i) - strength;\n    }\n    acc\n}\n\n// A comment\n// over two lines.\nfilter tone(c: color) -> color {\n    let g = luma(c);\n      mix(c, rgb(g, g, g), strength)\n}\n\npipeline warm = tone |> tone;\n";

/// The requests the raw path answers, with params on [`TEXT`].
fn requests() -> Vec<(&'static str, Value)> {
    let doc = json!({"uri": URI});
    let acc = TEXT.lines().position(|l| l.contains("acc +=")).unwrap() as u32;
    vec![
        (
            "textDocument/semanticTokens/full",
            json!({"textDocument": doc}),
        ),
        (
            "textDocument/semanticTokens/range",
            json!({"textDocument": doc, "range": range(5, 0, 14, 0)}),
        ),
        (
            "textDocument/completion",
            json!({"textDocument": doc, "position": position(acc, "        acc += x".len() as u32)}),
        ),
        (
            "textDocument/completion",
            json!({"textDocument": doc, "position": position(acc, "        acc += x * float(i) - st".len() as u32)}),
        ),
        ("textDocument/documentSymbol", json!({"textDocument": doc})),
        ("textDocument/foldingRange", json!({"textDocument": doc})),
        ("textDocument/codeLens", json!({"textDocument": doc})),
        (
            "textDocument/formatting",
            json!({"textDocument": doc, "options": {"tabSize": 4, "insertSpaces": true}}),
        ),
        (
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": "file:///work/not-open.chop"}}),
        ),
    ]
}

/// Both servers, initialized with `caps`, [`TEXT`] open in each.
async fn both(caps: Value) -> (TestClient, TestClient) {
    let raw = TestClient::start();
    let framework = TestClient::start_framework_only();
    for client in [&raw, &framework] {
        client.initialize(caps.clone(), json!({})).await;
        client.open(URI, TEXT).await;
        client.diagnostics(URI, 1).await.unwrap();
    }
    (raw, framework)
}

#[tokio::test]
async fn raw_results_are_the_frameworks() {
    for caps in [capable(), json!({})] {
        let (raw, framework) = both(caps.clone()).await;
        for (method, params) in requests() {
            let a = raw.request(method, params.clone()).await;
            let b = framework.request(method, params.clone()).await;
            assert!(a.get("result").is_some(), "{method}: {a}");
            assert_eq!(a, b, "{method} {params} with {caps}");
        }
        // Deltas of semantic tokens: after a full result, an edit, the delta from it.
        let doc = json!({"textDocument": {"uri": URI}});
        let mut ids = Vec::new();
        for client in [&raw, &framework] {
            let full = client
                .call("textDocument/semanticTokens/full", doc.clone())
                .await;
            ids.push(full["resultId"].clone());
            client.change(URI, 2, range(7, 12, 7, 13), "yy").await;
        }
        assert_eq!(ids[0], ids[1]);
        let params = json!({"textDocument": {"uri": URI}, "previousResultId": ids[0]});
        let a = raw
            .request("textDocument/semanticTokens/full/delta", params.clone())
            .await;
        let b = framework
            .request("textDocument/semanticTokens/full/delta", params.clone())
            .await;
        assert!(a["result"]["edits"].is_array(), "{a}");
        assert_eq!(a, b);
        // An unknown previous id: the whole tokens again.
        let params = json!({"textDocument": {"uri": URI}, "previousResultId": "nope"});
        let a = raw
            .request("textDocument/semanticTokens/full/delta", params.clone())
            .await;
        let b = framework
            .request("textDocument/semanticTokens/full/delta", params)
            .await;
        assert!(a["result"]["data"].is_array(), "{a}");
        assert_eq!(a, b);
        assert_eq!(raw.shutdown().await, Some(true));
        assert_eq!(framework.shutdown().await, Some(true));
    }
}

/// The error object of a response (its `id` left out: the two clients number alike anyway).
fn error(response: &Value) -> Value {
    assert!(response.get("result").is_none(), "{response}");
    response["error"].clone()
}

#[tokio::test]
async fn bad_params_are_refused_with_the_frameworks_error() {
    let (raw, framework) = both(capable()).await;
    let bad = [
        json!({}),
        json!({"textDocument": 42}),
        json!({"textDocument": {"uri": 5}}),
        Value::Null,
        json!([1, 2]),
    ];
    for method in chop_lsp::raw::METHODS {
        for params in &bad {
            let a = raw.request(method, params.clone()).await;
            let b = framework.request(method, params.clone()).await;
            let e = error(&a);
            assert_eq!(e["code"], -32602, "{method} {params}: {a}");
            assert_eq!(e, error(&b), "{method} {params}");
        }
    }
    let missing = raw
        .request("textDocument/foldingRange", json!({"textDocument": {}}))
        .await;
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("uri"),
        "{missing}"
    );
    // Still serving.
    let symbols = raw
        .call(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    assert_eq!(symbols.as_array().map(Vec::len), Some(4), "{symbols}");
}

#[tokio::test]
async fn before_initialize_and_after_shutdown_raw_requests_get_the_frameworks_errors() {
    let raw = TestClient::start();
    let framework = TestClient::start_framework_only();
    let doc = json!({"textDocument": {"uri": URI}});
    let mut errors = Vec::new();
    for client in [&raw, &framework] {
        let early = client
            .request("textDocument/semanticTokens/full", doc.clone())
            .await;
        let early_bad = client.request("textDocument/completion", json!({})).await;
        client.initialize(capable(), json!({})).await;
        client.open(URI, TEXT).await;
        let served = client
            .request("textDocument/semanticTokens/full", doc.clone())
            .await;
        assert!(served["result"]["data"].is_array(), "{served}");
        let down = client.request("shutdown", Value::Null).await;
        assert_eq!(down["result"], Value::Null, "{down}");
        let late = client
            .request("textDocument/foldingRange", doc.clone())
            .await;
        let again = client.request("shutdown", Value::Null).await;
        errors.push([
            error(&early),
            error(&early_bad),
            error(&late),
            error(&again),
        ]);
    }
    assert_eq!(errors[0][0]["code"], -32002, "{:?}", errors[0]);
    assert_eq!(errors[0][1]["code"], -32002, "{:?}", errors[0]);
    assert_eq!(errors[0][2]["code"], -32600, "{:?}", errors[0]);
    assert_eq!(errors[0], errors[1]);
    let mut raw = raw;
    let mut framework = framework;
    assert_eq!(raw.exit().await, Some(true));
    assert_eq!(framework.exit().await, Some(true));
}

/// A request waiting for an analysis that a stall holds is under way for as
/// long as the test wants: `$/cancelRequest` ends it with `RequestCancelled`;
/// the server goes on, and answers the next one from the new text.
#[tokio::test]
async fn a_cancelled_raw_request_answers_request_cancelled() {
    let marker = "// stalled for the cancel test";
    for client in [TestClient::start(), TestClient::start_framework_only()] {
        client.initialize(capable(), json!({})).await;
        client.open(URI, TEXT).await;
        client.diagnostics(URI, 1).await.unwrap();
        let stall = chop_lsp::guard::stall(marker);
        client
            .change(URI, 2, range(0, 0, 0, 0), &format!("{marker}\n"))
            .await;
        let (id, response) = client
            .start_request(
                "textDocument/semanticTokens/full",
                json!({"textDocument": {"uri": URI}}),
            )
            .await;
        client.notify("$/cancelRequest", json!({"id": id})).await;
        let response = tokio::time::timeout(Duration::from_secs(30), response)
            .await
            .expect("a response to the cancelled request")
            .unwrap();
        assert_eq!(response["id"], id);
        assert_eq!(response["error"]["code"], -32800, "{response}");
        drop(stall);
        // Cancelling what is done already changes nothing.
        client.notify("$/cancelRequest", json!({"id": id})).await;
        let symbols = client
            .call(
                "textDocument/documentSymbol",
                json!({"textDocument": {"uri": URI}}),
            )
            .await;
        // The param, a line lower.
        assert_eq!(
            symbols[0]["selectionRange"]["start"]["line"], 4,
            "{symbols}"
        );
        assert_eq!(client.shutdown().await, Some(true));
    }
}

/// An id under way on one path (the framework's or the raw one) is refused
/// on the other as an invalid request, as the framework refuses one of its
/// own; the request under way is still answered, once.
#[tokio::test]
async fn an_id_under_way_on_one_path_is_refused_on_the_other() {
    let marker = "// stalled for the duplicate-id test";
    let hover = (
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 7, "character": 9}}),
    );
    let tokens = (
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": URI}}),
    );
    // (held, duplicate): hover goes through the framework, tokens raw.
    for (version, (held, again)) in [(2, (&hover, &tokens)), (3, (&tokens, &hover))] {
        let client = TestClient::start();
        client.initialize(capable(), json!({})).await;
        client.open(URI, TEXT).await;
        client.diagnostics(URI, 1).await.unwrap();
        let stall = chop_lsp::guard::stall(marker);
        client
            .change(URI, version, range(0, 0, 0, 0), &format!("{marker}\n"))
            .await;
        let (id, first) = client.start_request(held.0, held.1.clone()).await;
        let duplicate = json!({"jsonrpc": "2.0", "id": id, "method": again.0, "params": again.1});
        client.send_raw(&frame(&duplicate.to_string())).await;
        // The held request cannot answer while the stall holds: the first
        // response with its id is the duplicate's.
        let refused = tokio::time::timeout(Duration::from_secs(30), first)
            .await
            .expect("a response to the duplicate")
            .unwrap();
        assert_eq!(
            refused["error"]["code"], -32600,
            "{} after {}: {refused}",
            again.0, held.0
        );
        drop(stall);
        let answered = client
            .wait_for(Duration::from_secs(30), |m| m["id"] == id)
            .await
            .expect("the held request's answer");
        assert!(
            answered.message["result"].is_object(),
            "{}: {}",
            held.0,
            answered.message
        );
        // The id is free again once answered.
        client.send_raw(&frame(&duplicate.to_string())).await;
        let reused = client
            .wait_for(Duration::from_secs(30), |m| m["id"] == id)
            .await
            .expect("an answer to the id used again");
        assert!(reused.message["result"].is_object(), "{}", reused.message);
        assert_eq!(client.shutdown().await, Some(true));
    }
}

/// A change and the request after it, in one write: the request answers
/// from the changed text (the change is applied first), on both paths.
#[tokio::test]
async fn a_change_before_a_raw_request_is_applied_first() {
    for client in [TestClient::start(), TestClient::start_framework_only()] {
        client.initialize(capable(), json!({})).await;
        client.open(URI, TEXT).await;
        let mut bytes = Vec::new();
        for (version, line) in [(2, 0), (3, 1)] {
            let change = json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": [{"range": range(line, 0, line, 0), "text": format!("fn added{version}() {{}}\n")}],
            }});
            bytes.extend(frame(&change.to_string()));
        }
        let request = json!({"jsonrpc": "2.0", "id": 9999, "method": "textDocument/documentSymbol",
            "params": {"textDocument": {"uri": URI}}});
        bytes.extend(frame(&request.to_string()));
        client.send_raw(&bytes).await;
        let response = client
            .wait_for(Duration::from_secs(30), |n| n["id"] == 9999)
            .await
            .expect("a response");
        let names: Vec<&str> = response.message["result"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        assert_eq!(
            names,
            ["added2", "added3", "strength", "twice", "tone", "warm"]
        );
    }
}
