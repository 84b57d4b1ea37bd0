//! `chop-lsp`: the language server of Chop.
//!
//! A thin protocol layer over `chop_ide`: [`server`] holds the state and
//! dispatches each request to its feature (`features/`, one file per feature,
//! and `ext/` for the protocol extensions `chop/chunkGraph`, `chop/preview`
//! and `chop/params`); [`documents`] runs an actor per open document that
//! hands its edits, strictly in order and converted to byte ranges, to a
//! `chop_ide::Document` (which re-parses incrementally), and publishes its
//! diagnostics; [`transport`] reads and writes the framed JSON-RPC
//! messages (surviving malformed ones) and answers the requests [`raw`]
//! takes around the framework (their results serialized once); [`convert`] is the one place where positions, URIs and
//! types cross between LSP and the analysis. [`harness`] is an in-process
//! client (for the tests and the benchmark), [`bench`] the benchmark.

pub mod bench;
pub mod config;
pub mod convert;
pub mod diagnostics;
pub mod documents;
pub mod ext;
pub mod features;
pub mod guard;
pub mod harness;
pub mod raw;
pub mod server;
pub mod transport;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tower_lsp_server::{ClientSocket, LspService};

/// The service with every standard method and the `chop/*` extensions, the
/// raw handlers of the requests with big results (over the same server), and
/// the flag set when the client asks for a shutdown.
pub fn service() -> (
    LspService<server::Backend>,
    ClientSocket,
    raw::RawRequests,
    Arc<AtomicBool>,
) {
    let shutdown = Arc::new(AtomicBool::new(false));
    let flag = shutdown.clone();
    let (service, socket) = LspService::build(move |client| server::Backend::new(client, flag))
        .custom_method("chop/chunkGraph", server::Backend::chunk_graph)
        .custom_method("chop/preview", server::Backend::preview)
        .custom_method("chop/params", server::Backend::params)
        .finish();
    let raw = raw::RawRequests(service.inner().requests());
    (service, socket, raw, shutdown)
}

/// Serves LSP on `input` and `output` until `exit`; `true` when a shutdown
/// was asked for first (the process then exits with 0, else 1).
pub async fn serve<I, O>(input: I, output: O) -> bool
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite + Unpin,
{
    serve_paths(input, output, true).await
}

/// [`serve`]; with `raw` false, every request is answered by the framework
/// (the tests compare both paths).
pub async fn serve_paths<I, O>(input: I, output: O, raw: bool) -> bool
where
    I: tokio::io::AsyncRead + Unpin,
    O: tokio::io::AsyncWrite + Unpin,
{
    let (service, socket, handlers, shutdown) = service();
    let handlers: Arc<dyn transport::Raw> = if raw {
        Arc::new(handlers)
    } else {
        Arc::new(transport::NoRaw)
    };
    transport::serve_with(input, output, service, socket, handlers).await;
    shutdown.load(std::sync::atomic::Ordering::SeqCst)
}
