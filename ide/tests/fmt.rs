//! Tests of the source formatter, `chop_ide::fmt`.
//!
//! - The fixtures `tests/fmt/NAME.chop` format exactly to
//!   `tests/fmt/NAME.expected.chop` (also with CRLF line endings).
//! - On every fixture, every `.chop` file under `tests/` and `../filters/`,
//!   every example of the grammar's corpus, and reshaped copies of all of them
//!   (one token per line; everything on as few lines as possible),
//!   formatting is idempotent and keeps the token sequence (every leaf's kind
//!   and text, comments included; only trailing commas may come or go).
//! - Files with syntax errors are refused with the line of the first one.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use chop_ide::fmt::format;
use tree_sitter::{Node, Parser, Tree};

#[path = "../../vm/tests/common/mod.rs"]
mod common;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures_dir() -> PathBuf {
    manifest_dir().join("tests").join("fmt")
}

fn read(path: &Path) -> String {
    match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

/// `(name, input, expected)` of every fixture.
fn fixtures() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(fixtures_dir()) {
        Ok(entries) => entries,
        Err(e) => panic!("cannot list the fixtures: {e}"),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(name) = file.strip_suffix(".chop") else {
            continue;
        };
        if name.ends_with(".expected") {
            continue;
        }
        let expected = path.with_file_name(format!("{name}.expected.chop"));
        assert!(
            expected.exists(),
            "fixture {name} has no {name}.expected.chop"
        );
        out.push((name.to_string(), read(&path), read(&expected)));
    }
    out.sort();
    assert!(
        out.len() >= 10,
        "expected at least 10 fixtures, found {}",
        out.len()
    );
    out
}

/// The `.chop` files of the tests and of the filter library.
fn repo_chop_files() -> Vec<PathBuf> {
    let root = manifest_dir().join("..");
    let mut files = Vec::new();
    for dir in ["vm/tests", "ide/tests", "cli/tests", "filters"] {
        files.extend(common::chop_files(&root.join(dir)));
    }
    files
}

fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    if let Err(e) = parser.set_language(&tree_sitter_chop::LANGUAGE.into()) {
        panic!("cannot load the grammar: {e}");
    }
    match parser.parse(source, None) {
        Some(tree) => tree,
        None => panic!("the parser failed"),
    }
}

fn leaves<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        if node.child_count() == 0 {
            out.push(node);
        } else {
            let mut cursor = node.walk();
            let children: Vec<Node<'t>> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
    }
}

fn is_comment_kind(kind: &str) -> bool {
    matches!(kind, "comment" | "doc_comment" | "inner_doc_comment")
}

/// The leaf tokens of a clean file as `(kind, text)` (comments without
/// trailing spaces).
fn raw_tokens(source: &str) -> Vec<(String, String)> {
    let tree = parse(source);
    assert!(
        !tree.root_node().has_error(),
        "not a clean parse:\n{source}"
    );
    let mut nodes = Vec::new();
    leaves(tree.root_node(), &mut nodes);
    nodes
        .into_iter()
        .map(|n| {
            let text = &source[n.byte_range()];
            let text = if is_comment_kind(n.kind()) {
                text.trim_end()
            } else {
                text
            };
            (n.kind().to_string(), text.to_string())
        })
        .collect()
}

/// [`raw_tokens`] without the commas that end a comma list (the next token
/// other than a comment closes a bracket): formatting adds or drops those.
fn tokens(source: &str) -> Vec<(String, String)> {
    let raw = raw_tokens(source);
    let mut out = Vec::new();
    for (i, (kind, text)) in raw.iter().enumerate() {
        if kind == "," {
            let next = raw[i + 1..].iter().find(|(k, _)| !is_comment_kind(k));
            if next.is_some_and(|(k, _)| k == ")" || k == "]") {
                continue;
            }
        }
        out.push((kind.clone(), text.clone()));
    }
    out
}

fn format_ok(what: &str, source: &str) -> String {
    match format(source) {
        Ok(text) => text,
        Err(e) => panic!("{what}: {e}\n{source}"),
    }
}

/// Formats `source` (which must parse cleanly) and checks idempotence, the
/// token sequence and the shape of the text.
fn check_properties(what: &str, source: &str) -> String {
    let once = format_ok(what, source);
    let twice = format_ok(what, &once);
    assert_eq!(
        once, twice,
        "{what}: formatting is not idempotent\n--- once:\n{once}\n--- twice:\n{twice}"
    );
    assert_eq!(
        tokens(source),
        tokens(&once),
        "{what}: the tokens changed\n--- source:\n{source}\n--- formatted:\n{once}"
    );
    if !once.is_empty() {
        assert!(once.ends_with('\n'), "{what}: no final newline");
        assert!(!once.ends_with("\n\n"), "{what}: blank lines at the end");
        assert!(!once.starts_with('\n'), "{what}: blank lines at the start");
    }
    assert!(!once.contains("\n\n\n"), "{what}: two blank lines in a row");
    for (i, line) in once.lines().enumerate() {
        assert_eq!(
            line,
            line.trim_end(),
            "{what}: line {} ends with spaces\n{once}",
            i + 1
        );
    }
    once
}

/// The tokens of `source` one per line: every comment is on its own line.
fn explode(source: &str) -> String {
    let mut out = String::new();
    for (_, text) in raw_tokens(source) {
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// The tokens of `source` separated by single spaces, with line breaks only
/// after comments.
fn squash(source: &str) -> String {
    let mut out = String::new();
    for (kind, text) in raw_tokens(source) {
        out.push_str(&text);
        out.push(if is_comment_kind(&kind) { '\n' } else { ' ' });
    }
    out
}

fn without_blank_lines(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

fn show_diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i).copied(), a.get(i).copied());
        if x != y {
            out.push_str(&format!(
                "line {}:\n  expected: {:?}\n  actual:   {:?}\n",
                i + 1,
                x.unwrap_or("<none>"),
                y.unwrap_or("<none>")
            ));
        }
    }
    out
}

#[test]
fn fixtures_format_exactly() {
    for (name, input, expected) in fixtures() {
        let actual = check_properties(&name, &input);
        assert!(
            actual == expected,
            "fixture {name} differs from {name}.expected.chop:\n{}\n--- actual:\n{actual}",
            show_diff(&expected, &actual)
        );
        assert_eq!(
            format_ok(&name, &expected),
            expected,
            "{name}.expected.chop is not formatted"
        );
    }
}

#[test]
fn crlf_input_gives_lf_output() {
    let crlf = read(&fixtures_dir().join("crlf.chop"));
    let expected = read(&fixtures_dir().join("crlf.expected.chop"));
    assert!(!expected.contains('\r'));
    // The fixture's CRLF endings may have been normalised by git: make sure.
    let crlf = crlf.replace("\r\n", "\n").replace('\n', "\r\n");
    assert_eq!(format_ok("crlf", &crlf), expected);
    for (name, input, expected) in fixtures() {
        let crlf = input.replace("\r\n", "\n").replace('\n', "\r\n");
        let actual = check_properties(&name, &crlf);
        assert!(
            actual == expected,
            "fixture {name} with CRLF line endings:\n{}",
            show_diff(&expected, &actual)
        );
    }
}

#[test]
fn all_chop_files_are_idempotent_and_lossless() {
    let mut checked = 0;
    for path in &repo_chop_files() {
        let source = read(path);
        if parse(&source).root_node().has_error() {
            // Files with syntax errors are refused (tested below).
            assert!(format(&source).is_err(), "{}", path.display());
            continue;
        }
        let what = path.display().to_string();
        let formatted = check_properties(&what, &source);
        check_properties(&format!("{what} (formatted)"), &formatted);
        checked += 1;
    }
    // As many as there are today (the tests' and the filter library's).
    assert!(checked >= 73, "only {checked} .chop files checked");
}

/// The examples of the grammar's corpus (`vm/grammar/test/corpus/*.txt`)
/// that parse cleanly.
fn corpus_examples() -> Vec<(String, String)> {
    let dir = manifest_dir().join("../vm/grammar/test/corpus");
    let mut out = Vec::new();
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list the corpus {}: {err}", dir.display()));
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let text = read(&path);
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            // A header: `===` line, title, `===` line; then the source up to
            // a `---` line.
            if lines[i].starts_with("===") && i + 2 < lines.len() {
                let title = lines[i + 1].to_string();
                let mut j = i + 3;
                let mut source = String::new();
                while j < lines.len() && !lines[j].starts_with("---") {
                    source.push_str(lines[j]);
                    source.push('\n');
                    j += 1;
                }
                if !parse(&source).root_node().has_error() {
                    out.push((format!("{}: {title}", path.display()), source));
                }
                i = j;
            }
            i += 1;
        }
    }
    out
}

#[test]
fn corpus_examples_are_idempotent_and_lossless() {
    let examples = corpus_examples();
    // All 37 examples of the corpus but the 8 of `errors.txt`: a corpus that went
    // missing or a reader that found nothing must not pass.
    assert!(
        examples.len() >= 29,
        "only {} corpus examples found",
        examples.len()
    );
    for (what, source) in &examples {
        check_properties(what, source);
    }
}

#[test]
fn reshaped_sources_are_idempotent_and_lossless() {
    let mut sources: Vec<(String, String)> = fixtures()
        .into_iter()
        .map(|(name, input, _)| (name, input))
        .collect();
    for path in repo_chop_files() {
        let source = read(&path);
        if !parse(&source).root_node().has_error() {
            sources.push((path.display().to_string(), source));
        }
    }
    sources.extend(corpus_examples());
    for (what, source) in &sources {
        check_properties(&format!("{what} (one token per line)"), &explode(source));
        check_properties(&format!("{what} (squashed)"), &squash(source));
    }
}

#[test]
fn layout_does_not_depend_on_the_input_layout() {
    // Without comments, only the blank lines of the input matter.
    for (name, _, expected) in fixtures() {
        if raw_tokens(&expected)
            .iter()
            .any(|(kind, _)| is_comment_kind(kind))
        {
            continue;
        }
        for (how, reshaped) in [
            ("squashed", squash(&expected)),
            ("exploded", explode(&expected)),
        ] {
            let actual = format_ok(&name, &reshaped);
            assert_eq!(
                without_blank_lines(&actual),
                without_blank_lines(&expected),
                "fixture {name} {how}"
            );
        }
    }
}

#[test]
fn syntax_errors_are_refused() {
    let missing = "fn main() {\n    let x = 1\n    let y = 2;\n}\n";
    let err = match format(missing) {
        Ok(text) => panic!("formatted a file with a syntax error:\n{text}"),
        Err(e) => e,
    };
    let first = &err.errors[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.start, missing.find("1\n").map_or(0, |i| i + 1));
    let message = err.to_string();
    assert!(message.contains("line 2"), "{message}");
    assert!(message.starts_with("cannot format"), "{message}");

    let stray = "fn main() {\n    let x = 1;\n    ) \n    print(x);\n}\n";
    let err = format(stray)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("line 3, column 5"), "{err}");

    for broken in [
        "fn main() {\n    let x = 1;\n",
        "fn",
        "param p: int = ;",
        "fn main() { src. }",
    ] {
        assert!(format(broken).is_err(), "{broken}");
    }
}

#[test]
fn empty_and_blank_files() {
    assert_eq!(format(""), Ok(String::new()));
    assert_eq!(format("\n\r\n  \n"), Ok(String::new()));
    assert_eq!(format("// only\n"), Ok("// only\n".to_string()));
    assert_eq!(format("fn main(){}"), Ok("fn main() {}\n".to_string()));
}

#[test]
fn deep_and_long_expressions_do_not_overflow() {
    // Nesting deeper than the formatter follows is kept as written.
    let depth = 400;
    let deep = format!(
        "fn f() -> int {{\n    {}1{}\n}}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    check_properties("deep parentheses", &deep);
    let long = format!("fn f() -> int {{\n    {}1\n}}\n", "1 + ".repeat(5000));
    check_properties("long sum", &long);
    let ifs = format!(
        "fn f(x: int) -> int {{\n    {}0{}\n}}\n",
        "if x > 0 { 1 } else { ".repeat(300),
        " }".repeat(300)
    );
    check_properties("long else-if chain", &ifs);
}

#[test]
fn a_comment_after_any_token_is_kept() {
    // A comment placed after each token in turn (alternately at the end of
    // the line and on a line of its own), then after every token at once,
    // survives, and formatting stays idempotent.
    for (name, input, _) in fixtures() {
        let tree = parse(&input);
        let mut nodes = Vec::new();
        leaves(tree.root_node(), &mut nodes);
        let ends: Vec<usize> = nodes.iter().map(|n| n.end_byte()).collect();
        let comment = |i: usize, own_line: bool| {
            if own_line {
                format!("\n// c{i}\n")
            } else {
                format!(" // c{i}\n")
            }
        };
        for (i, &end) in ends.iter().enumerate() {
            let own_line = i % 2 == 1;
            let source = format!("{}{}{}", &input[..end], comment(i, own_line), &input[end..]);
            let what = format!("{name} with a comment after token {i} (own line: {own_line})");
            let formatted = check_properties(&what, &source);
            assert!(formatted.contains(&format!("// c{i}\n")), "{what}");
        }
        for own_line in [false, true] {
            let mut source = String::new();
            let mut from = 0;
            for (i, &end) in ends.iter().enumerate() {
                source.push_str(&input[from..end]);
                source.push_str(&comment(i, own_line));
                from = end;
            }
            source.push_str(&input[from..]);
            let what = format!("{name} with a comment after every token (own line: {own_line})");
            check_properties(&what, &source);
        }
    }
}

/// Items taken from the process's store of printed items give the text printing the
/// whole file gives: on every fixture, repository file and corpus example, reshaped
/// too, formatted first without the store, then twice with it (the second time every
/// item comes from the store).
#[test]
fn items_printed_before_give_the_same_text() {
    let mut sources: Vec<(String, String)> = fixtures()
        .into_iter()
        .map(|(name, input, _)| (name, input))
        .collect();
    for path in repo_chop_files() {
        sources.push((path.display().to_string(), read(&path)));
    }
    sources.extend(corpus_examples());
    let mut checked = 0;
    for (what, source) in &sources {
        if parse(source).root_node().has_error() {
            continue;
        }
        for source in [source.clone(), explode(source), squash(source)] {
            let tree = parse(&source);
            if tree.root_node().has_error() {
                continue;
            }
            let whole = chop_ide::fmt::format_with(&source, &tree, false).unwrap();
            let first = chop_ide::fmt::format_with(&source, &tree, true).unwrap();
            let again = chop_ide::fmt::format_with(&source, &tree, true).unwrap();
            assert!(first == whole, "{what}:\n{}", show_diff(&whole, &first));
            assert!(
                again == whole,
                "{what} (again):\n{}",
                show_diff(&whole, &again)
            );
            checked += 1;
        }
    }
    assert!(checked >= 300, "only {checked} sources checked");
}
