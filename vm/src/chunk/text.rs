//! UTF-8 text as a chain of [`Kind::Text`] chunks (names, file paths and
//! messages carried by programs and threads).
//!
//! Each piece holds up to [`TEXT_BYTES`] bytes: slot 0 is the number of
//! bytes in this piece, slots 1..31 hold the bytes (8 per slot,
//! little-endian, zero-padded) and slot 31 is a link to the next piece (nil
//! on the last). A string is split at byte boundaries, not character
//! boundaries: only the whole chain is UTF-8. The empty string is one piece
//! of length 0.
//!
//! Building a chain needs each piece's id before the previous piece can link
//! to it, and ids are named differently for code (by a digest and
//! index) and data (by the store's allocator), so [`text_chunks`] asks the
//! caller for the ids through a closure. [`Store::put_text`] does it for
//! data text.

use super::id::ChunkId;
use super::slots::{Chunk, Kind, SLOTS};
use super::store::{Store, StoreError};

/// The number of text bytes one piece holds (30 slots of 8).
pub const TEXT_BYTES: usize = 8 * (SLOTS - 2);
/// The slot holding the link to the next piece.
const NEXT: usize = SLOTS - 1;

/// Splits `s` into linked Text pieces. `name(i)` is called once for each
/// piece `i`, in order, and returns its id; piece `i` links to piece `i + 1`
/// in slot 31 and the last one holds a nil link. Returns the pieces with
/// their ids in order: the first is the head to link to. Insert them with
/// [`Store::insert_code`] (code ids) or [`Store::insert`].
///
/// ```
/// # use chunkvm::chunk::{text_chunks, ChunkId};
/// let digest = [0u8; 32];
/// let mut next = 100;
/// let pieces = text_chunks("hello", |_| {
///     next += 1;
///     ChunkId::code(&digest, next)
/// });
/// assert_eq!(pieces.len(), 1);
/// ```
pub fn text_chunks(s: &str, mut name: impl FnMut(usize) -> ChunkId) -> Vec<(ChunkId, Chunk)> {
    let bytes = s.as_bytes();
    let mut pieces: Vec<(ChunkId, Chunk)> = Vec::with_capacity(bytes.len() / TEXT_BYTES + 1);
    let mut parts: Vec<&[u8]> = bytes.chunks(TEXT_BYTES).collect();
    if parts.is_empty() {
        parts.push(&[]);
    }
    for (i, part) in parts.into_iter().enumerate() {
        let mut c = Chunk::new(Kind::Text);
        c.set_scalar(0, part.len() as u64);
        for (j, word) in part.chunks(8).enumerate() {
            let mut buf = [0u8; 8];
            buf[..word.len()].copy_from_slice(word);
            c.set_scalar(1 + j, u64::from_le_bytes(buf));
        }
        c.set_link(NEXT, ChunkId::NIL);
        let id = name(i);
        if let Some((_, prev)) = pieces.last_mut() {
            prev.set_link(NEXT, id);
        }
        pieces.push((id, c));
    }
    pieces
}

/// Reads the text whose first piece is `id`. Fails if a piece is absent,
/// is not a Text chunk, claims more than [`TEXT_BYTES`] bytes, does not link
/// on in slot 31, if the chain loops, or if the bytes are not UTF-8.
pub fn read_text(store: &Store, id: ChunkId) -> Result<String, StoreError> {
    let mut bytes = Vec::new();
    let mut at = id;
    // A chain longer than the store has chunks must loop.
    for _ in 0..=store.len() {
        let c = store.try_get(at)?;
        if c.kind != Kind::Text {
            return Err(StoreError::WrongKind {
                id: at,
                expected: Kind::Text,
                found: c.kind,
            });
        }
        let len = c.get(0);
        if len > TEXT_BYTES as u64 || c.is_link(0) {
            return Err(StoreError::BadShape(
                at,
                format!("text piece claims {len} bytes (at most {TEXT_BYTES})"),
            ));
        }
        if !c.is_link(NEXT) {
            return Err(StoreError::BadShape(
                at,
                "text piece has no link in slot 31".to_string(),
            ));
        }
        let mut left = len as usize;
        for slot in &c.slots[1..NEXT] {
            if left == 0 {
                break;
            }
            let take = left.min(8);
            bytes.extend_from_slice(&slot.to_le_bytes()[..take]);
            left -= take;
        }
        match c.link(NEXT) {
            Some(next) => at = next,
            None => {
                return String::from_utf8(bytes)
                    .map_err(|e| StoreError::BadShape(id, format!("text is not UTF-8: {e}")))
            }
        }
    }
    Err(StoreError::BadShape(id, "text chain loops".to_string()))
}

impl Store {
    /// Stores `s` as a chain of data Text chunks (see [`text_chunks`]) and
    /// returns the id of the first piece.
    pub fn put_text(&mut self, s: &str) -> ChunkId {
        let pieces = text_chunks(s, |_| self.fresh_id());
        let head = pieces.first().map(|(id, _)| *id).unwrap_or(ChunkId::NIL);
        for (id, c) in pieces {
            self.insert(id, c);
        }
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::id::NodeId;

    #[test]
    fn round_trips_at_every_boundary() {
        let mut s = Store::new(NodeId(1));
        let samples = [
            String::new(),
            "a".to_string(),
            "x".repeat(TEXT_BYTES - 1),
            "x".repeat(TEXT_BYTES),
            "x".repeat(TEXT_BYTES + 1),
            "héllo wörld ✓ 🦀 ".repeat(40),
            "y".repeat(3 * TEXT_BYTES),
        ];
        for text in &samples {
            let id = s.put_text(text);
            assert_eq!(read_text(&s, id).unwrap(), *text);
        }
        // Piece counts.
        let pieces = text_chunks(&"x".repeat(TEXT_BYTES), |i| ChunkId(i as u64 + 1));
        assert_eq!(pieces.len(), 1);
        let pieces = text_chunks(&"x".repeat(TEXT_BYTES + 1), |i| ChunkId(i as u64 + 1));
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].1.link(NEXT), Some(ChunkId(2)));
        assert_eq!(pieces[1].1.get(0), 1);
        assert!(pieces[1].1.is_link(NEXT) && pieces[1].1.link(NEXT).is_none());
        assert_eq!(text_chunks("", |_| ChunkId(1)).len(), 1);
    }

    #[test]
    fn code_text_is_content_named() {
        let digest = *blake3::hash(b"prog").as_bytes();
        let mut s = Store::new(NodeId(1));
        let text = "z".repeat(600);
        let mut counter = 10u32;
        let pieces = text_chunks(&text, |_| {
            counter += 1;
            ChunkId::code(&digest, counter)
        });
        assert_eq!(counter, 13);
        let head = pieces[0].0;
        for (id, c) in pieces {
            assert!(s.insert_code(id, c));
        }
        assert_eq!(read_text(&s, head).unwrap(), text);
    }

    #[test]
    fn malformed_chains_are_errors() {
        let mut s = Store::new(NodeId(1));
        let id = s.put_text("abc");
        // Not UTF-8.
        s.get_mut(id).unwrap().set_scalar(1, 0xff);
        assert!(matches!(read_text(&s, id), Err(StoreError::BadShape(..))));
        // Too long.
        s.get_mut(id).unwrap().set_scalar(0, 241);
        assert!(matches!(read_text(&s, id), Err(StoreError::BadShape(..))));
        // A loop.
        let id = s.put_text("abc");
        s.get_mut(id).unwrap().set_link(NEXT, id);
        let e = read_text(&s, id).unwrap_err();
        assert_eq!(e, StoreError::BadShape(id, "text chain loops".to_string()));
        // Missing continuation, wrong kind.
        let gone = ChunkId::data(NodeId(1), 999);
        s.get_mut(id).unwrap().set_link(NEXT, gone);
        assert_eq!(read_text(&s, id), Err(StoreError::Missing(gone)));
        let frame = s.alloc(Chunk::new(Kind::Frame));
        assert!(matches!(
            read_text(&s, frame),
            Err(StoreError::WrongKind { .. })
        ));
    }
}
