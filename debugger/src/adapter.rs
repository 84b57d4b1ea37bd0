//! The reader loop: one message at a time, each request routed to its handler, the
//! response sent, then what the request starts (a run, an exit). It never waits for
//! the VM: runs happen on the session's run thread.

use crate::protocol::{response, DapError, Reply, Request};
use crate::requests::{
    attach, breakpoints, chunks, disassemble, evaluate, execution, launch, migrate, stack,
};
use crate::session::Shared;
use crate::transport::{read_message, Outbox};
use serde_json::Value;
use std::io::{BufRead, Write};
use std::sync::Arc;

/// Work done once a response is sent.
pub type Then = Box<dyn FnOnce(&Arc<Shared>)>;

/// What happens once a request's response is sent.
pub enum After {
    /// Nothing.
    Nothing,
    /// Something to do (start a run, stop at entry...).
    Then(Then),
    /// The session ends: the adapter stops reading.
    Exit,
    /// The response is sent later, by whoever finishes the request (a migration of a
    /// running thread, at its next safe point); the reply here is not sent.
    Later,
}

/// A handler's outcome.
pub type Handled = (Reply, After);

/// Serves one client until it disconnects or its input ends.
pub fn serve(mut input: impl BufRead, output: Box<dyn Write + Send>) {
    let shared = Arc::new(Shared::new(Arc::new(Outbox::new(output))));
    loop {
        let body = match read_message(&mut input) {
            Ok(Some(body)) => body,
            Ok(None) => break,
            Err(err) => {
                eprintln!("chop-dap: {err}; ending the session");
                break;
            }
        };
        let request: Request = match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(err) => {
                // The framing holds, so the session goes on; answer what can be answered.
                let seq = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("seq").and_then(Value::as_i64))
                    .unwrap_or(0);
                let reply: Reply = Err(DapError::user(format!("not a DAP request: {err}")));
                shared.send(response(seq, "unknown", &reply));
                continue;
            }
        };
        if request.kind != "request" {
            let reply: Reply = Err(DapError::user(format!(
                "a message of type `{}` from the client: only requests are read",
                request.kind
            )));
            shared.send(response(request.seq, &request.command, &reply));
            continue;
        }
        let (reply, after) = dispatch(&shared, &request);
        if let Err(DapError::Internal(message)) = &reply {
            eprintln!("chop-dap: `{}`: {message}", request.command);
        }
        if !matches!(after, After::Later) {
            shared.send(response(request.seq, &request.command, &reply));
        }
        tell_if_home(&shared);
        match after {
            After::Nothing | After::Later => {}
            After::Then(then) => then(&shared),
            After::Exit => break,
        }
    }
    // A run still going ends with the process; ask it to stop first.
    let session = shared.lock();
    session
        .cancel
        .store(true, std::sync::atomic::Ordering::Relaxed);
    drop(session);
    crate::requests::attach::remove_sources();
}

/// A thread whose node failed or stopped while a request asked it came home: the
/// client hears it once (the request's error said it to that request only).
fn tell_if_home(shared: &Arc<Shared>) {
    let mut session = shared.lock();
    let Some(thread) = session
        .threads
        .first_mut()
        .and_then(|band| band.thread.as_mut())
    else {
        return;
    };
    let Some(why) = thread.take_home_note() else {
        return;
    };
    shared.send(crate::protocol::output("console", &format!("{why}\n")));
    crate::run::migrated(shared, thread, None);
    session.node = None;
}

fn dispatch(shared: &Arc<Shared>, request: &Request) -> Handled {
    let plain = |reply: Reply| (reply, After::Nothing);
    match request.command.as_str() {
        "initialize" => plain(launch::initialize(request)),
        "launch" => launch::launch(shared, request),
        "configurationDone" => launch::configuration_done(shared),
        "attach" => attach::attach(shared, request),
        "disconnect" => {
            attach::disconnect(shared, request).unwrap_or_else(|| launch::disconnect(shared))
        }
        "terminate" => attach::terminate(shared).unwrap_or_else(|| launch::terminate(shared)),
        "restart" => launch::restart(shared, request),
        "setBreakpoints" => plain(breakpoints::set_breakpoints(shared, request)),
        "setFunctionBreakpoints" => plain(breakpoints::set_function_breakpoints(shared, request)),
        "setInstructionBreakpoints" => {
            plain(breakpoints::set_instruction_breakpoints(shared, request))
        }
        "setExceptionBreakpoints" => plain(breakpoints::set_exception_breakpoints(shared, request)),
        "continue" => execution::resume(shared, request, execution::How::Continue),
        "next" => execution::resume(shared, request, execution::How::Next),
        "stepIn" => execution::resume(shared, request, execution::How::In),
        "stepOut" => execution::resume(shared, request, execution::How::Out),
        "pause" => plain(execution::pause(shared, request)),
        "exceptionInfo" => plain(execution::exception_info(shared, request)),
        "threads" => plain(stack::threads(shared)),
        "stackTrace" => plain(stack::stack_trace(shared, request)),
        "scopes" => plain(stack::scopes(shared, request)),
        "variables" => plain(stack::variables(shared, request)),
        "setVariable" => plain(stack::set_variable(shared, request)),
        "loadedSources" => plain(stack::loaded_sources(shared)),
        "evaluate" => plain(evaluate::evaluate(shared, request)),
        "disassemble" => plain(disassemble::disassemble(shared, request)),
        "chunks" => plain(chunks::chunks(shared, request)),
        "migrate" => migrate::migrate(shared, request),
        other => plain(Err(DapError::user(format!(
            "chop-dap does not support the request `{other}`"
        )))),
    }
}
