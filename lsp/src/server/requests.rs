//! What the handlers of requests about one open document share, for both paths
//! (the framework's and [`crate::raw`]): the open documents, the session, the
//! settings, and the requests whose results are big.

use super::{Caps, Session};
use crate::convert::{Encoding, Lines};
use crate::documents::{DocHandle, SentTokens, Shared, Snapshot};
use crate::features;
use crate::guard::guarded;
use chop_ide::Doc;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

/// What the handlers of requests about one open document read: the open
/// documents, the session, the settings. Shared by the server's handlers
/// (called by the framework) and the raw ones ([`crate::raw`]); the
/// requests whose results are big are answered here, by both.
#[derive(Clone)]
pub struct Requests {
    pub(super) shared: Arc<Shared>,
    pub(super) docs: Arc<RwLock<HashMap<Uri, Arc<DocHandle>>>>,
    pub(super) session: Arc<RwLock<Session>>,
    pub(super) token_ids: Arc<AtomicU64>,
}

impl Requests {
    pub(crate) fn session(&self) -> Session {
        self.session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn caps(&self) -> Caps {
        self.session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .caps
            .clone()
    }

    pub(crate) fn encoding(&self) -> Encoding {
        self.shared.encoding()
    }

    pub(crate) fn handle(&self, uri: &Uri) -> Option<Arc<DocHandle>> {
        self.docs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(uri)
            .cloned()
    }

    /// The latest snapshot of an open document (after every change queued), its
    /// program as the used files are now.
    pub async fn snapshot(&self, uri: &Uri) -> Option<Arc<Snapshot>> {
        let handle = self.handle(uri)?;
        Some(handle.latest().await)
    }

    /// The latest snapshot of an open document for request `what`: for the requests
    /// that read no more of the used files than their names, signatures, params and
    /// docs, the last analysis even when its program is behind an edit inside a used
    /// file's bodies (which changes none of that); for the others, as `snapshot`.
    async fn snapshot_for(&self, what: &str, uri: &Uri) -> Option<Arc<Snapshot>> {
        let handle = self.handle(uri)?;
        Some(if reads_used_files(what) {
            handle.latest().await
        } else {
            handle.analysed().await
        })
    }

    /// Runs `work` on the latest snapshot of `uri` with the byte offset of
    /// `pos`; `None` when the document is not open or `pos` is past its end.
    pub(crate) async fn at<T>(
        &self,
        what: &str,
        uri: &Uri,
        pos: Position,
        work: impl FnOnce(&Doc, &Lines<'_>, usize) -> T,
    ) -> Result<Option<T>> {
        let found = self
            .on(what, uri, |doc, lines| {
                let offset = lines.offset(pos)?;
                Some(work(doc, lines, offset))
            })
            .await?;
        Ok(found.flatten())
    }

    /// Runs `work` on the latest snapshot of `uri`; `None` when it is not open.
    pub(crate) async fn on<T>(
        &self,
        what: &str,
        uri: &Uri,
        work: impl FnOnce(&Doc, &Lines<'_>) -> T,
    ) -> Result<Option<T>> {
        let Some(snap) = self.snapshot_for(what, uri).await else {
            return Ok(None);
        };
        let enc = self.encoding();
        guarded(what, || {
            let lines = Lines::of(&snap.doc, enc);
            Some(work(&snap.doc, &lines))
        })
    }

    /// The open documents' actors, taken out of the lock (their snapshots are awaited).
    pub(crate) fn open_handles(&self) -> Vec<(Uri, Arc<DocHandle>)> {
        self.docs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(uri, handle)| (uri.clone(), handle.clone()))
            .collect()
    }

    /// `formatting`, for both paths.
    pub async fn formatting(
        &self,
        params: DocumentFormattingParams,
    ) -> Result<Option<Vec<TextEdit>>> {
        let found = self
            .on(
                "formatting",
                &params.text_document.uri,
                features::formatting::formatting,
            )
            .await?;
        found.transpose()
    }

    /// `completion`, for both paths.
    pub async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        let snippets = self.caps().snippets;
        let path = crate::convert::path_of(&p.text_document.uri);
        let lib = self.shared.lib();
        let found = self
            .at(
                "completion",
                &p.text_document.uri,
                p.position,
                |doc, lines, offset| {
                    features::completion::completion(
                        doc,
                        lines,
                        offset,
                        snippets,
                        path.as_deref(),
                        &lib,
                    )
                },
            )
            .await?;
        Ok(found.map(CompletionResponse::Array))
    }

    /// `document_symbol`, for both paths.
    pub async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let uri = params.text_document.uri.clone();
        let nested = self.caps().hierarchical_symbols;
        let found = self
            .on("documentSymbol", &uri, |doc, lines| {
                features::symbols::document_symbols(doc, lines, &uri, nested)
            })
            .await?;
        Ok(found)
    }

    /// The document's semantic tokens now, kept as the last sent under a new result id,
    /// and the tokens sent before them (for a delta); `None` for a document not open.
    async fn tokens_now(
        &self,
        uri: &Uri,
        method: &str,
    ) -> Result<Option<(SentTokens, Option<SentTokens>)>> {
        let Some(handle) = self.handle(uri) else {
            return Ok(None);
        };
        let snap = handle.analysed().await;
        let enc = self.encoding();
        let data = guarded(method, || {
            features::semantic_tokens::full(&snap.doc, &Lines::of(&snap.doc, enc))
        })?;
        let now = SentTokens {
            result_id: self.next_result_id(),
            data,
        };
        let previous = handle
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(now.clone());
        Ok(Some((now, previous)))
    }

    /// `semantic_tokens_full`, for both paths.
    pub async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let uri = params.text_document.uri;
        let Some((now, _)) = self.tokens_now(&uri, "semanticTokens/full").await? else {
            return Ok(None);
        };
        Ok(Some(SemanticTokensResult::Tokens(
            features::semantic_tokens::tokens(now.data, Some(now.result_id)),
        )))
    }

    /// `semantic_tokens_full_delta`, for both paths.
    pub async fn semantic_tokens_full_delta(
        &self,
        params: SemanticTokensDeltaParams,
    ) -> Result<Option<SemanticTokensFullDeltaResult>> {
        let uri = params.text_document.uri;
        let method = "semanticTokens/full/delta";
        let Some((now, previous)) = self.tokens_now(&uri, method).await? else {
            return Ok(None);
        };
        match previous {
            Some(previous) if previous.result_id == params.previous_result_id => {
                let edits = guarded(method, || {
                    features::semantic_tokens::delta(&previous.data, &now.data)
                })?;
                Ok(Some(SemanticTokensFullDeltaResult::TokensDelta(
                    SemanticTokensDelta {
                        result_id: Some(now.result_id),
                        edits,
                    },
                )))
            }
            _ => Ok(Some(SemanticTokensFullDeltaResult::Tokens(
                features::semantic_tokens::tokens(now.data, Some(now.result_id)),
            ))),
        }
    }

    /// `semantic_tokens_range`, for both paths.
    pub async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        let range = params.range;
        let found = self
            .on(
                "semanticTokens/range",
                &params.text_document.uri,
                |doc, lines| {
                    let span = lines.span(range)?;
                    Some(features::semantic_tokens::range(doc, lines, span))
                },
            )
            .await?;
        Ok(found.flatten().map(|data| {
            SemanticTokensRangeResult::Tokens(features::semantic_tokens::tokens(data, None))
        }))
    }

    /// `folding_range`, for both paths.
    pub async fn folding_range(
        &self,
        params: FoldingRangeParams,
    ) -> Result<Option<Vec<FoldingRange>>> {
        let found = self
            .on("foldingRange", &params.text_document.uri, |doc, _| {
                features::folding::folding_ranges(doc)
            })
            .await?;
        Ok(Some(found.unwrap_or_default()))
    }

    /// `code_lens`, for both paths.
    pub async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri.clone();
        let found = self
            .on("codeLens", &uri, |doc, lines| {
                features::code_lens::code_lenses(doc, lines, &uri)
            })
            .await?;
        Ok(Some(found.unwrap_or_default()))
    }

    fn next_result_id(&self) -> String {
        self.token_ids.fetch_add(1, Ordering::Relaxed).to_string()
    }
}

/// Whether request `what` reads more of the files its document uses than their
/// names, kinds, signatures, params and docs: positions in them (definition,
/// references, rename, workspace symbols) or their code (previews, graphs, lenses).
/// Those wait for a document whose program is behind an edit inside a used file's
/// bodies to be analysed again; the listed others answer from its last analysis,
/// which shows them the same. A request not listed waits.
fn reads_used_files(what: &str) -> bool {
    !matches!(
        what,
        "formatting"
            | "completion"
            | "documentSymbol"
            | "semanticTokens/range"
            | "foldingRange"
            | "hover"
            | "signatureHelp"
            | "documentHighlight"
            | "selectionRange"
            | "inlayHint"
    )
}
