//! Every editor feature through the server: one `check_*` helper per request
//! kind, fixtures with the cursor (`$0`) and expected ranges (`«...»`),
//! insta snapshots of the responses.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};

// ------------------------------------------------------------------ helpers

/// Hover at the cursor: the markdown; the range must be the marked one, if any.
async fn check_hover(fixture: &str) -> String {
    let fx = Fixture::parse(fixture);
    let client = open(&fx.text).await;
    let hover = client.call("textDocument/hover", fx.at_cursor()).await;
    assert_eq!(hover["contents"]["kind"], "markdown", "{hover}");
    if let Some(range) = fx.lsp_ranges().first() {
        assert_eq!(&hover["range"], range, "{hover}");
    }
    hover["contents"]["value"].as_str().unwrap().to_string()
}

/// Definition at the cursor must be the marked range (or nothing when unmarked).
async fn check_definition(fixture: &str) {
    let fx = Fixture::parse(fixture);
    let client = open(&fx.text).await;
    let found = client.call("textDocument/definition", fx.at_cursor()).await;
    match fx.lsp_ranges().first() {
        Some(range) => {
            assert_eq!(found["uri"], URI, "{found}");
            assert_eq!(&found["range"], range, "{found}");
        }
        None => assert_eq!(found, Value::Null),
    }
}

/// References at the cursor must be exactly the marked ranges.
async fn check_references(fixture: &str, include_declaration: bool) {
    let fx = Fixture::parse(fixture);
    let client = open(&fx.text).await;
    let mut params = fx.at_cursor();
    params["context"] = json!({"includeDeclaration": include_declaration});
    let found = client.call("textDocument/references", params).await;
    let ranges: Vec<Value> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|loc| {
            assert_eq!(loc["uri"], URI);
            loc["range"].clone()
        })
        .collect();
    assert_eq!(mark(&fx.text, &ranges), mark(&fx.text, &fx.lsp_ranges()));
}

/// Highlights at the cursor: the text with each occurrence marked and its kind.
async fn check_highlights(fixture: &str) -> Vec<(String, i64)> {
    let fx = Fixture::parse(fixture);
    let client = open(&fx.text).await;
    let found = client
        .call("textDocument/documentHighlight", fx.at_cursor())
        .await;
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                format!(
                    "{}:{} {}",
                    h["range"]["start"]["line"],
                    h["range"]["start"]["character"],
                    text_of(&fx.text, &h["range"])
                ),
                h["kind"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Rename at the cursor: prepareRename must give the cursor's name, and the
/// result is the text after the edits.
async fn check_rename(fixture: &str, new_name: &str) -> String {
    let fx = Fixture::parse(fixture);
    let client = open(&fx.text).await;
    let prepared = client
        .call("textDocument/prepareRename", fx.at_cursor())
        .await;
    if let Some(range) = fx.lsp_ranges().first() {
        assert_eq!(&prepared, range);
    }
    let mut params = fx.at_cursor();
    params["newName"] = json!(new_name);
    let edit = client.call("textDocument/rename", params).await;
    let edits = edit["changes"][URI].as_array().unwrap().clone();
    apply_edits(&fx.text, &edits)
}

/// A refused rename: prepareRename and rename both answer with an error
/// (RequestFailed); returns the message.
async fn check_rename_refused(fixture: &str) -> String {
    let fx = Fixture::parse(fixture);
    let client = open(&fx.text).await;
    let prepared = client
        .request("textDocument/prepareRename", fx.at_cursor())
        .await;
    assert_eq!(prepared["error"]["code"], -32803, "{prepared}");
    let mut params = fx.at_cursor();
    params["newName"] = json!("renamed");
    let renamed = client.request("textDocument/rename", params).await;
    assert_eq!(renamed["error"]["code"], -32803, "{renamed}");
    prepared["error"]["message"].as_str().unwrap().to_string()
}

/// Completion at the cursor: the items.
async fn check_completion(fixture: &str, caps: Value) -> Vec<Value> {
    let fx = Fixture::parse(fixture);
    let client = open_with(&fx.text, caps, json!({})).await;
    let found = client.call("textDocument/completion", fx.at_cursor()).await;
    found.as_array().unwrap().clone()
}

fn labels(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["label"].as_str().unwrap().to_string())
        .collect()
}

/// Signature help at the cursor.
async fn check_signature(fixture: &str) -> Value {
    let fx = Fixture::parse(fixture);
    let client = open(&fx.text).await;
    client
        .call("textDocument/signatureHelp", fx.at_cursor())
        .await
}

/// Document symbols as `indent name kind detail [range text]`.
async fn check_symbols(text: &str, caps: Value) -> Value {
    let client = open_with(text, caps, json!({})).await;
    client
        .call(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": URI}}),
        )
        .await
}

/// Semantic tokens decoded: one `line:col text type.modifiers` per token.
fn decode_tokens(text: &str, data: &[Value], legend: &Value) -> Vec<String> {
    let types = legend["tokenTypes"].as_array().unwrap();
    let mods = legend["tokenModifiers"].as_array().unwrap();
    let (mut line, mut col) = (0u64, 0u64);
    data.chunks(5)
        .map(|t| {
            let (dl, dc, len, ty, m) = (
                t[0].as_u64().unwrap(),
                t[1].as_u64().unwrap(),
                t[2].as_u64().unwrap(),
                t[3].as_u64().unwrap(),
                t[4].as_u64().unwrap(),
            );
            if dl > 0 {
                line += dl;
                col = dc;
            } else {
                col += dc;
            }
            let start = json!({"line": line, "character": col});
            let end = json!({"line": line, "character": col + len});
            let word = text_of(text, &json!({"start": start, "end": end}));
            let modifiers: String = (0..mods.len())
                .filter(|bit| m & (1 << bit) != 0)
                .map(|bit| format!(".{}", mods[bit].as_str().unwrap()))
                .collect();
            format!(
                "{line}:{col} {word} {}{modifiers}",
                types[ty as usize].as_str().unwrap()
            )
        })
        .collect()
}

/// Folding ranges as `start..end kind` with the first line's text.
async fn check_folding(text: &str) -> Vec<String> {
    let client = open(text).await;
    let found = client
        .call(
            "textDocument/foldingRange",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    let lines: Vec<&str> = text.lines().collect();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|fold| {
            let start = fold["startLine"].as_u64().unwrap() as usize;
            format!(
                "{}..{} {} | {}",
                start,
                fold["endLine"],
                fold["kind"].as_str().unwrap_or("-"),
                lines[start].trim()
            )
        })
        .collect()
}

/// Selection ranges at the cursor, innermost first, as texts.
async fn check_selection(fixture: &str) -> Vec<String> {
    let fx = Fixture::parse(fixture);
    let client = open(&fx.text).await;
    let found = client
        .call(
            "textDocument/selectionRange",
            json!({"textDocument": {"uri": URI}, "positions": [fx.cursor_pos()]}),
        )
        .await;
    let mut out = Vec::new();
    let mut node = &found[0];
    while !node.is_null() {
        out.push(text_of(&fx.text, &node["range"]));
        node = &node["parent"];
    }
    out
}

/// Formatting: the text after the edits.
async fn check_formatting(text: &str) -> Value {
    let client = open(text).await;
    client
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": URI}, "options": {"tabSize": 4, "insertSpaces": true}}),
        )
        .await
}

/// Inlay hints over the whole text, shown in place: `let x«: float» = ...`.
async fn check_inlay_hints(text: &str) -> String {
    let client = open(text).await;
    let end = pos_in(text, text.len());
    let found = client
        .call(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": URI}, "range": {"start": {"line": 0, "character": 0}, "end": end}}),
        )
        .await;
    let mut inserts: Vec<(usize, String)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|hint| {
            let label = hint["label"].as_str().unwrap();
            let label = if hint["paddingRight"] == true {
                format!("{label} ")
            } else {
                label.to_string()
            };
            (offset_in(text, &hint["position"]), format!("«{label}»"))
        })
        .collect();
    inserts.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let mut out = text.to_string();
    for (at, label) in inserts {
        out.insert_str(at, &label);
    }
    out
}

/// Code actions for the marked range (or the cursor), with the document's
/// diagnostics there in the context: each title and the text after its edits.
async fn check_code_actions(fixture: &str) -> Vec<(String, String)> {
    let fx = Fixture::parse(fixture);
    let client = TestClient::start();
    client.initialize(capable(), json!({})).await;
    client.open(URI, &fx.text).await;
    let diags = client.diagnostics(URI, 1).await.unwrap();
    let range = match fx.lsp_ranges().first() {
        Some(range) => range.clone(),
        None => json!({"start": fx.cursor_pos(), "end": fx.cursor_pos()}),
    };
    let found = client
        .call(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": range, "context": {"diagnostics": diags}}),
        )
        .await;
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|action| {
            assert_eq!(action["kind"], "quickfix", "{action}");
            let edits = action["edit"]["changes"][URI].as_array().unwrap();
            (
                action["title"].as_str().unwrap().to_string(),
                apply_edits(&fx.text, edits),
            )
        })
        .collect()
}

use chop_lsp::harness::TestClient;

// ------------------------------------------------------------------ fixtures

const FILE: &str = r#"//! Test file: é and 🎨 in comments.

/// How strong the effect is.
param amount: float = 0.5 in 0.0..1.0;

/// Inverts a colour.
filter invert(c: color) -> color {
    let k = 1.0 - amount;
    rgb(k - c.r, k - c.g, k - c.b)
}

fn square(x: float) -> float {
    x * x
}

pipeline dark = invert |> invert(amount: 0.2);

fn main() {
    var total = 0.0;
    for i in 0..4 {
        total += square(float(i));
    }
    print("total 🎨:", total);
}
"#;

// ------------------------------------------------------------------ hover

#[tokio::test]
async fn hover_shows_a_params_range_and_default() {
    let text = FILE.replace("* x", "* x + $0amount");
    let text = text.replacen("$0amount", "«$0amount»", 1);
    insta::assert_snapshot!(check_hover(&text).await);
}

#[tokio::test]
async fn hover_shows_a_builtins_doc() {
    let text = FILE.replace("rgb(k - c.r", "«r$0gb»(k - c.r");
    insta::assert_snapshot!(check_hover(&text).await);
}

#[tokio::test]
async fn hover_shows_a_locals_type() {
    let text = FILE.replace(
        "print(\"total 🎨:\", total)",
        "print(\"total 🎨:\", «to$0tal»)",
    );
    insta::assert_snapshot!(check_hover(&text).await);
}

#[tokio::test]
async fn hover_on_nothing_is_null() {
    let fx = Fixture::parse(&FILE.replace("Inverts a colour", "Inverts a $0colour"));
    let client = open(&fx.text).await;
    assert_eq!(
        client.call("textDocument/hover", fx.at_cursor()).await,
        Value::Null
    );
}

// ------------------------------------------------------------------ navigation

#[tokio::test]
async fn definition_of_a_local_a_function_and_a_builtin() {
    check_definition(&FILE.replace("var total", "var «total»").replace(
        "print(\"total 🎨:\", total)",
        "print(\"total 🎨:\", to$0tal)",
    ))
    .await;
    check_definition(
        &FILE
            .replace("fn square", "fn «square»")
            .replace("+= square", "+= sq$0uare"),
    )
    .await;
    check_definition(&FILE.replace("rgb(k - c.r", "r$0gb(k - c.r")).await;
    check_definition(
        &FILE
            .replace("invert |>", "inv$0ert |>")
            .replace("filter invert", "filter «invert»"),
    )
    .await;
}

#[tokio::test]
async fn references_with_and_without_the_declaration() {
    let fixture = FILE.replace("let k = 1.0", "let «k» = 1.0").replace(
        "rgb(k - c.r, k - c.g, k - c.b)",
        "rgb(«k$0» - c.r, «k» - c.g, «k» - c.b)",
    );
    check_references(&fixture, true).await;
    let fixture = FILE.replace(
        "rgb(k - c.r, k - c.g, k - c.b)",
        "rgb(«k$0» - c.r, «k» - c.g, «k» - c.b)",
    );
    check_references(&fixture, false).await;
    let fixture = FILE
        .replace("param amount", "param «amount»")
        .replace("1.0 - amount", "1.0 - «amo$0unt»")
        .replace("invert(amount: 0.2)", "invert(«amount»: 0.2)");
    check_references(&fixture, true).await;
}

#[tokio::test]
async fn highlights_tell_writes_from_reads() {
    let fixture = FILE.replace("var total", "var tot$0al");
    insta::assert_debug_snapshot!(check_highlights(&fixture).await);
}

#[tokio::test]
async fn rename_a_local_and_an_item() {
    let renamed = check_rename(&FILE.replace("var total", "var «tot$0al»"), "sum").await;
    assert!(renamed.contains("var sum = 0.0;"));
    assert!(renamed.contains("sum += square"));
    assert!(renamed.contains("print(\"total 🎨:\", sum)"));
    let renamed = check_rename(&FILE.replace("fn square", "fn «squ$0are»"), "sq").await;
    assert!(renamed.contains("fn sq(x: float)"));
    assert!(renamed.contains("total += sq(float(i))"));
}

#[tokio::test]
async fn rename_is_refused_on_builtins_keywords_and_bad_names() {
    let builtin = check_rename_refused(&FILE.replace("rgb(k - c.r", "r$0gb(k - c.r")).await;
    assert!(builtin.contains("builtin"), "{builtin}");
    let keyword = check_rename_refused(&FILE.replace("for i in", "f$0or i in")).await;
    assert!(keyword.contains("keyword"), "{keyword}");
    insta::assert_snapshot!(format!("{builtin}\n{keyword}"));
    let fx = Fixture::parse(&FILE.replace("var total", "var tot$0al"));
    let client = open(&fx.text).await;
    let mut params = fx.at_cursor();
    params["newName"] = json!("for");
    let refused = client.request("textDocument/rename", params).await;
    assert_eq!(refused["error"]["code"], -32803, "{refused}");
}

// ------------------------------------------------------------------ completion

#[tokio::test]
async fn completion_of_fields_after_a_dot() {
    let items = check_completion(&FILE.replace("k - c.r,", "k - c.$0r,"), capable()).await;
    insta::assert_debug_snapshot!(labels(&items));
}

#[tokio::test]
async fn completion_in_a_body_offers_locals_params_and_builtins_with_docs() {
    let items = check_completion(
        &FILE.replace(
            "total += square(float(i));",
            "total += square(float(i));\n        $0",
        ),
        capable(),
    )
    .await;
    let names = labels(&items);
    for want in [
        "total", "i", "amount", "square", "mix", "clamp", "let", "for",
    ] {
        assert!(names.contains(&want.to_string()), "{want} in {names:?}");
    }
    let mix = items.iter().find(|item| item["label"] == "mix").unwrap();
    assert_eq!(mix["kind"], 3, "{mix}");
    assert!(mix["documentation"]["value"].as_str().unwrap().len() > 10);
    let total = items.iter().find(|item| item["label"] == "total").unwrap();
    insta::assert_json_snapshot!(total);
}

#[tokio::test]
async fn completion_in_a_pipeline_offers_filters() {
    let items = check_completion(
        &FILE.replace("invert |> invert(amount: 0.2);", "invert |> $0"),
        capable(),
    )
    .await;
    assert!(
        labels(&items).contains(&"invert".to_string()),
        "{:?}",
        labels(&items)
    );
    assert!(!labels(&items).contains(&"square".to_string()));
}

#[tokio::test]
async fn completion_snippets_follow_the_clients_support() {
    let fixture = format!("{FILE}\n$0");
    let with = check_completion(&fixture, capable()).await;
    let filter = with
        .iter()
        .find(|item| item["kind"] == 15 && item["label"].as_str().unwrap().starts_with("filter"))
        .unwrap();
    assert_eq!(filter["insertTextFormat"], 2, "{filter}");
    insta::assert_json_snapshot!("completion_snippet", filter);
    let without = check_completion(&fixture, json!({})).await;
    let filter = without
        .iter()
        .find(|item| item["kind"] == 15 && item["label"].as_str().unwrap().starts_with("filter"))
        .unwrap();
    assert_eq!(filter["insertTextFormat"], 1, "{filter}");
    assert!(!filter["insertText"].as_str().unwrap().contains('$'));
}

// ------------------------------------------------------------------ signature help

#[tokio::test]
async fn signature_help_of_a_builtin_and_a_function() {
    let help =
        check_signature(&FILE.replace("rgb(k - c.r, k - c.g", "rgb(k - c.r, k$0 - c.g")).await;
    assert_eq!(help["activeParameter"], 1, "{help}");
    insta::assert_json_snapshot!(help);
    let help = check_signature(&FILE.replace("square(float(i))", "square($0float(i))")).await;
    assert_eq!(
        help["signatures"][0]["label"],
        "fn square(x: float) -> float"
    );
    let params = &help["signatures"][0]["parameters"][0]["label"];
    assert_eq!(params, &json!([10, 18]));
}

// ------------------------------------------------------------------ symbols

#[tokio::test]
async fn document_symbols_nested_and_flat() {
    insta::assert_json_snapshot!(
        "document_symbols_nested",
        check_symbols(FILE, capable()).await
    );
    let flat = check_symbols(FILE, json!({})).await;
    let names: Vec<String> = flat
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} in {}",
                s["name"].as_str().unwrap(),
                s["containerName"].as_str().unwrap_or("-")
            )
        })
        .collect();
    insta::assert_debug_snapshot!("document_symbols_flat", names);
}

#[tokio::test]
async fn workspace_symbols_cover_open_documents_and_files_on_disk() {
    let dir = std::env::temp_dir().join(format!("chop-lsp-ws-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join("target")).unwrap();
    std::fs::write(
        dir.join("sub/blur.chop"),
        "filter soft_blur(c: color) -> color { c }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("target/skip.chop"),
        "filter skipped(c: color) -> color { c }\n",
    )
    .unwrap();
    std::fs::write(dir.join("open.chop"), "fn on_disk() {}\n").unwrap();
    let open_uri = format!("file://{}/open.chop", dir.display());
    let client = TestClient::start();
    client
        .call(
            "initialize",
            json!({"capabilities": {}, "workspaceFolders": [{"uri": format!("file://{}", dir.display()), "name": "ws"}]}),
        )
        .await;
    client.notify("initialized", json!({})).await;
    client
        .open(&open_uri, "fn in_editor() {}\nfn soft_ish() {}\n")
        .await;
    client.diagnostics(&open_uri, 1).await.unwrap();
    let found = client
        .call("workspace/symbol", json!({"query": "soft"}))
        .await;
    let mut names: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let uri = s["location"]["uri"].as_str().unwrap();
            format!(
                "{} {}",
                s["name"].as_str().unwrap(),
                &uri[uri.rfind('/').unwrap() + 1..]
            )
        })
        .collect();
    names.sort();
    assert_eq!(names, ["soft_blur blur.chop", "soft_ish open.chop"]);
    let all = client.call("workspace/symbol", json!({"query": ""})).await;
    let all: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(all.contains(&"in_editor"), "{all:?}");
    assert!(
        !all.contains(&"on_disk"),
        "the open document wins over the file: {all:?}"
    );
    assert!(!all.contains(&"skipped"), "{all:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------ semantic tokens

#[tokio::test]
async fn semantic_tokens_full_delta_and_range() {
    let client = open(FILE).await;
    let init_legend = chop_lsp::features::semantic_tokens::legend();
    let legend = serde_json::to_value(&init_legend).unwrap();
    let full = client
        .call(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    let data = full["data"].as_array().unwrap().clone();
    let decoded = decode_tokens(FILE, &data, &legend);
    insta::assert_debug_snapshot!("semantic_tokens_full", decoded);
    // An edit, then a delta against the first result.
    client
        .change(URI, 2, chop_lsp::harness::range(12, 4, 12, 9), "x * x * x")
        .await;
    let delta = client
        .call(
            "textDocument/semanticTokens/full/delta",
            json!({"textDocument": {"uri": URI}, "previousResultId": full["resultId"]}),
        )
        .await;
    let edits = delta["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{delta}");
    let mut patched = data.clone();
    let start = edits[0]["start"].as_u64().unwrap() as usize;
    let count = edits[0]["deleteCount"].as_u64().unwrap() as usize;
    patched.splice(
        start..start + count,
        edits[0]["data"].as_array().unwrap().iter().cloned(),
    );
    let again = client
        .call(
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    assert_eq!(&patched, again["data"].as_array().unwrap());
    // A stale result id gets the full tokens.
    let stale = client
        .call(
            "textDocument/semanticTokens/full/delta",
            json!({"textDocument": {"uri": URI}, "previousResultId": "nope"}),
        )
        .await;
    assert!(stale["data"].is_array(), "{stale}");
    // Range: the tokens of `fn square ... }` only.
    let range = client
        .call(
            "textDocument/semanticTokens/range",
            json!({"textDocument": {"uri": URI}, "range": chop_lsp::harness::range(11, 0, 13, 1)}),
        )
        .await;
    let text = FILE.replace("    x * x\n", "    x * x * x\n");
    let decoded = decode_tokens(&text, range["data"].as_array().unwrap(), &legend);
    insta::assert_debug_snapshot!("semantic_tokens_range", decoded);
}

// ------------------------------------------------------------------ folding, selection

#[tokio::test]
async fn folding_ranges() {
    insta::assert_debug_snapshot!(check_folding(FILE).await);
}

#[tokio::test]
async fn selection_ranges_grow_outwards() {
    let found = check_selection(&FILE.replace("square(float(i))", "square(float(i$0))")).await;
    insta::assert_debug_snapshot!(found);
}

// ------------------------------------------------------------------ formatting

#[tokio::test]
async fn formatting_uses_the_formatter() {
    let messy = "fn  f(x:int)->int{\nlet y=x*2;\n  y}\n";
    let response = check_formatting(messy).await;
    let edits = ok("formatting", &response);
    let formatted = apply_edits(messy, edits.as_array().unwrap());
    assert_eq!(formatted, chop_ide::fmt::format(messy).unwrap());
    insta::assert_snapshot!(formatted);
    let clean = check_formatting(&formatted).await;
    assert_eq!(ok("formatting", &clean), json!([]));
}

#[tokio::test]
async fn formatting_sends_only_the_changed_lines() {
    // Two lines out of format, far apart: two edits, each on its own line.
    let clean = chop_ide::fmt::format(FILE).unwrap();
    let messy =
        clean
            .replacen("    x * x\n", "    x*x\n", 1)
            .replacen("fn main() {", "fn  main(){", 1);
    assert_ne!(messy, clean);
    let response = check_formatting(&messy).await;
    let edits = ok("formatting", &response).as_array().unwrap().clone();
    assert_eq!(edits.len(), 2, "{edits:#?}");
    for edit in &edits {
        let range = &edit["range"];
        assert_eq!(
            range["end"]["line"].as_u64().unwrap(),
            range["start"]["line"].as_u64().unwrap() + 1,
            "{edit}"
        );
    }
    assert_eq!(apply_edits(&messy, &edits), clean);
    assert_eq!(ok("formatting", &check_formatting(&clean).await), json!([]));
}

#[tokio::test]
async fn formatting_refuses_a_file_with_syntax_errors() {
    let response = check_formatting("fn f( {\n let = ;\n").await;
    assert_eq!(response["error"]["code"], -32803, "{response}");
    assert!(response["error"]["message"]
        .as_str()
        .unwrap()
        .contains("syntax errors"));
}

// ------------------------------------------------------------------ hints, actions, lenses

#[tokio::test]
async fn inlay_hints_show_types_and_parameter_names() {
    insta::assert_snapshot!(check_inlay_hints(FILE).await);
}

#[tokio::test]
async fn code_actions_quick_fixes() {
    let out = check_code_actions(&FILE.replace(
        "param amount: float = 0.5 in 0.0..1.0;",
        "param amount: float = «1.5» in 0.0..1.0;",
    ))
    .await;
    assert!(!out.is_empty());
    let fixed = &out[0].1;
    assert!(
        fixed.contains("param amount: float = 1.0 in 0.0..1.0;"),
        "{fixed}"
    );
    let out = check_code_actions(&FILE.replace("x * x\n}", "x * «xx»\n}")).await;
    assert!(
        out.iter().any(|(title, _)| title.contains("`x`")),
        "{out:?}"
    );
    let out = check_code_actions(&FILE.replace(
        "fn square(x: float) -> float {\n    x * x\n}",
        "fn square(x: float) -> float {\n    let y = x * x;\n«}»",
    ))
    .await;
    insta::assert_debug_snapshot!("code_actions_missing_return", out);
}

#[tokio::test]
async fn code_lenses_above_filters() {
    let client = open(FILE).await;
    let found = client
        .call(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": URI}}),
        )
        .await;
    insta::assert_json_snapshot!(found);
}

// ------------------------------------------------------------------ non-ASCII

#[tokio::test]
async fn positions_stay_right_around_accents_and_emoji_in_both_encodings() {
    // The name after emoji in a string and a comment on the same line.
    let text =
        "fn main() {\n    print(\"🎨🎨 é\"); let cafe = 1; print(\"é🎨\", cafe); // 🎨 café\n}\n";
    let decl = text.find("cafe").unwrap();
    let usage = text.rfind("cafe);").unwrap();
    for (caps, utf8) in [
        (
            json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}),
            true,
        ),
        (json!({}), false),
    ] {
        let client = TestClient::start();
        let init = client.initialize(caps, json!({})).await;
        assert_eq!(
            init["capabilities"]["positionEncoding"],
            if utf8 { "utf-8" } else { "utf-16" }
        );
        client.open(URI, text).await;
        client.diagnostics(URI, 1).await.unwrap();
        let col = |offset: usize| {
            let start = text[..offset].rfind('\n').unwrap() + 1;
            if utf8 {
                offset - start
            } else {
                text[start..offset].encode_utf16().count()
            }
        };
        let found = client
            .call(
                "textDocument/definition",
                json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": col(usage) + 1}}),
            )
            .await;
        assert_eq!(found["range"]["start"]["character"], col(decl));
        assert_eq!(
            found["range"]["end"]["character"],
            col(decl + "cafe".len()),
            "{found}"
        );
        let refs = client
            .call(
                "textDocument/references",
                json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": col(decl)}, "context": {"includeDeclaration": true}}),
            )
            .await;
        let starts: Vec<u64> = refs
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["range"]["start"]["character"].as_u64().unwrap())
            .collect();
        assert_eq!(starts, [col(decl) as u64, col(usage) as u64]);
        // An edit after the emoji, in the client's units: `cafe` becomes `cafes` at the use.
        client
            .change(
                URI,
                2,
                json!({"start": {"line": 1, "character": col(usage + "cafe".len())}, "end": {"line": 1, "character": col(usage + "cafe".len())}}),
                "s",
            )
            .await;
        let diags = client.diagnostics(URI, 2).await.unwrap();
        assert_eq!(diags.len(), 2, "{diags:?}");
        let unknown = diags.iter().find(|d| d["code"] == "E0003").unwrap();
        assert_eq!(unknown["range"]["start"]["character"], col(usage));
        assert_eq!(
            unknown["range"]["end"]["character"],
            col(usage + "cafes".len())
        );
    }
}
