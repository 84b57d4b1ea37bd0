//! The protocol around the features: initialize and its capabilities,
//! shutdown and exit, bad input (malformed JSON, bad params, unknown
//! methods), documents that are not open, positions past the end.

#![allow(clippy::unwrap_used)]

mod common;

use chop_lsp::harness::{frame, position, range, TestClient};
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn initialize_announces_every_capability() {
    let client = TestClient::start();
    let mut result = client.initialize(capable(), json!({})).await;
    assert_eq!(result["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    result["serverInfo"]["version"] = json!("[version]");
    insta::assert_json_snapshot!(result);
    let caps = &result["capabilities"];
    for provider in [
        "completionProvider",
        "hoverProvider",
        "signatureHelpProvider",
        "definitionProvider",
        "referencesProvider",
        "documentHighlightProvider",
        "renameProvider",
        "documentSymbolProvider",
        "workspaceSymbolProvider",
        "semanticTokensProvider",
        "foldingRangeProvider",
        "selectionRangeProvider",
        "documentFormattingProvider",
        "inlayHintProvider",
        "codeActionProvider",
        "codeLensProvider",
    ] {
        assert!(!caps[provider].is_null(), "{provider}");
    }
    assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental sync");
    assert_eq!(caps["renameProvider"]["prepareProvider"], true);
    assert_eq!(caps["positionEncoding"], "utf-16");
}

#[tokio::test]
async fn utf8_is_chosen_when_offered_and_prepare_rename_only_when_supported() {
    let client = TestClient::start();
    let result = client
        .initialize(
            json!({"general": {"positionEncodings": ["utf-32", "utf-8", "utf-16"]}}),
            json!({}),
        )
        .await;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(result["capabilities"]["renameProvider"], true);
}

#[tokio::test]
async fn shutdown_then_exit_is_clean_and_exit_alone_is_not() {
    let client = TestClient::start();
    client.initialize(json!({}), json!({})).await;
    client.open(URI, "fn main() {}\n").await;
    client.diagnostics(URI, 1).await.unwrap();
    // After shutdown, requests are refused as invalid; exit then ends the server.
    let response = client.request("shutdown", Value::Null).await;
    assert_eq!(ok("shutdown", &response), Value::Null, "{response}");
    let after = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": position(0, 3)}),
        )
        .await;
    assert_eq!(after["error"]["code"], -32600, "{after}");
    let mut client = client;
    assert_eq!(client.exit().await, Some(true));

    let mut abrupt = TestClient::start();
    abrupt.initialize(json!({}), json!({})).await;
    assert_eq!(abrupt.exit().await, Some(false));
}

#[tokio::test]
async fn requests_before_initialize_are_refused() {
    let client = TestClient::start();
    let response = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": position(0, 0)}),
        )
        .await;
    assert_eq!(response["error"]["code"], -32002, "{response}");
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_the_server_goes_on() {
    let client = TestClient::start();
    client.initialize(json!({}), json!({})).await;
    // Not JSON at all.
    client.send_raw(&frame("{this is not json")).await;
    let error = client
        .wait_for(std::time::Duration::from_secs(20), |n| {
            n["error"]["code"] == -32700
        })
        .await
        .expect("a parse error response");
    assert_eq!(error.message["id"], Value::Null);
    // JSON, but not a JSON-RPC message.
    client.send_raw(&frame("[1, 2, 3]")).await;
    client
        .wait_for(std::time::Duration::from_secs(20), |n| {
            n["error"]["code"] == -32600 || n["error"]["code"] == -32700
        })
        .await
        .expect("an invalid request response");
    // Bad params of a request: invalid params.
    let bad = client
        .request("textDocument/hover", json!({"textDocument": 42}))
        .await;
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let missing = client.request("textDocument/definition", Value::Null).await;
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    let ext = client
        .request("chop/chunkGraph", json!({"textDocument": {"uri": 3}}))
        .await;
    assert_eq!(ext["error"]["code"], -32602, "{ext}");
    // Bad params of a notification: ignored.
    client
        .notify("textDocument/didChange", json!({"nonsense": true}))
        .await;
    client.notify("textDocument/didOpen", json!([])).await;
    // Unknown methods.
    let unknown = client.request("chop/nothing", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    client.notify("$/somethingElse", json!({})).await;
    // Still serving.
    client.open(URI, "fn main() { let x = 1 + true; }\n").await;
    let diags = client.diagnostics(URI, 1).await.unwrap();
    assert!(diags.iter().any(|d| d["code"] == "E0004"), "{diags:?}");
    assert_eq!(client.shutdown().await, Some(true));
}

/// Every request about a document that is not open: an empty result.
#[tokio::test]
async fn unopened_documents_give_empty_results() {
    let client = TestClient::start();
    client.initialize(capable(), json!({})).await;
    let doc = json!({"uri": "file:///nowhere.chop"});
    let at = json!({"textDocument": doc, "position": position(0, 0)});
    let whole = json!({"textDocument": doc});
    let in_range = json!({"textDocument": doc, "range": range(0, 0, 1, 0)});
    let cases = [
        ("textDocument/hover", at.clone(), Value::Null),
        ("textDocument/definition", at.clone(), Value::Null),
        ("textDocument/signatureHelp", at.clone(), Value::Null),
        ("textDocument/completion", at.clone(), Value::Null),
        ("textDocument/documentHighlight", at.clone(), json!([])),
        (
            "textDocument/references",
            json!({"textDocument": doc, "position": position(0, 0), "context": {"includeDeclaration": true}}),
            json!([]),
        ),
        ("textDocument/prepareRename", at.clone(), Value::Null),
        (
            "textDocument/rename",
            json!({"textDocument": doc, "position": position(0, 0), "newName": "x"}),
            Value::Null,
        ),
        ("textDocument/documentSymbol", whole.clone(), Value::Null),
        (
            "textDocument/semanticTokens/full",
            whole.clone(),
            Value::Null,
        ),
        (
            "textDocument/semanticTokens/full/delta",
            json!({"textDocument": doc, "previousResultId": "1"}),
            Value::Null,
        ),
        (
            "textDocument/semanticTokens/range",
            in_range.clone(),
            Value::Null,
        ),
        ("textDocument/foldingRange", whole.clone(), json!([])),
        (
            "textDocument/selectionRange",
            json!({"textDocument": doc, "positions": [position(0, 0)]}),
            json!([]),
        ),
        (
            "textDocument/formatting",
            json!({"textDocument": doc, "options": {"tabSize": 4, "insertSpaces": true}}),
            Value::Null,
        ),
        ("textDocument/inlayHint", in_range.clone(), json!([])),
        (
            "textDocument/codeAction",
            json!({"textDocument": doc, "range": range(0, 0, 0, 0), "context": {"diagnostics": []}}),
            json!([]),
        ),
        ("textDocument/codeLens", whole.clone(), json!([])),
        ("chop/chunkGraph", at.clone(), Value::Null),
        ("chop/params", whole.clone(), json!([])),
        ("chop/preview", whole.clone(), Value::Null),
    ];
    for (method, params, want) in cases {
        let response = client.request(method, params).await;
        assert_eq!(ok(method, &response), want, "{method}: {response}");
    }
    // Changes and closes of unopened documents are ignored.
    client
        .change("file:///nowhere.chop", 2, range(0, 0, 0, 0), "x")
        .await;
    client
        .notify("textDocument/didClose", json!({"textDocument": doc}))
        .await;
    assert_eq!(client.shutdown().await, Some(true));
}

/// Positions past the end of the text: empty results, never errors.
#[tokio::test]
async fn positions_past_the_end_give_empty_results() {
    let text = "fn f() -> int {\n    let x = 1;\n    x\n}\n";
    let client = open(text).await;
    let doc = json!({"uri": URI});
    // A line past the end is the end of the text.
    let end = pos_in(text, text.len());
    for pos in [position(99, 0), position(u32::MAX, u32::MAX)] {
        let at = json!({"textDocument": doc, "position": pos});
        for method in [
            "textDocument/hover",
            "textDocument/definition",
            "textDocument/signatureHelp",
            "textDocument/completion",
            "textDocument/prepareRename",
        ] {
            let response = client.request(method, at.clone()).await;
            assert_eq!(ok(method, &response), Value::Null, "{method}: {response}");
        }
        for (method, params) in [
            ("textDocument/documentHighlight", at.clone()),
            (
                "textDocument/inlayHint",
                json!({"textDocument": doc, "range": {"start": pos, "end": pos}}),
            ),
        ] {
            let response = client.request(method, params).await;
            assert_eq!(ok(method, &response), json!([]), "{method}: {response}");
        }
        let method = "textDocument/selectionRange";
        let selection = client
            .request(method, json!({"textDocument": doc, "positions": [pos]}))
            .await;
        let ranges = ok(method, &selection);
        assert_eq!(ranges.as_array().unwrap().len(), 1, "{selection}");
        let range = &ranges[0]["range"];
        assert_eq!(range["end"], end, "{selection}");
    }
    // A column past the end of a line is the line's end: right after the
    // `x` of line 2, where hover shows that `x` (and not, say, the start of
    // the next line, which is `}`).
    let method = "textDocument/hover";
    let hover = client
        .request(
            method,
            json!({"textDocument": doc, "position": position(2, 500)}),
        )
        .await;
    let hover = ok(method, &hover);
    assert_eq!(hover["range"], range(2, 4, 2, 5), "{hover}");
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("x: int"),
        "{hover}"
    );
    // A range that ends past the end is clamped.
    let tokens = client
        .call(
            "textDocument/semanticTokens/range",
            json!({"textDocument": doc, "range": range(1, 0, 999, 0)}),
        )
        .await;
    assert!(!tokens["data"].as_array().unwrap().is_empty());
}

/// The binary on stdio: exit code 0 after shutdown and exit, 1 after exit alone.
#[test]
fn the_binary_speaks_lsp_on_stdio_and_exits_as_the_spec_says() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    fn read_message(reader: &mut impl BufRead) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }
    let run = |shutdown_first: bool| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chop-lsp"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut send = |message: Value| {
            stdin.write_all(&frame(&message.to_string())).unwrap();
            stdin.flush().unwrap();
        };
        send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        );
        let init = read_message(&mut stdout);
        assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-16");
        if shutdown_first {
            send(json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
            loop {
                let message = read_message(&mut stdout);
                if message["id"] == 2 {
                    assert_eq!(ok("shutdown", &message), Value::Null, "{message}");
                    break;
                }
            }
        }
        send(json!({"jsonrpc": "2.0", "method": "exit"}));
        // Stdin stays open: the server must exit on `exit` alone.
        let status = child.wait().unwrap();
        drop(stdin);
        status.code()
    };
    assert_eq!(run(true), Some(0));
    assert_eq!(run(false), Some(1));
}
