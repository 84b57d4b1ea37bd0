//! The chunk itself: a kind, 32 slots of 64 bits and a mask that tells which
//! slots are links.

use std::fmt;

use super::id::ChunkId;

/// Number of slots in every chunk (32 slots of 64 bits: 256 bytes, one 8x8
/// RGBA8 tile).
pub const SLOTS: usize = 32;

/// What a chunk is for. The numbers are part of the binary encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[repr(u8)]
pub enum Kind {
    /// The root of a compiled program.
    Program = 1,
    /// A compiled function.
    Function = 2,
    /// A basic block of instructions (continued in linked blocks if long).
    Block = 3,
    /// The root of a computation.
    Thread = 4,
    /// An activation record.
    Frame = 5,
    /// A closure environment.
    Env = 6,
    /// A closure: code plus environment.
    Closure = 7,
    /// The root of an array (see the `array` module).
    Array = 8,
    /// An interior node of an array's tree.
    ArrayNode = 9,
    /// A leaf of an array's tree.
    ArrayLeaf = 10,
    /// The root of an image (see the `image` module).
    Image = 11,
    /// An 8x8 RGBA8 tile of an image.
    Tile = 12,
    /// Global variables.
    Globals = 13,
    /// A piece of UTF-8 text (see the `text` module).
    Text = 14,
    /// Thread-local temporaries (registers).
    Regs = 15,
    /// A program counter: block and instruction index.
    Pc = 16,
    /// A photo: its size and the Image chunk of each level of its pyramid.
    Photo = 17,
    /// A filter or pipeline run over an image: its stages, position and output so far.
    Job = 18,
}

impl Kind {
    /// Every kind, in the order of their numbers.
    pub const ALL: [Kind; 18] = [
        Kind::Program,
        Kind::Function,
        Kind::Block,
        Kind::Thread,
        Kind::Frame,
        Kind::Env,
        Kind::Closure,
        Kind::Array,
        Kind::ArrayNode,
        Kind::ArrayLeaf,
        Kind::Image,
        Kind::Tile,
        Kind::Globals,
        Kind::Text,
        Kind::Regs,
        Kind::Pc,
        Kind::Photo,
        Kind::Job,
    ];

    /// The kind with number `n`, if any.
    pub fn from_u8(n: u8) -> Option<Kind> {
        let i = usize::from(n).checked_sub(1)?;
        Kind::ALL.get(i).copied()
    }

    /// The kind's number in the encoding.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The lower-case name (`"block"`, `"array_leaf"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Program => "program",
            Kind::Function => "function",
            Kind::Block => "block",
            Kind::Thread => "thread",
            Kind::Frame => "frame",
            Kind::Env => "env",
            Kind::Closure => "closure",
            Kind::Array => "array",
            Kind::ArrayNode => "array_node",
            Kind::ArrayLeaf => "array_leaf",
            Kind::Image => "image",
            Kind::Tile => "tile",
            Kind::Globals => "globals",
            Kind::Text => "text",
            Kind::Regs => "regs",
            Kind::Pc => "pc",
            Kind::Photo => "photo",
            Kind::Job => "job",
        }
    }

    /// The kind called `name` (as given by [`Kind::name`]), if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A chunk: a kind and [`SLOTS`] slots of 64 bits. Bit `i` of `links` set
/// means slot `i` holds a link (a [`ChunkId`]; 0 is a nil link); clear means
/// it holds uninterpreted scalar data. A slot is one or the other, never
/// both.
///
/// The slot accessors take an index below [`SLOTS`] and panic otherwise, like
/// slice indexing: slot numbers are fixed by each kind's layout.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Chunk {
    /// What the chunk is for.
    pub kind: Kind,
    /// Bit `i` set: slot `i` is a link.
    pub links: u32,
    /// The slots.
    pub slots: [u64; SLOTS],
}

impl Chunk {
    /// A chunk of `kind` with every slot a zero scalar.
    pub fn new(kind: Kind) -> Chunk {
        Chunk {
            kind,
            links: 0,
            slots: [0; SLOTS],
        }
    }

    /// Stores a scalar in slot `i` (the slot stops being a link).
    #[inline]
    pub fn set_scalar(&mut self, i: usize, v: u64) {
        self.slots[i] = v;
        self.links &= !(1u32 << i);
    }

    /// Stores a link in slot `i` (nil is allowed: a null link).
    #[inline]
    pub fn set_link(&mut self, i: usize, id: ChunkId) {
        self.slots[i] = id.0;
        self.links |= 1u32 << i;
    }

    /// The raw value of slot `i`, link or scalar.
    #[inline]
    pub fn get(&self, i: usize) -> u64 {
        self.slots[i]
    }

    /// Whether slot `i` is a link (possibly nil); false for `i >= SLOTS`.
    #[inline]
    pub fn is_link(&self, i: usize) -> bool {
        i < SLOTS && self.links & (1u32 << i) != 0
    }

    /// The link in slot `i`; `None` if the slot is a scalar or a nil link.
    #[inline]
    pub fn link(&self, i: usize) -> Option<ChunkId> {
        let v = self.slots[i];
        (self.is_link(i) && v != 0).then_some(ChunkId(v))
    }

    /// Stores an `f64` scalar (its bits) in slot `i`.
    #[inline]
    pub fn set_f64(&mut self, i: usize, v: f64) {
        self.set_scalar(i, v.to_bits());
    }

    /// Slot `i` read as the bits of an `f64`.
    #[inline]
    pub fn get_f64(&self, i: usize) -> f64 {
        f64::from_bits(self.slots[i])
    }

    /// Stores an `i64` scalar (two's complement) in slot `i`.
    #[inline]
    pub fn set_i64(&mut self, i: usize, v: i64) {
        self.set_scalar(i, v as u64);
    }

    /// Slot `i` read as an `i64` (two's complement).
    #[inline]
    pub fn get_i64(&self, i: usize) -> i64 {
        self.slots[i] as i64
    }

    /// The non-nil links of the chunk, in slot order.
    pub fn links_iter(&self) -> impl Iterator<Item = ChunkId> + '_ {
        let mut mask = self.links;
        std::iter::from_fn(move || {
            while mask != 0 {
                let i = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let v = self.slots[i];
                if v != 0 {
                    return Some(ChunkId(v));
                }
            }
            None
        })
    }

    /// How many slots are links (nil links included).
    pub fn link_count(&self) -> u32 {
        self.links.count_ones()
    }

    /// The chunk's canonical bytes without an id: kind (u8), links (u32 LE),
    /// then the 32 slots (u64 LE). This is an encoded entry (see the
    /// `encode` module) minus its leading id.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 4 + 8 * SLOTS);
        out.push(self.kind.as_u8());
        out.extend_from_slice(&self.links.to_le_bytes());
        for s in &self.slots {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// A code id naming this chunk by its content:
    /// `ChunkId::content(&self.to_bytes())`.
    pub fn content_id(&self) -> ChunkId {
        ChunkId::content(&self.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        assert_eq!(Kind::from_u8(0), None);
        assert_eq!(Kind::from_u8(19), None);
        assert_eq!(Kind::from_u8(255), None);
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i + 1);
            assert_eq!(Kind::from_u8(k.as_u8()), Some(k));
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::Block.name(), "block");
        assert_eq!(Kind::Env as u8, 6);
        assert_eq!(Kind::ArrayLeaf.to_string(), "array_leaf");
    }

    #[test]
    fn slots_are_link_xor_scalar() {
        let mut c = Chunk::new(Kind::Frame);
        let id = ChunkId(0x0001_0000_0000_0007);
        c.set_link(4, id);
        assert!(c.is_link(4));
        assert_eq!(c.link(4), Some(id));
        assert_eq!(c.get(4), id.0);
        c.set_scalar(4, 42);
        assert!(!c.is_link(4));
        assert_eq!(c.link(4), None);
        assert_eq!(c.get(4), 42);
        c.set_link(31, ChunkId::NIL);
        assert!(c.is_link(31));
        assert_eq!(c.link(31), None);
        assert_eq!(c.link_count(), 1);
        c.set_f64(0, -1.5);
        assert_eq!(c.get_f64(0), -1.5);
        c.set_i64(1, -7);
        assert_eq!(c.get_i64(1), -7);
        assert_eq!(c.links, 1 << 31);
    }

    #[test]
    fn links_iter_skips_nil_and_scalars() {
        let mut c = Chunk::new(Kind::Env);
        c.set_link(0, ChunkId(5));
        c.set_link(3, ChunkId::NIL);
        c.set_scalar(7, 99);
        c.set_link(31, ChunkId(1 << 63));
        let got: Vec<_> = c.links_iter().collect();
        assert_eq!(got, vec![ChunkId(5), ChunkId(1 << 63)]);
    }

    #[test]
    fn content_ids_depend_on_everything() {
        let a = Chunk::new(Kind::Block);
        let mut b = a.clone();
        assert_eq!(a.content_id(), b.content_id());
        b.set_link(0, ChunkId::NIL);
        assert_ne!(a.content_id(), b.content_id());
        let c = Chunk::new(Kind::Function);
        assert_ne!(a.content_id(), c.content_id());
        assert!(a.content_id().is_code());
        assert_eq!(a.to_bytes().len(), 1 + 4 + 256);
    }
}
