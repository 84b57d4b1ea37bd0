//! End-to-end tests of the command line on files that use others (`use`): qualified
//! `--param` names, params grouped by file, and every bad `use` reported at its path,
//! line and column with its code. The programs are in `tests/modules/`, where the
//! binary runs, so every path it prints is relative to that folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The folder of the test programs.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/modules")
}

/// Runs `chunkvm ARGS` in the fixtures' folder.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chunkvm"))
        .args(args)
        .current_dir(fixtures())
        .output()
        .unwrap_or_else(|err| panic!("chunkvm does not start: {err}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Status 0 and nothing on standard error; the standard output.
fn succeeds(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    text(&out.stdout)
}

/// Status 1, no panic; standard output and standard error together.
fn fails(out: &Output) -> String {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("panicked"), "a panic: {all}");
    all
}

/// A scratch output file, removed first.
fn scratch(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("chunkvm-modules-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn check_is_quiet_on_a_clean_program_and_the_librarys_pipelines() {
    assert_eq!(succeeds(&run(&["check", "main.chop"])), "");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/pipelines");
    for name in ["old_photo", "soft_glow", "comic", "sketch"] {
        let file = root.join(format!("{name}.chop"));
        let path = file.to_string_lossy();
        assert_eq!(succeeds(&run(&["check", &path])), "", "{name}");
    }
}

#[test]
fn params_are_listed_grouped_by_file_with_qualified_names() {
    let out = succeeds(&run(&["params", "main.chop"]));
    assert_eq!(
        out,
        "lib/tone.chop:\n\
         tone.strength: float = 0.2 in 0.0..1.0\n    How much to add.\n\
         lib/dim.chop:\n\
         dim.strength: float = 0.1 in 0.0..1.0\n    How much to take off.\n"
    );
    let json = succeeds(&run(&["params", "--format", "json", "main.chop"]));
    assert!(json.contains("\"file\": \"lib/dim.chop\""), "{json}");
    assert!(json.contains("\"name\": \"dim.strength\""), "{json}");
}

/// Runs the pipeline of `main.chop` on a 4x4 grey image with `params`.
fn run_pipeline(name: &str, params: &[&str]) -> Output {
    let input = scratch(&format!("{name}-in.png"));
    let output = scratch(&format!("{name}-out.png"));
    let grey = image::RgbaImage::from_pixel(4, 4, image::Rgba([100, 100, 100, 255]));
    grey.save(&input).unwrap_or_else(|err| panic!("{err}"));
    let (input, output) = (
        input.to_string_lossy().into_owned(),
        output.to_string_lossy().into_owned(),
    );
    let mut args = vec!["run", "main.chop", "--input", &input, "--output", &output];
    for param in params {
        args.extend(["--param", param]);
    }
    run(&args)
}

/// The first pixel of a run's output.
fn first_pixel(name: &str) -> [u8; 4] {
    let image = image::open(scratch_path(name))
        .unwrap_or_else(|err| panic!("{err}"))
        .to_rgba8();
    image.get_pixel(0, 0).0
}

fn scratch_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "chunkvm-modules-{}-{name}-out.png",
        std::process::id()
    ))
}

#[test]
fn a_qualified_param_sets_the_used_files_own_param() {
    // 100/255 + 0.2, then times 1 - 0.5 (the stage's own override of dim's strength).
    let out = run_pipeline("defaults", &[]);
    succeeds(&out);
    let base = first_pixel("defaults");
    let out = run_pipeline("toned", &["tone.strength=0.6"]);
    succeeds(&out);
    let toned = first_pixel("toned");
    assert!(toned[0] > base[0], "{toned:?} vs {base:?}");
    assert_eq!(toned[3], 255);
    // The stage's own argument wins over the command line for dim's strength.
    let out = run_pipeline("dimmed", &["dim.strength=0.9"]);
    succeeds(&out);
    assert_eq!(first_pixel("dimmed"), base);
}

#[test]
fn an_unqualified_param_two_used_files_have_is_refused_with_the_choices() {
    let err = fails(&run_pipeline("ambiguous", &["strength=0.3"]));
    assert!(
        err.contains("error: --param strength: used files have several params `strength`: name one of `tone.strength`, `dim.strength`"),
        "{err}"
    );
    let err = fails(&run_pipeline("unknown", &["dim.nope=0.3"]));
    assert!(
        err.contains("error: no param `dim.nope` in main.chop"),
        "{err}"
    );
    let err = fails(&run_pipeline("range", &["tone.strength=3"]));
    assert!(err.contains("--param tone.strength=3"), "{err}");
}

/// `chunkvm check FILE` fails and prints exactly one diagnostic, starting with `head`.
fn check_fails_with(file: &str, head: &str) {
    let out = run(&["check", file]);
    let all = fails(&out);
    let first = all.lines().next().unwrap_or_default();
    assert!(first.starts_with(head), "{file}: {all}");
    assert_eq!(all.matches(": error:").count(), 1, "{file}: {all}");
}

#[test]
fn every_bad_use_is_an_error_at_the_use_with_its_code() {
    check_fails_with(
        "missing.chop",
        "missing.chop:3:5: error: cannot find `lib/nowhere.chop` [E0023]",
    );
    let all = fails(&run(&["check", "missing.chop"]));
    assert!(all.contains("tried lib/nowhere.chop"), "{all}");
    check_fails_with(
        "cycle_a.chop",
        "cycle_b.chop:3:5: error: a cycle of uses: cycle_a.chop -> cycle_b.chop -> cycle_a.chop [E0024]",
    );
    check_fails_with(
        "unknown_item.chop",
        "unknown_item.chop:6:14: error: `t` has no public filter `toner` [E0025]",
    );
    check_fails_with(
        "ambiguous.chop",
        "ambiguous.chop:7:14: error: `shade` is defined by lib/tone.chop and lib/dim.chop [E0026]",
    );
    check_fails_with(
        "after_item.chop",
        "after_item.chop:5:1: error: a `use` must come before the file's params, functions, filters and pipelines [E0022]",
    );
}

#[test]
fn a_used_files_mistake_is_reported_once_at_its_own_path() {
    // Given both files, the used one's mistake still shows once.
    let all = fails(&run(&["check", "broken_user.chop", "broken.chop"]));
    assert_eq!(all.matches("broken.chop:5:5: error:").count(), 1, "{all}");
    assert_eq!(all.matches(": error:").count(), 1, "{all}");
    let all = fails(&run(&["run", "broken_user.chop"]));
    assert!(all.contains("broken.chop:5:5: error:"), "{all}");
}

#[test]
fn fmt_formats_only_the_file_given() {
    let out = succeeds(&run(&["fmt", "--check", "main.chop"]));
    assert_eq!(out, "");
}

#[test]
fn a_runtime_error_in_a_used_file_is_shown_at_its_own_path_and_line() {
    let all = fails(&run(&["run", "boom_user.chop"]));
    assert!(
        all.contains("boom.chop:5:5: runtime error: division by zero"),
        "{all}"
    );
    assert!(all.contains("at boom.ten_over (boom.chop:5:5)"), "{all}");
    assert!(all.contains("at main (boom_user.chop:6:11)"), "{all}");
}

#[test]
fn dump_and_graph_name_a_used_files_functions_qualified() {
    let out = succeeds(&run(&["dump", "main.chop"]));
    assert!(out.contains("fn tone.tone(c: color) -> color"), "{out}");
    assert!(out.contains("fn dim.dim(c: color) -> color"), "{out}");
    let out = succeeds(&run(&["graph", "--fn", "dim.dim", "main.chop"]));
    assert!(out.starts_with("digraph"), "{out}");
}

#[test]
fn dump_and_graph_show_a_used_files_functions_at_that_files_own_lines() {
    let tone = std::fs::read_to_string(fixtures().join("lib/tone.chop")).unwrap();
    let line = tone
        .lines()
        .position(|text| text.contains("clamp(c + rgba(strength"))
        .map(|idx| idx + 1)
        .unwrap();
    let out = succeeds(&run(&["dump", "main.chop"]));
    assert!(
        out.contains(&format!(
            "; tone.chop line {line}: clamp(c + rgba(strength, strength, strength, 0.0), 0.0, 1.0)"
        )),
        "{out}"
    );
    let json = succeeds(&run(&[
        "graph",
        "--fn",
        "tone.tone",
        "--format",
        "json",
        "main.chop",
    ]));
    let graph: serde_json::Value = serde_json::from_str(&json).unwrap();
    let start = &graph["nodes"][0]["range"]["start"];
    assert_eq!(start["line"], line, "{json}");
    // The offset is the file's own: it points at that line of tone.chop.
    let offset = start["offset"].as_u64().unwrap() as usize;
    let line_start = tone[..offset].rfind('\n').map_or(0, |at| at + 1);
    assert!(
        tone[line_start..].starts_with("    clamp("),
        "{}",
        &tone[line_start..]
    );
    let dot = succeeds(&run(&["graph", "--fn", "tone.tone", "main.chop"]));
    assert!(dot.contains(&format!("line {line}")), "{dot}");
}
