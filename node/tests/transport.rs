//! The transport over real sockets on 127.0.0.1: authentication, trust,
//! bad frames, restarts, concurrent clients and a migration's conversation.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use chunkvm::chunk::{ChunkId, NodeId};
use chunkvm_node::identity::{Identity, IdentityOptions, SERVER_NAME};
use chunkvm_node::transport::ALPN;
use chunkvm_node::trust::PinnedVerifier;
use chunkvm_node::wire::{decode_frame, encode_frame};
use chunkvm_node::{
    Client, ClientOptions, Fingerprint, KnownNodes, Limits, Message, Outcome, Token,
    TransportError, Trust, TrustError,
};
use common::{bounded, fresh_dir, identity, sample_chunk, serve, wanted, STATUS};

/// A raw QUIC connection to `addr` that trusts `fingerprint`, for peers that
/// do not follow the protocol.
async fn raw_connection(
    addr: std::net::SocketAddr,
    fingerprint: Fingerprint,
) -> (quinn::Endpoint, quinn::Connection) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedVerifier::new(Some(fingerprint), provider.clone()));
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    let conn = endpoint
        .connect_with(quinn::ClientConfig::new(Arc::new(quic)), addr, SERVER_NAME)
        .unwrap()
        .await
        .unwrap();
    (endpoint, conn)
}

/// Sends `bytes` on a new stream of `conn`, ends it, and reads every frame
/// the node answers until it ends the stream.
async fn exchange_raw(conn: &quinn::Connection, bytes: &[u8]) -> Vec<Message> {
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    send.write_all(bytes).await.unwrap();
    send.finish().unwrap();
    let got = recv.read_to_end(1 << 20).await.unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    while at < got.len() {
        let (m, used) = decode_frame(&got[at..]).unwrap();
        out.push(m);
        at += used;
    }
    out
}

fn pinned(identity: &Identity) -> Trust {
    Trust::Pinned(identity.fingerprint())
}

#[tokio::test]
async fn connect_ping_and_status() {
    bounded(async {
        let id = identity("ping");
        let server = serve(&id, Limits::default());
        let client = Client::connect(server.local_addr(), id.token(), &pinned(&id))
            .await
            .unwrap();
        assert_eq!(client.node_name(), id.name());
        assert_eq!(client.node_id(), id.node_id().0);
        assert_eq!(client.fingerprint(), id.fingerprint());
        for nonce in [0, 7, u64::MAX] {
            client.ping(nonce).await.unwrap();
        }
        let report = client.status().await.unwrap();
        assert_eq!(report.name, id.name());
        assert_eq!(report.node_id, id.node_id().0);
        assert_eq!(report.status, STATUS);
        client.close().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_token_is_refused_while_a_good_client_is_served() {
    bounded(async {
        let id = identity("token");
        let server = serve(&id, Limits::default());
        let good = Client::connect(server.local_addr(), id.token(), &pinned(&id))
            .await
            .unwrap();
        let wrong = Token::from_bytes([7; 32]);
        let trust = pinned(&id);
        let (refused, pong) = tokio::join!(
            Client::connect(server.local_addr(), &wrong, &trust),
            good.ping(1)
        );
        match refused {
            Err(TransportError::Refused { reason }) => {
                assert!(reason.contains("wrong access token"), "{reason}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        pong.unwrap();
        good.ping(2).await.unwrap();
        // A client with a bad node id is refused too.
        let options = ClientOptions {
            client_node: NodeId(0),
            ..ClientOptions::default()
        };
        let bad_node =
            Client::connect_with(server.local_addr(), id.token(), &pinned(&id), &options).await;
        assert!(
            matches!(&bad_node, Err(TransportError::Refused { reason }) if reason.contains("node id 0")),
            "{bad_node:?}"
        );
        // And afterwards a new good client still gets in.
        let again = Client::connect(server.local_addr(), id.token(), &pinned(&id))
            .await
            .unwrap();
        again.ping(3).await.unwrap();
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_sends_anything_but_a_hello_first_is_refused() {
    bounded(async {
        let id = identity("garbage");
        let server = serve(&id, Limits::default());

        // Garbage: its first four bytes read as a huge length.
        let (_e1, conn) = raw_connection(server.local_addr(), id.fingerprint()).await;
        let got = exchange_raw(&conn, b"GET / HTTP/1.1\r\nHost: node\r\n\r\n").await;
        match got.as_slice() {
            [Message::Refused { reason }] => {
                assert!(reason.contains("expected a Hello first"), "{reason}")
            }
            other => panic!("expected one Refused, got {other:?}"),
        }
        let closed = conn.closed().await;
        assert!(
            matches!(&closed, quinn::ConnectionError::ApplicationClosed(c) if c.error_code == quinn::VarInt::from_u32(1)),
            "{closed:?}"
        );

        // A well-formed message that is not a Hello.
        let (_e2, conn) = raw_connection(server.local_addr(), id.fingerprint()).await;
        let ping = encode_frame(&Message::Ping { nonce: 1 }).unwrap();
        let got = exchange_raw(&conn, &ping).await;
        assert!(
            matches!(got.as_slice(), [Message::Refused { reason }] if reason.contains("got Ping")),
            "{got:?}"
        );

        // A Hello of another protocol version.
        let (_e3, conn) = raw_connection(server.local_addr(), id.fingerprint()).await;
        let hello = encode_frame(&Message::Hello {
            version: 999,
            token: id.token().clone(),
            client_node: 1,
        })
        .unwrap();
        let got = exchange_raw(&conn, &hello).await;
        assert!(
            matches!(got.as_slice(), [Message::Refused { reason }] if reason.contains("version 999")),
            "{got:?}"
        );

        // The node still serves.
        let client = Client::connect(server.local_addr(), id.token(), &pinned(&id))
            .await
            .unwrap();
        client.ping(9).await.unwrap();
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn another_certificate_is_refused_at_the_client() {
    bounded(async {
        let id = identity("fingerprint");
        let server = serve(&id, Limits::default());

        let wrong = Fingerprint([0x11; 32]);
        let e = Client::connect(server.local_addr(), id.token(), &Trust::Pinned(wrong))
            .await
            .unwrap_err();
        match &e {
            TransportError::Trust(TrustError::Mismatch {
                expected,
                presented,
                file: None,
                ..
            }) => {
                assert_eq!(*expected, wrong);
                assert_eq!(*presented, id.fingerprint());
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }

        // Trust on first use: remembered, then used.
        let client_dir = fresh_dir("fingerprint-client");
        let known = KnownNodes::in_dir(&client_dir);
        let trust = Trust::KnownNodes(known.clone());
        let first = Client::connect(server.local_addr(), id.token(), &trust)
            .await
            .unwrap();
        first.ping(1).await.unwrap();
        let key = server.local_addr().to_string();
        assert_eq!(known.get(&key).unwrap(), Some(id.fingerprint()));
        let second = Client::connect(server.local_addr(), id.token(), &trust)
            .await
            .unwrap();
        second.ping(2).await.unwrap();

        // Another node's certificate pinned for the address: refused, and the
        // error names both fingerprints and the file.
        let other = identity("fingerprint-other");
        known.remember(&key, other.fingerprint()).unwrap();
        let e = Client::connect(server.local_addr(), id.token(), &trust)
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&id.fingerprint().to_string()), "{text}");
        assert!(text.contains(&other.fingerprint().to_string()), "{text}");
        assert!(text.contains(&known.path().display().to_string()), "{text}");
        assert!(
            matches!(
                e,
                TransportError::Trust(TrustError::Mismatch { file: Some(_), .. })
            ),
            "{e:?}"
        );
        // The pin is left as it was.
        assert_eq!(known.get(&key).unwrap(), Some(other.fingerprint()));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_and_oversized_frames_get_an_error_and_the_node_survives() {
    bounded(async {
        let id = identity("frames");
        let limits = Limits {
            max_message: 4096,
            ..Limits::default()
        };
        let server = serve(&id, limits);
        let client = Client::connect(server.local_addr(), id.token(), &pinned(&id))
            .await
            .unwrap();

        // An unknown tag: an Error on that stream; the connection lives on.
        let got = exchange_raw(client.connection(), &[1, 0, 0, 0, 200]).await;
        assert!(
            matches!(got.as_slice(), [Message::Error { message, .. }] if message.contains("unknown message tag 200")),
            "{got:?}"
        );
        // Trailing bytes after a Ping.
        let got = exchange_raw(client.connection(), &[10, 0, 0, 0, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0]).await;
        assert!(
            matches!(got.as_slice(), [Message::Error { message, .. }] if message.contains("trailing")),
            "{got:?}"
        );
        // A stream that ends inside a frame.
        let got = exchange_raw(client.connection(), &[100, 0, 0, 0, 9, 9]).await;
        assert!(
            matches!(got.as_slice(), [Message::Error { message, .. }] if message.contains("truncated")),
            "{got:?}"
        );
        client.ping(1).await.unwrap();

        // A real message above the node's limit: refused from its length,
        // answered, and this connection ends.
        let big = Message::Chunks {
            request: 1,
            chunks: (1..20)
                .map(|n| (ChunkId::data(NodeId(1), n), sample_chunk(n)))
                .collect(),
        };
        let frame = encode_frame(&big).unwrap();
        assert!(frame.len() > 4096);
        let got = exchange_raw(client.connection(), &frame).await;
        assert!(
            matches!(got.as_slice(), [Message::Error { message, .. }] if message.contains("larger than the maximum of 4096")),
            "{got:?}"
        );
        let closed = client.connection().closed().await;
        assert!(
            matches!(&closed, quinn::ConnectionError::ApplicationClosed(c) if c.error_code == quinn::VarInt::from_u32(2)),
            "{closed:?}"
        );

        // A length that lies far beyond any limit, from another client.
        let other = Client::connect(server.local_addr(), id.token(), &pinned(&id))
            .await
            .unwrap();
        let got = exchange_raw(other.connection(), &[0xff, 0xff, 0xff, 0xff, 1, 2, 3]).await;
        assert!(
            matches!(got.as_slice(), [Message::Error { message, .. }] if message.contains("4294967295 bytes")),
            "{got:?}"
        );

        // The node survives all of it.
        let fresh = Client::connect(server.local_addr(), id.token(), &pinned(&id))
            .await
            .unwrap();
        fresh.ping(2).await.unwrap();
        assert_eq!(fresh.status().await.unwrap().status, STATUS);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_restarted_node_keeps_its_name_certificate_and_token() {
    bounded(async {
        let dir = fresh_dir("restart");
        let id = Identity::load_or_create(&dir, &IdentityOptions::default()).unwrap();
        let known = KnownNodes::in_dir(&fresh_dir("restart-client"));
        let trust = Trust::KnownNodesAs {
            known: known.clone(),
            key: "the-node".to_string(),
        };
        let server = serve(&id, Limits::default());
        let client = Client::connect(server.local_addr(), id.token(), &trust)
            .await
            .unwrap();
        client.ping(1).await.unwrap();
        client.close().await;
        server.shutdown().await;

        let again = Identity::load_or_create(&dir, &IdentityOptions::default()).unwrap();
        assert_eq!(again.name(), id.name());
        assert_eq!(again.node_id(), id.node_id());
        assert_eq!(again.fingerprint(), id.fingerprint());
        assert_eq!(again.token(), id.token());
        let server = serve(&again, Limits::default());
        // The pin made before the restart still holds, and the old token works.
        let client = Client::connect(server.local_addr(), id.token(), &trust)
            .await
            .unwrap();
        assert_eq!(client.node_name(), id.name());
        client.ping(2).await.unwrap();
        assert_eq!(known.entries().unwrap().len(), 1);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn two_clients_migrate_at_once() {
    bounded(async {
        let id = identity("two");
        let server = serve(&id, Limits::default());
        let connect = |node: u16| {
            let options = ClientOptions {
                client_node: NodeId(node),
                ..ClientOptions::default()
            };
            let trust = pinned(&id);
            let token = id.token().clone();
            let addr = server.local_addr();
            async move {
                Client::connect_with(addr, &token, &trust, &options)
                    .await
                    .unwrap()
            }
        };
        let (a, b) = tokio::join!(connect(1), connect(300));

        async fn migrate(client: &Client, n: u64) -> (Outcome, Vec<String>, Vec<ChunkId>) {
            let root = ChunkId::data(NodeId(1), n);
            let ahead = vec![(root, sample_chunk(n))];
            let mut lines = Vec::new();
            let mut asked = Vec::new();
            {
                let outcome = client
                    .migrate(
                        root,
                        ahead,
                        None,
                        |ids| {
                            asked.extend_from_slice(ids);
                            Ok(ids.iter().map(|id| (*id, sample_chunk(id.0))).collect())
                        },
                        |line| lines.push(line),
                    )
                    .await
                    .unwrap();
                (outcome, lines, asked)
            }
        }
        let (ra, rb, pa, pb) = tokio::join!(migrate(&a, 10), migrate(&b, 20), a.ping(5), b.ping(6));
        pa.unwrap();
        pb.unwrap();
        for ((outcome, lines, asked), n, node) in [(ra, 10, 1), (rb, 20, 300)] {
            let root = ChunkId::data(NodeId(1), n);
            assert_eq!(asked, vec![wanted()]);
            assert_eq!(lines, vec![format!("from n{node}: 2 chunks")]);
            assert_eq!(
                outcome,
                Outcome::Done {
                    root,
                    chunks: vec![
                        (root, sample_chunk(n)),
                        (wanted(), sample_chunk(wanted().0))
                    ],
                    instructions: 42,
                    value: Vec::new(),
                    started_us: 0,
                }
            );
        }
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_failed_fetch_ends_the_migration_with_failed() {
    bounded(async {
        let id = identity("fetch-fails");
        let server = serve(&id, Limits::default());
        let client = Client::connect(server.local_addr(), id.token(), &pinned(&id))
            .await
            .unwrap();
        let root = ChunkId::data(NodeId(1), 1);
        let outcome = client
            .migrate(
                root,
                Vec::new(),
                None,
                |ids| Err(format!("no chunk {}", ids[0])),
                |_| {},
            )
            .await
            .unwrap();
        match outcome {
            Outcome::Failed { message } => {
                assert!(message.contains("no chunk d1.99"), "{message}")
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        // A conversation the handler does not serve gets an Error.
        let mut conv = client.conversation().await.unwrap();
        conv.send(&Message::Ack).await.unwrap();
        let reply = conv.recv().await.unwrap();
        assert!(
            matches!(&reply, Message::Error { message, .. } if message.contains("Ack is not served")),
            "{reply:?}"
        );
        server.shutdown().await;
    })
    .await;
}
