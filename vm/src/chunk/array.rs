//! Arrays as trees of chunks.
//!
//! An array is a root chunk of kind [`Kind::Array`]:
//!
//! | slot | meaning |
//! | --- | --- |
//! | 0 | `len`: number of elements |
//! | 1 | `width`: slots per element, 1 or 2 |
//! | 2 | `elem_is_link`: 1 if the elements are links, else 0 |
//! | 3 | `height` of the tree |
//! | 4 | link to the tree (nil if the array has no slot) |
//!
//! Element `e` occupies the logical slots `e * width .. e * width + width`;
//! logical slot `k` lives in leaf `k / 32` at slot `k % 32`. A tree of
//! height 0 is one [`Kind::ArrayLeaf`]; a tree of height `h > 0` is a
//! [`Kind::ArrayNode`] whose up to 32 child links are trees of height
//! `h - 1`, leaves in order (child `c` of a node of height `h` covers the
//! leaves `c * 32^(h-1) ..`). The builders here make the smallest height
//! that fits. Leaves of link arrays mark all their slots as links (nil where
//! unused); the nodes mark their child slots as links.
//!
//! The functions take logical slot indices (`u64`); an element of width 2
//! is two calls. They check the shape as they go, so a malformed graph (from
//! a peer, a corrupt snapshot) is an error, never a panic.

use super::id::{ChunkId, IdSet};
use super::slots::{Chunk, Kind, SLOTS};
use super::store::{Store, StoreError};

/// Slot of the root holding the number of elements.
pub const ARRAY_LEN: usize = 0;
/// Slot of the root holding the number of slots per element (1 or 2).
pub const ARRAY_WIDTH: usize = 1;
/// Slot of the root holding 1 if the elements are links.
pub const ARRAY_IS_LINK: usize = 2;
/// Slot of the root holding the height of the tree.
pub const ARRAY_HEIGHT: usize = 3;
/// Slot of the root linking to the tree.
pub const ARRAY_TREE: usize = 4;
/// The largest height accepted (32^13 leaves would exceed 2^64 slots).
pub const MAX_HEIGHT: u32 = 12;

/// Fan-out of the tree, as a shift.
const FAN_BITS: u32 = 5;
/// Fan-out of the tree.
const FAN: u64 = SLOTS as u64;

/// The header of an array, read from its root chunk and checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ArrayInfo {
    /// Number of elements.
    pub len: u64,
    /// Slots per element (1 or 2).
    pub width: u64,
    /// Whether the elements are links.
    pub elem_is_link: bool,
    /// Height of the tree (0: one leaf).
    pub height: u32,
    /// The tree (nil if the array has no slot).
    pub tree: ChunkId,
}

impl ArrayInfo {
    /// The number of logical slots (`len * width`).
    pub fn slot_len(&self) -> u64 {
        // Checked to fit when the info was read.
        self.len.saturating_mul(self.width)
    }
}

/// The number of leaves for `slots` logical slots.
fn leaf_count(slots: u64) -> u64 {
    slots.div_ceil(FAN)
}

/// Checks a width and a length, and returns the number of logical slots.
fn checked_slots(len: u64, width: u64) -> Result<u64, StoreError> {
    if width != 1 && width != 2 {
        return Err(StoreError::Invalid(format!(
            "array element width {width} (must be 1 or 2)"
        )));
    }
    len.checked_mul(width)
        .filter(|&n| n <= ChunkId::MAX_SERIAL)
        .ok_or_else(|| StoreError::Invalid(format!("array of {len} elements is too large")))
}

/// The number of chunks (root included) that [`array_new`] allocates for
/// `len` elements of `width` slots, or `None` if no such array can be made.
/// Lets the VM check a chunk quota before allocating.
pub fn array_chunk_count(len: u64, width: u64) -> Option<u64> {
    let slots = checked_slots(len, width).ok()?;
    let mut level = leaf_count(slots);
    let mut total = 1 + level;
    while level > 1 {
        level = level.div_ceil(FAN);
        total += level;
    }
    Some(total)
}

/// Reads and checks the header of array `id`.
pub fn array_info(store: &Store, id: ChunkId) -> Result<ArrayInfo, StoreError> {
    let c = store.try_get(id)?;
    if c.kind != Kind::Array {
        return Err(StoreError::WrongKind {
            id,
            expected: Kind::Array,
            found: c.kind,
        });
    }
    let bad = |what: String| StoreError::BadShape(id, what);
    if c.links & 0b1111 != 0 {
        return Err(bad("array header slots 0..4 must be scalars".into()));
    }
    let len = c.get(ARRAY_LEN);
    let width = c.get(ARRAY_WIDTH);
    let slots = checked_slots(len, width).map_err(|e| bad(e.to_string()))?;
    let elem_is_link = match c.get(ARRAY_IS_LINK) {
        0 => false,
        1 => true,
        n => return Err(bad(format!("elem_is_link is {n} (must be 0 or 1)"))),
    };
    let height = c.get(ARRAY_HEIGHT);
    if height > MAX_HEIGHT as u64 {
        return Err(bad(format!("tree height {height} (at most {MAX_HEIGHT})")));
    }
    let height = height as u32;
    if !c.is_link(ARRAY_TREE) {
        return Err(bad("slot 4 must link to the tree".into()));
    }
    let tree = ChunkId(c.get(ARRAY_TREE));
    let leaves = leaf_count(slots);
    if (leaves == 0) != tree.is_nil() {
        return Err(bad(format!(
            "{slots} slots but the tree link is {tree} (nil exactly when empty)"
        )));
    }
    if leaves > FAN.pow(height) {
        return Err(bad(format!(
            "a tree of height {height} cannot hold {leaves} leaves"
        )));
    }
    Ok(ArrayInfo {
        len,
        width,
        elem_is_link,
        height,
        tree,
    })
}

/// The number of elements of array `id`.
pub fn array_len(store: &Store, id: ChunkId) -> Result<u64, StoreError> {
    array_info(store, id).map(|i| i.len)
}

/// Checks that chunk `c` (id `at`) is a tree chunk of the height expected.
fn check_tree_kind(at: ChunkId, c: &Chunk, level: u32) -> Result<(), StoreError> {
    let expected = if level == 0 {
        Kind::ArrayLeaf
    } else {
        Kind::ArrayNode
    };
    if c.kind == expected {
        Ok(())
    } else {
        Err(StoreError::WrongKind {
            id: at,
            expected,
            found: c.kind,
        })
    }
}

/// The child of a node, which must be a present link.
fn child(at: ChunkId, c: &Chunk, i: usize) -> Result<ChunkId, StoreError> {
    c.link(i)
        .ok_or_else(|| StoreError::BadShape(at, format!("array node has no child {i}")))
}

/// The id of the leaf holding logical slot `k` (known to be in bounds).
fn leaf_of(store: &Store, info: &ArrayInfo, k: u64) -> Result<ChunkId, StoreError> {
    let leaf = k >> FAN_BITS;
    let mut at = info.tree;
    for level in (1..=info.height).rev() {
        let c = store.try_get(at)?;
        check_tree_kind(at, c, level)?;
        let i = ((leaf >> (FAN_BITS * (level - 1))) & (FAN - 1)) as usize;
        at = child(at, c, i)?;
    }
    Ok(at)
}

/// Fails unless `k` is a logical slot of the array.
fn check_bounds(id: ChunkId, info: &ArrayInfo, k: u64) -> Result<(), StoreError> {
    let len = info.slot_len();
    if k < len {
        Ok(())
    } else {
        Err(StoreError::OutOfBounds { id, index: k, len })
    }
}

/// Logical slot `k` of array `id` (for link arrays, the raw id).
pub fn array_get_slot(store: &Store, id: ChunkId, k: u64) -> Result<u64, StoreError> {
    let info = array_info(store, id)?;
    check_bounds(id, &info, k)?;
    let leaf = leaf_of(store, &info, k)?;
    let c = store.try_get(leaf)?;
    check_tree_kind(leaf, c, 0)?;
    Ok(c.get((k % FAN) as usize))
}

/// Sets logical slot `k` of array `id` to `v` (for link arrays, a raw id,
/// stored as a link). The leaf must be a data chunk.
pub fn array_set_slot(store: &mut Store, id: ChunkId, k: u64, v: u64) -> Result<(), StoreError> {
    let info = array_info(store, id)?;
    check_bounds(id, &info, k)?;
    let leaf = leaf_of(store, &info, k)?;
    let c = store.get_mut(leaf)?;
    check_tree_kind(leaf, c, 0)?;
    let i = (k % FAN) as usize;
    if info.elem_is_link {
        c.set_link(i, ChunkId(v));
    } else {
        c.set_scalar(i, v);
    }
    Ok(())
}

/// Element `idx` of array `id`: its slots (the second is 0 for width 1), with
/// one look-up of the root and one per level of the tree. An index past the
/// end is `OutOfBounds` counted in elements.
pub fn array_element(store: &Store, id: ChunkId, idx: u64) -> Result<[u64; 2], StoreError> {
    let info = array_info(store, id)?;
    if idx >= info.len {
        return Err(StoreError::OutOfBounds {
            id,
            index: idx,
            len: info.len,
        });
    }
    let k = idx * info.width;
    let leaf = leaf_of(store, &info, k)?;
    let c = store.try_get(leaf)?;
    check_tree_kind(leaf, c, 0)?;
    let i = (k % FAN) as usize;
    // An element of width 2 starts at an even slot, so both slots are in this leaf.
    Ok([c.get(i), if info.width == 2 { c.get(i + 1) } else { 0 }])
}

/// Sets element `idx` of array `id` from `values` (its `width` first slots are used).
pub fn array_set_element(
    store: &mut Store,
    id: ChunkId,
    idx: u64,
    values: [u64; 2],
) -> Result<(), StoreError> {
    let info = array_info(store, id)?;
    if idx >= info.len {
        return Err(StoreError::OutOfBounds {
            id,
            index: idx,
            len: info.len,
        });
    }
    let k = idx * info.width;
    let leaf = leaf_of(store, &info, k)?;
    let c = store.get_mut(leaf)?;
    check_tree_kind(leaf, c, 0)?;
    let i = (k % FAN) as usize;
    for (pos, value) in values.iter().take(info.width as usize).enumerate() {
        if info.elem_is_link {
            c.set_link(i + pos, ChunkId(*value));
        } else {
            c.set_scalar(i + pos, *value);
        }
    }
    Ok(())
}

/// An empty leaf (links marked for link arrays).
fn empty_leaf(elem_is_link: bool) -> Chunk {
    let mut c = Chunk::new(Kind::ArrayLeaf);
    if elem_is_link {
        c.links = u32::MAX;
    }
    c
}

/// Builds the tree over `leaves` (in order) and the root; returns the root.
fn build(
    store: &mut Store,
    len: u64,
    width: u64,
    elem_is_link: bool,
    mut level: Vec<ChunkId>,
) -> ChunkId {
    let mut height = 0u64;
    while level.len() > 1 {
        level = level
            .chunks(SLOTS)
            .map(|kids| {
                let mut node = Chunk::new(Kind::ArrayNode);
                for (i, &kid) in kids.iter().enumerate() {
                    node.set_link(i, kid);
                }
                store.alloc(node)
            })
            .collect();
        height += 1;
    }
    let mut root = Chunk::new(Kind::Array);
    root.set_scalar(ARRAY_LEN, len);
    root.set_scalar(ARRAY_WIDTH, width);
    root.set_scalar(ARRAY_IS_LINK, elem_is_link as u64);
    root.set_scalar(ARRAY_HEIGHT, height);
    root.set_link(ARRAY_TREE, level.first().copied().unwrap_or(ChunkId::NIL));
    store.alloc(root)
}

/// A new zero-filled (or nil-filled) array of `len` elements of `width`
/// slots (1 or 2), made of data chunks. Allocates every chunk up front: see
/// [`array_chunk_count`] for how many.
pub fn array_new(
    store: &mut Store,
    len: u64,
    width: u64,
    elem_is_link: bool,
) -> Result<ChunkId, StoreError> {
    let slots = checked_slots(len, width)?;
    let leaves = (0..leaf_count(slots))
        .map(|_| store.alloc(empty_leaf(elem_is_link)))
        .collect();
    Ok(build(store, len, width, elem_is_link, leaves))
}

/// A new array holding `slots` as its logical slots; `slots.len()` must be
/// a multiple of `width` (1 or 2). For link arrays the values are raw ids.
pub fn array_from_slots(
    store: &mut Store,
    slots: &[u64],
    width: u64,
    elem_is_link: bool,
) -> Result<ChunkId, StoreError> {
    let n = slots.len() as u64;
    checked_slots(n, width)?;
    if n % width != 0 {
        return Err(StoreError::Invalid(format!(
            "{n} slots do not make elements of width {width}"
        )));
    }
    let leaves = slots
        .chunks(SLOTS)
        .map(|part| {
            let mut c = empty_leaf(elem_is_link);
            c.slots[..part.len()].copy_from_slice(part);
            store.alloc(c)
        })
        .collect();
    Ok(build(store, n / width, width, elem_is_link, leaves))
}

/// All logical slots of array `id`, in order.
pub fn array_slots(store: &Store, id: ChunkId) -> Result<Vec<u64>, StoreError> {
    let info = array_info(store, id)?;
    let total = info.slot_len();
    // The length comes from a chunk that may be hostile: grow as leaves
    // are actually found.
    let mut out = Vec::with_capacity(total.min(1 << 16) as usize);
    if total > 0 {
        let mut seen = IdSet::default();
        gather(store, info.tree, info.height, total, &mut out, &mut seen)?;
    }
    Ok(out)
}

/// The error for a tree that uses chunk `at` twice. A tree must not share
/// chunks: a hostile graph of 13 chunks could otherwise pose as 2^64 slots.
fn shared(at: ChunkId) -> StoreError {
    StoreError::BadShape(at, "array tree uses this chunk twice".to_string())
}

/// Appends the slots of the tree `at` of height `level` to `out`, until it
/// holds `total`; `seen` holds the tree chunks visited so far.
fn gather(
    store: &Store,
    at: ChunkId,
    level: u32,
    total: u64,
    out: &mut Vec<u64>,
    seen: &mut IdSet,
) -> Result<(), StoreError> {
    if !seen.insert(at) {
        return Err(shared(at));
    }
    let c = store.try_get(at)?;
    check_tree_kind(at, c, level)?;
    if level == 0 {
        let take = (total - out.len() as u64).min(FAN) as usize;
        out.extend_from_slice(&c.slots[..take]);
        return Ok(());
    }
    for i in 0..SLOTS {
        if out.len() as u64 >= total {
            break;
        }
        gather(store, child(at, c, i)?, level - 1, total, out, seen)?;
    }
    Ok(())
}

/// A deep copy of array `id`: a new root and tree of data chunks, sharing
/// nothing with the original (the elements of a link array still link to
/// the same chunks). Works on code arrays too (a mutable copy of a
/// constant).
pub fn array_copy(store: &mut Store, id: ChunkId) -> Result<ChunkId, StoreError> {
    let info = array_info(store, id)?;
    let mut root = store.try_get(id)?.clone();
    if !info.tree.is_nil() {
        // Check first, so that a malformed tree leaves no half copy behind.
        check_tree(store, info.tree, info.height)?;
        let tree = copy_tree(store, info.tree, info.height)?;
        root.set_link(ARRAY_TREE, tree);
    }
    Ok(store.alloc(root))
}

/// Checks every chunk of the tree `tree` of height `height`: present, of
/// the kind its level needs, used once.
fn check_tree(store: &Store, tree: ChunkId, height: u32) -> Result<(), StoreError> {
    let mut seen = IdSet::default();
    let mut stack = vec![(tree, height)];
    while let Some((at, level)) = stack.pop() {
        if !seen.insert(at) {
            return Err(shared(at));
        }
        let c = store.try_get(at)?;
        check_tree_kind(at, c, level)?;
        if level > 0 {
            stack.extend(c.links_iter().map(|kid| (kid, level - 1)));
        }
    }
    Ok(())
}

/// Copies the tree `at` of height `level` (checked by [`check_tree`]);
/// returns the copy's id.
fn copy_tree(store: &mut Store, at: ChunkId, level: u32) -> Result<ChunkId, StoreError> {
    let mut c = store.try_get(at)?.clone();
    check_tree_kind(at, &c, level)?;
    if level > 0 {
        for i in 0..SLOTS {
            if let Some(kid) = c.link(i) {
                let copy = copy_tree(store, kid, level - 1)?;
                c.set_link(i, copy);
            }
        }
    }
    Ok(store.alloc(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::id::NodeId;

    const SIZES: [u64; 7] = [0, 1, 31, 32, 33, 1000, 40000];

    /// The smallest height whose tree holds `leaves` leaves.
    fn height_for(leaves: u64) -> u32 {
        let mut h = 0;
        let mut cap = 1u64;
        while cap < leaves {
            cap = cap.saturating_mul(FAN);
            h += 1;
        }
        h
    }

    fn value(k: u64) -> u64 {
        k.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
    }

    #[test]
    fn new_arrays_are_zero_and_settable() {
        for width in [1u64, 2] {
            for len in SIZES {
                let mut s = Store::new(NodeId(1));
                let a = array_new(&mut s, len, width, false).unwrap();
                let info = array_info(&s, a).unwrap();
                assert_eq!(info.len, len);
                assert_eq!(info.width, width);
                assert_eq!(info.height, height_for(leaf_count(len * width)));
                assert_eq!(array_len(&s, a).unwrap(), len);
                assert_eq!(s.len() as u64, array_chunk_count(len, width).unwrap());
                let n = len * width;
                assert_eq!(array_slots(&s, a).unwrap(), vec![0; n as usize]);
                for k in 0..n {
                    array_set_slot(&mut s, a, k, value(k)).unwrap();
                }
                for k in (0..n).step_by(7) {
                    assert_eq!(array_get_slot(&s, a, k).unwrap(), value(k));
                }
                let all = array_slots(&s, a).unwrap();
                assert_eq!(all, (0..n).map(value).collect::<Vec<_>>());
                assert_eq!(
                    array_get_slot(&s, a, n),
                    Err(StoreError::OutOfBounds {
                        id: a,
                        index: n,
                        len: n
                    })
                );
                assert!(array_set_slot(&mut s, a, n, 1).is_err());
            }
        }
    }

    #[test]
    fn from_slots_round_trip() {
        for width in [1u64, 2] {
            for len in SIZES {
                let mut s = Store::new(NodeId(1));
                let slots: Vec<u64> = (0..len * width).map(value).collect();
                let a = array_from_slots(&mut s, &slots, width, false).unwrap();
                assert_eq!(array_len(&s, a).unwrap(), len);
                assert_eq!(array_slots(&s, a).unwrap(), slots);
                if let Some(&last) = slots.last() {
                    let k = slots.len() as u64 - 1;
                    assert_eq!(array_get_slot(&s, a, k).unwrap(), last);
                }
            }
        }
    }

    #[test]
    fn heights() {
        assert_eq!(height_for(0), 0);
        assert_eq!(height_for(1), 0);
        assert_eq!(height_for(2), 1);
        assert_eq!(height_for(32), 1);
        assert_eq!(height_for(33), 2);
        assert_eq!(height_for(1024), 2);
        assert_eq!(height_for(1025), 3);
        let mut s = Store::new(NodeId(1));
        let a = array_new(&mut s, 40000, 2, false).unwrap();
        assert_eq!(array_info(&s, a).unwrap().height, 3);
        assert_eq!(array_chunk_count(0, 1), Some(1));
        assert_eq!(array_chunk_count(33, 1), Some(4));
        assert_eq!(array_chunk_count(1, 3), None);
    }

    #[test]
    fn copies_are_independent() {
        for len in SIZES {
            let mut s = Store::new(NodeId(1));
            let slots: Vec<u64> = (0..len).map(value).collect();
            let a = array_from_slots(&mut s, &slots, 1, false).unwrap();
            let before = s.len();
            let b = array_copy(&mut s, a).unwrap();
            assert_eq!(s.len(), 2 * before);
            assert_eq!(array_slots(&s, b).unwrap(), slots);
            for k in 0..len {
                array_set_slot(&mut s, b, k, 7).unwrap();
            }
            assert_eq!(array_slots(&s, a).unwrap(), slots);
            assert_eq!(array_slots(&s, b).unwrap(), vec![7; len as usize]);
            // The trees share no chunk.
            let ra: std::collections::HashSet<_> = s.reachable(&[a]).unwrap().into_iter().collect();
            assert!(s.reachable(&[b]).unwrap().iter().all(|id| !ra.contains(id)));
        }
    }

    #[test]
    fn link_arrays_mark_links() {
        let mut s = Store::new(NodeId(1));
        let target = s.alloc(Chunk::new(Kind::Env));
        let a = array_new(&mut s, 40, 1, true).unwrap();
        array_set_slot(&mut s, a, 35, target.0).unwrap();
        assert_eq!(array_get_slot(&s, a, 35).unwrap(), target.0);
        let reach = s.reachable(&[a]).unwrap();
        assert!(reach.contains(&target));
        assert_eq!(s.collect(&[a]), 0);
        let b = array_from_slots(&mut s, &[target.0, 0], 2, true).unwrap();
        let info = array_info(&s, b).unwrap();
        let leaf = s.get(info.tree).unwrap();
        assert_eq!(leaf.links, u32::MAX);
        assert_eq!(leaf.link(0), Some(target));
        assert_eq!(leaf.link(1), None);
    }

    #[test]
    fn bad_arguments_and_shapes_are_errors() {
        let mut s = Store::new(NodeId(1));
        assert!(matches!(
            array_new(&mut s, 4, 3, false),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            array_from_slots(&mut s, &[1, 2, 3], 2, false),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            array_new(&mut s, u64::MAX, 2, false),
            Err(StoreError::Invalid(_))
        ));
        let a = array_new(&mut s, 100, 1, false).unwrap();
        let info = array_info(&s, a).unwrap();
        // Wrong kind of root.
        let frame = s.alloc(Chunk::new(Kind::Frame));
        assert!(matches!(
            array_len(&s, frame),
            Err(StoreError::WrongKind { .. })
        ));
        // Height too small for the length.
        s.get_mut(a).unwrap().set_scalar(ARRAY_HEIGHT, 0);
        assert!(matches!(array_len(&s, a), Err(StoreError::BadShape(..))));
        s.get_mut(a).unwrap().set_scalar(ARRAY_HEIGHT, 99);
        assert!(matches!(array_len(&s, a), Err(StoreError::BadShape(..))));
        s.get_mut(a).unwrap().set_scalar(ARRAY_HEIGHT, 1);
        // A hole in the tree.
        s.get_mut(info.tree).unwrap().set_link(3, ChunkId::NIL);
        assert!(matches!(
            array_get_slot(&s, a, 99),
            Err(StoreError::BadShape(..))
        ));
        assert!(matches!(array_slots(&s, a), Err(StoreError::BadShape(..))));
        assert!(array_get_slot(&s, a, 5).is_ok());
        // A node where a leaf should be.
        s.get_mut(info.tree).unwrap().set_link(3, info.tree);
        assert!(matches!(
            array_get_slot(&s, a, 99),
            Err(StoreError::WrongKind { .. })
        ));
        let before = s.len();
        assert!(array_copy(&mut s, a).is_err());
        assert_eq!(s.len(), before, "a failed copy leaves nothing behind");
        // A missing leaf.
        let gone = ChunkId::data(NodeId(1), 1 << 40);
        s.get_mut(info.tree).unwrap().set_link(3, gone);
        assert_eq!(array_get_slot(&s, a, 99), Err(StoreError::Missing(gone)));
        // Empty array with a tree, non-empty without.
        let e = array_new(&mut s, 0, 1, false).unwrap();
        s.get_mut(e).unwrap().set_link(ARRAY_TREE, info.tree);
        assert!(matches!(array_len(&s, e), Err(StoreError::BadShape(..))));
        s.get_mut(e).unwrap().set_scalar(ARRAY_WIDTH, 0);
        assert!(matches!(array_len(&s, e), Err(StoreError::BadShape(..))));
    }

    #[test]
    fn shared_subtrees_are_rejected() {
        // 13 chunks posing as an array of 32^13 slots: every node links its
        // 32 children to the same chunk.
        let mut s = Store::new(NodeId(1));
        let mut at = s.alloc(Chunk::new(Kind::ArrayLeaf));
        for _ in 0..MAX_HEIGHT {
            let mut node = Chunk::new(Kind::ArrayNode);
            for i in 0..SLOTS {
                node.set_link(i, at);
            }
            at = s.alloc(node);
        }
        let mut root = Chunk::new(Kind::Array);
        root.set_scalar(ARRAY_LEN, 1 << 47);
        root.set_scalar(ARRAY_WIDTH, 1);
        root.set_scalar(ARRAY_HEIGHT, MAX_HEIGHT as u64);
        root.set_link(ARRAY_TREE, at);
        let a = s.alloc(root);
        assert_eq!(array_len(&s, a).unwrap(), 1 << 47);
        assert_eq!(array_get_slot(&s, a, 12345).unwrap(), 0);
        assert!(matches!(array_slots(&s, a), Err(StoreError::BadShape(..))));
        let before = s.len();
        assert!(matches!(
            array_copy(&mut s, a),
            Err(StoreError::BadShape(..))
        ));
        assert_eq!(s.len(), before);
    }

    #[test]
    fn code_arrays_are_read_only_but_copyable() {
        let mut s = Store::new(NodeId(1));
        let a = array_from_slots(&mut s, &[1, 2, 3], 1, false).unwrap();
        let info = array_info(&s, a).unwrap();
        // Re-insert the root under a code id.
        let root = s.get(a).unwrap().clone();
        let code = root.content_id();
        s.insert_code(code, root);
        assert_eq!(array_get_slot(&s, code, 2).unwrap(), 3);
        assert!(array_set_slot(&mut s, code, 0, 9).is_ok()); // the leaf is data
        let leaf = s.get(info.tree).unwrap().clone();
        let leaf_code = leaf.content_id();
        s.insert_code(leaf_code, leaf);
        let mut root2 = s.get(code).unwrap().clone();
        root2.set_link(ARRAY_TREE, leaf_code);
        let code2 = root2.content_id();
        s.insert_code(code2, root2);
        assert_eq!(
            array_set_slot(&mut s, code2, 0, 9),
            Err(StoreError::Immutable(leaf_code))
        );
        let copy = array_copy(&mut s, code2).unwrap();
        assert!(copy.is_data());
        array_set_slot(&mut s, copy, 0, 5).unwrap();
        assert_eq!(array_slots(&s, copy).unwrap(), vec![5, 2, 3]);
        assert_eq!(array_slots(&s, code2).unwrap(), vec![9, 2, 3]);
    }
}
