//! The JSON-RPC transport: framed messages on a byte stream to the service
//! and back, surviving malformed input.
//!
//! tower-lsp-server's own `Server` stops reading its input after the first
//! message that does not parse (its framed reader ends the stream after a
//! decoding error), so this module does the same job with its own reader:
//! each `Content-Length` framed body is parsed as JSON first; a body that is
//! not JSON gets a `ParseError` response (id `null`), a JSON value that is
//! not a JSON-RPC message an `InvalidRequest` response (with its id when it
//! has one), and reading goes on. Everything else is as in
//! tower-lsp-server's `Server`: requests are passed to the service in
//! arrival order and their futures run concurrently (at most
//! [`MAX_CONCURRENCY`] at once, which `$/cancelRequest` needs), responses
//! from the client go back to the service's client socket, and reading stops
//! after `exit`.
//!
//! Some requests go around the framework ([`Raw`]): tower-lsp-server turns
//! every result into a `serde_json::Value` before it is written, which for a
//! big result (the semantic tokens, the completions, the outline of a long
//! file) costs more than computing it. A raw handler's result is serialized
//! once, straight into the frame. The framework's rules are kept here for
//! them: they start in arrival order among the other messages (their
//! futures go on the same queue, under the same bound), bad params get the
//! framework's `InvalidParams` error, `$/cancelRequest` ends a pending one
//! with `RequestCancelled`, a request whose id is one under way on either
//! path is an invalid request ([`Pending`] holds both paths' ids), and before `initialize` succeeded or after
//! `shutdown` they are handed to the service, which answers them with its
//! own error ([`Lifecycle`] follows the framework's state exactly: the
//! transport sees every request and response).

use futures::channel::mpsc;
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::{future, SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tower::Service;
use tower_lsp_server::jsonrpc::{Error, Id, Request, Response};
use tower_lsp_server::ls_types::CancelParams;
use tower_lsp_server::ClientSocket;

/// A raw request's answer: its `result` serialized as JSON, or an error.
pub type RawResult = Result<Vec<u8>, Error>;

/// A raw request, routed: its future, or the error of its params.
pub type RawCall = Result<BoxFuture<'static, RawResult>, Error>;

/// Requests answered around the framework.
pub trait Raw: Send + Sync + 'static {
    /// Whether `method` is answered here rather than by the service.
    fn takes(&self, method: &str) -> bool;

    /// The answer to `method` (one it takes) with `params`. Params are read
    /// at once (as the framework does); the future does the work when it is
    /// first polled.
    fn call(&self, method: &str, params: Option<Value>) -> RawCall;
}

/// No raw requests: the service answers everything.
pub struct NoRaw;

impl Raw for NoRaw {
    fn takes(&self, _: &str) -> bool {
        false
    }

    fn call(&self, _: &str, _: Option<Value>) -> RawCall {
        Err(Error::method_not_found())
    }
}

/// Reads the params of a request as the framework does: missing params and
/// params of the wrong shape are `InvalidParams`, with serde's words.
pub fn params<P: serde::de::DeserializeOwned>(params: Option<Value>) -> Result<P, Error> {
    match params {
        None => Err(Error::invalid_params("Missing params field")),
        Some(params) => {
            serde_json::from_value(params).map_err(|err| Error::invalid_params(err.to_string()))
        }
    }
}

/// The framework's state of the session, as far as the raw requests need it
/// (`tower_lsp_server::service::State`, which it keeps private): it becomes
/// initialized when an `initialize` request succeeds, shut down when
/// `shutdown` arrives while initialized.
#[derive(Default)]
struct Lifecycle(AtomicU8);

const UNINITIALIZED: u8 = 0;
const INITIALIZED: u8 = 1;
const SHUT_DOWN: u8 = 2;

impl Lifecycle {
    fn get(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self, state: u8) {
        self.0.store(state, Ordering::SeqCst);
    }
}

/// The requests under way, by id, on both paths: a raw one with the handle
/// `$/cancelRequest` aborts it by, a service's one with none (the service
/// cancels its own). The framework refuses an id under way only among its own
/// requests; this refuses it across both.
#[derive(Default)]
struct Pending(Mutex<HashMap<Id, Option<AbortHandle>>>);

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Option<AbortHandle>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds `id` as under way; false when it already is.
    fn start(&self, id: &Id, handle: Option<AbortHandle>) -> bool {
        let mut map = self.lock();
        if map.contains_key(id) {
            return false;
        }
        map.insert(id.clone(), handle);
        true
    }

    fn end(&self, id: &Id) {
        self.lock().remove(id);
    }

    fn cancel(&self, id: &Id) {
        let handle = self.lock().get_mut(id).and_then(Option::take);
        if let Some(handle) = handle {
            handle.abort();
        }
    }
}

/// The answer to a request whose id is one under way.
fn duplicate(id: Id) -> Task {
    Box::pin(future::ready(Some(raw_response(
        id,
        Err(Error::invalid_request()),
    ))))
}

/// Requests handled at once.
pub const MAX_CONCURRENCY: usize = 4;

/// Bodies larger than this are refused (and skipped).
const MAX_BODY: usize = 64 << 20;

/// What the reader found.
enum Frame {
    /// A body.
    Body(Vec<u8>),
    /// Headers without a usable `Content-Length`.
    BadHeader(String),
    /// The end of the input.
    End,
}

async fn read_frame<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Frame {
    let mut length: Option<Result<usize, String>> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return Frame::End,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_header {
                break;
            }
            continue;
        }
        saw_header = true;
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| format!("bad Content-Length `{}`", value.trim())),
                );
            }
        } else {
            return Frame::BadHeader(format!("bad header line `{line}`"));
        }
    }
    match length {
        Some(Ok(length)) if length <= MAX_BODY => {
            let mut body = vec![0; length];
            match reader.read_exact(&mut body).await {
                Ok(_) => Frame::Body(body),
                Err(_) => Frame::End,
            }
        }
        Some(Ok(length)) => {
            let mut rest = reader.take(length as u64);
            let _ = tokio::io::copy(&mut rest, &mut tokio::io::sink()).await;
            Frame::BadHeader(format!("a message of {length} bytes is too large"))
        }
        Some(Err(why)) => Frame::BadHeader(why),
        None => Frame::BadHeader("no Content-Length header".into()),
    }
}

/// An error response as JSON.
fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// What one incoming body is.
enum Incoming {
    Request(Request),
    Response(Response),
    /// Answer this at once (a parse error, an invalid request).
    Reply(Value),
    /// Nothing to do (an invalid notification).
    Ignore,
}

fn classify(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(err) => {
            return Incoming::Reply(error(Value::Null, -32700, &format!("Parse error: {err}")))
        }
    };
    let id = value.get("id").cloned();
    let invalid = |why: &str| {
        Incoming::Reply(error(
            id.clone().unwrap_or(Value::Null),
            -32600,
            &format!("Invalid request: {why}"),
        ))
    };
    if !value.is_object() {
        return invalid("not a JSON-RPC message object");
    }
    if value.get("method").is_some() {
        return match serde_json::from_value::<Request>(value) {
            Ok(request) => Incoming::Request(request),
            Err(err) if id.is_some() => invalid(&err.to_string()),
            Err(_) => Incoming::Ignore,
        };
    }
    if id.is_some() && (value.get("result").is_some() || value.get("error").is_some()) {
        return match serde_json::from_value::<Response>(value) {
            Ok(response) => Incoming::Response(response),
            Err(_) => Incoming::Ignore,
        };
    }
    invalid("neither a request, a notification nor a response")
}

/// A message framed for the output, serialized once.
fn frame<T: serde::Serialize>(message: &T) -> Vec<u8> {
    let body = serde_json::to_vec(message).unwrap_or_else(|_| b"null".to_vec());
    framed(&body)
}

/// `body` with its header.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// The framed response to raw request `id`: the result's JSON as it is, in
/// the framework's envelope (`jsonrpc`, `result`, `id`); an error as the
/// framework writes it.
fn raw_response(id: Id, answer: RawResult) -> Vec<u8> {
    match answer {
        Ok(result) => {
            let id = serde_json::to_vec(&id).unwrap_or_else(|_| b"null".to_vec());
            let mut body = Vec::with_capacity(result.len() + id.len() + 40);
            body.extend_from_slice(br#"{"jsonrpc":"2.0","result":"#);
            body.extend_from_slice(&result);
            body.extend_from_slice(br#","id":"#);
            body.extend_from_slice(&id);
            body.push(b'}');
            framed(&body)
        }
        Err(error) => frame(&Response::from_error(id, error)),
    }
}

/// Serves `service` on `input` and `output` until `exit` or the end of the input.
pub async fn serve<I, O, S>(input: I, output: O, service: S, socket: ClientSocket)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    S: Service<Request, Response = Option<Response>> + Send + 'static,
    S::Error: std::fmt::Display,
    S::Future: Send + 'static,
{
    serve_with(input, output, service, socket, Arc::new(NoRaw)).await;
}

/// A task's answer: a framed message, or nothing (a notification).
type Task = BoxFuture<'static, Option<Vec<u8>>>;

/// [`serve`], with the requests `raw` takes answered around the service.
pub async fn serve_with<I, O, S>(
    input: I,
    output: O,
    mut service: S,
    socket: ClientSocket,
    raw: Arc<dyn Raw>,
) where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    S: Service<Request, Response = Option<Response>> + Send + 'static,
    S::Error: std::fmt::Display,
    S::Future: Send + 'static,
{
    let (client_requests, mut client_responses) = socket.split();
    let (client_requests, client_abort) = futures::stream::abortable(client_requests);
    let (mut out_tx, out_rx) = mpsc::channel::<Vec<u8>>(0);
    let (mut tasks_tx, tasks_rx) = mpsc::channel::<Task>(100);
    let lifecycle = Arc::new(Lifecycle::default());
    let pending = Arc::new(Pending::default());

    let run_tasks = tasks_rx
        .buffer_unordered(MAX_CONCURRENCY)
        .filter_map(future::ready)
        .map(Ok)
        .forward(out_tx.clone().sink_map_err(|_| ()));

    let write_output = async move {
        let mut output = output;
        let requests = client_requests.map(|request| frame(&request));
        let mut messages = futures::stream::select(out_rx, requests);
        while let Some(message) = messages.next().await {
            if output.write_all(&message).await.is_err() {
                break;
            }
            let _ = output.flush().await;
        }
    };

    let read_input = async {
        let mut reader = BufReader::new(input);
        loop {
            let body = match read_frame(&mut reader).await {
                Frame::Body(body) => body,
                Frame::BadHeader(why) => {
                    let reply = error(Value::Null, -32700, &format!("Parse error: {why}"));
                    let _ = out_tx.send(frame(&reply)).await;
                    continue;
                }
                Frame::End => break,
            };
            match classify(&body) {
                Incoming::Request(request) => {
                    if future::poll_fn(|cx| service.poll_ready(cx)).await.is_err() {
                        break;
                    }
                    let exit = request.method() == "exit";
                    let task = route(&mut service, request, &*raw, &lifecycle, &pending);
                    if tasks_tx.send(task).await.is_err() {
                        break;
                    }
                    if exit {
                        break;
                    }
                }
                Incoming::Response(response) => {
                    let _ = client_responses.send(response).await;
                }
                Incoming::Reply(reply) => {
                    let _ = out_tx.send(frame(&reply)).await;
                }
                Incoming::Ignore => {}
            }
        }
        tasks_tx.disconnect();
        out_tx.disconnect();
        client_abort.abort();
    };

    let run_tasks = async move {
        let _ = run_tasks.await;
    };
    futures::join!(run_tasks, write_output, read_input);
}

/// The task of one request or notification: raw when `raw` takes it and the
/// session is initialized, else the service's (following its lifecycle, and
/// cancelling a raw request on `$/cancelRequest` where the service would
/// cancel one of its own: when the notification's turn comes).
fn route<S>(
    service: &mut S,
    request: Request,
    raw: &dyn Raw,
    lifecycle: &Arc<Lifecycle>,
    pending: &Arc<Pending>,
) -> Task
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
{
    let state = lifecycle.get();
    if state == INITIALIZED && request.id().is_some() && raw.takes(request.method()) {
        let (method, id, params) = request.into_parts();
        let call = raw.call(&method, params);
        return raw_task(id.unwrap_or_default(), call, pending);
    }
    match request.method() {
        "initialize" if state == UNINITIALIZED => {
            let task = service.call(request);
            let lifecycle = lifecycle.clone();
            Box::pin(async move {
                let response = task.await.unwrap_or(None);
                if response.as_ref().is_some_and(Response::is_ok) {
                    lifecycle.set(INITIALIZED);
                }
                response.map(|response| frame(&response))
            })
        }
        "shutdown" if state == INITIALIZED => {
            lifecycle.set(SHUT_DOWN);
            service_task(service, request)
        }
        "$/cancelRequest" => {
            let id = request
                .params()
                .and_then(|params| serde_json::from_value::<CancelParams>(params.clone()).ok())
                .map(|params| Id::from(params.id));
            let task = service.call(request);
            let pending = pending.clone();
            Box::pin(async move {
                if let Some(id) = id {
                    pending.cancel(&id);
                }
                task.await.unwrap_or(None).map(|response| frame(&response))
            })
        }
        _ => match request.id().cloned() {
            // A request (not a notification) of the service's: held under way
            // until answered, so that a raw request cannot take its id.
            Some(id) => {
                if !pending.start(&id, None) {
                    return duplicate(id);
                }
                let task = service.call(request);
                let pending = pending.clone();
                Box::pin(async move {
                    let response = task.await.unwrap_or(None);
                    pending.end(&id);
                    response.map(|response| frame(&response))
                })
            }
            None => service_task(service, request),
        },
    }
}

/// The service's task for `request`.
fn service_task<S>(service: &mut S, request: Request) -> Task
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
{
    let task = service.call(request);
    Box::pin(async move { task.await.unwrap_or(None).map(|response| frame(&response)) })
}

/// The task of a raw request: its answer framed, or `RequestCancelled` when
/// `$/cancelRequest` came first; a second request with the id of one under
/// way is invalid (as the framework says).
fn raw_task(id: Id, call: RawCall, pending: &Arc<Pending>) -> Task {
    let work = match call {
        Ok(work) => work,
        Err(error) => return Box::pin(future::ready(Some(raw_response(id, Err(error))))),
    };
    let (handle, registration) = AbortHandle::new_pair();
    if !pending.start(&id, Some(handle)) {
        return duplicate(id);
    }
    let pending = pending.clone();
    Box::pin(async move {
        let answer = Abortable::new(work, registration).await;
        pending.end(&id);
        let answer = answer.unwrap_or_else(|_| Err(Error::request_cancelled()));
        Some(raw_response(id, answer))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_classified() {
        assert!(matches!(classify(b"{nope"), Incoming::Reply(v) if v["error"]["code"] == -32700));
        assert!(matches!(classify(b"[1]"), Incoming::Reply(v) if v["error"]["code"] == -32600));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":4,"method":5}"#),
            Incoming::Reply(v) if v["error"]["code"] == -32600 && v["id"] == 4
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","method":5}"#),
            Incoming::Ignore
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#),
            Incoming::Request(_)
        ));
        assert!(matches!(
            classify(br#"{"jsonrpc":"2.0","id":1,"result":null}"#),
            Incoming::Response(_)
        ));
    }
}
