//! `attach` {node, tokenFile?, fingerprint?, thread, program?}: debugs a thread a
//! `chunkvm` node holds already (`chunkvm threads --on NODE` lists them: threads
//! clients migrated there, threads debuggers parked there). The node stops it at its
//! next safe point; from then on the session is the one a `migrate` to that node
//! makes: stepping, breakpoints, stack, variables, evaluate, setVariable, `chunks`,
//! and `migrate {node: "local"}` brings the thread here (its owner is told a debugger
//! took it).
//!
//! The program comes from the node (the source a debugger sent it with), or from
//! `program` (a thread migrated by `chunkvm run --on` travels without its source);
//! code is content-addressed, so the adapter checks that the text compiles to the
//! thread's code. A source the node gave that is not the text of `program` (or when
//! there is no `program`) is written to a file of the adapter's temporary folder, for
//! the editor to show.
//!
//! How a session ends (`disconnect`, `terminate`; see [`disconnect`]): an attached
//! thread is let go on for its owner (`terminateDebuggee` false, the default for an
//! attach) or ended (`terminateDebuggee` true: its owner gets "ended by a debugger at
//! ..."). A launched thread that is on a node, disconnected with `terminateDebuggee`
//! false, is parked there: the node takes every chunk of it first, then runs it on;
//! `chunkvm threads` shows it, with its result and output once it ends, and an
//! `attach` finds it.

use crate::adapter::{After, Handled};
use crate::debuggee::{Debuggee, Setup};
use crate::protocol::{arguments, event, output, DapError, Request};
use crate::session::{RunState, Shared};
use chunkvm::exec::Vm;
use chunkvm_node::{AttachError, RemoteThread};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The arguments of `attach`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachArgs {
    /// The node, `quic://HOST:PORT`.
    pub node: String,
    /// The thread's id on the node (`chunkvm threads --on NODE` lists them).
    pub thread: u64,
    /// The node's token file (default: the token of a node started on this machine).
    #[serde(default)]
    pub token_file: Option<String>,
    /// The node's certificate fingerprint, pinned (default: trust on first use).
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// The program's `.chop` file: needed when the node has no source for the thread
    /// (it came by `chunkvm run --on`), and shown in the editor when it is the text the
    /// thread runs.
    #[serde(default)]
    pub program: Option<String>,
    /// Folders of the library that the program's `use "..."` looks in (as `launch`'s).
    #[serde(default)]
    pub lib: Vec<String>,
}

/// What the session knows of the thread it attached to.
#[derive(Clone, Debug)]
pub struct Attached {
    /// The thread's id on the node.
    pub thread: u64,
    /// The node's address as the user gave it.
    pub node: String,
}

/// `attach`.
pub fn attach(shared: &Arc<Shared>, request: &Request) -> Handled {
    match attach_to(shared, request) {
        Ok((body, note)) => (
            Ok(body),
            After::Then(Box::new(move |shared: &Arc<Shared>| {
                shared.send(output("console", &note));
                shared.send(event("initialized", json!({})));
            })),
        ),
        Err(err) => (Err(err), After::Nothing),
    }
}

fn attach_to(
    shared: &Arc<Shared>,
    request: &Request,
) -> Result<(serde_json::Value, String), DapError> {
    let args: AttachArgs = arguments(request)?;
    if shared.lock().state != RunState::NotLaunched {
        return Err(DapError::user(
            "a program was launched or attached already in this session",
        ));
    }
    chunkvm_node::reach::node_address(&args.node)
        .map_err(|why| DapError::user(format!("attach `node`: {why}")))?;
    let pin = match args.fingerprint.as_deref() {
        Some(text) => Some(
            text.parse::<chunkvm_node::Fingerprint>()
                .map_err(|why| DapError::user(format!("attach `fingerprint`: {why}")))?,
        ),
        None => None,
    };
    // The program given, as the session shows it: its text (every file's, for a
    // program that uses others), its files, and its analysis when it uses others (the
    // text then is no file's own: the program is made from the files, not from it).
    let given = match &args.program {
        Some(path) => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|err| {
                DapError::user(format!(
                    "attach: cannot read `program` {}: {err}",
                    path.display()
                ))
            })?;
            let lib = super::launch::lib_path(&args.lib);
            let analyzed = super::launch::analyze_program(&path, &text, &lib)?;
            let (text, files) = super::launch::program_files(&path, &text, &analyzed);
            let analyzed = analyzed.modules.is_some().then_some(analyzed);
            Some((
                std::fs::canonicalize(&path).unwrap_or(path),
                text,
                files,
                analyzed,
            ))
        }
        None => None,
    };
    let (runtime, setup) = {
        let mut session = shared.lock();
        let runtime = super::migrate::node_runtime(&mut session)?;
        let setup = Setup {
            source: Arc::from(""),
            out: shared.out.clone(),
            cancel: session.cancel.clone(),
        };
        (runtime, setup)
    };
    let client = runtime
        .block_on(chunkvm_node::reach::connect(
            &args.node,
            args.token_file.as_deref().map(std::path::Path::new),
            pin,
            &chunkvm_node::reach::interactive(),
        ))
        .map(Arc::new)
        .map_err(|why| DapError::user(format!("attach: {why}")))?;
    // The program made from the thread's source, kept for the session's view of it.
    let mut made: Option<(String, Vec<chunkvm::check::ParamDecl>)> = None;
    let linked = given
        .as_ref()
        .and_then(|(_, text, _, analyzed)| Some((text.as_str(), analyzed.as_ref()?)));
    let make_local = |source: &str| -> Result<Vm, String> {
        let analyzed = match linked {
            // The program of several files given, whose text the node has.
            Some((text, analyzed)) if text == source => {
                let program = analyzed.compile().map_err(|diags| {
                    format!("the program does not compile ({} diagnostics)", diags.len())
                })?;
                made = Some((source.to_string(), analyzed.params()));
                return Ok(Vm::new(program));
            }
            _ => chunkvm::driver::analyze(source),
        };
        let program = analyzed.compile().map_err(|diags| {
            format!(
                "the thread's source does not compile here ({} diagnostics)",
                diags.len()
            )
        })?;
        made = Some((source.to_string(), analyzed.params()));
        Ok(Vm::new(program))
    };
    let attached = runtime.block_on(RemoteThread::attach(
        client.clone(),
        args.thread,
        given.as_ref().map(|(_, text, _, _)| text.as_str()),
        make_local,
        setup.on_line(),
    ));
    let (remote, found) = attached.map_err(|err| match err {
        AttachError::Refused(why) => DapError::user(format!("attach: {why}")),
        AttachError::Program(why) => DapError::user(format!("attach `program`: {why}")),
        AttachError::Lost(_) => DapError::user(format!("attach: {err}")),
    })?;
    let Some((text, params)) = made else {
        return Err(DapError::internal("attached without the thread's program"));
    };
    let (path, files) = match given {
        Some((path, given_text, files, _)) if given_text == text => (path, files),
        _ => (write_source(&found.name, found.thread, &text)?, Vec::new()),
    };
    let node_name = remote.node_name().to_string();
    let setup = Setup {
        source: Arc::from(text.as_str()),
        ..setup
    };
    let mut program = super::launch::describe(
        path.clone(),
        text,
        files,
        params,
        remote.local(),
        found.name.clone(),
    );
    program.show_result = true;
    let thread = Debuggee::attached(remote, &args.node, runtime, found.instructions, setup);
    {
        let mut session = shared.lock();
        session.clients.insert(args.node.clone(), client);
        session.node = Some(node_name.clone());
        session.install_one(thread);
        session.program = Some(program);
        session.state = RunState::Stopped;
        session.entry_checked = true;
        session.attached = Some(Attached {
            thread: found.thread,
            node: args.node.clone(),
        });
    }
    let note = format!(
        "attached to thread {} ({}) on {node_name} at instruction {}; source {}\n",
        found.thread,
        found.name,
        found.instructions,
        path.display()
    );
    let body = json!({
        "thread": found.thread,
        "name": found.name,
        "node": node_name,
        "instructions": found.instructions,
        "source": { "path": path.display().to_string() },
    });
    Ok((body, note))
}

/// The folder of the sources that nodes gave (this process's, in the temporary folder).
fn sources_dir() -> PathBuf {
    std::env::temp_dir().join(format!("chop-dap-{}", std::process::id()))
}

/// Removes the sources written for the editor when the session ends (nothing to remove
/// when no attach wrote one).
pub fn remove_sources() {
    let dir = sources_dir();
    if dir.exists() {
        if let Err(err) = std::fs::remove_dir_all(&dir) {
            eprintln!("chop-dap: cannot remove {}: {err}", dir.display());
        }
    }
}

/// Writes a source the node gave to a file of the temporary folder, for the editor.
fn write_source(name: &str, thread: u64, text: &str) -> Result<PathBuf, DapError> {
    let dir = sources_dir();
    std::fs::create_dir_all(&dir).map_err(|err| {
        DapError::internal(format!("cannot make the folder {}: {err}", dir.display()))
    })?;
    let safe: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    let path = dir.join(format!("{safe}-thread{thread}.chop"));
    std::fs::write(&path, text)
        .map_err(|err| DapError::internal(format!("cannot write {}: {err}", path.display())))?;
    Ok(path)
}

/// The arguments of `disconnect` that matter here.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DisconnectArgs {
    #[serde(default)]
    terminate_debuggee: Option<bool>,
}

/// What becomes of a thread on a node when its session ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leave {
    /// An attached thread runs on for its owner.
    Detach,
    /// It ends.
    Terminate,
    /// A launched thread stays on the node, parked.
    Park,
}

/// `disconnect` of a session whose thread is on a node, where it is not simply
/// dropped: an attached thread is detached (or ended, `terminateDebuggee: true`); a
/// launched thread with `terminateDebuggee: false` is parked. `None`: the usual
/// disconnect.
pub fn disconnect(shared: &Arc<Shared>, request: &Request) -> Option<Handled> {
    let args: DisconnectArgs = arguments(request).unwrap_or_default();
    let leave = {
        let session = shared.lock();
        match (&session.attached, args.terminate_debuggee) {
            (Some(_), Some(true)) => Leave::Terminate,
            (Some(_), _) => Leave::Detach,
            (None, Some(false)) if session.node.is_some() => Leave::Park,
            (None, _) => return None,
        }
    };
    Some(match leave_thread(shared, leave) {
        Ok(note) => {
            shared.send(output("console", &note));
            (Ok(json!({})), After::Exit)
        }
        Err(err) => {
            shared.send(output("stderr", &format!("{err}\n")));
            shared.lock().cancel.store(true, Ordering::Relaxed);
            (Ok(json!({})), After::Exit)
        }
    })
}

/// `terminate` of an attached session: the thread ends on its node (its owner is
/// told a debugger ended it). `None`: the usual terminate.
pub fn terminate(shared: &Arc<Shared>) -> Option<Handled> {
    shared.lock().attached.as_ref()?;
    let outcome = leave_thread(shared, Leave::Terminate);
    let then = Box::new(move |shared: &Arc<Shared>| {
        match outcome {
            Ok(note) => shared.send(output("console", &note)),
            Err(err) => shared.send(output("stderr", &format!("{err}\n"))),
        }
        shared.send(event("exited", json!({ "exitCode": 1 })));
        shared.send(event("terminated", json!({})));
    });
    Some((Ok(json!({})), After::Then(then)))
}

/// Stops the thread if it runs (at its next safe point, bounded in time), then
/// detaches from it, ends it or parks it. Returns what to tell the user.
fn leave_thread(shared: &Arc<Shared>, leave: Leave) -> Result<String, DapError> {
    {
        let session = shared.lock();
        if session.state == RunState::Running {
            shared.user_pause.store(true, Ordering::Relaxed);
            session.pause_all();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while shared.lock().state == RunState::Running {
        if Instant::now() > deadline {
            return Err(DapError::internal(
                "the thread did not stop within 30 s to be left on its node",
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let (thread, node) = {
        let mut session = shared.lock();
        let node = session.node.clone().unwrap_or_default();
        // An attached or node-held thread is a one-thread run (no bands).
        let thread = session
            .threads
            .first_mut()
            .and_then(|band| band.thread.take());
        if thread.is_some() {
            session.state = RunState::Terminated;
        }
        (thread, node)
    };
    let Some(thread) = thread else {
        return Ok("the thread had ended\n".to_string());
    };
    let (remote, runtime) = match thread.into_remote() {
        Ok(got) => got,
        // It came home (its node stopped or failed): it ends with the session.
        Err(_) => {
            return Ok("the thread is here, not on a node: it ends with the session\n".into())
        }
    };
    let id = remote.thread();
    match leave {
        Leave::Detach => runtime
            .block_on(remote.detach())
            .map(|()| format!("detached from thread {id} on {node}: it runs on for its owner\n"))
            .map_err(|err| DapError::user(format!("detaching from thread {id} on {node}: {err}; the node lets it run on when the session's connection ends"))),
        Leave::Terminate => runtime
            .block_on(remote.terminate())
            .map(|()| format!("ended thread {id} on {node}\n"))
            .map_err(|err| DapError::user(format!("ending thread {id} on {node}: {err}"))),
        Leave::Park => {
            // (The session's lock is taken once at a time here.)
            let address = thread_address(shared).unwrap_or_else(|| node.clone());
            runtime
                .block_on(remote.park())
                .map(|id| {
                    format!(
                        "parked the thread on {node} as thread {id}: it runs on there; `chunkvm threads --on {address}` shows it (its result and output once it ends), and an `attach` with \"thread\": {id} debugs it again\n"
                    )
                })
                .map_err(|err| {
                    DapError::user(format!(
                        "the thread could not be parked on {node} ({err}): it ends with the session"
                    ))
                })
        }
    }
}

/// The address of the node a launched session's thread is on, as the user gave it.
fn thread_address(shared: &Arc<Shared>) -> Option<String> {
    let session = shared.lock();
    session
        .clients
        .iter()
        .find(|(_, client)| Some(client.node_name()) == session.node.as_deref())
        .map(|(address, _)| address.clone())
}
