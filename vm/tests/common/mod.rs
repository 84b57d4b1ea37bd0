//! Support shared by the integration tests: the language-test files and their expectations.

#![allow(dead_code, clippy::unwrap_used)]

use chunkvm::exec::{Capture, RuntimeError, Stop, Vm};
use std::path::{Path, PathBuf};

pub use chunkvm::testing::Expect;

/// Reads the `// expect...` comments of a test file (`chunkvm::testing`,
/// the reader the core's unit tests use too); a malformed one fails the test.
pub fn expectations(text: &str) -> Expect {
    chunkvm::testing::expectations(text).unwrap_or_else(|err| panic!("{err}"))
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

/// Runs a filter or pipeline of the file at `path` and of the files it uses (found
/// beside it: the tests need no library search path).
pub fn run_path(
    path: &Path,
    target: Option<&chunkvm::photo::Target>,
    input: &chunkvm::photo::Rgba8,
    options: &chunkvm::photo::RunOptions,
) -> Result<chunkvm::photo::RunOutput, chunkvm::photo::RunError> {
    let analyzed = chunkvm::driver::analyze_path(path, &chunkvm::modules::FsResolver, &[])
        .unwrap_or_else(|err| panic!("{err}"));
    let program = analyzed
        .compile()
        .unwrap_or_else(|d| panic!("{} does not build: {d:?}", path.display()));
    chunkvm::photo::run(
        chunkvm::photo::Compiled::of(&analyzed, program),
        target,
        input,
        options,
    )
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

/// Runs until the first safe point at or after `at` instructions; `false` if the run
/// finished first.
pub fn run_to(vm: &mut Vm, at: u64) -> bool {
    vm.stop_after(at.saturating_sub(vm.instructions()).max(1));
    loop {
        match vm.run().unwrap() {
            Stop::SafePoint => return true,
            Stop::Finished(_) => return false,
            _ => continue,
        }
    }
}
