//! Chunk ids and node ids.
//!
//! A [`ChunkId`] is one 64-bit slot value. It names a chunk, never an
//! address, and is unique across every node that shares chunks:
//!
//! * **Code ids** (immutable chunks, named by content) have the top bit set;
//!   the low 63 bits come from a blake3 hash. Two nodes that compile the same
//!   program get the same ids, so a node that already holds a filter's code
//!   never fetches it again.
//! * **Data ids** (mutable chunks with one owner) have the top bit clear,
//!   the allocating node's id in bits 62..48 and a per-node serial (starting
//!   at 1) in bits 47..0. The node part tells which node to ask for a chunk.
//! * [`ChunkId::NIL`] (all zeros) is a null link.
//!
//! The text form is `c:` followed by 16 hex digits for code ids (the whole
//! 64-bit value), `d<node>.<serial>` in decimal for data ids (`d1.42`) and
//! `nil` for the null id; [`ChunkId`] implements both [`fmt::Display`] and
//! [`FromStr`] for it.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;

/// Bit 63: set on code (content-named, immutable) ids.
const CODE_BIT: u64 = 1 << 63;
/// Number of bits of a data id's serial.
const SERIAL_BITS: u32 = 48;
/// Mask of a data id's serial.
const SERIAL_MASK: u64 = (1 << SERIAL_BITS) - 1;
/// Mask of a node id (15 bits).
const NODE_MASK: u64 = 0x7fff;

/// The id of a node (a process holding a chunk store): `1..=0x7fff`; 0 is
/// invalid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId(pub u16);

impl NodeId {
    /// The largest valid node id.
    pub const MAX: NodeId = NodeId(0x7fff);

    /// A node id, or `None` if `n` is 0 or above [`NodeId::MAX`].
    pub fn new(n: u16) -> Option<NodeId> {
        let id = NodeId(n);
        id.is_valid().then_some(id)
    }

    /// Whether the id is in `1..=0x7fff`.
    pub fn is_valid(self) -> bool {
        (1..=Self::MAX.0).contains(&self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// The id of a chunk: a code id, a data id or [`ChunkId::NIL`] (see the
/// module documentation for the layout).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[repr(transparent)]
pub struct ChunkId(pub u64);

impl Default for ChunkId {
    fn default() -> Self {
        ChunkId::NIL
    }
}

impl ChunkId {
    /// The null link.
    pub const NIL: ChunkId = ChunkId(0);

    /// The id of the code chunk number `index` named under `digest` (a
    /// function's, a program's or a text's: see
    /// `compile::chunks`): the top bit set over the first 8 bytes
    /// (little-endian) of `blake3(digest || index as u32 LE)`.
    pub fn code(digest: &[u8; 32], index: u32) -> ChunkId {
        let mut hasher = blake3::Hasher::new();
        hasher.update(digest);
        hasher.update(&index.to_le_bytes());
        Self::from_hash(hasher.finalize())
    }

    /// A code id naming `bytes` by content: the top bit set over the first
    /// 8 bytes (little-endian) of `blake3(bytes)`.
    pub fn content(bytes: &[u8]) -> ChunkId {
        Self::from_hash(blake3::hash(bytes))
    }

    /// Builds a code id from a blake3 hash.
    fn from_hash(hash: blake3::Hash) -> ChunkId {
        let b = hash.as_bytes();
        let low = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        ChunkId(CODE_BIT | (low & !CODE_BIT))
    }

    /// The data id with serial `serial` allocated by `node`. Only the low 15
    /// bits of the node and the low 48 bits of the serial are kept.
    pub fn data(node: NodeId, serial: u64) -> ChunkId {
        ChunkId(((node.0 as u64 & NODE_MASK) << SERIAL_BITS) | (serial & SERIAL_MASK))
    }

    /// The largest serial a data id can hold (2^48 - 1).
    pub const MAX_SERIAL: u64 = SERIAL_MASK;

    /// Whether this is the null link.
    #[inline]
    pub fn is_nil(self) -> bool {
        self.0 == 0
    }

    /// Whether this is a code (immutable, content-named) id.
    #[inline]
    pub fn is_code(self) -> bool {
        self.0 & CODE_BIT != 0
    }

    /// Whether this is a data (mutable, owned) id: neither code nor nil.
    #[inline]
    pub fn is_data(self) -> bool {
        !self.is_code() && !self.is_nil()
    }

    /// The node that allocated a data id; `None` for code ids and nil.
    #[inline]
    pub fn node(self) -> Option<NodeId> {
        if self.is_data() {
            // The node part has 15 bits, so the cast keeps it whole.
            Some(NodeId(((self.0 >> SERIAL_BITS) & NODE_MASK) as u16))
        } else {
            None
        }
    }

    /// The serial of a data id (bits 47..0); 0 for code ids and nil.
    #[inline]
    pub fn serial(self) -> u64 {
        if self.is_code() {
            0
        } else {
            self.0 & SERIAL_MASK
        }
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_nil() {
            f.write_str("nil")
        } else if self.is_code() {
            write!(f, "c:{:016x}", self.0)
        } else {
            write!(
                f,
                "d{}.{}",
                (self.0 >> SERIAL_BITS) & NODE_MASK,
                self.0 & SERIAL_MASK
            )
        }
    }
}

/// Why a string is not a chunk id (see [`ChunkId`]'s [`FromStr`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ParseIdError {
    /// The text that was not understood.
    pub text: String,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a chunk id (expected `nil`, `c:` and 16 hex digits with the top bit set, or `d<node>.<serial>`)",
            self.text
        )
    }
}

impl std::error::Error for ParseIdError {}

impl FromStr for ChunkId {
    type Err = ParseIdError;

    /// Parses `nil`, `c:<16 hex digits>` (top bit set) or
    /// `d<node>.<serial>` (node at most 0x7fff, serial below 2^48).
    fn from_str(s: &str) -> Result<ChunkId, ParseIdError> {
        let err = || ParseIdError {
            text: s.to_string(),
        };
        let digits = |t: &str, radix: u32| -> Option<u64> {
            let ok = !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
            ok.then(|| u64::from_str_radix(t, radix).ok()).flatten()
        };
        if s == "nil" {
            return Ok(ChunkId::NIL);
        }
        if let Some(hex) = s.strip_prefix("c:") {
            if hex.len() != 16 {
                return Err(err());
            }
            let v = digits(hex, 16).ok_or_else(err)?;
            return if v & CODE_BIT != 0 {
                Ok(ChunkId(v))
            } else {
                Err(err())
            };
        }
        if let Some(rest) = s.strip_prefix('d') {
            let (node, serial) = rest.split_once('.').ok_or_else(err)?;
            let node = digits(node, 10).ok_or_else(err)?;
            let serial = digits(serial, 10).ok_or_else(err)?;
            if node > NODE_MASK || serial > SERIAL_MASK {
                return Err(err());
            }
            return Ok(ChunkId((node << SERIAL_BITS) | serial));
        }
        Err(err())
    }
}

/// A [`Hasher`] for [`ChunkId`] keys that keeps runs of 16 consecutive ids
/// together. Hashbrown takes a key's bucket from the low bits of its hash and
/// its control byte from the top 7. The id without its low 4 bits is multiplied
/// by the golden-ratio constant and folded (so that groups of 16 are spread over
/// the table, as random ids are); the low 4 bits stay the low 4 bits of the
/// bucket, so the 16 ids of a group sit in neighbouring buckets (a tile, then the
/// next: the same control group and cache lines, where spreading every id cost a
/// cache miss per chunk made or read); and they change the control byte, so that
/// a look-up in the group compares one key, not sixteen. Data ids are sequential
/// serials: an image's tiles, made in a row, are looked up in a row.
#[derive(Clone, Copy, Default, Debug)]
pub struct IdHasher {
    hash: u64,
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
        const TOP7: u64 = 0xFE00_0000_0000_0000;
        let v = self.hash ^ v;
        let group = (v >> 4).wrapping_mul(GOLDEN);
        let group = group ^ (group >> 32);
        let low = v & 15;
        self.hash = ((group << 4) | low) ^ (low.wrapping_mul(GOLDEN) & TOP7);
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..b.len()].copy_from_slice(b);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
}

/// The [`std::hash::BuildHasher`] of [`IdHasher`].
pub type IdBuildHasher = BuildHasherDefault<IdHasher>;
/// A hash map keyed by chunk ids with the fast [`IdHasher`].
pub type IdMap<V> = std::collections::HashMap<ChunkId, V, IdBuildHasher>;
/// A hash set of chunk ids with the fast [`IdHasher`].
pub type IdSet = std::collections::HashSet<ChunkId, IdBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_ids_have_the_top_bit_and_are_deterministic() {
        let digest = *blake3::hash(b"program").as_bytes();
        let a = ChunkId::code(&digest, 0);
        let b = ChunkId::code(&digest, 1);
        assert!(a.is_code() && b.is_code());
        assert_ne!(a, b);
        assert_eq!(a, ChunkId::code(&digest, 0));
        assert_eq!(a.node(), None);
        assert_eq!(a.serial(), 0);
        // The definition, spelled out.
        let mut input = digest.to_vec();
        input.extend_from_slice(&7u32.to_le_bytes());
        let h = blake3::hash(&input);
        let mut first = [0u8; 8];
        first.copy_from_slice(&h.as_bytes()[..8]);
        let want = (1u64 << 63) | (u64::from_le_bytes(first) & !(1u64 << 63));
        assert_eq!(ChunkId::code(&digest, 7), ChunkId(want));
        assert_eq!(ChunkId::content(&input), ChunkId(want));
    }

    #[test]
    fn data_ids_carry_node_and_serial() {
        let id = ChunkId::data(NodeId(3), 42);
        assert!(id.is_data() && !id.is_code() && !id.is_nil());
        assert_eq!(id.node(), Some(NodeId(3)));
        assert_eq!(id.serial(), 42);
        assert_eq!(id.0, (3 << 48) | 42);
        let max = ChunkId::data(NodeId::MAX, ChunkId::MAX_SERIAL);
        assert!(!max.is_code());
        assert_eq!(max.node(), Some(NodeId::MAX));
        assert_eq!(max.serial(), ChunkId::MAX_SERIAL);
        assert_ne!(ChunkId::data(NodeId(1), 5), ChunkId::data(NodeId(2), 5));
        assert_eq!(ChunkId::NIL.node(), None);
        assert!(ChunkId::NIL.is_nil() && !ChunkId::NIL.is_data());
    }

    #[test]
    fn node_id_range() {
        assert_eq!(NodeId::new(0), None);
        assert_eq!(NodeId::new(1), Some(NodeId(1)));
        assert_eq!(NodeId::new(0x7fff), Some(NodeId(0x7fff)));
        assert_eq!(NodeId::new(0x8000), None);
    }

    #[test]
    fn display_and_parse_round_trip() {
        let digest = [9u8; 32];
        let ids = [
            ChunkId::NIL,
            ChunkId::data(NodeId(1), 42),
            ChunkId::data(NodeId::MAX, ChunkId::MAX_SERIAL),
            ChunkId::code(&digest, 3),
            ChunkId(1 << 63),
            ChunkId(u64::MAX),
        ];
        for id in ids {
            let text = id.to_string();
            assert_eq!(text.parse::<ChunkId>(), Ok(id), "{text}");
        }
        assert_eq!(ChunkId::data(NodeId(1), 42).to_string(), "d1.42");
        assert_eq!(ChunkId(1 << 63).to_string(), "c:8000000000000000");
        assert_eq!(ChunkId::NIL.to_string(), "nil");
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [
            "",
            "d",
            "d1",
            "d1.",
            "d.1",
            "d+1.2",
            "d1.-2",
            "d32768.1",
            "d1.281474976710656",
            "c:",
            "c:123",
            "c:0000000000000001",
            "c:+000000000000001",
            "c:8000000000000000a",
            "x1.2",
            "NIL",
        ] {
            let e = bad.parse::<ChunkId>().err();
            assert!(e.is_some(), "{bad:?} parsed");
            assert!(e
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("not a chunk id"));
        }
    }

    #[test]
    fn hasher_spreads_sequential_ids() {
        use std::hash::BuildHasher;
        let b = IdBuildHasher::default();
        let mut tops = std::collections::HashSet::new();
        for s in 1..1000u64 {
            tops.insert(b.hash_one(ChunkId::data(NodeId(1), s)) >> 57);
        }
        // 7 control bits: sequential ids should hit most of the 128 values.
        assert!(tops.len() > 100, "{}", tops.len());
        // 16 ids in a row from a multiple of 16: neighbouring buckets, each its own
        // control byte; the next 16 somewhere else.
        let first = b.hash_one(ChunkId::data(NodeId(1), 32));
        let mut controls = std::collections::HashSet::new();
        for i in 0..16u64 {
            let h = b.hash_one(ChunkId::data(NodeId(1), 32 + i));
            assert_eq!(h & 0xffff, (first & 0xffff) + i, "{i}");
            controls.insert(h >> 57);
        }
        assert_eq!(controls.len(), 16);
        let next = b.hash_one(ChunkId::data(NodeId(1), 48));
        assert_ne!(next & 0xffff, (first & 0xffff) + 16);
    }
}
