//! The client's side: connect to a node with its pinned certificate and its
//! token, then ping it, ask its status or migrate a thread to it.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chunkvm::chunk::{ChunkId, IdSet, NodeId};
use quinn::{Connection, Endpoint, RecvStream, SendStream};
use tokio::sync::Mutex;

use crate::identity::{Fingerprint, Token, SERVER_NAME};
use crate::server::NodeStatus;
use crate::transport::{
    close, provider, read_message, transport_config, write_message, Conversation, Limits,
    TransportError, ALPN,
};
use crate::trust::{PinnedVerifier, Trust, TrustError};
use crate::wire::{ChunkList, Message, PROTOCOL_VERSION};

/// Options of a connection.
#[derive(Clone, Copy, Debug)]
pub struct ClientOptions {
    /// The client's node id, sent in the `Hello` (1: the local client).
    pub client_node: NodeId,
    /// The connection's bounds.
    pub limits: Limits,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            client_node: NodeId(1),
            limits: Limits::default(),
        }
    }
}

/// A node's status as it reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// The node's name.
    pub name: String,
    /// The node's id.
    pub node_id: u16,
    /// The numbers.
    pub status: NodeStatus,
}

/// How a migration ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The thread ended on the node.
    Done {
        /// The root of what the node sent back.
        root: ChunkId,
        /// The chunks sent back.
        chunks: ChunkList,
        /// The thread's instruction count at the end.
        instructions: u64,
        /// The finished thread's value ([`crate::wire::encode_value`]);
        /// empty when the thread was handed back.
        value: Vec<u8>,
        /// Microseconds from the node receiving the `Migrate` to the
        /// thread's first instruction there.
        started_us: u64,
    },
    /// The thread or its migration failed on the node.
    Failed {
        /// The node's message.
        message: String,
    },
}

/// An authenticated connection to a node.
#[derive(Debug)]
pub struct Client {
    endpoint: Endpoint,
    conn: Connection,
    control: Mutex<(SendStream, RecvStream)>,
    node_name: String,
    node_id: u16,
    fingerprint: Fingerprint,
    limits: Limits,
    next_request: AtomicU64,
    /// The code chunks sent to this node in earlier migrations: it keeps
    /// code, so they are not sent again.
    code_sent: std::sync::Mutex<IdSet>,
}

impl Client {
    /// Connects to the node at `addr` with [`ClientOptions::default`].
    pub async fn connect(
        addr: SocketAddr,
        token: &Token,
        trust: &Trust,
    ) -> Result<Client, TransportError> {
        Client::connect_with(addr, token, trust, &ClientOptions::default()).await
    }

    /// Connects to the node at `addr`: the TLS handshake checks the node's
    /// certificate against `trust` (remembering it on first use), then the
    /// `Hello` presents `token`. A refused `Hello` is
    /// [`TransportError::Refused`]; another certificate than the pinned one
    /// is [`TransportError::Trust`] with [`TrustError::Mismatch`].
    pub async fn connect_with(
        addr: SocketAddr,
        token: &Token,
        trust: &Trust,
        options: &ClientOptions,
    ) -> Result<Client, TransportError> {
        let limits = options.limits;
        let (expected, remember) = match trust {
            Trust::Pinned(f) => (Some(*f), None),
            Trust::KnownNodes(known) => {
                let key = addr.to_string();
                (known.get(&key)?, Some((known, key)))
            }
            Trust::KnownNodesAs { known, key } => (known.get(key)?, Some((known, key.clone()))),
        };
        let provider = provider();
        let verifier = Arc::new(PinnedVerifier::new(expected, provider.clone()));
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TransportError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        tls.alpn_protocols = vec![ALPN.to_vec()];
        let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let mut config = quinn::ClientConfig::new(Arc::new(quic));
        // The node opens no streams towards the client.
        config.transport_config(Arc::new(transport_config(&limits, 0, true)?));

        let local: SocketAddr = if addr.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let endpoint = Endpoint::client(local).map_err(|source| TransportError::Bind {
            addr: local,
            source,
        })?;
        let connecting = endpoint
            .connect_with(config, addr, SERVER_NAME)
            .map_err(TransportError::Connect)?;
        let conn = match tokio::time::timeout(limits.hello_timeout, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                return Err(match (expected, verifier.presented()) {
                    (Some(expected), Some(presented)) if expected != presented => {
                        TransportError::Trust(TrustError::Mismatch {
                            key: match &remember {
                                Some((_, key)) => key.clone(),
                                None => addr.to_string(),
                            },
                            expected,
                            presented,
                            file: remember.as_ref().map(|(k, _)| k.path().to_path_buf()),
                        })
                    }
                    _ => TransportError::Connection(e),
                })
            }
            Err(_) => {
                return Err(TransportError::Timeout {
                    waiting_for: "TLS handshake",
                    after: limits.hello_timeout,
                })
            }
        };
        let Some(fingerprint) = verifier.presented() else {
            conn.close(close::DONE, b"no certificate");
            return Err(TransportError::Config(
                "the handshake ended without a certificate".to_string(),
            ));
        };
        if let (None, Some((known, key))) = (expected, &remember) {
            known.remember(key, fingerprint)?;
        }

        let hello = Message::Hello {
            version: PROTOCOL_VERSION,
            token: token.clone(),
            client_node: options.client_node.0,
        };
        let greet = async {
            let (mut send, mut recv) = conn.open_bi().await.map_err(TransportError::Connection)?;
            write_message(&mut send, &hello).await?;
            let reply = read_message(
                &mut recv,
                limits.max_message,
                Some(limits.hello_timeout),
                limits.read_timeout,
            )
            .await?;
            Ok::<_, TransportError>((send, recv, reply))
        };
        let (send, recv, reply) = match tokio::time::timeout(limits.hello_timeout, greet).await {
            Ok(got) => got?,
            Err(_) => {
                conn.close(close::DONE, b"no Welcome");
                return Err(TransportError::Timeout {
                    waiting_for: "Welcome",
                    after: limits.hello_timeout,
                });
            }
        };
        match reply {
            Some(Message::Welcome { node_name, node_id }) => Ok(Client {
                endpoint,
                conn,
                control: Mutex::new((send, recv)),
                node_name,
                node_id,
                fingerprint,
                limits,
                next_request: AtomicU64::new(1),
                code_sent: std::sync::Mutex::new(IdSet::default()),
            }),
            Some(Message::Refused { reason }) => {
                conn.close(close::DONE, b"refused");
                Err(TransportError::Refused { reason })
            }
            Some(other) => {
                conn.close(close::DONE, b"unexpected");
                Err(TransportError::Unexpected {
                    expected: "Welcome",
                    got: other.kind(),
                })
            }
            None => Err(TransportError::Ended),
        }
    }

    /// The node's name (from its `Welcome`).
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// The node's id (from its `Welcome`).
    pub fn node_id(&self) -> u16 {
        self.node_id
    }

    /// The fingerprint of the node's certificate.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The limits of the connection.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The code chunks this connection sent the node in earlier migrations.
    pub(crate) fn code_sent(&self) -> IdSet {
        match self.code_sent.lock() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Remembers code chunks the node received from this connection.
    pub(crate) fn remember_code(&self, ids: impl IntoIterator<Item = ChunkId>) {
        let mut set = match self.code_sent.lock() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        set.extend(ids.into_iter().filter(|id| id.is_code()));
    }

    /// A fresh request number for a conversation this client starts.
    pub(crate) fn next_request(&self) -> u64 {
        self.next_request.fetch_add(1, Ordering::Relaxed)
    }

    /// The QUIC connection (to open raw streams, e.g. in tests).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Sends `request` on the control stream and waits at most
    /// [`Limits::read_timeout`] for the answer.
    async fn control(&self, request: &Message) -> Result<Message, TransportError> {
        let mut control = self.control.lock().await;
        let (send, recv) = &mut *control;
        write_message(send, request).await?;
        let reply = read_message(
            recv,
            self.limits.max_message,
            Some(self.limits.read_timeout),
            self.limits.read_timeout,
        )
        .await?;
        match reply {
            Some(Message::Error { request, message }) => {
                Err(TransportError::Remote { request, message })
            }
            Some(m) => Ok(m),
            None => Err(TransportError::Ended),
        }
    }

    /// Pings the node; fails unless it answers the same nonce in time.
    pub async fn ping(&self, nonce: u64) -> Result<(), TransportError> {
        match self.control(&Message::Ping { nonce }).await? {
            Message::Pong { nonce: n } if n == nonce => Ok(()),
            other => Err(TransportError::Unexpected {
                expected: "Pong with the Ping's nonce",
                got: other.kind(),
            }),
        }
    }

    /// The node's status.
    pub async fn status(&self) -> Result<StatusReport, TransportError> {
        match self.control(&Message::Status).await? {
            Message::StatusReply {
                name,
                node_id,
                threads,
                chunks_held,
                load,
                busy,
            } => Ok(StatusReport {
                name,
                node_id,
                status: NodeStatus {
                    threads,
                    chunks_held,
                    load,
                    busy,
                },
            }),
            other => Err(TransportError::Unexpected {
                expected: "StatusReply",
                got: other.kind(),
            }),
        }
    }

    /// The node's thread table: the threads it holds, for whom, in what
    /// state ([`crate::threads`]).
    pub async fn threads(&self) -> Result<Vec<crate::threads::ThreadInfo>, TransportError> {
        let mut conv = self.conversation().await?;
        conv.send(&Message::Threads).await?;
        let reply = conv.recv_within(self.limits.read_timeout).await?;
        let _ = conv.finish();
        match reply {
            Message::ThreadList { threads } => Ok(threads),
            Message::Error { request, message } => Err(TransportError::Remote { request, message }),
            other => Err(TransportError::Unexpected {
                expected: "ThreadList",
                got: other.kind(),
            }),
        }
    }

    /// Opens a conversation (a stream of its own).
    pub async fn conversation(&self) -> Result<Conversation, TransportError> {
        let (send, recv) = self
            .conn
            .open_bi()
            .await
            .map_err(TransportError::Connection)?;
        Ok(Conversation::new(
            send,
            recv,
            self.conn.clone(),
            self.limits,
        ))
    }

    /// Migrates the thread whose root is `root` to the node, sending
    /// `chunks` ahead (with `run_for`, the node hands the thread back at
    /// the first safe point after that many instructions). While the node runs it, `fetch` answers the node's
    /// `Fetch` requests (its `Err` is sent as an `Error` for the request)
    /// and `output` receives the thread's lines. Returns the node's `Done`
    /// or `Failed`.
    pub async fn migrate<F, O>(
        &self,
        root: ChunkId,
        chunks: ChunkList,
        run_for: Option<u64>,
        mut fetch: F,
        mut output: O,
    ) -> Result<Outcome, TransportError>
    where
        F: FnMut(&[ChunkId]) -> Result<ChunkList, String>,
        O: FnMut(String),
    {
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        let mut conversation = self.conversation().await?;
        conversation
            .send(&Message::Migrate {
                request,
                root,
                chunks,
                run_for,
            })
            .await?;
        loop {
            match conversation.recv().await? {
                Message::Fetch { request: r, ids } => {
                    let answer = match fetch(&ids) {
                        Ok(chunks) => Message::Chunks { request: r, chunks },
                        Err(message) => Message::Error {
                            request: r,
                            message,
                        },
                    };
                    conversation.send(&answer).await?;
                }
                Message::Output { line } => output(line),
                Message::Done {
                    root,
                    chunks,
                    instructions,
                    value,
                    started_us,
                } => {
                    return Ok(Outcome::Done {
                        root,
                        chunks,
                        instructions,
                        value,
                        started_us,
                    })
                }
                Message::Failed { message } => return Ok(Outcome::Failed { message }),
                Message::Error {
                    request: r,
                    message,
                } => {
                    return Err(TransportError::Remote {
                        request: if r == 0 { request } else { r },
                        message,
                    })
                }
                other => {
                    let reply = Message::Error {
                        request,
                        message: format!("{} is not part of a migration", other.kind()),
                    };
                    let _ = conversation.send(&reply).await;
                    return Err(TransportError::Unexpected {
                        expected: "Fetch, Output, Done or Failed",
                        got: other.kind(),
                    });
                }
            }
        }
    }

    /// Closes the connection and waits (a few seconds at most) for the node
    /// to be told.
    pub async fn close(self) {
        self.conn.close(close::DONE, b"bye");
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.endpoint.wait_idle())
            .await;
    }
}
