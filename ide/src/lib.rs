//! Editor features over one Chop file, with no knowledge of LSP.
//!
//! Everything here works on a [`Doc`] (the text, its tree-sitter tree, the
//! AST, the checker's results) and speaks in byte offsets and [`Span`]s; the
//! language server (`lsp/`) converts positions and types at its boundary.
//! A [`Document`] is a file being edited: servers hand it edits as byte
//! ranges and new text, and it gives `Arc<Doc>` snapshots, parsed
//! incrementally.
//! One file per feature, each a plain function over a `Doc`; also the formatter
//! ([`fmt`]) and the basic-block graph of a function ([`graph`]), which the command
//! line uses as well.

pub mod actions;
pub mod completion;
mod document;
#[cfg(test)]
mod fixture;
pub mod fmt;
pub mod graph;
pub mod hints;
mod index;
mod lex;
pub mod navigation;
pub mod outline;
pub mod preview;
mod render;
mod scope;
pub mod semantic;
pub mod signature;
mod walk;

pub use document::{Document, ProgramContext};

use chunkvm::check::{check, Analysis};
use chunkvm::diag::Diagnostic;
use chunkvm::syntax::ast::{ExprId, Item, ItemId, ItemKind, SourceFile};
use chunkvm::syntax::lower::{lower, parse_reusing, Parsed};
use chunkvm::syntax::span::{LineIndex, Span};
use std::sync::Arc;

/// One analysed version of a file.
#[derive(Clone, Debug)]
pub struct Doc {
    /// The text.
    pub text: Arc<str>,
    /// The tree, the AST and the syntax diagnostics.
    pub parsed: Parsed,
    /// Names, types and the checker's diagnostics.
    pub analysis: Arc<Analysis>,
    /// Lines of the text.
    pub lines: LineIndex,
    /// The program, when the file uses others and was analysed with them
    /// ([`Document::set_program`]): then `analysis` is the whole program's (the file's
    /// own expressions, bindings and items keep their ids; items from `file().items.len()`
    /// on are the used files'), and the diagnostics are the file's own.
    pub program: Option<Program>,
}

/// A file analysed with the files it uses (their items renamed `NS.name` in
/// the linked program).
#[derive(Clone)]
pub struct Program(pub Arc<chunkvm::driver::Analyzed>);

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files: Vec<_> = self
            .modules()
            .map(|modules| modules.graph.files.iter().map(|unit| &unit.path).collect())
            .unwrap_or_default();
        f.debug_struct("Program").field("files", &files).finish()
    }
}

impl Program {
    /// The analysed program.
    pub fn analyzed(&self) -> &chunkvm::driver::Analyzed {
        &self.0
    }

    /// Its files and how they were linked.
    pub fn modules(&self) -> Option<&chunkvm::driver::Modules> {
        self.0.modules.as_deref()
    }

    /// The paths of its files, the main one first.
    pub fn paths(&self) -> Vec<&std::path::Path> {
        self.modules()
            .map(|modules| {
                modules
                    .graph
                    .files
                    .iter()
                    .map(|unit| unit.path.as_path())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An item of a used file, seen from a file that uses it.
#[derive(Clone, Debug)]
pub struct Foreign {
    /// The used file's path, as loaded.
    pub path: std::path::PathBuf,
    /// The used file analysed alone (its spans are its own).
    pub doc: Arc<Doc>,
    /// The item in `doc`.
    pub item: ItemId,
}

impl Doc {
    /// Parses and checks `text`.
    pub fn new(text: &str) -> Doc {
        let parsed = chunkvm::syntax::lower::parse(text);
        Doc::from_parsed(text, parsed)
    }

    /// Parses `text` reusing `old` (already edited with `Tree::edit` to match the
    /// new text) with `parser`, and the items of `previous` (the last version
    /// of the document) that the edit did not touch, then checks it: what a
    /// keystroke costs.
    pub fn reparse(
        parser: &mut tree_sitter::Parser,
        text: &str,
        old: Option<&tree_sitter::Tree>,
        previous: Option<&Doc>,
    ) -> Doc {
        let parsed = Doc::parse_again(parser, text, old, previous);
        Doc::check_parsed(text, parsed, previous)
    }

    /// The parsing half of [`Doc::reparse`].
    pub fn parse_again(
        parser: &mut tree_sitter::Parser,
        text: &str,
        old: Option<&tree_sitter::Tree>,
        previous: Option<&Doc>,
    ) -> Parsed {
        parse_reusing(
            parser,
            text,
            old,
            previous.map(|doc| (&*doc.text, &doc.parsed)),
        )
    }

    /// The checking half of [`Doc::reparse`]: the file alone, reusing what checking
    /// `previous` found where it can.
    pub fn check_parsed(text: impl Into<Arc<str>>, parsed: Parsed, previous: Option<&Doc>) -> Doc {
        let text: Arc<str> = text.into();
        // A program's analysis is not one of this file alone: nothing to reuse.
        let previous = previous.filter(|doc| doc.program.is_none());
        let analysis = chunkvm::check::check_reusing(
            &parsed.file,
            &parsed.memo,
            previous.map(|doc| (&doc.parsed.file, &doc.parsed.memo, &*doc.analysis)),
        );
        Doc {
            lines: LineIndex::new(&text),
            text,
            parsed,
            analysis: Arc::new(analysis),
            program: None,
        }
    }

    fn from_parsed(text: &str, parsed: Parsed) -> Doc {
        let analysis = check(&parsed.file);
        Doc {
            text: Arc::from(text),
            lines: LineIndex::new(text),
            parsed,
            analysis: Arc::new(analysis),
            program: None,
        }
    }

    /// `text` (the file at `path`) analysed with the files it uses, read through
    /// `resolver` (beside the file, then in `lib`); `parsed` is its own parse; the used
    /// files' parses come from `cache` when their text is unchanged. When it cannot be
    /// loaded (never for an editor's buffer), the file alone. `last`, the document's
    /// last analysis, lends the linked items of the files that did not change.
    pub fn with_program(
        text: impl Into<Arc<str>>,
        parsed: Parsed,
        path: &std::path::Path,
        resolver: &dyn chunkvm::modules::Resolver,
        lib: &[std::path::PathBuf],
        cache: Option<&chunkvm::modules::ParseCache>,
        last: Option<&Doc>,
    ) -> Doc {
        let text: Arc<str> = text.into();
        let graph = match chunkvm::modules::load_parsed(
            path,
            text.clone(),
            Some(parsed),
            resolver,
            lib,
            cache,
        ) {
            Ok(graph) => graph,
            // Not for a text given (only reading the main file fails): parsed afresh.
            Err(_) => return Doc::new(&text),
        };
        let previous = last
            .and_then(|doc| doc.program.as_ref())
            .map(Program::analyzed);
        let analyzed = chunkvm::driver::analyze_graph_reusing(graph, previous);
        let own = analyzed
            .modules
            .as_ref()
            .and_then(|modules| modules.graph.files.first())
            .map(|unit| unit.parsed.clone())
            .unwrap_or_else(|| chunkvm::syntax::lower::parse(&text));
        Doc {
            lines: LineIndex::new(&text),
            text,
            // The program's analysis, shared (not copied).
            analysis: Arc::clone(&analyzed.analysis),
            parsed: own,
            program: Some(Program(Arc::new(analyzed))),
        }
    }

    /// The used file's item `id` (of the linked program: `id` at least
    /// `file().items.len()`), with that file analysed alone.
    pub fn foreign(&self, id: ItemId) -> Option<Foreign> {
        let (file, item) = self.foreign_place(id)?;
        let (path, doc) = self.foreign_file(file)?;
        Some(Foreign { path, doc, item })
    }

    /// The file of the used item `id` (its index in the program) and the item's id in
    /// that file, without analysing anything.
    pub fn foreign_place(&self, id: ItemId) -> Option<(usize, ItemId)> {
        let modules = self.program.as_ref()?.modules()?;
        let idx = id.0 as usize;
        if idx < self.file().items.len() {
            return None;
        }
        let file = *modules.linked.item_file.get(idx)?;
        let first = modules.linked.item_file.iter().position(|&f| f == file)?;
        Some((file, ItemId((idx - first) as u32)))
    }

    /// Used file `file` of the program (not the main one) analysed alone: its path and
    /// analysis.
    pub fn foreign_file(&self, file: usize) -> Option<(std::path::PathBuf, Arc<Doc>)> {
        let modules = self.program.as_ref()?.modules()?;
        let unit = modules.graph.files.get(file).filter(|_| file > 0)?;
        let doc = Doc::from_parsed(&unit.text, unit.parsed.clone());
        Some((unit.path.clone(), Arc::new(doc)))
    }

    /// The names this file sees of used files' public items (`sepia`, `sepia.sepia`,
    /// `m.amount`), with their ids in the linked program, sorted by name.
    pub fn used_names(&self) -> Vec<(&str, ItemId)> {
        let Some(modules) = self.program.as_ref().and_then(Program::modules) else {
            return Vec::new();
        };
        let own = self.file().items.len();
        let mut names: Vec<(&str, ItemId)> = modules
            .linked
            .scopes
            .first()
            .map(|scope| {
                scope
                    .names
                    .iter()
                    .filter(|(_, id)| id.0 as usize >= own)
                    .map(|(name, id)| (name.as_str(), *id))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Lowers an existing tree again (for tests of incremental parsing).
    pub fn from_tree(text: &str, tree: tree_sitter::Tree) -> Doc {
        let (file, diagnostics) = lower(&tree, text);
        Doc::from_parsed(
            text,
            Parsed {
                tree,
                file,
                diagnostics,
                memo: Default::default(),
            },
        )
    }

    /// The AST.
    pub fn file(&self) -> &SourceFile {
        &self.parsed.file
    }

    /// The text outside the bodies of its functions and filters, in pieces (before
    /// the first body, between bodies, after the last): its `use` items, comments,
    /// params, pipelines and every signature.
    fn outside_bodies(&self) -> impl Iterator<Item = &str> {
        let bodies = self
            .file()
            .items
            .iter()
            .filter_map(|item| match &item.kind {
                ItemKind::Function(function) => Some(function.body.span),
                _ => None,
            });
        let mut from = 0;
        let mut pieces: Vec<&str> = Vec::new();
        for body in bodies {
            let start = body.start.clamp(from, self.text.len());
            pieces.push(self.text.get(from..start).unwrap_or(""));
            from = body.end.clamp(start, self.text.len());
        }
        pieces.push(self.text.get(from..).unwrap_or(""));
        pieces.into_iter()
    }

    /// Whether this version of the file differs from `old` only inside the bodies of
    /// its functions and filters (as many bodies, the same text around them). Then
    /// another file that uses it checks as it did: the checker reads a used file's
    /// names, kinds, signatures and params, never its bodies (a body's results are
    /// its own file's diagnostics).
    pub fn same_outside_bodies(&self, old: &Doc) -> bool {
        self.outside_bodies().eq(old.outside_bodies())
    }

    /// Every diagnostic, syntax first, then by position.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match &self.program {
            Some(program) => program.analyzed().diagnostics(),
            None => chunkvm::driver::diagnostics(&self.parsed, &self.analysis),
        }
    }

    /// Compiles the file (with the files it uses, for a program); the diagnostics
    /// when it has errors.
    pub fn compile(&self) -> Result<chunkvm::compile::Program, Vec<Diagnostic>> {
        match &self.program {
            Some(program) => program.analyzed().compile(),
            None => chunkvm::driver::compile_analyzed(&self.parsed, &self.analysis),
        }
    }

    /// The AST a compiled program was made from: the linked program's, for a
    /// file that uses others; else the file's.
    pub fn program_file(&self) -> &SourceFile {
        match &self.program {
            Some(program) => &program.analyzed().parsed.file,
            None => self.file(),
        }
    }

    /// The well-formed params of the file and of the files it uses (a used file's
    /// named `NS.name`, its span in the linked program), in order.
    pub fn program_params(&self) -> Vec<chunkvm::check::ParamDecl> {
        match &self.program {
            Some(program) => program.analyzed().params(),
            None => chunkvm::check::params(self.file(), &self.analysis),
        }
    }

    /// The item whose span holds `offset`.
    pub fn item_at(&self, offset: usize) -> Option<(ItemId, &Item)> {
        self.file()
            .items
            .iter()
            .enumerate()
            .find(|(_, item)| item.span.contains(offset))
            .map(|(idx, item)| (ItemId(idx as u32), &**item))
    }

    /// The text of a span (empty if the span is not on char boundaries).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// This document with `span` replaced by `text`, analysed the way a
    /// keystroke is: its tree re-parsed incrementally, only the items the
    /// edit touched lowered again. `None` when `span` is not a range of
    /// whole characters of the text.
    pub fn edited(&self, span: Span, text: &str) -> Option<Doc> {
        let before = self.text.get(..span.start)?;
        let after = self.text.get(span.end..)?;
        let new_text = format!("{before}{text}{after}");
        let point = |offset: usize| {
            let line = self.lines.line_of(offset);
            let start = self.lines.line_start(line).unwrap_or(0);
            tree_sitter::Point::new(line, offset - start)
        };
        let mut tree = self.parsed.tree.clone();
        tree.edit(&document::input_edit(
            span,
            text,
            point(span.start),
            point(span.end),
        ));
        let mut parser = chunkvm::syntax::lower::new_parser();
        Some(Doc::reparse(
            &mut parser,
            &new_text,
            Some(&tree),
            Some(self),
        ))
    }
}

/// What a name in the source is: the target of navigation features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Symbol {
    /// A local binding (parameter, `let`, `var`, `for` variable).
    Local(chunkvm::syntax::ast::BindingId),
    /// A top-level item.
    Item(ItemId),
    /// A builtin function, by name.
    Builtin(&'static str),
    /// A field or method of a builtin type, by receiver and name.
    Member(&'static str, &'static str),
}

/// A name under the cursor: where it is, and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAt {
    /// The name's span.
    pub span: Span,
    /// What it refers to.
    pub symbol: Symbol,
    /// The expression, when the name is an expression (not a declaration).
    pub expr: Option<ExprId>,
}

/// A text edit: replace `span` with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// What to replace.
    pub span: Span,
    /// The new text.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_doc_is_the_doc_of_the_edited_text() {
        let text = "/// A.\nfn a() -> int { 1 }\n\nfn b(x: int) -> int {\n    x + a()\n}\n\n/// C: é.\nfn c() { print(b(2)); }\n";
        let doc = Doc::new(text);
        let b_body = text.find("x + a()").unwrap_or(0);
        let cases = [
            (Span::new(b_body, b_body + 1), "y"),
            (Span::new(b_body, b_body), "let y = 2;\n    "),
            (Span::new(0, 0), "fn z() {}\n"),
            (Span::new(text.len(), text.len()), "fn broken( {"),
            (Span::new(b_body, text.len()), "__cursor__ }"),
        ];
        for (span, new) in cases {
            let edited = doc.edited(span, new).expect("a range of whole characters");
            let patched = format!("{}{new}{}", &text[..span.start], &text[span.end..]);
            let fresh = Doc::new(&patched);
            assert_eq!(&*edited.text, patched);
            assert_eq!(
                format!("{:?}", (edited.file(), edited.diagnostics())),
                format!("{:?}", (fresh.file(), fresh.diagnostics())),
                "{patched}"
            );
            assert_eq!(
                edited.parsed.tree.root_node().to_sexp(),
                fresh.parsed.tree.root_node().to_sexp()
            );
        }
        // Inside the `é`: not a range of whole characters.
        let inside = text.find('é').unwrap_or(0) + 1;
        assert!(doc.edited(Span::new(inside, inside), "x").is_none());
    }

    #[test]
    fn an_edit_is_inside_bodies_only_when_nothing_else_moves() {
        let text = "use \"m.chop\";\n\n/// P.\nparam p: float = 0.5;\n\n/// A.\nfn a(x: int) -> int {\n    x + 1\n}\n\nfilter f(c: color) -> color {\n    c\n}\n\npipeline q = f;\n";
        let doc = Doc::new(text);
        let edit = |what: &str, new: &str| {
            let start = text.find(what).unwrap_or(0);
            Doc::new(&text.replacen(what, new, 1))
                .same_outside_bodies(&doc)
                .then_some(start)
        };
        // Inside a body, even when it breaks it or adds lines.
        assert!(edit("x + 1", "x + 2").is_some());
        assert!(edit("x + 1", "let y = x;\n    y + 1\n    foo(").is_some());
        assert!(edit("    c\n", "    let g = luma(c);\n    c\n").is_some());
        assert!(Doc::new(text).same_outside_bodies(&doc));
        // Anything else: a signature, a param, a doc comment, a use, an item more,
        // a body's braces.
        for (what, new) in [
            ("x: int) -> int", "x: float) -> int"),
            ("0.5", "0.6"),
            ("/// A.", "/// B."),
            ("m.chop", "n.chop"),
            ("pipeline q = f;", "pipeline q = f |> f;"),
            ("pipeline q", "fn z() {}\npipeline q"),
            ("    x + 1\n}", "    x + 1\n"),
            ("filter f", "fn f"),
        ] {
            assert_eq!(edit(what, new), None, "{what} -> {new}");
        }
    }
}
