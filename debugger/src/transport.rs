//! Content-Length framing of DAP messages: reading one message's bytes from the
//! client, and the outbox every message to the client goes through (it numbers them).
//!
//! Framing that cannot be read (no `Content-Length`, a header that is not one, a body
//! that is cut short or larger than [`MAX_BODY`]) is a [`TransportError`]: the adapter
//! logs it and ends, since it can no longer tell where the next message starts.

use serde_json::Value;
use std::fmt;
use std::io::{BufRead, Write};
use std::sync::Mutex;

/// The largest message body read (64 MiB): a longer one is refused, not buffered.
pub const MAX_BODY: usize = 64 << 20;

/// Why the stream of messages could not be read.
#[derive(Debug)]
pub enum TransportError {
    /// Reading failed.
    Io(std::io::Error),
    /// A header line is not `Name: value`.
    BadHeader(String),
    /// The headers end without a `Content-Length`.
    NoLength,
    /// `Content-Length` is not a number or above [`MAX_BODY`].
    BadLength(String),
    /// The stream ended inside a message.
    Truncated,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Io(err) => write!(f, "reading a message: {err}"),
            TransportError::BadHeader(line) => {
                write!(f, "malformed header line {line:?} (want `Name: value`)")
            }
            TransportError::NoLength => f.write_str("a message without a Content-Length header"),
            TransportError::BadLength(text) => write!(
                f,
                "Content-Length {text:?} is not a length up to {MAX_BODY} bytes"
            ),
            TransportError::Truncated => f.write_str("the stream ended inside a message"),
        }
    }
}

impl std::error::Error for TransportError {}

/// Reads one message body: `Ok(None)` when the stream ends cleanly between messages.
pub fn read_message(input: &mut impl BufRead) -> Result<Option<Vec<u8>>, TransportError> {
    let mut length: Option<usize> = None;
    let mut first = true;
    loop {
        let mut line = String::new();
        let read = input.read_line(&mut line).map_err(TransportError::Io)?;
        if read == 0 {
            return if first {
                Ok(None)
            } else {
                Err(TransportError::Truncated)
            };
        }
        first = false;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| TransportError::BadHeader(line.to_string()))?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value = value.trim();
            let parsed = value
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_BODY)
                .ok_or_else(|| TransportError::BadLength(value.to_string()))?;
            length = Some(parsed);
        }
    }
    let length = length.ok_or(TransportError::NoLength)?;
    let mut body = vec![0u8; length];
    input.read_exact(&mut body).map_err(|err| {
        if err.kind() == std::io::ErrorKind::UnexpectedEof {
            TransportError::Truncated
        } else {
            TransportError::Io(err)
        }
    })?;
    Ok(Some(body))
}

/// Writes one message with its header, in one write (over TCP, a header sent alone
/// would wait for the peer's delayed acknowledgement before the body could follow).
pub fn write_message(out: &mut dyn Write, body: &[u8]) -> std::io::Result<()> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    out.write_all(&frame)?;
    out.flush()
}

/// Where every message to the client goes, from any thread: it gives each its `seq`.
pub struct Outbox {
    inner: Mutex<(Box<dyn Write + Send>, i64)>,
}

impl Outbox {
    /// An outbox over `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Outbox {
        Outbox {
            inner: Mutex::new((out, 1)),
        }
    }

    /// Sends `message` (an object: its `seq` is set here). A client that went away is
    /// logged; the adapter notices when its input ends.
    pub fn send(&self, mut message: Value) {
        let mut guard = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (out, seq) = &mut *guard;
        if let Some(object) = message.as_object_mut() {
            object.insert("seq".into(), Value::from(*seq));
        }
        *seq += 1;
        let body = message.to_string();
        if let Err(err) = write_message(out.as_mut(), body.as_bytes()) {
            eprintln!("chop-dap: cannot write to the client: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_framed_messages_and_the_clean_end() {
        let mut input: &[u8] = b"Content-Length: 2\r\n\r\n{}Content-Length: 4\r\nX: y\r\n\r\nnull";
        assert_eq!(read_message(&mut input).unwrap(), Some(b"{}".to_vec()));
        assert_eq!(read_message(&mut input).unwrap(), Some(b"null".to_vec()));
        assert!(read_message(&mut input).unwrap().is_none());
    }

    #[test]
    fn refuses_malformed_framing() {
        let mut no_colon: &[u8] = b"garbage\r\n\r\n";
        assert!(matches!(
            read_message(&mut no_colon),
            Err(TransportError::BadHeader(_))
        ));
        let mut no_length: &[u8] = b"X: y\r\n\r\n";
        assert!(matches!(
            read_message(&mut no_length),
            Err(TransportError::NoLength)
        ));
        let mut short: &[u8] = b"Content-Length: 10\r\n\r\n{}";
        assert!(matches!(
            read_message(&mut short),
            Err(TransportError::Truncated)
        ));
        let mut huge: &[u8] = b"Content-Length: 999999999999\r\n\r\n";
        assert!(matches!(
            read_message(&mut huge),
            Err(TransportError::BadLength(_))
        ));
    }
}
