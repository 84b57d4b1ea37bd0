//! `chop-lsp bench [LINES] [--file | --workspace]`: latencies of the server on a generated file of
//! LINES lines (5,000 by default), in process, through the real JSON-RPC
//! framing (the [`crate::harness`] client).
//!
//! Measured over 200 runs each, p50 and p99:
//! - from a one-character edit (`didChange`: typing a digit, then deleting
//!   it) to its diagnostics published (the debounce set to 0 ms, so the
//!   figure is the re-analysis itself: the incremental re-parse, lowering
//!   the items the edit touched, the checker, the conversion and the
//!   message), in the middle of the file and in its first function, where
//!   every item after the edit moves;
//! - completion, hover and semantic tokens (full) round trips;
//! - then the other requests an editor sends as one types and moves
//!   (document symbols, folding ranges, code lenses, inlay hints of a
//!   screenful, document highlight), formatting the whole file, and after
//!   each of 200 edits, formatting and the semantic-token delta.
//!
//! Every time ends when the client has read the last byte of the message
//! (the response, the diagnostics): the bench client's own parsing of the
//! JSON into a `serde_json::Value` is not counted. It was most of the figure
//! of the big results: for the 19,412 semantic tokens of the 5,000-line file,
//! about 10 ms against the server's 2–3 ms (and 3 ms of 3.5 for the outline).
//!
//! Then the memory of an open document: the growth of the resident set
//! after opening 20 more copies of the file, per copy.
//!
//! A benchmark, not a test: it prints a table and never fails on figures.

pub mod workspace;

use crate::harness::{range, TestClient};
use serde_json::json;
use std::fmt::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Runs of each measurement.
const RUNS: usize = 200;

/// Extra copies opened to measure the memory of a document.
const COPIES: usize = 20;

/// A Chop file of about `lines` lines: params, functions with loops, lets
/// and calls, filters, pipelines. Every line is valid.
pub fn generate(lines: usize) -> String {
    let mut out = String::from("//! Generated for the chop-lsp benchmark.\n\n");
    for k in 0..4 {
        let _ = writeln!(
            out,
            "/// Strength {k}.\nparam strength_{k}: float = 0.5 in 0.0..1.0;"
        );
    }
    out.push('\n');
    let mut k = 0;
    while out.lines().count() + 14 < lines {
        let _ = write!(
            out,
            "/// Helper {k}: a loop, a branch and a call.\n\
             fn helper_{k}(a: float, b: int) -> float {{\n\
             \x20   let x = a * 2.0 + float(b);\n\
             \x20   var acc = 0.0;\n\
             \x20   for i in 0..b {{\n\
             \x20       acc += x * float(i) - strength_{s};\n\
             \x20   }}\n\
             \x20   if acc > 10.0 {{\n\
             \x20       return acc / 2.0;\n\
             \x20   }}\n\
             \x20   clamp(acc, 0.0, 100.0) + {prev}\n\
             }}\n\n",
            s = k % 4,
            prev = if k == 0 {
                "0.0".to_string()
            } else {
                format!("helper_{}(a, 1)", k - 1)
            },
        );
        if k % 10 == 9 {
            let _ = write!(
                out,
                "/// Filter {k}.\nfilter tone_{k}(c: color) -> color {{\n\
                 \x20   let g = luma(c);\n\
                 \x20   mix(c, rgb(g, g, g), strength_{s})\n}}\n\n",
                s = k % 4
            );
        }
        k += 1;
    }
    out.push_str("pipeline warm = tone_9 |> tone_19(strength_1: 0.2);\n");
    out
}

/// The p-th percentile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// p50 and p99 of some durations, in milliseconds.
fn summary(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
    )
}

/// Resident memory of this process, in bytes (Linux; 0 elsewhere).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The row of the table for one measurement.
pub(crate) struct Row {
    name: &'static str,
    p50: f64,
    p99: f64,
}

/// What `chop-lsp bench` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// Lines of the generated file; `None`: the file is not measured.
    pub file: Option<usize>,
    /// Whether the workspace of [`workspace::FILES`] files is measured.
    pub workspace: bool,
}

impl Parts {
    /// From the arguments after `bench`: `[LINES] [--file | --workspace]`.
    pub fn from_args(args: &[String]) -> Result<Parts, String> {
        let mut lines = 5_000;
        let (mut file, mut workspace) = (true, true);
        for arg in args {
            match arg.as_str() {
                "--file" => workspace = false,
                "--workspace" => file = false,
                other => {
                    lines = other.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        format!("`{other}` is neither a line count nor an option")
                    })?;
                }
            }
        }
        if !file && !workspace {
            return Err("--file and --workspace leave nothing to measure".to_string());
        }
        Ok(Parts {
            file: file.then_some(lines),
            workspace,
        })
    }
}

/// Runs the benchmark; prints the table.
pub fn main(parts: Parts) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("chop-lsp bench: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(async {
        if let Some(lines) = parts.file {
            let file = run(lines).await?;
            println!("{file}");
        }
        match parts.workspace {
            true => workspace::run().await,
            false => Ok(String::new()),
        }
    });
    match report {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("chop-lsp bench: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(lines: usize) -> Result<String, String> {
    let text = generate(lines);
    let line_count = text.lines().count();
    let uri = "file:///bench/generated.chop";
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
    let opened = Instant::now();
    client.open(uri, &text).await;
    let first = client
        .diagnostics(uri, 1)
        .await
        .ok_or("no diagnostics after opening")?;
    let open_time = opened.elapsed();
    if !first.is_empty() {
        return Err(format!("the generated file has diagnostics: {first:?}"));
    }

    // A line in the middle: `    let x = a * 2.0 + float(b);` of a helper.
    let lines_of: Vec<&str> = text.lines().collect();
    let middle = lines_of
        .iter()
        .enumerate()
        .skip(line_count / 2)
        .find(|(_, line)| line.starts_with("    let x = a * 2.0"))
        .map(|(idx, _)| idx as u32)
        .ok_or("no helper in the middle")?;
    let digit = "    let x = a * ".len() as u32;

    // Edit -> diagnostics: type a `1` before the `2` of `2.0`, delete it, and
    // again; in the middle of the file, then in its first function (where
    // every item after the edit moves).
    let first = first_helper(&text).ok_or("no helper at the top")?;
    let mut version = 1;
    let mut edits = Vec::with_capacity(RUNS);
    let mut edits_top = Vec::with_capacity(RUNS);
    for (line, samples) in [(middle, &mut edits), (first, &mut edits_top)] {
        for run in 0..RUNS {
            version += 1;
            let (end, new) = typed(run, digit);
            let sent = Instant::now();
            client
                .change(uri, version, range(line, digit, line, end), new)
                .await;
            let published = client
                .wait_for(Duration::from_secs(30), |n| {
                    n["method"] == "textDocument/publishDiagnostics"
                        && n["params"]["version"] == version
                })
                .await
                .ok_or("no diagnostics after an edit")?;
            samples.push(published.at.saturating_duration_since(sent));
            client.clear_notifications();
        }
    }

    // Requests in the middle of the file.
    let at = |line: u32, character: u32| json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
    let acc_line = middle + 3; // `        acc += x * float(i) - strength_N;`
    let (completion, response) = timed_calls(
        &client,
        "textDocument/completion",
        at(acc_line, "        acc += x".len() as u32),
    )
    .await;
    let completion_items = response.as_array().map_or(0, Vec::len);
    let (hover, _) = timed_calls(
        &client,
        "textDocument/hover",
        at(acc_line, "        ac".len() as u32),
    )
    .await;
    let (tokens, response) = timed_calls(
        &client,
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": uri}}),
    )
    .await;
    let token_count = response["data"].as_array().map_or(0, |d| d.len() / 5);

    // The other requests an editor sends as one types and moves (the visible
    // range: 60 lines), and formatting the whole file.
    let doc = json!({"uri": uri});
    let screen = json!({"start": {"line": middle - 20, "character": 0}, "end": {"line": middle + 40, "character": 0}});
    let others = [
        (
            "document symbols",
            "textDocument/documentSymbol",
            json!({"textDocument": doc}),
        ),
        (
            "folding ranges",
            "textDocument/foldingRange",
            json!({"textDocument": doc}),
        ),
        (
            "code lenses",
            "textDocument/codeLens",
            json!({"textDocument": doc}),
        ),
        (
            "inlay hints (60 lines)",
            "textDocument/inlayHint",
            json!({"textDocument": doc, "range": screen}),
        ),
        (
            "document highlight",
            "textDocument/documentHighlight",
            at(acc_line, "        ac".len() as u32),
        ),
        (
            "formatting (whole file)",
            "textDocument/formatting",
            json!({"textDocument": doc, "options": {"tabSize": 4, "insertSpaces": true}}),
        ),
    ];
    let mut other_rows = Vec::new();
    for (name, method, params) in others {
        let (p50, p99) = summary(timed_calls(&client, method, params).await.0);
        other_rows.push(Row { name, p50, p99 });
    }
    // Formatting as one formats while typing: after each edit (a new number in the
    // middle helper each time, so one item's text is new), the whole file. The row
    // above formats the same text each time, whose items were all printed before.
    // And the semantic tokens an editor asks for after each edit: a delta against
    // the last result it holds (VS Code's way), not the whole file again.
    let mut current = "2".to_string();
    let mut after_edit = Vec::with_capacity(RUNS);
    let mut deltas = Vec::with_capacity(RUNS);
    let mut result_id = client
        .call(
            "textDocument/semanticTokens/full",
            json!({"textDocument": doc}),
        )
        .await["resultId"]
        .clone();
    for run in 0..RUNS {
        version += 1;
        let new = (run + 3).to_string();
        let end = digit + current.len() as u32;
        client
            .change(uri, version, range(middle, digit, middle, end), &new)
            .await;
        current = new;
        client
            .wait_for(Duration::from_secs(30), |n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["version"] == version
            })
            .await
            .ok_or("no diagnostics after an edit")?;
        client.clear_notifications();
        let (took, _) = timed_call(
            &client,
            "textDocument/formatting",
            json!({"textDocument": doc, "options": {"tabSize": 4, "insertSpaces": true}}),
        )
        .await;
        after_edit.push(took);
        let (took, delta) = timed_call(
            &client,
            "textDocument/semanticTokens/full/delta",
            json!({"textDocument": doc, "previousResultId": result_id}),
        )
        .await;
        deltas.push(took);
        if delta["edits"].is_null() {
            return Err(format!("no semantic-token delta after an edit: {delta}"));
        }
        result_id = delta["resultId"].clone();
    }
    let (p50, p99) = summary(after_edit);
    other_rows.push(Row {
        name: "formatting, one item edited",
        p50,
        p99,
    });
    let (p50, p99) = summary(deltas);
    other_rows.push(Row {
        name: "semantic tokens delta, edited",
        p50,
        p99,
    });

    // Memory: open more copies, wait for their analysis.
    let before = rss();
    for copy in 0..COPIES {
        let copy_uri = format!("file:///bench/copy{copy}.chop");
        client.open(&copy_uri, &text).await;
        client
            .diagnostics(&copy_uri, 1)
            .await
            .ok_or("no diagnostics for a copy")?;
    }
    let after = rss();
    let per_doc = after.saturating_sub(before) / COPIES as u64;

    let rows = [
        Row {
            name: "edit -> diagnostics published",
            p50: summary(edits.clone()).0,
            p99: summary(edits).1,
        },
        Row {
            name: "same, edit in the first item",
            p50: summary(edits_top.clone()).0,
            p99: summary(edits_top).1,
        },
        Row {
            name: "completion",
            p50: summary(completion.clone()).0,
            p99: summary(completion).1,
        },
        Row {
            name: "hover",
            p50: summary(hover.clone()).0,
            p99: summary(hover).1,
        },
        Row {
            name: "semantic tokens (full)",
            p50: summary(tokens.clone()).0,
            p99: summary(tokens).1,
        },
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "chop-lsp bench: {line_count} lines, {} KiB; first analysis after open {:.1} ms",
        text.len() / 1024,
        open_time.as_secs_f64() * 1e3
    );
    let _ = writeln!(
        out,
        "{RUNS} runs each; debounce 0 ms; {completion_items} completion items, {token_count} semantic tokens\n"
    );
    let _ = writeln!(
        out,
        "| measurement                   |   p50 ms |   p99 ms |"
    );
    let _ = writeln!(
        out,
        "| ----------------------------- | -------- | -------- |"
    );
    for row in rows.into_iter().chain(other_rows) {
        let _ = writeln!(
            out,
            "| {:<29} | {:>8.2} | {:>8.2} |",
            row.name, row.p50, row.p99
        );
    }
    let _ = writeln!(
        out,
        "\nthe same work called directly in the library (no protocol, no conversion):\n"
    );
    let _ = writeln!(
        out,
        "| measurement                   |   p50 ms |   p99 ms |"
    );
    let _ = writeln!(
        out,
        "| ----------------------------- | -------- | -------- |"
    );
    let (rows, (reused, bodies)) = library(&text, [middle, first], digit, acc_line);
    for row in rows {
        let _ = writeln!(
            out,
            "| {:<29} | {:>8.2} | {:>8.2} |",
            row.name, row.p50, row.p99
        );
    }
    let _ = writeln!(
        out,
        "\nafter an edit in the middle, {} of {bodies} function bodies are checked again, the others reused",
        bodies - reused
    );
    let _ = writeln!(
        out,
        "\nmemory per open document: {:.1} MiB (resident set growth over {COPIES} copies; {:.1} MiB in all)",
        per_doc as f64 / (1 << 20) as f64,
        after as f64 / (1 << 20) as f64
    );
    let _ = client.shutdown().await;
    Ok(out)
}

impl Row {
    /// The row of `samples`.
    fn of(name: &'static str, samples: Vec<Duration>) -> Row {
        let (p50, p99) = summary(samples);
        Row { name, p50, p99 }
    }
}

/// The table of `rows`.
fn table(out: &mut String, rows: impl IntoIterator<Item = Row>) {
    let _ = writeln!(
        out,
        "| measurement                   |   p50 ms |   p99 ms |"
    );
    let _ = writeln!(
        out,
        "| ----------------------------- | -------- | -------- |"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {:<29} | {:>8.2} | {:>8.2} |",
            row.name, row.p50, row.p99
        );
    }
}

/// `RUNS` round trips of one request: their times, and the last result.
async fn timed_calls(
    client: &TestClient,
    method: &str,
    params: serde_json::Value,
) -> (Vec<Duration>, serde_json::Value) {
    let mut samples = Vec::with_capacity(RUNS);
    let mut last = serde_json::Value::Null;
    for _ in 0..RUNS {
        let (took, result) = timed_call(client, method, params.clone()).await;
        samples.push(took);
        last = result;
    }
    (samples, last)
}

/// One round trip: from sending the request to reading the response's last byte
/// (the client's parsing of the JSON is not counted: it is the bench client's
/// cost, not the server's), and the result. Panics on an error response.
async fn timed_call(
    client: &TestClient,
    method: &str,
    params: serde_json::Value,
) -> (Duration, serde_json::Value) {
    let sent = Instant::now();
    let (id, response) = client.start_request(method, params).await;
    let response = tokio::time::timeout(Duration::from_secs(30), response)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let read = client.response_read_at(id).unwrap_or_else(Instant::now);
    match crate::harness::success(&response) {
        Some(result) => (read.saturating_duration_since(sent), result.clone()),
        None => panic!("{method} failed: {response}"),
    }
}

/// The line of the first function's `let x = a * 2.0 ...`.
fn first_helper(text: &str) -> Option<u32> {
    text.lines()
        .position(|line| line.starts_with("    let x = a * 2.0"))
        .map(|idx| idx as u32)
}

/// The edit of run `run` at column `col`: even runs type a `1` there, odd
/// runs delete it. The end column of the range replaced, and the new text.
fn typed(run: usize, col: u32) -> (u32, &'static str) {
    if run % 2 == 0 {
        (col, "1")
    } else {
        (col + 1, "")
    }
}

/// The analysis behind each request, timed without the server; and, after
/// an edit in the middle, how many function bodies were taken from the last
/// analysis, of how many.
fn library(text: &str, lines: [u32; 2], col: u32, acc_line: u32) -> (Vec<Row>, (usize, usize)) {
    use crate::convert::{Encoding, Lines};
    use crate::documents::apply;
    use chop_ide::Document;
    use chop_ide::{completion, navigation, semantic};
    use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent};
    let mut document = Document::new(text);
    let mut doc = document.analyse();
    let mut reparse = [Vec::new(), Vec::new()];
    let mut reuse = (0, 0);
    for (line, samples) in lines.into_iter().zip(&mut reparse) {
        for run in 0..RUNS {
            let (end, new) = typed(run, col);
            let change = TextDocumentContentChangeEvent {
                range: Some(Range::new(
                    Position::new(line, col),
                    Position::new(line, end),
                )),
                range_length: None,
                text: new.to_string(),
            };
            let started = Instant::now();
            apply(&mut document, &change, Encoding::Utf16);
            doc = document.analyse();
            samples.push(started.elapsed());
        }
        if reuse == (0, 0) {
            reuse = doc.analysis.bodies_reused();
        }
    }
    let [reparse, reparse_top] = reparse;
    let lines = Lines::of(&doc, Encoding::Utf16);
    let offset = |character: usize| {
        lines
            .offset(Position::new(acc_line, character as u32))
            .unwrap_or(0)
    };
    let time = |work: &dyn Fn()| {
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                work();
                started.elapsed()
            })
            .collect::<Vec<_>>()
    };
    let completion = time(&|| {
        completion::completions(&doc, offset("        acc += x".len()));
    });
    let hover = time(&|| {
        navigation::hover(&doc, offset("        ac".len()));
    });
    let tokens = time(&|| {
        crate::convert::semantic::encode(&semantic::tokens(&doc), &lines);
    });
    let diagnostics = time(&|| {
        let uri: tower_lsp_server::ls_types::Uri = "file:///b.chop".parse().expect("a URI");
        crate::diagnostics::of_doc(&doc, &lines, &uri, true);
    });
    let rows = [
        ("edit: re-parse and check", reparse),
        ("same, edit in the first item", reparse_top),
        ("diagnostics to LSP", diagnostics),
        ("completion", completion),
        ("hover", hover),
        ("semantic tokens (full)", tokens),
    ]
    .into_iter()
    .map(|(name, samples)| {
        let (p50, p99) = summary(samples);
        Row { name, p50, p99 }
    })
    .collect();
    (rows, reuse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_file_is_clean_and_long_enough() {
        let text = generate(600);
        let lines = text.lines().count();
        assert!((560..=620).contains(&lines), "{lines}");
        let doc = chop_ide::Doc::new(&text);
        assert_eq!(doc.diagnostics(), Vec::new());
    }

    #[test]
    fn arguments_choose_the_parts() {
        let args = |list: &[&str]| {
            let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            Parts::from_args(&list)
        };
        let both = Parts {
            file: Some(5_000),
            workspace: true,
        };
        assert_eq!(args(&[]), Ok(both));
        assert_eq!(
            args(&["800", "--file"]),
            Ok(Parts {
                file: Some(800),
                workspace: false
            })
        );
        assert_eq!(
            args(&["--workspace"]),
            Ok(Parts {
                file: None,
                workspace: true
            })
        );
        assert!(args(&["--file", "--workspace"]).is_err());
        let err = args(&["5k"]).unwrap_err();
        assert!(err.contains("`5k`"), "{err}");
        assert!(args(&["0"]).is_err());
    }

    #[test]
    fn percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let (p50, p99) = summary(samples);
        assert!(
            (p50 - 50.0).abs() <= 1.0 && (p99 - 99.0).abs() <= 1.0,
            "{p50} {p99}"
        );
    }
}
