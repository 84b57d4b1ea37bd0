//! The node's side: a QUIC server that authenticates each connection's
//! `Hello`, answers `Ping` and `Status` itself and hands every other
//! conversation to a [`Handler`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chunkvm::chunk::NodeId;
use quinn::{Connection, Endpoint, Incoming, RecvStream, SendStream, VarInt};

use crate::identity::{Fingerprint, Identity, Token};
use crate::transport::{
    close, provider, read_message, reply_bad_message, request_of, transport_config, write_message,
    Conversation, Limits, PeerInfo, TransportError, ALPN, HELLO_MAX,
};
use crate::wire::{Message, WireError, PROTOCOL_VERSION};

/// What a node reports in a `StatusReply` (the transport adds its name and
/// id).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Threads the node holds.
    pub threads: u64,
    /// Chunks the node holds.
    pub chunks_held: u64,
    /// Threads running now.
    pub load: u64,
    /// Whether the node refuses more work for now.
    pub busy: bool,
}

/// The node's work: what the transport does not answer itself.
///
/// A migration is one call of [`Handler::on_conversation`] with the client's
/// `Migrate` as `first`: the handler may [`Conversation::fetch`] chunks from
/// the client any number of times, [`Conversation::send`] `Output` lines,
/// and ends with `Done` or `Failed`. It answers messages it does not serve
/// with an `Error` itself. The stream is finished when the conversation is
/// dropped.
pub trait Handler: Send + Sync + 'static {
    /// The numbers of the node's status.
    fn status(&self) -> NodeStatus;

    /// Serves one conversation of an authenticated client, whose first
    /// message was `first` (neither `Hello`, `Ping` nor `Status`).
    fn on_conversation(
        &self,
        peer: PeerInfo,
        first: Message,
        conversation: Conversation,
    ) -> impl Future<Output = ()> + Send;
}

/// What every connection task shares.
struct Shared<H> {
    handler: Arc<H>,
    name: String,
    node_id: NodeId,
    token: Token,
    limits: Limits,
}

/// A listening node. Dropping it stops accepting and closes every
/// connection at once; [`Server::shutdown`] also waits for the peers to be
/// told.
pub struct Server {
    endpoint: Endpoint,
    addr: SocketAddr,
    fingerprint: Fingerprint,
    accept: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl Server {
    /// Listens on `addr` (port 0: any free port, see
    /// [`Server::local_addr`]) with `identity`'s certificate and token, and
    /// serves connections on the current tokio runtime.
    pub fn bind<H: Handler>(
        addr: SocketAddr,
        identity: &Identity,
        handler: Arc<H>,
        limits: Limits,
    ) -> Result<Server, TransportError> {
        let config = |e: rustls::Error| TransportError::Config(e.to_string());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(config)?
            .with_no_client_auth()
            .with_single_cert(vec![identity.certificate().clone()], identity.private_key())
            .map_err(config)?;
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let quic = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let mut server_config = quinn::ServerConfig::with_crypto(Arc::new(quic));
        // One stream (the control stream, for the Hello) until authenticated.
        server_config.transport_config(Arc::new(transport_config(&limits, 1, false)?));
        let endpoint = Endpoint::server(server_config, addr)
            .map_err(|source| TransportError::Bind { addr, source })?;
        let local = endpoint
            .local_addr()
            .map_err(|source| TransportError::Bind { addr, source })?;
        let shared = Arc::new(Shared {
            handler,
            name: identity.name().to_string(),
            node_id: identity.node_id(),
            token: identity.token().clone(),
            limits,
        });
        let accepting = endpoint.clone();
        let accept = tokio::spawn(async move {
            while let Some(incoming) = accepting.accept().await {
                tokio::spawn(serve_connection(incoming, shared.clone()));
            }
        });
        Ok(Server {
            endpoint,
            addr: local,
            fingerprint: identity.fingerprint(),
            accept,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fingerprint of the certificate the server shows.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Stops accepting, closes every connection and waits (a few seconds at
    /// most) for the peers to be told.
    pub async fn shutdown(self) {
        self.accept.abort();
        self.endpoint.close(close::DONE, b"node shutting down");
        let endpoint = self.endpoint.clone();
        drop(self);
        let _ = tokio::time::timeout(Duration::from_secs(5), endpoint.wait_idle()).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
        self.endpoint.close(close::DONE, b"node shutting down");
    }
}

/// Serves one connection: the handshake and `Hello`, then its streams.
async fn serve_connection<H: Handler>(incoming: Incoming, shared: Arc<Shared<H>>) {
    let limits = shared.limits;
    let conn = match tokio::time::timeout(limits.hello_timeout, incoming).await {
        Ok(Ok(conn)) => conn,
        _ => return,
    };
    let Some((peer, control)) = authenticate(&conn, &shared).await else {
        return;
    };
    conn.set_max_concurrent_bi_streams(VarInt::from_u32(limits.max_streams));
    tokio::spawn(serve_control(control, conn.clone(), shared.clone()));
    while let Ok((send, recv)) = conn.accept_bi().await {
        tokio::spawn(serve_stream(send, recv, conn.clone(), peer, shared.clone()));
    }
}

/// Reads the connection's first stream's first frame, bounded in size and
/// time, and accepts it only if it is a `Hello` of this protocol version
/// with the node's token. On success the `Welcome` has been sent; otherwise
/// a `Refused` has and the connection is closed.
async fn authenticate<H: Handler>(
    conn: &Connection,
    shared: &Shared<H>,
) -> Option<(PeerInfo, (SendStream, RecvStream))> {
    let limits = shared.limits;
    let first = async {
        let (send, mut recv) = conn.accept_bi().await.ok()?;
        let hello = read_message(
            &mut recv,
            HELLO_MAX,
            Some(limits.hello_timeout),
            limits.hello_timeout,
        )
        .await;
        Some((send, recv, hello))
    };
    let (mut send, recv, hello) = match tokio::time::timeout(limits.hello_timeout, first).await {
        Ok(Some(got)) => got,
        // No stream in time, or the connection went away.
        _ => {
            conn.close(close::REFUSED, b"no Hello in time");
            return None;
        }
    };
    let refusal = match hello {
        Ok(Some(Message::Hello {
            version,
            token,
            client_node,
        })) => {
            if version != PROTOCOL_VERSION {
                Err(format!(
                    "protocol version {version} is not spoken here (this node speaks {PROTOCOL_VERSION})"
                ))
            } else if token != shared.token {
                Err("wrong access token".to_string())
            } else {
                match NodeId::new(client_node) {
                    Some(id) => Ok(id),
                    None => Err(format!("client node id {client_node} is not valid")),
                }
            }
        }
        Ok(Some(other)) => Err(format!("expected a Hello first, got {}", other.kind())),
        Ok(None) => Err("expected a Hello first, the stream ended".to_string()),
        Err(TransportError::Wire(WireError::Oversize { len, .. })) => Err(format!(
            "expected a Hello first, got a frame of {len} bytes (at most {HELLO_MAX} before a Hello)"
        )),
        Err(e) => Err(format!("expected a Hello first: {e}")),
    };
    match refusal {
        Ok(client_node) => {
            let welcome = Message::Welcome {
                node_name: shared.name.clone(),
                node_id: shared.node_id.0,
            };
            write_message(&mut send, &welcome).await.ok()?;
            let peer = PeerInfo {
                address: conn.remote_address(),
                client_node,
            };
            Some((peer, (send, recv)))
        }
        Err(reason) => {
            // Best effort: the peer may be gone.
            let _ = write_message(&mut send, &Message::Refused { reason }).await;
            let _ = send.finish();
            let _ = tokio::time::timeout(limits.hello_timeout, send.stopped()).await;
            conn.close(close::REFUSED, b"refused");
            None
        }
    }
}

/// The `StatusReply` of the node now.
fn status_reply<H: Handler>(shared: &Shared<H>) -> Message {
    let s = shared.handler.status();
    Message::StatusReply {
        name: shared.name.clone(),
        node_id: shared.node_id.0,
        threads: s.threads,
        chunks_held: s.chunks_held,
        load: s.load,
        busy: s.busy,
    }
}

/// Serves the control stream after the `Hello`: `Ping` and `Status`, until
/// the client ends it or the connection goes.
async fn serve_control<H: Handler>(
    (mut send, mut recv): (SendStream, RecvStream),
    conn: Connection,
    shared: Arc<Shared<H>>,
) {
    let limits = shared.limits;
    loop {
        let got = read_message(&mut recv, limits.max_message, None, limits.read_timeout).await;
        let reply = match got {
            Ok(Some(Message::Ping { nonce })) => Message::Pong { nonce },
            Ok(Some(Message::Status)) => status_reply(&shared),
            Ok(Some(other)) => Message::Error {
                request: request_of(&other),
                message: format!(
                    "{} is not served on the control stream (open a stream for it)",
                    other.kind()
                ),
            },
            Ok(None) => return,
            Err(TransportError::Wire(e)) => {
                reply_bad_message(&mut send, &conn, &e).await;
                if matches!(e, WireError::Oversize { .. } | WireError::Truncated { .. }) {
                    return;
                }
                continue;
            }
            Err(_) => return,
        };
        if write_message(&mut send, &reply).await.is_err() {
            return;
        }
    }
}

/// Serves one stream after the `Hello`: `Ping` and `Status` here, any other
/// first message through the handler.
async fn serve_stream<H: Handler>(
    mut send: SendStream,
    mut recv: RecvStream,
    conn: Connection,
    peer: PeerInfo,
    shared: Arc<Shared<H>>,
) {
    let limits = shared.limits;
    let first = read_message(
        &mut recv,
        limits.max_message,
        Some(limits.read_timeout),
        limits.read_timeout,
    )
    .await;
    let reply = match first {
        Ok(Some(Message::Ping { nonce })) => Message::Pong { nonce },
        Ok(Some(Message::Status)) => status_reply(&shared),
        Ok(Some(Message::Hello { .. })) => Message::Error {
            request: 0,
            message: "already authenticated: Hello is only the first message".to_string(),
        },
        Ok(Some(first)) => {
            let conversation = Conversation::new(send, recv, conn, limits);
            shared
                .handler
                .on_conversation(peer, first, conversation)
                .await;
            return;
        }
        Ok(None) => return,
        Err(TransportError::Wire(e)) => {
            reply_bad_message(&mut send, &conn, &e).await;
            let _ = send.finish();
            return;
        }
        Err(_) => return,
    };
    if write_message(&mut send, &reply).await.is_ok() {
        let _ = send.finish();
    }
}
