//! Support shared by the integration tests: the language-test files and their expectations.

#![allow(dead_code, clippy::unwrap_used)]

use chunkvm::exec::{Capture, RuntimeError, Vm};
use std::path::{Path, PathBuf};

/// What a test file expects.
#[derive(Debug, Default)]
pub struct Expect {
    /// Printed lines, in order.
    pub output: Vec<String>,
    /// (line, code, text) of each expected diagnostic.
    pub diagnostics: Vec<(u32, String, String)>,
    /// (line, text) of the expected runtime error.
    pub runtime_error: Option<(u32, String)>,
    /// `// limit-instructions: N`
    pub instructions: Option<u64>,
    /// `// limit-chunks: N`
    pub chunks: Option<usize>,
}

/// Reads the `// expect...` comments of a test file.
pub fn expectations(text: &str) -> Expect {
    let mut expect = Expect::default();
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx as u32 + 1;
        if let Some(n) = line.strip_prefix("// limit-instructions: ") {
            expect.instructions = Some(n.trim().parse().expect("limit-instructions: a number"));
            continue;
        }
        if let Some(n) = line.strip_prefix("// limit-chunks: ") {
            expect.chunks = Some(n.trim().parse().expect("limit-chunks: a number"));
            continue;
        }
        let Some(pos) = line.find("// expect") else {
            continue;
        };
        let rest = &line[pos + 3..];
        if let Some((at, diag)) = placed(rest) {
            let (code, text) = diag.split_once(' ').unwrap_or((diag, ""));
            expect
                .diagnostics
                .push((at, code.trim().to_string(), text.trim().to_string()));
        } else if let Some(out) = rest.strip_prefix("expect: ") {
            expect.output.push(out.to_string());
        } else if rest == "expect:" {
            expect.output.push(String::new());
        } else if let Some(diag) = rest
            .strip_prefix("expect-error: ")
            .or_else(|| rest.strip_prefix("expect-warning: "))
        {
            let (code, text) = diag.split_once(' ').unwrap_or((diag, ""));
            expect
                .diagnostics
                .push((line_no, code.trim().to_string(), text.trim().to_string()));
        } else if let Some(text) = rest.strip_prefix("expect-runtime-error: ") {
            expect.runtime_error = Some((line_no, text.trim().to_string()));
        } else {
            panic!("line {line_no}: unknown expectation `{rest}`");
        }
    }
    expect
}

/// `expect-error@LINE: CODE [TEXT]` (or `expect-warning@`): a diagnostic
/// expected on another line than the comment's, for a line whose text the
/// mistake swallows (an unterminated string would take a comment on its own
/// line into the string). Written in a header block at the top of the file.
fn placed(rest: &str) -> Option<(u32, &str)> {
    let after = rest
        .strip_prefix("expect-error@")
        .or_else(|| rest.strip_prefix("expect-warning@"))?;
    let (line, diag) = after.split_once(": ")?;
    let line = line
        .parse()
        .unwrap_or_else(|_| panic!("`{rest}`: expect-error@LINE needs a line number"));
    Some((line, diag))
}

/// Every `.chop` file under `dir` (recursively), sorted; a folder that cannot be read
/// fails the test rather than giving fewer files.
pub fn chop_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "chop") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A photo the tests use, by file name: `chelsea.png` (451x300 PNG) is the sample
/// photo of `samples/`, `rocket.jpg` (640x427 JPEG) is in `vm/tests/data/`; both are
/// in the repository, with their licences beside them.
pub fn test_photo(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    match name {
        "chelsea.png" => root.join("../samples/chelsea.png"),
        _ => root.join("tests/data").join(name),
    }
}

/// The folder of language tests.
pub fn lang_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lang")
}

/// A VM for `main` of `source` with the file's limits, printing into the returned capture.
pub fn vm_for_file(source: &str) -> (Vm, Capture) {
    let expect = expectations(source);
    let (mut vm, capture) = vm_for_main(source);
    let mut limits = vm.limits();
    if let Some(n) = expect.instructions {
        limits.instructions = n;
    }
    if let Some(n) = expect.chunks {
        limits.chunks = n;
    }
    vm.set_limits(limits);
    (vm, capture)
}

/// A VM for `main` of `source`, printing into the returned capture.
pub fn vm_for_main(source: &str) -> (Vm, Capture) {
    let (_, program) =
        chunkvm::driver::build(source).unwrap_or_else(|d| panic!("does not build: {d:?}"));
    let (main, _) = program.function("main").expect("no fn main");
    let mut vm = Vm::new(program);
    let capture = Capture::new();
    vm.set_output(Box::new(capture.clone()));
    vm.start(main, &[]).unwrap();
    (vm, capture)
}

/// Runs a started VM to the end, going through any stops.
pub fn finish(vm: &mut Vm) -> Result<(), RuntimeError> {
    vm.run_to_end().map(|_| ())
}

/// Builds `source` (it must build) and runs `target` of it over `input`, as
/// `chunkvm run` does.
pub fn run_source(
    source: &str,
    target: Option<&chunkvm::photo::Target>,
    input: &chunkvm::photo::Rgba8,
    options: &chunkvm::photo::RunOptions,
) -> Result<chunkvm::photo::RunOutput, chunkvm::photo::RunError> {
    let (analyzed, program) =
        chunkvm::driver::build(source).unwrap_or_else(|d| panic!("does not build: {d:?}"));
    chunkvm::photo::run(
        chunkvm::photo::Compiled::of(&analyzed, program),
        target,
        input,
        options,
    )
}
