//! What the server and the client share: limits, errors, reading and writing
//! frames on QUIC streams, and [`Conversation`], one request's stream.
//!
//! # Streams
//!
//! A connection has one *control stream* and any number of *conversation
//! streams*, all bidirectional and opened by the client:
//!
//! * The control stream is the first one. Its first message is the client's
//!   `Hello`, answered by `Welcome` (or `Refused`, and the connection ends).
//!   Afterwards it carries `Ping`/`Pong` and `Status`/`StatusReply`, which the
//!   transport answers itself.
//! * Every other request opens a stream of its own (QUIC streams are cheap,
//!   and a slow migration then never holds up a ping or another migration).
//!   A migration's stream carries, in order: the client's `Migrate`; any
//!   number of the node's `Fetch` (each answered by the client's `Chunks`,
//!   or `Error` for the same request number) and `Output` lines; and last the
//!   node's `Done` or `Failed`. `Ping` and `Status` may also be sent first on
//!   a stream of their own.
//!
//! # Bounds
//!
//! Before the `Hello`, the server allows the client one stream and reads one
//! frame of at most [`HELLO_MAX`] bytes within [`Limits::hello_timeout`];
//! nothing else the client sends is read. Afterwards every frame is at most
//! [`Limits::max_message`] bytes (refused from its length, before anything
//! is allocated; the body is then read as it arrives), a frame once begun
//! must arrive within [`Limits::read_timeout`], and so must the answer to a
//! `Fetch`. A connection has at most [`Limits::max_streams`] streams open at
//! once and ends after [`Limits::idle_timeout`] without traffic (the client
//! sends keep-alives). A message that does not decode gets an `Error` answer;
//! an oversized one also ends its connection (its stream can no longer be
//! read in step); other connections never notice.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chunkvm::chunk::{ChunkId, NodeId};
use quinn::{Connection, RecvStream, SendStream, TransportConfig, VarInt};

use crate::identity::IdentityError;
use crate::trust::TrustError;
use crate::wire::{
    decode_body, encode_frame, frame_len, ChunkList, Message, WireError, LEN_PREFIX, MAX_MESSAGE,
};

/// The ALPN protocol name both sides ask for.
pub const ALPN: &[u8] = b"chunkvm/1";

/// The largest frame read before a connection is authenticated (a `Hello`
/// takes 41 bytes).
pub const HELLO_MAX: usize = 256;

/// Connection close codes.
pub(crate) mod close {
    use quinn::VarInt;
    /// A normal close.
    pub const DONE: VarInt = VarInt::from_u32(0);
    /// The `Hello` was refused.
    pub const REFUSED: VarInt = VarInt::from_u32(1);
    /// The peer broke the protocol (an oversized frame).
    pub const PROTOCOL: VarInt = VarInt::from_u32(2);
}

/// The bounds of a connection (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time for a new connection's handshake and its `Hello` (server), or
    /// for the handshake and the `Welcome` (client).
    pub hello_timeout: Duration,
    /// Time for a frame, once its first bytes came, to arrive whole; and for
    /// the answer to a `Fetch`, a `Ping` or a `Status`.
    pub read_timeout: Duration,
    /// A connection without traffic for this long ends.
    pub idle_timeout: Duration,
    /// How often the client sends a keep-alive.
    pub keep_alive: Duration,
    /// The largest body accepted after the `Hello` (at most [`MAX_MESSAGE`]).
    pub max_message: usize,
    /// Streams a client may have open at once after its `Hello`.
    pub max_streams: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            hello_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            // A peer that died is noticed within 15 s (a migration's thread then
            // goes on at the source); a live one keeps the connection with a
            // keep-alive every 3 s, however long its thread runs.
            idle_timeout: Duration::from_secs(15),
            keep_alive: Duration::from_secs(3),
            max_message: MAX_MESSAGE,
            max_streams: 64,
        }
    }
}

/// Why a transport operation failed.
#[derive(Debug)]
pub enum TransportError {
    /// The UDP socket could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// TLS or QUIC could not be configured (a bad key, an unusable limit).
    Config(String),
    /// The state directory or the known-nodes file failed.
    Identity(IdentityError),
    /// The node is not trusted (another certificate than the one pinned).
    Trust(TrustError),
    /// A connection could not be started.
    Connect(quinn::ConnectError),
    /// The connection failed or was closed.
    Connection(quinn::ConnectionError),
    /// Reading a stream failed.
    Read(quinn::ReadError),
    /// Writing a stream failed.
    Write(quinn::WriteError),
    /// The stream was closed by this side already.
    StreamClosed,
    /// The peer ended the stream (between messages).
    Ended,
    /// A frame or message was malformed.
    Wire(WireError),
    /// Nothing came in time.
    Timeout {
        /// What was awaited.
        waiting_for: &'static str,
        /// For how long.
        after: Duration,
    },
    /// The node refused the `Hello`.
    Refused {
        /// The node's reason.
        reason: String,
    },
    /// The peer sent a message that does not fit the conversation.
    Unexpected {
        /// What was expected.
        expected: &'static str,
        /// The message that came.
        got: &'static str,
    },
    /// The peer answered a request with an `Error`.
    Remote {
        /// The request.
        request: u64,
        /// The peer's message.
        message: String,
    },
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            TransportError::Config(e) => write!(f, "cannot configure TLS or QUIC: {e}"),
            TransportError::Identity(e) => e.fmt(f),
            TransportError::Trust(e) => e.fmt(f),
            TransportError::Connect(e) => write!(f, "cannot connect: {e}"),
            TransportError::Connection(e) => write!(f, "connection failed: {e}"),
            TransportError::Read(e) => write!(f, "cannot read from the peer: {e}"),
            TransportError::Write(e) => write!(f, "cannot write to the peer: {e}"),
            TransportError::StreamClosed => f.write_str("the stream is closed"),
            TransportError::Ended => f.write_str("the peer ended the stream"),
            TransportError::Wire(e) => write!(f, "malformed message: {e}"),
            TransportError::Timeout { waiting_for, after } => {
                write!(f, "no {waiting_for} within {} ms", after.as_millis())
            }
            TransportError::Refused { reason } => write!(f, "the node refused: {reason}"),
            TransportError::Unexpected { expected, got } => {
                write!(f, "expected {expected}, the peer sent {got}")
            }
            TransportError::Remote { request, message } => {
                write!(f, "the peer failed request {request}: {message}")
            }
        }
    }
}

impl std::error::Error for TransportError {}

impl From<WireError> for TransportError {
    fn from(e: WireError) -> TransportError {
        TransportError::Wire(e)
    }
}

impl From<TrustError> for TransportError {
    fn from(e: TrustError) -> TransportError {
        TransportError::Trust(e)
    }
}

impl From<IdentityError> for TransportError {
    fn from(e: IdentityError) -> TransportError {
        TransportError::Identity(e)
    }
}

/// The QUIC transport settings for `limits`, allowing the peer
/// `peer_streams` bidirectional streams at first.
pub(crate) fn transport_config(
    limits: &Limits,
    peer_streams: u32,
    keep_alive: bool,
) -> Result<TransportConfig, TransportError> {
    let mut t = TransportConfig::default();
    let idle = quinn::IdleTimeout::try_from(limits.idle_timeout)
        .map_err(|e| TransportError::Config(format!("idle timeout: {e}")))?;
    t.max_idle_timeout(Some(idle));
    t.keep_alive_interval(keep_alive.then_some(limits.keep_alive));
    t.max_concurrent_bidi_streams(VarInt::from_u32(peer_streams));
    t.max_concurrent_uni_streams(VarInt::from_u32(0));
    Ok(t)
}

/// The crypto provider of both sides (ring).
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Writes one message as a frame.
pub(crate) async fn write_message(
    send: &mut SendStream,
    message: &Message,
) -> Result<(), TransportError> {
    let frame = encode_frame(message)?;
    send.write_all(&frame).await.map_err(|e| match e {
        quinn::WriteError::ClosedStream => TransportError::StreamClosed,
        e => TransportError::Write(e),
    })
}

/// Reads one frame's body: `None` when the stream ends cleanly before a
/// frame. Waits for the first bytes for `first` at most (forever when
/// `None`), then `rest` at most for the remainder. A length above `max` is
/// refused before anything is allocated, and the body grows only as its
/// bytes arrive.
pub(crate) async fn read_body(
    recv: &mut RecvStream,
    max: usize,
    first: Option<Duration>,
    rest: Duration,
) -> Result<Option<Vec<u8>>, TransportError> {
    let mut prefix = [0u8; LEN_PREFIX];
    let read_prefix = recv.read_exact(&mut prefix);
    let got = match first {
        Some(d) => {
            tokio::time::timeout(d, read_prefix)
                .await
                .map_err(|_| TransportError::Timeout {
                    waiting_for: "message",
                    after: d,
                })?
        }
        None => read_prefix.await,
    };
    match got {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(quinn::ReadExactError::FinishedEarly(n)) => {
            return Err(TransportError::Wire(WireError::Truncated {
                at: 0,
                need: LEN_PREFIX as u64,
                have: n,
            }))
        }
        Err(quinn::ReadExactError::ReadError(e)) => return Err(TransportError::Read(e)),
    }
    let len = frame_len(prefix, max)?;
    let body = async {
        let mut body = Vec::new();
        while body.len() < len {
            match recv.read_chunk(len - body.len(), true).await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk.bytes),
                Ok(None) => {
                    return Err(TransportError::Wire(WireError::Truncated {
                        at: 0,
                        need: len as u64,
                        have: body.len(),
                    }))
                }
                Err(e) => return Err(TransportError::Read(e)),
            }
        }
        Ok(body)
    };
    tokio::time::timeout(rest, body)
        .await
        .map_err(|_| TransportError::Timeout {
            waiting_for: "rest of a message",
            after: rest,
        })?
        .map(Some)
}

/// Reads one message (see [`read_body`]).
pub(crate) async fn read_message(
    recv: &mut RecvStream,
    max: usize,
    first: Option<Duration>,
    rest: Duration,
) -> Result<Option<Message>, TransportError> {
    match read_body(recv, max, first, rest).await? {
        Some(body) => Ok(Some(decode_body(&body)?)),
        None => Ok(None),
    }
}

/// The request number a message answers or carries (0 when none).
pub(crate) fn request_of(message: &Message) -> u64 {
    match message {
        Message::Error { request, .. }
        | Message::Migrate { request, .. }
        | Message::Fetch { request, .. }
        | Message::Chunks { request, .. }
        | Message::Debug { request, .. }
        | Message::DebugAsk { request, .. }
        | Message::DebugAnswer { request, .. }
        | Message::Attach { request, .. } => *request,
        _ => 0,
    }
}

/// Who is at the other end of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address.
    pub address: SocketAddr,
    /// The node id the client gave in its `Hello` (1 for a local client).
    pub client_node: NodeId,
}

/// One conversation: a bidirectional stream of one request (a migration),
/// on either side.
///
/// Reading a malformed message answers the peer an `Error` (and ends the
/// connection when the frame was oversized) before returning the error.
#[derive(Debug)]
pub struct Conversation {
    send: SendStream,
    recv: RecvStream,
    conn: Connection,
    limits: Limits,
    next_request: u64,
}

impl Conversation {
    /// A conversation over a stream of `conn`.
    pub(crate) fn new(
        send: SendStream,
        recv: RecvStream,
        conn: Connection,
        limits: Limits,
    ) -> Conversation {
        Conversation {
            send,
            recv,
            conn,
            limits,
            next_request: 1,
        }
    }

    /// The peer's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// The connection the conversation is a stream of.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sends a message.
    pub async fn send(&mut self, message: &Message) -> Result<(), TransportError> {
        write_message(&mut self.send, message).await
    }

    /// The next message, waiting as long as the connection lives (a
    /// migrated thread may run long); [`TransportError::Ended`] when the
    /// peer ended the stream.
    pub async fn recv(&mut self) -> Result<Message, TransportError> {
        self.recv_inner(None).await
    }

    /// The next message, waiting at most `within`.
    pub async fn recv_within(&mut self, within: Duration) -> Result<Message, TransportError> {
        self.recv_inner(Some(within)).await
    }

    async fn recv_inner(&mut self, first: Option<Duration>) -> Result<Message, TransportError> {
        let got = read_message(
            &mut self.recv,
            self.limits.max_message,
            first,
            self.limits.read_timeout,
        )
        .await;
        match got {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(TransportError::Ended),
            Err(TransportError::Wire(e)) => {
                reply_bad_message(&mut self.send, &self.conn, &e).await;
                Err(TransportError::Wire(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Asks the peer for chunks (`Fetch` with a fresh request number) and
    /// waits at most [`Limits::read_timeout`] for its `Chunks`. The peer's
    /// `Error` for the request becomes [`TransportError::Remote`]; any other
    /// message is [`TransportError::Unexpected`].
    pub async fn fetch(&mut self, ids: Vec<ChunkId>) -> Result<ChunkList, TransportError> {
        let request = self.next_request;
        self.next_request += 1;
        self.send(&Message::Fetch { request, ids }).await?;
        match self.recv_within(self.limits.read_timeout).await? {
            Message::Chunks { request: r, chunks } if r == request => Ok(chunks),
            Message::Error {
                request: r,
                message,
            } if r == request || r == 0 => Err(TransportError::Remote { request, message }),
            other => Err(TransportError::Unexpected {
                expected: "Chunks",
                got: other.kind(),
            }),
        }
    }

    /// Ends this side of the stream (the peer's next read sees the end).
    pub fn finish(mut self) -> Result<(), TransportError> {
        self.send.finish().map_err(|_| TransportError::StreamClosed)
    }
}

/// Answers a message that did not decode with an `Error`; an oversized
/// frame also ends the connection (the stream is out of step).
pub(crate) async fn reply_bad_message(send: &mut SendStream, conn: &Connection, e: &WireError) {
    let reply = Message::Error {
        request: 0,
        message: format!("malformed message: {e}"),
    };
    // The peer may be gone already: nothing more to do then.
    let _ = write_message(send, &reply).await;
    if matches!(e, WireError::Oversize { .. }) {
        let _ = send.finish();
        // Give the `Error` a moment to leave before the connection closes.
        let _ = tokio::time::timeout(Duration::from_secs(2), send.stopped()).await;
        conn.close(close::PROTOCOL, b"oversized message");
    }
}
