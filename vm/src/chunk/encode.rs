//! The binary encoding of chunks: one versioned format, used on the wire and
//! in snapshot files. Everything is little-endian.
//!
//! ```text
//! set:   magic "CHNK" | version u16 = 1 | flags u16 = 0 | root id u64 | count u32 | count entries
//! entry: id u64 | kind u8 | links u32 | 32 x slot u64            (269 bytes)
//! ```
//!
//! Decoding never trusts the input: it checks every length before reading
//! and before allocating, and reports the byte offset of what is wrong. A
//! valid encoding decodes and re-encodes to the same bytes.

use std::fmt;

use super::id::{ChunkId, IdSet};
use super::slots::{Chunk, Kind, SLOTS};

/// The first four bytes of an encoded set.
pub const MAGIC: [u8; 4] = *b"CHNK";
/// The version this build writes and reads.
pub const VERSION: u16 = 1;
/// The length of a set's header (magic, version, flags, root, count).
pub const HEADER_LEN: usize = 4 + 2 + 2 + 8 + 4;
/// The length of one encoded entry (id, kind, links, slots).
pub const ENTRY_LEN: usize = 8 + 1 + 4 + 8 * SLOTS;

/// Byte offsets of the header's fields.
const VERSION_AT: usize = 4;
const FLAGS_AT: usize = 6;
const COUNT_AT: usize = 16;

/// A set of chunks with a root: what travels on the wire and sits in a
/// snapshot file.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ChunkSet {
    /// The chunk the set is about (a thread, an image...); may be nil.
    pub root: ChunkId,
    /// The chunks, in order, each id once, none nil.
    pub chunks: Vec<(ChunkId, Chunk)>,
}

/// Why bytes are not a valid encoding, and where.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DecodeError {
    /// The byte offset (in the whole input) of the field that is wrong.
    pub offset: usize,
    /// What is wrong.
    pub what: String,
}

impl DecodeError {
    fn new(offset: usize, what: impl Into<String>) -> DecodeError {
        DecodeError {
            offset,
            what: what.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.what)
    }
}

impl std::error::Error for DecodeError {}

/// Appends the entry of chunk `id` to `out` ([`ENTRY_LEN`] bytes).
pub fn encode_chunk(id: ChunkId, chunk: &Chunk, out: &mut Vec<u8>) {
    out.reserve(ENTRY_LEN);
    out.extend_from_slice(&id.0.to_le_bytes());
    out.push(chunk.kind.as_u8());
    out.extend_from_slice(&chunk.links.to_le_bytes());
    for s in &chunk.slots {
        out.extend_from_slice(&s.to_le_bytes());
    }
}

/// Decodes exactly one entry (as written by [`encode_chunk`]); the input
/// must be [`ENTRY_LEN`] bytes long.
pub fn decode_chunk(bytes: &[u8]) -> Result<(ChunkId, Chunk), DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let entry = r.entry()?;
    r.end()?;
    Ok(entry)
}

/// Encodes a set: header, then every chunk in order.
pub fn encode_set(set: &ChunkSet) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + ENTRY_LEN * set.chunks.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&set.root.0.to_le_bytes());
    // A set of 2^32 chunks would take a terabyte of memory before encoding.
    let count = u32::try_from(set.chunks.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_le_bytes());
    for (id, chunk) in &set.chunks {
        encode_chunk(*id, chunk, &mut out);
    }
    out
}

/// Decodes a set. Rejects a bad magic, another version, non-zero flags, a
/// count the data cannot hold, unknown kinds, nil or duplicate chunk ids and
/// trailing bytes.
pub fn decode_set(bytes: &[u8]) -> Result<ChunkSet, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let magic = r.take(4)?;
    if magic != MAGIC {
        return Err(DecodeError::new(
            0,
            format!("bad magic {magic:02x?}, expected \"CHNK\""),
        ));
    }
    let version = r.u16()?;
    if version != VERSION {
        return Err(DecodeError::new(
            VERSION_AT,
            format!("unsupported version {version} (this build reads {VERSION})"),
        ));
    }
    let flags = r.u16()?;
    if flags != 0 {
        return Err(DecodeError::new(
            FLAGS_AT,
            format!("unsupported flags 0x{flags:04x} (this build knows none)"),
        ));
    }
    let root = ChunkId(r.u64()?);
    debug_assert_eq!(r.pos, COUNT_AT);
    let count = r.u32()? as usize;
    let remaining = bytes.len() - r.pos;
    let need = count.checked_mul(ENTRY_LEN);
    if need.is_none_or(|need| need > remaining) {
        return Err(DecodeError::new(
            COUNT_AT,
            format!(
                "count {count} larger than the data: {count} entries of {ENTRY_LEN} bytes, {remaining} bytes follow"
            ),
        ));
    }
    // The length check above bounds these allocations by the input's size.
    let mut chunks = Vec::with_capacity(count);
    let mut seen = IdSet::with_capacity_and_hasher(count, Default::default());
    for _ in 0..count {
        let at = r.pos;
        let (id, chunk) = r.entry()?;
        if !seen.insert(id) {
            return Err(DecodeError::new(at, format!("duplicate chunk id {id}")));
        }
        chunks.push((id, chunk));
    }
    r.end()?;
    Ok(ChunkSet { root, chunks })
}

/// A cursor over untrusted bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// The next `n` bytes, or a truncation error at the current offset.
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let have = self.bytes.len().saturating_sub(self.pos);
        if have < n {
            return Err(DecodeError::new(
                self.pos,
                format!("truncated: need {n} bytes, {have} left"),
            ));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_le_bytes)
    }

    /// One entry; checks the whole length first so a truncated entry is
    /// reported at its start.
    fn entry(&mut self) -> Result<(ChunkId, Chunk), DecodeError> {
        let start = self.pos;
        let have = self.bytes.len().saturating_sub(start);
        if have < ENTRY_LEN {
            return Err(DecodeError::new(
                start,
                format!("truncated: need {ENTRY_LEN} bytes for a chunk, {have} left"),
            ));
        }
        let id = ChunkId(self.u64()?);
        if id.is_nil() {
            return Err(DecodeError::new(start, "nil id for a chunk"));
        }
        let kind_at = self.pos;
        let k = self.array::<1>()?[0];
        let kind = Kind::from_u8(k)
            .ok_or_else(|| DecodeError::new(kind_at, format!("unknown chunk kind {k}")))?;
        let links = self.u32()?;
        let mut slots = [0u64; SLOTS];
        for s in &mut slots {
            *s = self.u64()?;
        }
        Ok((id, Chunk { kind, links, slots }))
    }

    /// Fails if bytes are left.
    fn end(&self) -> Result<(), DecodeError> {
        let extra = self.bytes.len().saturating_sub(self.pos);
        if extra > 0 {
            return Err(DecodeError::new(
                self.pos,
                format!("{extra} trailing bytes"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::id::NodeId;

    fn sample() -> ChunkSet {
        let mut a = Chunk::new(Kind::Thread);
        a.set_link(0, ChunkId::data(NodeId(1), 2));
        a.set_scalar(1, 0xdead_beef);
        a.set_f64(2, 2.5);
        let mut b = Chunk::new(Kind::Frame);
        b.set_link(31, ChunkId::NIL);
        ChunkSet {
            root: ChunkId::data(NodeId(1), 1),
            chunks: vec![
                (ChunkId::data(NodeId(1), 1), a),
                (ChunkId::data(NodeId(1), 2), b),
            ],
        }
    }

    #[test]
    fn layout_is_as_documented() {
        let set = sample();
        let bytes = encode_set(&set);
        assert_eq!(bytes.len(), HEADER_LEN + 2 * ENTRY_LEN);
        assert_eq!(&bytes[..4], b"CHNK");
        assert_eq!(&bytes[4..6], &[1, 0]);
        assert_eq!(&bytes[6..8], &[0, 0]);
        assert_eq!(&bytes[8..16], &set.root.0.to_le_bytes());
        assert_eq!(&bytes[16..20], &[2, 0, 0, 0]);
        let e = &bytes[HEADER_LEN..];
        assert_eq!(&e[..8], &set.chunks[0].0 .0.to_le_bytes());
        assert_eq!(e[8], Kind::Thread as u8);
        assert_eq!(&e[9..13], &1u32.to_le_bytes());
        assert_eq!(&e[13..21], &ChunkId::data(NodeId(1), 2).0.to_le_bytes());
        assert_eq!(&e[21..29], &0xdead_beefu64.to_le_bytes());
        assert_eq!(decode_set(&bytes).unwrap(), set);
    }

    #[test]
    fn chunk_round_trip() {
        let set = sample();
        for (id, c) in &set.chunks {
            let mut out = Vec::new();
            encode_chunk(*id, c, &mut out);
            assert_eq!(out.len(), ENTRY_LEN);
            assert_eq!(decode_chunk(&out).unwrap(), (*id, c.clone()));
            out.push(0);
            let e = decode_chunk(&out).unwrap_err();
            assert_eq!((e.offset, e.what.as_str()), (ENTRY_LEN, "1 trailing bytes"));
            let e = decode_chunk(&out[..100]).unwrap_err();
            assert_eq!(e.offset, 0);
            assert!(e.what.starts_with("truncated: need 269 bytes"), "{e}");
        }
    }

    #[test]
    fn empty_set_round_trip() {
        let set = ChunkSet::default();
        let bytes = encode_set(&set);
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(decode_set(&bytes).unwrap(), set);
    }

    fn err(bytes: &[u8]) -> DecodeError {
        decode_set(bytes).unwrap_err()
    }

    #[test]
    fn errors_say_what_and_where() {
        let good = encode_set(&sample());

        let mut b = good.clone();
        b[1] = b'X';
        assert_eq!(err(&b).offset, 0);
        assert!(err(&b).what.starts_with("bad magic"), "{}", err(&b));

        let mut b = good.clone();
        b[4] = 2;
        assert_eq!(
            err(&b).to_string(),
            "at byte 4: unsupported version 2 (this build reads 1)"
        );

        let mut b = good.clone();
        b[7] = 1;
        assert_eq!(err(&b).offset, 6);

        let e = err(&good[..10]);
        assert_eq!(e.offset, 8);
        assert!(e.what.starts_with("truncated: need 8 bytes"), "{e}");

        let e = err(&good[..good.len() - 1]);
        assert_eq!(e.offset, 16);
        assert!(e.what.starts_with("count 2 larger than the data"), "{e}");

        let mut b = good.clone();
        b[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(err(&b).offset, 16);

        let mut b = good.clone();
        b.extend_from_slice(&[0; 3]);
        assert_eq!(
            err(&b).to_string(),
            format!("at byte {}: 3 trailing bytes", good.len())
        );

        let mut b = good.clone();
        b[HEADER_LEN + ENTRY_LEN + 8] = 0;
        assert_eq!(
            err(&b).to_string(),
            format!(
                "at byte {}: unknown chunk kind 0",
                HEADER_LEN + ENTRY_LEN + 8
            )
        );

        let mut b = good.clone();
        b[HEADER_LEN + ENTRY_LEN..HEADER_LEN + ENTRY_LEN + 8].fill(0);
        assert_eq!(
            err(&b).to_string(),
            format!("at byte {}: nil id for a chunk", HEADER_LEN + ENTRY_LEN)
        );

        let mut b = good.clone();
        let first_id = b[HEADER_LEN..HEADER_LEN + 8].to_vec();
        b[HEADER_LEN + ENTRY_LEN..HEADER_LEN + ENTRY_LEN + 8].copy_from_slice(&first_id);
        assert_eq!(
            err(&b).to_string(),
            format!(
                "at byte {}: duplicate chunk id d1.1",
                HEADER_LEN + ENTRY_LEN
            )
        );

        assert_eq!(err(&[]).offset, 0);
    }
}
