//! An in-process LSP client for the tests and the benchmark: the real server
//! (`tower_lsp_server::Server` over the real JSON-RPC framing) on in-memory
//! pipes, driven with JSON messages.
//!
//! A reader task takes every message the server writes: responses go to the
//! request that waits for them, notifications into a list the caller can
//! wait on (each stamped with the time it arrived), and requests from the
//! server (`window/workDoneProgress/create`, ...) are recorded and answered
//! with `null`.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

/// Size of the in-memory pipes.
const PIPE: usize = 1 << 20;

/// A message from the server and when it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    /// When the reader task read it.
    pub at: Instant,
    /// The message.
    pub message: Value,
}

#[derive(Default)]
struct Inbox {
    notifications: Mutex<Vec<Received>>,
    server_requests: Mutex<Vec<Value>>,
    pending: Mutex<HashMap<i64, oneshot::Sender<Value>>>,
    /// When each response's last byte was read (before it was parsed), by id.
    read_at: Mutex<HashMap<i64, Instant>>,
    arrived: Notify,
}

/// The client side of an in-process server.
pub struct TestClient {
    writer: Arc<tokio::sync::Mutex<DuplexStream>>,
    inbox: Arc<Inbox>,
    next_id: AtomicI64,
    server: Option<JoinHandle<bool>>,
    reader: JoinHandle<()>,
}

/// Frames a JSON-RPC message.
pub fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

async fn write(writer: &tokio::sync::Mutex<DuplexStream>, bytes: &[u8]) {
    let mut writer = writer.lock().await;
    let _ = writer.write_all(bytes).await;
    let _ = writer.flush().await;
}

/// The next message, and when its last byte was read (before it is parsed: the
/// time the server took, not the client's JSON parser's).
async fn read_message(reader: &mut BufReader<DuplexStream>) -> Option<(Value, Instant)> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).await.ok()?;
    let at = Instant::now();
    Some((serde_json::from_slice(&body).ok()?, at))
}

impl TestClient {
    /// Starts a server in this runtime.
    pub fn start() -> TestClient {
        Self::start_with(true)
    }

    /// Starts a server whose every request is answered by the framework
    /// (none by [`crate::raw`]).
    pub fn start_framework_only() -> TestClient {
        Self::start_with(false)
    }

    fn start_with(raw: bool) -> TestClient {
        let (client_in, server_in) = tokio::io::duplex(PIPE);
        let (server_out, client_out) = tokio::io::duplex(PIPE);
        let server = tokio::spawn(crate::serve_paths(server_in, server_out, raw));
        let writer = Arc::new(tokio::sync::Mutex::new(client_in));
        let inbox = Arc::new(Inbox::default());
        let reader = tokio::spawn(Self::read(
            BufReader::new(client_out),
            inbox.clone(),
            writer.clone(),
        ));
        TestClient {
            writer,
            inbox,
            next_id: AtomicI64::new(1),
            server: Some(server),
            reader,
        }
    }

    async fn read(
        mut reader: BufReader<DuplexStream>,
        inbox: Arc<Inbox>,
        writer: Arc<tokio::sync::Mutex<DuplexStream>>,
    ) {
        while let Some((message, at)) = read_message(&mut reader).await {
            let has_method = message.get("method").is_some();
            match (message.get("id").cloned(), has_method) {
                (Some(id), true) => {
                    inbox
                        .server_requests
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(message.clone());
                    let reply = json!({"jsonrpc": "2.0", "id": id, "result": null});
                    write(&writer, &frame(&reply.to_string())).await;
                }
                (Some(id), false) => {
                    let waiter = id.as_i64().and_then(|id| {
                        inbox
                            .pending
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&id)
                    });
                    match waiter {
                        Some(waiter) => {
                            if let Some(id) = id.as_i64() {
                                inbox
                                    .read_at
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .insert(id, at);
                            }
                            let _ = waiter.send(message);
                        }
                        None => inbox
                            .notifications
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(Received { at, message }),
                    }
                }
                (None, _) => inbox
                    .notifications
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Received { at, message }),
            }
            inbox.arrived.notify_waiters();
        }
        inbox.arrived.notify_waiters();
    }

    /// Sends raw bytes (for malformed messages).
    pub async fn send_raw(&self, bytes: &[u8]) {
        write(&self.writer, bytes).await;
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Value) {
        let message = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.send_raw(&frame(&message.to_string())).await;
    }

    /// Sends a request; returns its id and the response to come (the whole
    /// message: `result` or `error`).
    pub async fn start_request(
        &self,
        method: &str,
        params: Value,
    ) -> (i64, oneshot::Receiver<Value>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inbox
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&frame(&message.to_string())).await;
        (id, rx)
    }

    /// When the response to request `id` (of [`TestClient::start_request`]) was
    /// read, before the client parsed it; taken once.
    pub fn response_read_at(&self, id: i64) -> Option<Instant> {
        self.inbox
            .read_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
    }

    /// Sends a request and waits (at most 30 s) for the response message.
    pub async fn request(&self, method: &str, params: Value) -> Value {
        let (_, rx) = self.start_request(method, params).await;
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(response)) => response,
            _ => json!({"error": {"message": format!("no response to {method}")}}),
        }
    }

    /// Sends a request and returns its `result` (panics unless the response
    /// is a success: see [`success`]).
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        match success(&response) {
            Some(result) => result.clone(),
            None => panic!("{method} failed: {response}"),
        }
    }

    /// Waits for (and takes) the first notification that `pick` accepts.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pick: impl Fn(&Value) -> bool,
    ) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.inbox.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut list = self
                    .inbox
                    .notifications
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if let Some(at) = list.iter().position(|n| pick(&n.message)) {
                    return Some(list.remove(at));
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }

    /// Waits for the diagnostics of `uri` at `version` (dropping older ones
    /// of that document); returns the diagnostics.
    pub async fn diagnostics(&self, uri: &str, version: i64) -> Option<Vec<Value>> {
        let found = self
            .wait_for(Duration::from_secs(20), |n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == uri
                    && n["params"]["version"] == version
            })
            .await?;
        self.inbox
            .notifications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| {
                !(n.message["method"] == "textDocument/publishDiagnostics"
                    && n.message["params"]["uri"] == uri
                    && n.at <= found.at)
            });
        found.message["params"]["diagnostics"].as_array().cloned()
    }

    /// The notifications received and not taken, with `method`.
    pub fn notifications(&self, method: &str) -> Vec<Value> {
        self.inbox
            .notifications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|n| n.message["method"] == method)
            .map(|n| n.message.clone())
            .collect()
    }

    /// Forgets the notifications received so far.
    pub fn clear_notifications(&self) {
        self.inbox
            .notifications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The requests the server sent.
    pub fn server_requests(&self) -> Vec<Value> {
        self.inbox
            .server_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `initialize` (with `capabilities` and `options`), then `initialized`;
    /// returns the initialize result.
    pub async fn initialize(&self, capabilities: Value, options: Value) -> Value {
        let result = self
            .call(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": null,
                    "capabilities": capabilities,
                    "initializationOptions": options,
                }),
            )
            .await;
        self.notify("initialized", json!({})).await;
        result
    }

    /// Opens a document.
    pub async fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "chop", "version": 1, "text": text}}),
        )
        .await;
    }

    /// Sends one incremental change: replace the range with `text`.
    pub async fn change(&self, uri: &str, version: i64, range: Value, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": range, "text": text}],
            }),
        )
        .await;
    }

    /// `shutdown` then `exit`; returns whether the server reported a clean exit.
    pub async fn shutdown(mut self) -> Option<bool> {
        let response = self.request("shutdown", Value::Null).await;
        assert_eq!(success(&response), Some(&Value::Null), "{response}");
        self.exit().await
    }

    /// `exit`; waits for the server to stop, returns what `serve` returned.
    pub async fn exit(&mut self) -> Option<bool> {
        self.notify("exit", Value::Null).await;
        let server = self.server.take()?;
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .ok()?
            .ok()
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.reader.abort();
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

/// The `result` of a successful response: `None` when the response has an
/// `error`, or no `result` at all. (`response["result"]` alone cannot tell:
/// it is `null` for an error response too.)
pub fn success(response: &Value) -> Option<&Value> {
    if response.get("error").is_some() {
        return None;
    }
    response.get("result")
}

/// A range as JSON.
pub fn range(l0: u32, c0: u32, l1: u32, c1: u32) -> Value {
    json!({"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}})
}

/// A position as JSON.
pub fn position(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}
