//! A document that uses other files, edited keystroke by keystroke: each analysis
//! (which keeps the used files' parses, linked items and checked bodies from the last
//! one) finds what analysing the program afresh finds, in every file.

#![allow(clippy::unwrap_used)]

use chop_ide::{Document, ProgramContext};
use chunkvm::modules::{FsResolver, ParseCache, Resolver};
use chunkvm::syntax::span::{LineIndex, Span};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The used files: `tone.chop` with an error in a body and a private helper, `mix.chop`
/// using it.
const TONE: &str = "/// Warms.\nparam warmth: float = 0.2 in 0.0..1.0;\n\nfn _lift(v: float) -> float { v + warmth }\n\nfilter warm(c: color) -> color {\n    rgb(_lift(c.r), c.g, c.b)\n}\n\nfn broken() -> int { 1.5 }\n";
const MIX: &str = "use \"tone.chop\";\n\nfn half(x: float) -> float { x * 0.5 }\n\nfilter soft(c: color) -> color {\n    warm(c) * half(1.0)\n}\n";
const MAIN: &str = "use \"lib/mix.chop\";\nuse \"lib/tone.chop\" as t;\n\nfn main() {\n    let v = mix.half(2.0);\n    print(v + t.warmth);\n}\n\npipeline p = mix.soft |> t.warm;\n";

/// Every file's diagnostics as (file name, line:col, code, message), sorted.
fn placed(analyzed: &chunkvm::driver::Analyzed) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for file in analyzed.file_diagnostics() {
        let lines = LineIndex::new(file.text);
        let name = file.path.file_name().unwrap().to_string_lossy().to_string();
        for diag in &file.diagnostics {
            let at = lines.line_col(file.text, diag.span.start);
            out.push((
                name.clone(),
                format!("{}:{}", at.line, at.col),
                format!("{:?} {}", diag.code, diag.message),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn a_program_edited_keystroke_by_keystroke_checks_as_it_would_afresh() {
    let dir = std::env::temp_dir().join(format!("chop-ide-programs-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("lib/tone.chop"), TONE).unwrap();
    std::fs::write(dir.join("lib/mix.chop"), MIX).unwrap();
    let main: PathBuf = dir.join("main.chop");
    let cache = Arc::new(ParseCache::default());
    let mut document = Document::new(MAIN);
    document.set_program(Some(ProgramContext {
        path: main.clone(),
        lib: Vec::new(),
        resolver: Arc::new(FsResolver),
        cache: Some(cache.clone()),
    }));
    let fresh = |text: &str| {
        let graph =
            chunkvm::modules::load_text(&main, text.to_string(), &FsResolver as &dyn Resolver, &[])
                .unwrap();
        chunkvm::driver::analyze_graph(graph)
    };
    let first = document.analyse();
    let want = placed(&fresh(MAIN));
    assert_eq!(placed(first.program.as_ref().unwrap().analyzed()), want);
    assert!(
        want.iter()
            .any(|(file, _, message)| file == "tone.chop" && message.contains("float")),
        "{want:?}"
    );
    // Keystrokes: typing a statement, a type error, an unused variable, a new item, a
    // call of a used function, removing them, renaming the alias (which changes what
    // the main file sees).
    let edits: &[(&str, &str)] = &[
        (
            "    print(v + t.warmth);\n",
            "    print(v + t.warmth);\n    let w = 1;\n",
        ),
        ("    let w = 1;\n", "    let w = true + 1;\n"),
        ("    let w = true + 1;\n", "    let w = mix.half(3);\n"),
        (
            "    let w = mix.half(3);\n",
            "    let w = mix.half(3.0);\n    print(w);\n",
        ),
        ("pipeline p", "fn extra() -> int { 2 }\n\npipeline p"),
        ("fn extra() -> int { 2 }\n\n", ""),
        ("as t;", "as tt;"),
        ("t.warmth);\n", "tt.warmth);\n"),
        ("|> t.warm", "|> tt.warm"),
        ("    let w = mix.half(3.0);\n    print(w);\n", ""),
    ];
    let mut text = MAIN.to_string();
    for (at, (from, to)) in edits.iter().enumerate() {
        let start = text
            .find(from)
            .unwrap_or_else(|| panic!("edit {at}: no {from:?}"));
        let span = Span::new(start, start + from.len());
        text.replace_range(span.start..span.end, to);
        document.edit(span, to);
        let doc = document.analyse();
        assert_eq!(&*doc.text, text.as_str());
        let analyzed = doc.program.as_ref().unwrap().analyzed();
        assert_eq!(
            placed(analyzed),
            placed(&fresh(&text)),
            "after edit {at}: {text}"
        );
        // The used files' four functions were not checked again, except where the
        // main file's item count changed (every used item moved: 4 and 5) or what it
        // sees did (the alias: 6).
        let (reused, bodies) = analyzed.analysis.bodies_reused();
        if ![4, 5, 6].contains(&at) {
            assert!(reused >= 4, "edit {at}: {reused} of {bodies} bodies reused");
        }
    }
    // The used files were parsed once each, then kept; and the main file's own parse,
    // for the programs that would use it.
    assert_eq!(cache.len(), 3);
    let reused = document.analyse();
    let bodies = reused.program.as_ref().unwrap().analyzed();
    assert_eq!(placed(bodies), placed(&fresh(&text)));
    // A used file changes on disk: the program is analysed again with it; the other
    // files stay where they were, so only its bodies are checked again.
    let (before_reuse, total) = bodies.analysis.bodies_reused();
    assert!(total >= 6, "{before_reuse} of {total}");
    for (at, edited) in [
        "fn half(x: float) -> float { x * 0.25 }",
        "fn half(x: float) -> float { x * true }",
        "fn half(x: float) -> float {\n    let y = x;\n    y * 0.5\n}",
    ]
    .iter()
    .enumerate()
    {
        let mix = MIX.replace("fn half(x: float) -> float { x * 0.5 }", edited);
        assert_ne!(mix, MIX);
        std::fs::write(dir.join("lib/mix.chop"), &mix).unwrap();
        let doc = document.analyse();
        let analyzed = doc.program.as_ref().unwrap().analyzed();
        assert_eq!(placed(analyzed), placed(&fresh(&text)), "mix edit {at}");
        let (reused, total) = analyzed.analysis.bodies_reused();
        assert_eq!(
            reused + 2,
            total,
            "mix edit {at}: all but mix's two bodies reused"
        );
        let in_mix = placed(analyzed)
            .iter()
            .any(|(file, _, _)| file == "mix.chop");
        assert_eq!(
            in_mix,
            at == 1,
            "mix edit {at}: its type error, and only then"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!Path::new(&dir).exists());
}

/// A used file edited in its own document: the program that uses it takes that
/// document's parse from the cache (the same items), not a parse of its own.
#[test]
fn a_program_takes_the_parse_of_a_used_file_being_edited() {
    let dir = std::env::temp_dir().join(format!("chop-ide-taken-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("lib/tone.chop"), TONE).unwrap();
    std::fs::write(dir.join("lib/mix.chop"), MIX).unwrap();
    let buffers = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        PathBuf,
        String,
    >::new()));
    let read = {
        let buffers = buffers.clone();
        move |path: &Path| match buffers.lock().unwrap().get(path) {
            Some(text) => Ok(text.clone()),
            None => std::fs::read_to_string(path),
        }
    };
    let resolver: Arc<dyn Resolver + Send + Sync> = Arc::new(read);
    let cache = Arc::new(ParseCache::default());
    let open = |path: PathBuf, text: &str| {
        let mut document = Document::new(text);
        document.set_program(Some(ProgramContext {
            path,
            lib: Vec::new(),
            resolver: resolver.clone(),
            cache: Some(cache.clone()),
        }));
        document
    };
    let tone_path = dir.join("lib/tone.chop");
    let mut tone = open(tone_path.clone(), TONE);
    let mut main = open(dir.join("main.chop"), MAIN);
    tone.analyse();
    let before = main.analyse();
    // A keystroke in tone.chop: its document parses it again, incrementally.
    let at = TONE.find("0.2 in").unwrap();
    tone.edit(Span::new(at, at + 3), "0.3");
    let edited = tone.analyse();
    buffers
        .lock()
        .unwrap()
        .insert(tone_path.clone(), edited.text.to_string());
    let doc = main.analyse();
    // main.chop was not edited: its text and parse are the last ones, not made again.
    assert!(
        Arc::ptr_eq(&doc.text, &before.text),
        "main.chop parsed again"
    );
    let graph = &doc.program.as_ref().unwrap().modules().unwrap().graph;
    let unit = graph
        .files
        .iter()
        .find(|unit| unit.path == tone_path)
        .unwrap();
    assert_eq!(&*unit.text, &*edited.text);
    assert_eq!(unit.parsed.file.items.len(), edited.parsed.file.items.len());
    for (used, own) in unit.parsed.file.items.iter().zip(&edited.parsed.file.items) {
        assert!(Arc::ptr_eq(used, own), "{:?} parsed again", used.name.name);
    }
    let fresh = chunkvm::modules::load_text(
        &dir.join("main.chop"),
        MAIN.to_string(),
        &*resolver as &dyn Resolver,
        &[],
    )
    .unwrap();
    assert_eq!(
        placed(doc.program.as_ref().unwrap().analyzed()),
        placed(&chunkvm::driver::analyze_graph(fresh))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
