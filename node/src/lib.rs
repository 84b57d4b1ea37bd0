//! `chunkvm-node`: the network layer of a chunkvm node, which receives
//! running threads (their chunks) from clients over QUIC.
//!
//! * [`identity`]: a node's state directory: its name, its node id, its
//!   self-signed TLS certificate and its access token, made on first start
//!   and loaded afterwards.
//! * [`trust`]: trust on first use for clients: a known-nodes file pins each
//!   node's certificate fingerprint, checked by a rustls verifier.
//! * [`wire`]: the messages and their framing (length-prefixed, tagged,
//!   versioned, bounded); chunk bodies use the core's chunk encoding.
//! * [`transport`], [`server`], [`client`]: QUIC (quinn, rustls with ring)
//!   streams, the node's [`Server`] with its [`Handler`] and the [`Client`].
//! * [`service`]: [`NodeService`], the handler that runs migrated threads.
//! * [`migrate`](mod@migrate): the client's [`migrate()`], which moves a
//!   thread to a node and takes back its result or the thread itself.
//! * [`split`](mod@split): [`split()`], a photo job's stages cut in bands
//!   of rows run by several members (this process and nodes).
//! * [`plan`]: the offload planner's measurements and its choice.
//! * [`debug`]: a thread held by a node for a debugger ([`RemoteThread`]):
//!   the VM's stepping API asked over the protocol.
//! * [`threads`]: the node's thread table ([`ThreadInfo`]): what it holds,
//!   for whom, in what state; parked threads kept after their end.
//! * [`reach`]: a node reached from what a user writes (address, token
//!   file, the known-nodes file).
//! * [`prefetch`]: the policy of which chunks travel before they are asked
//!   for ([`Prefetch`]).
//!
//! # Conversations
//!
//! A client connects, checks the node's certificate against its pin, and
//! opens the *control stream* with `Hello { version, token, client_node }`;
//! the node answers `Welcome { node_name, node_id }` or `Refused { reason }`
//! and closes. On the control stream, `Ping`→`Pong` and
//! `Status`→`StatusReply` are answered by the transport (the numbers come
//! from [`Handler::status`]). A migration opens a stream of its own:
//!
//! ```text
//! client                         node
//! Migrate { root, chunks, run_for } -->
//!                           <--  Fetch { request, ids }      (any number)
//! Chunks { request, chunks } -->
//!                           <--  Output { line }             (any number)
//!                           <--  Done { root, chunks, instructions, value, started_us }
//!                                | Failed (the program failed) | Error (the node did)
//! ```
//!
//! The node's side of it is [`Handler::on_conversation`] with a
//! [`Conversation`]; the client's is [`Client::migrate`], which answers the
//! `Fetch`es while it waits. A debugger's conversation starts with `Debug`
//! instead, and the thread stays on the node, stopped, answering `DebugAsk`s
//! until it is handed back ([`debug`]). `Threads` asks for the node's
//! thread table ([`threads`]); `Attach { thread }` opens a debug session on
//! a thread the node runs already.
//!
//! # Invariants
//!
//! * A connection is authenticated before anything else is read: until its
//!   `Hello` checked out (version and token), the node allows the client one
//!   stream and reads one frame of at most [`transport::HELLO_MAX`] bytes
//!   from it, within a timeout; no other message and no chunk body is read.
//! * Every message is bounded: a frame's length is checked against
//!   [`wire::MAX_MESSAGE`] (or the connection's smaller limit) before
//!   anything is allocated, and frames and answers arrive within timeouts.
//! * Decoding never panics: malformed bytes are a typed [`wire::WireError`],
//!   answered with an `Error`; a bad peer ends at most its own connection.
//! * A client talks only to the certificate it pinned (or, on first use,
//!   pins the one it met before sending its token).

pub mod client;
pub mod debug;
pub mod identity;
pub mod migrate;
pub mod plan;
pub mod prefetch;
pub mod reach;
pub mod server;
pub mod service;
pub mod split;
pub mod threads;
pub mod transport;
pub mod trust;
pub mod wire;

pub use client::{Client, ClientOptions, Outcome, StatusReport};
pub use debug::{AttachError, Attachment, DebugError, NotMoved, Pauser, RemoteThread, Resumed};
pub use identity::{
    default_state_dir, Fingerprint, Identity, IdentityError, IdentityOptions, Token, TokenSource,
};
pub use migrate::{
    migrate, MigrateError, MigrateFailure, MigrateOptions, MigrateReport, SkipLines, Transfer,
};
pub use prefetch::{Policy, Prefetch};
pub use server::{Handler, NodeStatus, Server};
pub use service::NodeService;
pub use split::{split, Member, MemberReport, SplitError, SplitEvent, SplitOptions, SplitReport};
pub use threads::{ThreadInfo, ThreadState};
pub use transport::{Conversation, Limits, PeerInfo, TransportError};
pub use trust::{KnownNodes, Trust, TrustError};
pub use wire::{Message, WireError, MAX_MESSAGE, PROTOCOL_VERSION};
