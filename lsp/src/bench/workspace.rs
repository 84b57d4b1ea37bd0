//! The workspace half of `chop-lsp bench`: 50 generated files in a temporary
//! folder that `use` each other (a binary tree: file `k` uses files `2k+1`
//! and `2k+2`, so the root's program holds all 50), a few hundred lines each,
//! all opened through the real framing.
//!
//! Measured over [`RUNS`] runs each, p50 and p99: edit to diagnostics in the
//! root (a file that uses the 49 others, through its two children); an edit
//! inside a body of a leaf (a file that others use) to its diagnostics, then a
//! hover in the root (answered from its last analysis: what it shows of the leaf
//! is unchanged) and a definition there (which waits for the root to be analysed
//! again, as a request that reads positions in used files does); an edit of the leaf's param, after
//! which every open file whose program holds the leaf is checked again, up to
//! the root, whose new diagnostics are timed; definition into a used file,
//! completion, hover, document symbols and semantic tokens in the root.

use super::{typed, Row, RUNS};
use crate::harness::{range, TestClient};
use serde_json::json;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Files in the workspace.
pub const FILES: usize = 50;

/// Lines of each file (about).
const LINES: usize = 300;

/// The name of file `k`.
fn name(k: usize) -> String {
    format!("m{k:02}.chop")
}

/// The files file `k` uses.
fn children(k: usize) -> Vec<usize> {
    [2 * k + 1, 2 * k + 2]
        .into_iter()
        .filter(|&child| child < FILES)
        .collect()
}

/// The number of helpers in a file of about `lines` lines.
fn helpers(lines: usize) -> usize {
    lines.saturating_sub(12) / 13
}

/// File `k` of the workspace: a param, helpers calling each other (the first
/// calls the last helper of each file it uses), a filter. Every line is valid.
pub fn module(k: usize, lines: usize) -> String {
    let mut out = format!("//! File {k} of the chop-lsp benchmark's workspace.\n\n");
    for child in children(k) {
        let _ = writeln!(out, "use \"{}\";", name(child));
    }
    let _ = write!(
        out,
        "\n/// Strength of file {k}.\nparam s{k}: float = 0.5 in 0.0..1.0;\n\n"
    );
    let count = helpers(lines);
    for j in 0..count {
        let prev = if j > 0 {
            format!("h{k}_{}(a, 1)", j - 1)
        } else {
            let calls: Vec<String> = children(k)
                .into_iter()
                .map(|c| format!("h{c}_{}(a, 1)", helpers(lines) - 1))
                .collect();
            if calls.is_empty() {
                "0.0".to_string()
            } else {
                calls.join(" + ")
            }
        };
        let _ = write!(
            out,
            "/// Helper {j} of file {k}.\n\
             fn h{k}_{j}(a: float, b: int) -> float {{\n\
             \x20   let x = a * 2.0 + float(b);\n\
             \x20   var acc = 0.0;\n\
             \x20   for i in 0..b {{\n\
             \x20       acc += x * float(i) - s{k};\n\
             \x20   }}\n\
             \x20   if acc > 10.0 {{\n\
             \x20       return acc / 2.0;\n\
             \x20   }}\n\
             \x20   clamp(acc, 0.0, 100.0) + {prev}\n\
             }}\n\n"
        );
    }
    let _ = write!(
        out,
        "/// Tone of file {k}.\nfilter tone{k}(c: color) -> color {{\n\
         \x20   let g = luma(c);\n\
         \x20   mix(c, rgb(g, g, g), s{k})\n}}\n"
    );
    out
}

/// Writes the workspace into `dir`; the paths, by file.
pub fn write(dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    (0..FILES)
        .map(|k| {
            let path = dir.join(name(k));
            std::fs::write(&path, module(k, LINES))
                .map_err(|err| format!("{}: {err}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the workspace benchmark; the report.
pub async fn run() -> Result<String, String> {
    let dir = TempDir(std::env::temp_dir().join(format!("chop-lsp-bench-{}", std::process::id())));
    let paths = write(&dir.0)?;
    let uris: Vec<String> = paths
        .iter()
        .map(|path| {
            crate::convert::uri_of(path)
                .map(|uri| uri.as_str().to_string())
                .ok_or_else(|| format!("no URI for {}", path.display()))
        })
        .collect::<Result<_, _>>()?;
    let texts: Vec<String> = (0..FILES).map(|k| module(k, LINES)).collect();
    let client = TestClient::start();
    client
        .initialize(
            json!({"textDocument": {
                "completion": {"completionItem": {"snippetSupport": true}},
                "documentSymbol": {"hierarchicalDocumentSymbolSupport": true},
            }}),
            json!({"debounceMs": 0}),
        )
        .await;

    // Open every file, leaves first; the root last, timed.
    for k in (1..FILES).rev() {
        client.open(&uris[k], &texts[k]).await;
        let diags = client
            .diagnostics(&uris[k], 1)
            .await
            .ok_or_else(|| format!("no diagnostics after opening {}", name(k)))?;
        if !diags.is_empty() {
            return Err(format!("{} has diagnostics: {diags:?}", name(k)));
        }
    }
    client.clear_notifications();
    let opened = Instant::now();
    client.open(&uris[0], &texts[0]).await;
    let diags = client
        .diagnostics(&uris[0], 1)
        .await
        .ok_or("no diagnostics after opening the root")?;
    let open_time = opened.elapsed();
    if !diags.is_empty() {
        return Err(format!("the root has diagnostics: {diags:?}"));
    }

    let digit = "    let x = a * ".len() as u32;
    let let_line = |text: &str| {
        text.lines()
            .enumerate()
            .skip(20)
            .find(|(_, line)| line.starts_with("    let x = a * 2.0"))
            .map(|(idx, _)| idx as u32)
    };

    // Edit -> diagnostics in the root.
    let root_line = let_line(&texts[0]).ok_or("no helper in the root")?;
    let mut root_edits = Vec::with_capacity(RUNS);
    let mut version = 1;
    for run in 0..RUNS {
        version += 1;
        let (end, new) = typed(run, digit);
        let sent = Instant::now();
        client
            .change(
                &uris[0],
                version,
                range(root_line, digit, root_line, end),
                new,
            )
            .await;
        let published = client
            .wait_for(Duration::from_secs(30), |n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == uris[0].as_str()
                    && n["params"]["version"] == version
            })
            .await
            .ok_or("no diagnostics after an edit of the root")?;
        root_edits.push(published.at.saturating_duration_since(sent));
        client.clear_notifications();
    }

    // Edits inside a body of a leaf: its diagnostics; then a request in the root,
    // whose analysis is behind the leaf until a request needs it.
    let leaf = FILES - 1;
    let leaf_line = let_line(&texts[leaf]).ok_or("no helper in the leaf")?;
    let (call_line, call_col) = texts[0]
        .lines()
        .enumerate()
        .find_map(|(idx, line)| line.find("+ h1_").map(|col| (idx as u32, col + 2)))
        .ok_or("no call into another file")?;
    let hover_call = json!({
        "textDocument": {"uri": uris[0]},
        "position": {"line": call_line, "character": call_col + 1},
    });
    let mut leaf_edits = Vec::with_capacity(RUNS);
    let mut root_hover = Vec::with_capacity(RUNS);
    let mut root_definition = Vec::with_capacity(RUNS);
    let mut leaf_version = 1;
    for run in 0..RUNS {
        leaf_version += 1;
        let (end, new) = typed(run, digit);
        let sent = Instant::now();
        client
            .change(
                &uris[leaf],
                leaf_version,
                range(leaf_line, digit, leaf_line, end),
                new,
            )
            .await;
        let own = client
            .wait_for(Duration::from_secs(30), |n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == uris[leaf].as_str()
                    && n["params"]["version"] == leaf_version
            })
            .await
            .ok_or("no diagnostics after an edit of a leaf")?;
        leaf_edits.push(own.at.saturating_duration_since(sent));
        // Hover reads the used files' signatures and docs, unchanged: it answers from
        // the root's last analysis. Definition reads positions in them: it waits for
        // the root to be analysed again.
        let asked = Instant::now();
        let hover = client.call("textDocument/hover", hover_call.clone()).await;
        root_hover.push(asked.elapsed());
        let asked = Instant::now();
        let definition = client
            .call("textDocument/definition", hover_call.clone())
            .await;
        root_definition.push(asked.elapsed());
        if hover.is_null() || definition.is_null() {
            return Err("no hover or definition in the root after an edit of a leaf".to_string());
        }
        settle(&client).await;
        client.clear_notifications();
    }

    // Edits of a leaf's param (outside its bodies): every file whose program holds
    // it is checked again, up to the root.
    let param_line = texts[leaf]
        .lines()
        .position(|line| line.starts_with("param "))
        .ok_or("no param in the leaf")? as u32;
    let param_digit = format!("param s{leaf}: float = 0.").len() as u32;
    let mut root_again = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        leaf_version += 1;
        let (end, new) = typed(run, param_digit);
        let sent = Instant::now();
        client
            .change(
                &uris[leaf],
                leaf_version,
                range(param_line, param_digit, param_line, end),
                new,
            )
            .await;
        let root = client
            .wait_for(Duration::from_secs(30), |n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == uris[0].as_str()
            })
            .await
            .ok_or("the root was not checked again after an edit of a leaf's param")?;
        root_again.push(root.at.saturating_duration_since(sent));
        // The other users' diagnostics may still come: let them, then forget them.
        settle(&client).await;
        client.clear_notifications();
    }

    // Requests in the root (its text as the edits left it: each pair undone).
    let at = |line: u32, character: usize| json!({"textDocument": {"uri": uris[0]}, "position": {"line": line, "character": character}});
    let acc_line = root_line + 3;
    let requests = [
        (
            "definition (other file)",
            "textDocument/definition",
            at(call_line, call_col + 1),
        ),
        (
            "completion",
            "textDocument/completion",
            at(acc_line, "        acc += x".len()),
        ),
        (
            "hover (other file)",
            "textDocument/hover",
            at(call_line, call_col + 1),
        ),
        (
            "document symbols",
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uris[0]}}),
        ),
        (
            "semantic tokens (full)",
            "textDocument/semanticTokens/full",
            json!({"textDocument": {"uri": uris[0]}}),
        ),
    ];
    let mut rows = vec![
        Row::of("edit root -> its diagnostics", root_edits),
        Row::of("edit leaf -> its diagnostics", leaf_edits),
        Row::of("then hover in the root", root_hover),
        Row::of("then definition there", root_definition),
        Row::of("edit leaf's param -> root", root_again),
    ];
    let mut definition_target = String::new();
    for (name, method, params) in requests {
        let (samples, last) = super::timed_calls(&client, method, params).await;
        if method == "textDocument/definition" {
            let target = last
                .get(0)
                .unwrap_or(&last)
                .get("uri")
                .or_else(|| last.get(0).and_then(|l| l.get("targetUri")))
                .and_then(|uri| uri.as_str())
                .unwrap_or("");
            definition_target = target.rsplit('/').next().unwrap_or("").to_string();
        }
        rows.push(Row::of(name, samples));
    }
    if definition_target != name(1) {
        return Err(format!(
            "definition went to `{definition_target}`, not to {}",
            name(1)
        ));
    }

    let direct = library(&paths, &texts, root_line, leaf_line, digit)?;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "chop-lsp bench, workspace: {FILES} files of {} lines that use each other (a tree: the root's program holds all {FILES}); first analysis of the root after opening {:.1} ms",
        texts[0].lines().count(),
        open_time.as_secs_f64() * 1e3
    );
    let _ = writeln!(out, "{RUNS} runs each; debounce 0 ms\n");
    super::table(&mut out, rows);
    let _ = writeln!(
        out,
        "\nthe same analyses called directly in the library (no protocol, no conversion):\n"
    );
    super::table(&mut out, direct);
    let _ = client.shutdown().await;
    Ok(out)
}

/// The analyses behind the edits, timed without the server: the root edited and
/// analysed again; a leaf edited and analysed, then the root analysed again with
/// the leaf's new text (as the server does, with one parse cache for both).
fn library(
    paths: &[PathBuf],
    texts: &[String],
    root_line: u32,
    leaf_line: u32,
    col: u32,
) -> Result<Vec<Row>, String> {
    use chop_ide::{Document, ProgramContext};
    use chunkvm::modules::{ParseCache, Resolver};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// The files' texts as an editor holds them: edited in memory, shared as the
    /// server shares its buffers.
    struct Buffers(Mutex<HashMap<PathBuf, Arc<str>>>);
    impl Resolver for Buffers {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            self.read_shared(path).map(|text| text.to_string())
        }

        fn read_shared(&self, path: &Path) -> std::io::Result<Arc<str>> {
            let buffers = self.0.lock().unwrap_or_else(|e| e.into_inner());
            buffers
                .get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }

    let buffers = Arc::new(Buffers(Mutex::new(
        paths
            .iter()
            .cloned()
            .zip(texts.iter().map(|text| Arc::from(text.as_str())))
            .collect(),
    )));
    let cache = Arc::new(ParseCache::default());
    let open = |k: usize| {
        let mut document = Document::new(&texts[k]);
        document.set_program(Some(ProgramContext {
            path: paths[k].clone(),
            lib: Vec::new(),
            resolver: buffers.clone(),
            cache: Some(cache.clone()),
        }));
        document.analyse();
        document
    };
    let leaf = FILES - 1;
    let (mut root, mut edited) = (open(0), open(leaf));
    let line_start = |document: &Document, line: u32| {
        document
            .line(line as usize)
            .map(|(start, _)| start)
            .ok_or("no such line")
    };
    // Run `run`'s keystroke typed at column `col` of `line`.
    let edit = |document: &mut Document, line: u32, col: u32, run: usize| -> Result<(), String> {
        let (end, new) = typed(run, col);
        let start = line_start(document, line)?;
        let span = chunkvm::syntax::span::Span::new(start + col as usize, start + end as usize);
        document.edit(span, new);
        Ok(())
    };
    let (mut root_samples, mut leaf_samples, mut again_samples) = (vec![], vec![], vec![]);
    for run in 0..RUNS {
        edit(&mut root, root_line, col, run)?;
        let started = Instant::now();
        let doc = root.analyse();
        root_samples.push(started.elapsed());
        if !doc.analysis.diagnostics.is_empty() {
            return Err(format!(
                "the edited root has diagnostics: {:?}",
                doc.analysis.diagnostics
            ));
        }
    }
    // The leaf's new text where the root's program reads it, as the server shares it.
    let share = |text: Arc<str>| {
        let mut buffers = buffers.0.lock().unwrap_or_else(|e| e.into_inner());
        buffers.insert(paths[leaf].clone(), text);
    };
    for run in 0..RUNS {
        edit(&mut edited, leaf_line, col, run)?;
        let started = Instant::now();
        let doc = edited.analyse();
        leaf_samples.push(started.elapsed());
        share(doc.text.clone());
        let started = Instant::now();
        root.analyse();
        again_samples.push(started.elapsed());
    }
    // The leaf's param edited: outside its bodies, so the root checks it again.
    let param_line = texts[leaf]
        .lines()
        .position(|line| line.starts_with("param "))
        .ok_or("no param in the leaf")? as u32;
    let param_col = format!("param s{leaf}: float = 0.").len() as u32;
    let mut param_samples = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        edit(&mut edited, param_line, param_col, run)?;
        share(edited.analyse().text.clone());
        let started = Instant::now();
        root.analyse();
        param_samples.push(started.elapsed());
    }
    Ok(vec![
        Row::of("edit root: analyse it", root_samples),
        Row::of("edit leaf: analyse it", leaf_samples),
        Row::of("then analyse the root again", again_samples),
        Row::of("edit leaf's param: root again", param_samples),
    ])
}

/// Waits until no notification arrived for a moment (the re-checks an edit
/// caused are done).
async fn settle(client: &TestClient) {
    let mut seen = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let now = client
            .notifications("textDocument/publishDiagnostics")
            .len();
        if now == seen {
            return;
        }
        seen = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_is_clean() {
        let dir = TempDir(
            std::env::temp_dir().join(format!("chop-lsp-bench-test-{}", std::process::id())),
        );
        let paths = write(&dir.0).unwrap_or_default();
        assert_eq!(paths.len(), FILES);
        let graph = chunkvm::modules::load(&paths[0], &chunkvm::modules::FsResolver, &[])
            .map_err(|err| err.to_string());
        let graph = graph.unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(graph.files.len(), FILES);
        let analyzed = chunkvm::driver::analyze_graph(graph);
        let diags = chunkvm::driver::diagnostics(&analyzed.parsed, &analyzed.analysis);
        assert_eq!(diags, Vec::new());
        let lines = module(3, LINES).lines().count();
        assert!((LINES - 20..=LINES + 20).contains(&lines), "{lines}");
    }
}
