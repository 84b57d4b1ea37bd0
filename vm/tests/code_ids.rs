//! Code chunks are content-addressed per function: a function used by two programs is
//! the same chunks in both (the library's pipelines share their filters' chunks), a
//! function that differs (its body, or a function it calls) gets other ids, and every
//! program of the language tests and of the library decodes back to itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chunkvm::chunk::{ChunkId, NodeId, Store};
use chunkvm::compile::chunks::{load_program, store_program, CodeIds};
use chunkvm::compile::Program;
use chunkvm::driver::{analyze_path, Analyzed};
use chunkvm::modules::FsResolver;
use common::{chop_files, lang_dir};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The library's folder.
fn filters() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters")
}

/// The compiled program of the file at `path` (with the files it uses; `lib` is the
/// library's search path), stored in a store of its own.
fn stored_path(path: &Path, lib: &[PathBuf]) -> (Program, Store, CodeIds) {
    let analyzed = analyze_path(path, &FsResolver, lib).unwrap_or_else(|err| panic!("{err}"));
    stored(&analyzed, &path.display().to_string())
}

fn stored(analyzed: &Analyzed, what: &str) -> (Program, Store, CodeIds) {
    let program = analyzed
        .compile()
        .unwrap_or_else(|d| panic!("{what} does not build: {d:?}"));
    let mut store = Store::new(NodeId(1));
    let ids = store_program(&program, &mut store);
    (program, store, ids)
}

/// The program of `files` (path, text) held in memory, `main.chop` the main one.
fn stored_texts(files: &[(&str, &str)]) -> (Program, Store, CodeIds) {
    let texts: HashMap<PathBuf, String> = files
        .iter()
        .map(|(path, text)| (PathBuf::from(path), text.to_string()))
        .collect();
    let resolver = move |path: &Path| -> std::io::Result<String> {
        texts
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    };
    let analyzed = analyze_path(Path::new("main.chop"), &resolver, &[]).unwrap();
    stored(&analyzed, "main.chop")
}

/// Every code chunk reachable from `id` in `store` (the function, its blocks, lists,
/// words, names, and the functions it calls with theirs).
fn reachable(store: &Store, id: ChunkId) -> BTreeSet<u64> {
    store
        .reachable(&[id])
        .unwrap()
        .into_iter()
        .map(|id| id.0)
        .collect()
}

/// The Function chunk id of the function `name`, and its blocks' ids.
fn function_ids(program: &Program, ids: &CodeIds, name: &str) -> (ChunkId, Vec<ChunkId>) {
    let (idx, _) = program
        .function(name)
        .unwrap_or_else(|| panic!("no function `{name}`"));
    (
        ids.functions[idx as usize],
        ids.blocks[idx as usize].clone(),
    )
}

#[test]
fn pipelines_share_the_chunks_of_the_filters_they_use() {
    let lib = [filters()];
    let pipeline = |name: &str| stored_path(&filters().join("pipelines").join(name), &lib);
    let comic = pipeline("comic.chop");
    let sketch = pipeline("sketch.chop");
    let soft_glow = pipeline("soft_glow.chop");
    for (a, b, shared) in [
        (&comic, &sketch, "median3x3.median3x3"),
        (&comic, &soft_glow, "contrast.contrast"),
    ] {
        let (fa, ba) = function_ids(&a.0, &a.2, shared);
        let (fb, bb) = function_ids(&b.0, &b.2, shared);
        assert_eq!(fa, fb, "{shared}'s Function chunk");
        assert_eq!(ba, bb, "{shared}'s Block chunks");
        assert!(!ba.is_empty());
        // Everything the filter's chunks reach is the same chunks, with the same
        // content: a store holding one program's holds all of the other's.
        let in_a = reachable(&a.1, fa);
        assert_eq!(in_a, reachable(&b.1, fb), "{shared}'s code closure");
        for id in &in_a {
            assert_eq!(a.1.get(ChunkId(*id)), b.1.get(ChunkId(*id)), "chunk {id:x}");
        }
        // The programs themselves differ, and so do the filters they do not share.
        assert_ne!(a.2.root, b.2.root);
        // Their spans differ in the programs (the file's base), and both decode to
        // their own program.
        let span_a = a.0.function(shared).unwrap().1.span;
        let span_b = b.0.function(shared).unwrap().1.span;
        assert_ne!(
            span_a, span_b,
            "the filter sits at another place in each program"
        );
        for (program, store, ids) in [a, b] {
            let (loaded, loaded_ids) = load_program(store, ids.root).unwrap();
            assert_eq!(&loaded, program);
            assert_eq!(&loaded_ids, ids);
        }
    }
    // A filter that only one of them uses is not in the other's store.
    let (sobel, _) = function_ids(&sketch.0, &sketch.2, "sobel.sobel");
    assert!(comic.1.get(sobel).is_none());
}

/// The main file of a program that uses `lib.chop`, with `pad` before its `use`.
fn main_text(pad: &str) -> String {
    format!("{pad}use \"lib.chop\";\n\nfn main() {{\n    print(twice(3), scale(2.0));\n}}\n")
}

const LIB: &str = "param gain: float = 1.5;\n\n\
    fn twice(n: int) -> int {\n    let add = fn(m: int) -> int { m + n };\n    _ping(add(n), 4)\n}\n\n\
    fn scale(v: float) -> float {\n    print(\"scaling\");\n    v * gain\n}\n\n\
    fn _ping(n: int, left: int) -> int {\n    if left == 0 { n } else { _pong(n, left - 1) }\n}\n\n\
    fn _pong(n: int, left: int) -> int {\n    if left == 0 { n } else { _ping(n, left - 1) }\n}\n";

#[test]
fn a_function_keeps_its_ids_wherever_its_file_sits_and_changes_them_with_what_it_reaches() {
    let ids_of = |main: &str, lib: &str| {
        let (program, store, ids) = stored_texts(&[("main.chop", main), ("lib.chop", lib)]);
        let (loaded, _) = load_program(&store, ids.root).unwrap();
        assert_eq!(loaded, program, "decodes to itself");
        let mut out = HashMap::new();
        for (idx, func) in program.functions.iter().enumerate() {
            out.insert(
                func.name.clone(),
                (ids.functions[idx], ids.blocks[idx].clone()),
            );
        }
        (out, program)
    };
    let (base, program) = ids_of(&main_text(""), LIB);
    // A closure, a string, a global, mutual recursion: all in the used file.
    let closure = program
        .functions
        .iter()
        .find(|func| func.is_closure)
        .expect("a closure");
    assert!(closure.name.starts_with("lib.twice::closure@"));
    assert!(!program.strings.is_empty() && !program.globals.is_empty());
    // The main file grows: the used file's functions move, their chunks do not (a
    // closure's name says its place in the program, and follows it).
    let (moved, moved_program) = ids_of(&main_text("// a comment\n// and another\n"), LIB);
    for name in ["lib.twice", "lib.scale", "lib._ping", "lib._pong"] {
        assert_eq!(base[name], moved[name], "{name}");
    }
    let moved_closure = moved_program
        .functions
        .iter()
        .find(|func| func.is_closure)
        .unwrap();
    assert_ne!(closure.name, moved_closure.name);
    assert_eq!(base[&closure.name], moved[&moved_closure.name]);
    assert_ne!(base["main"], moved["main"], "main's own spans moved");
    // A changed body changes that function's ids and those of what reaches it.
    // (Replacements keep the length: a function's spans are its file's, so text
    // inserted before a function moves it within its file and changes its chunks.)
    let changed = LIB.replace("v * gain", "v + gain");
    let (other, _) = ids_of(&main_text(""), &changed);
    assert_ne!(base["lib.scale"], other["lib.scale"]);
    assert_ne!(base["main"], other["main"], "main calls scale");
    assert_eq!(
        base["lib.twice"], other["lib.twice"],
        "twice does not reach scale"
    );
    // A function that calls another function gets other ids; so does everything that
    // reaches the changed one, through mutual recursion too.
    let changed = LIB.replace(
        "if left == 0 { n } else { _ping(n, left - 1) }",
        "if left == 0 { 1 } else { _ping(n, left - 1) }",
    );
    let (other, _) = ids_of(&main_text(""), &changed);
    for name in ["lib._pong", "lib._ping", "lib.twice", "main"] {
        assert_ne!(base[name].0, other[name].0, "{name} reaches _pong");
    }
    assert_eq!(base["lib.scale"], other["lib.scale"]);
    // The same body calling a different function.
    let changed = LIB.replace("_ping(add(n), 4)", "_pong(add(n), 4)");
    let (other, _) = ids_of(&main_text(""), &changed);
    assert_ne!(base["lib.twice"].0, other["lib.twice"].0);
    assert_eq!(base["lib._ping"], other["lib._ping"]);
    // Another default of the param changes the program, not the functions that read it.
    let changed = LIB.replace("param gain: float = 1.5;", "param gain: float = 2.5;");
    let (other, _) = ids_of(&main_text(""), &changed);
    assert_eq!(
        base["lib.scale"], other["lib.scale"],
        "a param's default is the program's, not the function's"
    );
}

#[test]
fn every_program_of_the_tests_and_the_library_decodes_to_itself() {
    let mut checked = 0;
    let mut paths: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for path in chop_files(&lang_dir().join("run")) {
        paths.push((path, Vec::new()));
    }
    let modules = lang_dir().join("modules");
    for entry in std::fs::read_dir(&modules).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("main.chop").exists() {
            paths.push((dir.join("main.chop"), vec![dir.join("lib")]));
        }
    }
    for path in chop_files(&filters()) {
        paths.push((path, vec![filters()]));
    }
    for (path, lib) in &paths {
        let analyzed = analyze_path(path, &FsResolver, lib).unwrap();
        let Ok(program) = analyzed.compile() else {
            continue;
        };
        let mut store = Store::new(NodeId(1));
        let ids = store_program(&program, &mut store);
        let (loaded, loaded_ids) = load_program(&store, ids.root)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert_eq!(loaded, program, "{}", path.display());
        assert_eq!(loaded_ids, ids, "{}", path.display());
        // Stored again, the decoded program is the same chunks.
        let mut again = Store::new(NodeId(1));
        assert_eq!(
            store_program(&loaded, &mut again),
            ids,
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 40, "too few programs: {checked}");
}
