//! `textDocument/references`: every use of the name at the cursor. A local is
//! looked for in its document; an item (fn, filter, pipeline, param) in every
//! file that may name it ([`gather`]): the open documents as they are in the
//! editor, the `.chop` files under the workspace folders as they are on disk
//! (from the cache of `workspace/symbol`), and the file declaring it.

use crate::convert::{self, Encoding, Lines};
use crate::documents::OpenFiles;
use crate::features::workspace_symbols::{chop_files, Files};
use chop_ide::navigation::{self, ItemRef, ItemUse};
use chop_ide::Doc;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use tower_lsp_server::ls_types::{Location, Uri};

/// Where a request across files looks, and how it reads what is not open.
pub struct Workspace {
    /// The open documents: URI, version, latest analysis.
    pub open: Vec<(Uri, i32, Arc<Doc>)>,
    /// The workspace folders.
    pub roots: Vec<PathBuf>,
    /// Files read from disk (shared with `workspace/symbol`).
    pub files: Arc<Files>,
    /// Reads used files: open buffers first, then the disk.
    pub resolver: OpenFiles,
    /// The library's search path.
    pub lib: Vec<PathBuf>,
    /// The position encoding.
    pub enc: Encoding,
}

/// A file naming an item, with its uses.
pub struct Found {
    /// Its URI.
    pub uri: Uri,
    /// Its version, when it is open.
    pub version: Option<i32>,
    /// Its analysis (with the files it uses).
    pub doc: Arc<Doc>,
    /// Its path.
    pub path: PathBuf,
    /// The uses of the item there, sorted.
    pub uses: Vec<ItemUse>,
}

/// The item at `offset` of the document `uri`, when it is one (not a local, a
/// builtin or a field) and the document is a file.
pub fn target(doc: &Doc, uri: &Uri, offset: usize) -> Option<(PathBuf, ItemRef)> {
    let path = convert::path_of(uri)?;
    let item = navigation::item_ref_at(doc, &path, offset)?;
    Some((path, item))
}

/// Every file of `ws` that names `target`, with its uses: the declaring file
/// first (even when nothing uses it there but the declaration), then by path.
pub fn gather(ws: &Workspace, target: &ItemRef) -> Vec<Found> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (uri, version, doc) in &ws.open {
        let Some(path) = convert::path_of(uri) else {
            continue;
        };
        seen.insert(chunkvm::modules::normalize(&path));
        if !navigation::may_refer(doc, &path, target) {
            continue;
        }
        push(
            &mut out,
            target,
            uri.clone(),
            Some(*version),
            doc.clone(),
            path,
        );
    }
    let mut paths = Vec::new();
    for root in &ws.roots {
        chop_files(root, &mut paths);
    }
    paths.push(target.path.clone());
    for path in paths {
        if !seen.insert(chunkvm::modules::normalize(&path)) {
            continue;
        }
        let (Some(alone), Some(uri)) = (ws.files.doc(&path), convert::uri_of(&path)) else {
            continue;
        };
        if !navigation::may_refer(&alone, &path, target) {
            continue;
        }
        let doc = if alone.file().uses.is_empty() {
            alone
        } else {
            Arc::new(Doc::with_program(
                alone.text.clone(),
                alone.parsed.clone(),
                &path,
                &ws.resolver,
                &ws.lib,
                Some(&ws.resolver.0.parses),
                None,
            ))
        };
        push(&mut out, target, uri, None, doc, path);
    }
    let declaring = |found: &Found| chunkvm::modules::normalize(&found.path) != target.path;
    out.sort_by(|a, b| (declaring(a), &a.path).cmp(&(declaring(b), &b.path)));
    out
}

fn push(
    out: &mut Vec<Found>,
    target: &ItemRef,
    uri: Uri,
    version: Option<i32>,
    doc: Arc<Doc>,
    path: PathBuf,
) {
    let uses = navigation::uses_of(&doc, &path, target);
    if uses.is_empty() && chunkvm::modules::normalize(&path) != target.path {
        return;
    }
    out.push(Found {
        uri,
        version,
        doc,
        path,
        uses,
    });
}

/// The uses of the name at `offset` (with its declaration when asked): an
/// item's in every file of `ws` that names it, a local's in its document.
pub fn references(
    ws: &Workspace,
    doc: &Doc,
    lines: &Lines<'_>,
    uri: &Uri,
    offset: usize,
    include_declaration: bool,
) -> Vec<Location> {
    let Some((_, item)) = target(doc, uri, offset) else {
        return navigation::references(doc, offset, include_declaration)
            .into_iter()
            .map(|span| Location::new(uri.clone(), lines.range(span)))
            .collect();
    };
    let mut out = Vec::new();
    for found in gather(ws, &item) {
        let lines = Lines::of(&found.doc, ws.enc);
        for used in &found.uses {
            if include_declaration || !used.decl {
                out.push(Location::new(found.uri.clone(), lines.range(used.span)));
            }
        }
    }
    out
}
