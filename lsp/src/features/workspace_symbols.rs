//! `workspace/symbol`: the items of every `.chop` file of the workspace whose
//! name matches the query: the open documents as they are in the editor, and
//! the files under the workspace folders and the files the open documents use
//! (the library's, wherever it is) as they are on disk, read when a query
//! comes (and kept, analysed, until they change). The cache of files read from
//! disk ([`Files`]) serves references and rename across files too.

use crate::convert::{Encoding, Lines};
use crate::features::symbols::kind;
use chop_ide::{outline, Doc};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tower_lsp_server::ls_types::{Location, OneOf, Uri, WorkspaceSymbol};

/// Files found under the folders, at most.
const MAX_FILES: usize = 2_000;
/// Folder depth searched, at most.
const MAX_DEPTH: usize = 12;
/// Symbols returned, at most.
const MAX_SYMBOLS: usize = 1_000;
/// Files larger than this are skipped.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// A file read from disk: when it was modified, its length, its analysis.
type Cached = (Option<SystemTime>, u64, Arc<Doc>);

/// Files read from disk, analysed, by path.
#[derive(Default)]
pub struct Files {
    cache: Mutex<HashMap<PathBuf, Cached>>,
}

impl Files {
    /// The file at `path` as it is on disk, analysed alone (cached until it
    /// changes); `None` when it cannot be read or is too large.
    pub fn doc(&self, path: &Path) -> Option<Arc<Doc>> {
        let meta = std::fs::metadata(path).ok()?;
        if meta.len() > MAX_FILE_BYTES {
            return None;
        }
        let stamp = (meta.modified().ok(), meta.len());
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((modified, len, doc)) = cache.get(path) {
                if (*modified, *len) == stamp {
                    return Some(doc.clone());
                }
            }
        }
        let text = std::fs::read_to_string(path).ok()?;
        let doc = Arc::new(Doc::new(&text));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > MAX_FILES {
            cache.clear();
        }
        cache.insert(path.to_path_buf(), (stamp.0, stamp.1, doc.clone()));
        Some(doc)
    }
}

/// The `.chop` files under `root` (hidden folders, `target` and
/// `node_modules` skipped), sorted.
pub fn chop_files(root: &Path, out: &mut Vec<PathBuf>) {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        if depth > MAX_DEPTH || out.len() >= MAX_FILES {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "node_modules" {
                    walk(&path, depth + 1, out);
                }
            } else if kind.is_file() && name.ends_with(".chop") && out.len() < MAX_FILES {
                out.push(path);
            }
        }
    }
    walk(root, 0, out);
}

fn push_symbols(doc: &Doc, uri: &Uri, query: &str, enc: Encoding, out: &mut Vec<WorkspaceSymbol>) {
    let lines = Lines::of(doc, enc);
    for symbol in outline::workspace_symbols(doc, query) {
        if out.len() >= MAX_SYMBOLS {
            return;
        }
        out.push(WorkspaceSymbol {
            name: symbol.name,
            kind: kind(symbol.kind),
            tags: None,
            container_name: None,
            location: OneOf::Left(Location::new(uri.clone(), lines.range(symbol.selection))),
            data: None,
        });
    }
}

/// The symbols matching `query` in the open documents and the files under `roots`.
pub fn symbols(
    files: &Files,
    open: &[(Uri, Arc<Doc>)],
    roots: &[PathBuf],
    query: &str,
    enc: Encoding,
) -> Vec<WorkspaceSymbol> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (uri, doc) in open {
        if let Some(path) = crate::convert::path_of(uri) {
            seen.insert(chunkvm::modules::normalize(&path));
        }
        push_symbols(doc, uri, query, enc, &mut out);
    }
    let mut paths = Vec::new();
    for root in roots {
        chop_files(root, &mut paths);
    }
    // The files the open documents use, wherever they are (the library's too).
    for (_, doc) in open {
        if let Some(program) = &doc.program {
            paths.extend(program.paths().into_iter().skip(1).map(Path::to_path_buf));
        }
    }
    for path in paths {
        if !seen.insert(chunkvm::modules::normalize(&path)) {
            continue;
        }
        let (Some(doc), Some(uri)) = (files.doc(&path), crate::convert::uri_of(&path)) else {
            continue;
        };
        push_symbols(&doc, &uri, query, enc, &mut out);
    }
    out
}
