//! Handlers never take the server down: analysis runs under `catch_unwind`,
//! and a panic becomes an internal-error response naming the request.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};

/// The LSP error code of a request that failed for a reason the user can act
/// on (`RequestFailed`): a refused rename, a file that cannot be formatted.
pub const REQUEST_FAILED: i64 = -32803;

/// The analysis that is to panic next (fault injection for tests).
static FAIL_NEXT: Mutex<Option<String>> = Mutex::new(None);

/// Makes the next analysis named `what` (a request's method, or `analysis`
/// for a document's re-analysis) panic: for tests that the server survives.
pub fn fail_next(what: &str) {
    *FAIL_NEXT.lock().unwrap_or_else(|e| e.into_inner()) = Some(what.to_string());
}

/// Panics if [`fail_next`] asked for it for `what`.
pub fn injected(what: &str) {
    let mut next = FAIL_NEXT.lock().unwrap_or_else(|e| e.into_inner());
    if next.as_deref() == Some(what) {
        *next = None;
        drop(next);
        panic!("injected fault in {what}");
    }
}

/// The markers of [`stall`]s in force.
static STALLS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Signalled when a stall ends.
static STALL_ENDED: Condvar = Condvar::new();

/// While held, the analysis of a text containing its marker waits (for tests
/// of requests that are under way: one waiting for that analysis stays so).
#[derive(Debug)]
pub struct Stall(String);

/// Holds the analyses of the texts that contain `marker` until the returned
/// [`Stall`] is dropped.
pub fn stall(marker: &str) -> Stall {
    STALLS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(marker.to_string());
    Stall(marker.to_string())
}

impl Drop for Stall {
    fn drop(&mut self) {
        let mut stalls = STALLS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = stalls.iter().position(|marker| *marker == self.0) {
            stalls.remove(at);
        }
        STALL_ENDED.notify_all();
    }
}

/// Waits while a [`stall`] holds the analysis of the text `text` gives (a
/// blocking thread's; `text` is called only when some stall is in force).
pub fn stalled(text: impl FnOnce() -> String) {
    let mut stalls = STALLS.lock().unwrap_or_else(|e| e.into_inner());
    if stalls.is_empty() {
        return;
    }
    let text = text();
    while stalls.iter().any(|marker| text.contains(marker.as_str())) {
        stalls = STALL_ENDED.wait(stalls).unwrap_or_else(|e| e.into_inner());
    }
}

/// Runs `work`, turning a panic into an internal error for `what`.
pub fn guarded<T>(what: &str, work: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(|| {
        injected(what);
        work()
    }))
    .map_err(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        Error {
            code: ErrorCode::InternalError,
            message: format!("internal error in {what}: {why}").into(),
            data: None,
        }
    })
}

/// A `RequestFailed` error with `message`.
pub fn failed(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::ServerError(REQUEST_FAILED),
        message: message.into().into(),
        data: None,
    }
}

/// An `InvalidParams` error with `message`.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_params(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_an_internal_error() {
        assert_eq!(guarded("x", || 1).unwrap(), 1);
        let err = guarded("hover", || -> i32 { panic!("boom") }).unwrap_err();
        assert_eq!(err.code, ErrorCode::InternalError);
        assert!(err.message.contains("hover: boom"), "{}", err.message);
        let err = guarded("x", || -> i32 { panic!("{}", 42) }).unwrap_err();
        assert!(err.message.contains("42"));
        assert_eq!(failed("no").code.code(), REQUEST_FAILED);
    }
}
