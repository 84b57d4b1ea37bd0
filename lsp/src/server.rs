//! The language server: state, lifecycle, document sync, and one handler per
//! request that finds the document's latest snapshot, converts the position
//! and calls the feature's module (in `features/` and `ext/`) under a guard.
//!
//! Requests about documents that are not open, or positions past the end of
//! the text, get an empty result. A panic in a feature becomes an internal
//! error response; the server goes on.

use crate::config::Config;
use crate::convert::{Encoding, Lines};
use crate::documents::{DocHandle, Shared};
use crate::ext;
use crate::features;
use crate::guard::guarded;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

mod requests;
pub use requests::Requests;

/// What the client said it can do, as far as the server cares.
#[derive(Clone, Debug, Default)]
pub struct Caps {
    /// Completion items may be snippets.
    pub snippets: bool,
    /// Diagnostics may carry `relatedInformation`.
    pub related_information: bool,
    /// The client handles `window/workDoneProgress/create`.
    pub work_done_progress: bool,
    /// Document symbols may nest.
    pub hierarchical_symbols: bool,
    /// Hovers may be Markdown.
    pub markdown: bool,
    /// The client sends `textDocument/prepareRename`.
    pub prepare_rename: bool,
    /// The client registers file watchers when asked (`workspace/didChangeWatchedFiles`).
    pub watched_files: bool,
    /// Workspace edits may be `documentChanges` (versioned edits of documents).
    pub document_changes: bool,
}

impl Caps {
    /// Reads the client's capabilities.
    pub fn of(caps: &ClientCapabilities) -> Caps {
        let text = caps.text_document.as_ref();
        Caps {
            snippets: text
                .and_then(|t| t.completion.as_ref())
                .and_then(|c| c.completion_item.as_ref())
                .and_then(|i| i.snippet_support)
                .unwrap_or(false),
            related_information: text
                .and_then(|t| t.publish_diagnostics.as_ref())
                .and_then(|p| p.related_information)
                .unwrap_or(false),
            work_done_progress: caps
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false),
            hierarchical_symbols: text
                .and_then(|t| t.document_symbol.as_ref())
                .and_then(|d| d.hierarchical_document_symbol_support)
                .unwrap_or(false),
            markdown: text
                .and_then(|t| t.hover.as_ref())
                .and_then(|h| h.content_format.as_ref())
                .is_none_or(|formats| formats.contains(&MarkupKind::Markdown)),
            prepare_rename: text
                .and_then(|t| t.rename.as_ref())
                .and_then(|r| r.prepare_support)
                .unwrap_or(false),
            watched_files: caps
                .workspace
                .as_ref()
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
            document_changes: caps
                .workspace
                .as_ref()
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|e| e.document_changes)
                .unwrap_or(false),
        }
    }
}

/// The session: what initialize and the configuration said.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The client's capabilities.
    pub caps: Caps,
    /// The workspace folders.
    pub roots: Vec<PathBuf>,
    /// The settings.
    pub config: Config,
}

/// The Chop language server.
pub struct Backend {
    client: Client,
    req: Requests,
    photos: Arc<ext::preview::Photos>,
    workspace: Arc<features::workspace_symbols::Files>,
    shutdown: Arc<AtomicBool>,
    /// Where this server writes preview PNGs.
    previews: PathBuf,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

impl Backend {
    /// A server talking to `client`; `shutdown` is set when the client asks
    /// the server to shut down (the exit code depends on it).
    pub fn new(client: Client, shutdown: Arc<AtomicBool>) -> Backend {
        Backend {
            client,
            req: Requests {
                shared: Arc::new(Shared::default()),
                docs: Arc::default(),
                session: Arc::default(),
                token_ids: Arc::new(AtomicU64::new(1)),
            },
            photos: Arc::new(ext::preview::Photos::default()),
            workspace: Arc::new(features::workspace_symbols::Files::default()),
            shutdown,
            previews: ext::preview::output_dir(),
        }
    }

    /// The settings shared with the document actors.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.req.shared
    }

    /// The state the handlers of document requests read (for [`crate::raw`]).
    pub fn requests(&self) -> Requests {
        self.req.clone()
    }

    /// What references and rename look through: the open documents' latest
    /// snapshots, the workspace folders, the files read from disk.
    async fn workspace(&self) -> features::references::Workspace {
        let handles = self.req.open_handles();
        let mut open = Vec::new();
        for (uri, handle) in handles {
            let snap = handle.latest().await;
            open.push((uri, snap.version, snap.doc.clone()));
        }
        features::references::Workspace {
            open,
            roots: self.req.session().roots,
            files: self.workspace.clone(),
            resolver: crate::documents::OpenFiles(self.req.shared.clone()),
            lib: self.req.shared.lib(),
            enc: self.req.encoding(),
        }
    }

    fn apply_settings(&self, settings: &Value) -> Vec<String> {
        let mut session = self.req.session.write().unwrap_or_else(|e| e.into_inner());
        let old_lib = session.config.lib.clone();
        let warnings = session.config.update(settings);
        self.req.shared.set_debounce_ms(session.config.debounce_ms);
        if session.config.lib != old_lib {
            let root = session.roots.first().map(PathBuf::as_path);
            self.req.shared.set_lib(session.config.lib_dirs(root));
            // Every program may find its files elsewhere now.
            self.req.shared.everything_changed();
        }
        warnings
    }

    fn capabilities(&self, caps: &Caps, enc: Encoding) -> ServerCapabilities {
        ServerCapabilities {
            position_encoding: Some(enc.kind()),
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    ..TextDocumentSyncOptions::default()
                },
            )),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec![".".into()]),
                resolve_provider: Some(false),
                ..CompletionOptions::default()
            }),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            signature_help_provider: Some(SignatureHelpOptions {
                trigger_characters: Some(vec!["(".into(), ",".into()]),
                retrigger_characters: Some(vec![",".into()]),
                work_done_progress_options: WorkDoneProgressOptions::default(),
            }),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            document_highlight_provider: Some(OneOf::Left(true)),
            rename_provider: Some(if caps.prepare_rename {
                OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                })
            } else {
                OneOf::Left(true)
            }),
            document_symbol_provider: Some(OneOf::Left(true)),
            workspace_symbol_provider: Some(OneOf::Left(true)),
            semantic_tokens_provider: Some(
                SemanticTokensServerCapabilities::SemanticTokensOptions(SemanticTokensOptions {
                    legend: features::semantic_tokens::legend(),
                    range: Some(true),
                    full: Some(SemanticTokensFullOptions::Delta { delta: Some(true) }),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
            ),
            folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
            selection_range_provider: Some(SelectionRangeProviderCapability::Simple(true)),
            document_formatting_provider: Some(OneOf::Left(true)),
            inlay_hint_provider: Some(OneOf::Left(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                resolve_provider: Some(false),
                work_done_progress_options: WorkDoneProgressOptions::default(),
            })),
            code_lens_provider: Some(CodeLensOptions {
                resolve_provider: Some(false),
            }),
            workspace: Some(WorkspaceServerCapabilities {
                workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                    supported: Some(true),
                    change_notifications: Some(OneOf::Left(true)),
                }),
                file_operations: None,
            }),
            experimental: Some(serde_json::json!({
                "chop": {
                    "chunkGraph": "chop/chunkGraph",
                    "preview": "chop/preview",
                    "params": "chop/params",
                }
            })),
            ..ServerCapabilities::default()
        }
    }

    /// `chop/chunkGraph`.
    pub async fn chunk_graph(&self, params: ext::chunk_graph::ChunkGraphParams) -> Result<Value> {
        let uri = params.text_document.uri.clone();
        let result = self
            .req
            .on("chop/chunkGraph", &uri, |doc, lines| {
                ext::chunk_graph::chunk_graph(doc, lines, &params)
            })
            .await?;
        result.unwrap_or(Ok(Value::Null))
    }

    /// `chop/params`.
    pub async fn params(&self, params: ext::params::ParamsParams) -> Result<Value> {
        let uri = params.text_document.uri;
        let result = self
            .req
            .on("chop/params", &uri, ext::params::params)
            .await?;
        Ok(result.unwrap_or(Value::Array(Vec::new())))
    }

    /// `chop/preview`.
    pub async fn preview(&self, params: ext::preview::PreviewParams) -> Result<Value> {
        let uri = params.text_document.uri.clone();
        let Some(snap) = self.req.snapshot(&uri).await else {
            return Ok(Value::Null);
        };
        let session = self.req.session();
        let stem = crate::convert::path_of(&uri)
            .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().to_string()))
            .unwrap_or_else(|| "preview".to_string());
        let root = session.roots.first().map(PathBuf::as_path);
        let mut params = params;
        if let (Some(root), Some(photo)) = (root, &params.photo) {
            if std::path::Path::new(photo).is_relative() {
                params.photo = Some(root.join(photo).to_string_lossy().to_string());
            }
        }
        let ctx = ext::preview::Context {
            client: self.client.clone(),
            server_progress: session.caps.work_done_progress,
            photo: session.config.photo_path(root),
            level: session.config.preview_level,
            limits: session.config.limits(),
            photos: self.photos.clone(),
            stem,
            dir: self.previews.clone(),
        };
        ext::preview::preview(snap.doc.clone(), params, ctx).await
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let enc = Encoding::negotiate(&params.capabilities);
        let caps = Caps::of(&params.capabilities);
        self.req.shared.set_encoding(enc);
        self.req
            .shared
            .set_related_information(caps.related_information);
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|folder| crate::convert::path_of(&folder.uri))
            .collect();
        #[allow(deprecated)]
        if roots.is_empty() {
            if let Some(root) = params.root_uri.as_ref().and_then(crate::convert::path_of) {
                roots.push(root);
            }
        }
        {
            let mut session = self.req.session.write().unwrap_or_else(|e| e.into_inner());
            session.caps = caps.clone();
            session.roots = roots;
        }
        let warnings = match &params.initialization_options {
            Some(options) => self.apply_settings(options),
            None => Vec::new(),
        };
        for warning in warnings {
            self.client
                .log_message(MessageType::WARNING, format!("chop-lsp: {warning}"))
                .await;
        }
        Ok(InitializeResult {
            capabilities: self.capabilities(&caps, enc),
            server_info: Some(ServerInfo {
                name: "chop-lsp".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if self.req.session().caps.watched_files {
            // Files on disk that open documents use: re-checked when they change.
            let options = DidChangeWatchedFilesRegistrationOptions {
                watchers: vec![FileSystemWatcher {
                    glob_pattern: GlobPattern::String("**/*.chop".to_string()),
                    kind: None,
                }],
            };
            let registration = Registration {
                id: "chop-watch-chop-files".to_string(),
                method: "workspace/didChangeWatchedFiles".to_string(),
                register_options: serde_json::to_value(options).ok(),
            };
            if let Err(err) = self.client.register_capability(vec![registration]).await {
                self.client
                    .log_message(
                        MessageType::WARNING,
                        format!("chop-lsp: cannot watch .chop files: {err}"),
                    )
                    .await;
            }
        }
        self.client
            .log_message(MessageType::INFO, "chop-lsp ready")
            .await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        for change in params.changes {
            if let Some(path) = crate::convert::path_of(&change.uri) {
                // An open document's text is its buffer's, not the disk's.
                if self.req.shared.buffer(&path).is_none() {
                    if change.typ == FileChangeType::DELETED {
                        self.req.shared.parses.forget(&path);
                    }
                    if change.typ == FileChangeType::CREATED {
                        // A `use` that named no file may find it now.
                        self.req.shared.everything_changed();
                    } else {
                        self.req.shared.file_changed(&path);
                    }
                }
            }
        }
    }

    async fn shutdown(&self) -> Result<()> {
        self.shutdown.store(true, Ordering::SeqCst);
        let handles: Vec<Arc<DocHandle>> = self
            .req
            .docs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, handle)| handle)
            .collect();
        for handle in handles {
            handle.close(false);
        }
        // The previews were for this session's editor.
        let previews = &self.previews;
        if previews.exists() {
            if let Err(err) = std::fs::remove_dir_all(previews) {
                eprintln!("chop-lsp: cannot remove {}: {err}", previews.display());
            }
        }
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let handle = DocHandle::open(
            doc.uri.clone(),
            doc.version,
            &doc.text,
            Some(self.client.clone()),
            self.req.shared.clone(),
        );
        let old = self
            .req
            .docs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(doc.uri, handle);
        if let Some(old) = old {
            old.close(false);
        }
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Synchronous, before any await: changes are queued in arrival order.
        if let Some(handle) = self.req.handle(&params.text_document.uri) {
            handle.change(params.text_document.version, params.content_changes);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let removed = self
            .req
            .docs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&params.text_document.uri);
        if let Some(handle) = removed {
            handle.close(true);
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let warnings = self.apply_settings(&params.settings);
        for warning in warnings {
            self.client
                .log_message(MessageType::WARNING, format!("chop-lsp: {warning}"))
                .await;
        }
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let mut session = self.req.session.write().unwrap_or_else(|e| e.into_inner());
        let removed: Vec<PathBuf> = params
            .event
            .removed
            .iter()
            .filter_map(|folder| crate::convert::path_of(&folder.uri))
            .collect();
        session.roots.retain(|root| !removed.contains(root));
        for folder in &params.event.added {
            if let Some(path) = crate::convert::path_of(&folder.uri) {
                if !session.roots.contains(&path) {
                    session.roots.push(path);
                }
            }
        }
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        let markdown = self.req.caps().markdown;
        let found = self
            .req
            .at(
                "hover",
                &p.text_document.uri,
                p.position,
                |doc, lines, offset| features::hover::hover(doc, lines, offset, markdown),
            )
            .await?;
        Ok(found.flatten())
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        let p = params.text_document_position_params;
        let found = self
            .req
            .at(
                "signatureHelp",
                &p.text_document.uri,
                p.position,
                |doc, _, offset| features::signature_help::signature_help(doc, offset),
            )
            .await?;
        Ok(found.flatten())
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let uri = p.text_document.uri.clone();
        let found = self
            .req
            .at("definition", &uri, p.position, |doc, lines, offset| {
                features::definition::definition(doc, lines, &uri, offset)
            })
            .await?;
        Ok(found.flatten())
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        let uri = p.text_document.uri.clone();
        let include = params.context.include_declaration;
        let Some(snap) = self.req.snapshot(&uri).await else {
            return Ok(Some(Vec::new()));
        };
        let ws = self.workspace().await;
        let found = tokio::task::spawn_blocking(move || {
            guarded("references", || {
                let lines = Lines::of(&snap.doc, ws.enc);
                let offset = lines.offset(p.position)?;
                Some(features::references::references(
                    &ws, &snap.doc, &lines, &uri, offset, include,
                ))
            })
        })
        .await
        .unwrap_or(Ok(None))?;
        Ok(Some(found.unwrap_or_default()))
    }

    async fn document_highlight(
        &self,
        params: DocumentHighlightParams,
    ) -> Result<Option<Vec<DocumentHighlight>>> {
        let p = params.text_document_position_params;
        let found = self
            .req
            .at(
                "documentHighlight",
                &p.text_document.uri,
                p.position,
                features::highlight::highlights,
            )
            .await?;
        Ok(Some(found.unwrap_or_default()))
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let uri = params.text_document.uri.clone();
        let found = self
            .req
            .at(
                "prepareRename",
                &uri,
                params.position,
                |doc, lines, offset| features::rename::prepare(doc, lines, &uri, offset),
            )
            .await?;
        found.transpose()
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let p = params.text_document_position;
        let uri = p.text_document.uri.clone();
        let new_name = params.new_name;
        let Some(snap) = self.req.snapshot(&uri).await else {
            return Ok(None);
        };
        let versioned = self.req.caps().document_changes;
        let ws = self.workspace().await;
        let found = tokio::task::spawn_blocking(move || {
            guarded("rename", || {
                let lines = Lines::of(&snap.doc, ws.enc);
                let offset = lines.offset(p.position)?;
                Some(features::rename::rename(
                    &ws, &snap.doc, &lines, &uri, offset, &new_name, versioned,
                ))
            })
        })
        .await
        .unwrap_or(Ok(None))?;
        found.transpose()
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        self.req.formatting(params).await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        self.req.completion(params).await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        self.req.document_symbol(params).await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        let mut open = Vec::new();
        let handles = self.req.open_handles();
        for (uri, handle) in handles {
            open.push((uri, handle.latest().await.doc.clone()));
        }
        let roots = self.req.session().roots;
        let files = self.workspace.clone();
        let enc = self.req.encoding();
        let query = params.query;
        let found = tokio::task::spawn_blocking(move || {
            guarded("workspace/symbol", || {
                features::workspace_symbols::symbols(&files, &open, &roots, &query, enc)
            })
        })
        .await
        .unwrap_or_else(|_| Ok(Vec::new()))?;
        Ok(Some(WorkspaceSymbolResponse::Nested(found)))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        self.req.semantic_tokens_full(params).await
    }

    async fn semantic_tokens_full_delta(
        &self,
        params: SemanticTokensDeltaParams,
    ) -> Result<Option<SemanticTokensFullDeltaResult>> {
        self.req.semantic_tokens_full_delta(params).await
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        self.req.semantic_tokens_range(params).await
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        self.req.folding_range(params).await
    }

    async fn selection_range(
        &self,
        params: SelectionRangeParams,
    ) -> Result<Option<Vec<SelectionRange>>> {
        let positions = params.positions;
        let found = self
            .req
            .on("selectionRange", &params.text_document.uri, |doc, lines| {
                features::selection::selection_ranges(doc, lines, &positions)
            })
            .await?;
        Ok(Some(found.unwrap_or_default()))
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        let range = params.range;
        let found = self
            .req
            .on("inlayHint", &params.text_document.uri, |doc, lines| {
                let span = lines.span(range)?;
                Some(features::inlay_hints::inlay_hints(doc, lines, span))
            })
            .await?;
        Ok(Some(found.flatten().unwrap_or_default()))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        let range = params.range;
        let context = params.context;
        let found = self
            .req
            .on("codeAction", &uri, |doc, lines| {
                let span = lines.span(range)?;
                Some(features::code_actions::code_actions(
                    doc, lines, &uri, span, &context,
                ))
            })
            .await?;
        Ok(Some(found.flatten().unwrap_or_default()))
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        self.req.code_lens(params).await
    }
}
