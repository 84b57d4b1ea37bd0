//! Open documents: one actor per document applies its edits strictly in
//! order, re-parses incrementally and publishes debounced diagnostics;
//! requests read the latest analysed snapshot.
//!
//! tower-lsp-server reads notifications in order but runs their handlers
//! concurrently. So `didChange` does no work in its handler: it numbers the
//! change and puts it on the document's channel *synchronously*, before any
//! `await` (handlers start in arrival order), and the document's actor task
//! takes changes off the channel in that order. The actor applies every
//! change waiting (its range converted to bytes, handed to the document's
//! [`Document`], which edits its text and its last syntax tree), then the
//! document re-parses and re-checks once for the lot (on the blocking pool),
//! and publishes the new [`Snapshot`] on a watch channel. A request notes
//! the number of the last change queued when it starts and waits for a
//! snapshot at least that new: it never answers from stale text.
//!
//! Diagnostics go out at once after opening, then `debounceMs` after the
//! last change (a burst of keystrokes publishes once), with the version they
//! belong to. Closing a document clears its diagnostics.
//!
//! A document whose file has `use` items is analysed with the files it uses,
//! read through [`OpenFiles`]: the open documents' current text first, then
//! the disk. Every actor puts its text there after each analysis and, when the
//! text changed, says so on [`Shared::changed`]; an actor whose program holds
//! a changed file analyses again (as it does when the client reports a file
//! changed on disk); the others keep their analysis. When an open file's new
//! text differs from its last only inside function bodies, what its users show
//! cannot change: their actors mark their analysis stale instead, and analyse
//! again when a request asks for their latest snapshot, or after a quiet
//! while. The diagnostics of a used file that is not open are published under
//! that file's URI.

use crate::convert::{self, Encoding, Lines};
use chop_ide::{Doc, Document};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};
use tower_lsp_server::Client;

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

/// Applies one change to `document` (LSP content changes of one
/// notification apply in order): its range converted to bytes of the text
/// as it is, or the whole text replaced.
pub fn apply(document: &mut Document, change: &TextDocumentContentChangeEvent, enc: Encoding) {
    match change.range {
        Some(range) => document.edit(convert::document_span(document, range, enc), &change.text),
        None => document.replace(&change.text),
    }
}

/// [`Document::analyse`], surviving a panic of the analysis: then the text
/// is analysed afresh, and if that panics too, `None`.
pub fn analyse_safely(document: &mut Document) -> Option<Arc<Doc>> {
    let this = AssertUnwindSafe(&mut *document);
    match std::panic::catch_unwind(move || {
        let this = this;
        crate::guard::injected("analysis");
        this.0.analyse()
    }) {
        Ok(doc) => Some(doc),
        Err(_) => document.analyse_afresh(),
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
    /// A request needs the analysis of the files as they are now: a used file
    /// changed inside its bodies since (numbered like a change).
    Refresh { seq: u64 },
}

/// A file that changed, as the actors hear of it.
#[derive(Clone, Debug)]
struct Changed {
    /// Its path, normalized (`None`: any file may have changed, or where `use`
    /// finds files: every document is analysed again).
    path: Option<PathBuf>,
    /// It is an open document's new text that differs from its last one only inside
    /// function bodies ([`Doc::same_outside_bodies`]): the files that use it check as
    /// they did, so they analyse again only when a request needs it, or when quiet.
    bodies_only: bool,
}

/// How long a document whose program is behind a change inside a used file's bodies
/// waits, quiet, before it analyses again anyway.
const REFRESH_WHEN_QUIET: Duration = Duration::from_millis(400);

/// Settings the actors read when they work.
#[derive(Debug)]
pub struct Shared {
    encoding: AtomicU8,
    debounce_ms: AtomicU64,
    related_information: AtomicBool,
    /// Analyses run (for tests and the benchmark).
    pub analyses: AtomicU64,
    /// The open documents' texts, by path.
    buffers: RwLock<HashMap<PathBuf, Arc<str>>>,
    /// The library's search path of `use`.
    lib: RwLock<Vec<PathBuf>>,
    /// Files whose text changed (an open document's, or one on disk).
    changed: broadcast::Sender<Changed>,
    /// The parses of used files, kept while their text is the same: a keystroke in a
    /// program of 50 files parses one.
    pub parses: Arc<chunkvm::modules::ParseCache>,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            encoding: AtomicU8::new(0),
            debounce_ms: AtomicU64::new(crate::config::DEFAULT_DEBOUNCE_MS),
            related_information: AtomicBool::new(false),
            analyses: AtomicU64::new(0),
            buffers: RwLock::new(HashMap::new()),
            lib: RwLock::new(chunkvm::modules::search_path(Vec::new())),
            changed: broadcast::channel(256).0,
            parses: Arc::default(),
        }
    }
}

/// Reads the files a program uses: an open document's current text, else the disk.
#[derive(Clone, Debug)]
pub struct OpenFiles(pub Arc<Shared>);

impl chunkvm::modules::Resolver for OpenFiles {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if let Some(text) = self.0.buffer(path) {
            return Ok(text.to_string());
        }
        std::fs::read_to_string(path)
    }

    fn read_shared(&self, path: &Path) -> std::io::Result<Arc<str>> {
        match self.0.buffer(path) {
            Some(text) => Ok(text),
            None => std::fs::read_to_string(path).map(Arc::from),
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

    /// The library's search path.
    pub fn lib(&self) -> Vec<PathBuf> {
        self.lib.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets the library's search path (the setting's folders, then the installation's).
    pub fn set_lib(&self, dirs: Vec<PathBuf>) {
        *self.lib.write().unwrap_or_else(|e| e.into_inner()) = chunkvm::modules::search_path(dirs);
    }

    /// The current text of the open document at `path`.
    pub fn buffer(&self, path: &Path) -> Option<Arc<str>> {
        let path = chunkvm::modules::normalize(path);
        self.buffers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&path)
            .cloned()
    }

    /// Records the text of the open document at `path` (`None`: closed); when it
    /// changed, tells the actors (`bodies_only`: only inside function bodies).
    fn set_buffer(&self, path: &Path, text: Option<Arc<str>>, bodies_only: bool) {
        let path = chunkvm::modules::normalize(path);
        let changed = {
            let mut buffers = self.buffers.write().unwrap_or_else(|e| e.into_inner());
            let old = match &text {
                Some(text) => buffers.insert(path.clone(), text.clone()),
                None => buffers.remove(&path),
            };
            old.as_deref() != text.as_deref()
        };
        if changed {
            let _ = self.changed.send(Changed {
                path: Some(path),
                bodies_only: bodies_only && text.is_some(),
            });
        }
    }

    /// Tells the actors that the file at `path` changed on disk.
    pub fn file_changed(&self, path: &Path) {
        let _ = self.changed.send(Changed {
            path: Some(chunkvm::modules::normalize(path)),
            bodies_only: false,
        });
    }

    /// Tells every actor to analyse again (the search path of `use` changed).
    pub fn everything_changed(&self) {
        let _ = self.changed.send(Changed {
            path: None,
            bodies_only: false,
        });
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
    /// The last snapshot's program is behind a change inside a used file's bodies
    /// (set by the actor; the first request to see it asks for a [`Msg::Refresh`]).
    stale: Arc<AtomicBool>,
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
        let path = convert::path_of(&uri).map(|path| chunkvm::modules::normalize(&path));
        let changes = shared.changed.subscribe();
        let stale = Arc::new(AtomicBool::new(false));
        let actor = Actor {
            uri,
            path,
            version,
            seq: 1,
            document: Some(Document::new(text)),
            snapshot: snapshot_tx,
            client,
            shared,
            changes: Some(changes),
            stale: stale.clone(),
            published: Mutex::new(Vec::new()),
            sent: Mutex::new(None),
        };
        tokio::spawn(actor.run(rx));
        Arc::new(DocHandle {
            queued: Mutex::new(1),
            tx,
            snapshot: snapshot_rx,
            stale,
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

    /// The snapshot that holds every change queued so far, analysed with the used
    /// files as they are (waits for the actor; if the actor is gone, the last
    /// snapshot it made).
    pub async fn latest(&self) -> Arc<Snapshot> {
        self.wait(true).await
    }

    /// The snapshot that holds every change queued so far, its program perhaps behind
    /// an edit inside a used file's bodies: what it shows of the used files (names,
    /// kinds, signatures, params, docs) is as they are, not where their items are
    /// nor their code.
    pub async fn analysed(&self) -> Arc<Snapshot> {
        self.wait(false).await
    }

    async fn wait(&self, refresh: bool) -> Arc<Snapshot> {
        let target = {
            let mut queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
            if refresh && self.stale.swap(false, Ordering::AcqRel) {
                *queued += 1;
                let _ = self.tx.send(Msg::Refresh { seq: *queued });
            }
            *queued
        };
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
    /// The file's path (`None`: not a `file:` URI; then `use` is not followed).
    path: Option<PathBuf>,
    version: i32,
    seq: u64,
    document: Option<Document>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    client: Option<Client>,
    shared: Arc<Shared>,
    /// Files that changed (`None` once the channel closed).
    changes: Option<broadcast::Receiver<Changed>>,
    /// The program is behind a change inside a used file's bodies (shared with
    /// the handle, which clears it when it asks for a refresh).
    stale: Arc<AtomicBool>,
    /// The used files whose diagnostics this document published last.
    published: Mutex<Vec<Uri>>,
    /// The version and diagnostics this document published last.
    sent: Mutex<Option<(i32, Vec<tower_lsp_server::ls_types::Diagnostic>)>>,
}

/// What an actor waits for.
enum Event {
    /// A message from the server (`None`: the server dropped the document).
    Msg(Option<Msg>),
    /// A file changed.
    Changed(Changed),
    /// The debounce elapsed.
    Quiet,
    /// The program is behind a used file and nothing happened for a while.
    Refresh,
}

impl Actor {
    /// The next thing to do: a message first, then a changed file, then the
    /// debounce when diagnostics wait.
    async fn next(&mut self, rx: &mut mpsc::UnboundedReceiver<Msg>, dirty: bool) -> Event {
        let debounce = self.shared.debounce();
        let stale = self.stale.load(Ordering::Acquire);
        let changes = async {
            match self.changes.as_mut() {
                Some(changes) => changes.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            msg = rx.recv() => Event::Msg(msg),
            changed = changes => match changed {
                Ok(changed) => Event::Changed(changed),
                Err(broadcast::error::RecvError::Lagged(_)) => Event::Changed(Changed {
                    path: None,
                    bodies_only: false,
                }),
                Err(broadcast::error::RecvError::Closed) => {
                    self.changes = None;
                    Event::Changed(Changed {
                        path: None,
                        bodies_only: false,
                    })
                }
            },
            () = tokio::time::sleep(debounce), if dirty => Event::Quiet,
            () = tokio::time::sleep(REFRESH_WHEN_QUIET), if stale => Event::Refresh,
        }
    }

    /// Whether the last analysis read the file at `path` (another file, used);
    /// for `None` (any file), whether the file uses others or tried to.
    fn uses(&self, path: Option<&Path>) -> bool {
        let snap = self.snapshot.borrow().clone();
        let Some(program) = &snap.doc.program else {
            return path.is_none() && !snap.doc.file().uses.is_empty();
        };
        let paths = program.paths();
        match path {
            // Both normalized (`modules::normalize`): their bytes compared, as every
            // actor asks this of every changed file.
            Some(path) => paths
                .iter()
                .skip(1)
                .any(|used| used.as_os_str() == path.as_os_str()),
            None => true,
        }
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        // The opening text: analysed and published at once.
        if !self.analyse(Vec::new()).await {
            return;
        }
        self.publish(false).await;
        let mut dirty = false;
        loop {
            let msg = match self.next(&mut rx, dirty).await {
                Event::Msg(msg) => msg,
                Event::Quiet => {
                    self.publish(false).await;
                    dirty = false;
                    continue;
                }
                Event::Changed(changed) => {
                    if self.uses(changed.path.as_deref()) {
                        if changed.bodies_only {
                            // Nothing this file shows changes: analysed when asked.
                            self.stale.store(true, Ordering::Release);
                            continue;
                        }
                        if !self.analyse(Vec::new()).await {
                            break;
                        }
                        dirty = self.publish_unless_debounced().await;
                    }
                    continue;
                }
                Event::Refresh => {
                    if !self.analyse(Vec::new()).await {
                        break;
                    }
                    // As it was, but for a mistake in that reasoning (when no
                    // publishing waits for the debounce anyway).
                    if !dirty {
                        self.publish(true).await;
                    }
                    continue;
                }
            };
            let Some(first) = msg else {
                self.forget();
                break;
            };
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let closed = batch.iter().find_map(|msg| match msg {
                Msg::Close { clear } => Some(*clear),
                Msg::Change { .. } | Msg::Refresh { .. } => None,
            });
            let edited = batch.iter().any(|msg| matches!(msg, Msg::Change { .. }));
            if let Some(clear) = closed {
                if clear {
                    self.forget();
                }
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
            if !edited {
                // Refreshed for a request: published if a mistake made it differ.
                if !dirty {
                    self.publish(true).await;
                }
                continue;
            }
            dirty = self.publish_unless_debounced().await;
        }
    }

    /// After an analysis: publishes at once when there is no debounce (not at the next
    /// tick of a timer, a millisecond or more away); whether diagnostics still wait.
    async fn publish_unless_debounced(&self) -> bool {
        if self.shared.debounce().is_zero() {
            self.publish(false).await;
            return false;
        }
        true
    }

    /// The document is closed: the programs that use its file read the disk again.
    fn forget(&self) {
        if let Some(path) = &self.path {
            self.shared.set_buffer(path, None, false);
        }
    }

    /// Applies the changes, analyses on the blocking pool and publishes the
    /// snapshot; `false` when the analyzer is lost (a panic it could not survive).
    async fn analyse(&mut self, batch: Vec<Msg>) -> bool {
        let Some(mut document) = self.document.take() else {
            return false;
        };
        document.set_program(self.path.as_ref().map(|path| chop_ide::ProgramContext {
            path: path.clone(),
            lib: self.shared.lib(),
            resolver: Arc::new(OpenFiles(self.shared.clone())),
            cache: Some(self.shared.parses.clone()),
        }));
        let enc = self.shared.encoding();
        let mut last = (self.seq, self.version);
        for msg in &batch {
            match msg {
                Msg::Change { seq, version, .. } => last = (*seq, *version),
                Msg::Refresh { seq } => last.0 = last.0.max(*seq),
                Msg::Close { .. } => {}
            }
        }
        // This analysis reads every used file as it is now.
        self.stale.store(false, Ordering::Release);
        let work = tokio::task::spawn_blocking(move || {
            let applied = std::panic::catch_unwind(AssertUnwindSafe(|| {
                for msg in &batch {
                    if let Msg::Change { changes, .. } = msg {
                        for change in changes {
                            apply(&mut document, change, enc);
                        }
                    }
                }
            }));
            if applied.is_err() {
                // The text may be half-edited: nothing better than to go on from it.
                document.forget_tree();
            }
            crate::guard::stalled(|| document.text());
            let doc = analyse_safely(&mut document);
            (document, doc)
        });
        let (document, doc) = match work.await {
            Ok(done) => done,
            Err(_) => return false,
        };
        self.document = Some(document);
        self.shared.analyses.fetch_add(1, Ordering::Relaxed);
        (self.seq, self.version) = last;
        let doc = match doc {
            Some(doc) => doc,
            // Analysis keeps failing: the text is still current, without analysis.
            None => self.snapshot.borrow().doc.clone(),
        };
        if let Some(path) = &self.path {
            let bodies_only = doc.same_outside_bodies(&self.snapshot.borrow().doc);
            self.shared
                .set_buffer(path, Some(doc.text.clone()), bodies_only);
        }
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

    /// Publishes the diagnostics of the last snapshot (`if_changed`: unless they
    /// are what was published last, for the same version).
    async fn publish(&self, if_changed: bool) {
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
        {
            let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
            let same = sent
                .as_ref()
                .is_some_and(|(version, last)| *version == snap.version && *last == diags);
            if if_changed && same {
                return;
            }
            *sent = Some((snap.version, diags.clone()));
        }
        client
            .publish_diagnostics(self.uri.clone(), diags, Some(snap.version))
            .await;
        // The used files that are not open: their diagnostics, under their URIs.
        let used = std::panic::catch_unwind(AssertUnwindSafe(|| {
            crate::diagnostics::of_used_files(&snap.doc, enc, related, |path| {
                self.shared.buffer(path).is_some()
            })
        }))
        .unwrap_or_default();
        let uris: Vec<Uri> = used.iter().map(|(uri, _)| uri.clone()).collect();
        let gone: Vec<Uri> = {
            let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
            let gone = published
                .iter()
                .filter(|uri| !uris.contains(uri))
                .cloned()
                .collect();
            *published = uris;
            gone
        };
        for uri in gone {
            client.publish_diagnostics(uri, Vec::new(), None).await;
        }
        for (uri, diags) in used {
            client.publish_diagnostics(uri, diags, None).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range};

    fn change(l0: u32, c0: u32, l1: u32, c1: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(l0, c0), Position::new(l1, c1))),
            range_length: None,
            text: text.to_string(),
        }
    }

    #[test]
    fn edits_apply_to_the_text_and_the_tree() {
        let text = "// 🎨 é\nfn main() {\n    let x = 1;\n}\n";
        for enc in [Encoding::Utf8, Encoding::Utf16] {
            let mut document = Document::new(text);
            let doc = document.analyse();
            assert!(doc.diagnostics().iter().all(|d| !d.is_error()));
            // After the emoji and a space on line 0: "// 🎨 " is 3 + 4 + 1 bytes, 3 + 2 + 1 units.
            let (col, width) = if enc == Encoding::Utf8 {
                (8, 2)
            } else {
                (6, 1)
            };
            apply(&mut document, &change(0, col, 0, col + width, "ü"), enc);
            apply(
                &mut document,
                &change(2, 12, 2, 13, "2.5;\n    let y = x"),
                enc,
            );
            apply(&mut document, &change(99, 0, 99, 0, "fn g() {}\n"), enc);
            let doc = document.analyse();
            let want = "// 🎨 ü\nfn main() {\n    let x = 2.5;\n    let y = x;\n}\nfn g() {}\n";
            assert_eq!(&*doc.text, want, "{enc:?}");
            // The incrementally parsed tree is the same as a fresh parse.
            assert_eq!(
                doc.parsed.tree.root_node().to_sexp(),
                Doc::new(want).parsed.tree.root_node().to_sexp()
            );
        }
    }

    #[test]
    fn whole_text_changes_and_reversed_ranges() {
        let mut document = Document::new("fn a() {}\n");
        document.analyse();
        apply(
            &mut document,
            &TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "fn b() {}\n".into(),
            },
            Encoding::Utf16,
        );
        apply(&mut document, &change(0, 5, 0, 3, "x"), Encoding::Utf16);
        assert_eq!(document.text(), "fn b(x) {}\n");
        assert_eq!(&*document.analyse().text, "fn b(x) {}\n");
    }
}
