//! Files that use other files (`lsp/tests/fixtures/modules/`): diagnostics of a
//! bad `use` and of a used file, definition, hover and completion across files,
//! references and rename across files, workspace symbols of used files,
//! re-checks when a used file changes, `chop/params` and `chop/preview` of a
//! pipeline whose filters come from another file, and the library's pipelines.

#![allow(clippy::unwrap_used)]

mod common;

use chop_lsp::harness::TestClient;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fixture folder.
fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/modules")
}

/// The `file:` URI of a path.
fn uri(path: &Path) -> String {
    chop_lsp::convert::uri_of(path)
        .unwrap()
        .as_str()
        .to_string()
}

/// The fixture file `name`: its URI and text.
fn fixture(name: &str) -> (String, String) {
    let path = dir().join(name);
    (uri(&path), std::fs::read_to_string(&path).unwrap())
}

/// A started server (a capable client that watches files).
async fn server() -> TestClient {
    let client = TestClient::start();
    let mut caps = capable();
    caps["workspace"] = json!({"didChangeWatchedFiles": {"dynamicRegistration": true}});
    client.initialize(caps, json!({})).await;
    client
}

/// Opens the fixture `name`; its URI, text and first diagnostics.
async fn open_fixture(client: &TestClient, name: &str) -> (String, String, Vec<Value>) {
    let (uri, text) = fixture(name);
    client.open(&uri, &text).await;
    let diags = client.diagnostics(&uri, 1).await.expect("diagnostics");
    (uri, text, diags)
}

/// `{textDocument, position}` at the first `what` in `text` (plus `plus` bytes).
fn at(uri: &str, text: &str, what: &str, plus: usize) -> Value {
    let offset = text.find(what).unwrap() + plus;
    json!({"textDocument": {"uri": uri}, "position": pos_in(text, offset)})
}

fn codes(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|diag| diag["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn a_program_is_checked_with_the_files_it_uses() {
    let client = server().await;
    let (_, _, diags) = open_fixture(&client, "pipelines/look.chop").await;
    assert_eq!(diags, Vec::<Value>::new(), "{diags:#?}");
}

#[tokio::test]
async fn a_bad_use_is_an_error_at_the_use() {
    let client = server().await;
    let (_, text, diags) = open_fixture(&client, "bad_use.chop").await;
    let missing: Vec<&Value> = diags.iter().filter(|d| d["code"] == "E0023").collect();
    assert_eq!(missing.len(), 1, "{diags:#?}");
    assert_eq!(text_of(&text, &missing[0]["range"]), "\"missing.chop\"");
    assert!(missing[0]["message"]
        .as_str()
        .unwrap()
        .contains("missing.chop"));
}

#[tokio::test]
async fn a_used_files_errors_are_published_once_under_its_uri() {
    let client = server().await;
    let (_, _, diags) = open_fixture(&client, "uses_broken.chop").await;
    assert!(
        !codes(&diags).contains(&"E0004".to_string()),
        "the user gets its own diagnostics only: {diags:#?}"
    );
    let (lib_uri, lib_text) = fixture("broken_lib.chop");
    let published = client
        .wait_for(Duration::from_secs(20), |n| {
            n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == lib_uri
        })
        .await
        .expect("the used file's diagnostics");
    let lib_diags = published.message["params"]["diagnostics"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(codes(&lib_diags), vec!["E0004"], "{lib_diags:#?}");
    assert_eq!(text_of(&lib_text, &lib_diags[0]["range"]), "true");
}

#[tokio::test]
async fn definition_goes_into_the_used_file() {
    let client = server().await;
    let (uri, text, _) = open_fixture(&client, "pipelines/look.chop").await;
    let (tone_uri, tone) = fixture("tone.chop");
    let want = |name: &str| {
        let start = tone.find(name).unwrap();
        json!({"uri": tone_uri, "range": {"start": pos_in(&tone, start), "end": pos_in(&tone, start + name.len())}})
    };
    let unqualified = client
        .call("textDocument/definition", at(&uri, &text, "= warm", 3))
        .await;
    let override_ = client
        .call("textDocument/definition", at(&uri, &text, "warmth:", 1))
        .await;
    let mut param = want("warmth:");
    param["range"]["end"] = pos_in(&tone, tone.find("warmth:").unwrap() + "warmth".len());
    assert_eq!(override_, param);
    let mut filter = want("warm(");
    filter["range"]["end"] = pos_in(&tone, tone.find("warm(").unwrap() + "warm".len());
    assert_eq!(unqualified, filter);
}

#[tokio::test]
async fn hover_shows_a_used_items_signature_and_doc() {
    let client = server().await;
    let (uri, text, _) = open_fixture(&client, "pipelines/look.chop").await;
    let hover = client
        .call("textDocument/hover", at(&uri, &text, "= warm", 3))
        .await;
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("filter warm(c: color) -> color"), "{value}");
    assert!(value.contains("Warms a colour by `warmth`."), "{value}");
    assert!(value.contains("tone.chop"), "{value}");
}

#[tokio::test]
async fn completion_of_use_paths_and_used_items() {
    let client = server().await;
    let path = dir().join("pipelines/new.chop");
    let new_uri = uri(&path);
    let text = "use \"../";
    client.open(&new_uri, text).await;
    client.diagnostics(&new_uri, 1).await.expect("diagnostics");
    let items = client
        .call(
            "textDocument/completion",
            json!({"textDocument": {"uri": new_uri}, "position": pos_in(text, text.len())}),
        )
        .await;
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["label"].as_str().unwrap())
        .collect();
    for want in ["tone.chop", "pipelines/", "broken_lib.chop"] {
        assert!(labels.contains(&want), "{want} in {labels:?}");
    }
    assert!(!labels.contains(&"pipeline"), "{labels:?}");

    let (uri, text, _) = open_fixture(&client, "pipelines/look.chop").await;
    let items = client
        .call("textDocument/completion", at(&uri, &text, "|> ", 3))
        .await;
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"warm"), "{labels:?}");
    assert!(labels.contains(&"tone.warm"), "{labels:?}");
    assert!(
        !labels.iter().any(|label| label.contains("_helper")),
        "{labels:?}"
    );
}

#[tokio::test]
async fn a_change_to_a_used_file_rechecks_its_users() {
    let client = server().await;
    let (look_uri, _, diags) = open_fixture(&client, "pipelines/look.chop").await;
    assert!(diags.is_empty(), "{diags:#?}");
    let (tone_uri, tone, _) = open_fixture(&client, "tone.chop").await;
    // Rename the filter in the open (unsaved) buffer: the pipeline no longer finds it.
    let start = tone.find("warm(").unwrap();
    let range = json!({"start": pos_in(&tone, start), "end": pos_in(&tone, start + 4)});
    client.change(&tone_uri, 2, range.clone(), "hot").await;
    let look_uri2 = look_uri.clone();
    let rechecked = client
        .wait_for(Duration::from_secs(20), move |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == look_uri2
                && n["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(|d| !d.is_empty())
        })
        .await
        .expect("the user re-checked");
    let diags = rechecked.message["params"]["diagnostics"]
        .as_array()
        .unwrap();
    assert!(
        diags.iter().all(|d| d["severity"] == 1),
        "errors where `warm` is used: {diags:#?}"
    );
    // And back: the errors go.
    let range = json!({"start": pos_in(&tone, start), "end": pos_in(&tone, start + 3)});
    client.change(&tone_uri, 3, range, "warm").await;
    let look_uri3 = look_uri.clone();
    client
        .wait_for(Duration::from_secs(20), move |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == look_uri3
                && n["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(|d| d.is_empty())
        })
        .await
        .expect("the user re-checked again");
}

#[tokio::test]
async fn a_file_changed_on_disk_rechecks_its_users() {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsp-modules-watch");
    std::fs::create_dir_all(&folder).unwrap();
    let lib = folder.join("lib.chop");
    std::fs::write(&lib, "filter f(c: color) -> color {\n    c\n}\n").unwrap();
    let main = folder.join("main.chop");
    let main_text = "use \"lib.chop\";\n\npipeline p = f;\n";
    let client = server().await;
    let main_uri = uri(&main);
    client.open(&main_uri, main_text).await;
    let diags = client.diagnostics(&main_uri, 1).await.unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    // The server asks to watch `.chop` files.
    let registered = client.server_requests().iter().any(|request| {
        request["method"] == "client/registerCapability"
            && request["params"]["registrations"][0]["method"] == "workspace/didChangeWatchedFiles"
    });
    assert!(registered, "{:?}", client.server_requests());
    std::fs::write(&lib, "filter g(c: color) -> color {\n    c\n}\n").unwrap();
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": uri(&lib), "type": 2}]}),
        )
        .await;
    let main_uri2 = main_uri.clone();
    let rechecked = client
        .wait_for(Duration::from_secs(20), move |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == main_uri2
                && n["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(|d| !d.is_empty())
        })
        .await
        .expect("re-checked after the change on disk");
    let diags = rechecked.message["params"]["diagnostics"]
        .as_array()
        .unwrap();
    assert_eq!(text_of(main_text, &diags[0]["range"]), "f");
}

#[tokio::test]
async fn params_and_preview_of_a_pipeline_from_another_file() {
    let client = server().await;
    let (uri, _, _) = open_fixture(&client, "pipelines/look.chop").await;
    let params = client
        .call("chop/params", json!({"textDocument": {"uri": uri}}))
        .await;
    let rows = params.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{params:#}");
    assert_eq!(rows[0]["name"], "tone.warmth");
    assert_eq!(rows[0]["default"], 0.5);
    let (tone_uri, tone) = fixture("tone.chop");
    assert_eq!(rows[0]["file"], tone_uri.as_str());
    assert_eq!(
        rows[0]["range"]["start"],
        pos_in(&tone, tone.find("param warmth").unwrap())
    );
    let result = client
        .call(
            "chop/preview",
            json!({"textDocument": {"uri": uri}, "pipeline": "look", "level": 1,
                   "params": {"warmth": 0.25}}),
        )
        .await;
    assert!(result["width"].as_u64().unwrap() > 0, "{result}");
    assert!(result["instructions"].as_u64().unwrap() > 0, "{result}");
    let unknown = client
        .request(
            "chop/preview",
            json!({"textDocument": {"uri": uri}, "pipeline": "look", "params": {"nope": 1.0}}),
        )
        .await;
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{unknown}"
    );
}

#[tokio::test]
async fn the_librarys_pipelines_have_no_errors() {
    let client = server().await;
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/pipelines");
    let path = chunkvm::modules::normalize(&folder.join("old_photo.chop"));
    let old_photo = uri(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    client.open(&old_photo, &text).await;
    let diags = client.diagnostics(&old_photo, 1).await.unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    let params = client
        .call("chop/params", json!({"textDocument": {"uri": old_photo}}))
        .await;
    let names: Vec<&str> = params
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"sepia.amount"), "{names:?}");
    assert!(names.contains(&"vignette.strength"), "{names:?}");
}

/// A started server whose workspace folder is `root`, with `caps` besides.
async fn server_in(root: &Path, mut caps: Value) -> TestClient {
    let client = TestClient::start();
    caps["workspace"]["didChangeWatchedFiles"] = json!({"dynamicRegistration": true});
    client
        .call(
            "initialize",
            json!({"capabilities": caps, "workspaceFolders": [{"uri": uri(root), "name": "ws"}]}),
        )
        .await;
    client.notify("initialized", json!({})).await;
    client
}

/// `(file name, text at the range)` of each location, in order.
fn places(found: &Value) -> Vec<(String, String)> {
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|loc| {
            let uri = loc["uri"].as_str().unwrap();
            let path = chop_lsp::convert::path_of(&uri.parse().unwrap()).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, text_of(&text, &loc["range"]))
        })
        .collect()
}

#[tokio::test]
async fn references_of_a_used_item_from_the_user_and_from_its_file() {
    let client = server_in(&dir(), capable()).await;
    let (uri, text, _) = open_fixture(&client, "pipelines/look.chop").await;
    let mut params = at(&uri, &text, "= warm", 3);
    params["context"] = json!({"includeDeclaration": true});
    let found = client.call("textDocument/references", params).await;
    let want = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(file, text)| (file.to_string(), text.to_string()))
            .collect()
    };
    assert_eq!(
        places(&found),
        want(&[
            ("tone.chop", "warm"),
            ("look.chop", "warm"),
            ("look.chop", "warm")
        ]),
        "{found:#}"
    );
    // From the declaring file, not open: the user on disk is found (in the
    // workspace folder), the declaration left out when asked.
    let client = server_in(&dir(), capable()).await;
    let (tone_uri, tone, _) = open_fixture(&client, "tone.chop").await;
    let mut params = at(&tone_uri, &tone, "warmth:", 1);
    params["context"] = json!({"includeDeclaration": false});
    let found = client.call("textDocument/references", params).await;
    assert_eq!(
        places(&found),
        want(&[("tone.chop", "warmth"), ("look.chop", "warmth")]),
        "{found:#}"
    );
}

#[tokio::test]
async fn renaming_a_used_item_edits_every_file_in_one_edit() {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsp-modules-rename");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(folder.join("lib")).unwrap();
    let lib = folder.join("lib/tint.chop");
    let lib_text = "param amount: float = 0.5 in 0.0..1.0;\n\nfn f(x: float) -> float {\n    x * amount\n}\n\nfilter warm(c: color) -> color {\n    rgba(f(c.r), c.g, c.b, c.a)\n}\n";
    std::fs::write(&lib, lib_text).unwrap();
    let main = folder.join("main.chop");
    let main_text = "use \"lib/tint.chop\" as m;\n\nfn g(y: float) -> float {\n    m.f(y) + m.amount\n}\n\npipeline p = m.warm(amount: 0.2);\n";
    std::fs::write(&main, main_text).unwrap();
    let other = folder.join("other.chop");
    let other_text = "use \"lib/tint.chop\";\n\nfn h(y: float) -> float {\n    f(y)\n}\n";
    std::fs::write(&other, other_text).unwrap();
    let mut caps = capable();
    caps["workspace"] = json!({"workspaceEdit": {"documentChanges": true}});
    let client = server_in(&folder, caps).await;
    let main_uri = uri(&main);
    client.open(&main_uri, main_text).await;
    let diags = client.diagnostics(&main_uri, 1).await.unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    // prepareRename on a qualified use: only the name.
    let prepared = client
        .call(
            "textDocument/prepareRename",
            at(&main_uri, main_text, "m.f(", 2),
        )
        .await;
    assert_eq!(text_of(main_text, &prepared), "f");
    let mut params = at(&main_uri, main_text, "m.f(", 2);
    params["newName"] = json!("scale");
    let edit = client.call("textDocument/rename", params).await;
    let changes = edit["documentChanges"].as_array().unwrap();
    assert_eq!(changes.len(), 3, "{edit:#}");
    let mut renamed = Vec::new();
    for change in changes {
        let doc_uri = change["textDocument"]["uri"].as_str().unwrap();
        let (path, text) = if doc_uri == main_uri {
            assert_eq!(change["textDocument"]["version"], 1, "{change}");
            (&main, main_text)
        } else if doc_uri == uri(&lib) {
            assert!(change["textDocument"]["version"].is_null(), "{change}");
            (&lib, lib_text)
        } else {
            assert_eq!(doc_uri, uri(&other));
            (&other, other_text)
        };
        let edits = change["edits"].as_array().unwrap().clone();
        renamed.push((path.clone(), apply_edits(text, &edits)));
    }
    renamed.sort();
    let texts: Vec<&str> = renamed.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            lib_text
                .replace("fn f(", "fn scale(")
                .replace("(f(c.r)", "(scale(c.r)"),
            main_text.replace("m.f(y)", "m.scale(y)"),
            other_text.replace("    f(y)", "    scale(y)"),
        ],
    );

    // A clash in another file is refused, naming the file and the line.
    let mut params = at(&main_uri, main_text, "m.f(", 2);
    params["newName"] = json!("h");
    let refused = client.request("textDocument/rename", params).await;
    let message = refused["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("other.chop") && message.contains("line 3"),
        "{refused}"
    );
    // A param overridden by a stage, renamed from the override.
    let mut params = at(&main_uri, main_text, "amount:", 1);
    params["newName"] = json!("strength");
    let edit = client.call("textDocument/rename", params).await;
    let changes = edit["documentChanges"].as_array().unwrap();
    let total: usize = changes
        .iter()
        .map(|change| change["edits"].as_array().unwrap().len())
        .sum();
    // lib: the declaration and `x * amount`; main: `m.amount` and the override.
    assert_eq!(total, 4, "{edit:#}");
}

#[tokio::test]
async fn workspace_symbols_include_used_files_outside_the_folders() {
    let client = server_in(&dir().join("pipelines"), capable()).await;
    let (_, _, _) = open_fixture(&client, "pipelines/look.chop").await;
    let found = client
        .call("workspace/symbol", json!({"query": "warm"}))
        .await;
    let files: Vec<(String, String)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|symbol| {
            let uri = symbol["location"]["uri"].as_str().unwrap();
            (
                symbol["name"].as_str().unwrap().to_string(),
                uri[uri.rfind('/').unwrap() + 1..].to_string(),
            )
        })
        .collect();
    assert!(
        files.contains(&("warm".to_string(), "tone.chop".to_string())),
        "{files:?}"
    );
}

/// A folder of its own under the tests' temporary folder, emptied.
fn scratch(name: &str) -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// The diagnostics of `uri` published so far, newest last.
fn published(client: &TestClient, uri: &str) -> Vec<Value> {
    client
        .notifications("textDocument/publishDiagnostics")
        .into_iter()
        .filter(|n| n["params"]["uri"] == uri)
        .collect()
}

#[tokio::test]
async fn an_edit_inside_a_used_files_bodies_leaves_its_users_as_they_are_until_asked() {
    let folder = scratch("lsp-modules-bodies");
    let lib_text =
        "fn a(x: float) -> float {\n    x\n}\n\nfilter f(c: color) -> color {\n    c\n}\n";
    let lib = folder.join("lib.chop");
    std::fs::write(&lib, lib_text).unwrap();
    let main = folder.join("main.chop");
    let main_text = "use \"lib.chop\";\n\npipeline p = f;\n";
    std::fs::write(&main, main_text).unwrap();
    let client = server().await;
    let (main_uri, lib_uri) = (uri(&main), uri(&lib));
    // The used file first: opening it later would check the user again.
    client.open(&lib_uri, lib_text).await;
    client.diagnostics(&lib_uri, 1).await.unwrap();
    client.open(&main_uri, main_text).await;
    let diags = client.diagnostics(&main_uri, 1).await.unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    let definition = at(&main_uri, main_text, "= f", 2);
    let found = client
        .call("textDocument/definition", definition.clone())
        .await;
    assert_eq!(found["range"]["start"]["line"], 4, "{found}");
    client.clear_notifications();

    // Two lines more in `a`'s body: `f` moves down, nothing `main` sees changes.
    let body = lib_text.find("    x").unwrap();
    let at_body = json!({"start": pos_in(lib_text, body), "end": pos_in(lib_text, body)});
    client
        .change(&lib_uri, 2, at_body, "let y = 1;\n    let z = y;\n    ")
        .await;
    let own = client.diagnostics(&lib_uri, 2).await.unwrap();
    assert_eq!(own.len(), 1, "`z` is never read: {own:#?}");
    // The user is neither published again (its diagnostics are the same) ...
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(published(&client, &main_uri), Vec::<Value>::new());
    // ... nor behind when asked: the definition is where `f` is now.
    let found = client
        .call("textDocument/definition", definition.clone())
        .await;
    assert_eq!(found["range"]["start"]["line"], 6, "{found}");

    // Renaming `f` is outside the bodies: the user is checked again at once.
    let edited = "fn a(x: float) -> float {\n    let y = 1;\n    let z = y;\n    x\n}\n\nfilter f(c: color) -> color {\n    c\n}\n";
    let name = edited.find("f(c").unwrap();
    let range = json!({"start": pos_in(edited, name), "end": pos_in(edited, name + 1)});
    client.change(&lib_uri, 3, range, "g").await;
    let main_uri2 = main_uri.clone();
    let rechecked = client
        .wait_for(Duration::from_secs(20), move |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == main_uri2
                && n["params"]["diagnostics"]
                    .as_array()
                    .is_some_and(|d| !d.is_empty())
        })
        .await
        .expect("the user checked again after a rename in the used file");
    let diags = rechecked.message["params"]["diagnostics"]
        .as_array()
        .unwrap();
    assert_eq!(text_of(main_text, &diags[0]["range"]), "f");
}

#[tokio::test]
async fn a_new_search_path_checks_the_files_that_use_others_again() {
    let folder = scratch("lsp-modules-lib-setting");
    std::fs::create_dir_all(folder.join("shades")).unwrap();
    std::fs::write(
        folder.join("shades/shade.chop"),
        "filter dark(c: color) -> color {\n    c * 0.5\n}\n",
    )
    .unwrap();
    let main = folder.join("main.chop");
    let main_text = "use \"shade.chop\";\n\npipeline p = dark;\n";
    let client = server_in(&folder, capable()).await;
    let main_uri = uri(&main);
    client.open(&main_uri, main_text).await;
    let diags = client.diagnostics(&main_uri, 1).await.unwrap();
    assert!(!diags.is_empty(), "`shade.chop` is not beside `main.chop`");
    client.clear_notifications();
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"chop": {"lib": ["shades"]}}}),
        )
        .await;
    let main_uri2 = main_uri.clone();
    client
        .wait_for(Duration::from_secs(20), move |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == main_uri2
                && n["params"]["diagnostics"] == json!([])
        })
        .await
        .expect("checked again with the library's new folder");
}

#[tokio::test]
async fn a_file_created_on_disk_is_found_by_the_use_that_missed_it() {
    let folder = scratch("lsp-modules-created");
    let main = folder.join("main.chop");
    let main_text = "use \"later.chop\";\n\npipeline p = soon;\n";
    let client = server().await;
    let main_uri = uri(&main);
    client.open(&main_uri, main_text).await;
    let diags = client.diagnostics(&main_uri, 1).await.unwrap();
    assert!(!diags.is_empty(), "`later.chop` does not exist yet");
    client.clear_notifications();
    let later = folder.join("later.chop");
    std::fs::write(&later, "filter soon(c: color) -> color {\n    c\n}\n").unwrap();
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": uri(&later), "type": 1}]}),
        )
        .await;
    let main_uri2 = main_uri.clone();
    client
        .wait_for(Duration::from_secs(20), move |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == main_uri2
                && n["params"]["diagnostics"] == json!([])
        })
        .await
        .expect("checked again once the used file exists");
}
