//! Helpers shared by the node's integration tests: fresh state directories,
//! a test handler that plays a node's side of a migration, and servers on
//! 127.0.0.1.

#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chunkvm::chunk::{Chunk, ChunkId, Kind, NodeId};
use chunkvm::exec::{Capture, Vm};
use chunkvm_node::{
    Client, Conversation, Handler, Identity, IdentityOptions, Limits, Message, NodeService,
    NodeStatus, PeerInfo, Server, Trust,
};

/// Every test's bound against hangs.
pub const BOUND: Duration = Duration::from_secs(60);

/// Runs `f` under [`BOUND`], failing the test when it hangs.
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(BOUND, f).await {
        Ok(v) => v,
        Err(_) => panic!("the test did not finish within {BOUND:?}"),
    }
}

/// A fresh, empty directory for this test.
pub fn fresh_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "node-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The status the test handler reports.
pub const STATUS: NodeStatus = NodeStatus {
    threads: 3,
    chunks_held: 1234,
    load: 2,
    busy: false,
};

/// The chunk the test handler fetches from the client in a migration.
pub fn wanted() -> ChunkId {
    ChunkId::data(NodeId(1), 99)
}

/// A chunk with something in it.
pub fn sample_chunk(n: u64) -> Chunk {
    let mut c = Chunk::new(Kind::Frame);
    c.set_scalar(0, n);
    c.set_link(1, ChunkId::data(NodeId(1), n + 1));
    c
}

/// A node's side of a migration, for the tests: on `Migrate`, fetch
/// [`wanted`] from the client, print a line, and send back every chunk it
/// holds (the ones sent ahead and the fetched one) in `Done`; `Failed` when
/// the fetch fails; `Error` for anything else.
pub struct TestHandler;

impl Handler for TestHandler {
    fn status(&self) -> NodeStatus {
        STATUS
    }

    async fn on_conversation(&self, peer: PeerInfo, first: Message, mut conv: Conversation) {
        let Message::Migrate {
            request,
            root,
            mut chunks,
            ..
        } = first
        else {
            let _ = conv
                .send(&Message::Error {
                    request: 0,
                    message: format!("{} is not served", first.kind()),
                })
                .await;
            return;
        };
        match conv.fetch(vec![wanted()]).await {
            Ok(fetched) => chunks.extend(fetched),
            Err(e) => {
                let _ = conv
                    .send(&Message::Failed {
                        message: format!("request {request}: {e}"),
                    })
                    .await;
                return;
            }
        }
        let line = format!("from {}: {} chunks", peer.client_node, chunks.len());
        let _ = conv.send(&Message::Output { line }).await;
        let _ = conv
            .send(&Message::Done {
                root,
                chunks,
                instructions: 42,
                value: Vec::new(),
                started_us: 0,
            })
            .await;
        let _ = conv.finish();
    }
}

/// A node identity in a fresh state directory.
pub fn identity(name: &str) -> Identity {
    Identity::load_or_create(&fresh_dir(name), &IdentityOptions::default()).unwrap()
}

/// A server for `identity` on 127.0.0.1 (any port) with the test handler.
pub fn serve(identity: &Identity, limits: Limits) -> Server {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::bind(addr, identity, Arc::new(TestHandler), limits).unwrap()
}

/// A node run by this process: its server, service and identity.
pub struct Node {
    pub server: Server,
    pub service: Arc<NodeService>,
    pub identity: Identity,
}

/// A node with a [`NodeService`] on 127.0.0.1 (any port).
pub fn node(name: &str) -> Node {
    let identity = identity(name);
    let service = Arc::new(NodeService::new(identity.node_id()));
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = Server::bind(addr, &identity, service.clone(), Limits::default()).unwrap();
    Node {
        server,
        service,
        identity,
    }
}

/// A client of `node`, its certificate pinned.
pub async fn connect(node: &Node) -> Client {
    Client::connect(
        node.server.local_addr(),
        node.identity.token(),
        &Trust::Pinned(node.identity.fingerprint()),
    )
    .await
    .unwrap()
}

/// A started `fn main` of `source` printing into a capture.
pub fn plain(source: &str) -> (Vm, Capture) {
    let (_, program) = chunkvm::driver::build(source).unwrap();
    let (main, _) = program.function("main").unwrap();
    let mut vm = Vm::new(program);
    let capture = Capture::new();
    vm.set_output(Box::new(capture.clone()));
    vm.start(main, &[]).unwrap();
    (vm, capture)
}
