//! `continue`, `next`, `stepIn`, `stepOut` (by line, or by instruction with the
//! `instruction` granularity), `pause` and `exceptionInfo`.

use crate::adapter::{After, Handled};
use crate::protocol::{arguments, DapError, Reply, Request, ThreadArgs};
use crate::run::{describe_error, resume as run, Action};
use crate::session::{RunState, Shared};
use chunkvm::exec::StepKind;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Which execution request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// `continue`.
    Continue,
    /// `next`.
    Next,
    /// `stepIn`.
    In,
    /// `stepOut`.
    Out,
}

/// `continue` and the steps: the response first, then the run thread takes the VM. In a
/// run in bands a step moves the thread asked only; `continue` runs them all.
pub fn resume(shared: &Arc<Shared>, request: &Request, how: How) -> Handled {
    let checked = (|| {
        let args: ThreadArgs = arguments(request)?;
        shared.lock().check_thread(args.thread_id)?;
        let by_instruction = args.granularity.as_deref() == Some("instruction");
        let action = match how {
            How::Continue => Action::Continue,
            How::Next | How::In if by_instruction => Action::Step(StepKind::Instruction),
            How::Next => Action::Step(StepKind::Over),
            How::In => Action::Step(StepKind::Into),
            How::Out => Action::Step(StepKind::Out),
        };
        match shared.lock().state {
            RunState::Stopped => Ok((action, args.thread_id)),
            RunState::Running => Err(DapError::user("the thread is running")),
            RunState::NotLaunched => Err(DapError::user("no program was launched")),
            RunState::Terminated => Err(DapError::user("the program has ended")),
        }
    })();
    match checked {
        Ok((action, focus)) => {
            let body = if how == How::Continue {
                json!({ "allThreadsContinued": true })
            } else {
                json!({})
            };
            let then = Box::new(move |shared: &Arc<Shared>| {
                if let Err(err) = run(shared, action, focus) {
                    eprintln!("chop-dap: resuming: {err}");
                    shared.send(crate::protocol::output("stderr", &format!("{err}\n")));
                }
            });
            (Ok(body), After::Then(then))
        }
        Err(err) => (Err(err), After::Nothing),
    }
}

/// `pause`: the running threads stop at their next safe point (all of them, whichever
/// thread is asked).
pub fn pause(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: ThreadArgs = arguments(request)?;
    let session = shared.lock();
    session.check_thread(args.thread_id)?;
    match session.state {
        RunState::Running => {
            shared.user_pause.store(true, Ordering::Relaxed);
            session.pause_all();
            Ok(json!({}))
        }
        RunState::Stopped => Ok(json!({})),
        RunState::NotLaunched => Err(DapError::user("no program was launched")),
        RunState::Terminated => Err(DapError::user("the program has ended")),
    }
}

/// `exceptionInfo`: the runtime error the thread stopped on, where, and the Chop stack.
pub fn exception_info(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args: ThreadArgs = arguments(request)?;
    let session = shared.lock();
    session.check_thread(args.thread_id)?;
    let asked = session.exception_thread == args.thread_id;
    let (Some(err), Some(program), true) =
        (session.exception.as_ref(), session.program.as_ref(), asked)
    else {
        return Err(DapError::user("the thread did not stop on a runtime error"));
    };
    let (line, column) = program.position(err.span);
    let file = program
        .path_at(err.span)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = describe_error(program, err);
    Ok(json!({
        "exceptionId": "runtime",
        "description": format!("{} ({file} line {line}, column {column})", err.message),
        "breakMode": "always",
        "details": {
            "message": err.message,
            "typeName": format!("{:?}", err.kind),
            "fullTypeName": format!("runtime error ({:?})", err.kind),
            "stackTrace": text,
        },
    }))
}
