//! Top-level items printed before, kept by their text: formatting a file again after an
//! edit prints only the items the edit changed (an item's printed text depends on its
//! own text only: see `Formatter::item`).
//!
//! One store for the process (a server formats many versions of many files), bounded:
//! it is emptied when it holds more than [`MAX_BYTES`] of text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The text the store may hold (sources and printed items) before it is emptied.
const MAX_BYTES: usize = 32 << 20;

#[derive(Default)]
struct Store {
    /// Printed items by their source text.
    printed: HashMap<Box<str>, Arc<str>>,
    bytes: usize,
}

static STORE: Mutex<Option<Store>> = Mutex::new(None);

/// The store, held for one formatting.
pub(super) struct Held(MutexGuard<'static, Option<Store>>);

/// Takes the store for one formatting (a second formatting at the same time waits).
pub(super) fn hold() -> Held {
    Held(STORE.lock().unwrap_or_else(|e| e.into_inner()))
}

impl Held {
    /// The printed text of the item whose source text is `source`, if kept.
    pub(super) fn get(&self, source: &str) -> Option<Arc<str>> {
        self.0.as_ref()?.printed.get(source).cloned()
    }

    /// Keeps `printed` as the printed text of `source`.
    pub(super) fn put(&mut self, source: &str, printed: &str) {
        let store = self.0.get_or_insert_with(Store::default);
        let size = source.len() + printed.len();
        if store.bytes + size > MAX_BYTES {
            *store = Store::default();
        }
        if store
            .printed
            .insert(Box::from(source), Arc::from(printed))
            .is_none()
        {
            store.bytes += size;
        }
    }
}
