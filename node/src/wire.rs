//! The wire format: framed, versioned, bounded messages.
//!
//! Every message travels as one *frame*: a length (`u32`, little endian)
//! followed by that many bytes of *body*. The body is a one-byte tag that
//! says which message it is, then the message's fields in order. Integers are
//! little endian; a string is a `u32` byte length and that many bytes of
//! UTF-8; a list of chunk ids is a `u32` count and that many `u64` ids; a
//! list of chunks is a `u32` count and that many entries in the core's chunk
//! encoding ([`chunkvm::chunk::encode_chunk`], [`ENTRY_LEN`] bytes each); a
//! `bool` is one byte, 0 or 1; a token is its 32 raw bytes; an optional
//! `u64` is a `bool` (present or not) followed by the `u64` when present;
//! bytes are a `u32` length and that many bytes.
//!
//! A body is at most [`MAX_MESSAGE`] bytes: a reader refuses a longer length
//! before it allocates anything. Decoding never panics and never trusts a
//! count: it returns a [`WireError`] for an unknown tag, a truncated field,
//! an oversized frame, bytes left after the last field, text that is not
//! UTF-8, a `bool` that is neither 0 nor 1 or a chunk entry the core refuses.
//! A valid body decodes and re-encodes to the same bytes.
//!
//! The protocol's version is [`PROTOCOL_VERSION`], sent in [`Message::Hello`];
//! a node refuses a client that speaks another one. New messages get new
//! tags (a peer that does not know a tag answers an [`Message::Error`]), and
//! a change to an existing message's layout changes the version.
//!
//! | tag | message | fields | sent by | meaning |
//! |-----|---------|--------|---------|---------|
//! | 1 | `Hello` | version u16, token 32 bytes, client_node u16 | client | the first message of a connection: authenticates with the node's access token |
//! | 2 | `Welcome` | node_name string, node_id u16 | node | the answer to a good `Hello` |
//! | 3 | `Refused` | reason string | node | the answer to a bad `Hello` (or to anything else first); the node then closes the connection |
//! | 4 | `Error` | request u64, message string | both | a request could not be served (0 when the request is unknown, e.g. an undecodable message) |
//! | 5 | `Ping` | nonce u64 | client | asks for a `Pong` with the same nonce |
//! | 6 | `Pong` | nonce u64 | node | the answer to `Ping` |
//! | 7 | `Status` | | client | asks for a `StatusReply` |
//! | 8 | `StatusReply` | name string, node_id u16, threads u64, chunks_held u64, load u64, busy bool | node | the node's state: threads held, chunks held, threads running, whether it takes more work |
//! | 9 | `Migrate` | request u64, root id, chunks, run_for optional u64 | client | starts a migration: run the thread whose root is `root`; `chunks` are sent ahead, the node fetches the rest; with `run_for`, the node hands the thread back at the first safe point after that many instructions |
//! | 10 | `Fetch` | request u64, ids | both | asks the peer for chunks it holds |
//! | 11 | `Chunks` | request u64, chunks | both | the answer to `Fetch` with the same request number |
//! | 12 | `Output` | line string | node | a line the migrated thread printed |
//! | 13 | `Done` | root id, chunks, instructions u64, value bytes, started_us u64 | node | the thread finished (`value` non-empty: its result, encoded by [`encode_value`]; `root` the result's chunk or nil) or was handed back at a safe point (`value` empty, `root` the Thread chunk); `chunks` are those reachable from `root` that the node made or changed; `instructions` the thread's count at the end; `started_us` the microseconds from the `Migrate` to the node's first instruction |
//! | 14 | `Failed` | message string | node | the thread failed: a runtime error of its program (a failure of the node's side is an `Error` for the migration's request) |
//! | 15 | `Ack` | | both | an empty acknowledgement |
//! | 16 | `Debug` | request u64, root id, chunks, source string | client | starts a debug session: the node restores the thread whose root is `root` (fetching what it lacks), gives it the program's `source` for its lines, holds it stopped and answers `DebugAnswer { Opened }` |
//! | 17 | `DebugAsk` | request u64, ask | client | asks the node something about the thread of this debug session ([`DebugAsk`], encoded as [`crate::debug`] documents) |
//! | 18 | `DebugAnswer` | request u64, answer | node | the answer to the `DebugAsk` (or `Debug`) with the same request number ([`DebugAnswer`]) |
//! | 19 | `DebugPause` | thread u64 | client | on a stream of its own: pause thread `thread` of a debug session at its next safe point; answered `Ack` |
//! | 20 | `Threads` | | client | on a stream of its own: asks for the node's thread table; answered `ThreadList` |
//! | 21 | `ThreadList` | threads: a count of (id u64, name string, owner string, state u8, instructions u64, result string, output: a count of strings) | node | the threads the node holds ([`crate::threads`]); state 0 running, 1 stopped under its debugger, 2 stopped under an attached debugger, 3 parked, 4 ended |
//! | 22 | `Attach` | request u64, thread u64, source string | client | opens a debug session on a thread the node holds: the node stops it at its next safe point and answers `DebugAnswer { Attached }` (with the program's source as the node has it; `source`, when not empty, is the debugger's, for a thread whose source the node lacks); then `DebugAsk`s as after `Debug` |

use std::fmt;

use chunkvm::chunk::{decode_chunk, encode_chunk, Chunk, ChunkId, DecodeError, ENTRY_LEN};

pub use crate::debug::messages::{
    ChunkInfo, DebugAnswer, DebugAsk, RemoteStop, Residence, WireFrame, WireVariable,
};
use crate::identity::{Token, TOKEN_LEN};
use crate::threads::{ThreadInfo, ThreadState};

/// The protocol version this build speaks (sent in [`Message::Hello`]).
pub const PROTOCOL_VERSION: u16 = 3;

/// The largest body a frame may carry: 64 MiB (about 250 000 chunks).
pub const MAX_MESSAGE: usize = 64 << 20;

/// The length of a frame's length prefix.
pub const LEN_PREFIX: usize = 4;

/// A list of chunks with their ids, as messages carry them.
pub type ChunkList = Vec<(ChunkId, Chunk)>;

/// One message of the protocol (see the module documentation's table).
#[derive(Clone, PartialEq, Debug)]
pub enum Message {
    /// The first message of a connection: the client authenticates.
    Hello {
        /// The protocol version the client speaks.
        version: u16,
        /// The node's access token.
        token: Token,
        /// The client's node id (1 for a local client).
        client_node: u16,
    },
    /// The node accepted the `Hello`.
    Welcome {
        /// The node's name.
        node_name: String,
        /// The node's id.
        node_id: u16,
    },
    /// The node refused the `Hello` and closes the connection.
    Refused {
        /// Why, for people.
        reason: String,
    },
    /// A request could not be served.
    Error {
        /// The request number it answers (0 if unknown).
        request: u64,
        /// What went wrong, for people.
        message: String,
    },
    /// Asks for a `Pong`.
    Ping {
        /// Echoed in the `Pong`.
        nonce: u64,
    },
    /// The answer to a `Ping`.
    Pong {
        /// The `Ping`'s nonce.
        nonce: u64,
    },
    /// Asks for the node's status.
    Status,
    /// The node's status.
    StatusReply {
        /// The node's name.
        name: String,
        /// The node's id.
        node_id: u16,
        /// Threads the node holds.
        threads: u64,
        /// Chunks the node holds.
        chunks_held: u64,
        /// Threads running now.
        load: u64,
        /// Whether the node refuses more work for now.
        busy: bool,
    },
    /// Starts a migration: the node runs the thread whose root is `root`.
    Migrate {
        /// The request number of this migration.
        request: u64,
        /// The thread's root chunk.
        root: ChunkId,
        /// Chunks sent ahead (the node fetches the others).
        chunks: ChunkList,
        /// Hand the thread back at the first safe point after this many
        /// instructions (none: run it to its end).
        run_for: Option<u64>,
    },
    /// Asks the peer for chunks.
    Fetch {
        /// The request number, echoed in the answer.
        request: u64,
        /// The chunks wanted.
        ids: Vec<ChunkId>,
    },
    /// Chunks, the answer to a `Fetch`.
    Chunks {
        /// The `Fetch`'s request number.
        request: u64,
        /// The chunks.
        chunks: ChunkList,
    },
    /// A line of output of a migrated thread.
    Output {
        /// The line, without its newline.
        line: String,
    },
    /// A migrated thread finished, or was handed back at a safe point.
    Done {
        /// The result's root chunk (nil for a value without one), or the
        /// Thread chunk of a thread handed back.
        root: ChunkId,
        /// The chunks reachable from `root` that the node made or changed.
        chunks: ChunkList,
        /// The thread's instruction count at the end (all nodes included).
        instructions: u64,
        /// The finished thread's value ([`encode_value`]); empty for a
        /// thread handed back.
        value: Vec<u8>,
        /// Microseconds from the node receiving the `Migrate` to the
        /// thread's first instruction there.
        started_us: u64,
    },
    /// A migrated thread, or its migration, failed.
    Failed {
        /// What went wrong, for people.
        message: String,
    },
    /// An empty acknowledgement.
    Ack,
    /// Starts a debug session for the thread whose root is `root`.
    Debug {
        /// The request number of the session (its `Opened` answer echoes it).
        request: u64,
        /// The thread's root chunk.
        root: ChunkId,
        /// Chunks sent ahead (the node fetches the others).
        chunks: ChunkList,
        /// The program's source text, for the thread's lines.
        source: String,
    },
    /// A question or an order about the thread of a debug session.
    DebugAsk {
        /// Its request number, echoed in the answer.
        request: u64,
        /// What is asked.
        ask: DebugAsk,
    },
    /// The answer to a `DebugAsk`.
    DebugAnswer {
        /// The `DebugAsk`'s request number.
        request: u64,
        /// The answer.
        answer: DebugAnswer,
    },
    /// Pauses a debug session's thread at its next safe point.
    DebugPause {
        /// The thread, as the session's `Opened` named it.
        thread: u64,
    },
    /// Asks for the node's thread table.
    Threads,
    /// The node's thread table.
    ThreadList {
        /// The threads.
        threads: Vec<ThreadInfo>,
    },
    /// Opens a debug session on a thread the node holds.
    Attach {
        /// The request number of the session (its `Attached` answer echoes it).
        request: u64,
        /// The thread's node-local id.
        thread: u64,
        /// The program's source, for a thread whose source the node lacks
        /// (empty: the debugger has none).
        source: String,
    },
}

/// The message tags (the first byte of a body).
mod tag {
    pub const HELLO: u8 = 1;
    pub const WELCOME: u8 = 2;
    pub const REFUSED: u8 = 3;
    pub const ERROR: u8 = 4;
    pub const PING: u8 = 5;
    pub const PONG: u8 = 6;
    pub const STATUS: u8 = 7;
    pub const STATUS_REPLY: u8 = 8;
    pub const MIGRATE: u8 = 9;
    pub const FETCH: u8 = 10;
    pub const CHUNKS: u8 = 11;
    pub const OUTPUT: u8 = 12;
    pub const DONE: u8 = 13;
    pub const FAILED: u8 = 14;
    pub const ACK: u8 = 15;
    pub const DEBUG: u8 = 16;
    pub const DEBUG_ASK: u8 = 17;
    pub const DEBUG_ANSWER: u8 = 18;
    pub const DEBUG_PAUSE: u8 = 19;
    pub const THREADS: u8 = 20;
    pub const THREAD_LIST: u8 = 21;
    pub const ATTACH: u8 = 22;
}

impl Message {
    /// The message's name (`"Hello"`, `"Migrate"`...), for errors and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "Hello",
            Message::Welcome { .. } => "Welcome",
            Message::Refused { .. } => "Refused",
            Message::Error { .. } => "Error",
            Message::Ping { .. } => "Ping",
            Message::Pong { .. } => "Pong",
            Message::Status => "Status",
            Message::StatusReply { .. } => "StatusReply",
            Message::Migrate { .. } => "Migrate",
            Message::Fetch { .. } => "Fetch",
            Message::Chunks { .. } => "Chunks",
            Message::Output { .. } => "Output",
            Message::Done { .. } => "Done",
            Message::Failed { .. } => "Failed",
            Message::Ack => "Ack",
            Message::Debug { .. } => "Debug",
            Message::DebugAsk { .. } => "DebugAsk",
            Message::DebugAnswer { .. } => "DebugAnswer",
            Message::DebugPause { .. } => "DebugPause",
            Message::Threads => "Threads",
            Message::ThreadList { .. } => "ThreadList",
            Message::Attach { .. } => "Attach",
        }
    }

    /// The message's tag.
    fn tag(&self) -> u8 {
        match self {
            Message::Hello { .. } => tag::HELLO,
            Message::Welcome { .. } => tag::WELCOME,
            Message::Refused { .. } => tag::REFUSED,
            Message::Error { .. } => tag::ERROR,
            Message::Ping { .. } => tag::PING,
            Message::Pong { .. } => tag::PONG,
            Message::Status => tag::STATUS,
            Message::StatusReply { .. } => tag::STATUS_REPLY,
            Message::Migrate { .. } => tag::MIGRATE,
            Message::Fetch { .. } => tag::FETCH,
            Message::Chunks { .. } => tag::CHUNKS,
            Message::Output { .. } => tag::OUTPUT,
            Message::Done { .. } => tag::DONE,
            Message::Failed { .. } => tag::FAILED,
            Message::Ack => tag::ACK,
            Message::Debug { .. } => tag::DEBUG,
            Message::DebugAsk { .. } => tag::DEBUG_ASK,
            Message::DebugAnswer { .. } => tag::DEBUG_ANSWER,
            Message::DebugPause { .. } => tag::DEBUG_PAUSE,
            Message::Threads => tag::THREADS,
            Message::ThreadList { .. } => tag::THREAD_LIST,
            Message::Attach { .. } => tag::ATTACH,
        }
    }
}

/// Why bytes are not a valid frame or message, and where (offsets count
/// from the start of the body, after the length prefix).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum WireError {
    /// A frame's length is above the maximum (checked before allocating).
    Oversize {
        /// The length the frame claims (or an encoded body's length).
        len: u64,
        /// The maximum allowed.
        max: usize,
    },
    /// The bytes end inside a field (or a frame ends before its length).
    Truncated {
        /// Where the field starts.
        at: usize,
        /// Bytes the field needs.
        need: u64,
        /// Bytes left.
        have: usize,
    },
    /// The tag is not one this build knows.
    UnknownTag {
        /// The tag.
        tag: u8,
    },
    /// Bytes are left after the message's last field.
    Trailing {
        /// Where they start.
        at: usize,
        /// How many.
        extra: usize,
    },
    /// A string is not UTF-8.
    BadUtf8 {
        /// Where the string's bytes start.
        at: usize,
    },
    /// A `bool` byte is neither 0 nor 1.
    BadBool {
        /// Where the byte is.
        at: usize,
        /// Its value.
        value: u8,
    },
    /// An encoded value ([`decode_value`]) that is not one.
    BadValue {
        /// Where, in the value's bytes.
        at: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A chunk entry the core refuses.
    BadChunk {
        /// Where the entry starts.
        at: usize,
        /// The core's reason (its offset is within the entry).
        error: DecodeError,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Oversize { len, max } => {
                write!(
                    f,
                    "message of {len} bytes is larger than the maximum of {max} bytes"
                )
            }
            WireError::Truncated { at, need, have } => {
                write!(f, "at byte {at}: truncated: need {need} bytes, {have} left")
            }
            WireError::UnknownTag { tag } => write!(f, "at byte 0: unknown message tag {tag}"),
            WireError::Trailing { at, extra } => {
                write!(f, "at byte {at}: {extra} trailing bytes after the message")
            }
            WireError::BadUtf8 { at } => write!(f, "at byte {at}: text is not UTF-8"),
            WireError::BadBool { at, value } => {
                write!(f, "at byte {at}: boolean byte {value} is neither 0 nor 1")
            }
            WireError::BadValue { at, why } => write!(f, "at byte {at} of a value: {why}"),
            WireError::BadChunk { at, error } => {
                write!(f, "in the chunk entry at byte {at}: {error}")
            }
        }
    }
}

impl std::error::Error for WireError {}

/// Encodes `message` as a whole frame (length prefix and body); fails with
/// [`WireError::Oversize`] when the body would exceed [`MAX_MESSAGE`].
pub fn encode_frame(message: &Message) -> Result<Vec<u8>, WireError> {
    let mut out = vec![0u8; LEN_PREFIX];
    encode_body_into(message, &mut out);
    let len = out.len() - LEN_PREFIX;
    if len > MAX_MESSAGE {
        return Err(WireError::Oversize {
            len: len as u64,
            max: MAX_MESSAGE,
        });
    }
    // `len` is at most MAX_MESSAGE, which fits a u32.
    let prefix = u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes();
    out[..LEN_PREFIX].copy_from_slice(&prefix);
    Ok(out)
}

/// Encodes `message`'s body (tag and fields, no length prefix). The body may
/// exceed [`MAX_MESSAGE`]; [`encode_frame`] checks that.
pub fn encode_body(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode_body_into(message, &mut out);
    out
}

/// Appends `message`'s body to `out`.
fn encode_body_into(message: &Message, out: &mut Vec<u8>) {
    out.push(message.tag());
    let mut w = Writer { out };
    match message {
        Message::Hello {
            version,
            token,
            client_node,
        } => {
            w.u16(*version);
            w.out.extend_from_slice(token.as_bytes());
            w.u16(*client_node);
        }
        Message::Welcome { node_name, node_id } => {
            w.str(node_name);
            w.u16(*node_id);
        }
        Message::Refused { reason } => w.str(reason),
        Message::Error { request, message } => {
            w.u64(*request);
            w.str(message);
        }
        Message::Ping { nonce } | Message::Pong { nonce } => w.u64(*nonce),
        Message::Status | Message::Ack => {}
        Message::StatusReply {
            name,
            node_id,
            threads,
            chunks_held,
            load,
            busy,
        } => {
            w.str(name);
            w.u16(*node_id);
            w.u64(*threads);
            w.u64(*chunks_held);
            w.u64(*load);
            w.out.push(u8::from(*busy));
        }
        Message::Migrate {
            request,
            root,
            chunks,
            run_for,
        } => {
            w.u64(*request);
            w.u64(root.0);
            w.chunks(chunks);
            w.out.push(u8::from(run_for.is_some()));
            if let Some(n) = run_for {
                w.u64(*n);
            }
        }
        Message::Fetch { request, ids } => {
            w.u64(*request);
            w.count(ids.len());
            for id in ids {
                w.u64(id.0);
            }
        }
        Message::Chunks { request, chunks } => {
            w.u64(*request);
            w.chunks(chunks);
        }
        Message::Output { line } => w.str(line),
        Message::Done {
            root,
            chunks,
            instructions,
            value,
            started_us,
        } => {
            w.u64(root.0);
            w.chunks(chunks);
            w.u64(*instructions);
            w.bytes(value);
            w.u64(*started_us);
        }
        Message::Failed { message } => w.str(message),
        Message::Debug {
            request,
            root,
            chunks,
            source,
        } => {
            w.u64(*request);
            w.u64(root.0);
            w.chunks(chunks);
            w.str(source);
        }
        Message::DebugAsk { request, ask } => {
            w.u64(*request);
            ask.write(&mut w);
        }
        Message::DebugAnswer { request, answer } => {
            w.u64(*request);
            answer.write(&mut w);
        }
        Message::DebugPause { thread } => w.u64(*thread),
        Message::Threads => {}
        Message::ThreadList { threads } => {
            w.count(threads.len());
            for t in threads {
                w.u64(t.id);
                w.str(&t.name);
                w.str(&t.owner);
                w.out.push(t.state.byte());
                w.u64(t.instructions);
                w.str(&t.result);
                w.count(t.output.len());
                for line in &t.output {
                    w.str(line);
                }
            }
        }
        Message::Attach {
            request,
            thread,
            source,
        } => {
            w.u64(*request);
            w.u64(*thread);
            w.str(source);
        }
    }
}

/// Decodes one body (tag and fields, the whole input).
pub fn decode_body(body: &[u8]) -> Result<Message, WireError> {
    if body.len() > MAX_MESSAGE {
        return Err(WireError::Oversize {
            len: body.len() as u64,
            max: MAX_MESSAGE,
        });
    }
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    let t = r.u8()?;
    let message = match t {
        tag::HELLO => {
            let version = r.u16()?;
            let token = Token::from_bytes(r.array::<TOKEN_LEN>()?);
            let client_node = r.u16()?;
            Message::Hello {
                version,
                token,
                client_node,
            }
        }
        tag::WELCOME => Message::Welcome {
            node_name: r.string()?,
            node_id: r.u16()?,
        },
        tag::REFUSED => Message::Refused {
            reason: r.string()?,
        },
        tag::ERROR => Message::Error {
            request: r.u64()?,
            message: r.string()?,
        },
        tag::PING => Message::Ping { nonce: r.u64()? },
        tag::PONG => Message::Pong { nonce: r.u64()? },
        tag::STATUS => Message::Status,
        tag::STATUS_REPLY => Message::StatusReply {
            name: r.string()?,
            node_id: r.u16()?,
            threads: r.u64()?,
            chunks_held: r.u64()?,
            load: r.u64()?,
            busy: r.bool()?,
        },
        tag::MIGRATE => Message::Migrate {
            request: r.u64()?,
            root: ChunkId(r.u64()?),
            chunks: r.chunks()?,
            run_for: if r.bool()? { Some(r.u64()?) } else { None },
        },
        tag::FETCH => {
            let request = r.u64()?;
            let count = r.count(8)?;
            let mut ids = Vec::with_capacity(count);
            for _ in 0..count {
                ids.push(ChunkId(r.u64()?));
            }
            Message::Fetch { request, ids }
        }
        tag::CHUNKS => Message::Chunks {
            request: r.u64()?,
            chunks: r.chunks()?,
        },
        tag::OUTPUT => Message::Output { line: r.string()? },
        tag::DONE => Message::Done {
            root: ChunkId(r.u64()?),
            chunks: r.chunks()?,
            instructions: r.u64()?,
            value: r.bytes()?,
            started_us: r.u64()?,
        },
        tag::FAILED => Message::Failed {
            message: r.string()?,
        },
        tag::ACK => Message::Ack,
        tag::DEBUG => Message::Debug {
            request: r.u64()?,
            root: ChunkId(r.u64()?),
            chunks: r.chunks()?,
            source: r.string()?,
        },
        tag::DEBUG_ASK => Message::DebugAsk {
            request: r.u64()?,
            ask: DebugAsk::read(&mut r)?,
        },
        tag::DEBUG_ANSWER => Message::DebugAnswer {
            request: r.u64()?,
            answer: DebugAnswer::read(&mut r)?,
        },
        tag::DEBUG_PAUSE => Message::DebugPause { thread: r.u64()? },
        tag::THREADS => Message::Threads,
        tag::THREAD_LIST => {
            // id (8), name (4), owner (4), state (1), instructions (8), result (4), output (4).
            let n = r.count(33)?;
            let mut threads = Vec::with_capacity(n);
            for _ in 0..n {
                let id = r.u64()?;
                let name = r.string()?;
                let owner = r.string()?;
                let at = r.pos;
                let state = ThreadState::from_byte(r.u8()?).ok_or(WireError::BadValue {
                    at,
                    why: "not a thread state",
                })?;
                let instructions = r.u64()?;
                let result = r.string()?;
                let lines = r.count(4)?;
                let mut output = Vec::with_capacity(lines);
                for _ in 0..lines {
                    output.push(r.string()?);
                }
                threads.push(ThreadInfo {
                    id,
                    name,
                    owner,
                    state,
                    instructions,
                    result,
                    output,
                });
            }
            Message::ThreadList { threads }
        }
        tag::ATTACH => Message::Attach {
            request: r.u64()?,
            thread: r.u64()?,
            source: r.string()?,
        },
        tag => return Err(WireError::UnknownTag { tag }),
    };
    r.end()?;
    Ok(message)
}

/// Reads a frame's length prefix and checks it against `max` (at most
/// [`MAX_MESSAGE`]): the body's length, or [`WireError::Oversize`].
pub fn frame_len(prefix: [u8; LEN_PREFIX], max: usize) -> Result<usize, WireError> {
    let len = u32::from_le_bytes(prefix);
    let max = max.min(MAX_MESSAGE);
    match usize::try_from(len) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(WireError::Oversize {
            len: len as u64,
            max,
        }),
    }
}

/// Decodes the first frame of `bytes`: the message and the number of bytes
/// it took (prefix and body). Fails on a short input, an oversized length
/// and a bad body.
pub fn decode_frame(bytes: &[u8]) -> Result<(Message, usize), WireError> {
    let prefix: [u8; LEN_PREFIX] = match bytes.get(..LEN_PREFIX) {
        Some(p) => {
            let mut a = [0u8; LEN_PREFIX];
            a.copy_from_slice(p);
            a
        }
        None => {
            return Err(WireError::Truncated {
                at: 0,
                need: LEN_PREFIX as u64,
                have: bytes.len(),
            })
        }
    };
    let len = frame_len(prefix, MAX_MESSAGE)?;
    let rest = &bytes[LEN_PREFIX..];
    let body = rest.get(..len).ok_or(WireError::Truncated {
        at: 0,
        need: len as u64,
        have: rest.len(),
    })?;
    Ok((decode_body(body)?, LEN_PREFIX + len))
}

/// Appends fields to a body.
pub(crate) struct Writer<'a> {
    pub(crate) out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    pub(crate) fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    /// A count: lists longer than `u32::MAX` cannot be sent (they would be
    /// far above [`MAX_MESSAGE`], which `encode_frame` refuses anyway).
    pub(crate) fn count(&mut self, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.out.extend_from_slice(&n.to_le_bytes());
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.count(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.count(b.len());
        self.out.extend_from_slice(b);
    }

    pub(crate) fn chunks(&mut self, chunks: &[(ChunkId, Chunk)]) {
        self.count(chunks.len());
        self.out.reserve(chunks.len().saturating_mul(ENTRY_LEN));
        for (id, chunk) in chunks {
            encode_chunk(*id, chunk, self.out);
        }
    }
}

/// A cursor over an untrusted body.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    /// Bytes left.
    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes, or a truncation error at the current offset.
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let at = self.pos;
        let have = self.left();
        let end = at.checked_add(n).filter(|_| n <= have);
        match end.and_then(|end| self.bytes.get(at..end)) {
            Some(out) => {
                self.pos += n;
                Ok(out)
            }
            None => Err(WireError::Truncated {
                at,
                need: n as u64,
                have,
            }),
        }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, WireError> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        self.array().map(u64::from_le_bytes)
    }

    pub(crate) fn bool(&mut self) -> Result<bool, WireError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(WireError::BadBool { at, value }),
        }
    }

    /// A count of items of `item` bytes each, checked against the bytes
    /// left (so the allocations it sizes are bounded by the input).
    pub(crate) fn count(&mut self, item: usize) -> Result<usize, WireError> {
        let n = self.u32()?;
        let at = self.pos;
        let have = self.left();
        let need = (n as u64).saturating_mul(item as u64);
        match usize::try_from(need) {
            Ok(need) if need <= have => Ok(n as usize),
            _ => Err(WireError::Truncated { at, need, have }),
        }
    }

    pub(crate) fn string(&mut self) -> Result<String, WireError> {
        let len = self.count(1)?;
        let at = self.pos;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| WireError::BadUtf8 { at })
    }

    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>, WireError> {
        let len = self.count(1)?;
        Ok(self.take(len)?.to_vec())
    }

    pub(crate) fn chunks(&mut self) -> Result<ChunkList, WireError> {
        let count = self.count(ENTRY_LEN)?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let at = self.pos;
            let entry = self.take(ENTRY_LEN)?;
            let chunk = decode_chunk(entry).map_err(|error| WireError::BadChunk { at, error })?;
            out.push(chunk);
        }
        Ok(out)
    }

    /// Fails if bytes are left.
    pub(crate) fn end(&self) -> Result<(), WireError> {
        match self.left() {
            0 => Ok(()),
            extra => Err(WireError::Trailing {
                at: self.pos,
                extra,
            }),
        }
    }
}

mod value;
pub use value::{decode_value, encode_value, MAX_VALUE_DEPTH};

#[cfg(test)]
mod tests {
    use super::*;
    use chunkvm::chunk::{Kind, NodeId};
    use chunkvm::exec::Value;

    #[test]
    fn ping_layout_is_as_documented() {
        let frame = encode_frame(&Message::Ping { nonce: 0x0102 }).unwrap();
        assert_eq!(frame, [9, 0, 0, 0, 5, 2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            decode_frame(&frame).unwrap(),
            (Message::Ping { nonce: 0x0102 }, 13)
        );
    }

    #[test]
    fn chunks_use_the_core_encoding() {
        let mut c = Chunk::new(Kind::Frame);
        c.set_link(3, ChunkId::data(NodeId(2), 9));
        let id = ChunkId::data(NodeId(5), 1);
        let body = encode_body(&Message::Chunks {
            request: 7,
            chunks: vec![(id, c.clone())],
        });
        let mut entry = Vec::new();
        encode_chunk(id, &c, &mut entry);
        assert_eq!(body.len(), 1 + 8 + 4 + ENTRY_LEN);
        assert_eq!(&body[13..], &entry[..]);
    }

    #[test]
    fn values_round_trip() {
        let value = Value::Array(vec![
            Value::Unit,
            Value::Int(-3),
            Value::Float(0.25),
            Value::Bool(true),
            Value::Color([0.5, 1.0, 0.0, 1.0]),
            Value::Str("hé".into()),
            Value::Image {
                width: 3,
                height: 4,
                id: ChunkId::data(NodeId(2), 7),
            },
            Value::Closure {
                name: "f".into(),
                id: ChunkId::data(NodeId(2), 8),
            },
        ]);
        let bytes = encode_value(&value);
        assert_eq!(decode_value(&bytes).unwrap(), value);
        assert!(matches!(
            decode_value(&[99]),
            Err(WireError::BadValue { at: 0, .. })
        ));
        let mut deep = Value::Unit;
        for _ in 0..=MAX_VALUE_DEPTH {
            deep = Value::Array(vec![deep]);
        }
        assert!(decode_value(&encode_value(&deep)).is_err());
    }

    #[test]
    fn errors_say_where() {
        let mut body = encode_body(&Message::Output {
            line: "hé".to_string(),
        });
        body[6] = 0xff;
        assert_eq!(decode_body(&body), Err(WireError::BadUtf8 { at: 5 }));
        assert_eq!(decode_body(&[99]), Err(WireError::UnknownTag { tag: 99 }));
        assert_eq!(
            decode_body(&[tag::ACK, 0]),
            Err(WireError::Trailing { at: 1, extra: 1 })
        );
        assert_eq!(
            frame_len(u32::MAX.to_le_bytes(), MAX_MESSAGE),
            Err(WireError::Oversize {
                len: u32::MAX as u64,
                max: MAX_MESSAGE
            })
        );
        // A count that the data cannot hold is refused before allocating.
        let mut b = vec![tag::FETCH];
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode_body(&b),
            Err(WireError::Truncated {
                at: 13,
                need: u32::MAX as u64 * 8,
                have: 0
            })
        );
        assert_eq!(
            decode_body(&[]),
            Err(WireError::Truncated {
                at: 0,
                need: 1,
                have: 0
            })
        );
    }
}
