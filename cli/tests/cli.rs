//! End-to-end tests of the `chunkvm` command line: they run the built binary
//! on the programs in `tests/cli/` and check its exit status, standard output
//! and standard error. Long outputs (disassembly, graphs, diagnostics) are
//! insta snapshots in `tests/snapshots/cli__*.snap`.
//!
//! The binary runs with `tests/cli/` as its working directory and gets
//! relative file names, so every path it prints is a plain file name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "cli_cases/bad_input.rs"]
mod bad_input;
#[path = "cli_cases/photos.rs"]
mod photos;

/// The folder of the test programs.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli")
}

/// Runs `chunkvm ARGS` in `dir`.
fn chunkvm(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chunkvm"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("chunkvm starts")
}

/// Runs `chunkvm ARGS` on the test programs.
fn run(args: &[&str]) -> Output {
    chunkvm(args, &fixtures())
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts a clean success: status 0 and nothing on standard error. Returns stdout.
fn succeeds(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    assert_eq!(stderr(out), "");
    stdout(out)
}

/// Asserts the command failed with status 1 and no panic. Returns stderr.
fn fails(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {err}",
        stdout(out)
    );
    assert!(!err.contains("panicked"), "a panic: {err}");
    err
}

/// Asserts the command failed with one `error: ...` line on standard error and
/// nothing on standard output. Returns that line, without `error: `.
fn one_line_error(out: &Output) -> String {
    let err = fails(out);
    assert_eq!(stdout(out), "");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    err.strip_prefix("error: ")
        .unwrap_or_else(|| panic!("no `error: ` prefix: {err}"))
        .trim_end()
        .to_string()
}

/// A fresh, empty folder under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chunkvm-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp folder");
    dir
}

/// Copies test program `name` into a fresh temp folder; returns the folder.
fn temp_copy(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::copy(fixtures().join(name), dir.join(name)).expect("a copy of the test program");
    dir
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).expect("a readable text file")
}

/// The disassembler pads columns, which leaves trailing spaces on lines
/// without a source note; snapshots keep lines without them.
fn trim_lines(text: &str) -> String {
    text.lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect()
}

// ---- run ----

#[test]
fn run_prints_from_main() {
    let out = run(&["run", "hello.chop"]);
    assert_eq!(succeeds(&out), "hello 0\nhello 1\n");
}

#[test]
fn run_fn_prints_the_result() {
    let out = run(&["run", "hello.chop", "--fn", "factorial", "--arg", "4"]);
    assert_eq!(succeeds(&out), "24\n");
    let out = run(&["run", "hello.chop", "--fn", "factorial", "--arg", "10"]);
    assert_eq!(succeeds(&out), "3628800\n");
}

#[test]
fn run_fn_without_a_value_prints_nothing() {
    let out = run(&["run", "hello.chop", "--fn", "nothing"]);
    assert_eq!(succeeds(&out), "");
}

#[test]
fn run_float_args() {
    let out = run(&["run", "hello.chop", "--fn", "half", "--arg", "3.0"]);
    assert_eq!(succeeds(&out), "1.5\n");
    let out = run(&["run", "hello.chop", "--fn", "half", "--arg", "-1.5"]);
    assert_eq!(succeeds(&out), "-0.75\n");
}

#[test]
fn run_bool_args() {
    let args = |flag| {
        [
            "run",
            "hello.chop",
            "--fn",
            "pick",
            "--arg",
            flag,
            "--arg",
            "1",
            "--arg",
            "2",
        ]
    };
    assert_eq!(succeeds(&run(&args("true"))), "1\n");
    assert_eq!(succeeds(&run(&args("false"))), "2\n");
}

#[test]
fn run_colour_args() {
    let out = run(&["run", "hello.chop", "--fn", "tint", "--arg", "#ff8800"]);
    assert_eq!(succeeds(&out), "rgba(1.0, 0.53333336, 0.0, 1.0)\n");
    let out = run(&["run", "hello.chop", "--fn", "tint", "--arg", "#FF880080"]);
    assert_eq!(succeeds(&out), "rgba(1.0, 0.53333336, 0.0, 0.5019608)\n");
}

#[test]
fn run_param_overrides_the_default() {
    let out = run(&["run", "hello.chop", "--param", "times=3"]);
    assert_eq!(succeeds(&out), "hello 0\nhello 1\nhello 2\n");
    let out = run(&["run", "hello.chop", "--fn", "scaled", "--arg", "2.0"]);
    assert_eq!(succeeds(&out), "1.0\n");
    let out = run(&[
        "run",
        "hello.chop",
        "--fn",
        "scaled",
        "--arg",
        "2.0",
        "--param",
        "gain=3.0",
    ]);
    assert_eq!(succeeds(&out), "6.0\n");
}

/// Parses the `--stats` line: `N instructions, M chunks`.
fn instructions(stats: &str) -> u64 {
    let words: Vec<&str> = stats.split_whitespace().collect();
    assert_eq!(stats.lines().count(), 1, "{stats}");
    assert!(
        matches!(words.as_slice(), [_, "instructions,", _, "chunks"]),
        "not a stats line: {stats}"
    );
    assert!(words[2].parse::<u64>().is_ok(), "{stats}");
    words[0].parse().expect("an instruction count")
}

#[test]
fn run_stats_go_to_stderr() {
    let out = run(&["run", "hello.chop", "--stats"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "hello 0\nhello 1\n");
    assert!(instructions(&stderr(&out)) > 0);

    let small = run(&[
        "run",
        "hello.chop",
        "--fn",
        "factorial",
        "--arg",
        "2",
        "--stats",
    ]);
    let large = run(&[
        "run",
        "hello.chop",
        "--fn",
        "factorial",
        "--arg",
        "12",
        "--stats",
    ]);
    assert_eq!(stdout(&small), "2\n");
    assert_eq!(stdout(&large), "479001600\n");
    assert!(instructions(&stderr(&small)) < instructions(&stderr(&large)));
}

#[test]
fn run_prints_warnings_and_still_runs() {
    let out = run(&["run", "warnings.chop"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "7\n");
    let err = stderr(&out);
    assert!(
        err.contains("warnings.chop:3:5: warning: unreachable code after `return` [W0001]"),
        "{err}"
    );
    assert!(
        err.contains("warnings.chop:7:9: warning: variable `unused` is never read [W0002]"),
        "{err}"
    );
}

#[test]
fn run_refuses_a_program_with_errors() {
    let out = run(&["run", "type_errors.chop"]);
    let err = fails(&out);
    assert_eq!(stdout(&out), "");
    assert!(
        err.starts_with("type_errors.chop:7:20: error: expected `float`, found `int` [E0004]\n"),
        "{err}"
    );
    assert!(
        err.ends_with("error: type_errors.chop has 5 errors\n"),
        "{err}"
    );
}

// ---- check ----

#[test]
fn check_clean_file() {
    let out = run(&["check", "clean.chop"]);
    assert_eq!(succeeds(&out), "");
}

#[test]
fn check_text_format() {
    let out = run(&["check", "type_errors.chop"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "type_errors.chop:7:20: error: expected `float`, found `int` [E0004]\n\
             7 |     let f: float = i;\n\
             \x20 |                    ^\n\
             \x20 = help: use float(x) to convert an int to a float\n\
             type_errors.chop:8:11: error: cannot apply `+` to `int` and `float` [E0004]\n\
             8 |     print(i + f);\n\
             \x20 |           ^^^^^\n"
        ),
        "{text}"
    );
    let headers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("type_errors.chop:"))
        .collect();
    assert_eq!(headers.len(), 5, "{text}");
    assert!(headers
        .iter()
        .all(|h| h.contains(": error: ") && h.ends_with(']')));
}

#[test]
fn check_json_format() {
    let out = run(&["check", "--format", "json", "type_errors.chop"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let diags = json.as_array().expect("an array");
    assert_eq!(diags.len(), 5);
    let first = &diags[0];
    assert_eq!(first["file"], "type_errors.chop");
    assert_eq!(first["range"]["start"]["line"], 7);
    assert_eq!(first["range"]["start"]["column"], 20);
    assert_eq!(first["range"]["end"]["line"], 7);
    assert_eq!(first["range"]["end"]["column"], 21);
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "E0004");
    assert_eq!(first["message"], "expected `float`, found `int`");
    let third = &diags[2];
    assert_eq!(third["code"], "E0005");
    assert_eq!(third["range"]["start"]["line"], 9);
    assert_eq!(
        third["message"],
        "`scale` takes 2 arguments, but 1 was given"
    );
}

#[test]
fn check_json_of_a_clean_file_is_an_empty_array() {
    let out = run(&["check", "--format", "json", "clean.chop"]);
    let json: serde_json::Value = serde_json::from_str(&succeeds(&out)).expect("valid JSON");
    assert_eq!(json, serde_json::json!([]));
}

#[test]
fn check_several_files() {
    let out = run(&["check", "clean.chop", "warnings.chop", "unknown_names.chop"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.starts_with("warnings.chop:3:5: warning:"), "{text}");
    assert!(
        text.contains("unknown_names.chop:12:11: error: unknown name `cuont` [E0003]"),
        "{text}"
    );
    assert!(!text.contains("clean.chop"), "{text}");

    let out = run(&[
        "check",
        "--format",
        "json",
        "warnings.chop",
        "type_errors.chop",
        "clean.chop",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let files: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 7);
    assert_eq!(files.iter().filter(|f| **f == "warnings.chop").count(), 2);
    assert_eq!(
        files.iter().filter(|f| **f == "type_errors.chop").count(),
        5
    );
}

#[test]
fn check_warnings_alone_exit_0() {
    let out = run(&["check", "warnings.chop"]);
    let text = succeeds(&out);
    assert!(
        text.contains("warning: unreachable code after `return` [W0001]"),
        "{text}"
    );
    assert!(
        text.contains("warning: variable `unused` is never read [W0002]"),
        "{text}"
    );
    assert!(!text.contains("error"), "{text}");

    let out = run(&["check", "--format", "json", "clean.chop", "warnings.chop"]);
    let json: serde_json::Value = serde_json::from_str(&succeeds(&out)).unwrap();
    let diags = json.as_array().unwrap();
    assert_eq!(diags.len(), 2);
    assert!(diags.iter().all(|d| d["severity"] == "warning"));
}

#[test]
fn check_snapshots() {
    for name in ["syntax_error", "type_errors", "unknown_names"] {
        let out = run(&["check", &format!("{name}.chop")]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert_eq!(stderr(&out), "", "{name}");
        insta::assert_snapshot!(format!("check_{name}"), stdout(&out));
    }
}

// ---- dump and graph ----

#[test]
fn dump_snapshots() {
    let cases: [(&str, &[&str]); 4] = [
        ("dump_loop_call", &["dump", "loop_call.chop"]),
        (
            "dump_loop_call_sum_squares",
            &["dump", "loop_call.chop", "--fn", "sum_squares"],
        ),
        ("dump_closure", &["dump", "closure.chop"]),
        (
            "dump_closure_make_counter",
            &["dump", "closure.chop", "--fn", "make_counter"],
        ),
    ];
    for (name, args) in cases {
        let text = succeeds(&run(args));
        insta::assert_snapshot!(name, trim_lines(&text));
    }
}

#[test]
fn dump_fn_is_part_of_the_whole_dump() {
    let whole = succeeds(&run(&["dump", "loop_call.chop"]));
    let one = succeeds(&run(&["dump", "loop_call.chop", "--fn", "sum_squares"]));
    let body = one
        .split_once("\n\n")
        .expect("a header, then the function")
        .1;
    assert!(body.starts_with("function chunk "), "{one}");
    assert!(body.contains("fn sum_squares(n: int) -> int"), "{one}");
    assert!(!one.contains("fn square("), "{one}");
    assert!(
        whole.contains(body.trim_end()),
        "--fn output is not a part of the whole dump"
    );
}

#[test]
fn graph_json_snapshots() {
    for (file, func) in [
        ("loop_call.chop", "sum_squares"),
        ("closure.chop", "make_counter"),
    ] {
        let text = succeeds(&run(&["graph", file, "--fn", func, "--format", "json"]));
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(json["function"], func);
        insta::assert_snapshot!(format!("graph_{func}_json"), text);
    }
}

#[test]
fn graph_dot_snapshot() {
    let text = succeeds(&run(&["graph", "loop_call.chop", "--fn", "sum_squares"]));
    assert!(
        text.starts_with("digraph \"sum_squares\" {\n") && text.ends_with("}\n"),
        "{text}"
    );
    let explicit = succeeds(&run(&[
        "graph",
        "loop_call.chop",
        "--fn",
        "sum_squares",
        "--format",
        "dot",
    ]));
    assert_eq!(text, explicit, "dot is the default format");
    insta::assert_snapshot!("graph_sum_squares_dot", text);
}

/// Checks that every tag is closed in order (self-closing tags aside).
fn assert_tags_balance(svg: &str) {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>').expect("an unclosed `<`");
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.ends_with('/') || tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop(),
                Some(closing),
                "`</{closing}>` closes the wrong tag"
            );
        } else {
            let tag_name = tag.split_whitespace().next().expect("a tag name");
            open.push(tag_name);
        }
    }
    assert!(open.is_empty(), "unclosed tags: {open:?}");
}

#[test]
fn graph_svg_is_well_formed() {
    let json = succeeds(&run(&[
        "graph",
        "loop_call.chop",
        "--fn",
        "sum_squares",
        "--format",
        "json",
    ]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let svg = succeeds(&run(&[
        "graph",
        "loop_call.chop",
        "--fn",
        "sum_squares",
        "--format",
        "svg",
    ]));
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
    assert_tags_balance(&svg);
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for node in nodes {
        let label = node["label"].as_str().unwrap();
        assert!(svg.contains(label), "no label {label} in the SVG");
    }
}

// ---- fmt ----

#[test]
fn fmt_check_accepts_a_formatted_file() {
    let out = run(&["fmt", "--check", "formatted.chop"]);
    assert_eq!(succeeds(&out), "");
}

#[test]
fn fmt_check_rejects_an_unformatted_file() {
    let before = read(fixtures().join("unformatted.chop"));
    let out = run(&["fmt", "--check", "formatted.chop", "unformatted.chop"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "unformatted.chop is not formatted\n");
    assert_eq!(stderr(&out), "");
    assert_eq!(
        read(fixtures().join("unformatted.chop")),
        before,
        "--check wrote the file"
    );
}

#[test]
fn fmt_rewrites_a_file_and_is_idempotent() {
    let dir = temp_copy("unformatted.chop");
    let out = chunkvm(&["fmt", "unformatted.chop"], &dir);
    assert_eq!(succeeds(&out), "formatted unformatted.chop\n");
    let formatted = read(dir.join("unformatted.chop"));
    assert_eq!(formatted, read(fixtures().join("formatted.chop")));

    let out = chunkvm(&["fmt", "unformatted.chop"], &dir);
    assert_eq!(succeeds(&out), "", "a second fmt changed the file");
    assert_eq!(read(dir.join("unformatted.chop")), formatted);
    let out = chunkvm(&["fmt", "--check", "unformatted.chop"], &dir);
    assert_eq!(succeeds(&out), "");

    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["unformatted.chop"], "fmt left files behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors() {
    let dir = temp_copy("syntax_error.chop");
    let before = read(dir.join("syntax_error.chop"));
    for args in [
        &["fmt", "syntax_error.chop"][..],
        &["fmt", "--check", "syntax_error.chop"],
    ] {
        let message = one_line_error(&chunkvm(args, &dir));
        assert!(message.starts_with("syntax_error.chop: "), "{message}");
        assert!(message.contains("syntax error"), "{message}");
        assert!(message.contains("line 4, column 14"), "{message}");
        assert_eq!(
            read(dir.join("syntax_error.chop")),
            before,
            "the file changed"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dump_folds_runs_of_zero_slots() {
    let text = succeeds(&run(&["dump", "hello.chop"]));
    assert!(text.contains("zero scalars ("), "{text}");
    let zero = "scalar 0x0000000000000000 (0)";
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        !lines
            .windows(3)
            .any(|w| w.iter().all(|l| l.ends_with(zero))),
        "three zero slots in a row, unfolded"
    );
}

#[test]
fn bench_refuses_an_unknown_filter_and_passes_on_a_known_one() {
    let err = one_line_error(&run(&["bench", "--quick", "--filter", "nope"]));
    assert!(
        err.starts_with("no filter `nope` in the benchmark; it has: invert, grayscale, "),
        "{err}"
    );
    assert!(err.contains("box_blur"), "{err}");
    let out = run(&["bench", "--quick", "--filter", "box_blur"]);
    let table = succeeds(&out);
    assert!(
        table.lines().any(|line| line.starts_with("box_blur ")),
        "{table}"
    );
}
