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
//!
//! A folder under `tests/lang/modules/` is one case of several files: its `main.chop`
//! is analysed with the files it uses (the case's `lib/` folder is the library's
//! search path), each file's diagnostics must be the ones its own comments expect,
//! and `main` must print what `main.chop` expects.

#![allow(clippy::unwrap_used)]

mod common;

use chunkvm::driver::{analyze, analyze_path};
use chunkvm::exec::{Capture, Vm};
use chunkvm::modules::FsResolver;
use chunkvm::syntax::span::LineIndex;
use common::{chop_files, expectations, finish, lang_dir, vm_for_file};
use std::path::Path;

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

/// The diagnostics of `analyzed` in the file at `path`: (line, code, message), sorted.
fn found_in(analyzed: &chunkvm::driver::Analyzed, path: &Path) -> Vec<(u32, String, String)> {
    let mut found = Vec::new();
    for file in analyzed.file_diagnostics() {
        if file.path != path {
            continue;
        }
        let lines = LineIndex::new(file.text);
        found.extend(file.diagnostics.iter().map(|d| {
            (
                lines.line_col(file.text, d.span.start).line,
                d.code.as_str().to_string(),
                d.message.clone(),
            )
        }));
    }
    found.sort();
    found
}

/// One case of `tests/lang/modules/`: a folder with `main.chop` and the files it uses.
fn check_case(dir: &Path) -> Result<(), String> {
    let main = dir.join("main.chop");
    let analyzed =
        analyze_path(&main, &FsResolver, &[dir.join("lib")]).map_err(|e| e.to_string())?;
    for path in chop_files(dir) {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let mut wanted = expectations(&text).diagnostics;
        wanted.sort();
        let found = found_in(&analyzed, &path);
        let matches = found.len() == wanted.len()
            && found
                .iter()
                .zip(&wanted)
                .all(|(f, w)| f.0 == w.0 && f.1 == w.1 && f.2.contains(&w.2));
        if !matches {
            return Err(format!(
                "{}: diagnostics differ\n  expected: {wanted:?}\n  found:    {found:?}",
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(&main).map_err(|e| e.to_string())?;
    let expect = expectations(&text);
    if analyzed.has_errors() {
        if !expect.output.is_empty() {
            return Err("a case with expected errors cannot expect output".into());
        }
        return Ok(());
    }
    let program = analyzed.compile().map_err(|d| format!("{d:?}"))?;
    let (main_fn, _) = program.function("main").ok_or("no fn main")?;
    let mut vm = Vm::new(program);
    let capture = Capture::new();
    vm.set_output(Box::new(capture.clone()));
    vm.start(main_fn, &[]).map_err(|e| e.to_string())?;
    finish(&mut vm).map_err(|e| e.message.clone())?;
    let printed: Vec<String> = capture.text().lines().map(str::to_string).collect();
    if printed != expect.output {
        return Err(format!(
            "output differs\n  expected: {:?}\n  printed:  {printed:?}",
            expect.output
        ));
    }
    Ok(())
}

#[test]
fn module_cases() {
    let root = lang_dir().join("modules");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "too few module cases: {}", cases.len());
    let mut failures = Vec::new();
    for dir in &cases {
        if let Err(err) = check_case(dir) {
            failures.push(format!("{}: {err}", dir.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn language_tests() {
    let files: Vec<_> = chop_files(&lang_dir())
        .into_iter()
        .filter(|path| !path.starts_with(lang_dir().join("modules")))
        .collect();
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
