//! Bad input on the command line: missing and unreadable files, wrong arguments,
//! params and values, runtime errors and limits, closed pipes, long lines.

use super::*;

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
