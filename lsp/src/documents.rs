//! Open documents: one actor per document applies its edits strictly in
//! order, re-parses incrementally and publishes debounced diagnostics;
//! requests read the latest analysed snapshot.
//!
//! tower-lsp-server reads notifications in order but runs their handlers
//! concurrently. So `didChange` does no work in its handler: it numbers the
//! change and puts it on the document's channel *synchronously*, before any
//! `await` (handlers start in arrival order), and the document's actor task
//! takes changes off the channel in that order. The actor applies every
//! change waiting (to a [`Rope`], and as `Tree::edit`s to the last syntax
//! tree), re-parses and re-checks once for the lot (on the blocking pool),
//! and publishes the new [`Snapshot`] on a watch channel. A request notes
//! the number of the last change queued when it starts and waits for a
//! snapshot at least that new: it never answers from stale text.
//!
//! Diagnostics go out at once after opening, then `debounceMs` after the
//! last change (a burst of keystrokes publishes once), with the version they
//! belong to. Closing a document clears its diagnostics.

use crate::convert::{Encoding, Lines};
use chop_ide::Doc;
use ropey::Rope;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tower_lsp_server::ls_types::{Position, TextDocumentContentChangeEvent, Uri};
use tower_lsp_server::Client;
use tree_sitter::{InputEdit, Point};

/// One analysed version of a document.
#[derive(Debug)]
pub struct Snapshot {
    /// The number of the last change applied (0: none yet; the opening text is 1).
    pub seq: u64,
    /// The client's version of the text.
    pub version: i32,
    /// The analysed text.
    pub doc: Arc<Doc>,
}

/// The text of a document, its syntax tree and the parser that re-parses it.
pub struct Analyzer {
    rope: Rope,
    parser: tree_sitter::Parser,
    tree: Option<tree_sitter::Tree>,
    /// The last analysis: its unchanged items are reused by the next one.
    last: Option<Arc<Doc>>,
}

impl Analyzer {
    /// A document holding `text` (not parsed yet).
    pub fn new(text: &str) -> Analyzer {
        Analyzer {
            rope: Rope::from_str(text),
            parser: chunkvm::syntax::lower::new_parser(),
            tree: None,
            last: None,
        }
    }

    /// The text.
    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    /// The byte offset and tree-sitter point of `pos` in the rope, clamped
    /// to the text (as the specification says for columns; a line past the
    /// end means the end of the text).
    fn locate(&self, pos: Position, enc: Encoding) -> (usize, Point) {
        let line = pos.line as usize;
        if line >= self.rope.len_lines() {
            let end = self.rope.len_bytes();
            let last = self.rope.len_lines().saturating_sub(1);
            let column = end - self.rope.line_to_byte(last);
            return (end, Point::new(last, column));
        }
        let start = self.rope.line_to_byte(line);
        let slice = self.rope.line(line);
        let column = match slice.as_str() {
            Some(text) => enc.byte_of_column(text, pos.character),
            None => enc.byte_of_column(&slice.to_string(), pos.character),
        };
        (start + column, Point::new(line, column))
    }

    /// Applies one change (LSP content changes of one notification apply in order).
    pub fn apply(&mut self, change: &TextDocumentContentChangeEvent, enc: Encoding) {
        let Some(range) = change.range else {
            self.rope = Rope::from_str(&change.text);
            self.tree = None;
            return;
        };
        let (start, start_point) = self.locate(range.start, enc);
        let (mut end, mut end_point) = self.locate(range.end, enc);
        if end < start {
            (end, end_point) = (start, start_point);
        }
        let start_char = self.rope.byte_to_char(start);
        let end_char = self.rope.byte_to_char(end);
        self.rope.remove(start_char..end_char);
        self.rope.insert(start_char, &change.text);
        let new_end_point = chunkvm::syntax::lower::point_after(start_point, &change.text);
        if let Some(tree) = &mut self.tree {
            tree.edit(&InputEdit {
                start_byte: start,
                old_end_byte: end,
                new_end_byte: start + change.text.len(),
                start_position: start_point,
                old_end_position: end_point,
                new_end_position: new_end_point,
            });
        }
    }

    /// Parses (reusing the edited tree and the last analysis) and checks the text.
    pub fn analyse(&mut self) -> Arc<Doc> {
        let text = self.rope.to_string();
        let doc = Doc::reparse(
            &mut self.parser,
            &text,
            self.tree.as_ref(),
            self.last.as_deref(),
        );
        self.tree = Some(doc.parsed.tree.clone());
        let doc = Arc::new(doc);
        self.last = Some(doc.clone());
        doc
    }

    /// [`Analyzer::analyse`], surviving a panic of the analysis: then the text
    /// is parsed afresh, and if that panics too, `None`.
    pub fn analyse_safely(&mut self) -> Option<Arc<Doc>> {
        let this = AssertUnwindSafe(&mut *self);
        match std::panic::catch_unwind(move || {
            let this = this;
            crate::guard::injected("analysis");
            this.0.analyse()
        }) {
            Ok(doc) => Some(doc),
            Err(_) => {
                self.tree = None;
                self.last = None;
                self.parser = chunkvm::syntax::lower::new_parser();
                let text = self.rope.to_string();
                let doc = std::panic::catch_unwind(|| Arc::new(Doc::new(&text))).ok();
                self.last = doc.clone();
                doc
            }
        }
    }
}

/// What a document's actor is told.
#[derive(Debug)]
enum Msg {
    /// Changes of one `didChange`, numbered.
    Change {
        seq: u64,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    },
    /// The document was closed (`clear`: its diagnostics are cleared), or
    /// replaced by a new opening (its diagnostics stay for the new actor).
    Close { clear: bool },
}

/// Settings the actors read when they work.
#[derive(Debug)]
pub struct Shared {
    encoding: AtomicU8,
    debounce_ms: AtomicU64,
    related_information: AtomicBool,
    /// Analyses run (for tests and the benchmark).
    pub analyses: AtomicU64,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            encoding: AtomicU8::new(0),
            debounce_ms: AtomicU64::new(crate::config::DEFAULT_DEBOUNCE_MS),
            related_information: AtomicBool::new(false),
            analyses: AtomicU64::new(0),
        }
    }
}

impl Shared {
    /// The negotiated position encoding.
    pub fn encoding(&self) -> Encoding {
        match self.encoding.load(Ordering::Relaxed) {
            1 => Encoding::Utf8,
            _ => Encoding::Utf16,
        }
    }

    /// Sets the position encoding.
    pub fn set_encoding(&self, enc: Encoding) {
        let value = match enc {
            Encoding::Utf8 => 1,
            Encoding::Utf16 => 0,
        };
        self.encoding.store(value, Ordering::Relaxed);
    }

    /// The debounce of diagnostics.
    pub fn debounce(&self) -> Duration {
        Duration::from_millis(self.debounce_ms.load(Ordering::Relaxed))
    }

    /// Sets the debounce of diagnostics.
    pub fn set_debounce_ms(&self, ms: u64) {
        self.debounce_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether the client shows `relatedInformation`.
    pub fn related_information(&self) -> bool {
        self.related_information.load(Ordering::Relaxed)
    }

    /// Sets whether the client shows `relatedInformation`.
    pub fn set_related_information(&self, on: bool) {
        self.related_information.store(on, Ordering::Relaxed);
    }
}

/// The last semantic tokens sent for a document (for deltas).
#[derive(Debug, Default, Clone)]
pub struct SentTokens {
    /// Their result id.
    pub result_id: String,
    /// The encoded tokens.
    pub data: Vec<u32>,
}

/// An open document, as the server holds it.
#[derive(Debug)]
pub struct DocHandle {
    /// The number of the last change queued (under the lock: numbering and
    /// queueing happen together).
    queued: Mutex<u64>,
    tx: mpsc::UnboundedSender<Msg>,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    /// The semantic tokens last sent.
    pub tokens: Mutex<Option<SentTokens>>,
}

impl DocHandle {
    /// Opens a document: starts its actor, which analyses `text` and
    /// publishes its diagnostics at once. Call from within a tokio runtime.
    pub fn open(
        uri: Uri,
        version: i32,
        text: &str,
        client: Option<Client>,
        shared: Arc<Shared>,
    ) -> Arc<DocHandle> {
        let (tx, rx) = mpsc::unbounded_channel();
        let first = Arc::new(Snapshot {
            seq: 0,
            version,
            doc: Arc::new(Doc::new("")),
        });
        let (snapshot_tx, snapshot_rx) = watch::channel(first);
        let actor = Actor {
            uri,
            version,
            seq: 1,
            analyzer: Some(Analyzer::new(text)),
            snapshot: snapshot_tx,
            client,
            shared,
        };
        tokio::spawn(actor.run(rx));
        Arc::new(DocHandle {
            queued: Mutex::new(1),
            tx,
            snapshot: snapshot_rx,
            tokens: Mutex::new(None),
        })
    }

    /// Queues the changes of one `didChange`. Synchronous: call it before the
    /// handler's first `await`.
    pub fn change(&self, version: i32, changes: Vec<TextDocumentContentChangeEvent>) {
        let mut queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        *queued += 1;
        let _ = self.tx.send(Msg::Change {
            seq: *queued,
            version,
            changes,
        });
    }

    /// Tells the actor the document is closed: it stops, and clears the
    /// document's diagnostics when `clear` (not when the document was opened
    /// again, or the server is shutting down).
    pub fn close(&self, clear: bool) {
        let _ = self.tx.send(Msg::Close { clear });
    }

    /// The snapshot that holds every change queued so far (waits for the
    /// actor; if the actor is gone, the last snapshot it made).
    pub async fn latest(&self) -> Arc<Snapshot> {
        let target = *self.queued.lock().unwrap_or_else(|e| e.into_inner());
        let mut rx = self.snapshot.clone();
        let result = rx
            .wait_for(|snap| snap.seq >= target)
            .await
            .map(|s| s.clone());
        match result {
            Ok(snap) => snap,
            Err(_) => self.snapshot.borrow().clone(),
        }
    }

    /// The last snapshot made, without waiting.
    pub fn current(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }
}

/// The task that owns a document's text and tree.
struct Actor {
    uri: Uri,
    version: i32,
    seq: u64,
    analyzer: Option<Analyzer>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    client: Option<Client>,
    shared: Arc<Shared>,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        // The opening text: analysed and published at once.
        if !self.analyse(Vec::new()).await {
            return;
        }
        self.publish().await;
        let mut dirty = false;
        loop {
            let msg = if dirty {
                match tokio::time::timeout(self.shared.debounce(), rx.recv()).await {
                    Ok(msg) => msg,
                    Err(_) => {
                        self.publish().await;
                        dirty = false;
                        continue;
                    }
                }
            } else {
                rx.recv().await
            };
            let Some(first) = msg else {
                break;
            };
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let closed = batch.iter().find_map(|msg| match msg {
                Msg::Close { clear } => Some(*clear),
                Msg::Change { .. } => None,
            });
            if let Some(clear) = closed {
                if let (true, Some(client)) = (clear, &self.client) {
                    client
                        .publish_diagnostics(self.uri.clone(), Vec::new(), None)
                        .await;
                }
                break;
            }
            if !self.analyse(batch).await {
                break;
            }
            dirty = true;
            if self.shared.debounce().is_zero() {
                self.publish().await;
                dirty = false;
            }
        }
    }

    /// Applies the changes, analyses on the blocking pool and publishes the
    /// snapshot; `false` when the analyzer is lost (a panic it could not survive).
    async fn analyse(&mut self, batch: Vec<Msg>) -> bool {
        let Some(mut analyzer) = self.analyzer.take() else {
            return false;
        };
        let enc = self.shared.encoding();
        let mut last = (self.seq, self.version);
        for msg in &batch {
            if let Msg::Change { seq, version, .. } = msg {
                last = (*seq, *version);
            }
        }
        let work = tokio::task::spawn_blocking(move || {
            let applied = std::panic::catch_unwind(AssertUnwindSafe(|| {
                for msg in &batch {
                    if let Msg::Change { changes, .. } = msg {
                        for change in changes {
                            analyzer.apply(change, enc);
                        }
                    }
                }
            }));
            if applied.is_err() {
                // The rope may be half-edited: nothing better than to go on from it.
                analyzer.tree = None;
            }
            let doc = analyzer.analyse_safely();
            (analyzer, doc)
        });
        let (analyzer, doc) = match work.await {
            Ok(done) => done,
            Err(_) => return false,
        };
        self.analyzer = Some(analyzer);
        self.shared.analyses.fetch_add(1, Ordering::Relaxed);
        (self.seq, self.version) = last;
        let doc = match doc {
            Some(doc) => doc,
            // Analysis keeps failing: the text is still current, without analysis.
            None => self.snapshot.borrow().doc.clone(),
        };
        let old = self.snapshot.send_replace(Arc::new(Snapshot {
            seq: self.seq,
            version: self.version,
            doc,
        }));
        // Freeing the last version of a big file takes a millisecond or so:
        // not on the way to publishing this one.
        tokio::task::spawn_blocking(move || drop(old));
        true
    }

    async fn publish(&self) {
        let Some(client) = &self.client else {
            return;
        };
        let snap = self.snapshot.borrow().clone();
        let enc = self.shared.encoding();
        let related = self.shared.related_information();
        let uri = self.uri.clone();
        let diags = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let lines = Lines::of(&snap.doc, enc);
            crate::diagnostics::of_doc(&snap.doc, &lines, &uri, related)
        }))
        .unwrap_or_default();
        client
            .publish_diagnostics(self.uri.clone(), diags, Some(snap.version))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::Range;

    fn change(l0: u32, c0: u32, l1: u32, c1: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(l0, c0), Position::new(l1, c1))),
            range_length: None,
            text: text.to_string(),
        }
    }

    #[test]
    fn edits_apply_to_the_rope_and_the_tree() {
        let text = "// 🎨 é\nfn main() {\n    let x = 1;\n}\n";
        for enc in [Encoding::Utf8, Encoding::Utf16] {
            let mut analyzer = Analyzer::new(text);
            let doc = analyzer.analyse();
            assert!(doc.diagnostics().iter().all(|d| !d.is_error()));
            // After the emoji and a space on line 0: "// 🎨 " is 3 + 4 + 1 bytes, 3 + 2 + 1 units.
            let (col, width) = if enc == Encoding::Utf8 {
                (8, 2)
            } else {
                (6, 1)
            };
            analyzer.apply(&change(0, col, 0, col + width, "ü"), enc);
            analyzer.apply(&change(2, 12, 2, 13, "2.5;\n    let y = x"), enc);
            analyzer.apply(&change(99, 0, 99, 0, "fn g() {}\n"), enc);
            let doc = analyzer.analyse();
            let want = "// 🎨 ü\nfn main() {\n    let x = 2.5;\n    let y = x;\n}\nfn g() {}\n";
            assert_eq!(&*doc.text, want, "{enc:?}");
            // The incrementally parsed tree is the same as a fresh parse.
            assert_eq!(
                doc.parsed.tree.root_node().to_sexp(),
                Doc::new(want).parsed.tree.root_node().to_sexp()
            );
        }
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

    /// The LSP position of byte `offset` of `text` in `enc`.
    fn position_of(text: &str, offset: usize, enc: Encoding) -> Position {
        let before = &text[..offset];
        let line = before.matches('\n').count();
        let start = before.rfind('\n').map_or(0, |at| at + 1);
        Position::new(line as u32, enc.len(&text[start..offset]) as u32)
    }

    /// The tree-sitter point of byte `offset` of `text` (computed here from
    /// the plain text, apart from the analyzer's rope and `point_after`).
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
    /// deletes and replacements; multi-byte characters; both encodings),
    /// then undone one notification at a time back to the file. After each
    /// notification:
    /// - the rope holds the edited text;
    /// - the analyzer's tree is the one tree-sitter makes from the last tree
    ///   with edits computed here from byte offsets of the plain text (so
    ///   the analyzer's positions, encodings and `InputEdit`s are right, on
    ///   texts with errors too);
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
            let enc = if rng.below(2) == 0 {
                Encoding::Utf8
            } else {
                Encoding::Utf16
            };
            let mut text = texts[file].clone();
            let mut analyzer = Analyzer::new(&text);
            let mut reference = analyzer.analyse().parsed.tree.clone();
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
                    let (from, to) = (position_of(&text, start, enc), position_of(&text, end, enc));
                    analyzer.apply(
                        &change(from.line, from.character, to.line, to.character, &new),
                        enc,
                    );
                    log.push(format!("{from:?}..{to:?} -> {new:?}"));
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
                let doc = analyzer.analyse();
                let what = format!(
                    "{} ({enc:?}), sequence {sequence}, step {step}, after the changes\n{}",
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
        let mut analyzer = Analyzer::new(text);
        let mut last = analyzer.analyse();
        let mut shared = 0;
        // Typed one character at a time at the end of `b`'s body, then a new
        // item at the top, a doc comment edited, a brace deleted and put back.
        let mut steps: Vec<TextDocumentContentChangeEvent> = ";\n    let y = b(x) * 2;\n    y"
            .chars()
            .scan((6u32, 11u32), |at, ch| {
                let (line, col) = *at;
                *at = if ch == '\n' {
                    (line + 1, 0)
                } else {
                    (line, col + 1)
                };
                Some(change(line, col, line, col, &ch.to_string()))
            })
            .collect();
        steps.push(change(0, 0, 0, 0, "param p: int = 1 in 0..2;\n"));
        steps.push(change(3, 4, 3, 5, "The a"));
        steps.push(change(4, 18, 4, 19, ""));
        steps.push(change(4, 18, 4, 18, "}"));
        for (step, edit) in steps.iter().enumerate() {
            analyzer.apply(edit, Encoding::Utf8);
            let doc = analyzer.analyse();
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
        let doc = analyzer.analyse();
        assert!(doc.text.contains("let y = b(x) * 2;"), "{}", doc.text);
        assert!(doc.text.contains("/// The a."), "{}", doc.text);
        assert!(
            !doc.diagnostics().iter().any(|d| d.is_error()),
            "{:?}",
            doc.diagnostics()
        );
    }

    #[test]
    fn whole_text_changes_and_reversed_ranges() {
        let mut analyzer = Analyzer::new("fn a() {}\n");
        analyzer.analyse();
        analyzer.apply(
            &TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "fn b() {}\n".into(),
            },
            Encoding::Utf16,
        );
        analyzer.apply(&change(0, 5, 0, 3, "x"), Encoding::Utf16);
        assert_eq!(analyzer.text(), "fn b(x) {}\n");
        assert_eq!(&*analyzer.analyse().text, "fn b(x) {}\n");
    }
}
