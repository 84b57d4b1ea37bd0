//! The chunk store of one node: every chunk it holds, by id.
//!
//! Chunks are kept behind [`Arc`] so that readers (an image view, an export
//! in flight) can hold them while the store goes on; [`Store::get_mut`]
//! copies a shared chunk before writing (copy on write). Code chunks are
//! immutable: the store refuses to hand out `&mut` to them.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use super::encode::ChunkSet;
use super::id::{ChunkId, IdMap, IdSet, NodeId};
use super::slots::{Chunk, Kind};

/// What went wrong reading or writing chunks in a [`Store`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StoreError {
    /// The chunk is not in the store (it may live on another node).
    Missing(ChunkId),
    /// The chunk is a code chunk and cannot be changed.
    Immutable(ChunkId),
    /// The chunk is of another kind than the operation needs.
    WrongKind {
        /// The chunk.
        id: ChunkId,
        /// The kind the operation needs.
        expected: Kind,
        /// The kind the chunk has.
        found: Kind,
    },
    /// A chunk graph (array, image, text) is not shaped as its kind says.
    BadShape(ChunkId, String),
    /// An index past the end of an array.
    OutOfBounds {
        /// The array's root chunk.
        id: ChunkId,
        /// The index asked for (a logical slot).
        index: u64,
        /// The number of logical slots of the array.
        len: u64,
    },
    /// An argument that no chunk graph can have (a width of 3, a pixel
    /// buffer of the wrong length, ...).
    Invalid(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Missing(id) => write!(f, "chunk {id} is not in the store"),
            StoreError::Immutable(id) => {
                write!(f, "chunk {id} is a code chunk and cannot be changed")
            }
            StoreError::WrongKind {
                id,
                expected,
                found,
            } => write!(
                f,
                "chunk {id} is a {found} chunk, expected a {expected} chunk"
            ),
            StoreError::BadShape(id, what) => write!(f, "chunk {id} is malformed: {what}"),
            StoreError::OutOfBounds { id, index, len } => write!(
                f,
                "index {index} is out of bounds for array {id} of {len} slots"
            ),
            StoreError::Invalid(what) => write!(f, "invalid argument: {what}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The chunks held by one node, by id, with the allocator of the node's
/// data ids.
#[derive(Clone)]
pub struct Store {
    node: NodeId,
    next_serial: u64,
    /// Whether serials ran past 2^48 - 1 and started again.
    wrapped: bool,
    code_count: usize,
    chunks: IdMap<Arc<Chunk>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("node", &self.node)
            .field("next_serial", &self.next_serial)
            .field("data_len", &self.data_len())
            .field("code_len", &self.code_len())
            .finish()
    }
}

impl Store {
    /// An empty store of node `node` (which should be valid: see
    /// [`NodeId::new`]). Its first data id has serial 1.
    pub fn new(node: NodeId) -> Store {
        Store {
            node,
            next_serial: 1,
            wrapped: false,
            code_count: 0,
            chunks: IdMap::default(),
        }
    }

    /// The node whose data ids this store allocates.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// A fresh data id of this node, not used by any chunk in the store.
    /// Lets a caller link chunks to each other before inserting them with
    /// [`Store::insert`]. Serials count up from 1; should they ever pass
    /// 2^48 - 1 (only an imported id near the top can make them), they
    /// start again at 1, skipping the ids in use.
    pub fn fresh_id(&mut self) -> ChunkId {
        loop {
            if self.next_serial > ChunkId::MAX_SERIAL {
                self.next_serial = 1;
                self.wrapped = true;
            }
            let id = ChunkId::data(self.node, self.next_serial);
            self.next_serial += 1;
            if !self.wrapped || !self.chunks.contains_key(&id) {
                return id;
            }
        }
    }

    /// Stores `chunk` under a fresh data id and returns the id.
    pub fn alloc(&mut self, chunk: Chunk) -> ChunkId {
        let id = self.fresh_id();
        self.chunks.insert(id, Arc::new(chunk));
        id
    }

    /// Makes room for `additional` more chunks, so that storing them does not
    /// grow the table (and move every entry) on the way.
    pub fn reserve(&mut self, additional: usize) {
        self.chunks.reserve(additional);
    }

    /// Stores a chunk already behind an [`Arc`] under a fresh data id, as
    /// [`Store::alloc`] does, without copying it: how chunks made on other
    /// threads (the tiles of a photo) come in.
    pub fn alloc_arc(&mut self, chunk: Arc<Chunk>) -> ChunkId {
        let id = self.fresh_id();
        self.chunks.insert(id, chunk);
        id
    }

    /// Stores `chunks` (already behind [`Arc`]s: made on other threads) under
    /// fresh data ids, in order, as many [`Store::alloc_arc`] would, growing the
    /// table once for all of them. Returns their ids, in the same order.
    pub fn alloc_batch(&mut self, chunks: Vec<Arc<Chunk>>) -> Vec<ChunkId> {
        self.chunks.reserve(chunks.len());
        let mut ids = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let id = self.fresh_id();
            self.chunks.insert(id, chunk);
            ids.push(id);
        }
        ids
    }

    /// Stores a code chunk under its content-derived `id`. Idempotent: if
    /// the id is already present the stored chunk is kept (same name, same
    /// content). Returns whether the chunk was new. A non-code `id` is a
    /// caller bug: nothing is stored and false is returned.
    pub fn insert_code(&mut self, id: ChunkId, chunk: Chunk) -> bool {
        debug_assert!(id.is_code(), "insert_code with non-code id {id}");
        if !id.is_code() || self.chunks.contains_key(&id) {
            return false;
        }
        self.chunks.insert(id, Arc::new(chunk));
        self.code_count += 1;
        true
    }

    /// Stores `chunk` under `id`, as when decoding or receiving chunks. A
    /// code id goes in as by [`Store::insert_code`]; a data id replaces any
    /// chunk of that id, and if it is one of this node's ids the allocator
    /// moves past its serial so [`Store::alloc`] never reuses it. The nil
    /// id is ignored. Returns whether the id was new to the store.
    pub fn insert(&mut self, id: ChunkId, chunk: Chunk) -> bool {
        if id.is_nil() {
            return false;
        }
        if id.is_code() {
            return self.insert_code(id, chunk);
        }
        if id.node() == Some(self.node) && id.serial() >= self.next_serial {
            self.next_serial = id.serial() + 1;
        }
        self.chunks.insert(id, Arc::new(chunk)).is_none()
    }

    /// The chunk `id`, if present.
    #[inline]
    pub fn get(&self, id: ChunkId) -> Option<&Chunk> {
        self.chunks.get(&id).map(|c| &**c)
    }

    /// The chunk `id`, or [`StoreError::Missing`].
    #[inline]
    pub fn try_get(&self, id: ChunkId) -> Result<&Chunk, StoreError> {
        self.get(id).ok_or(StoreError::Missing(id))
    }

    /// A shared handle on chunk `id`, if present: stays valid (and
    /// unchanged) whatever the store does next.
    #[inline]
    pub fn get_arc(&self, id: ChunkId) -> Option<Arc<Chunk>> {
        self.chunks.get(&id).cloned()
    }

    /// The data chunk `id` for writing, copied first if a reader shares it.
    /// Refuses code ids ([`StoreError::Immutable`]) and absent ids
    /// ([`StoreError::Missing`]).
    #[inline]
    pub fn get_mut(&mut self, id: ChunkId) -> Result<&mut Chunk, StoreError> {
        if id.is_code() {
            return Err(StoreError::Immutable(id));
        }
        self.chunks
            .get_mut(&id)
            .map(Arc::make_mut)
            .ok_or(StoreError::Missing(id))
    }

    /// Whether chunk `id` is present.
    #[inline]
    pub fn contains(&self, id: ChunkId) -> bool {
        self.chunks.contains_key(&id)
    }

    /// The number of chunks held.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// Whether the store holds no chunk.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The number of data chunks held.
    pub fn data_len(&self) -> usize {
        self.chunks.len() - self.code_count
    }

    /// The number of code chunks held.
    pub fn code_len(&self) -> usize {
        self.code_count
    }

    /// The ids held, in no particular order (sort them for determinism).
    pub fn ids(&self) -> impl Iterator<Item = ChunkId> + '_ {
        self.chunks.keys().copied()
    }

    /// Removes chunk `id` and returns it, if present.
    pub fn remove(&mut self, id: ChunkId) -> Option<Arc<Chunk>> {
        let removed = self.chunks.remove(&id);
        if removed.is_some() && id.is_code() {
            self.code_count -= 1;
        }
        removed
    }

    /// Every chunk reachable from `roots` through links, each once, in
    /// breadth-first order (roots first, nil roots skipped). Fails with
    /// [`StoreError::Missing`] on the first reachable id that is absent.
    pub fn reachable(&self, roots: &[ChunkId]) -> Result<Vec<ChunkId>, StoreError> {
        let (found, missing) = self.walk(roots, true);
        match missing.first() {
            Some(&id) => Err(StoreError::Missing(id)),
            None => Ok(found),
        }
    }

    /// Like [`Store::reachable`] but goes on past absent chunks: returns the
    /// present reachable chunks (breadth-first) and the absent ids they link
    /// to (the frontier to fetch from other nodes), each once.
    pub fn reachable_partial(&self, roots: &[ChunkId]) -> (Vec<ChunkId>, Vec<ChunkId>) {
        self.walk(roots, false)
    }

    /// Breadth-first walk; stops at the first absent id if `stop_on_missing`.
    fn walk(&self, roots: &[ChunkId], stop_on_missing: bool) -> (Vec<ChunkId>, Vec<ChunkId>) {
        let mut seen = IdSet::default();
        let mut queue = VecDeque::new();
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for &r in roots {
            if !r.is_nil() && seen.insert(r) {
                queue.push_back(r);
            }
        }
        while let Some(id) = queue.pop_front() {
            match self.chunks.get(&id) {
                Some(chunk) => {
                    found.push(id);
                    for link in chunk.links_iter() {
                        if seen.insert(link) {
                            queue.push_back(link);
                        }
                    }
                }
                None => {
                    missing.push(id);
                    if stop_on_missing {
                        break;
                    }
                }
            }
        }
        (found, missing)
    }

    /// Removes every data chunk not reachable from `roots` (absent chunks
    /// are passed over; code chunks always stay). Returns how many chunks
    /// were removed.
    pub fn collect(&mut self, roots: &[ChunkId]) -> usize {
        let (live, _) = self.walk(roots, false);
        let live: IdSet = live.into_iter().collect();
        let before = self.chunks.len();
        self.chunks
            .retain(|id, _| id.is_code() || live.contains(id));
        before - self.chunks.len()
    }

    /// The chunks reachable from `roots` (see [`Store::reachable`]) as a
    /// set ready to encode; its root is the first root (nil if none).
    pub fn export(&self, roots: &[ChunkId]) -> Result<ChunkSet, StoreError> {
        let ids = self.reachable(roots)?;
        let mut chunks = Vec::with_capacity(ids.len());
        for id in ids {
            chunks.push((id, self.try_get(id)?.clone()));
        }
        Ok(ChunkSet {
            root: roots.first().copied().unwrap_or(ChunkId::NIL),
            chunks,
        })
    }

    /// A mark of allocation: data chunks allocated after it have serials at or
    /// above it (see [`Store::free_since`]).
    pub fn mark(&self) -> u64 {
        self.next_serial
    }

    /// Removes every data chunk of this node allocated since `mark` (ids are
    /// never reused, so nothing else can hold them unless it was given them).
    /// How the VM drops a filter call's temporaries when the call returns a
    /// colour: nothing it made can outlive it. Returns how many were removed.
    pub fn free_since(&mut self, mark: u64) -> usize {
        if self.wrapped || mark >= self.next_serial {
            return 0;
        }
        let mut removed = 0;
        for serial in mark..self.next_serial {
            if self
                .chunks
                .remove(&ChunkId::data(self.node, serial))
                .is_some()
            {
                removed += 1;
            }
        }
        removed
    }

    /// The memory the store takes, estimated from its layout: each chunk's
    /// allocation (the chunk, the `Arc` counts, the allocator's header, rounded to
    /// 16 bytes) and the table (a key, a pointer and a control byte per bucket).
    pub fn approx_bytes(&self) -> usize {
        let chunk = (std::mem::size_of::<Chunk>() + 16 + 8).div_ceil(16) * 16;
        let bucket = std::mem::size_of::<ChunkId>() + std::mem::size_of::<Arc<Chunk>>() + 1;
        self.chunks.len() * chunk + self.chunks.capacity() * bucket
    }

    /// Puts into `other` every chunk reachable from `roots`, shared rather than
    /// copied (each is an `Arc`): how worker threads see the code and the photo
    /// of the thread that started them. The chunks are read-only for them: a
    /// write through `get_mut` copies the chunk first.
    pub fn share_into(&self, other: &mut Store, roots: &[ChunkId]) -> Result<usize, StoreError> {
        let shared = self.to_share(roots)?;
        other.take_shared(&shared);
        Ok(shared.len())
    }

    /// The chunks reachable from `roots` (as [`Store::reachable`]), each with its
    /// `Arc`: what [`Store::share_into`] puts into another store, gathered once
    /// when several stores take them ([`Store::take_shared`], one per worker).
    pub fn to_share(&self, roots: &[ChunkId]) -> Result<Vec<(ChunkId, Arc<Chunk>)>, StoreError> {
        self.reachable(roots)?
            .into_iter()
            .map(|id| {
                let chunk = self.chunks.get(&id).ok_or(StoreError::Missing(id))?;
                Ok((id, chunk.clone()))
            })
            .collect()
    }

    /// Takes chunks gathered by [`Store::to_share`] (of another store), shared.
    pub fn take_shared(&mut self, shared: &[(ChunkId, Arc<Chunk>)]) {
        self.chunks.reserve(shared.len());
        for (id, chunk) in shared {
            if id.node() == Some(self.node) && id.serial() >= self.next_serial {
                self.next_serial = id.serial() + 1;
            }
            if id.is_code() && !self.chunks.contains_key(id) {
                self.code_count += 1;
            }
            self.chunks.insert(*id, chunk.clone());
        }
    }

    /// Inserts every chunk of `set` (see [`Store::insert`]) and returns the
    /// set's root.
    pub fn import(&mut self, set: ChunkSet) -> ChunkId {
        for (id, chunk) in set.chunks {
            self.insert(id, chunk);
        }
        set.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(store: &mut Store, kind: Kind, links: &[ChunkId]) -> ChunkId {
        let mut c = Chunk::new(kind);
        for (i, &l) in links.iter().enumerate() {
            c.set_link(i, l);
        }
        store.alloc(c)
    }

    #[test]
    fn alloc_gives_fresh_sequential_ids() {
        let mut s = Store::new(NodeId(2));
        let a = s.alloc(Chunk::new(Kind::Frame));
        let b = s.alloc(Chunk::new(Kind::Frame));
        assert_eq!(a, ChunkId::data(NodeId(2), 1));
        assert_eq!(b, ChunkId::data(NodeId(2), 2));
        assert_eq!(s.len(), 2);
        assert_eq!(s.data_len(), 2);
        assert_eq!(s.code_len(), 0);
        assert!(s.contains(a) && !s.is_empty());
        assert_eq!(s.node(), NodeId(2));
    }

    #[test]
    fn a_batch_gets_the_ids_single_allocations_get() {
        let mut one = Store::new(NodeId(3));
        let mut batch = Store::new(NodeId(3));
        one.alloc(Chunk::new(Kind::Env));
        batch.alloc(Chunk::new(Kind::Env));
        let chunks: Vec<Arc<Chunk>> = (0..40)
            .map(|i| {
                let mut c = Chunk::new(Kind::Tile);
                c.set_scalar(0, i);
                Arc::new(c)
            })
            .collect();
        let singles: Vec<ChunkId> = chunks.iter().map(|c| one.alloc_arc(c.clone())).collect();
        let ids = batch.alloc_batch(chunks.clone());
        assert_eq!(ids, singles);
        for (id, chunk) in ids.iter().zip(&chunks) {
            assert_eq!(batch.get(*id), Some(&**chunk));
        }
        assert_eq!(batch.len(), 41);
        assert!(batch.alloc_batch(Vec::new()).is_empty());
        assert_eq!(
            batch.alloc(Chunk::new(Kind::Env)),
            ChunkId::data(NodeId(3), 42)
        );
    }

    #[test]
    fn shared_chunks_are_the_same_arcs_and_keep_their_counts() {
        let mut main = Store::new(NodeId(1));
        let mut code = Chunk::new(Kind::Block);
        code.set_scalar(0, 7);
        let code_id = code.content_id();
        main.insert_code(code_id, code);
        let tile = main.alloc(Chunk::new(Kind::Tile));
        let root = linked(&mut main, Kind::Env, &[code_id, tile]);
        let garbage = main.alloc(Chunk::new(Kind::Env));
        let shared = main.to_share(&[root]).unwrap();
        assert_eq!(shared.len(), 3);
        // Two workers take the same list; neither copies a chunk.
        for node in [2, 3] {
            let mut worker = Store::new(NodeId(node));
            worker.take_shared(&shared);
            assert_eq!(
                (worker.len(), worker.code_len(), worker.data_len()),
                (3, 1, 2)
            );
            assert!(!worker.contains(garbage));
            assert!(Arc::ptr_eq(
                &worker.get_arc(tile).unwrap(),
                &main.get_arc(tile).unwrap()
            ));
            // Taking them again changes no count.
            worker.take_shared(&shared);
            assert_eq!((worker.len(), worker.code_len()), (3, 1));
        }
        // A store of the node that made them allocates past them.
        let mut same_node = Store::new(NodeId(1));
        same_node.take_shared(&shared);
        let fresh = same_node.alloc(Chunk::new(Kind::Env));
        assert!(fresh.serial() > root.serial());
        let missing = ChunkId::data(NodeId(9), 1);
        let dangling = linked(&mut main, Kind::Env, &[missing]);
        assert_eq!(
            main.to_share(&[dangling]).unwrap_err(),
            StoreError::Missing(missing)
        );
    }

    #[test]
    fn insert_keeps_the_allocator_ahead() {
        let mut s = Store::new(NodeId(1));
        assert!(s.insert(ChunkId::data(NodeId(1), 10), Chunk::new(Kind::Env)));
        assert!(s.insert(ChunkId::data(NodeId(2), 50), Chunk::new(Kind::Env)));
        assert!(!s.insert(ChunkId::NIL, Chunk::new(Kind::Env)));
        let next = s.alloc(Chunk::new(Kind::Env));
        assert_eq!(next, ChunkId::data(NodeId(1), 11));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn serials_wrap_around_without_reuse() {
        let mut s = Store::new(NodeId(1));
        s.insert(ChunkId::data(NodeId(1), 2), Chunk::new(Kind::Env));
        s.insert(
            ChunkId::data(NodeId(1), ChunkId::MAX_SERIAL),
            Chunk::new(Kind::Env),
        );
        assert_eq!(s.alloc(Chunk::new(Kind::Env)), ChunkId::data(NodeId(1), 1));
        assert_eq!(s.alloc(Chunk::new(Kind::Env)), ChunkId::data(NodeId(1), 3));
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn code_chunks_are_immutable_and_idempotent() {
        let mut s = Store::new(NodeId(1));
        let mut c = Chunk::new(Kind::Block);
        c.set_scalar(0, 1);
        let id = c.content_id();
        assert!(s.insert_code(id, c.clone()));
        let mut other = c.clone();
        other.set_scalar(0, 2);
        assert!(!s.insert_code(id, other.clone()));
        assert!(!s.insert(id, other));
        assert_eq!(s.get(id), Some(&c));
        assert_eq!(s.code_len(), 1);
        assert_eq!(s.data_len(), 0);
        assert_eq!(s.get_mut(id).err(), Some(StoreError::Immutable(id)));
        assert!(s.remove(id).is_some());
        assert_eq!(s.code_len(), 0);
    }

    #[test]
    fn get_mut_copies_on_write() {
        let mut s = Store::new(NodeId(1));
        let id = s.alloc(Chunk::new(Kind::Regs));
        let before = s.get_arc(id).unwrap();
        s.get_mut(id).unwrap().set_scalar(3, 7);
        assert_eq!(before.get(3), 0);
        assert_eq!(s.try_get(id).unwrap().get(3), 7);
        let gone = ChunkId::data(NodeId(1), 99);
        assert_eq!(s.get_mut(gone).err(), Some(StoreError::Missing(gone)));
        assert_eq!(s.try_get(gone).err(), Some(StoreError::Missing(gone)));
    }

    #[test]
    fn errors_read_well() {
        let id = ChunkId::data(NodeId(1), 4);
        assert_eq!(
            StoreError::Missing(id).to_string(),
            "chunk d1.4 is not in the store"
        );
        assert_eq!(
            StoreError::Immutable(ChunkId(1 << 63)).to_string(),
            "chunk c:8000000000000000 is a code chunk and cannot be changed"
        );
        let e = StoreError::WrongKind {
            id,
            expected: Kind::Array,
            found: Kind::Tile,
        };
        assert_eq!(
            e.to_string(),
            "chunk d1.4 is a tile chunk, expected a array chunk"
        );
        let e: Box<dyn std::error::Error> = Box::new(StoreError::Missing(id));
        assert!(e.to_string().contains("d1.4"));
    }

    #[test]
    fn reachable_is_breadth_first_and_each_once() {
        let mut s = Store::new(NodeId(1));
        let leaf = linked(&mut s, Kind::Env, &[]);
        let mid1 = linked(&mut s, Kind::Env, &[leaf, ChunkId::NIL]);
        let mid2 = linked(&mut s, Kind::Env, &[leaf]);
        let root = linked(&mut s, Kind::Thread, &[mid1, mid2]);
        // A cycle back to the root.
        s.get_mut(leaf).unwrap().set_link(5, root);
        let _garbage = linked(&mut s, Kind::Env, &[root]);
        let got = s.reachable(&[root, ChunkId::NIL, root]).unwrap();
        assert_eq!(got, vec![root, mid1, mid2, leaf]);
        assert_eq!(s.reachable(&[]).unwrap(), vec![]);
    }

    #[test]
    fn reachable_reports_missing() {
        let mut s = Store::new(NodeId(1));
        let gone = ChunkId::data(NodeId(2), 1);
        let root = linked(&mut s, Kind::Thread, &[gone]);
        assert_eq!(s.reachable(&[root]), Err(StoreError::Missing(gone)));
        let (found, missing) = s.reachable_partial(&[root]);
        assert_eq!(found, vec![root]);
        assert_eq!(missing, vec![gone]);
        assert!(s.export(&[root]).is_err());
    }

    #[test]
    fn collect_removes_unreachable_data_only() {
        let mut s = Store::new(NodeId(1));
        let code = Chunk::new(Kind::Block);
        let code_id = code.content_id();
        s.insert_code(code_id, code);
        let orphan_code = {
            let mut c = Chunk::new(Kind::Block);
            c.set_scalar(0, 1);
            let id = c.content_id();
            s.insert_code(id, c);
            id
        };
        let gone = ChunkId::data(NodeId(9), 1);
        let a = linked(&mut s, Kind::Env, &[code_id, gone]);
        let root = linked(&mut s, Kind::Thread, &[a]);
        let g1 = linked(&mut s, Kind::Env, &[]);
        let _g2 = linked(&mut s, Kind::Env, &[g1, root]);
        assert_eq!(s.collect(&[root]), 2);
        assert_eq!(s.data_len(), 2);
        assert!(s.contains(orphan_code) && s.contains(code_id));
        assert_eq!(s.code_len(), 2);
        assert_eq!(s.collect(&[root]), 0);
        assert_eq!(s.collect(&[]), 2);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn export_import_round_trip() {
        let mut s = Store::new(NodeId(1));
        let leaf = linked(&mut s, Kind::Env, &[]);
        let root = linked(&mut s, Kind::Thread, &[leaf]);
        let set = s.export(&[root]).unwrap();
        assert_eq!(set.root, root);
        assert_eq!(set.chunks.len(), 2);
        let mut t = Store::new(NodeId(2));
        assert_eq!(t.import(set), root);
        assert_eq!(t.get(leaf), s.get(leaf));
        assert_eq!(t.get(root), s.get(root));
        assert_eq!(s.export(&[]).unwrap().root, ChunkId::NIL);
    }
}
