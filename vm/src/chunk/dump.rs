//! A plain, deterministic text form of chunks, for people, logs and
//! snapshot tests.
//!
//! ```text
//! d1.3 frame (2 links)
//!   [00] link   d1.7
//!   [01] scalar 0x000000000000002a (42)
//!   [02] link   nil
//!   (29 trailing zero scalar slots)
//! ```
//!
//! Every slot up to the last link or non-zero scalar gets a line, but a run of
//! three or more zero scalars gets one line for the run; the zero scalars after
//! the last used slot are only counted. A scalar shows its hex value and, in
//! parentheses, its decimal value (as a signed number when the top bit is
//! set: `0xffffffffffffffff (-1)`).

use std::fmt;

use super::encode::ChunkSet;
use super::id::ChunkId;
use super::slots::{Chunk, SLOTS};

/// Zero scalar slots in a row that get one line instead of one each.
const FOLD: usize = 3;

/// Writes chunk `id`: a header line, then one line per used slot; runs of 3 or more
/// zero scalars get one line (`[06]..[30] zero scalars (25 slots)`).
pub fn write_chunk(out: &mut impl fmt::Write, id: ChunkId, chunk: &Chunk) -> fmt::Result {
    let n = chunk.link_count();
    let plural = if n == 1 { "" } else { "s" };
    writeln!(out, "{id} {} ({n} link{plural})", chunk.kind)?;
    let used = (0..SLOTS)
        .rev()
        .find(|&i| chunk.is_link(i) || chunk.get(i) != 0)
        .map_or(0, |i| i + 1);
    let zero = |i: usize| !chunk.is_link(i) && chunk.get(i) == 0;
    let mut i = 0;
    while i < used {
        let v = chunk.get(i);
        let run = (i..used).take_while(|&j| zero(j)).count();
        if run >= FOLD {
            writeln!(
                out,
                "  [{i:02}]..[{:02}] zero scalars ({run} slots)",
                i + run - 1
            )?;
            i += run;
            continue;
        }
        if chunk.is_link(i) {
            writeln!(out, "  [{i:02}] link   {}", ChunkId(v))?;
        } else if (v as i64) < 0 {
            writeln!(out, "  [{i:02}] scalar 0x{v:016x} ({})", v as i64)?;
        } else {
            writeln!(out, "  [{i:02}] scalar 0x{v:016x} ({v})")?;
        }
        i += 1;
    }
    let skipped = SLOTS - used;
    if skipped > 0 {
        let plural = if skipped == 1 { "" } else { "s" };
        writeln!(out, "  ({skipped} trailing zero scalar slot{plural})")?;
    }
    Ok(())
}

/// The text of [`write_chunk`] as a string.
pub fn dump_chunk(id: ChunkId, chunk: &Chunk) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_chunk(&mut s, id, chunk);
    s
}

/// Writes a set: a line with its root and size, then every chunk in order
/// (as [`write_chunk`]).
pub fn write_set(out: &mut impl fmt::Write, set: &ChunkSet) -> fmt::Result {
    let n = set.chunks.len();
    let plural = if n == 1 { "" } else { "s" };
    writeln!(out, "set root {}, {n} chunk{plural}", set.root)?;
    for (id, chunk) in &set.chunks {
        write_chunk(out, *id, chunk)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::id::NodeId;
    use crate::chunk::slots::Kind;

    #[test]
    fn dump_is_plain_and_deterministic() {
        let mut c = Chunk::new(Kind::Frame);
        c.set_link(0, ChunkId::data(NodeId(1), 7));
        c.set_scalar(1, 42);
        c.set_link(2, ChunkId::NIL);
        c.set_link(4, ChunkId(0x8000_0000_0000_00ff));
        c.set_scalar(5, u64::MAX);
        let text = dump_chunk(ChunkId::data(NodeId(1), 3), &c);
        assert_eq!(
            text,
            "d1.3 frame (3 links)\n\
             \x20 [00] link   d1.7\n\
             \x20 [01] scalar 0x000000000000002a (42)\n\
             \x20 [02] link   nil\n\
             \x20 [03] scalar 0x0000000000000000 (0)\n\
             \x20 [04] link   c:80000000000000ff\n\
             \x20 [05] scalar 0xffffffffffffffff (-1)\n\
             \x20 (26 trailing zero scalar slots)\n"
        );
    }

    #[test]
    fn edge_cases() {
        let c = Chunk::new(Kind::Tile);
        assert_eq!(
            dump_chunk(ChunkId::data(NodeId(2), 1), &c),
            "d2.1 tile (0 links)\n  (32 trailing zero scalar slots)\n"
        );
        let mut c = Chunk::new(Kind::Text);
        c.set_link(31, ChunkId::NIL);
        let text = dump_chunk(ChunkId::data(NodeId(2), 1), &c);
        assert!(text.starts_with("d2.1 text (1 link)\n"));
        assert!(text.ends_with("  [31] link   nil\n"));
        assert!(
            text.contains("\n  [00]..[30] zero scalars (31 slots)\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 3);
        let mut c = Chunk::new(Kind::Regs);
        c.set_scalar(30, 1);
        assert!(dump_chunk(ChunkId(5), &c).ends_with("(1)\n  (1 trailing zero scalar slot)\n"));
        let set = ChunkSet {
            root: ChunkId::data(NodeId(2), 1),
            chunks: vec![(ChunkId::data(NodeId(2), 1), Chunk::new(Kind::Pc))],
        };
        let mut s = String::new();
        write_set(&mut s, &set).unwrap();
        assert_eq!(
            s,
            "set root d2.1, 1 chunk\nd2.1 pc (0 links)\n  (32 trailing zero scalar slots)\n"
        );
    }

    #[test]
    fn runs_of_zero_scalars_fold() {
        let mut c = Chunk::new(Kind::Block);
        c.set_scalar(0, 7);
        c.set_scalar(3, 1);
        c.set_link(31, ChunkId::NIL);
        let text = dump_chunk(ChunkId::data(NodeId(1), 1), &c);
        assert_eq!(
            text,
            "d1.1 block (1 link)\n\
             \x20 [00] scalar 0x0000000000000007 (7)\n\
             \x20 [01] scalar 0x0000000000000000 (0)\n\
             \x20 [02] scalar 0x0000000000000000 (0)\n\
             \x20 [03] scalar 0x0000000000000001 (1)\n\
             \x20 [04]..[30] zero scalars (27 slots)\n\
             \x20 [31] link   nil\n"
        );
    }
}
