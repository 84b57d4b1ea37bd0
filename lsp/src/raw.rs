//! The requests answered around tower-lsp-server ([`crate::transport::Raw`]):
//! those whose results are big on a long file (semantic tokens, completion,
//! the outline, folding ranges, code lenses, formatting). Each is computed by
//! the same handler as the framework's ([`Requests`]), and its result is
//! serialized once, straight into the response, with no `serde_json::Value`
//! of it in between.

use crate::server::Requests;
use crate::transport::{params, Raw, RawCall, RawResult};
use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};

/// The methods answered here.
pub const METHODS: &[&str] = &[
    "textDocument/semanticTokens/full",
    "textDocument/semanticTokens/full/delta",
    "textDocument/semanticTokens/range",
    "textDocument/completion",
    "textDocument/documentSymbol",
    "textDocument/foldingRange",
    "textDocument/codeLens",
    "textDocument/formatting",
];

/// The raw handlers over the server's state.
pub struct RawRequests(pub Requests);

/// The call of one handler: its params read now, its work and its result's
/// serialization in the future.
fn call<P, R, F, Fut>(raw: Option<Value>, handler: F) -> RawCall
where
    P: DeserializeOwned,
    R: Serialize,
    F: FnOnce(P) -> Fut,
    Fut: Future<Output = Result<R>> + Send + 'static,
{
    let work = handler(params(raw)?);
    Ok(work.map(|result| result.and_then(|r| to_json(&r))).boxed())
}

/// `result` as JSON; the framework's internal error when it cannot be.
fn to_json<R: Serialize>(result: &R) -> RawResult {
    serde_json::to_vec(result).map_err(|err| Error {
        code: ErrorCode::InternalError,
        message: err.to_string().into(),
        data: None,
    })
}

impl Raw for RawRequests {
    fn takes(&self, method: &str) -> bool {
        METHODS.contains(&method)
    }

    fn call(&self, method: &str, raw: Option<Value>) -> RawCall {
        let req = self.0.clone();
        match method {
            "textDocument/semanticTokens/full" => {
                call(
                    raw,
                    move |p| async move { req.semantic_tokens_full(p).await },
                )
            }
            "textDocument/semanticTokens/full/delta" => call(raw, move |p| async move {
                req.semantic_tokens_full_delta(p).await
            }),
            "textDocument/semanticTokens/range" => {
                call(
                    raw,
                    move |p| async move { req.semantic_tokens_range(p).await },
                )
            }
            "textDocument/completion" => call(raw, move |p| async move { req.completion(p).await }),
            "textDocument/documentSymbol" => {
                call(raw, move |p| async move { req.document_symbol(p).await })
            }
            "textDocument/foldingRange" => {
                call(raw, move |p| async move { req.folding_range(p).await })
            }
            "textDocument/codeLens" => call(raw, move |p| async move { req.code_lens(p).await }),
            "textDocument/formatting" => call(raw, move |p| async move { req.formatting(p).await }),
            _ => Err(Error::method_not_found()),
        }
    }
}
