//! The commands that run and watch nodes: `chunkvm serve` (a node, until Ctrl-C or
//! SIGTERM), `chunkvm nodes` (their status) and `chunkvm threads` (the threads one
//! holds).

use crate::node_cli::{known_nodes, parse_hop, read_token, Hop};
use crate::Failure;
use chunkvm_node::service::NodeService;
use chunkvm_node::{
    default_state_dir, Client, Identity, IdentityOptions, Limits, Server, TokenSource, Trust,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// `chunkvm threads`.
#[derive(clap::Args, Debug)]
pub struct ThreadsArgs {
    /// The node: quic://HOST:PORT.
    #[arg(long, value_name = "NODE")]
    on: String,
    /// The node's token (a file holding it; default: the token of a node started on
    /// this machine).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = NodesFormat::Text)]
    format: NodesFormat,
}

/// `chunkvm threads --on NODE`: the node's thread table.
pub fn threads(args: &ThreadsArgs) -> Result<ExitCode, Failure> {
    let addr = match parse_hop(&args.on)? {
        Hop::Node(addr) => addr,
        _ => {
            return Err(Failure(format!(
                "--on {:?}: give a node as quic://HOST:PORT",
                args.on
            )))
        }
    };
    let token = read_token(args.token_file.as_deref())?;
    let known = known_nodes()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Failure(format!("cannot start the network runtime: {err}")))?;
    let listed = runtime.block_on(async {
        let ask = async {
            let client = Client::connect(addr, &token, &Trust::KnownNodes(known)).await?;
            let threads = client.threads().await?;
            client.close().await;
            Ok::<_, chunkvm_node::TransportError>(threads)
        };
        match tokio::time::timeout(Duration::from_secs(10), ask).await {
            Ok(got) => got.map_err(|err| Failure(format!("{}: {err}", args.on))),
            Err(_) => Err(Failure(format!("{}: no answer within 10 s", args.on))),
        }
    })?;
    if args.format == NodesFormat::Json {
        let rows: Vec<serde_json::Value> = listed
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "name": t.name,
                    "state": t.state.to_string(),
                    "owner": t.owner,
                    "instructions": t.instructions,
                    "result": t.result,
                    "output": t.output,
                })
            })
            .collect();
        crate::out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if listed.is_empty() {
        crate::out(&format!("{} holds no threads\n", args.on));
        return Ok(ExitCode::SUCCESS);
    }
    crate::out(&format!(
        "{:>6} {:<16} {:<34} {:>12} OWNER\n",
        "ID", "NAME", "STATE", "INSTRUCTIONS"
    ));
    for t in &listed {
        crate::out(&format!(
            "{:>6} {:<16} {:<34} {:>12} {}\n",
            t.id,
            if t.name.is_empty() { "-" } else { &t.name },
            t.state.to_string(),
            t.instructions,
            t.owner
        ));
        if !t.result.is_empty() {
            crate::out(&format!("       result: {}\n", t.result));
        }
        for line in &t.output {
            crate::out(&format!("       | {line}\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
