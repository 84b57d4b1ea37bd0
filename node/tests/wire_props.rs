//! Property-style tests of the wire format with a fixed seed: every message
//! kind round-trips, and random or mutated frames never panic the decoder,
//! which either refuses them with a typed error or returns a message that
//! re-encodes to exactly the bytes it read.

#![allow(clippy::unwrap_used)]

use chunkvm::chunk::{Chunk, ChunkId, Kind, NodeId, SLOTS};
use chunkvm::exec::{ErrorKind, FrameInfo, RuntimeError, StepKind, Value, Variable};
use chunkvm::syntax::span::Span;
use chunkvm::types::Type;
use chunkvm_node::wire::{
    decode_body, decode_frame, encode_body, encode_frame, ChunkInfo, DebugAnswer, DebugAsk,
    Message, RemoteStop, Residence, WireError, MAX_MESSAGE,
};
use chunkvm_node::{ThreadInfo, ThreadState, Token};

/// A xorshift64* generator: small, deterministic, good enough for tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn string(&mut self) -> String {
        let len = self.below(12);
        (0..len)
            .map(|_| match self.below(4) {
                0 => 'é',
                1 => '→',
                _ => char::from(b'a' + self.below(26) as u8),
            })
            .collect()
    }

    fn id(&mut self) -> ChunkId {
        match self.below(3) {
            0 => ChunkId(self.next() | 1 << 63),
            1 => ChunkId::data(NodeId(1 + self.below(0x7fff) as u16), 1 + self.below(1000)),
            _ => ChunkId(self.next()),
        }
    }

    fn chunk(&mut self) -> Chunk {
        let kind = Kind::ALL[self.below(Kind::ALL.len() as u64) as usize];
        let mut c = Chunk::new(kind);
        for i in 0..SLOTS {
            match self.below(3) {
                0 => c.set_link(i, self.id()),
                1 => c.set_scalar(i, self.next()),
                _ => {}
            }
        }
        c
    }

    fn chunks(&mut self) -> Vec<(ChunkId, Chunk)> {
        let n = self.below(4);
        (0..n)
            .map(|_| {
                let mut id = self.id();
                if id.is_nil() {
                    id = ChunkId::data(NodeId(1), 1);
                }
                (id, self.chunk())
            })
            .collect()
    }

    /// A random message of kind `k` (0..22, every kind).
    fn message(&mut self, k: u64) -> Message {
        match k {
            0 => Message::Hello {
                version: self.next() as u16,
                token: Token::from_bytes(std::array::from_fn(|_| self.next() as u8)),
                client_node: self.next() as u16,
            },
            1 => Message::Welcome {
                node_name: self.string(),
                node_id: self.next() as u16,
            },
            2 => Message::Refused {
                reason: self.string(),
            },
            3 => Message::Error {
                request: self.next(),
                message: self.string(),
            },
            4 => Message::Ping { nonce: self.next() },
            5 => Message::Pong { nonce: self.next() },
            6 => Message::Status,
            7 => Message::StatusReply {
                name: self.string(),
                node_id: self.next() as u16,
                threads: self.next(),
                chunks_held: self.next(),
                load: self.next(),
                busy: self.bool(),
            },
            8 => Message::Migrate {
                request: self.next(),
                root: self.id(),
                chunks: self.chunks(),
                run_for: if self.bool() { Some(self.next()) } else { None },
            },
            9 => Message::Fetch {
                request: self.next(),
                ids: (0..self.below(6)).map(|_| self.id()).collect(),
            },
            10 => Message::Chunks {
                request: self.next(),
                chunks: self.chunks(),
            },
            11 => Message::Output {
                line: self.string(),
            },
            12 => Message::Done {
                root: self.id(),
                chunks: self.chunks(),
                instructions: self.next(),
                value: (0..self.below(6)).map(|_| self.next() as u8).collect(),
                started_us: self.next(),
            },
            13 => Message::Failed {
                message: self.string(),
            },
            14 => Message::Ack,
            15 => Message::Debug {
                request: self.next(),
                root: self.id(),
                chunks: self.chunks(),
                source: self.string(),
            },
            16 => Message::DebugAsk {
                request: self.next(),
                ask: self.ask(),
            },
            17 => Message::DebugAnswer {
                request: self.next(),
                answer: self.answer(),
            },
            18 => Message::DebugPause {
                thread: self.next(),
            },
            19 => Message::Threads,
            20 => Message::ThreadList {
                threads: (0..self.below(4))
                    .map(|_| ThreadInfo {
                        id: self.next(),
                        name: self.string(),
                        owner: self.string(),
                        state: [
                            ThreadState::Running,
                            ThreadState::Debugged,
                            ThreadState::Attached,
                            ThreadState::Parked,
                            ThreadState::Ended,
                        ][self.below(5) as usize],
                        instructions: self.next(),
                        result: self.string(),
                        output: (0..self.below(3)).map(|_| self.string()).collect(),
                    })
                    .collect(),
            },
            _ => Message::Attach {
                request: self.next(),
                thread: self.next(),
                source: self.string(),
            },
        }
    }

    /// A value without NaNs (which equal nothing, not even themselves).
    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth > 2 { 6 } else { 7 }) {
            0 => Value::Unit,
            1 => Value::Int(self.next() as i64),
            2 => Value::Float(self.below(1_000_000) as f64 / 7.0),
            3 => Value::Bool(self.bool()),
            4 => Value::Color(std::array::from_fn(|_| self.below(256) as f32 / 255.0)),
            5 => Value::Str(self.string()),
            _ => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
        }
    }

    fn span(&mut self) -> Span {
        let start = self.below(10_000) as usize;
        Span::new(start, start + self.below(80) as usize)
    }

    fn ty(&mut self) -> Type {
        match self.below(6) {
            0 => Type::Int,
            1 => Type::Float,
            2 => Type::Bool,
            3 => Type::Color,
            4 => Type::Image,
            _ => Type::Array(Box::new(Type::Int), self.below(100) as u32),
        }
    }

    fn step(&mut self) -> StepKind {
        [
            StepKind::Instruction,
            StepKind::Over,
            StepKind::Into,
            StepKind::Out,
        ][self.below(4) as usize]
    }

    fn ask(&mut self) -> DebugAsk {
        match self.below(13) {
            0 => DebugAsk::Breakpoints {
                lines: (0..self.below(5)).map(|_| self.next() as u32).collect(),
            },
            1 => DebugAsk::Resume {
                step: if self.bool() { Some(self.step()) } else { None },
            },
            2 => DebugAsk::Stack,
            3 => DebugAsk::Locals {
                frame: self.next() as u32,
            },
            4 => DebugAsk::Params,
            5 => DebugAsk::SetLocal {
                frame: self.next() as u32,
                name: self.string(),
                value: self.value(0),
            },
            6 => DebugAsk::SetParam {
                name: self.string(),
                value: self.value(0),
            },
            7 => DebugAsk::Chunks,
            8 => DebugAsk::HandBack,
            10 => DebugAsk::Detach,
            11 => DebugAsk::Terminate,
            12 => DebugAsk::Park,
            _ => DebugAsk::InstructionBreakpoints {
                at: (0..self.below(4))
                    .map(|_| (self.next() as u32, self.next() as u32))
                    .collect(),
            },
        }
    }

    fn answer(&mut self) -> DebugAnswer {
        match self.below(7) {
            0 => DebugAnswer::Ok,
            1 => DebugAnswer::Opened {
                thread: self.next(),
                instructions: self.next(),
                started_us: self.next(),
            },
            2 => DebugAnswer::Stopped {
                stop: match self.below(4) {
                    0 => RemoteStop::Breakpoint,
                    1 => RemoteStop::Step,
                    2 => RemoteStop::Paused,
                    _ => RemoteStop::Error(RuntimeError {
                        kind: ErrorKind::Failed,
                        message: self.string(),
                        span: self.span(),
                        trace: (0..self.below(3))
                            .map(|_| (self.string(), self.span()))
                            .collect(),
                    }),
                },
                instructions: self.next(),
            },
            3 => DebugAnswer::Stack(
                (0..self.below(4))
                    .map(|_| FrameInfo {
                        function: self.string(),
                        span: self.span(),
                        line: self.next() as u32,
                        pc: self.next() as u32,
                        block: (self.id(), self.next() as u32),
                        pixel: (self.below(2) == 1)
                            .then(|| (self.next() as u32, self.next() as u32)),
                    })
                    .collect(),
            ),
            4 => DebugAnswer::Variables(
                (0..self.below(4))
                    .map(|_| Variable {
                        name: self.string(),
                        ty: self.ty(),
                        value: self.value(0),
                        is_param: self.bool(),
                    })
                    .collect(),
            ),
            6 => DebugAnswer::Attached {
                thread: self.next(),
                instructions: self.next(),
                program: self.id(),
                name: self.string(),
                source: self.string(),
            },
            _ => DebugAnswer::Chunks {
                root: self.id(),
                chunks: (0..self.below(4))
                    .map(|_| ChunkInfo {
                        id: self.id(),
                        kind: self.string(),
                        slots_used: self.next() as u32,
                        links: (0..self.below(3)).map(|_| self.id()).collect(),
                        residence: [
                            Residence::SentAhead,
                            Residence::Fetched,
                            Residence::Made,
                            Residence::NotThere,
                        ][self.below(4) as usize],
                    })
                    .collect(),
            },
        }
    }
}

const KINDS: u64 = 22;

/// Checks what any decoding must satisfy: an accepted body re-encodes to
/// exactly the same bytes. Returns whether it was accepted.
fn check_body(body: &[u8]) -> bool {
    match decode_body(body) {
        Ok(m) => {
            assert_eq!(
                encode_body(&m),
                body,
                "{m:?} does not re-encode to its bytes"
            );
            true
        }
        Err(_) => false,
    }
}

#[test]
fn every_kind_round_trips() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..3000 {
        let m = rng.message(i % KINDS);
        seen.insert(m.kind());
        let frame = encode_frame(&m).unwrap();
        let (back, used) = decode_frame(&frame).unwrap();
        assert_eq!(back, m);
        assert_eq!(used, frame.len());
        let body = encode_body(&m);
        assert_eq!(&frame[4..], &body[..]);
        assert_eq!(decode_body(&body).unwrap(), m);
    }
    assert_eq!(seen.len(), KINDS as usize, "{seen:?}");
}

#[test]
fn mutated_frames_are_refused_or_decode_canonically() {
    let mut rng = Rng(0xDEAD_BEEF_1234_5678);
    let mut accepted = 0;
    let mut refused = 0;
    for i in 0..20000 {
        let m = rng.message(i % KINDS);
        let body = encode_body(&m);
        match rng.below(4) {
            // Bit flips anywhere in the body.
            0 => {
                let mut b = body.clone();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(b.len() as u64) as usize;
                    b[at] ^= 1 << rng.below(8);
                }
                if check_body(&b) {
                    accepted += 1;
                } else {
                    refused += 1;
                }
            }
            // A strict prefix of a valid body is always truncated.
            1 => {
                let cut = rng.below(body.len() as u64) as usize;
                let e = decode_body(&body[..cut]).unwrap_err();
                assert!(
                    matches!(e, WireError::Truncated { .. }),
                    "{m:?} cut at {cut}: {e}"
                );
                refused += 1;
            }
            // Bytes after a valid body are trailing.
            2 => {
                let mut b = body.clone();
                b.extend((0..1 + rng.below(8)).map(|_| rng.next() as u8));
                let e = decode_body(&b).unwrap_err();
                assert_eq!(
                    e,
                    WireError::Trailing {
                        at: body.len(),
                        extra: b.len() - body.len()
                    }
                );
                refused += 1;
            }
            // A length prefix that lies.
            _ => {
                let mut frame = encode_frame(&m).unwrap();
                let real = body.len() as u32;
                let lie = match rng.below(3) {
                    0 => real + 1 + rng.below(100) as u32,
                    1 => rng.below(real as u64) as u32,
                    _ => (MAX_MESSAGE as u32) + 1 + rng.below(1 << 20) as u32,
                };
                frame[..4].copy_from_slice(&lie.to_le_bytes());
                match decode_frame(&frame) {
                    Err(WireError::Oversize { len, .. }) => {
                        assert!(len as usize > MAX_MESSAGE);
                    }
                    Err(WireError::Truncated { .. }) => {}
                    Err(e) if lie < real => assert!(!matches!(e, WireError::Oversize { .. })),
                    other => panic!("lying length {lie} (really {real}) gave {other:?}"),
                }
                refused += 1;
            }
        }
    }
    assert!(accepted > 100 && refused > 10000, "{accepted} {refused}");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    let mut accepted = 0;
    for _ in 0..20000 {
        let len = rng.below(64) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Give the tag a fair chance of being a known one.
        if let Some(t) = b.first_mut() {
            if rng.bool() {
                *t = 1 + rng.below(KINDS) as u8;
            }
        }
        if check_body(&b) {
            accepted += 1;
        }
        // As a frame: never a panic, and an accepted frame's length is honest.
        if let Ok((m, used)) = decode_frame(&b) {
            assert!(used <= b.len());
            assert_eq!(encode_frame(&m).unwrap(), &b[..used]);
        }
    }
    // Status and Ack take no fields: some random bodies are valid.
    assert!(accepted > 0);
}

#[test]
fn encoding_refuses_a_message_above_the_maximum() {
    let chunk = Chunk::new(Kind::Tile);
    let n = MAX_MESSAGE / chunkvm::chunk::ENTRY_LEN + 1;
    let chunks = (1..=n as u64)
        .map(|s| (ChunkId::data(NodeId(2), s), chunk.clone()))
        .collect();
    let e = encode_frame(&Message::Chunks { request: 1, chunks }).unwrap_err();
    assert!(
        matches!(e, WireError::Oversize { max, .. } if max == MAX_MESSAGE),
        "{e}"
    );
}
