//! The offload planner: where a photo job runs fastest, here, on one node or
//! split over here and the nodes.
//!
//! [`measure`] measures a node: its round-trip time (the best of a few
//! pings), its speed (instructions per second of a calibration program
//! migrated there, [`CALIBRATION`]), the bandwidth to it (the bytes of that
//! migration over its time less the compute and a round trip) and its load
//! (from its status). [`decide`] is pure: given the job (its instructions and
//! the bytes a remote run moves) and the measurements, it estimates
//!
//! * here: `instructions / local speed`;
//! * on node n: `rtt + bytes / bandwidth + instructions / (speed / (1 + load))`;
//! * split over here and every node: the instructions shared in proportion
//!   to each member's effective speed, plus, per node, a round trip per band
//!   ([`crate::split::SplitOptions::bands_per_member`] a stage) and its share
//!   of the bytes; the slowest member sets the time;
//!
//! and picks the least.

use std::time::{Duration, Instant};

use chunkvm::exec::{Stop, Vm};

use crate::client::Client;
use crate::migrate::{migrate, MigrateOptions};
use crate::prefetch::Prefetch;

/// A calibration program: a loop of about two million instructions, over an
/// array of 4096 elements (which travels with the thread).
pub const CALIBRATION: &str = r#"
fn main() {
    var data = [0; 4096];
    for i in 0..4096 {
        data[i] = i * 7 % 1009;
    }
    var total = 0;
    for round in 0..40 {
        for i in 0..4096 {
            total = (total + data[i] * round) % 1000003;
        }
    }
    print(total);
}
"#;

/// What was measured of a node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeMeasure {
    /// Its name in reports.
    pub label: String,
    /// Round-trip time, seconds.
    pub rtt: f64,
    /// Bytes per second to it.
    pub bandwidth: f64,
    /// Instructions per second there.
    pub speed: f64,
    /// Threads it runs now.
    pub load: u64,
}

/// The job to place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobMeasure {
    /// Its instructions (estimated).
    pub instructions: f64,
    /// Bytes a run elsewhere moves (the input level's tiles there, the output's back).
    pub bytes: f64,
    /// Its stages.
    pub stages: u32,
}

/// Where to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    /// Here.
    Local,
    /// On the node of this index.
    Node(usize),
    /// Split over here and every node.
    Split,
}

/// One row of the table behind a choice.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// What it is: `local`, a node's label, or `split`.
    pub label: String,
    /// The choice it stands for.
    pub choice: Choice,
    /// Seconds.
    pub seconds: f64,
}

/// A plan: the choice and every estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The least estimate's choice.
    pub choice: Choice,
    /// Every estimate: local, each node, split (when there are nodes).
    pub estimates: Vec<Estimate>,
}

/// Bands per member and stage in a split (as [`crate::split::SplitOptions`]'s default).
const BANDS_PER_MEMBER: f64 = 6.0;

/// A node's effective speed: its speed shared with the threads it runs.
fn effective(node: &NodeMeasure) -> f64 {
    (node.speed / (1.0 + node.load as f64)).max(1.0)
}

/// Chooses where `job` runs fastest (see the module documentation); ties go
/// to the first of local, the nodes in order, split.
pub fn decide(job: &JobMeasure, local_speed: f64, nodes: &[NodeMeasure]) -> Plan {
    let local_speed = local_speed.max(1.0);
    let mut estimates = vec![Estimate {
        label: "local".into(),
        choice: Choice::Local,
        seconds: job.instructions / local_speed,
    }];
    for (index, node) in nodes.iter().enumerate() {
        estimates.push(Estimate {
            label: node.label.clone(),
            choice: Choice::Node(index),
            seconds: node.rtt
                + job.bytes / node.bandwidth.max(1.0)
                + job.instructions / effective(node),
        });
    }
    if !nodes.is_empty() {
        let total: f64 = local_speed + nodes.iter().map(effective).sum::<f64>();
        let mut slowest = job.instructions * local_speed / total / local_speed;
        for node in nodes {
            let share = effective(node) / total;
            let time = job.instructions * share / effective(node)
                + node.rtt * BANDS_PER_MEMBER * job.stages.max(1) as f64
                + job.bytes * share / node.bandwidth.max(1.0);
            slowest = slowest.max(time);
        }
        estimates.push(Estimate {
            label: "split".into(),
            choice: Choice::Split,
            seconds: slowest,
        });
    }
    let mut best = 0;
    for (index, estimate) in estimates.iter().enumerate() {
        if estimate.seconds < estimates[best].seconds {
            best = index;
        }
    }
    Plan {
        choice: estimates[best].choice.clone(),
        estimates,
    }
}

/// A started calibration thread whose output goes nowhere.
fn calibration() -> Result<Vm, String> {
    let (_, program) = chunkvm::driver::build(CALIBRATION)
        .map_err(|_| "the calibration program does not compile".to_string())?;
    let (main, _) = program
        .function("main")
        .ok_or_else(|| "the calibration program has no main".to_string())?;
    let mut vm = Vm::new(program);
    vm.set_output(Box::new(std::io::sink()));
    vm.start(main, &[]).map_err(|err| err.to_string())?;
    Ok(vm)
}

/// This machine's speed: instructions per second of [`CALIBRATION`].
pub fn local_speed() -> Result<f64, String> {
    let mut vm = calibration()?;
    let started = Instant::now();
    vm.run_to_end().map_err(|err| err.to_string())?;
    Ok(vm.instructions() as f64 / started.elapsed().as_secs_f64().max(1e-6))
}

/// Measures the node of `client` (see the module documentation).
pub async fn measure(client: &Client, label: &str) -> Result<NodeMeasure, String> {
    let mut rtt = Duration::MAX;
    for nonce in 0..3 {
        let started = Instant::now();
        client.ping(nonce).await.map_err(|err| err.to_string())?;
        rtt = rtt.min(started.elapsed());
    }
    let status = client.status().await.map_err(|err| err.to_string())?;
    let mut vm = calibration()?;
    // The array filled here: what travels is a thread with data.
    vm.stop_after(4096 * 12);
    loop {
        match vm.run().map_err(|err| err.to_string())? {
            Stop::SafePoint => break,
            Stop::Finished(_) => return Err("the calibration ended too soon".into()),
            _ => continue,
        }
    }
    let options = MigrateOptions {
        prefetch: Prefetch::Eager,
        run_for: None,
    };
    let report = migrate(client, &mut vm, &options, |_| {})
        .await
        .map_err(|err| err.to_string())?;
    let rtt = rtt.as_secs_f64();
    let bytes = (report.sent_ahead.bytes + report.fetched.bytes + report.returned.bytes) as f64;
    // Compute time on the node: from its first instruction to the answer, less
    // a round trip; the transfer: up to the first instruction, less half of one.
    let first = report.to_first_instruction.as_secs_f64();
    let compute = (report.total.as_secs_f64() - first - rtt).max(1e-6);
    let transfer = (first + rtt / 2.0).max(1e-6);
    Ok(NodeMeasure {
        label: label.to_string(),
        rtt,
        bandwidth: bytes / transfer,
        speed: report.instructions as f64 / compute,
        load: status.status.load,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(label: &str, rtt: f64, bandwidth: f64, speed: f64, load: u64) -> NodeMeasure {
        NodeMeasure {
            label: label.into(),
            rtt,
            bandwidth,
            speed,
            load,
        }
    }

    const JOB: JobMeasure = JobMeasure {
        instructions: 1e9,
        bytes: 1e6,
        stages: 1,
    };

    #[test]
    fn a_small_job_stays_here() {
        let job = JobMeasure {
            instructions: 1e5,
            bytes: 1e6,
            stages: 1,
        };
        let plan = decide(&job, 1e8, &[node("a", 0.01, 1e7, 1e9, 0)]);
        assert_eq!(plan.choice, Choice::Local);
        assert_eq!(plan.estimates.len(), 3);
    }

    #[test]
    fn a_much_faster_node_takes_the_job_and_a_loaded_one_does_not() {
        let fast = node("fast", 0.001, 1e8, 1e10, 0);
        let plan = decide(&JOB, 1e8, &[fast]);
        // A hundred times faster: the node alone, its round trips per band
        // making a split a little slower.
        assert_eq!(plan.choice, Choice::Node(0), "{plan:?}");
        let loaded = node("loaded", 0.001, 1e8, 1e10, 199);
        let plan = decide(&JOB, 1e8, &[loaded]);
        assert_ne!(plan.choice, Choice::Node(0), "{plan:?}");
        assert!(
            plan.estimates[1].seconds > plan.estimates[0].seconds,
            "{plan:?}"
        );
    }

    #[test]
    fn equal_nodes_make_a_split_worth_it() {
        let nodes = [node("a", 0.001, 1e8, 1e8, 0), node("b", 0.001, 1e8, 1e8, 0)];
        let plan = decide(&JOB, 1e8, &nodes);
        assert_eq!(plan.choice, Choice::Split, "{plan:?}");
        let split = plan.estimates.last().map(|e| e.seconds).unwrap_or(0.0);
        // Three equal members: about a third of the local time.
        assert!((3.0..4.0).contains(&split), "{split}");
    }

    #[test]
    fn a_slow_link_keeps_the_job_here() {
        let nodes = [node("far", 0.5, 1e3, 1e10, 0)];
        let plan = decide(&JOB, 1e8, &nodes);
        assert_eq!(plan.choice, Choice::Local, "{plan:?}");
    }
}
