//! A panic in a handler or in the analysis never takes the server down
//! (faults injected with `chop_lsp::guard::fail_next`; this file is its own
//! process, so the injection reaches only these tests).

#![allow(clippy::unwrap_used)]

mod common;

use chop_lsp::guard::fail_next;
use chop_lsp::harness::{position, range};
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_panicking_request_is_an_internal_error_and_the_server_goes_on() {
    let client = open("fn main() {\n    let x = 1;\n    print(x);\n}\n").await;
    let at = json!({"textDocument": {"uri": URI}, "position": position(2, 10)});
    fail_next("hover");
    let failed = client.request("textDocument/hover", at.clone()).await;
    assert_eq!(failed["error"]["code"], -32603, "{failed}");
    assert!(failed["error"]["message"]
        .as_str()
        .unwrap()
        .contains("internal error in hover"));
    let hover = client.call("textDocument/hover", at.clone()).await;
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("x: int"));
    fail_next("semanticTokens/full");
    let failed = client
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    assert_eq!(failed["error"]["code"], -32603, "{failed}");
    // A panic of the re-analysis after an edit: the text is analysed afresh.
    fail_next("analysis");
    client.change(URI, 2, range(1, 12, 1, 13), "true").await;
    let diags = client.diagnostics(URI, 2).await.unwrap();
    assert!(diags.is_empty(), "{diags:?}");
    client.change(URI, 3, range(2, 10, 2, 11), "x + 1").await;
    let diags = client.diagnostics(URI, 3).await.unwrap();
    assert_eq!(diags[0]["code"], "E0004", "{diags:?}");
    assert_eq!(client.shutdown().await, Some(true));
}
