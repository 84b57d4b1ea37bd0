//! The chunk encoding from the outside: round trips of random chunk sets,
//! and a fixed-seed fuzz of the decoders with random bytes and with
//! mutations of valid encodings (never a panic, every error at a sensible
//! offset).

#![allow(clippy::unwrap_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use chunkvm::chunk::{
    decode_chunk, decode_set, encode_chunk, encode_set, write_set, Chunk, ChunkId, ChunkSet,
    DecodeError, IdSet, Kind, NodeId, Store, ENTRY_LEN, HEADER_LEN, SLOTS,
};

/// xorshift64*: small, fixed-seed, good enough for fuzzing.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn random_id(rng: &mut Rng) -> ChunkId {
    match rng.below(4) {
        0 => ChunkId::NIL,
        1 => ChunkId::code(&[rng.next() as u8; 32], rng.next() as u32),
        _ => ChunkId::data(NodeId(1 + rng.below(0x7fff) as u16), 1 + rng.below(1 << 20)),
    }
}

fn random_chunk(rng: &mut Rng) -> Chunk {
    let kind = Kind::ALL[rng.index(Kind::ALL.len())];
    let mut c = Chunk::new(kind);
    let mask = match rng.below(4) {
        0 => 0,
        1 => u32::MAX,
        _ => rng.next() as u32,
    };
    for i in 0..SLOTS {
        if mask & (1 << i) != 0 {
            c.set_link(i, random_id(rng));
        } else {
            let v = match rng.below(4) {
                0 => 0,
                1 => rng.below(1000),
                2 => (rng.next() as f64 / 3.0).to_bits(),
                _ => rng.next(),
            };
            c.set_scalar(i, v);
        }
    }
    c
}

fn random_set(rng: &mut Rng, max: usize) -> ChunkSet {
    let n = rng.index(max + 1);
    let mut seen = IdSet::default();
    let mut chunks = Vec::with_capacity(n);
    while chunks.len() < n {
        let id = random_id(rng);
        if id.is_nil() || !seen.insert(id) {
            continue;
        }
        chunks.push((id, random_chunk(rng)));
    }
    let root = match chunks.first() {
        Some((id, _)) if rng.chance(80) => *id,
        _ => random_id(rng),
    };
    ChunkSet { root, chunks }
}

#[test]
fn sets_round_trip() {
    let mut rng = Rng::new(0x5EED_0001);
    for _ in 0..300 {
        let set = random_set(&mut rng, 40);
        let bytes = encode_set(&set);
        assert_eq!(bytes.len(), HEADER_LEN + ENTRY_LEN * set.chunks.len());
        let back = decode_set(&bytes).unwrap();
        assert_eq!(back, set);
        assert_eq!(encode_set(&back), bytes);
    }
}

#[test]
fn chunks_round_trip() {
    let mut rng = Rng::new(0x5EED_0002);
    for _ in 0..3000 {
        let mut id = random_id(&mut rng);
        if id.is_nil() {
            id = ChunkId::data(NodeId(1), 1);
        }
        let chunk = random_chunk(&mut rng);
        let mut bytes = Vec::new();
        encode_chunk(id, &chunk, &mut bytes);
        assert_eq!(bytes.len(), ENTRY_LEN);
        assert_eq!(decode_chunk(&bytes).unwrap(), (id, chunk));
    }
}

#[test]
fn stores_round_trip_through_bytes() {
    let mut rng = Rng::new(0x5EED_0003);
    let mut a = Store::new(NodeId(1));
    // A random graph: each chunk links to some earlier ones.
    let mut ids = Vec::new();
    for _ in 0..500 {
        let mut c = random_chunk(&mut rng);
        for i in 0..SLOTS {
            if c.is_link(i) {
                let target = if ids.is_empty() || rng.chance(30) {
                    ChunkId::NIL
                } else {
                    ids[rng.index(ids.len())]
                };
                c.set_link(i, target);
            }
        }
        let id = if rng.chance(20) {
            let id = c.content_id();
            a.insert_code(id, c);
            id
        } else {
            a.alloc(c)
        };
        ids.push(id);
    }
    let root = *ids.last().unwrap();
    let set = a.export(&[root]).unwrap();
    let bytes = encode_set(&set);
    let mut b = Store::new(NodeId(2));
    assert_eq!(b.import(decode_set(&bytes).unwrap()), root);
    let reach_a = a.reachable(&[root]).unwrap();
    assert_eq!(b.reachable(&[root]).unwrap(), reach_a);
    assert_eq!(b.len(), reach_a.len());
    for id in &reach_a {
        assert_eq!(a.get(*id), b.get(*id));
    }
    // The same dump on both sides.
    let (mut da, mut db) = (String::new(), String::new());
    write_set(&mut da, &set).unwrap();
    write_set(&mut db, &b.export(&[root]).unwrap()).unwrap();
    assert_eq!(da, db);
    // Restoring the bytes on node 1 itself (a snapshot): new allocations
    // never reuse a restored id.
    let mut c = Store::new(NodeId(1));
    c.import(decode_set(&bytes).unwrap());
    let max_serial = reach_a
        .iter()
        .filter(|id| id.node() == Some(NodeId(1)))
        .map(|id| id.serial())
        .max()
        .unwrap();
    let fresh = c.alloc(Chunk::new(Kind::Env));
    assert_eq!(fresh, ChunkId::data(NodeId(1), max_serial + 1));
}

/// Checks that `e` is an error a reader can act on: a known message at an
/// offset that fits it. `set` tells whether the input was decoded as a set
/// (header first) or as a single entry.
fn check_error(input: &[u8], e: &DecodeError, set: bool) {
    let len = input.len();
    let ctx = || format!("{e} for {} bytes: {:02x?}", len, &input[..len.min(64)]);
    assert!(e.offset <= len, "offset past the end: {}", ctx());
    assert_eq!(e.to_string(), format!("at byte {}: {}", e.offset, e.what));
    let base = if set { HEADER_LEN } else { 0 };
    let entry_start = |off: usize| off >= base && (off - base) % ENTRY_LEN == 0;
    let w = e.what.as_str();
    let ok = if w.starts_with("truncated: need ") {
        // Reported at the start of the field or entry that does not fit.
        true // checked below
    } else if w.starts_with("bad magic") {
        set && e.offset == 0
    } else if w.starts_with("unsupported version ") {
        set && e.offset == 4 && w.ends_with("(this build reads 1)")
    } else if w.starts_with("unsupported flags ") {
        set && e.offset == 6
    } else if w.starts_with("count ") && w.contains("larger than the data") {
        set && e.offset == 16
    } else if w.starts_with("unknown chunk kind ") {
        e.offset >= 8 && entry_start(e.offset - 8) && e.offset < len
    } else if w == "nil id for a chunk" || w.starts_with("duplicate chunk id ") {
        entry_start(e.offset) && e.offset + ENTRY_LEN <= len
    } else if w.ends_with(" trailing bytes") {
        entry_start(e.offset) && e.offset < len
    } else {
        false
    };
    assert!(ok, "unexpected error or offset: {}", ctx());
    if let Some(rest) = w.strip_prefix("truncated: need ") {
        // "need N bytes..., M left": the field starts at the offset and the
        // M bytes left there are fewer than the N it needs.
        let numbers: Vec<usize> = rest
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|t| t.parse().ok())
            .collect();
        assert_eq!(numbers.len(), 2, "{}", ctx());
        let (need, left) = (numbers[0], numbers[1]);
        assert!(left < need && e.offset + left == len, "{}", ctx());
    }
}

/// Feeds `input` to both decoders; a panic fails with the input shown.
fn decode_both(
    input: &[u8],
) -> (
    Result<ChunkSet, DecodeError>,
    Result<(ChunkId, Chunk), DecodeError>,
) {
    let got = catch_unwind(AssertUnwindSafe(|| {
        (decode_set(input), decode_chunk(input))
    }));
    match got {
        Ok(both) => both,
        Err(_) => panic!("decoder panicked on {} bytes: {:02x?}", input.len(), input),
    }
}

/// Both decoders on `input`: valid results re-encode to the same bytes,
/// errors pass [`check_error`]. Returns whether the set decoded.
fn probe(input: &[u8]) -> bool {
    let (set, chunk) = decode_both(input);
    match &chunk {
        Ok((id, c)) => {
            let mut again = Vec::new();
            encode_chunk(*id, c, &mut again);
            assert_eq!(again, input);
        }
        Err(e) => check_error(input, e, false),
    }
    match &set {
        Ok(s) => assert_eq!(encode_set(s), input),
        Err(e) => check_error(input, e, true),
    }
    set.is_ok()
}

#[test]
fn fuzz_random_bytes() {
    let mut rng = Rng::new(0xF022_0001);
    let mut decoded = 0;
    for _ in 0..20_000 {
        let len = match rng.below(4) {
            0 => rng.index(24),
            1 => rng.index(HEADER_LEN + 3 * ENTRY_LEN + 8),
            2 => ENTRY_LEN,
            _ => rng.index(2000),
        };
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Most random inputs die at the magic: give half of them a valid
        // header start (and often a plausible count) to reach the entries.
        if rng.chance(50) && bytes.len() >= HEADER_LEN {
            bytes[..8].copy_from_slice(b"CHNK\x01\x00\x00\x00");
            if rng.chance(70) {
                let count = ((bytes.len() - HEADER_LEN) / ENTRY_LEN) as u32;
                bytes[16..20].copy_from_slice(&count.to_le_bytes());
            }
        }
        if probe(&bytes) {
            decoded += 1;
        }
    }
    // Some random inputs with a forged header are valid sets: with this seed, 79 of
    // 20,000. Fewer means the forged headers stopped reaching the entries.
    assert!(decoded >= 79, "{decoded} random inputs decoded");
}

/// One random mutation of a valid encoding.
fn mutate(rng: &mut Rng, valid: &[u8]) -> Vec<u8> {
    let mut b = valid.to_vec();
    match rng.below(7) {
        // Bit flips.
        0 | 1 => {
            for _ in 0..1 + rng.below(4) {
                if !b.is_empty() {
                    let i = rng.index(b.len());
                    b[i] ^= 1 << rng.below(8);
                }
            }
        }
        // Truncation.
        2 => {
            let keep = rng.index(b.len().max(1));
            b.truncate(keep);
        }
        // Extension.
        3 => {
            let extra = if rng.chance(50) {
                1 + rng.index(16)
            } else {
                ENTRY_LEN * (1 + rng.index(2)) + rng.index(3)
            };
            b.extend((0..extra).map(|_| rng.next() as u8));
        }
        // Swapped bytes.
        4 => {
            for _ in 0..1 + rng.below(3) {
                if b.len() >= 2 {
                    let (i, j) = (rng.index(b.len()), rng.index(b.len()));
                    b.swap(i, j);
                }
            }
        }
        // A field that matters overwritten: kind byte, count, id.
        5 => {
            if b.len() >= HEADER_LEN + ENTRY_LEN && rng.chance(50) {
                let entries = (b.len() - HEADER_LEN) / ENTRY_LEN;
                let e = HEADER_LEN + rng.index(entries) * ENTRY_LEN;
                if rng.chance(50) {
                    b[e + 8] = rng.next() as u8;
                } else {
                    b[e..e + 8].fill(0);
                }
            } else if b.len() >= HEADER_LEN {
                let count = match rng.below(3) {
                    0 => u32::MAX,
                    1 => rng.next() as u32,
                    _ => rng.below(8) as u32,
                };
                b[16..20].copy_from_slice(&count.to_le_bytes());
            }
        }
        // A whole entry duplicated, the count raised to match.
        _ => {
            if b.len() >= HEADER_LEN + ENTRY_LEN {
                let entries = (b.len() - HEADER_LEN) / ENTRY_LEN;
                let e = HEADER_LEN + rng.index(entries) * ENTRY_LEN;
                let entry = b[e..e + ENTRY_LEN].to_vec();
                b.extend_from_slice(&entry);
                let count = (entries + 1) as u32;
                b[16..20].copy_from_slice(&count.to_le_bytes());
            }
        }
    }
    b
}

#[test]
fn fuzz_mutations_of_valid_encodings() {
    let mut rng = Rng::new(0xF022_0002);
    let mut decoded = 0;
    let mut rejected = 0;
    for round in 0..20_000 {
        // Alternate between whole sets and single entries.
        let valid = if round % 4 == 3 {
            let mut bytes = Vec::new();
            let id = ChunkId::data(NodeId(1), 1 + rng.below(1000));
            encode_chunk(id, &random_chunk(&mut rng), &mut bytes);
            bytes
        } else {
            encode_set(&random_set(&mut rng, 4))
        };
        let bytes = mutate(&mut rng, &valid);
        if probe(&bytes) {
            decoded += 1;
        } else {
            rejected += 1;
        }
        // Truncations and extensions of a valid set are always rejected.
        if round % 4 != 3 && bytes.len() != valid.len() {
            assert!(decode_set(&bytes).is_err(), "accepted a resized set");
        }
    }
    assert!(
        decoded > 1000 && rejected > 1000,
        "{decoded} decoded, {rejected} rejected"
    );
}
