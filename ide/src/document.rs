//! A document being edited: its text, its syntax tree and the parser that
//! re-parses it, analysed incrementally.
//!
//! A server hands a [`Document`] its edits as byte ranges and new text, in
//! the order they came; the document applies each to its text (a rope, so
//! an edit in a big file costs little) and to its last syntax tree (a
//! `Tree::edit`), and [`Document::analyse`] then re-parses once for all of
//! them, reusing the tree and the items of the last analysis the edits did
//! not touch, and gives an immutable [`Doc`] snapshot. Positions of a
//! protocol (lines and columns) are the server's: [`Document::line`] gives
//! it the text of a line to count columns in.

use crate::Doc;
use chunkvm::syntax::span::Span;
use ropey::Rope;
use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tree_sitter::{InputEdit, Point};

/// The text of a document, its syntax tree and its last analysis.
pub struct Document {
    rope: Rope,
    parser: tree_sitter::Parser,
    tree: Option<tree_sitter::Tree>,
    /// The last analysis: its unchanged items are reused by the next one.
    last: Option<Arc<Doc>>,
    /// Whether the text changed since the last analysis (else the next one, asked for
    /// because a used file changed, takes the last one's text and parse as they are).
    edited: bool,
    /// Where the file is and how to read the files it uses: set, a file with `use`
    /// items is analysed with them.
    program: Option<ProgramContext>,
}

/// Where a document's file is and how to read the files it `use`s.
#[derive(Clone)]
pub struct ProgramContext {
    /// The file's path.
    pub path: std::path::PathBuf,
    /// The library's search path, after the file's folder.
    pub lib: Vec<std::path::PathBuf>,
    /// Reads a used file (an editor's open buffer first, then the disk).
    pub resolver: Arc<dyn chunkvm::modules::Resolver + Send + Sync>,
    /// The parses of used files, kept while their text is the same (shared by the
    /// documents of a server): a keystroke parses only the file it changed.
    pub cache: Option<Arc<chunkvm::modules::ParseCache>>,
}

impl std::fmt::Debug for ProgramContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramContext")
            .field("path", &self.path)
            .field("lib", &self.lib)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("len", &self.rope.len_bytes())
            .field("has_tree", &self.tree.is_some())
            .finish_non_exhaustive()
    }
}

impl Document {
    /// A document holding `text` (not parsed yet).
    pub fn new(text: &str) -> Document {
        Document {
            rope: Rope::from_str(text),
            parser: chunkvm::syntax::lower::new_parser(),
            tree: None,
            last: None,
            edited: true,
            program: None,
        }
    }

    /// Sets where the file is and how to read the files it uses: from the next
    /// analysis on, a file with `use` items is analysed with them (a file that uses
    /// nothing keeps the incremental analysis of one file).
    pub fn set_program(&mut self, program: Option<ProgramContext>) {
        self.program = program;
    }

    /// The text.
    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    /// The length of the text in bytes.
    pub fn len(&self) -> usize {
        self.rope.len_bytes()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.rope.len_bytes() == 0
    }

    /// The byte offset where 0-based `line` starts and its text, its line
    /// ending included; `None` past the last line. Lines end at `\n`.
    pub fn line(&self, line: usize) -> Option<(usize, Cow<'_, str>)> {
        if line >= self.rope.len_lines() {
            return None;
        }
        let slice = self.rope.line(line);
        let text = match slice.as_str() {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(slice.to_string()),
        };
        Some((self.rope.line_to_byte(line), text))
    }

    /// Replaces the whole text (the next analysis parses it afresh).
    pub fn replace(&mut self, text: &str) {
        self.rope = Rope::from_str(text);
        self.edited = true;
        self.tree = None;
    }

    /// Replaces `span` of the text with `text`. The span is clamped to the
    /// text and its ends moved back to character boundaries; an end before
    /// the start means the start (an insertion).
    pub fn edit(&mut self, span: Span, text: &str) {
        let start = self.floor_char_boundary(span.start);
        let end = self.floor_char_boundary(span.end).max(start);
        let (start_point, end_point) = (self.point(start), self.point(end));
        let start_char = self.rope.byte_to_char(start);
        let end_char = self.rope.byte_to_char(end);
        self.rope.remove(start_char..end_char);
        self.rope.insert(start_char, text);
        self.edited = true;
        if let Some(tree) = &mut self.tree {
            tree.edit(&input_edit(
                Span::new(start, end),
                text,
                start_point,
                end_point,
            ));
        }
    }

    /// Parses (reusing the edited tree and the last analysis) and checks the text.
    /// Unedited since the last analysis (a used file changed), the text and its parse
    /// are the last ones: only the program is linked and checked again.
    pub fn analyse(&mut self) -> Arc<Doc> {
        let (text, parsed) = match &self.last {
            Some(last) if !self.edited => (last.text.clone(), last.parsed.again()),
            _ => {
                let text: Arc<str> = Arc::from(self.rope.to_string());
                let parsed = Doc::parse_again(
                    &mut self.parser,
                    &text,
                    self.tree.as_ref(),
                    self.last.as_deref(),
                );
                (text, parsed)
            }
        };
        self.edited = false;
        // A file that uses others is checked as a program only (not alone first).
        let doc = match &self.program {
            Some(program) if !parsed.file.uses.is_empty() => Doc::with_program(
                text,
                parsed,
                &program.path,
                &*program.resolver,
                &program.lib,
                program.cache.as_deref(),
                self.last.as_deref(),
            ),
            _ => Doc::check_parsed(text, parsed, self.last.as_deref()),
        };
        self.tree = Some(doc.parsed.tree.clone());
        // The programs that use this file take this parse instead of parsing it again.
        if let Some(program) = &self.program {
            if let Some(cache) = &program.cache {
                cache.keep(&program.path, doc.text.clone(), doc.parsed.clone());
            }
        }
        let doc = Arc::new(doc);
        self.last = Some(doc.clone());
        doc
    }

    /// After a panic while editing or analysing: forgets the tree, the last
    /// analysis and the parser, and analyses the text afresh; `None` if that
    /// panics too.
    pub fn analyse_afresh(&mut self) -> Option<Arc<Doc>> {
        self.tree = None;
        self.last = None;
        self.edited = true;
        self.parser = chunkvm::syntax::lower::new_parser();
        let text = self.rope.to_string();
        let doc = std::panic::catch_unwind(AssertUnwindSafe(|| Arc::new(Doc::new(&text)))).ok();
        // Without the files it uses: what failed may be in them.
        self.last = doc.clone();
        doc
    }

    /// After a panic while editing: the text may be half-edited and the tree
    /// no longer match it, so the next analysis parses afresh.
    pub fn forget_tree(&mut self) {
        self.tree = None;
        self.edited = true;
    }

    /// `offset` clamped to the text, moved back to a character boundary.
    fn floor_char_boundary(&self, offset: usize) -> usize {
        let offset = offset.min(self.rope.len_bytes());
        self.rope.char_to_byte(self.rope.byte_to_char(offset))
    }

    /// The tree-sitter point of byte `offset` (a character boundary of the text).
    fn point(&self, offset: usize) -> Point {
        let line = self.rope.byte_to_line(offset);
        Point::new(line, offset - self.rope.line_to_byte(line))
    }
}

/// The tree edit replacing `span` (from `start` to `old_end`) with `text`.
pub(crate) fn input_edit(span: Span, text: &str, start: Point, old_end: Point) -> InputEdit {
    InputEdit {
        start_byte: span.start,
        old_end_byte: span.end,
        new_end_byte: span.start + text.len(),
        start_position: start,
        old_end_position: old_end,
        new_end_position: chunkvm::syntax::lower::point_after(start, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_to_the_text_and_the_tree() {
        let text = "// 🎨 é\nfn main() {\n    let x = 1;\n}\n";
        let mut document = Document::new(text);
        let doc = document.analyse();
        assert!(doc.diagnostics().iter().all(|d| !d.is_error()));
        let e = text.find('é').unwrap_or(0);
        let one = text.find("1;").unwrap_or(0);
        // In reverse order, so the offsets of the text as it was still hold.
        document.edit(Span::new(text.len() + 5, text.len() + 9), "fn g() {}\n");
        document.edit(Span::new(one, one + 1), "2.5;\n    let y = x");
        // An end inside the `é` and before the start: an insertion at the start.
        document.edit(Span::new(e, e + 1), "ü");
        document.edit(Span::new(e + 2, e + 1), "x");
        let want = "// 🎨 üxé\nfn main() {\n    let x = 2.5;\n    let y = x;\n}\nfn g() {}\n";
        assert_eq!(document.text(), want);
        let doc = document.analyse();
        assert_eq!(&*doc.text, want);
        // The incrementally parsed tree is the same as a fresh parse.
        assert_same_nodes(
            &doc.parsed.tree,
            &Doc::new(want).parsed.tree,
            want,
            "edited",
        );
        assert_eq!(
            document
                .line(1)
                .map(|(start, line)| (start, line.into_owned())),
            Some((want.find("fn").unwrap_or(0), "fn main() {\n".to_string()))
        );
        assert_eq!(document.line(6).map(|(start, _)| start), Some(want.len()));
        assert!(document.line(7).is_none());
        document.replace("fn h() {}\n");
        assert_eq!(&*document.analyse().text, "fn h() {}\n");
    }

    /// Every node of `tree` in pre-order: depth, kind, byte range, points,
    /// and whether it is missing or an error (`to_sexp` leaves out positions,
    /// where a wrong tree edit shows first).
    fn nodes(tree: &tree_sitter::Tree) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor = tree.walk();
        let mut depth = 0usize;
        loop {
            let node = cursor.node();
            out.push(format!(
                "{depth} {} {:?} {}..{} {:?}..{:?}{}{}",
                node.kind(),
                cursor.field_name(),
                node.start_byte(),
                node.end_byte(),
                node.start_position(),
                node.end_position(),
                if node.is_missing() { " missing" } else { "" },
                if node.is_error() { " error" } else { "" },
            ));
            if cursor.goto_first_child() {
                depth += 1;
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    return out;
                }
                depth -= 1;
            }
        }
    }

    /// `doc` (parsed incrementally, analysed reusing the last analysis) is
    /// what a fresh analysis of its tree gives (the reuse is exact); and when
    /// a new parser finds no syntax error in its text, it is exactly what
    /// parsing and analysing the text afresh give: the same tree, node for
    /// node with positions, the same AST and diagnostics. A text with syntax
    /// errors may be recovered from differently by an incremental parse than
    /// by a fresh one (tree-sitter reuses error subtrees whose parse states
    /// match); but when both parses give the same tree, node for node with
    /// positions, the AST and diagnostics are the same: they are a function
    /// of the tree and the text, never of the parse states an incremental
    /// parse leaves in it. Returns whether the trees were the same.
    fn assert_same_as_afresh(doc: &Doc, what: &str) -> bool {
        let analysis = |doc: &Doc| format!("{:?}", (doc.file(), doc.diagnostics()));
        let fresh = Doc::new(&doc.text);
        let same_tree = if fresh.parsed.tree.root_node().has_error() {
            nodes(&doc.parsed.tree) == nodes(&fresh.parsed.tree)
        } else {
            assert_same_nodes(&doc.parsed.tree, &fresh.parsed.tree, &doc.text, what);
            true
        };
        if same_tree {
            assert_eq!(
                analysis(doc),
                analysis(&fresh),
                "{what}: the analysis differs from a fresh one of the same tree\n{}",
                doc.text
            );
        }
        let again = Doc::from_tree(&doc.text, doc.parsed.tree.clone());
        assert_eq!(
            analysis(doc),
            analysis(&again),
            "{what}: the analysis differs from a fresh analysis of the same tree\n{}",
            doc.text
        );
        same_tree
    }

    fn assert_same_nodes(
        got: &tree_sitter::Tree,
        want: &tree_sitter::Tree,
        text: &str,
        what: &str,
    ) {
        let (got, want) = (nodes(got), nodes(want));
        if let Some(at) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
            panic!(
                "{what}: the tree differs at node {at}: {:?} instead of {:?}\n{text}",
                got.get(at),
                want.get(at),
            );
        }
    }

    /// A fixed-seed xorshift64* generator: the same edits on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// A number in `0..n` (`n > 0`).
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// A char boundary of `text` (up to its end).
        fn boundary(&mut self, text: &str) -> usize {
            let mut at = self.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            at
        }
    }

    /// The tree-sitter point of byte `offset` of `text` (computed here from
    /// the plain text, apart from the document's rope and `point_after`).
    fn point_of(text: &str, offset: usize) -> Point {
        let before = &text[..offset];
        let start = before.rfind('\n').map_or(0, |at| at + 1);
        Point::new(before.matches('\n').count(), offset - start)
    }

    /// Characters the random edits insert: ASCII ones, and multi-byte ones
    /// (2, 3 and 4 bytes; 1 or 2 UTF-16 units).
    const CHARS: &str = "ax_07.,;:(){}[]=+-*/<>|!\" \n\téüß€中🎨𝄞";

    /// Longer pieces they insert (separated by `~`): keywords, tokens,
    /// comments, expressions.
    const PIECES: &str = "let ~var ~fn ~filter ~param ~pipeline ~return ~if ~else ~for i in 0..3 \
        ~// ~/// é ~//! ~{\n~}\n~->~|>~1.5~rgb(1.0, 0.5, 0.0)~\"🎨 ü\"~  ";

    /// One random change of `text`: a byte range (on char boundaries) and
    /// what replaces it.
    fn random_change(rng: &mut Rng, text: &str) -> (usize, usize, String) {
        let start = rng.boundary(text);
        let mut end = start;
        if rng.below(3) > 0 {
            end = (start + [1, 1, 2, 3, 5, 12, 40, 200][rng.below(8)]).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
        }
        let new = match rng.below(4) {
            0 if end > start => String::new(),
            1 => {
                // A piece of the text itself, copied.
                let from = rng.boundary(text);
                let mut to = (from + 1 + rng.below(60)).min(text.len());
                while !text.is_char_boundary(to) {
                    to += 1;
                }
                text[from..to].to_string()
            }
            2 => {
                let pieces: Vec<&str> = PIECES.split('~').collect();
                pieces[rng.below(pieces.len())].to_string()
            }
            _ => {
                let chars: Vec<char> = CHARS.chars().collect();
                chars[rng.below(chars.len())].to_string()
            }
        };
        (start, end, new)
    }

    /// Random edit sequences over the filter library's files, sent the way
    /// an editor sends them (one to three changes a notification; inserts,
    /// deletes and replacements; multi-byte characters), then undone one
    /// notification at a time back to the file. After each notification:
    /// - the rope holds the edited text;
    /// - the document's tree is the one tree-sitter makes from the last tree
    ///   with edits computed here from byte offsets of the plain text (so
    ///   the document's points and `InputEdit`s are right, on texts with
    ///   errors too);
    /// - [`assert_same_as_afresh`]: a text without syntax errors, or one
    ///   whose incremental tree is the one a new parser makes, gives what a
    ///   fresh analysis gives; any text gives what analysing its tree afresh
    ///   gives.
    ///
    /// At the end of each sequence the text is the file again, without errors,
    /// after trees that went through broken states.
    #[test]
    fn random_edits_give_what_parsing_the_text_afresh_gives() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
        let mut files = Vec::new();
        for dir in [root.clone(), root.join("pipelines")] {
            for entry in std::fs::read_dir(&dir).expect("filters/ in the repository") {
                let path = entry.expect("a directory entry").path();
                if path.extension().is_some_and(|ext| ext == "chop") {
                    files.push(path);
                }
            }
        }
        files.sort();
        assert!(files.len() >= 15, "{files:?}");
        let texts: Vec<String> = files
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("a filter file"))
            .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut reference_parser = chunkvm::syntax::lower::new_parser();
        let (mut changes_sent, mut error_free, mut broken_same) = (0, 0, 0);
        for sequence in 0..300 {
            let file = sequence % files.len();
            let mut text = texts[file].clone();
            let mut document = Document::new(&text);
            let mut reference = document.analyse().parsed.tree.clone();
            assert!(
                !reference.root_node().has_error(),
                "{}",
                files[file].display()
            );
            // Each notification's changes as byte ranges of the text they
            // apply to: (start, end, new text, old text).
            let mut sent: Vec<Vec<(usize, usize, String, String)>> = Vec::new();
            let mut log = Vec::new();
            let steps = 6;
            for step in 0..2 * steps {
                let batch: Vec<(usize, usize, String)> = if step < steps {
                    let count = 1 + rng.below(3);
                    let mut batch = Vec::new();
                    let mut scratch = text.clone();
                    for _ in 0..count {
                        let (start, end, new) = random_change(&mut rng, &scratch);
                        scratch.replace_range(start..end, &new);
                        batch.push((start, end, new));
                    }
                    batch
                } else {
                    // Undo the last notification not undone yet, its changes
                    // in reverse order.
                    let done = sent.pop().expect("a notification to undo");
                    done.into_iter()
                        .rev()
                        .map(|(start, _, new, old)| (start, start + new.len(), old))
                        .collect()
                };
                let mut undo = Vec::new();
                for (start, end, new) in batch {
                    document.edit(Span::new(start, end), &new);
                    log.push(format!("{start}..{end} -> {new:?}"));
                    reference.edit(&InputEdit {
                        start_byte: start,
                        old_end_byte: end,
                        new_end_byte: start + new.len(),
                        start_position: point_of(&text, start),
                        old_end_position: point_of(&text, end),
                        new_end_position: {
                            let mut after = text[..start].to_string();
                            after.push_str(&new);
                            point_of(&after, after.len())
                        },
                    });
                    undo.push((start, end, new.clone(), text[start..end].to_string()));
                    text.replace_range(start..end, &new);
                    changes_sent += 1;
                }
                if step < steps {
                    sent.push(undo);
                }
                let doc = document.analyse();
                let what = format!(
                    "{}, sequence {sequence}, step {step}, after the changes\n{}",
                    files[file].display(),
                    log.join("\n")
                );
                assert_eq!(&*doc.text, text, "{what}");
                reference = reference_parser
                    .parse(&text, Some(&reference))
                    .expect("a parse");
                assert_same_nodes(&doc.parsed.tree, &reference, &text, &what);
                let same_tree = assert_same_as_afresh(&doc, &what);
                if !doc.parsed.tree.root_node().has_error() {
                    error_free += 1;
                } else if same_tree {
                    broken_same += 1;
                }
            }
            assert_eq!(text, texts[file], "sequence {sequence}: all undone");
        }
        assert!(changes_sent > 5000, "{changes_sent}");
        assert!(error_free >= 300, "{error_free}");
        // Broken texts whose incremental tree is the fresh one: their
        // diagnostics were held to a fresh analysis's.
        assert!(broken_same >= 300, "{broken_same}");
    }

    #[test]
    fn typing_through_a_file_gives_what_analysing_it_afresh_gives() {
        let text = "//! File.\n\n/// A.\nfn a() -> int { 1 }\n\nfn b(x: int) -> int {\n    x + a()\n}\n\n/// C.\nfilter c(px: color) -> color { px }\n";
        let mut document = Document::new(text);
        let mut last = document.analyse();
        let mut shared = 0;
        // Typed one character at a time at the end of `b`'s body, then a new
        // item at the top, a doc comment edited, a brace deleted and put back.
        let mut steps: Vec<(usize, usize, usize, usize, String)> =
            ";\n    let y = b(x) * 2;\n    y"
                .chars()
                .scan((6usize, 11usize), |at, ch| {
                    let (line, col) = *at;
                    *at = if ch == '\n' {
                        (line + 1, 0)
                    } else {
                        (line, col + 1)
                    };
                    Some((line, col, line, col, ch.to_string()))
                })
                .collect();
        steps.push((0, 0, 0, 0, "param p: int = 1 in 0..2;\n".into()));
        steps.push((3, 4, 3, 5, "The a".into()));
        steps.push((4, 18, 4, 19, String::new()));
        steps.push((4, 18, 4, 18, "}".into()));
        for (step, (l0, c0, l1, c1, new)) in steps.iter().enumerate() {
            // Lines and byte columns (the text typed is ASCII).
            let at =
                |line: usize, col: usize| document.line(line).map_or(0, |(start, _)| start + col);
            let span = Span::new(at(*l0, *c0), at(*l1, *c1));
            document.edit(span, new);
            let doc = document.analyse();
            assert_same_as_afresh(&doc, &format!("step {step}"));
            shared += doc
                .file()
                .items
                .iter()
                .filter(|item| last.file().items.iter().any(|old| Arc::ptr_eq(old, item)))
                .count();
            last = doc;
        }
        // Typing in `b` leaves `a` as it was: shared, not lowered again.
        assert!(shared >= 25, "{shared}");
        let doc = document.analyse();
        assert!(doc.text.contains("let y = b(x) * 2;"), "{}", doc.text);
        assert!(doc.text.contains("/// The a."), "{}", doc.text);
        assert!(
            !doc.diagnostics().iter().any(|d| d.is_error()),
            "{:?}",
            doc.diagnostics()
        );
    }
}
