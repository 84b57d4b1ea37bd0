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

use futures::channel::mpsc;
use futures::{future, SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tower::Service;
use tower_lsp_server::jsonrpc::{Request, Response};
use tower_lsp_server::ClientSocket;

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
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Serves `service` on `input` and `output` until `exit` or the end of the input.
pub async fn serve<I, O, S>(input: I, output: O, mut service: S, socket: ClientSocket)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
    S: Service<Request, Response = Option<Response>> + Send + 'static,
    S::Error: std::fmt::Display,
    S::Future: Send + 'static,
{
    let (client_requests, mut client_responses) = socket.split();
    let (client_requests, client_abort) = futures::stream::abortable(client_requests);
    let (mut out_tx, out_rx) = mpsc::channel::<Vec<u8>>(0);
    let (mut tasks_tx, tasks_rx) = mpsc::channel(100);

    let run_tasks = tasks_rx
        .buffer_unordered(MAX_CONCURRENCY)
        .filter_map(|response: Option<Response>| future::ready(response))
        .map(|response| Ok(frame(&response)))
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
                    let task = service.call(request);
                    let task = async move { task.await.unwrap_or(None) };
                    if tasks_tx.send(Box::pin(task)).await.is_err() {
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
