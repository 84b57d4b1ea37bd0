//! The language tests: every `.chop` file under `tests/lang/` states what it
//! expects in comments, and this one runner checks them all.
//!
//! - `// expect: TEXT` — the next printed line is TEXT;
//! - `// expect-error: E0004 [TEXT]` / `// expect-warning: W0002 [TEXT]` — a
//!   diagnostic with that code starts on this line (its message contains TEXT);
//!   the file's diagnostics must be exactly the expected ones;
//! - `// expect-error@LINE: E0001 [TEXT]` — the same for line LINE, for a line
//!   whose text the mistake swallows (an unterminated string), in a header
//!   block at the top of the file;
//! - `// expect-runtime-error: TEXT` — running `main` fails on this line with a
//!   message containing TEXT.

#![allow(clippy::unwrap_used)]

mod common;

use chunkvm::driver::analyze;
use chunkvm::syntax::span::LineIndex;
use common::{chop_files, expectations, finish, lang_dir, vm_for_file};

fn check_file(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let expect = expectations(&text);
    let analyzed = analyze(&text);
    let lines = LineIndex::new(&text);
    let mut found: Vec<(u32, String, String)> = analyzed
        .diagnostics()
        .iter()
        .map(|d| {
            (
                lines.line_col(&text, d.span.start).line,
                d.code.as_str().to_string(),
                d.message.clone(),
            )
        })
        .collect();
    found.sort();
    let mut wanted = expect.diagnostics.clone();
    wanted.sort();
    let matches = found.len() == wanted.len()
        && found
            .iter()
            .zip(&wanted)
            .all(|(f, w)| f.0 == w.0 && f.1 == w.1 && f.2.contains(&w.2));
    if !matches {
        return Err(format!(
            "diagnostics differ\n  expected: {wanted:?}\n  found:    {found:?}"
        ));
    }
    if analyzed.has_errors() {
        if !expect.output.is_empty() || expect.runtime_error.is_some() {
            return Err("a file with expected errors cannot expect output".into());
        }
        return Ok(());
    }
    let (mut vm, capture) = vm_for_file(&text);
    let outcome = finish(&mut vm);
    let printed: Vec<String> = capture.text().lines().map(str::to_string).collect();
    if printed != expect.output {
        return Err(format!(
            "output differs\n  expected: {:?}\n  printed:  {printed:?}",
            expect.output
        ));
    }
    match (outcome, &expect.runtime_error) {
        (Ok(()), None) => Ok(()),
        (Ok(()), Some((line, msg))) => {
            Err(format!("expected a runtime error `{msg}` on line {line}"))
        }
        (Err(err), None) => Err(format!(
            "unexpected runtime error: {} at {:?}",
            err.message, err.span
        )),
        (Err(err), Some((line, msg))) => {
            let at = lines.line_col(&text, err.span.start).line;
            if at != *line || !err.message.contains(msg.as_str()) {
                return Err(format!(
                    "runtime error `{}` on line {at}, expected `{msg}` on line {line}",
                    err.message
                ));
            }
            if err.trace.is_empty() {
                return Err("runtime error without a stack trace".into());
            }
            Ok(())
        }
    }
}

#[test]
fn language_tests() {
    let files = chop_files(&lang_dir());
    assert!(files.len() >= 25, "too few language tests: {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        if let Err(err) = check_file(path) {
            failures.push(format!("{}: {err}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_diagnostic_code_is_tested() {
    let mut seen = std::collections::HashSet::new();
    for path in chop_files(&lang_dir()) {
        let text = std::fs::read_to_string(&path).unwrap();
        for (_, code, _) in expectations(&text).diagnostics {
            seen.insert(code);
        }
    }
    let missing: Vec<&str> = chunkvm::diag::Code::ALL
        .iter()
        .map(|code| code.as_str())
        .filter(|code| !seen.contains(*code))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a language test: {missing:?}"
    );
}
