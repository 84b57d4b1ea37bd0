//! The documentation stays true: every Chop example in the Markdown files of
//! the repository compiles and is formatted, the bundled `.chop` files are
//! formatted, and `docs/builtins.md` is the reference generated from the
//! builtins table.
//!
//! A fenced block opened with ```` ```chop ```` must check without errors
//! (warnings are allowed: an example may leave a variable unread); one opened
//! with ```` ```chop,fails=E0004 ```` must fail with that code, so a
//! deliberately wrong example stays wrong for the reason it shows. Both must
//! be formatted as `chunkvm fmt` would (a block that fails for its syntax is
//! exempt). `UPDATE_DOCS=1 cargo test -p chop-ide --test docs` rewrites
//! `docs/builtins.md`.

#![allow(clippy::unwrap_used)]

use chunkvm::diag::Severity;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Markdown files whose Chop examples are checked: the top-level ones,
/// `docs/`, and the READMEs of the crates, filters and editors.
fn markdown_files() -> Vec<PathBuf> {
    let root = root();
    let mut files = Vec::new();
    for dir in [
        root.clone(),
        root.join("docs"),
        root.join("filters"),
        root.join("lsp"),
        root.join("vm"),
        root.join("vm/grammar"),
        root.join("editors/nvim"),
        root.join("editors/vscode"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// One ```chop block: where it is, what it expects, its text.
struct Example {
    /// `file:line` of the opening fence.
    at: String,
    /// The code it must fail with, if it is marked `fails=CODE`.
    fails: Option<String>,
    text: String,
}

/// The ```chop blocks of `markdown` (whose path is `file`).
fn examples(file: &str, markdown: &str) -> Result<Vec<Example>, String> {
    let mut out = Vec::new();
    // Inside a fence: the chop example being read, or `None` in another language's block.
    let mut inside: Option<Option<Example>> = None;
    for (idx, line) in markdown.lines().enumerate() {
        let at = format!("{file}:{}", idx + 1);
        let fence = line.trim_start().strip_prefix("```");
        match (&mut inside, fence) {
            (Some(example), Some(_)) => {
                out.extend(example.take());
                inside = None;
            }
            (Some(Some(example)), None) => {
                example.text.push_str(line);
                example.text.push('\n');
            }
            (Some(None), None) | (None, None) => {}
            (None, Some(info)) => {
                let mut words = info.trim().split(',').map(str::trim);
                if words.next() != Some("chop") {
                    inside = Some(None);
                    continue;
                }
                let mut fails = None;
                for word in words {
                    match word.strip_prefix("fails=") {
                        Some(code) => fails = Some(code.to_string()),
                        None => {
                            return Err(format!("{at}: unknown marker `{word}` on a chop block"));
                        }
                    }
                }
                inside = Some(Some(Example {
                    at,
                    fails,
                    text: String::new(),
                }));
            }
        }
    }
    if inside.is_some() {
        return Err(format!("{file}: a fenced block is not closed"));
    }
    Ok(out)
}

/// What is wrong with one example, if anything.
fn check_example(example: &Example) -> Result<(), String> {
    let analyzed = chunkvm::driver::analyze(&example.text);
    let errors: Vec<String> = analyzed
        .diagnostics()
        .iter()
        .filter(|diag| diag.severity == Severity::Error)
        .map(|diag| format!("{} [{}]", diag.message, diag.code.as_str()))
        .collect();
    let syntax_ok = match &example.fails {
        None if !errors.is_empty() => {
            return Err(format!("does not compile: {}", errors.join("; ")));
        }
        None => true,
        Some(code) => {
            if !errors
                .iter()
                .any(|error| error.ends_with(&format!("[{code}]")))
            {
                return Err(format!(
                    "is marked `fails={code}` but its errors are {errors:?}"
                ));
            }
            !errors
                .iter()
                .any(|e| e.ends_with("[E0001]") || e.ends_with("[E0002]"))
        }
    };
    if syntax_ok {
        match chop_ide::fmt::format(&example.text) {
            Ok(formatted) if formatted == example.text => {}
            Ok(formatted) => {
                return Err(format!(
                    "is not formatted; `chunkvm fmt` makes it:\n{formatted}"
                ));
            }
            Err(err) => return Err(err.to_string()),
        }
    }
    Ok(())
}

/// `path` relative to the repository, for messages.
fn shown(path: &Path) -> String {
    let root = root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_chop_example_in_the_docs_compiles_and_is_formatted() {
    let mut count = 0;
    let mut failures = Vec::new();
    for path in markdown_files() {
        let markdown = std::fs::read_to_string(&path).unwrap();
        match examples(&shown(&path), &markdown) {
            Ok(found) => {
                for example in found {
                    count += 1;
                    if let Err(err) = check_example(&example) {
                        failures.push(format!("{}: the example {err}", example.at));
                    }
                }
            }
            Err(err) => failures.push(err),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        count >= 2,
        "found only {count} chop examples in the Markdown files (README.md and docs/language.md have some)"
    );
}

#[test]
fn the_example_checker_catches_wrong_examples() {
    let markdown = "text\n```sh\nnot chop ```\n```\n```chop\nfn main() {\n    print(1);\n}\n```\n\
                    ```chop,fails=E0003\nfn main() {\n    print(y);\n}\n```\n\
                    ```chop\nfn main() { print(1); }\n```\n\
                    ```chop\nfn main() {\n    print(z);\n}\n```\n\
                    ```chop,fails=E0004\nfn main() {\n    print(y);\n}\n```\n";
    let found = examples("x.md", markdown).unwrap();
    let verdicts: Vec<(String, bool)> = found
        .iter()
        .map(|example| (example.at.clone(), check_example(example).is_ok()))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("x.md:5".to_string(), true),
            ("x.md:10".to_string(), true),
            ("x.md:15".to_string(), false),
            ("x.md:18".to_string(), false),
            ("x.md:23".to_string(), false),
        ]
    );
    assert!(examples("x.md", "```chop,ignore\n```\n").is_err());
    assert!(examples("x.md", "```chop\nfn main() {}\n").is_err());
}

/// Every `.chop` file under `dir`.
fn chop_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            chop_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "chop") {
            out.push(path);
        }
    }
}

#[test]
fn the_samples_and_filters_are_formatted() {
    let mut files = Vec::new();
    chop_files(&root().join("samples"), &mut files);
    chop_files(&root().join("filters"), &mut files);
    assert!(files.len() > 10, "too few .chop files: {}", files.len());
    let mut stale = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        match chop_ide::fmt::format(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(_) => stale.push(format!("{} is not formatted", shown(path))),
            Err(err) => stale.push(format!("{}: {err}", shown(path))),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n(`chunkvm fmt FILE` formats a file in place)",
        stale.join("\n")
    );
}

#[test]
fn the_builtins_reference_is_current() {
    let path = root().join("docs/builtins.md");
    let want = chunkvm::builtins::reference_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/builtins.md is stale: regenerate it with `UPDATE_DOCS=1 cargo test -p chop-ide --test docs`"
    );
    for builtin in chunkvm::builtins::BUILTINS {
        assert!(
            want.contains(&format!("### `{}`", builtin.name)),
            "{} is missing from the reference",
            builtin.name
        );
    }
}
