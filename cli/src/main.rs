//! `chunkvm`: run, check, disassemble, graph and format Chop programs.

#![warn(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a closed pipe would panic: use out/err, outln!/errln!"
)]

use chunkvm::diag::{has_names, plural, Diagnostic};
use chunkvm::driver::{analyze, Analyzed};
use chunkvm::exec::{Limits, RuntimeError, Value, Vm};
use chunkvm::modules::FsResolver;
use chunkvm::photo::ImageFormat;
use chunkvm::syntax::span::LineIndex;
use chunkvm::values::{read_value, Written};
use clap::{Parser, Subcommand};

mod bench;
mod bench_nodes;
mod cli_io;
mod node_admin;
mod node_cli;
mod photo_cli;
mod plan_cli;
mod source_cli;
use source_cli::{check, dump, fmt, graph, CheckFormat, GraphFormat};
mod thread_cli;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A photo run allocates a chunk per tile (8x8 pixels) of its input and of each
/// stage's output, and frees them all when it ends: on a 12-megapixel photo,
/// 375,000 allocations and frees. With glibc's allocator, whose freed memory went
/// back to the kernel and was faulted in and zeroed again by the next run, a
/// filter's fixed cost per pixel was a quarter higher (`chunkvm bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (libmimalloc-sys names no constant for it).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory stays with the process for 10 s (mimalloc's default is 10 ms):
/// a node or an editor's preview that runs again soon reuses it instead of
/// faulting in fresh pages. `MIMALLOC_PURGE_DELAY` in the environment wins.
fn hold_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option; mimalloc reads options atomically.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 10_000) };
    }
}

#[derive(Parser)]
#[command(
    name = "chunkvm",
    version,
    about = "The Chop language and the chunk VM: run, check, inspect and format photo-filter programs",
    long_about = "The Chop language and the chunk VM (SCVM).\n\nA Chop program compiles to one chunk per basic block; a running thread keeps all of its state in chunks, so it can be stopped at any safe point, saved, moved and resumed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// A folder of the library that `use "..."` looks in after the using file's
    /// folder (repeatable, searched in order; then $CHUNKVM_LIB, then the `filters/`
    /// folder of the installation).
    #[arg(long, global = true, value_name = "DIR")]
    lib: Vec<PathBuf>,
}

/// The library's search path: `--lib` folders, then `$CHUNKVM_LIB` (a list of folders,
/// as `PATH`), then the `filters/` folder beside the binary or one or two levels above
/// it (an installation, or `target/debug/chunkvm` in the repository), when it exists.
static LIB: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();

fn set_lib(dirs: Vec<PathBuf>) {
    let _ = LIB.set(chunkvm::modules::search_path(dirs));
}

/// The library's search path (see [`set_lib`]).
pub(crate) fn lib_path() -> &'static [PathBuf] {
    LIB.get().map(Vec::as_slice).unwrap_or_default()
}

/// Analyses the file at `path` whose text is `text`, with the files it uses (from the
/// file system and the library's search path); a file that uses nothing analyses alone.
pub(crate) fn analyze_file(path: &Path, text: &str) -> Analyzed {
    let analyzed = analyze(text);
    if analyzed.parsed.file.uses.is_empty() {
        return analyzed;
    }
    match chunkvm::modules::load_text(path, text.to_string(), &FsResolver, lib_path()) {
        Ok(graph) => chunkvm::driver::analyze_graph(graph),
        Err(_) => analyzed,
    }
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
enum Command {
    /// Run `fn main()` of a program, or another function with --fn; or a filter or
    /// pipeline over a photo; here or on a chunkvm node (--on).
    Run {
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        node: node_cli::NodeArgs,
    },
    /// Run a program or filter until the first safe point after N instructions and write
    /// the paused thread to a file in the chunk encoding (`chunkvm restore` resumes it).
    Snapshot {
        #[command(flatten)]
        run: RunArgs,
        /// Pause at the first safe point after this many instructions.
        #[arg(long, value_name = "N")]
        after: u64,
        /// The .chunks file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Resume a thread written by `chunkvm snapshot`, here or on a node (--on).
    Restore {
        /// The .chunks file.
        thread: PathBuf,
        /// Where to write the image, when the thread runs a filter or pipeline
        /// (default: restored.png).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print the number of instructions executed to standard error.
        #[arg(long)]
        stats: bool,
        /// Run everything in the interpreter: no hot block compiled to machine code.
        #[arg(long)]
        no_jit: bool,
        #[command(flatten)]
        node: node_cli::NodeArgs,
    },
    /// Start a chunkvm node: it runs threads that clients migrate to it.
    Serve(node_admin::ServeArgs),
    /// Measure nodes (round trip, bandwidth, speed, load) and a filter or pipeline run,
    /// and say where it would run quickest: here, on a node, or split (`run --auto`
    /// follows the plan).
    Plan {
        #[command(flatten)]
        run: RunArgs,
        /// The nodes: quic://HOST:PORT each.
        #[arg(long, required = true, value_name = "A,B,...", value_delimiter = ',')]
        nodes: Vec<String>,
        /// The nodes' token (a file holding it).
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Show nodes: status (idle, busy, dead), threads, chunks held, load, round-trip time.
    Nodes(node_admin::NodesArgs),
    /// List the threads a node holds: id, function, state, owner (a debugger attaches
    /// by id); parked threads that ended show their result and output.
    Threads(node_admin::ThreadsArgs),
    /// List the params of a file: type, default, range and doc.
    Params {
        /// The .chop file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Store a photo (PNG or JPEG) as a chunk graph.
    Import {
        /// The photo.
        photo: PathBuf,
        /// The .chunks file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write a level of a photo stored as chunks as a PNG or JPEG file.
    Export {
        /// The .chunks file.
        chunks: PathBuf,
        /// The file to write; its extension picks the format: .png, .jpg or .jpeg.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The level of the pyramid (0: full resolution).
        #[arg(long, value_name = "N", default_value_t = 0)]
        level: usize,
        /// JPEG quality, 1 to 100 (default 90), for a .jpg or .jpeg --out.
        #[arg(long, value_name = "Q")]
        quality: Option<u8>,
    },
    /// Check files and print every diagnostic.
    Check {
        /// The .chop files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Print the chunks of the compiled program: the disassembler.
    Dump {
        /// The .chop file.
        file: PathBuf,
        /// Only this function.
        #[arg(long = "fn", value_name = "NAME")]
        function: Option<String>,
    },
    /// Print the basic-block chunk graph of a function.
    Graph {
        /// The .chop file.
        file: PathBuf,
        /// The function.
        #[arg(long = "fn", value_name = "NAME")]
        function: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Format files canonically (in place), or check that they are.
    Fmt {
        /// The .chop files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not write; exit 1 if a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Measure the VM against native Rust on CPU-bound programs.
    Bench {
        /// Smaller sizes, for a quick look.
        #[arg(long)]
        quick: bool,
        /// Only the VM against native code on small programs (no filters).
        #[arg(long, conflicts_with = "filter")]
        vm_only: bool,
        /// Only this filter of the library.
        #[arg(long, value_name = "NAME")]
        filter: Option<String>,
        /// Migration instead: lazy against eager, migrated against local, on loopback.
        #[arg(long, conflicts_with_all = ["vm_only", "filter"])]
        nodes: bool,
    },
}

/// What `run` and `snapshot` run: a function of a program, or a filter or pipeline
/// over a photo.
#[derive(clap::Args, Debug)]
pub(crate) struct RunArgs {
    /// The .chop file.
    file: PathBuf,
    /// The function to call instead of `main`.
    #[arg(long = "fn", value_name = "NAME")]
    function: Option<String>,
    /// An argument for the function, in order (repeat for each parameter).
    #[arg(long = "arg", value_name = "VALUE", allow_hyphen_values = true)]
    args: Vec<String>,
    /// Set a `param`: NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Instruction budget of the thread.
    #[arg(long, value_name = "N")]
    budget: Option<u64>,
    /// Chunk quota of the thread (data chunks held at once).
    #[arg(long, value_name = "N")]
    quota: Option<usize>,
    /// Print the number of instructions executed to standard error.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    photo: photo_cli::PhotoArgs,
}

pub(crate) use crate::cli_io::out;

/// A failure to report: one message, exit status 1.
pub(crate) struct Failure(pub(crate) String);

impl<T: std::fmt::Display> From<T> for Failure {
    fn from(err: T) -> Failure {
        Failure(err.to_string())
    }
}

fn main() -> ExitCode {
    hold_freed_memory();
    let cli = Cli::parse();
    set_lib(cli.lib);
    let result = match cli.command {
        Command::Run { run, node } => {
            node_cli::Mode::of(&node).and_then(|mode| run_command(&run, &mode))
        }
        Command::Snapshot { run, after, out } => {
            run_command(&run, &node_cli::Mode::Snapshot { after, out })
        }
        Command::Restore {
            thread,
            output,
            stats,
            no_jit,
            node,
        } => node_cli::Mode::of(&node).and_then(|mode| {
            thread_cli::restore(&thread, output.as_deref(), stats, !no_jit, &mode)
        }),
        Command::Serve(args) => node_admin::serve(&args),
        Command::Nodes(args) => node_admin::nodes(&args),
        Command::Threads(args) => node_admin::threads(&args),
        Command::Plan {
            run,
            nodes,
            token_file,
            format,
        } => node_cli::auto_mode(&nodes, token_file).and_then(|mode| {
            photo_cli::plan(
                &run.file,
                &run.photo,
                &run.params,
                &mode,
                matches!(format, CheckFormat::Json),
            )
        }),
        Command::Check { files, format } => check(&files, format),
        Command::Params { file, format } => {
            photo_cli::params(&file, matches!(format, CheckFormat::Json))
        }
        Command::Import { photo, out } => photo_cli::import(&photo, &out),
        Command::Export {
            chunks,
            out,
            level,
            quality,
        } => photo_cli::export(&chunks, &out, level, quality),
        Command::Dump { file, function } => dump(&file, function.as_deref()),
        Command::Graph {
            file,
            function,
            format,
        } => graph(&file, &function, format),
        Command::Fmt { files, check } => fmt(&files, check),
        Command::Bench { quick, nodes, .. } if nodes => crate::bench_nodes::run_nodes(quick)
            .map(|()| ExitCode::SUCCESS)
            .map_err(Failure),
        Command::Bench {
            quick,
            vm_only,
            filter,
            ..
        } => bench(quick, vm_only, filter.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            crate::errln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `chunkvm bench`: fails on an unknown filter, a failed run, or a VM result
/// that differs from its native twin.
fn bench(quick: bool, vm_only: bool, filter: Option<&str>) -> Result<ExitCode, Failure> {
    crate::bench::check_filter_name(filter)?;
    if filter.is_none() {
        crate::bench::run_all(quick)?;
    }
    if !vm_only {
        crate::bench::run_filters(quick, filter)?;
        crate::bench::run_photo(quick, filter)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn read(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|err| {
        Failure(format!(
            "cannot read {}: {}",
            path.display(),
            io_reason(&err)
        ))
    })?;
    String::from_utf8(bytes).map_err(|err| {
        Failure(format!(
            "cannot read {}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            err.utf8_error().valid_up_to()
        ))
    })
}

use crate::cli_io::io_reason;

pub(crate) fn print_diagnostics(path: &Path, text: &str, diags: &[Diagnostic]) {
    let lines = LineIndex::new(text);
    let name = path.display().to_string();
    for diag in diags {
        crate::cli_io::err(&diag.render(&name, text, &lines));
    }
}

/// Prints the diagnostics of every file of an analysed program (of the file alone
/// when it uses nothing), each at its own file's path; how many are errors.
pub(crate) fn print_all_diagnostics(path: &Path, text: &str, analyzed: &Analyzed) -> usize {
    if analyzed.modules.is_none() {
        let diags = analyzed.diagnostics();
        print_diagnostics(path, text, &diags);
        return diags.iter().filter(|d| d.is_error()).count();
    }
    let mut errors = 0;
    for file in analyzed.file_diagnostics() {
        print_diagnostics(file.path, file.text, &file.diagnostics);
        errors += file.diagnostics.iter().filter(|d| d.is_error()).count();
    }
    errors
}

/// Builds a program, printing its diagnostics; `None` when it has errors.
pub(crate) fn build_or_report(
    path: &Path,
    text: &str,
) -> Option<(Analyzed, chunkvm::compile::Program)> {
    let analyzed = analyze_file(path, text);
    let program = compile_or_report(path, text, &analyzed)?;
    Some((analyzed, program))
}

/// Compiles a file analysed from `text`, printing its diagnostics; `None` when it
/// has errors.
pub(crate) fn compile_or_report(
    path: &Path,
    text: &str,
    analyzed: &Analyzed,
) -> Option<chunkvm::compile::Program> {
    match analyzed.compile() {
        Ok(program) => {
            print_all_diagnostics(path, text, analyzed);
            Some(program)
        }
        Err(diags) => {
            let errors = if analyzed.modules.is_some() {
                print_all_diagnostics(path, text, analyzed).max(1)
            } else {
                print_diagnostics(path, text, &diags);
                diags.iter().filter(|d| d.is_error()).count()
            };
            crate::errln!(
                "error: {} has {errors} error{}",
                path.display(),
                if errors == 1 { "" } else { "s" }
            );
            None
        }
    }
}

/// Prints a runtime error on standard error; an error that only says standard output
/// was closed (`chunkvm run x.chop | head -1`) prints nothing. The exit status is 1.
pub(crate) fn report_runtime_error(
    path: &Path,
    text: &str,
    analyzed: Option<&Analyzed>,
    err: &RuntimeError,
) -> ExitCode {
    if err.kind != chunkvm::exec::ErrorKind::OutputClosed {
        crate::cli_io::err(&render_runtime_error(path, text, analyzed, err));
    }
    ExitCode::FAILURE
}

/// The error, the source line with carets, and the stack, innermost first; a run of
/// frames repeating (a deep recursion) shows once, then how many more times it repeats.
/// A span in a file that the program uses is shown at that file's path and line.
pub(crate) fn render_runtime_error(
    path: &Path,
    text: &str,
    analyzed: Option<&Analyzed>,
    err: &RuntimeError,
) -> String {
    use chunkvm::syntax::span::Span;
    let place = |span: Span| -> (String, &str, Span) {
        match analyzed.and_then(|analyzed| analyzed.locate(span)) {
            Some((file, text, local)) => (file.display().to_string(), text, local),
            None => (path.display().to_string(), text, span),
        }
    };
    let mut out = String::new();
    let (name, text, span) = place(err.span);
    let lines = LineIndex::new(text);
    let start = lines.line_col(text, span.start);
    out.push_str(&format!(
        "{name}:{}:{}: runtime error: {}\n",
        start.line, start.col, err.message
    ));
    out.push_str(&chunkvm::diag::snippet(text, &lines, span));
    out.push_str("stack (innermost first):\n");
    let frame = |(func, span): &(String, Span)| {
        let (name, text, span) = place(*span);
        let lines = LineIndex::new(text);
        let pos = lines.line_col(text, span.start);
        format!("  at {func} ({name}:{}:{})\n", pos.line, pos.col)
    };
    let trace = &err.trace;
    let mut at = 0;
    while at < trace.len() {
        match repeat_at(trace, at) {
            Some((period, times)) => {
                for call in &trace[at..at + period] {
                    out.push_str(&frame(call));
                }
                let more = times - 1;
                if period == 1 {
                    out.push_str(&format!(
                        "  ... {} more call{} of `{}` from the same place\n",
                        thousands(more),
                        if more == 1 { "" } else { "s" },
                        trace[at].0
                    ));
                } else {
                    out.push_str(&format!(
                        "  ... the {period} calls above {} more time{}\n",
                        thousands(more),
                        if more == 1 { "" } else { "s" }
                    ));
                }
                at += period * times;
            }
            None => {
                out.push_str(&frame(&trace[at]));
                at += 1;
            }
        }
    }
    out
}

/// A run of frames starting at `at` that repeats at least 4 times in a row: its length
/// (1 to 4 frames: a recursion or a mutual recursion) and how many times it occurs.
fn repeat_at<T: PartialEq>(trace: &[T], at: usize) -> Option<(usize, usize)> {
    (1..=4).find_map(|period| {
        let block = trace.get(at..at + period)?;
        let times = trace[at..]
            .chunks_exact(period)
            .take_while(|chunk| *chunk == block)
            .count();
        (times >= 4).then_some((period, times))
    })
}

/// `9990` as `9,990`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (idx, ch) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[allow(clippy::too_many_arguments)]
/// `chunkvm run` and `chunkvm snapshot`: a filter or pipeline over a photo, or a function.
fn run_command(run_args: &RunArgs, mode: &node_cli::Mode) -> Result<ExitCode, Failure> {
    let RunArgs {
        file,
        function,
        args,
        params,
        budget,
        quota,
        stats,
        photo,
    } = run_args;
    if photo.is_set() {
        return photo_cli::run_photo(
            file,
            photo,
            params,
            *budget,
            *quota,
            *stats,
            function.is_some() || !args.is_empty(),
            mode,
        );
    }
    run(
        file,
        function.as_deref(),
        args,
        params,
        limits(*budget, *quota),
        *stats,
        photo.jit(),
        mode,
    )
}

#[allow(
    clippy::too_many_arguments,
    reason = "the options of `run`, each used once"
)]
fn run(
    path: &Path,
    function: Option<&str>,
    args: &[String],
    params: &[String],
    limits: Limits,
    stats: bool,
    jit: bool,
    mode: &node_cli::Mode,
) -> Result<ExitCode, Failure> {
    let text = read(path)?;
    let analyzed = analyze_file(path, &text);
    if function.is_none() && args.is_empty() && is_filter_file(&analyzed) {
        // No `main`, but filters: run them on the bundled photo.
        let file = photo_cli::Analysed {
            path,
            text: &text,
            analyzed: &analyzed,
        };
        let (mut args, format) = (photo_cli::PhotoArgs::default(), ImageFormat::Png);
        args.no_jit = !jit;
        return photo_cli::run_analysed(file, &args, format, params, limits, stats, mode);
    }
    let Some(program) = compile_or_report(path, &text, &analyzed) else {
        return Ok(ExitCode::FAILURE);
    };
    let name = function.unwrap_or("main");
    let found = program.function(name).filter(|(_, func)| !func.is_closure);
    let Some((func_idx, func)) = found else {
        let names = program.function_names();
        return Err(Failure(format!(
            "no function `{name}` in {}; {}",
            path.display(),
            has_names("it", &names, "functions")
        )));
    };
    if args.len() != func.params.len() {
        let wanted: Vec<String> = func
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        return Err(Failure(format!(
            "`{name}` takes {} argument{} ({}), but {} --arg {} given",
            func.params.len(),
            if func.params.len() == 1 { "" } else { "s" },
            wanted.join(", "),
            args.len(),
            if args.len() == 1 { "was" } else { "were" }
        )));
    }
    let mut values = Vec::new();
    for ((pname, ty), arg) in func.params.iter().zip(args) {
        let value = read_value(pname, ty, Written::Text(arg), None).map_err(|err| {
            Failure(format!(
                "--arg {arg:?} for parameter `{pname}` of `{name}`: {err}"
            ))
        })?;
        values.push(value);
    }
    let params = parse_params(path, &analyzed, params)?;
    let mut vm = Vm::new(program);
    vm.set_limits(limits);
    vm.set_jit(jit);
    for (pname, value) in params {
        vm.set_global(&pname, &value)?;
    }
    vm.start(func_idx, &values)?;
    let outcome = match node_cli::execute(&mut vm, mode)? {
        node_cli::Executed::Finished(outcome) => outcome,
        node_cli::Executed::Saved => return Ok(ExitCode::SUCCESS),
    };
    if stats {
        let done = vm.stats();
        crate::errln!(
            "{}, {}",
            plural(done.instructions, "instruction"),
            plural(done.chunks as u64, "chunk")
        );
    }
    match outcome {
        Ok(value) => {
            if function.is_some() && value != Value::Unit {
                out(&format!("{value}\n"));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => Ok(report_runtime_error(path, &text, Some(&analyzed), &err)),
    }
}

/// The limits of a thread: the defaults, with `--budget` and `--quota` when given.
pub(crate) fn limits(budget: Option<u64>, quota: Option<usize>) -> Limits {
    let mut limits = Limits::default();
    if let Some(budget) = budget {
        limits.instructions = budget;
    }
    if let Some(quota) = quota {
        limits.chunks = quota;
    }
    limits
}

/// Whether a file has filters or pipelines and no `main`.
fn is_filter_file(analyzed: &Analyzed) -> bool {
    use chunkvm::syntax::ast::ItemKind;
    let items = &analyzed.parsed.file.items;
    let has_main = items.iter().any(|item| item.name.name == "main");
    let has_filters = items.iter().any(|item| match &item.kind {
        ItemKind::Function(func) => func.is_filter,
        ItemKind::Pipeline(_) => true,
        ItemKind::Param(_) => false,
    });
    has_filters && !has_main
}

/// Reads `--param NAME=VALUE` options against the file's params: each name must
/// exist, each value fit the param's type and range ([`chunkvm::driver::read_param`]).
pub(crate) fn parse_params(
    path: &Path,
    analyzed: &Analyzed,
    params: &[String],
) -> Result<Vec<(String, Value)>, Failure> {
    let declared = analyzed.params();
    let mut out = Vec::new();
    for param in params {
        let (pname, value) = param
            .split_once('=')
            .ok_or_else(|| Failure(format!("--param {param:?}: write NAME=VALUE")))?;
        let pname = match chunkvm::driver::param_name(&declared, pname) {
            Ok(name) => name,
            Err(chunkvm::driver::ParamName::Ambiguous(names)) => {
                return Err(Failure(format!(
                    "--param {pname}: used files have several params `{pname}`: name one of {}",
                    names
                        .iter()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Err(chunkvm::driver::ParamName::Unknown) => pname.to_string(),
        };
        let Some(parsed) = chunkvm::driver::read_param(&declared, &pname, Written::Text(value))
        else {
            let names: Vec<&str> = declared.iter().map(|p| p.name.as_str()).collect();
            return Err(Failure(format!(
                "no param `{pname}` in {}; {}",
                path.display(),
                has_names("it", &names, "params")
            )));
        };
        let parsed = parsed.map_err(|err| Failure(format!("--param {pname}={value}: {err}")))?;
        out.push((pname, parsed));
    }
    Ok(out)
}
