//! The offload planner on the command line: `chunkvm plan` and `run --auto`.

use crate::node_cli::*;
use crate::Failure;
use chunkvm::diag::plural;
use chunkvm_node::plan::{Choice, JobMeasure, NodeMeasure, Plan};
use chunkvm_node::prefetch::Prefetch;
use chunkvm_node::{Client, Trust};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The mode of `chunkvm plan --nodes A,B`: `--auto` over those nodes.
pub fn auto_mode(nodes: &[String], token_file: Option<PathBuf>) -> Result<Mode, Failure> {
    Ok(Mode::Auto {
        nodes: node_list(nodes)?,
        token_file,
        prefetch: Prefetch::Graph,
    })
}

/// Reads `--nodes`: quic://HOST:PORT each.
pub(crate) fn node_list(nodes: &[String]) -> Result<Vec<Hop>, Failure> {
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
                wait_for_all: false,
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
