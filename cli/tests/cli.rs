//! End-to-end tests of the `chunkvm` command line: they run the built binary
//! on the programs in `tests/cli/` and check its exit status, standard output
//! and standard error. Long outputs (disassembly, graphs, diagnostics) are
//! insta snapshots in `tests/snapshots/cli__*.snap`.
//!
//! The binary runs with `tests/cli/` as its working directory and gets
//! relative file names, so every path it prints is a plain file name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

// ---- bad input ----

#[test]
fn missing_file() {
    let commands: [&[&str]; 5] = [
        &["run", "missing.chop"],
        &["check", "missing.chop"],
        &["dump", "missing.chop"],
        &["graph", "missing.chop", "--fn", "main"],
        &["fmt", "missing.chop"],
    ];
    for args in commands {
        assert_eq!(
            one_line_error(&run(args)),
            "cannot read missing.chop: no such file",
            "{args:?}"
        );
    }
}

#[test]
fn file_that_is_not_utf8() {
    let dir = temp_dir("not_utf8");
    std::fs::write(dir.join("binary.chop"), [0xff, 0xfe]).unwrap();
    let commands: [&[&str]; 4] = [
        &["run", "binary.chop"],
        &["check", "binary.chop"],
        &["dump", "binary.chop"],
        &["fmt", "binary.chop"],
    ];
    for args in commands {
        let message = one_line_error(&chunkvm(args, &dir));
        assert!(
            message.starts_with("cannot read binary.chop: "),
            "{message}"
        );
        assert!(message.contains("not UTF-8"), "{message}");
    }
    assert_eq!(
        std::fs::read(dir.join("binary.chop")).unwrap(),
        [0xff, 0xfe]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_fn_lists_the_functions() {
    let message = one_line_error(&run(&["run", "hello.chop", "--fn", "factorail"]));
    assert_eq!(
        message,
        "no function `factorail` in hello.chop; it has: factorial, half, pick, tint, scaled, nothing, main"
    );
    for args in [
        &["dump", "loop_call.chop", "--fn", "nope"][..],
        &["graph", "loop_call.chop", "--fn", "nope"],
    ] {
        let message = one_line_error(&run(args));
        assert!(
            message.starts_with("no function `nope` in loop_call.chop; it has: "),
            "{message}"
        );
        assert!(message.contains("square, sum_squares, main"), "{message}");
    }
}

#[test]
fn wrong_arg_type() {
    let message = one_line_error(&run(&[
        "run",
        "hello.chop",
        "--fn",
        "factorial",
        "--arg",
        "four",
    ]));
    assert!(message.contains("\"four\""), "{message}");
    assert!(
        message.contains("parameter `n` of `factorial`"),
        "{message}"
    );
    assert!(message.contains("`n` is an int"), "{message}");

    let message = one_line_error(&run(&[
        "run",
        "hello.chop",
        "--fn",
        "tint",
        "--arg",
        "ff8800",
    ]));
    assert!(message.contains("parameter `c` of `tint`"), "{message}");
    assert!(message.contains("`c` is a color"), "{message}");
    assert!(message.contains("#ff8800"), "{message}");

    let message = one_line_error(&run(&[
        "run",
        "hello.chop",
        "--fn",
        "pick",
        "--arg",
        "yes",
        "--arg",
        "1",
        "--arg",
        "2",
    ]));
    assert!(message.contains("parameter `flag` of `pick`"), "{message}");
    assert!(message.contains("`flag` is a bool"), "{message}");
}

#[test]
fn wrong_number_of_args() {
    let message = one_line_error(&run(&["run", "hello.chop", "--fn", "factorial"]));
    assert_eq!(
        message,
        "`factorial` takes 1 argument (n: int), but 0 --arg were given"
    );
    let message = one_line_error(&run(&[
        "run",
        "hello.chop",
        "--fn",
        "factorial",
        "--arg",
        "1",
        "--arg",
        "2",
    ]));
    assert_eq!(
        message,
        "`factorial` takes 1 argument (n: int), but 2 --arg were given"
    );
    let message = one_line_error(&run(&["run", "hello.chop", "--arg", "1"]));
    assert_eq!(
        message,
        "`main` takes 0 arguments (), but 1 --arg was given"
    );
}

#[test]
fn bad_params() {
    let message = one_line_error(&run(&["run", "hello.chop", "--param", "tims=3"]));
    assert_eq!(
        message,
        "no param `tims` in hello.chop; it has: times, gain"
    );
    let message = one_line_error(&run(&["run", "hello.chop", "--param", "times"]));
    assert!(message.contains("NAME=VALUE"), "{message}");
    let message = one_line_error(&run(&["run", "hello.chop", "--param", "times=many"]));
    assert!(message.contains("`times`"), "{message}");
    assert!(message.contains("integer"), "{message}");
}

#[test]
fn runtime_error_shows_the_line_and_the_stack() {
    let out = run(&["run", "div_zero.chop"]);
    let err = fails(&out);
    assert_eq!(stdout(&out), "5\n", "the output before the error is kept");
    assert_eq!(
        err,
        "div_zero.chop:2:5: runtime error: division by zero\n\
         2 |     a / b\n\
         \x20 |     ^^^^^\n\
         stack (innermost first):\n\
         \x20 at divide (div_zero.chop:2:5)\n\
         \x20 at average (div_zero.chop:6:5)\n\
         \x20 at main (div_zero.chop:11:11)\n"
    );
}

#[test]
fn instruction_budget_stops_an_endless_loop() {
    let out = run(&["run", "endless.chop", "--budget", "1000"]);
    let err = fails(&out);
    assert_eq!(stdout(&out), "");
    // Where the budget runs out inside the loop depends on the instructions.
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("endless.chop:"), "{err}");
    assert!(
        first.ends_with(": runtime error: instruction budget exhausted after 1000 instructions"),
        "{err}"
    );
    assert!(
        err.contains("stack (innermost first):\n  at main (endless.chop:"),
        "{err}"
    );
}

#[test]
fn help_mentions_the_options() {
    let text = succeeds(&run(&["--help"]));
    for word in ["run", "check", "dump", "graph", "fmt", "bench", "--version"] {
        assert!(text.contains(word), "--help lacks {word}: {text}");
    }
    let subcommands: [(&str, &[&str]); 6] = [
        (
            "run",
            &[
                "<FILE>", "--fn", "--arg", "--param", "--budget", "--quota", "--stats",
            ],
        ),
        ("check", &["<FILES>", "--format", "text", "json"]),
        ("dump", &["<FILE>", "--fn"]),
        (
            "graph",
            &["<FILE>", "--fn", "--format", "dot", "json", "svg"],
        ),
        ("fmt", &["<FILES>", "--check"]),
        ("bench", &["--quick"]),
    ];
    for (command, options) in subcommands {
        let text = succeeds(&run(&[command, "--help"]));
        assert!(
            text.contains(&format!("Usage: chunkvm {command}")),
            "{text}"
        );
        for option in options {
            assert!(
                text.contains(option),
                "`{command} --help` lacks {option}: {text}"
            );
        }
    }
}

#[test]
fn closures_cannot_be_run_from_the_command_line() {
    let err = one_line_error(&run(&[
        "run",
        "closure.chop",
        "--fn",
        "make_counter::closure@116",
    ]));
    assert!(
        err.contains("no function `make_counter::closure@116`"),
        "{err}"
    );
}

#[test]
fn a_param_outside_its_range_is_refused() {
    let err = one_line_error(&run(&["run", "hello.chop", "--param", "times=9"]));
    assert!(err.contains("`times` must lie in 1..5"), "{err}");
    let err = one_line_error(&run(&["run", "hello.chop", "--param", "times=x"]));
    assert!(err.contains("`times` is an int"), "{err}");
}

#[test]
fn runtime_error_carets_line_up_after_tabs() {
    let dir = temp_dir("tabs");
    std::fs::write(
        dir.join("tabs.chop"),
        "fn main() {\n\tlet z = 0;\n\tprint(1 / z);\n}\n",
    )
    .unwrap();
    let out = chunkvm(&["run", "tabs.chop"], &dir);
    let err = fails(&out);
    assert!(
        err.contains("3 | \tprint(1 / z);\n  | \t      ^^^^^\n"),
        "{err}"
    );
}

#[test]
fn multi_file_commands_go_on_past_a_bad_file() {
    let out = run(&[
        "check",
        "--format",
        "json",
        "type_errors.chop",
        "missing.chop",
    ]);
    let err = fails(&out);
    assert!(err.contains("missing.chop"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(!json.as_array().unwrap().is_empty());

    let out = run(&["fmt", "--check", "syntax_error.chop", "unformatted.chop"]);
    let err = fails(&out);
    assert!(err.contains("syntax_error.chop"), "{err}");
    assert!(stdout(&out).contains("unformatted.chop is not formatted"));
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_is_not_a_panic() {
    let out = with_closed(&["dump", "loop_call.chop"], true);
    assert_eq!(stderr(&out), "");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_photo_run_writes_the_png_and_prints_its_path() {
    let dir = temp_dir("photo_run");
    let filter = fixtures().join("../../../filters/invert.chop");
    let out_path = dir.join("inverted.png");
    let out = chunkvm(
        &[
            "run",
            filter.to_str().unwrap(),
            "--output",
            out_path.to_str().unwrap(),
            "--level",
            "1",
        ],
        &dir,
    );
    assert_eq!(succeeds(&out).trim(), out_path.to_str().unwrap());
    let image = chunkvm::photo::Rgba8::load(&out_path).unwrap();
    assert_eq!((image.width, image.height), (226, 150));
}

#[test]
fn a_failed_photo_run_leaves_no_output_file() {
    let dir = temp_dir("photo_fail");
    std::fs::write(
        dir.join("bad.chop"),
        "filter bad(src: image, x: int, y: int) -> color {\n    gray(float(1 / (x - 200)))\n}\n",
    )
    .unwrap();
    let out = chunkvm(&["run", "bad.chop", "--output", "out.png"], &dir);
    let err = fails(&out);
    assert!(err.contains("runtime error: division by zero"), "{err}");
    assert!(!dir.join("out.png").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn photo_run_bad_input_is_one_clear_line() {
    let dir = temp_dir("photo_bad");
    let filter = fixtures().join("../../../filters/sepia.chop");
    let filter = filter.to_str().unwrap();
    std::fs::write(
        dir.join("broken.jpg"),
        b"\xff\xd8\xff\xe0 not really a jpeg",
    )
    .unwrap();
    for (args, wanted) in [
        (
            vec!["--input", "missing.png"],
            "cannot read missing.png: no such file",
        ),
        (
            vec!["--input", "broken.jpg"],
            "cannot read broken.jpg: corrupt",
        ),
        (vec!["--param", "amount=7"], "`amount` must lie in 0.0..1.0"),
        (vec!["--param", "nope=1"], "no param `nope`"),
        (vec!["--param", "amount=high"], "`amount` is a float"),
        (vec!["--level", "9"], "levels 0 to 1, not 9"),
        (vec!["--filter", "blur"], "no filter `blur`"),
        (vec!["--quota", "100"], "over the chunk quota of 100"),
    ] {
        let mut all = vec!["run", filter, "--output", "out.png"];
        all.extend(args);
        let err = one_line_error(&chunkvm(&all, &dir));
        assert!(err.contains(wanted), "{all:?}: {err}");
        assert!(!dir.join("out.png").exists());
    }
}

#[test]
fn params_lists_types_defaults_ranges_and_docs() {
    let filter = fixtures().join("../../../filters/vignette.chop");
    let text = succeeds(&run(&["params", filter.to_str().unwrap()]));
    assert!(text.contains("strength: float = "), "{text}");
    assert!(text.contains(" in 0.0..1.0"), "{text}");
    let json = succeeds(&run(&[
        "params",
        filter.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "strength" && p["doc"].is_string()));
}

#[test]
fn import_run_and_export_a_chunk_photo() {
    let dir = temp_dir("chunks");
    let photo = fixtures().join("../../../samples/chelsea.png");
    let chunks = dir.join("cat.chunks");
    let out = chunkvm(
        &[
            "import",
            photo.to_str().unwrap(),
            "--out",
            chunks.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(succeeds(&out).contains("a 451x300 photo"));
    let png = dir.join("level1.png");
    succeeds(&chunkvm(
        &[
            "export",
            chunks.to_str().unwrap(),
            "--out",
            png.to_str().unwrap(),
            "--level",
            "1",
        ],
        &dir,
    ));
    let level1 = chunkvm::photo::Rgba8::load(&png).unwrap();
    assert_eq!((level1.width, level1.height), (226, 150));
    let filter = fixtures().join("../../../filters/invert.chop");
    let inverted = dir.join("inverted.png");
    succeeds(&chunkvm(
        &[
            "run",
            filter.to_str().unwrap(),
            "--input",
            chunks.to_str().unwrap(),
            "--output",
            inverted.to_str().unwrap(),
            "--level",
            "1",
        ],
        &dir,
    ));
    let image = chunkvm::photo::Rgba8::load(&inverted).unwrap();
    for (a, b) in image.pixels.chunks(4).zip(level1.pixels.chunks(4)) {
        assert_eq!([a[0], a[1], a[2]], [255 - b[0], 255 - b[1], 255 - b[2]]);
    }
}

/// Runs the invert filter of the library on level 1 of the bundled photo in `dir`, with
/// `extra` options (`--output ...`).
fn invert(dir: &Path, extra: &[&str]) -> Output {
    let filter = fixtures().join("../../../filters/invert.chop");
    let filter = filter.to_str().expect("a UTF-8 path");
    let mut args = vec!["run", filter, "--level", "1"];
    args.extend(extra);
    chunkvm(&args, dir)
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn output_through_a_link_replaces_the_file_it_points_to() {
    let dir = temp_dir("link_out");
    std::fs::create_dir(dir.join("real")).unwrap();
    std::fs::write(dir.join("real/photo.png"), b"old").unwrap();
    std::os::unix::fs::symlink("real/photo.png", dir.join("link.png")).unwrap();
    succeeds(&invert(&dir, &["--output", "link.png"]));
    let link = std::fs::symlink_metadata(dir.join("link.png")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert_eq!(
        std::fs::read_link(dir.join("link.png")).unwrap(),
        Path::new("real/photo.png")
    );
    let image = chunkvm::photo::Rgba8::load(&dir.join("real/photo.png")).unwrap();
    assert_eq!((image.width, image.height), (226, 150));
    // No temporary file is left, next to the link or next to the file.
    assert_eq!(names_in(&dir), ["link.png", "real"]);
    assert_eq!(names_in(&dir.join("real")), ["photo.png"]);
}

#[cfg(unix)]
#[test]
fn fmt_through_a_link_keeps_the_link() {
    let dir = temp_dir("fmt_link");
    std::fs::copy(
        fixtures().join("unformatted.chop"),
        dir.join("unformatted.chop"),
    )
    .unwrap();
    std::os::unix::fs::symlink("unformatted.chop", dir.join("link.chop")).unwrap();
    succeeds(&chunkvm(&["fmt", "link.chop"], &dir));
    let link = std::fs::symlink_metadata(dir.join("link.chop")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    succeeds(&chunkvm(&["fmt", "--check", "unformatted.chop"], &dir));
}

#[test]
fn output_to_a_folder_is_refused_and_nothing_is_written() {
    let dir = temp_dir("dir_out");
    std::fs::create_dir(dir.join("out.png")).unwrap();
    let err = one_line_error(&invert(&dir, &["--output", "out.png"]));
    assert_eq!(err, "cannot write out.png: it is a folder");
    assert!(dir.join("out.png").is_dir());
    assert_eq!(names_in(&dir), ["out.png"]);
    assert!(names_in(&dir.join("out.png")).is_empty());
}

#[cfg(unix)]
#[test]
fn output_to_a_full_device_or_a_socket_is_an_error() {
    let dir = temp_dir("full_out");
    let (target, wanted) = if Path::new("/dev/full").exists() {
        (
            "/dev/full".to_string(),
            "cannot write /dev/full: no space left on device",
        )
    } else {
        // Not a regular file, a device or a pipe: refused.
        let _socket = std::os::unix::net::UnixListener::bind(dir.join("sock.png")).unwrap();
        (
            dir.join("sock.png").display().to_string(),
            "not a regular file, a device or a pipe",
        )
    };
    let err = one_line_error(&invert(&dir, &["--output", &target]));
    assert!(err.contains(wanted), "{err}");
    assert!(
        err.starts_with(&format!("cannot write {target}: ")),
        "{err}"
    );
}

#[test]
fn the_output_extension_picks_the_format() {
    let dir = temp_dir("formats");
    for name in ["out.jpg", "out.JPEG"] {
        assert_eq!(succeeds(&invert(&dir, &["--output", name])).trim(), name);
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(&bytes[..3], b"\xff\xd8\xff", "{name} is not JPEG");
        let image = chunkvm::photo::Rgba8::decode(&bytes).unwrap();
        assert_eq!((image.width, image.height), (226, 150));
    }
    // A lower quality gives a smaller file.
    succeeds(&invert(&dir, &["--output", "small.jpg", "--quality", "10"]));
    let size = |name: &str| std::fs::metadata(dir.join(name)).unwrap().len();
    assert!(size("small.jpg") < size("out.jpg"));
    succeeds(&invert(&dir, &["--output", "out.png"]));
    assert_eq!(
        &std::fs::read(dir.join("out.png")).unwrap()[..4],
        b"\x89PNG"
    );
    let before = names_in(&dir);
    let err = one_line_error(&invert(&dir, &["--output", "out.bmp"]));
    assert_eq!(
        err,
        "cannot write out.bmp: `.bmp` is not a format chunkvm writes; name the file .png, .jpg or .jpeg"
    );
    let err = one_line_error(&invert(&dir, &["--output", "q.png", "--quality", "50"]));
    assert!(err.starts_with("--quality is for JPEG output"), "{err}");
    let err = one_line_error(&invert(&dir, &["--output", "q.jpg", "--quality", "0"]));
    assert_eq!(err, "--quality 0: give a JPEG quality from 1 to 100");
    assert_eq!(names_in(&dir), before, "a refused output wrote something");
}

#[test]
fn import_and_export_follow_the_same_rules() {
    let dir = temp_dir("import_export");
    let photo = fixtures().join("../../../samples/chelsea.png");
    let photo = photo.to_str().unwrap();
    let err = one_line_error(&chunkvm(&["import", photo, "--out", "cat.png"], &dir));
    assert!(err.contains("named .chunks"), "{err}");
    std::fs::create_dir(dir.join("cat.chunks")).unwrap();
    let err = one_line_error(&chunkvm(&["import", photo, "--out", "cat.chunks"], &dir));
    assert_eq!(err, "cannot write cat.chunks: it is a folder");
    std::fs::remove_dir(dir.join("cat.chunks")).unwrap();
    succeeds(&chunkvm(&["import", photo, "--out", "cat.chunks"], &dir));
    succeeds(&chunkvm(
        &["export", "cat.chunks", "--out", "cat.jpg"],
        &dir,
    ));
    assert_eq!(
        &std::fs::read(dir.join("cat.jpg")).unwrap()[..3],
        b"\xff\xd8\xff"
    );
    let err = one_line_error(&chunkvm(
        &["export", "cat.chunks", "--out", "cat.gif"],
        &dir,
    ));
    assert!(err.contains("name the file .png, .jpg or .jpeg"), "{err}");
}

#[test]
fn threads_0_is_refused_and_a_huge_count_is_capped() {
    let dir = temp_dir("threads");
    let err = one_line_error(&invert(&dir, &["--output", "a.png", "--threads", "0"]));
    assert_eq!(err, "--threads 0: give at least 1 worker thread");
    assert!(names_in(&dir).is_empty());
    let out = invert(
        &dir,
        &["--output", "a.png", "--threads", "100000", "--stats"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let note = err.lines().next().unwrap_or_default();
    assert!(
        note.starts_with("note: --threads 100000: the most chunkvm starts is 256"),
        "{err}"
    );
    // The note and the stats say how many threads ran, and they agree.
    let used: usize = note
        .rsplit_once("using ")
        .and_then(|(_, n)| n.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {note}"));
    assert!((1..=256).contains(&used), "{note}");
    assert!(err.contains(&format!(" on {used} thread")), "{err}");
}

/// Runs `chunkvm ARGS` on the test programs with standard output (or standard error)
/// a socket whose other end is closed before it starts: every write to it fails as a
/// write to a closed pipe does.
#[cfg(unix)]
fn with_closed(args: &[&str], close_stdout: bool) -> Output {
    use std::process::Stdio;
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("a socket pair");
    drop(ours);
    let closed = Stdio::from(std::os::fd::OwnedFd::from(theirs));
    let mut command = Command::new(env!("CARGO_BIN_EXE_chunkvm"));
    command.args(args).current_dir(fixtures());
    if close_stdout {
        command.stdout(closed).stderr(Stdio::piped());
    } else {
        command.stderr(closed).stdout(Stdio::piped());
    }
    command.output().expect("chunkvm starts")
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_or_stderr_ends_with_status_1_quietly() {
    // A program printing many lines into a closed pipe: no runtime error, no panic.
    let out = with_closed(&["run", "many_lines.chop"], true);
    assert_eq!(stderr(&out), "");
    assert_eq!(out.status.code(), Some(1));
    // A runtime error written to a closed standard error: no panic (status 101).
    let out = with_closed(&["run", "div_zero.chop"], false);
    assert_eq!(out.status.code(), Some(1));
    // Diagnostics and the summary line to a closed standard error.
    let out = with_closed(&["run", "type_errors.chop"], false);
    assert_eq!(out.status.code(), Some(1));
    // Warnings to a closed standard error stop a run that would succeed.
    let out = with_closed(&["run", "warnings.chop"], false);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_print_cut_by_a_runtime_error_ends_its_line() {
    let out = run(&["run", "index_error.chop"]);
    let err = fails(&out);
    assert_eq!(stdout(&out), "a[i] = 1\na[i] = 2\na[i] = 3\na[i] =\n");
    assert!(
        err.starts_with("index_error.chop:6:25: runtime error: index 3 out of range"),
        "{err}"
    );
}

#[test]
fn a_deep_recursion_shows_a_short_stack() {
    let err = fails(&run(&["run", "deep.chop"]));
    let stack: Vec<&str> = err
        .lines()
        .skip_while(|line| !line.starts_with("stack"))
        .collect();
    assert_eq!(
        stack,
        [
            "stack (innermost first):",
            "  at f (deep.chop:4:5)",
            "  ... 9,998 more calls of `f` from the same place",
            "  at main (deep.chop:8:11)",
        ],
        "{err}"
    );
}

#[test]
fn a_diagnostic_on_a_very_long_line_shows_a_window() {
    let dir = temp_dir("long_line");
    let long = format!(
        "fn main() {{\n    print(len([{}1 + true, {}3]));\n}}\n",
        "1, ".repeat(66_000),
        "2, ".repeat(66_000)
    );
    std::fs::write(dir.join("long.chop"), &long).unwrap();
    let out = chunkvm(&["check", "long.chop"], &dir);
    fails(&out);
    let text = stdout(&out);
    assert!(text.len() < 2_000, "{} bytes: {}", text.len(), &text[..300]);
    let lines: Vec<&str> = text.lines().collect();
    let source = lines[1];
    let carets = lines[2];
    assert!(
        lines[0].starts_with("long.chop:2:198016: error: "),
        "{text}"
    );
    assert!(source.starts_with("2 | ...1, 1,"), "{source}");
    assert!(source.ends_with(", 2, ..."), "{source}");
    let at = carets.find('^').unwrap();
    assert_eq!(&source[at..at + 8], "1 + true", "{source}\n{carets}");
    assert_eq!(carets.trim_end().len(), at + 8);
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

// ---- hand-written values (issue #8: non-finite numbers, overflow, wording) and the bench ----

/// Every spelling of a float that is not finite, as Rust reads them.
const NOT_FINITE: [&str; 6] = ["NaN", "nan", "inf", "-inf", "infinity", "1e999"];

/// The one message that refuses `text` for the float `name`.
fn not_finite(name: &str, text: &str) -> String {
    let too_large = if text.ends_with("e999") {
        " (too large for a float)"
    } else {
        ""
    };
    format!("`{name}` must be a finite number, not {text}{too_large}")
}

#[test]
fn non_finite_numbers_are_refused_by_param_and_arg_alike() {
    for text in NOT_FINITE {
        // `gain` has no range, so only the finiteness check can refuse it.
        let setting = format!("gain={text}");
        let param = one_line_error(&run(&["run", "hello.chop", "--param", &setting]));
        assert_eq!(
            param,
            format!("--param {setting}: {}", not_finite("gain", text))
        );
        let arg = one_line_error(&run(&["run", "hello.chop", "--fn", "half", "--arg", text]));
        assert_eq!(
            arg,
            format!(
                "--arg {text:?} for parameter `x` of `half`: {}",
                not_finite("x", text)
            )
        );
    }
}

#[test]
fn a_refused_param_writes_no_photo() {
    let dir = temp_dir("not_finite");
    let filter = fixtures().join("../../../filters/sepia.chop");
    let mut cases: Vec<(String, String)> = NOT_FINITE
        .iter()
        .map(|text| (format!("amount={text}"), not_finite("amount", text)))
        .collect();
    cases.push((
        "amount=1.5".into(),
        "`amount` must lie in 0.0..1.0 (both ends included), not 1.5".into(),
    ));
    for (setting, message) in cases {
        let args = [
            "run",
            filter.to_str().unwrap(),
            "--output",
            "out.png",
            "--param",
            &setting,
        ];
        let err = one_line_error(&chunkvm(&args, &dir));
        assert_eq!(err, format!("--param {setting}: {message}"));
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "{setting}: a file was written"
        );
    }
}

#[test]
fn ints_beyond_64_bits_are_out_of_range_for_an_int() {
    let big = "99999999999999999999";
    let range = "(-9223372036854775808..9223372036854775807)";
    let setting = format!("times={big}");
    let err = one_line_error(&run(&["run", "hello.chop", "--param", &setting]));
    assert_eq!(
        err,
        format!(
            "--param {setting}: `times` is an int, and {big} is out of range for an int {range}"
        )
    );
    let err = one_line_error(&run(&[
        "run",
        "hello.chop",
        "--fn",
        "factorial",
        "--arg",
        big,
    ]));
    assert_eq!(
        err,
        format!(
            "--arg \"{big}\" for parameter `n` of `factorial`: `n` is an int, and {big} is out of range for an int {range}"
        )
    );
    let err = one_line_error(&run(&["run", "hello.chop", "--param", "times=9"]));
    assert_eq!(
        err,
        "--param times=9: `times` must lie in 1..5 (both ends included), not 9"
    );
    assert_eq!(
        succeeds(&run(&[
            "run",
            "hello.chop",
            "--fn",
            "factorial",
            "--arg",
            "5"
        ])),
        "120\n"
    );
}

#[test]
fn lists_that_are_empty_and_counts_of_one_are_worded_as_such() {
    let err = one_line_error(&run(&["run", "closure.chop", "--param", "x=1"]));
    assert_eq!(err, "no param `x` in closure.chop; it has no params");
    let dir = temp_dir("no_functions");
    std::fs::write(dir.join("only_params.chop"), "param p: int = 1;\n").unwrap();
    let err = one_line_error(&chunkvm(&["run", "only_params.chop"], &dir));
    assert_eq!(
        err,
        "no function `main` in only_params.chop; it has no functions"
    );
    let err = one_line_error(&chunkvm(&["dump", "only_params.chop", "--fn", "f"], &dir));
    assert_eq!(
        err,
        "no function `f` in only_params.chop; it has no functions"
    );
    let filter = fixtures().join("../../../filters/invert.chop");
    let err = one_line_error(&chunkvm(
        &[
            "run",
            filter.to_str().unwrap(),
            "--output",
            "out.png",
            "--quota",
            "100",
        ],
        &dir,
    ));
    assert!(
        err.contains("chunks; with 1 stage that is over the chunk quota of 100"),
        "{err}"
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

#[test]
fn no_tiles_and_its_environment_variable_make_the_same_image_in_as_many_instructions() {
    let dir = temp_dir("no-tiles");
    let box_blur = fixtures().join("../../../filters/box_blur.chop");
    let box_blur = box_blur.to_str().expect("a UTF-8 path");
    let base = ["run", box_blur, "--level", "1", "--threads", "1", "--stats"];
    let instructions = |out: &Output| -> String {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        let err = stderr(out);
        err.split(", ")
            .find(|part| part.ends_with(" instructions"))
            .unwrap_or_else(|| panic!("no count: {err}"))
            .to_string()
    };
    let mut tiled = base.to_vec();
    tiled.extend(["--output", "tiled.png"]);
    let mut plain = base.to_vec();
    plain.extend(["--output", "plain.png", "--no-tiles"]);
    let counted = instructions(&chunkvm(&tiled, &dir));
    assert_eq!(instructions(&chunkvm(&plain, &dir)), counted);
    let mut by_env = base.to_vec();
    by_env.extend(["--output", "env.png"]);
    let out = Command::new(env!("CARGO_BIN_EXE_chunkvm"))
        .args(&by_env)
        .env("CHUNKVM_NO_TILES", "1")
        .current_dir(&dir)
        .output()
        .expect("chunkvm starts");
    assert_eq!(instructions(&out), counted);
    let read = |name: &str| std::fs::read(dir.join(name)).expect("an output file");
    assert_eq!(read("tiled.png"), read("plain.png"));
    assert_eq!(read("tiled.png"), read("env.png"));
}
