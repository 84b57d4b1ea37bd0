//! Runs the tree-sitter corpus in `test/corpus/` without the tree-sitter CLI,
//! and checks that the editor queries compile.

use std::fs;
use std::path::{Path, PathBuf};

use tree_sitter::{Language, Parser, Query, QueryCursor, StreamingIterator};

fn language() -> Language {
    tree_sitter_chop::LANGUAGE.into()
}

/// One `=== name ===` entry of a corpus file.
struct Entry {
    name: String,
    input: String,
    expected: String,
}

fn is_rule(line: &str, c: char) -> bool {
    let line = line.trim_end();
    line.len() >= 3 && line.chars().all(|x| x == c)
}

/// Splits a corpus file in the format of `tree-sitter test`: a header
/// (`===` line, name, `===` line), the input, a `---` line, the expected tree.
fn parse_corpus(text: &str) -> Vec<Entry> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut entries = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_rule(lines[i], '=') {
            assert!(
                lines[i].trim().is_empty(),
                "unexpected text between corpus entries: {:?}",
                lines[i]
            );
            i += 1;
            continue;
        }
        let name = lines.get(i + 1).map_or("", |l| l.trim()).to_owned();
        assert!(
            lines.get(i + 2).is_some_and(|l| is_rule(l, '=')),
            "malformed header for {name:?}"
        );
        i += 3;
        let mut input = String::new();
        while i < lines.len() && !is_rule(lines[i], '-') {
            input.push_str(lines[i]);
            i += 1;
        }
        assert!(i < lines.len(), "no `---` line in {name:?}");
        i += 1;
        // Like the CLI: the newline before the `---` line is not input.
        if input.ends_with('\n') {
            input.pop();
            if input.ends_with('\r') {
                input.pop();
            }
        }
        let mut expected = String::new();
        while i < lines.len() && !is_rule(lines[i], '=') {
            expected.push_str(lines[i]);
            i += 1;
        }
        entries.push(Entry {
            name,
            input,
            expected,
        });
    }
    entries
}

/// Whitespace-insensitive form of an S-expression: every run of whitespace
/// becomes one space, none after `(` or before `)`.
fn normalize(sexp: &str) -> String {
    let words: Vec<&str> = sexp.split_whitespace().collect();
    words.join(" ").replace("( ", "(").replace(" )", ")")
}

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test/corpus");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus() {
    let mut parser = Parser::new();
    parser
        .set_language(&language())
        .expect("load the Chop grammar");

    let files = corpus_files();
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    for wanted in [
        "comments",
        "errors",
        "expressions",
        "items",
        "statements",
        "types",
    ] {
        assert!(names.iter().any(|n| n == wanted), "missing {wanted}.txt");
    }

    let mut count = 0;
    let mut failures = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("read a corpus file");
        let entries = parse_corpus(&text);
        assert!(!entries.is_empty(), "{} has no entries", file.display());
        for entry in entries {
            count += 1;
            let tree = parser.parse(&entry.input, None).expect("a tree");
            let actual = normalize(&tree.root_node().to_sexp());
            let expected = normalize(&entry.expected);
            if actual != expected {
                failures.push(format!(
                    "{}: {}\n  expected: {expected}\n  actual:   {actual}",
                    file.file_name().unwrap_or_default().to_string_lossy(),
                    entry.name,
                ));
            }
        }
    }
    assert!(count > 30, "only {count} corpus entries found");
    assert!(
        failures.is_empty(),
        "{} of {count} corpus entries differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_files_are_well_formed() {
    let entries = parse_corpus(
        "=====\nfirst\n=====\n\nfn f() {}\n\n---\n\n(source_file)\n\n=====\nsecond\n=====\nx\n---\n(a\n  b: (c))\n",
    );
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].name, "first");
    assert_eq!(entries[0].input, "\nfn f() {}\n");
    assert_eq!(normalize(&entries[0].expected), "(source_file)");
    assert_eq!(entries[1].input, "x");
    assert_eq!(normalize(&entries[1].expected), "(a b: (c))");
}

#[test]
fn missing_nodes_print_like_the_corpus() {
    let mut parser = Parser::new();
    parser
        .set_language(&language())
        .expect("load the Chop grammar");
    let tree = parser
        .parse("fn main() { let x = 1\n let y = src.; }", None)
        .expect("a tree");
    let sexp = tree.root_node().to_sexp();
    assert!(sexp.contains(r#"(MISSING ";")"#), "{sexp}");
    assert!(sexp.contains("field: (MISSING identifier)"), "{sexp}");
}

const SAMPLE: &str = r#"//! A soft vignette with a tunable strength.

/// How dark the corners get.
param strength: float = 0.5 in 0.0..1.0;

/// Darkens the image towards its corners.
filter vignette(src: image, x: int, y: int) -> color {
    let cx = float(src.width) / 2.0;
    let d = sqrt(pow(float(x) - cx, 2.0));
    src.at(x, y) * (1.0 - strength * smoothstep(0.3, 1.0, d))
}

fn factorial(n: int) -> int {
    if n <= 1 { return 1; }
    n * factorial(n - 1)
}

pipeline dark_corners = grayscale |> vignette(strength: 0.8);

fn main() {
    var total = 0;
    for i in 0..10 { total += i; }
    print("4! =", factorial(4), true);
}
"#;

fn captures(source: &str, query_source: &str) -> Vec<(String, String)> {
    let language = language();
    let query = Query::new(&language, query_source).expect("the query compiles");
    let mut parser = Parser::new();
    parser
        .set_language(&language)
        .expect("load the Chop grammar");
    let tree = parser.parse(source, None).expect("a tree");
    assert!(
        !tree.root_node().has_error(),
        "{}",
        tree.root_node().to_sexp()
    );
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(&query, tree.root_node(), source.as_bytes());
    let mut found = Vec::new();
    while let Some(m) = matches.next() {
        for capture in m.captures() {
            let text = capture
                .node
                .utf8_text(source.as_bytes())
                .expect("UTF-8 source");
            found.push((
                query.capture_names()[capture.index as usize].to_owned(),
                text.to_owned(),
            ));
        }
    }
    found
}

fn has(found: &[(String, String)], capture: &str, text: &str) -> bool {
    found.iter().any(|(c, t)| c == capture && t == text)
}

#[test]
fn queries_compile() {
    let language = language();
    for (name, source) in [
        ("highlights", tree_sitter_chop::HIGHLIGHTS_QUERY),
        ("locals", tree_sitter_chop::LOCALS_QUERY),
        ("folds", tree_sitter_chop::FOLDS_QUERY),
    ] {
        if let Err(e) = Query::new(&language, source) {
            panic!("{name}.scm does not compile: {e}");
        }
    }
}

#[test]
fn highlights_capture_the_sample() {
    let found = captures(SAMPLE, tree_sitter_chop::HIGHLIGHTS_QUERY);
    for (capture, text) in [
        ("keyword", "param"),
        ("keyword", "filter"),
        ("keyword", "pipeline"),
        ("keyword", "return"),
        ("keyword.function", "fn"),
        ("type.builtin", "float"),
        ("type.builtin", "image"),
        ("function", "factorial"),
        ("function.call", "sqrt"),
        ("variable.parameter", "src"),
        ("property", "width"),
        ("number", "10"),
        ("number.float", "0.5"),
        ("boolean", "true"),
        ("string", "\"4! =\""),
        ("comment.documentation", "/// How dark the corners get."),
        ("operator", "|>"),
        ("punctuation.bracket", "{"),
        ("punctuation.delimiter", ";"),
    ] {
        assert!(
            has(&found, capture, text),
            "no @{capture} on {text:?} in {found:?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|(c, t)| c == "type" && (t == "float" || t == "int")),
        "a builtin type is also captured as @type"
    );
}

#[test]
fn highlights_capture_a_use_and_a_qualified_stage() {
    let source = "use \"lib/sepia.chop\" as s;\npipeline p = s.sepia;\n";
    let found = captures(source, tree_sitter_chop::HIGHLIGHTS_QUERY);
    for (capture, text) in [
        ("keyword.import", "use"),
        ("keyword.import", "as"),
        ("module", "s"),
        ("function.call", "sepia"),
        ("string", "\"lib/sepia.chop\""),
    ] {
        assert!(
            has(&found, capture, text),
            "no @{capture} on {text:?} in {found:?}"
        );
    }
}

#[test]
fn locals_and_folds_capture_the_sample() {
    let locals = captures(SAMPLE, tree_sitter_chop::LOCALS_QUERY);
    assert!(has(&locals, "local.definition", "cx"));
    assert!(has(&locals, "local.definition", "total"));
    assert!(has(&locals, "local.definition", "i"));
    assert!(has(&locals, "local.reference", "cx"));
    assert!(locals.iter().any(|(c, _)| c == "local.scope"));

    let folds = captures(SAMPLE, tree_sitter_chop::FOLDS_QUERY);
    assert!(folds
        .iter()
        .any(|(c, t)| c == "fold" && t.starts_with("fn main")));
}
