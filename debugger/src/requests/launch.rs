//! `initialize` (the capabilities), `launch` (a function call, or a filter or pipeline
//! run over a photo, made a thread of the VM), `configurationDone` (the run starts, or
//! stops on entry), `terminate` and `disconnect`.

use crate::adapter::{After, Handled, Then};
use crate::debuggee::{Debuggee, Setup};
use crate::protocol::{arguments, event, output, DapError, LaunchArgs, Reply, Request};
use crate::run::{resume, Action, OutputSink};
use crate::session::{Band, BandRun, Program, ProgramFile, RunState, Shared, THREAD_ID};
use chunkvm::driver::{analyze, Analyzed};
use chunkvm::exec::{Value, Vm};
use chunkvm::photo::{Compiled, Input, Rgba8, RunOptions, Target};
use chunkvm::syntax::ast::ItemKind;
use chunkvm::syntax::span::LineIndex;
use chunkvm::values::{read_value, Sent, Written};
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The photo a filter runs on when the launch names no `input`.
const BUNDLED_PHOTO: &[u8] = include_bytes!("../../../samples/chelsea.png");

/// The capabilities: exactly what the adapter does.
pub fn capabilities() -> Json {
    json!({
        "supportsConfigurationDoneRequest": true,
        "supportsFunctionBreakpoints": true,
        "supportsConditionalBreakpoints": true,
        "supportsHitConditionalBreakpoints": true,
        "supportsLogPoints": true,
        "supportsEvaluateForHovers": true,
        "supportsExceptionInfoRequest": true,
        "exceptionBreakpointFilters": [{
            "filter": "runtime",
            "label": "Runtime errors",
            "description": "Stop where the program fails (division by zero, an index out of range, a limit), with its stack and locals",
            "default": true,
        }],
        "supportsSteppingGranularity": true,
        "supportsDisassembleRequest": true,
        "supportsLoadedSourcesRequest": true,
        "supportsTerminateRequest": true,
        "supportTerminateDebuggee": true,
        "supportsSetVariable": true,
        "supportsInstructionBreakpoints": true,
        "supportsRestartRequest": true,
        "supportsStepBack": false,
    })
}

/// `initialize`.
pub fn initialize(_request: &Request) -> Reply {
    Ok(capabilities())
}

/// Reads a JSON value as the core's [`Sent`].
fn sent(value: &Json) -> Sent {
    match value {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Sent::Int(i)
            } else if let Some(u) = n.as_u64() {
                Sent::BigInt(u)
            } else {
                Sent::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::Bool(b) => Sent::Bool(*b),
        Json::String(text) => Sent::Text(text.clone()),
        Json::Array(items) => Sent::List(items.iter().map(sent).collect()),
        Json::Null | Json::Object(_) => Sent::Other,
    }
}

/// Whether a file has filters or pipelines and no `main` (run over a photo, as the
/// command line does).
fn is_filter_file(analyzed: &Analyzed) -> bool {
    let items = &analyzed.parsed.file.items;
    let has_main = items.iter().any(|item| item.name.name == "main");
    let has_filters = items.iter().any(|item| match &item.kind {
        ItemKind::Function(func) => func.is_filter,
        ItemKind::Pipeline(_) => true,
        ItemKind::Param(_) => false,
    });
    has_filters && !has_main
}

/// The `params` of a launch, read against the file's params.
fn read_params(
    analyzed: &Analyzed,
    params: &serde_json::Map<String, Json>,
) -> Result<Vec<(String, Value)>, DapError> {
    let declared = analyzed.params();
    let mut out = Vec::new();
    for (written_name, value) in params {
        let name = match chunkvm::driver::param_name(&declared, written_name) {
            Ok(name) => name,
            Err(chunkvm::driver::ParamName::Ambiguous(names)) => {
                return Err(DapError::user(format!(
                    "launch `params`: `{written_name}` names several params: write one of {}",
                    names.join(", ")
                )))
            }
            Err(chunkvm::driver::ParamName::Unknown) => written_name.clone(),
        };
        let name = &name;
        let given = sent(value);
        let shown = value.to_string();
        let written = Written::Sent {
            value: &given,
            shown: &shown,
        };
        let Some(read) = chunkvm::driver::read_param(&declared, name, written) else {
            let names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
            return Err(DapError::user(format!(
                "launch `params`: the program has no param `{name}` (its params: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        };
        let value = read.map_err(|err| DapError::user(format!("launch `params`: {err}")))?;
        out.push((name.clone(), value));
    }
    Ok(out)
}

/// The lines of `vm`'s program that have code.
fn code_lines(vm: &Vm, text: &str, lines: &LineIndex) -> Vec<u32> {
    let mut out: Vec<u32> = vm
        .loaded()
        .funcs
        .iter()
        .flat_map(|func| func.spans.iter())
        .map(|span| lines.line_col(text, span.start.min(text.len())).line)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A launched program, ready to run.
struct Launched {
    program: Program,
    vm: Vm,
    /// A filter or pipeline run in bands: how many per stage, and the stages' names.
    bands: Option<(usize, Vec<String>)>,
}

/// The band threads of a launch: `threads` if given, else 1. One thread is the
/// default because it is the one a user steps through without surprises and the one
/// `migrate` can move; bands are asked for (`threads: N`) to see the run as
/// `chunkvm run` splits it.
fn band_threads(args: &LaunchArgs, photo: bool) -> Result<usize, DapError> {
    match args.threads {
        Some(0) => Err(DapError::user(
            "launch `threads`: at least 1 (1 runs the filter on one thread)",
        )),
        Some(n) if n > 1 && !photo => Err(DapError::user(
            "launch `threads`: bands are for a filter or pipeline run (a function runs on one thread)",
        )),
        Some(n) if n > 1 && args.node.is_some() => Err(DapError::user(
            "launch `threads`: `node` starts one thread there: launch with threads: 1",
        )),
        Some(n) => Ok(n.min(256)),
        None => Ok(1),
    }
}

/// `launch`: reads, checks and compiles the program, and starts its thread (stopped).
pub fn launch(shared: &Arc<Shared>, request: &Request) -> Handled {
    let args: LaunchArgs = match arguments(request) {
        Ok(args) => args,
        Err(err) => return (Err(err), After::Nothing),
    };
    if shared.lock().state != RunState::NotLaunched {
        return (
            Err(DapError::user(
                "a program was launched already in this session",
            )),
            After::Nothing,
        );
    }
    match prepare(shared, &args).and_then(|launched| {
        install(shared, launched, &args, request.arguments.clone()).map_err(Failed::Refused)
    }) {
        Ok(()) => (
            Ok(json!({})),
            After::Then(Box::new(|shared: &Arc<Shared>| {
                shared.send(event("initialized", json!({})));
            })),
        ),
        Err(Failed::Refused(err)) => (Err(err), After::Nothing),
        Err(Failed::DoesNotCompile(err)) => (
            Err(err),
            After::Then(Box::new(|shared: &Arc<Shared>| {
                shared.lock().state = RunState::Terminated;
                shared.send(event("terminated", json!({})));
            })),
        ),
    }
}

/// Makes a launched program the session's stopped thread (or, in bands, the stopped
/// threads of its first stage's bands).
fn install(
    shared: &Arc<Shared>,
    launched: Launched,
    args: &LaunchArgs,
    raw: Json,
) -> Result<(), DapError> {
    let Launched {
        program,
        mut vm,
        bands,
    } = launched;
    let mut session = shared.lock();
    let setup = Setup {
        source: Arc::from(program.text.as_str()),
        out: shared.out.clone(),
        cancel: session.cancel.clone(),
    };
    setup.settle(&mut vm);
    match bands {
        None => session.install_one(Debuggee::here(vm, setup)),
        Some((count, stage_names)) => {
            let split = chunkvm::photo::Bands::new(vm, count)
                .map_err(|err| DapError::user(format!("launch: {err}")))?;
            let mut run = BandRun {
                split,
                stage_names,
                setup,
                done: Vec::new(),
            };
            let stops = session.stops();
            let started = run
                .start_stage(&stops)
                .map_err(|why| DapError::user(format!("launch: {why}")))?;
            session.threads.clear();
            session.pauses.clear();
            session.last_thread = 0;
            for (slot, label, thread) in started {
                let id = session.new_thread_id();
                session.pauses.extend(thread.pause());
                session.threads.push(Band {
                    id,
                    label: Some(label),
                    slot,
                    thread: Some(thread),
                });
            }
            session.focus = session.threads.first().map_or(0, |band| band.id);
            session.bands = Some(run);
        }
    }
    session.node = None;
    session.program = Some(program);
    session.state = RunState::Stopped;
    session.stop_on_entry = args.stop_on_entry;
    session.start_on = args.node.clone().map(|node| super::migrate::Destination {
        node,
        token_file: args.token_file.as_ref().map(PathBuf::from),
        fingerprint: args.fingerprint.clone(),
    });
    session.launch_args = Some(raw);
    Ok(())
}

/// Why a launch failed.
enum Failed {
    /// A bad argument, a missing file: nothing started.
    Refused(DapError),
    /// The program has errors (sent as output): the session ends.
    DoesNotCompile(DapError),
}

impl From<DapError> for Failed {
    fn from(err: DapError) -> Failed {
        Failed::Refused(err)
    }
}

/// The library's search path of a launch: its `lib` folders, then `$CHUNKVM_LIB` (a
/// list of folders, as `PATH`), then the `filters/` folder of the installation (beside
/// the `chop-dap` binary or up to four levels above it), as the command line has it.
pub fn lib_path(given: &[String]) -> Vec<PathBuf> {
    chunkvm::modules::search_path(given.iter().map(PathBuf::from).collect())
}

/// Analyses the program at `path` (whose text is `text`) with the files it uses, from
/// the file system and `lib`; a file that uses nothing analyses alone.
pub fn analyze_program(path: &Path, text: &str, lib: &[PathBuf]) -> Result<Analyzed, DapError> {
    let analyzed = analyze(text);
    if analyzed.parsed.file.uses.is_empty() {
        return Ok(analyzed);
    }
    let graph =
        chunkvm::modules::load_text(path, text.to_string(), &chunkvm::modules::FsResolver, lib)
            .map_err(|err| DapError::user(format!("launch: {err}")))?;
    Ok(chunkvm::driver::analyze_graph(graph))
}

/// The text of an analysed program (every file's at its base: see [`Program::text`])
/// and its files; `path` and `text` are the main file's.
pub fn program_files(path: &Path, text: &str, analyzed: &Analyzed) -> (String, Vec<ProgramFile>) {
    let absolute = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Some(modules) = &analyzed.modules else {
        return (text.to_string(), vec![file_of(absolute(path), 0, text, 1)]);
    };
    let mut linked = String::new();
    let mut files = Vec::new();
    for unit in &modules.graph.files {
        while linked.len() < unit.base {
            linked.push('\n');
        }
        let first_line = LineIndex::new(&linked).line_col(&linked, linked.len()).line;
        linked.push_str(&unit.text);
        files.push(file_of(
            absolute(&unit.path),
            unit.base,
            &unit.text,
            first_line,
        ));
    }
    (linked, files)
}

fn file_of(path: PathBuf, base: usize, text: &str, first_line: u32) -> ProgramFile {
    ProgramFile {
        path,
        base,
        len: text.len(),
        first_line,
        line_count: text.matches('\n').count() as u32 + 1,
    }
}

/// Shows a program's diagnostics in the debug console (on `category`), each at its own
/// file's path; how many are errors.
fn show_diagnostics(
    shared: &Arc<Shared>,
    path: &Path,
    text: &str,
    analyzed: &Analyzed,
    diags: &[chunkvm::diag::Diagnostic],
    category: &str,
) -> usize {
    let mut errors = 0;
    let mut show = |path: &Path, text: &str, diags: &[chunkvm::diag::Diagnostic]| {
        let lines = LineIndex::new(text);
        let shown = path.display().to_string();
        for diag in diags {
            shared.send(output(category, &diag.render(&shown, text, &lines)));
        }
        errors += diags.iter().filter(|d| d.is_error()).count();
    };
    if analyzed.modules.is_none() {
        show(path, text, diags);
    } else {
        for file in analyzed.file_diagnostics() {
            show(file.path, file.text, &file.diagnostics);
        }
    }
    errors
}

/// The first error of a program, as `path:line:col: message`, for the error shown to
/// the user (each file's at its own path).
fn first_error(
    path: &Path,
    text: &str,
    analyzed: &Analyzed,
    diags: &[chunkvm::diag::Diagnostic],
) -> Option<String> {
    let place = |path: &Path, text: &str, diag: &chunkvm::diag::Diagnostic| {
        let pos = LineIndex::new(text).line_col(text, diag.span.start.min(text.len()));
        format!(
            "{}:{}:{}: {}",
            path.display(),
            pos.line,
            pos.col,
            diag.message
        )
    };
    if analyzed.modules.is_none() {
        return diags
            .iter()
            .find(|d| d.is_error())
            .map(|d| place(path, text, d));
    }
    analyzed.file_diagnostics().iter().find_map(|file| {
        file.diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(|d| place(file.path, file.text, d))
    })
}

fn prepare(shared: &Arc<Shared>, args: &LaunchArgs) -> Result<Launched, Failed> {
    let path = PathBuf::from(&args.program);
    let text = std::fs::read_to_string(&path).map_err(|err| {
        DapError::user(format!(
            "launch: cannot read `program` {}: {err}",
            path.display()
        ))
    })?;
    let lib = lib_path(&args.lib);
    let analyzed = analyze_program(&path, &text, &lib)?;
    let shown = path.display().to_string();
    let program = match analyzed.compile() {
        Ok(program) => {
            show_diagnostics(
                shared,
                &path,
                &text,
                &analyzed,
                &analyzed.diagnostics(),
                "console",
            );
            program
        }
        Err(diags) => {
            let errors = show_diagnostics(shared, &path, &text, &analyzed, &diags, "stderr").max(1);
            let first = first_error(&path, &text, &analyzed, &diags)
                .map(|first| format!("; the first: {first}"))
                .unwrap_or_default();
            return Err(Failed::DoesNotCompile(DapError::user(format!(
                "{shown} does not compile: {errors} error{} (shown in the debug console){first}",
                if errors == 1 { "" } else { "s" }
            ))));
        }
    };
    let params = read_params(&analyzed, &args.params)?;
    let mut bands = None;
    let photo = args.filter.is_some()
        || args.pipeline.is_some()
        || (args.function.is_none() && args.args.is_empty() && is_filter_file(&analyzed));
    let (mut vm, name, photo_output, show_result) = if photo {
        if args.function.is_some() || !args.args.is_empty() {
            return Err(DapError::user(
                "launch: `function` and `args` call a function; `filter`, `pipeline`, `input`, `output` and `level` run over a photo: use one or the other",
            )
            .into());
        }
        let target = match (&args.filter, &args.pipeline) {
            (Some(_), Some(_)) => {
                return Err(DapError::user("launch: give `filter` or `pipeline`, not both").into())
            }
            (Some(name), None) => Some(Target::Filter(name.clone())),
            (None, Some(name)) => Some(Target::Pipeline(name.clone())),
            (None, None) => None,
        };
        let threads = band_threads(args, true)?;
        let image = read_input(args.input.as_deref())?;
        let options = RunOptions {
            level: args.level.unwrap_or(0),
            threads: 1,
            params,
            ..RunOptions::default()
        };
        let started = chunkvm::photo::start(
            Compiled::of(&analyzed, program),
            target.as_ref(),
            &Input::Image(std::borrow::Cow::Owned(image)),
            &options,
        )
        .map_err(|err| DapError::user(format!("launch: {err}")))?;
        let output = args.output.as_ref().map(PathBuf::from);
        // In bands when there are rows enough for more than one.
        bands = (threads > 1 && chunkvm::photo::band_rows(started.size.1, threads).len() > 1)
            .then(|| (threads, started.stages.clone()));
        (started.vm, started.stages.join(" |> "), Some(output), false)
    } else {
        band_threads(args, false)?;
        if args.input.is_some() || args.output.is_some() || args.level.is_some() {
            return Err(DapError::user(
                "launch: `input`, `output` and `level` are for a filter or pipeline run (give `filter` or `pipeline`)",
            )
            .into());
        }
        let name = args.function.clone().unwrap_or_else(|| "main".to_string());
        let found = program
            .function(&name)
            .filter(|(_, func)| !func.is_closure)
            .map(|(idx, func)| (idx, func.params.clone()));
        let Some((func, func_params)) = found else {
            return Err(DapError::user(format!(
                "launch: no function `{name}` in {shown} (its functions: {})",
                program.function_names().join(", ")
            ))
            .into());
        };
        if args.args.len() != func_params.len() {
            return Err(DapError::user(format!(
                "launch: `{name}` takes {} argument{}, but `args` has {}",
                func_params.len(),
                if func_params.len() == 1 { "" } else { "s" },
                args.args.len()
            ))
            .into());
        }
        let mut values = Vec::new();
        for ((pname, ty), arg) in func_params.iter().zip(&args.args) {
            let given = sent(arg);
            let shown_arg = arg.to_string();
            let written = Written::Sent {
                value: &given,
                shown: &shown_arg,
            };
            let value = read_value(pname, ty, written, None).map_err(|err| {
                DapError::user(format!(
                    "launch `args`: {shown_arg} for parameter `{pname}` of `{name}`: {err}"
                ))
            })?;
            values.push(value);
        }
        let mut vm = Vm::new(program);
        for (pname, value) in &params {
            vm.set_global(pname, value)
                .map_err(|err| DapError::user(format!("launch `params`: {err}")))?;
        }
        vm.start(func, &values)
            .map_err(|err| DapError::user(format!("launch: {err}")))?;
        (vm, name, None, args.function.is_some())
    };
    let (linked, files) = program_files(&path, &text, &analyzed);
    vm.set_source(&linked);
    vm.set_output(Box::new(OutputSink::new(shared.out.clone())));
    vm.keep_frames_on_error(true);
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let mut program = describe(path, linked, files, analyzed.params(), &vm, name);
    program.photo_output = photo_output;
    program.show_result = show_result;
    Ok(Launched { program, vm, bands })
}

/// What the session knows of a program at `path` whose text is `text` (of its `files`:
/// [`program_files`]; none for a program of one file), compiled into `vm`'s code: its lines with code, functions and their first lines, code sizes;
/// `name` is the thread's. No photo output, no result shown.
pub fn describe(
    path: PathBuf,
    text: String,
    files: Vec<ProgramFile>,
    params: Vec<chunkvm::check::ParamDecl>,
    vm: &Vm,
    name: String,
) -> Program {
    let lines = LineIndex::new(&text);
    let code_lines = code_lines(vm, &text, &lines);
    let function_lines = vm
        .program()
        .functions
        .iter()
        .zip(&vm.loaded().funcs)
        .filter(|(func, _)| !func.is_closure)
        .filter_map(|(func, loaded)| {
            let span = loaded.spans.first()?;
            let line = lines.line_col(&text, span.start.min(text.len())).line;
            Some((func.name.clone(), line))
        })
        .collect();
    let code_sizes = vm
        .loaded()
        .funcs
        .iter()
        .map(|func| func.code.len() as u32)
        .collect();
    let files = if files.is_empty() {
        vec![file_of(path.clone(), 0, &text, 1)]
    } else {
        files
    };
    Program {
        path,
        text,
        lines,
        files,
        code_lines,
        params,
        function_lines,
        code_sizes,
        name,
        photo_output: None,
        show_result: false,
    }
}

fn read_input(path: Option<&str>) -> Result<Rgba8, DapError> {
    match path {
        None => Rgba8::decode(BUNDLED_PHOTO)
            .map_err(|err| DapError::internal(format!("the bundled photo: {err}"))),
        Some(path) => Rgba8::load(Path::new(path))
            .map_err(|err| DapError::user(format!("launch `input`: {err}"))),
    }
}

/// `configurationDone`: the run starts, or the thread stops on entry.
pub fn configuration_done(shared: &Arc<Shared>) -> Handled {
    let mut session = shared.lock();
    if session.configured {
        return (
            Err(DapError::user("`configurationDone` came twice")),
            After::Nothing,
        );
    }
    session.configured = true;
    if session.state != RunState::Stopped {
        // Nothing to run (not launched, or the launch failed): nothing to start.
        return (Ok(json!({})), After::Nothing);
    }
    drop(session);
    (Ok(json!({})), After::Then(Box::new(start)))
}

/// Starts the launched thread: on its node first if the launch named one, then
/// stopped on entry or running.
fn start(shared: &Arc<Shared>) {
    let mut session = shared.lock();
    if let Some(attached) = session.attached.clone() {
        // An attached thread is stopped where the node stopped it.
        drop(session);
        shared.send(event(
            "stopped",
            json!({
                "reason": "pause",
                "description": format!("attached to thread {} on {}", attached.thread, attached.node),
                "threadId": THREAD_ID,
                "allThreadsStopped": true,
            }),
        ));
        return;
    }
    let on_entry = session.stop_on_entry;
    // A launch with `node` starts the thread there: it moves before its first
    // instruction (a node that cannot take it leaves it here, and the user is told).
    let start_on = session.start_on.take();
    let moved = start_on.map(|to| super::migrate::move_thread(&mut session, &to));
    drop(session);
    match moved {
        Some(Ok(moved)) => super::migrate::announce(shared, &moved),
        Some(Err(err)) => shared.send(output(
            "stderr",
            &format!("the thread starts here: {err}\n"),
        )),
        None => {}
    }
    let focus = shared.lock().focus;
    if on_entry {
        shared.send(event(
            "stopped",
            json!({ "reason": "entry", "threadId": focus, "allThreadsStopped": true }),
        ));
    } else if let Err(err) = resume(shared, Action::Continue, focus) {
        eprintln!("chop-dap: starting the run: {err}");
        shared.send(output("stderr", &format!("{err}\n")));
    }
}

/// `restart`: the program starts again from the beginning with the launch's
/// arguments (or the new ones the client sends), in the same session: breakpoints and
/// their settings stay, their hit counts start again. A running thread is stopped
/// first (quietly: no `exited` or `terminated`); a thread on a node is dropped there.
pub fn restart(shared: &Arc<Shared>, request: &Request) -> Handled {
    let restarted = (|| {
        if shared.lock().attached.is_some() {
            return Err(DapError::user(
                "an attached thread cannot start again: disconnect and attach again",
            ));
        }
        let raw = match request.arguments.get("arguments") {
            Some(args) if args.is_object() => args.clone(),
            _ => shared
                .lock()
                .launch_args
                .clone()
                .ok_or_else(|| DapError::user("no program was launched"))?,
        };
        let args: LaunchArgs = serde_json::from_value(raw.clone())
            .map_err(|err| DapError::user(format!("restart `arguments`: {err}")))?;
        stop_quietly(shared)?;
        {
            let mut session = shared.lock();
            session.threads.clear();
            session.bands = None;
            session.pauses.clear();
            session.node = None;
            session.cancel = Arc::new(AtomicBool::new(false));
            session.state = RunState::NotLaunched;
            session.exception = None;
            session.exception_seen = None;
            session.handles.clear();
            session.entry_checked = false;
            session.restarting = false;
            let session = &mut *session;
            for bp in session
                .breakpoints
                .values_mut()
                .chain(session.function_breakpoints.values_mut())
                .flatten()
            {
                bp.hits = 0;
            }
        }
        Ok((args, raw))
    })();
    let (args, raw) = match restarted {
        Ok(got) => got,
        Err(err) => return (Err(err), After::Nothing),
    };
    match prepare(shared, &args)
        .and_then(|launched| install(shared, launched, &args, raw).map_err(Failed::Refused))
    {
        Ok(()) => (Ok(json!({})), After::Then(Box::new(start))),
        Err(Failed::Refused(err)) | Err(Failed::DoesNotCompile(err)) => (
            Err(err),
            After::Then(Box::new(|shared: &Arc<Shared>| {
                shared.lock().state = RunState::Terminated;
                shared.send(event("terminated", json!({})));
            })),
        ),
    }
}

/// Ends the current run without telling the client it ended (a restart follows): a
/// running thread stops at its next safe point, bounded in time.
fn stop_quietly(shared: &Arc<Shared>) -> Result<(), DapError> {
    {
        let mut session = shared.lock();
        if session.state == RunState::NotLaunched {
            return Err(DapError::user("no program was launched"));
        }
        if session.state != RunState::Running {
            return Ok(());
        }
        session.restarting = true;
        session.cancel.store(true, Ordering::Relaxed);
        session.pause_all();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while shared.lock().state == RunState::Running {
        if std::time::Instant::now() > deadline {
            return Err(DapError::internal(
                "the run did not stop within 30 s for the restart",
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    Ok(())
}

/// Ends the run: a stopped thread is dropped here, a running one stops at its next safe
/// point (the run thread then says `exited` and `terminated`).
fn end_run(shared: &Arc<Shared>) -> bool {
    let mut session = shared.lock();
    session.cancel.store(true, Ordering::Relaxed);
    session.pause_all();
    if session.state == RunState::Stopped {
        session.threads.clear();
        session.bands = None;
        session.state = RunState::Terminated;
        return true;
    }
    false
}

/// `terminate`: the program ends; the session stays for `disconnect`.
pub fn terminate(shared: &Arc<Shared>) -> Handled {
    let dropped = end_run(shared);
    let then: Then = Box::new(move |shared: &Arc<Shared>| {
        if dropped {
            shared.send(event("exited", json!({ "exitCode": 1 })));
            shared.send(event("terminated", json!({})));
        }
    });
    (Ok(json!({})), After::Then(then))
}

/// `disconnect`: the program ends with the session.
pub fn disconnect(shared: &Arc<Shared>) -> Handled {
    end_run(shared);
    (Ok(json!({})), After::Exit)
}
