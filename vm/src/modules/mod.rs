//! Modules: a file and the files it `use`s, loaded as one program.
//!
//! [`load`] reads a file and, depth first, every file its `use` items name, through
//! a [`Resolver`] (the file system, or an editor's open buffers): a path is looked for
//! beside the using file first, then in each folder of the library's search path, in
//! order. A file is loaded once however many files use it. A missing file (E0023, with
//! the paths tried) and a cycle (E0024, naming it) are errors at the `use`.
//!
//! [`link`] then makes one [`SourceFile`] of the graph for the checker and the compiler:
//! every file's items, moved so that its spans start at the file's [`SourceUnit::base`]
//! (a span says which file it is in: [`Linked::locate`]) and its ids follow the files
//! before it. The items of a used file are renamed `NS.name` (`NS` the file's
//! [`SourceUnit::namespace`], its stem): that is their name in the compiled program,
//! for `--param vignette.strength` and `--filter sepia.sepia`. What each file sees is
//! its [`FileScope`]: its own items (which win over used ones), the public items (not
//! starting with `_`) of the files it uses, unqualified for a plain `use` and as
//! `m.name` for both forms (`m` the used file's stem, or the alias of `use ... as m`).
//! A name that two used files define is ambiguous unqualified (E0026); qualified it works.

use crate::diag::{Code, Diagnostic};
use crate::syntax::lower::{parse, Parsed};
use crate::syntax::span::Span;
use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Reads a file by its path: the file system ([`FsResolver`]), or an editor that
/// answers with its open buffers first.
pub trait Resolver {
    /// The text of the file at `path`; an error of kind `NotFound` lets the loader try
    /// the next place.
    fn read(&self, path: &Path) -> std::io::Result<String>;

    /// [`Resolver::read`] as a shared text: an editor answers with its buffer itself,
    /// which the [`ParseCache`] then knows by its pointer, without comparing texts.
    fn read_shared(&self, path: &Path) -> std::io::Result<Arc<str>> {
        self.read(path).map(Arc::from)
    }
}

/// The library's search path: `dirs` (a command line's `--lib` folders, an editor's
/// setting), then the folders of `$CHUNKVM_LIB` (a list, like `PATH`), then the
/// `filters/` folder beside the running binary or up to three folders above it (an
/// installation, or `target/debug/` in the repository), when it exists.
pub fn search_path(mut dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    if let Some(paths) = std::env::var_os("CHUNKVM_LIB") {
        dirs.extend(std::env::split_paths(&paths));
    }
    if let Ok(exe) = std::env::current_exe() {
        let found = exe
            .ancestors()
            .skip(1)
            .take(4)
            .map(|dir| dir.join("filters"))
            .find(|dir| dir.is_dir());
        dirs.extend(found);
    }
    dirs
}

/// Reads files from the file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct FsResolver;

impl Resolver for FsResolver {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

impl<F: Fn(&Path) -> std::io::Result<String>> Resolver for F {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self(path)
    }
}

/// The main file of a program could not be read.
#[derive(Debug)]
pub struct LoadError {
    /// The path given.
    pub path: PathBuf,
    /// Why it could not be read.
    pub error: std::io::Error,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for LoadError {}

/// One file of a program.
#[derive(Clone, Debug)]
pub struct SourceUnit {
    /// Its path as loaded (the main file's as given; a used file's joined to the
    /// folder it was found in, `.` and `..` resolved).
    pub path: PathBuf,
    /// Its namespace in the program: empty for the main file, else its stem (`sepia`
    /// for `../sepia.chop`), made unique with `_2`, `_3`, ... when two files share one.
    pub namespace: String,
    /// Its text (an editor's buffer itself when the resolver shares it).
    pub text: Arc<str>,
    /// Its tree and AST (spans relative to this file).
    pub parsed: Parsed,
    /// The file each of its `use` items loaded, in order (`None`: it failed).
    pub uses: Vec<Option<usize>>,
    /// Its syntax diagnostics and the errors of its `use` items, in its own spans.
    pub diagnostics: Vec<Diagnostic>,
    /// Where its spans start in the [`Linked`] program.
    pub base: usize,
}

/// A file and every file it uses, directly or not; the main file first.
#[derive(Clone, Debug)]
pub struct Graph {
    /// The files, the main one at index 0, the others in the order they were found.
    pub files: Vec<SourceUnit>,
    /// Whether the used files are laid out after a gap ([`SPACING`]) that the main
    /// file's edits rarely cross, so that their spans and ids stay where they were and
    /// [`link_reusing`] shares their linked items (an editor's layout: see
    /// [`load_parsed`]).
    pub spaced: bool,
}

/// The gaps of a spaced [`Graph`]: each used file starts at the first multiple of
/// `SPACING.0` bytes past the file before it; the first used file's expression and
/// binding ids start at the first multiple of `SPACING.1` past the main file's, and
/// each other used file's at the first multiple of [`SLOT_IDS`] past the file before
/// it. So an edit of one file moves no other file unless it crosses its gap.
pub const SPACING: (usize, usize) = (1 << 16, 1 << 12);

/// The ids' quantum of the used files after the first in a spaced [`Graph`] (smaller
/// than the main file's: the checker's tables have an entry per id, and a program may
/// have many files).
pub const SLOT_IDS: usize = 1 << 8;

/// The first multiple of `quantum` past `n`.
fn past(n: usize, quantum: usize) -> usize {
    (n / quantum + 1) * quantum
}

/// The stem of a path (`sepia` for `../sepia.chop`).
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether two paths of loaded files are the same file: their bytes compared, not
/// their components parsed again (a program's files are looked up among each other at
/// every analysis). Both are [`normalize`]d, or both were loaded the same way.
fn same_path(a: &Path, b: &Path) -> bool {
    a.as_os_str() == b.as_os_str()
}

/// `path` with `.` dropped and `..` taking off the component before it where there is one.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal =
                    matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Loads `main` and every file it uses, looking for a used path beside the using
/// file, then in each folder of `lib` in order.
pub fn load(main: &Path, resolver: &dyn Resolver, lib: &[PathBuf]) -> Result<Graph, LoadError> {
    let text = resolver.read(main).map_err(|error| LoadError {
        path: main.to_path_buf(),
        error,
    })?;
    load_text(main, text, resolver, lib)
}

/// [`load`] with the main file's text already read (an editor's buffer).
pub fn load_text(
    main: &Path,
    text: String,
    resolver: &dyn Resolver,
    lib: &[PathBuf],
) -> Result<Graph, LoadError> {
    load_parsed(main, text, None, resolver, lib, None)
}

/// The parses of files by path, kept while their text is unchanged: an editor that
/// analyses a program again after each keystroke in one file parses only that file
/// (the others are found here by their path and the same text). Shared between
/// threads; a file's entry is replaced when its text changes, so it holds one parse
/// per file it has seen.
#[derive(Debug, Default)]
pub struct ParseCache {
    files: std::sync::Mutex<HashMap<PathBuf, (Arc<str>, Parsed)>>,
}

impl ParseCache {
    /// The parse of `text`, the file at `path`: the kept one when its text is the
    /// same, else a new one, kept.
    pub fn parse(&self, path: &Path, text: &Arc<str>) -> Parsed {
        if let Some(parsed) = self.get(path, text) {
            return parsed;
        }
        let parsed = parse(text);
        self.keep(path, text.clone(), parsed.clone());
        parsed
    }

    /// The kept parse of `text`: the same buffer is the same text without comparing.
    fn get(&self, path: &Path, text: &Arc<str>) -> Option<Parsed> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let (kept, parsed) = files.get(path)?;
        (Arc::ptr_eq(kept, text) || **kept == **text).then(|| parsed.clone())
    }

    /// Keeps `parsed`, the parse of `text`, as the file at `path`'s (an editor's
    /// incremental parse of a file it edits: the programs that use the file find it
    /// here rather than parsing the file again).
    pub fn keep(&self, path: &Path, text: Arc<str>, parsed: Parsed) {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.insert(normalize(path), (text, parsed));
    }

    /// Forgets the parse of the file at `path` (a file deleted).
    pub fn forget(&self, path: &Path) {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.remove(path);
    }

    /// How many files it holds.
    pub fn len(&self) -> usize {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// [`load_text`] with the main file's parse when the caller has it (an editor's
/// incremental parse), and the parses of the used files taken from `cache` when their
/// text did not change (and kept there). With a cache the graph is [`Graph::spaced`]:
/// an edit of the main file leaves the used files' spans and ids where they were.
pub fn load_parsed(
    main: &Path,
    text: impl Into<Arc<str>>,
    parsed: Option<Parsed>,
    resolver: &dyn Resolver,
    lib: &[PathBuf],
    cache: Option<&ParseCache>,
) -> Result<Graph, LoadError> {
    let mut loader = Loader {
        resolver,
        lib,
        cache,
        files: Vec::new(),
        keys: Vec::new(),
        stack: Vec::new(),
    };
    let text: Arc<str> = text.into();
    let parsed = parsed.unwrap_or_else(|| parse(&text));
    loader.push(main.to_path_buf(), String::new(), text, parsed);
    loader.visit(0);
    let mut files = loader.files;
    let spaced = cache.is_some();
    let mut base = 0;
    for (idx, file) in files.iter_mut().enumerate() {
        if spaced && idx >= 1 {
            base = past(base, SPACING.0);
        }
        file.base = base;
        // One byte between files: a span at the end of one never touches the next.
        base += file.text.len() + 1;
        file.diagnostics
            .sort_by_key(|diag| (diag.span.start, diag.span.end));
    }
    Ok(Graph { files, spaced })
}

struct Loader<'a> {
    resolver: &'a dyn Resolver,
    lib: &'a [PathBuf],
    cache: Option<&'a ParseCache>,
    files: Vec<SourceUnit>,
    /// Each file's path, [`normalize`]d: what a used path is compared with.
    keys: Vec<PathBuf>,
    /// The files being visited, outermost first.
    stack: Vec<usize>,
}

/// Where a used path was found, or why not.
enum Found {
    File(PathBuf, Arc<str>),
    Missing(Vec<PathBuf>),
    Unreadable(PathBuf, std::io::Error),
}

impl Loader<'_> {
    fn add(&mut self, path: PathBuf, namespace: String, text: Arc<str>) -> usize {
        let parsed = match self.cache {
            Some(cache) => cache.parse(&path, &text),
            None => parse(&text),
        };
        self.push(path, namespace, text, parsed)
    }

    fn push(&mut self, path: PathBuf, namespace: String, text: Arc<str>, parsed: Parsed) -> usize {
        let diagnostics = parsed.diagnostics.clone();
        self.keys.push(normalize(&path));
        self.files.push(SourceUnit {
            path,
            namespace,
            text,
            parsed,
            uses: Vec::new(),
            diagnostics,
            base: 0,
        });
        self.files.len() - 1
    }

    fn find(&self, from: &Path, written: &str) -> Found {
        let written = Path::new(written);
        let mut places = Vec::new();
        if written.is_absolute() {
            places.push(normalize(written));
        } else {
            let dir = from.parent().unwrap_or(Path::new(""));
            places.push(normalize(&dir.join(written)));
            places.extend(self.lib.iter().map(|lib| normalize(&lib.join(written))));
        }
        let mut tried = Vec::new();
        for place in places {
            if let Some(idx) = self.keys.iter().position(|key| same_path(key, &place)) {
                let text = self
                    .files
                    .get(idx)
                    .map(|file| file.text.clone())
                    .unwrap_or_default();
                return Found::File(place, text);
            }
            match self.resolver.read_shared(&place) {
                Ok(text) => return Found::File(place, text),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => tried.push(place),
                Err(err) => return Found::Unreadable(place, err),
            }
        }
        Found::Missing(tried)
    }

    fn namespace_for(&self, path: &Path) -> String {
        let stem = stem(path);
        let taken = |name: &str| self.files.iter().any(|file| file.namespace == name);
        if !taken(&stem) {
            return stem;
        }
        let mut n = 2;
        loop {
            let name = format!("{stem}_{n}");
            if !taken(&name) {
                return name;
            }
            n += 1;
        }
    }

    fn visit(&mut self, idx: usize) {
        self.stack.push(idx);
        let (from, uses) = match self.files.get(idx) {
            Some(file) => (file.path.clone(), file.parsed.file.uses.clone()),
            None => return,
        };
        let mut loaded = Vec::new();
        let mut diags = Vec::new();
        for used in &uses {
            let target = match self.find(&from, &used.path) {
                Found::File(path, text) => {
                    match self.keys.iter().position(|key| same_path(key, &path)) {
                        Some(j) if self.stack.contains(&j) => {
                            diags.push(self.cycle(j, idx, used.path_span));
                            None
                        }
                        Some(j) => Some(j),
                        None => {
                            let namespace = self.namespace_for(&path);
                            let j = self.add(path, namespace, text);
                            self.visit(j);
                            Some(j)
                        }
                    }
                }
                Found::Missing(tried) => {
                    let tried: Vec<String> = tried
                        .iter()
                        .map(|path| path.display().to_string())
                        .collect();
                    diags.push(
                        Diagnostic::error(
                            Code::MissingFile,
                            used.path_span,
                            format!("cannot find `{}`", used.path),
                        )
                        .with_help(format!("tried {}", tried.join(", "))),
                    );
                    None
                }
                Found::Unreadable(path, err) => {
                    diags.push(Diagnostic::error(
                        Code::MissingFile,
                        used.path_span,
                        format!("cannot read `{}` ({}): {err}", used.path, path.display()),
                    ));
                    None
                }
            };
            loaded.push(target);
        }
        if let Some(file) = self.files.get_mut(idx) {
            file.uses = loaded;
            file.diagnostics.extend(diags);
        }
        self.stack.pop();
    }

    /// E0024 at a `use` of file `j` (on the stack) by file `idx`.
    fn cycle(&self, j: usize, idx: usize, span: Span) -> Diagnostic {
        let name = |k: usize| {
            self.files
                .get(k)
                .map(|file| file.path.display().to_string())
                .unwrap_or_default()
        };
        let start = self.stack.iter().position(|&k| k == j).unwrap_or(0);
        let mut chain: Vec<String> = self
            .stack
            .get(start..)
            .unwrap_or_default()
            .iter()
            .map(|&k| name(k))
            .collect();
        chain.push(name(j));
        let message = if j == idx {
            format!("`{}` uses itself", name(j))
        } else {
            format!("a cycle of uses: {}", chain.join(" -> "))
        };
        Diagnostic::error(Code::UseCycle, span, message).with_help(
            "files cannot use each other in a cycle: move what they share into a file of its own",
        )
    }
}

mod link;
pub use link::{link, link_reusing, FileScope, Linked};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_is_kept_while_its_text_is_the_same() {
        let cache = ParseCache::default();
        let files = |path: &Path| -> std::io::Result<String> {
            match path.to_str() {
                Some("dir/a.chop") => Ok("fn f() -> int { 1 }\n".to_string()),
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        };
        let main = Path::new("dir/main.chop");
        let text = "use \"a.chop\";\nfn main() { print(f()); }\n";
        let first = load_parsed(main, text, None, &files, &[], Some(&cache)).unwrap();
        assert_eq!(
            cache.len(),
            1,
            "the used file only: the main file's parse is the caller's"
        );
        let again = load_parsed(main, text, None, &files, &[], Some(&cache)).unwrap();
        // The same items, shared: not parsed again.
        assert!(Arc::ptr_eq(
            &first.files[1].parsed.file.items[0],
            &again.files[1].parsed.file.items[0]
        ));
        // Another text at that path is parsed afresh and replaces the kept one.
        let other = |path: &Path| -> std::io::Result<String> {
            match path.to_str() {
                Some("dir/a.chop") => Ok("fn f() -> int { 2 }\n".to_string()),
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        };
        let changed = load_parsed(main, text, None, &other, &[], Some(&cache)).unwrap();
        assert!(!Arc::ptr_eq(
            &first.files[1].parsed.file.items[0],
            &changed.files[1].parsed.file.items[0]
        ));
        assert_eq!(cache.len(), 1);
        cache.forget(Path::new("dir/a.chop"));
        assert!(cache.is_empty());
    }

    /// The diagnostics of every file, as (path, line:col, message), for comparing two
    /// analyses of one program laid out differently.
    fn placed(analyzed: &crate::driver::Analyzed) -> Vec<(PathBuf, String, String)> {
        let mut out = Vec::new();
        for file in analyzed.file_diagnostics() {
            let lines = crate::syntax::span::LineIndex::new(file.text);
            for diag in &file.diagnostics {
                let at = lines.line_col(file.text, diag.span.start);
                out.push((
                    file.path.to_path_buf(),
                    format!("{}:{}", at.line, at.col),
                    diag.message.clone(),
                ));
            }
        }
        out
    }

    #[test]
    fn an_edit_of_the_main_file_keeps_the_used_files_linked_items() {
        let files = |path: &Path| -> std::io::Result<String> {
            match path.to_str() {
                Some("w/a.chop") => Ok("pub_fn_marker\n".replace(
                    "pub_fn_marker",
                    "fn twice(n: int) -> int { n * 2 }\nfn bad() -> int { true }",
                )),
                Some("w/b.chop") => Ok("use \"a.chop\";\nparam level: float = 0.5;\nfn f(x: int) -> int { twice(x) + 1 }\n".to_string()),
                _ => Err(std::io::ErrorKind::NotFound.into()),
            }
        };
        let cache = ParseCache::default();
        let main = Path::new("w/main.chop");
        let before = "use \"b.chop\";\nfn main() { print(b.f(2)); }\n";
        let after = "use \"b.chop\";\n\nfn main() {\n    let unused = 3;\n    print(b.f(2));\n}\n";
        let load = |text: &str| load_parsed(main, text, None, &files, &[], Some(&cache));
        let first = crate::driver::analyze_graph_reusing(load(before).unwrap(), None);
        let modules = first.modules.as_deref().unwrap();
        assert!(modules.graph.spaced);
        assert_eq!(modules.graph.files[1].base, SPACING.0);
        let second = crate::driver::analyze_graph_reusing(load(after).unwrap(), Some(&first));
        let again = second.modules.as_deref().unwrap();
        // The main file's items are new; every used file's linked item is the one
        // linked before, shared.
        let own = again.graph.files[0].parsed.file.items.len();
        assert_eq!(own, 1);
        assert_eq!(
            again.linked.file.items.len(),
            modules.linked.file.items.len()
        );
        for (new, old) in again
            .linked
            .file
            .items
            .iter()
            .zip(&modules.linked.file.items)
            .skip(own)
        {
            assert!(Arc::ptr_eq(new, old), "{} linked again", new.name.name);
        }
        // Their bodies were not checked again: their results were taken over.
        let reused: Vec<bool> = second
            .analysis
            .bodies
            .iter()
            .map(|body| body.as_ref().is_some_and(|body| body.reused))
            .collect();
        assert_eq!(
            reused,
            [false, false, true, true, true],
            "main, b.level (a param), b.f, a.twice, a.bad"
        );
        // And the analysis is the one of the program laid out without gaps, afresh.
        let fresh =
            crate::driver::analyze_graph(load_text(main, after.into(), &files, &[]).unwrap());
        assert!(!fresh.modules.as_deref().unwrap().graph.spaced);
        let (got, want) = (placed(&second), placed(&fresh));
        assert_eq!(got, want);
        assert!(
            got.iter()
                .any(|(path, at, message)| path == Path::new("w/a.chop")
                    && at == "2:19"
                    && message.contains("bool")),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|(path, _, message)| path == main && message.contains("unused")),
            "{got:?}"
        );
        // The used files' scopes are the ones linked before, shared; the main file's
        // (its items changed) is made again, equal.
        let scopes = |analyzed: &crate::driver::Analyzed| {
            analyzed.modules.as_deref().unwrap().linked.scopes.clone()
        };
        let (old_scopes, new_scopes) = (scopes(&first), scopes(&second));
        assert!(!Arc::ptr_eq(&old_scopes[0], &new_scopes[0]));
        assert_eq!(old_scopes[0], new_scopes[0]);
        assert!(Arc::ptr_eq(&old_scopes[1], &new_scopes[1]), "b's scope");
        assert!(Arc::ptr_eq(&old_scopes[2], &new_scopes[2]), "a's scope");
        // Back to the first text, reusing the second: what the first analysis found.
        let third = crate::driver::analyze_graph_reusing(load(before).unwrap(), Some(&second));
        assert_eq!(placed(&third), placed(&first));
        // An alias given to the use: the main file sees other names, made afresh, and
        // equal to what linking without a last program makes.
        let aliased = before.replace("use \"b.chop\";", "use \"b.chop\" as bee;");
        let fourth = crate::driver::analyze_graph_reusing(load(&aliased).unwrap(), Some(&third));
        let scope = &scopes(&fourth)[0];
        assert!(scope.namespaces.contains_key("bee") && !scope.namespaces.contains_key("b"));
        let alone = link(&load(&aliased).unwrap());
        assert_eq!(scopes(&fourth), alone.scopes);
    }

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(
            normalize(Path::new("a/b/../c/./d.chop")),
            PathBuf::from("a/c/d.chop")
        );
        assert_eq!(
            normalize(Path::new("../x.chop")),
            PathBuf::from("../x.chop")
        );
        assert_eq!(
            normalize(Path::new("a/../../x.chop")),
            PathBuf::from("../x.chop")
        );
    }
}
