//! Where `run` and `restore` run a thread: here, paused and saved (`snapshot`), moved
//! to nodes (`--on`, `--hops`, `--migrate-after`; `--on embedded` starts a node inside
//! this process on loopback), or split over several (`--split`). `serve` and `nodes`
//! are in `node_admin`, the planner (`plan`, `--auto`) in `plan_cli`.

pub(crate) use crate::plan_cli::{auto_mode, follow, node_list, plan_job, print_plan, Planned};
use crate::Failure;
use chunkvm::diag::plural;
use chunkvm::exec::{RuntimeError, Stop, Value, Vm};
use chunkvm_node::migrate::{migrate, MigrateFailure, MigrateOptions, MigrateReport, SkipLines};
use chunkvm_node::prefetch::Prefetch;
use chunkvm_node::service::NodeService;
use chunkvm_node::split::{split, Member, SplitError, SplitEvent, SplitOptions};
use chunkvm_node::{
    Client, Identity, IdentityOptions, KnownNodes, Limits, Server, Token, TokenSource, Trust,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

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
    /// With --split: hand out no band before every member is connected (or lost), so
    /// the job starts evenly over all of them. Without it, the members that are ready
    /// start at once and a node that connects late takes what is left.
    #[arg(long, requires = "split")]
    wait_for_all: bool,
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
        /// `--wait-for-all`.
        wait_for_all: bool,
    },
}

/// Reads a node's address: `quic://HOST:PORT`, `embedded` or `local`.
pub(crate) fn parse_hop(text: &str) -> Result<Hop, Failure> {
    match text {
        "local" => Ok(Hop::Local),
        "embedded" => Ok(Hop::Embedded),
        _ => chunkvm_node::reach::node_address(text)
            .map(Hop::Node)
            .map_err(|why| Failure(format!("{why}, `embedded` or `local`"))),
    }
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
                wait_for_all: args.wait_for_all,
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
                wait_for_all,
            } => Mode::Split {
                members: members.clone(),
                token_file: token_file.clone(),
                prefetch: *prefetch,
                wait_for_all: *wait_for_all,
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
pub(crate) fn read_token(token_file: Option<&Path>) -> Result<Token, Failure> {
    chunkvm_node::reach::read_token(token_file)
        .map_err(|why| Failure(why.replace("token file:", "token with --token-file FILE:")))
}

/// Where a client remembers the nodes it trusts.
pub(crate) fn known_nodes() -> Result<KnownNodes, Failure> {
    chunkvm_node::reach::known_nodes().map_err(Failure)
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
        wait_for_all,
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
            wait_for_all: *wait_for_all,
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
