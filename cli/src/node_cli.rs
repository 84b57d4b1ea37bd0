//! The node commands of `chunkvm`: `serve` (start a node), `nodes` (their status), and
//! where `run` and `restore` run a thread: here, paused and saved (`snapshot`), or
//! moved to nodes (`--on`, `--hops`, `--migrate-after`), with `--on embedded` starting
//! a node inside this process on loopback.

use crate::Failure;
use chunkvm::diag::plural;
use chunkvm::exec::{RuntimeError, Stop, Value, Vm};
use chunkvm_node::migrate::{migrate, MigrateFailure, MigrateOptions, MigrateReport, SkipLines};
use chunkvm_node::plan::{Choice, JobMeasure, NodeMeasure, Plan};
use chunkvm_node::prefetch::Prefetch;
use chunkvm_node::service::NodeService;
use chunkvm_node::split::{split, Member, SplitError, SplitEvent, SplitOptions};
use chunkvm_node::{
    default_state_dir, Client, Identity, IdentityOptions, KnownNodes, Limits, Server, Token,
    TokenSource, Trust,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where `run` and `restore` run the thread.
#[derive(clap::Args, Debug, Default)]
pub struct NodeArgs {
    /// Run on a chunkvm node: quic://HOST:PORT, or `embedded` for a node started inside
    /// this process on loopback. The thread starts here and migrates.
    #[arg(long, value_name = "NODE", conflicts_with_all = ["hops", "split"])]
    on: Option<String>,
    /// Move the thread along a route of nodes, one hop after another (quic://...,
    /// `embedded` or `local`), coming home at the end; each hop runs --migrate-after
    /// instructions (the last runs to the end).
    #[arg(
        long,
        value_name = "A,B,...",
        value_delimiter = ',',
        conflicts_with = "split"
    )]
    hops: Vec<String>,
    /// Split a filter or pipeline over several members (`local`, `embedded`,
    /// quic://HOST:PORT): each stage's rows in bands, each band run by one of them; a
    /// member lost mid-run leaves its bands to the others.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    split: Vec<String>,
    /// Measure --nodes and the job, and run where it is estimated quickest: here, on
    /// one node, or split over here and the nodes (`chunkvm plan` shows the estimates).
    #[arg(long, requires = "nodes", conflicts_with_all = ["on", "hops", "split"])]
    auto: bool,
    /// The nodes --auto chooses from: quic://HOST:PORT each.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    nodes: Vec<String>,
    /// Migrate after this many instructions here (live migration mid-run); with
    /// --hops, the instructions each hop runs.
    #[arg(long, value_name = "N")]
    migrate_after: Option<u64>,
    /// The access token of the nodes (a file holding it, as `chunkvm serve` writes it).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// What goes with the thread: `graph` (what its first safe points need, then
    /// fetches with what follows), `on-demand` (the Thread chunk only) or `eager`
    /// (everything it reaches).
    #[arg(long, value_enum, default_value_t = PrefetchArg::Graph)]
    prefetch: PrefetchArg,
}

/// `--prefetch`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PrefetchArg {
    /// The chunks the first safe points need, and more with each fetch.
    #[default]
    Graph,
    /// The Thread chunk only; every other chunk fetched when needed.
    OnDemand,
    /// Every chunk the thread reaches.
    Eager,
}

impl PrefetchArg {
    fn policy(self) -> Prefetch {
        match self {
            PrefetchArg::Graph => Prefetch::Graph,
            PrefetchArg::OnDemand => Prefetch::OnDemand,
            PrefetchArg::Eager => Prefetch::Eager,
        }
    }
}

/// One stop of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hop {
    /// This process.
    Local,
    /// A node started inside this process, on loopback.
    Embedded,
    /// A node at this address.
    Node(SocketAddr),
}

impl std::fmt::Display for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hop::Local => f.write_str("local"),
            Hop::Embedded => f.write_str("the embedded node"),
            Hop::Node(addr) => write!(f, "quic://{addr}"),
        }
    }
}

/// How a thread is run.
#[derive(Debug)]
pub enum Mode {
    /// Here, to its end.
    Local,
    /// Here until the first safe point after `after` instructions, then written to `out`.
    Snapshot {
        /// Instructions before the pause.
        after: u64,
        /// The file.
        out: PathBuf,
    },
    /// Along a route of nodes, then home.
    Remote {
        /// The hops, in order (the first may be preceded by a local stretch).
        route: Vec<Hop>,
        /// Instructions run here before the first migration, and on each hop but the last.
        migrate_after: Option<u64>,
        /// The nodes' token file.
        token_file: Option<PathBuf>,
        /// The prefetch policy.
        prefetch: Prefetch,
    },
    /// Where the offload planner says, among here and these nodes.
    Auto {
        /// The nodes.
        nodes: Vec<Hop>,
        /// The nodes' token file.
        token_file: Option<PathBuf>,
        /// The prefetch policy.
        prefetch: Prefetch,
    },
    /// A photo job split in bands over members (see [`chunkvm_node::split`]).
    Split {
        /// The members, in order (`local`, `embedded` or nodes).
        members: Vec<Hop>,
        /// The nodes' token file.
        token_file: Option<PathBuf>,
        /// The prefetch policy.
        prefetch: Prefetch,
    },
}

/// Reads a node's address: `quic://HOST:PORT`, `embedded` or `local`.
fn parse_hop(text: &str) -> Result<Hop, Failure> {
    match text {
        "local" => return Ok(Hop::Local),
        "embedded" => return Ok(Hop::Embedded),
        _ => {}
    }
    let rest = text.strip_prefix("quic://").ok_or_else(|| {
        Failure(format!(
            "{text:?}: a node is quic://HOST:PORT, `embedded` or `local`"
        ))
    })?;
    use std::net::ToSocketAddrs;
    let addr = rest
        .to_socket_addrs()
        .map_err(|err| Failure(format!("{text:?}: {err}")))?
        .next()
        .ok_or_else(|| Failure(format!("{text:?}: the host has no address")))?;
    Ok(Hop::Node(addr))
}

impl Mode {
    /// The mode the options of `run` or `restore` ask for.
    pub fn of(args: &NodeArgs) -> Result<Mode, Failure> {
        if args.auto {
            return Ok(Mode::Auto {
                nodes: node_list(&args.nodes)?,
                token_file: args.token_file.clone(),
                prefetch: args.prefetch.policy(),
            });
        }
        if !args.nodes.is_empty() {
            return Err(Failure("--nodes is for --auto".into()));
        }
        if !args.split.is_empty() {
            if args.migrate_after.is_some() {
                return Err(Failure(
                    "--migrate-after is for --on and --hops: a --split band runs whole where it goes"
                        .into(),
                ));
            }
            return Ok(Mode::Split {
                members: args
                    .split
                    .iter()
                    .map(|member| parse_hop(member))
                    .collect::<Result<_, _>>()?,
                token_file: args.token_file.clone(),
                prefetch: args.prefetch.policy(),
            });
        }
        let route: Vec<Hop> = match (&args.on, args.hops.as_slice()) {
            (Some(on), _) => vec![parse_hop(on)?],
            (None, []) => Vec::new(),
            (None, hops) => hops
                .iter()
                .map(|hop| parse_hop(hop))
                .collect::<Result<_, _>>()?,
        };
        if route.is_empty() {
            if args.migrate_after.is_some() || args.token_file.is_some() {
                return Err(Failure(
                    "--migrate-after and --token-file are for runs on nodes: add --on NODE or --hops A,B".into(),
                ));
            }
            return Ok(Mode::Local);
        }
        if route.len() > 1 && args.migrate_after.is_none() {
            return Err(Failure(
                "--hops needs --migrate-after N: the instructions each hop runs".into(),
            ));
        }
        Ok(Mode::Remote {
            route,
            migrate_after: args.migrate_after,
            token_file: args.token_file.clone(),
            prefetch: args.prefetch.policy(),
        })
    }

    /// The same mode, migrating after `n` instructions here when it did not say when.
    pub fn migrating_after(&self, n: Option<u64>) -> Mode {
        match self {
            Mode::Local => Mode::Local,
            Mode::Snapshot { after, out } => Mode::Snapshot {
                after: *after,
                out: out.clone(),
            },
            Mode::Remote {
                route,
                migrate_after,
                token_file,
                prefetch,
            } => Mode::Remote {
                route: route.clone(),
                migrate_after: migrate_after.or(n.filter(|n| *n > 0)),
                token_file: token_file.clone(),
                prefetch: *prefetch,
            },
            Mode::Auto {
                nodes,
                token_file,
                prefetch,
            } => Mode::Auto {
                nodes: nodes.clone(),
                token_file: token_file.clone(),
                prefetch: *prefetch,
            },
            Mode::Split {
                members,
                token_file,
                prefetch,
            } => Mode::Split {
                members: members.clone(),
                token_file: token_file.clone(),
                prefetch: *prefetch,
            },
        }
    }

    /// Whether the thread runs here, to its end.
    pub fn is_local(&self) -> bool {
        matches!(self, Mode::Local)
    }

    /// Whether the thread goes to nodes.
    pub fn is_remote(&self) -> bool {
        matches!(self, Mode::Remote { .. })
    }

    /// Whether the planner chooses where the job runs.
    pub fn is_auto(&self) -> bool {
        matches!(self, Mode::Auto { .. })
    }

    /// Whether a photo job is split over members.
    pub fn is_split(&self) -> bool {
        matches!(self, Mode::Split { .. })
    }
}

/// What became of a thread.
pub enum Executed {
    /// It ran to its end (here or on nodes): its value or its error.
    Finished(Result<Value, RuntimeError>),
    /// It was paused and written to a file.
    Saved,
}

/// Runs a started thread as `mode` says.
pub fn execute(vm: &mut Vm, mode: &Mode) -> Result<Executed, Failure> {
    match mode {
        Mode::Local => Ok(Executed::Finished(vm.run_to_end())),
        Mode::Snapshot { after, out } => snapshot(vm, *after, out),
        Mode::Split { .. } | Mode::Auto { .. } => Err(Failure(
            "--split and --auto place a filter or pipeline over a photo (give --input PHOTO); a program is one thread: run it elsewhere with --on or --hops".into(),
        )),
        Mode::Remote {
            route,
            migrate_after,
            token_file,
            prefetch,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|err| Failure(format!("cannot start the network runtime: {err}")))?;
            runtime.block_on(travel(
                vm,
                route,
                *migrate_after,
                token_file.as_deref(),
                *prefetch,
            ))
        }
    }
}

/// Runs here until the first safe point after `n` instructions; false if it finished.
fn run_for(vm: &mut Vm, n: u64) -> Result<Option<Value>, RuntimeError> {
    vm.stop_after(n.max(1));
    loop {
        match vm.run()? {
            Stop::SafePoint => return Ok(None),
            Stop::Finished(value) => return Ok(Some(value)),
            _ => continue,
        }
    }
}

/// `chunkvm snapshot`: pauses the thread and writes it.
fn snapshot(vm: &mut Vm, after: u64, out: &Path) -> Result<Executed, Failure> {
    match run_for(vm, after) {
        Err(err) => return Ok(Executed::Finished(Err(err))),
        Ok(Some(_)) => {
            return Err(Failure(format!(
                "the thread finished after {}, before --after {after}: there is no paused thread to write",
                chunkvm::diag::plural(vm.instructions(), "instruction")
            )))
        }
        Ok(None) => {}
    }
    let bytes = vm
        .snapshot()
        .map_err(|err| Failure(format!("cannot write the thread as chunks: {err}")))?;
    chunkvm::photo::write_atomic(out, &bytes)?;
    crate::errln!(
        "paused after {} ({} bytes of chunks)",
        chunkvm::diag::plural(vm.instructions(), "instruction"),
        bytes.len()
    );
    crate::out(&format!("{}\n", out.display()));
    Ok(Executed::Saved)
}

/// A node started inside this process, on loopback, with a state of its own in a
/// temporary folder.
struct Embedded {
    server: Server,
    service: Arc<NodeService>,
    token: Token,
    fingerprint: chunkvm_node::Fingerprint,
    _state: TempDir,
}

/// A folder removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_embedded() -> Result<Embedded, Failure> {
    let dir = std::env::temp_dir().join(format!(
        "chunkvm-embedded-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let state = TempDir(dir);
    let identity = Identity::load_or_create(
        &state.0,
        &IdentityOptions {
            name: Some("embedded".into()),
            token: TokenSource::default(),
        },
    )
    .map_err(|err| Failure(format!("the embedded node: {err}")))?;
    let service = Arc::new(NodeService::new(identity.node_id()));
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let server = Server::bind(addr, &identity, service.clone(), Limits::default())
        .map_err(|err| Failure(format!("the embedded node: {err}")))?;
    Ok(Embedded {
        fingerprint: identity.fingerprint(),
        token: identity.token().clone(),
        server,
        service,
        _state: state,
    })
}

/// The token for nodes: `--token-file`, else the token of a node started on this
/// machine with the default state folder.
fn read_token(token_file: Option<&Path>) -> Result<Token, Failure> {
    let path = match token_file {
        Some(path) => path.to_path_buf(),
        None => default_state_dir()
            .map_err(|err| Failure(err.to_string()))?
            .join("token"),
    };
    Token::read(&path).map_err(|err| {
        Failure(format!(
            "{err} (give the node's token with --token-file FILE: `chunkvm serve` prints its path)"
        ))
    })
}

/// Where a client remembers the nodes it trusts.
fn known_nodes() -> Result<KnownNodes, Failure> {
    let dir = default_state_dir().map_err(|err| Failure(err.to_string()))?;
    std::fs::create_dir_all(&dir)
        .map_err(|err| Failure(format!("cannot create {}: {err}", dir.display())))?;
    Ok(KnownNodes::in_dir(&dir))
}

/// Moves the thread along `route` and home; any hop that fails leaves the thread here,
/// where it goes on.
async fn travel(
    vm: &mut Vm,
    route: &[Hop],
    migrate_after: Option<u64>,
    token_file: Option<&Path>,
    prefetch: Prefetch,
) -> Result<Executed, Failure> {
    let mut embedded = None;
    // A first stretch here: the thread starts locally and migrates mid-run.
    if let Some(n) = migrate_after {
        match run_for(vm, n) {
            Err(err) => return Ok(Executed::Finished(Err(err))),
            Ok(Some(value)) => {
                crate::errln!(
                    "note: the thread finished here after {}, before it could migrate",
                    chunkvm::diag::plural(vm.instructions(), "instruction")
                );
                return Ok(Executed::Finished(Ok(value)));
            }
            Ok(None) => {}
        }
    }
    for (idx, hop) in route.iter().enumerate() {
        let last = idx + 1 == route.len();
        let run_for_here = if last { None } else { migrate_after };
        if *hop == Hop::Local {
            match run_for_here {
                Some(n) => match run_for(vm, n) {
                    Err(err) => return Ok(Executed::Finished(Err(err))),
                    Ok(Some(value)) => return Ok(Executed::Finished(Ok(value))),
                    Ok(None) => continue,
                },
                None => return Ok(Executed::Finished(vm.run_to_end())),
            }
        }
        let connected = match hop {
            Hop::Embedded => {
                if embedded.is_none() {
                    embedded = Some(start_embedded()?);
                }
                match &embedded {
                    Some(node) => {
                        Client::connect(
                            node.server.local_addr(),
                            &node.token,
                            &Trust::Pinned(node.fingerprint),
                        )
                        .await
                    }
                    None => continue,
                }
            }
            Hop::Node(addr) => {
                let token = read_token(token_file)?;
                Client::connect(*addr, &token, &Trust::KnownNodes(known_nodes()?)).await
            }
            Hop::Local => continue,
        };
        let client = match connected {
            Ok(client) => client,
            Err(err) => {
                crate::errln!("warning: cannot reach {hop}: {err}; the thread goes on here");
                continue;
            }
        };
        let options = MigrateOptions {
            prefetch,
            run_for: run_for_here,
        };
        let result = migrate(&client, vm, &options, |line| {
            crate::out(&format!("{line}\n"))
        })
        .await;
        client.close().await;
        match result {
            Ok(report) => {
                report_migration(hop, &report);
                // A thread handed back is a new VM: its lines go to standard output.
                vm.set_output(Box::new(std::io::stdout()));
                if let Some(value) = report.finished {
                    stop_embedded(embedded.take()).await;
                    return Ok(Executed::Finished(Ok(value)));
                }
            }
            Err(err) => match &err.failure {
                MigrateFailure::Program(message) => {
                    stop_embedded(embedded.take()).await;
                    return Err(Failure(format!("on {hop}: {message}")));
                }
                _ => {
                    crate::errln!("warning: {hop}: {err}; the thread goes on here");
                    if err.lines_delivered() > 0 {
                        vm.set_output(Box::new(SkipLines::new(
                            err.lines_delivered(),
                            std::io::stdout(),
                        )));
                    }
                }
            },
        }
    }
    stop_embedded(embedded.take()).await;
    Ok(Executed::Finished(vm.run_to_end()))
}

/// What a split run made: the output image (its chunks in the thread's store) and the
/// instructions of its bands; or the runtime error of a band.
pub type SplitOutcome = Result<(Value, u64), RuntimeError>;

/// Runs the photo job of `vm` (started, not yet run) split over the members of a
/// [`Mode::Split`]; prints a warning per member lost and, at the end, a line per member.
pub fn split_run(vm: &mut Vm, mode: &Mode) -> Result<SplitOutcome, Failure> {
    let Mode::Split {
        members,
        token_file,
        prefetch,
    } = mode
    else {
        return Err(Failure("not a split run".into()));
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| Failure(format!("cannot start the network runtime: {err}")))?;
    runtime.block_on(async {
        let mut embedded = None;
        let mut token = None;
        let mut list = Vec::new();
        for hop in members {
            list.push(match hop {
                Hop::Local => Member::Local,
                Hop::Embedded => {
                    if embedded.is_none() {
                        embedded = Some(start_embedded()?);
                    }
                    let Some(node) = &embedded else { continue };
                    Member::Node {
                        label: "embedded".into(),
                        addr: node.server.local_addr(),
                        token: node.token.clone(),
                        trust: Trust::Pinned(node.fingerprint),
                    }
                }
                Hop::Node(addr) => {
                    if token.is_none() {
                        token = Some(read_token(token_file.as_deref())?);
                    }
                    let Some(token) = &token else { continue };
                    Member::Node {
                        label: hop.to_string(),
                        addr: *addr,
                        token: token.clone(),
                        trust: Trust::KnownNodes(known_nodes()?),
                    }
                }
            });
        }
        let options = SplitOptions {
            prefetch: *prefetch,
            ..SplitOptions::default()
        };
        let result = split(vm, &list, &options, |event| match event {
            SplitEvent::Warning(line) => crate::errln!("{line}"),
            SplitEvent::Line(line) => crate::out(&format!("{line}\n")),
            SplitEvent::BandDone { .. } => {}
        })
        .await;
        stop_embedded(embedded.take()).await;
        match result {
            Ok(report) => {
                for member in &report.members {
                    crate::errln!(
                        "split: {}: {} done, {}, {:.0} ms{}",
                        member.label,
                        plural(member.bands, "band"),
                        plural(member.instructions, "instruction"),
                        member.busy.as_secs_f64() * 1e3,
                        if member.lost.is_some() { " (lost)" } else { "" }
                    );
                }
                Ok(Ok((report.value, report.instructions)))
            }
            Err(SplitError::Runtime(err)) => Ok(Err(err)),
            Err(err) => Err(Failure(err.to_string())),
        }
    })
}

/// Stops the embedded node, if one was started.
async fn stop_embedded(node: Option<Embedded>) {
    if let Some(node) = node {
        node.service.stop();
        node.server.shutdown().await;
    }
}

/// One line on standard error saying what moved.
fn report_migration(hop: &Hop, report: &MigrateReport) {
    crate::errln!(
        "migrated to {hop}: {} ({} bytes) sent up front, {} ({} bytes) fetched on demand in {}, {} ({} bytes) prefetched, {} ({} bytes) sent back; first instruction there {:.2} ms after the request; {} there; {:.0} ms in all",
        plural(report.sent_ahead.chunks, "chunk"),
        report.sent_ahead.bytes,
        plural(report.fetched.chunks, "chunk"),
        report.fetched.bytes,
        plural(report.round_trips, "round trip"),
        plural(report.prefetched.chunks, "chunk"),
        report.prefetched.bytes,
        plural(report.returned.chunks, "chunk"),
        report.returned.bytes,
        report.to_first_instruction.as_secs_f64() * 1e3,
        plural(report.instructions, "instruction"),
        report.total.as_secs_f64() * 1e3,
    );
}

/// `--on` on a photo: the preview runs here first, at a small level, as the editor's
/// preview does; its instruction count scaled to the level asked for is the estimate of
/// the run that migrates.
pub fn preview(
    analyzed: &chunkvm::driver::Analyzed,
    program: &chunkvm::compile::Program,
    target: Option<&chunkvm::photo::Target>,
    input: &chunkvm::photo::Input<'_>,
    options: &chunkvm::photo::RunOptions,
    (width, height): (u32, u32),
) -> Result<Option<u64>, Failure> {
    // The editor's preview level, and at least half size: a small photo previews too.
    let level = chunkvm::photo::preview_level(width, height).max(options.level + 1);
    if level >= chunkvm::photo::level_count(width, height) {
        return Ok(None);
    }
    let preview = chunkvm::photo::RunOptions {
        level,
        threads: 1,
        ..options.clone()
    };
    let started = Instant::now();
    let compiled = chunkvm::photo::Compiled::of(analyzed, program.clone());
    let output = chunkvm::photo::run_input(compiled, target, input, &preview, &|_, _| {})?;
    let (pw, ph) = chunkvm::photo::level_size(width, height, level);
    let (fw, fh) = chunkvm::photo::level_size(width, height, options.level);
    let scale = (fw as f64 * fh as f64) / (pw as f64 * ph as f64).max(1.0);
    crate::errln!(
        "preview here at level {level} ({pw}x{ph}): {} in {:.0} ms; level {} ({fw}x{fh}) should take about {} instructions",
        chunkvm::diag::plural(output.instructions, "instruction"),
        started.elapsed().as_secs_f64() * 1e3,
        options.level,
        (output.instructions as f64 * scale) as u64,
    );
    Ok(Some((output.instructions as f64 * scale) as u64))
}

/// `chunkvm serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The UDP address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// The node's name (kept in its state folder from the first start on).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The node's state folder: certificate, token, name (default: the per-user state
    /// folder, e.g. ~/.local/state/chunkvm).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Accept this token (a file holding it; nodes of one cluster share one) instead of
    /// the node's own.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

/// `chunkvm serve`: runs a node until Ctrl-C or SIGTERM; threads it holds then are
/// handed back to their clients.
pub fn serve(args: &ServeArgs) -> Result<ExitCode, Failure> {
    let dir = match &args.state {
        Some(dir) => dir.clone(),
        None => default_state_dir().map_err(|err| Failure(err.to_string()))?,
    };
    let identity = Identity::load_or_create(
        &dir,
        &IdentityOptions {
            name: args.name.clone(),
            token: match &args.token_file {
                Some(path) => TokenSource::File(path.clone()),
                None => TokenSource::default(),
            },
        },
    )
    .map_err(|err| Failure(err.to_string()))?;
    if let Some(name) = &args.name {
        if name != identity.name() {
            crate::errln!(
                "note: this node is `{}` (its state in {} keeps the name of its first start)",
                identity.name(),
                dir.display()
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| Failure(format!("cannot start the network runtime: {err}")))?;
    runtime.block_on(async {
        let service = Arc::new(NodeService::new(identity.node_id()));
        let server = Server::bind(args.listen, &identity, service.clone(), Limits::default())
            .map_err(|err| Failure(format!("cannot listen on {}: {err}", args.listen)))?;
        let signals = StopSignals::listen();
        crate::out(&format!(
            "node {} listening on quic://{}\nfingerprint {}\ntoken file {}\n",
            identity.name(),
            server.local_addr(),
            identity.fingerprint(),
            identity.token_path().display()
        ));
        signals.wait().await;
        crate::errln!("stopping: handing the threads held back to their clients");
        service.stop();
        // Running threads stop at their next safe point and go back to their clients.
        let _ = tokio::time::timeout(Duration::from_secs(30), service.wait_idle()).await;
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C and SIGTERM, listened for from now on (before the node says it is up, so that
/// a signal sent right after is not the default one that kills the process).
struct StopSignals {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn listen() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Some((term, int)),
                _ => None,
            };
            StopSignals { signals }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// Waits for one of them.
    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = self.signals {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `chunkvm nodes`.
#[derive(clap::Args, Debug)]
pub struct NodesArgs {
    /// The nodes: quic://HOST:PORT each.
    #[arg(required = true, value_name = "NODE")]
    nodes: Vec<String>,
    /// The nodes' token (a file holding it).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = NodesFormat::Text)]
    format: NodesFormat,
}

/// `chunkvm nodes --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NodesFormat {
    /// A table.
    Text,
    /// JSON, for tools.
    Json,
}

/// `chunkvm nodes`: each node's status, or `dead` when it cannot be reached.
pub fn nodes(args: &NodesArgs) -> Result<ExitCode, Failure> {
    let addrs: Vec<(String, SocketAddr)> = args
        .nodes
        .iter()
        .map(|text| match parse_hop(text)? {
            Hop::Node(addr) => Ok((text.clone(), addr)),
            _ => Err(Failure(format!(
                "{text:?}: give a node as quic://HOST:PORT"
            ))),
        })
        .collect::<Result<_, _>>()?;
    let token = read_token(args.token_file.as_deref())?;
    let known = known_nodes()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Failure(format!("cannot start the network runtime: {err}")))?;
    let rows = runtime.block_on(async {
        let mut rows = Vec::new();
        for (text, addr) in &addrs {
            let probe = async {
                let client = Client::connect(*addr, &token, &Trust::KnownNodes(known.clone())).await?;
                let started = Instant::now();
                client.ping(1).await?;
                let rtt = started.elapsed();
                let status = client.status().await?;
                client.close().await;
                Ok::<_, chunkvm_node::TransportError>((status, rtt))
            };
            let row = match tokio::time::timeout(Duration::from_secs(5), probe).await {
                Ok(Ok((status, rtt))) => serde_json::json!({
                    "node": text,
                    "name": status.name,
                    "status": if status.status.busy || status.status.load > 0 { "busy" } else { "idle" },
                    "threads": status.status.threads,
                    "chunks": status.status.chunks_held,
                    "load": status.status.load,
                    "rtt_ms": (rtt.as_secs_f64() * 1e3 * 1000.0).round() / 1000.0,
                }),
                Ok(Err(err)) => serde_json::json!({"node": text, "status": "dead", "error": err.to_string()}),
                Err(_) => serde_json::json!({"node": text, "status": "dead", "error": "no answer within 5 s"}),
            };
            rows.push(row);
        }
        rows
    });
    if args.format == NodesFormat::Json {
        crate::out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    crate::out(&format!(
        "{:<28} {:<12} {:<6} {:>7} {:>8} {:>5} {:>9}\n",
        "NODE", "NAME", "STATUS", "THREADS", "CHUNKS", "LOAD", "RTT"
    ));
    for row in &rows {
        let text = |key: &str| match &row[key] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            other => other.to_string(),
        };
        crate::out(&format!(
            "{:<28} {:<12} {:<6} {:>7} {:>8} {:>5} {:>9}\n",
            text("node"),
            text("name"),
            text("status"),
            text("threads"),
            text("chunks"),
            text("load"),
            if row["rtt_ms"].is_null() {
                "-".to_string()
            } else {
                format!("{} ms", text("rtt_ms"))
            },
        ));
        if let Some(err) = row["error"].as_str() {
            crate::errln!("{}: {err}", text("node"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The mode of `chunkvm plan --nodes A,B`: `--auto` over those nodes.
pub fn auto_mode(nodes: &[String], token_file: Option<PathBuf>) -> Result<Mode, Failure> {
    Ok(Mode::Auto {
        nodes: node_list(nodes)?,
        token_file,
        prefetch: Prefetch::Graph,
    })
}

/// Reads `--nodes`: quic://HOST:PORT each.
fn node_list(nodes: &[String]) -> Result<Vec<Hop>, Failure> {
    nodes
        .iter()
        .map(|text| match parse_hop(text)? {
            hop @ Hop::Node(_) => Ok(hop),
            _ => Err(Failure(format!(
                "{text:?}: give a node as quic://HOST:PORT"
            ))),
        })
        .collect()
}

/// What the planner measured and chose.
pub struct Planned {
    /// This machine's instructions per second.
    pub local_speed: f64,
    /// Each node reached.
    pub nodes: Vec<(Hop, NodeMeasure)>,
    /// The job.
    pub job: JobMeasure,
    /// The choice and the estimates.
    pub plan: Plan,
}

/// Measures this machine and `nodes` (a node that cannot be measured is left out,
/// with a warning) and plans `job`.
pub fn plan_job(
    nodes: &[Hop],
    token_file: Option<&Path>,
    job: JobMeasure,
) -> Result<Planned, Failure> {
    let local_speed = chunkvm_node::plan::local_speed().map_err(Failure)?;
    let token = read_token(token_file)?;
    let known = known_nodes()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| Failure(format!("cannot start the network runtime: {err}")))?;
    let measured = runtime.block_on(async {
        let mut measured = Vec::new();
        for hop in nodes {
            let Hop::Node(addr) = hop else { continue };
            let label = hop.to_string();
            let probe = async {
                let client = Client::connect(*addr, &token, &Trust::KnownNodes(known.clone()))
                    .await
                    .map_err(|err| err.to_string())?;
                let measure = chunkvm_node::plan::measure(&client, &label).await;
                client.close().await;
                measure
            };
            match tokio::time::timeout(Duration::from_secs(30), probe).await {
                Ok(Ok(measure)) => measured.push((hop.clone(), measure)),
                Ok(Err(err)) => crate::errln!("warning: {label}: cannot measure it: {err}"),
                Err(_) => crate::errln!("warning: {label}: no measurement within 30 s"),
            }
        }
        measured
    });
    let measures: Vec<NodeMeasure> = measured.iter().map(|(_, m)| m.clone()).collect();
    let plan = chunkvm_node::plan::decide(&job, local_speed, &measures);
    Ok(Planned {
        local_speed,
        nodes: measured,
        job,
        plan,
    })
}

/// The mode a plan chose, with one line on standard error saying so.
pub fn follow(planned: &Planned, mode: &Mode) -> Mode {
    let (token_file, prefetch) = match mode {
        Mode::Auto {
            token_file,
            prefetch,
            ..
        } => (token_file.clone(), *prefetch),
        _ => (None, Prefetch::Graph),
    };
    let chosen = match &planned.plan.choice {
        Choice::Local => Mode::Local,
        Choice::Node(index) => match planned.nodes.get(*index) {
            Some((hop, _)) => Mode::Remote {
                route: vec![hop.clone()],
                migrate_after: None,
                token_file,
                prefetch,
            },
            None => Mode::Local,
        },
        Choice::Split => {
            let mut members = vec![Hop::Local];
            members.extend(planned.nodes.iter().map(|(hop, _)| hop.clone()));
            Mode::Split {
                members,
                token_file,
                prefetch,
            }
        }
    };
    let label = planned
        .plan
        .estimates
        .iter()
        .find(|e| e.choice == planned.plan.choice)
        .map(|e| (e.label.clone(), e.seconds))
        .unwrap_or_else(|| ("local".into(), 0.0));
    crate::errln!("plan: {} (estimated {:.0} ms)", label.0, label.1 * 1e3);
    chosen
}

/// Prints a plan: the choice and the table behind it (or JSON).
pub fn print_plan(planned: &Planned, json: bool) {
    let choice = planned
        .plan
        .estimates
        .iter()
        .find(|e| e.choice == planned.plan.choice)
        .map_or_else(|| "local".to_string(), |e| e.label.clone());
    if json {
        let value = serde_json::json!({
            "choice": choice,
            "job": {
                "instructions": planned.job.instructions,
                "bytes": planned.job.bytes,
                "stages": planned.job.stages,
            },
            "local": { "instructions_per_s": planned.local_speed },
            "nodes": planned.nodes.iter().map(|(_, m)| serde_json::json!({
                "node": m.label,
                "rtt_ms": m.rtt * 1e3,
                "bandwidth_bytes_per_s": m.bandwidth,
                "instructions_per_s": m.speed,
                "load": m.load,
            })).collect::<Vec<_>>(),
            "estimates": planned.plan.estimates.iter().map(|e| serde_json::json!({
                "run": e.label,
                "ms": e.seconds * 1e3,
            })).collect::<Vec<_>>(),
        });
        crate::out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ));
        return;
    }
    crate::out(&format!(
        "job: about {:.0} instructions, {:.0} bytes to move for a run elsewhere, {}\n",
        planned.job.instructions,
        planned.job.bytes,
        plural(planned.job.stages as u64, "stage")
    ));
    crate::out(&format!(
        "{:<28} {:>10} {:>14} {:>14} {:>5}\n",
        "MEASURED", "RTT", "BANDWIDTH", "INSTR/S", "LOAD"
    ));
    crate::out(&format!(
        "{:<28} {:>10} {:>14} {:>14.3e} {:>5}\n",
        "local", "-", "-", planned.local_speed, 0
    ));
    for (_, m) in &planned.nodes {
        crate::out(&format!(
            "{:<28} {:>7.2} ms {:>10.0} B/s {:>14.3e} {:>5}\n",
            m.label,
            m.rtt * 1e3,
            m.bandwidth,
            m.speed,
            m.load
        ));
    }
    crate::out(&format!("{:<28} {:>12}\n", "RUN", "ESTIMATE"));
    for e in &planned.plan.estimates {
        crate::out(&format!("{:<28} {:>9.1} ms\n", e.label, e.seconds * 1e3));
    }
    crate::out(&format!("choice: {choice}\n"));
}
