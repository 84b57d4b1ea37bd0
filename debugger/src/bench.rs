//! `chop-dap bench [--steps N] [--quick]`: the adapter's performance, measured in one
//! run and printed as a table beside its goals (a benchmark, not a test: nothing here
//! fails on a figure).
//!
//! The adapter is driven in-process: each session serves one client over a loopback
//! TCP socket on a thread of its own (as `--port` does), and the bench is that client.
//! Three figures:
//! 1. the round trip of a `next` to its `stopped` event plus the `stackTrace`,
//!    `scopes` and `variables` (Locals) a client asks for next, over N steps: p50,
//!    p99 and max;
//! 2. the same after the thread migrated to a node on 127.0.0.1 (a `chunkvm-node`
//!    service in this process, reached over QUIC as any node is);
//! 3. a run to the end with breakpoints set (on a line inside the loop, never reached)
//!    against the same call run without the debugger (`Vm::run_to_end`), best of 3
//!    each: its ratio to that run with the JIT (as a run goes by default; the goal) and
//!    to that run in the interpreter only. A debugged thread that continues runs
//!    compiled code too, in regions that leave out the breakpoints' lines (`exec::jit`):
//!    the first ratio is the debugger's whole cost, the second how far the debugged run
//!    is from the interpreter's speed.

use crate::adapter;
use chunkvm::driver::analyze;
use chunkvm::exec::{Value, Vm};
use serde_json::{json, Value as Json};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The debuggee: `spin(n)` loops `n` times; the line marked `#NEVER` is never reached.
const PROGRAM: &str = "//! The debuggee of `chop-dap bench`.

fn spin(n: int) -> int {
    var total = 0;
    for i in 0..n {
        total += i % 7;
        if total < 0 {
            total = 0; // #NEVER
        }
    }
    total
}
";

/// Loop iterations of the breakpoints-set run (about 1 s in the interpreter, without the
/// debugger, in a release build on the machine it was sized on); `--quick` runs a tenth.
const FULL_ITERATIONS: i64 = 30_000_000;

/// How long any one read may wait (against a hang, not a speed limit).
const READ_TIMEOUT: Duration = Duration::from_secs(600);

/// The goal for the p99 of a step's round trip, in microseconds.
const GOAL_P99_US: u128 = 2_000;

/// The goal for the p99 of a step's round trip on a node, in microseconds.
const GOAL_REMOTE_P99_US: u128 = 10_000;

/// The goal for the breakpoints-set run against the plain run (with the JIT).
const GOAL_RATIO: f64 = 1.5;

/// What went wrong in a bench run.
#[derive(Debug)]
pub enum BenchError {
    /// A bad command line.
    Usage(String),
    /// A system call failed: what was being done, and the error.
    Io(String, std::io::Error),
    /// The adapter answered something unexpected: what was expected, and what came.
    Protocol(String),
    /// The plain run of the debuggee failed.
    Run(String),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Usage(text) => write!(f, "bench: {text}\n{USAGE}"),
            BenchError::Io(what, err) => write!(f, "bench: {what}: {err}"),
            BenchError::Protocol(text) => write!(f, "bench: the adapter: {text}"),
            BenchError::Run(text) => write!(f, "bench: the plain run: {text}"),
        }
    }
}

/// The bench's usage line.
pub const USAGE: &str = "usage: chop-dap bench [--steps N] [--quick]\n\
  Measures a step's round trip (next, stopped, stackTrace, scopes, variables) over N\n\
  steps (default 200) and a run with breakpoints set against one without the debugger\n\
  (--quick: a run 10x smaller).";

/// The bench's options.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Options {
    steps: usize,
    quick: bool,
}

fn parse(args: &[String]) -> Result<Options, BenchError> {
    let mut options = Options {
        steps: 200,
        quick: false,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--steps" => {
                let value = rest
                    .next()
                    .ok_or_else(|| BenchError::Usage("--steps needs a number".into()))?;
                options.steps =
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            BenchError::Usage(format!("--steps {value:?} is not a positive number"))
                        })?;
            }
            other => return Err(BenchError::Usage(format!("unexpected argument {other:?}"))),
        }
    }
    Ok(options)
}

/// Runs the bench with the arguments after `bench` and prints its table.
pub fn main(args: &[String]) -> Result<(), BenchError> {
    let options = parse(args)?;
    let dir = std::env::temp_dir().join(format!("chop-dap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|err| BenchError::Io(format!("creating {}", dir.display()), err))?;
    let path = dir.join("spin.chop");
    let result = std::fs::write(&path, PROGRAM)
        .map_err(|err| BenchError::Io(format!("writing {}", path.display()), err))
        .and_then(|()| measure(&path, &dir, options));
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    print!("{}", report.table(options));
    Ok(())
}

/// The figures of one run.
struct Report {
    /// Each step's round trip, sorted.
    steps: Vec<Duration>,
    /// Each step's round trip on the node, sorted.
    remote_steps: Vec<Duration>,
    iterations: i64,
    debugged: Duration,
    plain: Duration,
    /// The run without the debugger, in the interpreter only.
    interpreted: Duration,
}

fn measure(path: &Path, dir: &Path, options: Options) -> Result<Report, BenchError> {
    let steps = step_round_trips(path, options.steps, None)?;
    let node = BenchNode::start(dir)?;
    let remote_steps = step_round_trips(path, options.steps, Some(&node))?;
    drop(node);
    let iterations = if options.quick {
        FULL_ITERATIONS / 10
    } else {
        FULL_ITERATIONS
    };
    let mut debugged = Duration::MAX;
    let mut plain = Duration::MAX;
    let mut interpreted = Duration::MAX;
    for _ in 0..3 {
        plain = plain.min(plain_run(iterations, true)?);
        interpreted = interpreted.min(plain_run(iterations, false)?);
        debugged = debugged.min(debugged_run(path, iterations)?);
    }
    Ok(Report {
        steps,
        remote_steps,
        iterations,
        debugged,
        plain,
        interpreted,
    })
}

/// The nearest-rank percentile `p` (0 to 100) of sorted `values`.
fn percentile(values: &[Duration], p: usize) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = (values.len() * p).div_ceil(100).max(1);
    values[rank.min(values.len()) - 1]
}

impl Report {
    fn table(&self, options: Options) -> String {
        let us = |d: Duration| d.as_micros();
        let p50 = percentile(&self.steps, 50);
        let p99 = percentile(&self.steps, 99);
        let max = self.steps.last().copied().unwrap_or_default();
        let ratio = self.debugged.as_secs_f64() / self.plain.as_secs_f64().max(1e-9);
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let build = if cfg!(debug_assertions) {
            "a debug build: figures not representative, use --release"
        } else {
            "a release build"
        };
        let mut out = String::new();
        out.push_str(&format!(
            "chop-dap bench ({build}; {} steps; {} loop iterations{})\n",
            options.steps,
            self.iterations,
            if options.quick { ", --quick" } else { "" }
        ));
        out.push_str(&format!("{:<44} {:>12}  goal\n", "measure", "value"));
        let step = "step: next+stopped+stackTrace+scopes+vars";
        out.push_str(&format!("{step:<44} {:>9} us  p50\n", us(p50)));
        out.push_str(&format!(
            "{:<44} {:>9} us  p99 < {GOAL_P99_US} us  {}\n",
            "",
            us(p99),
            verdict(us(p99) < GOAL_P99_US)
        ));
        out.push_str(&format!("{:<44} {:>9} us  max\n", "", us(max)));
        let remote = "step on a node (127.0.0.1, QUIC)";
        let (r50, r99) = (
            percentile(&self.remote_steps, 50),
            percentile(&self.remote_steps, 99),
        );
        let rmax = self.remote_steps.last().copied().unwrap_or_default();
        out.push_str(&format!("{remote:<44} {:>9} us  p50\n", us(r50)));
        out.push_str(&format!(
            "{:<44} {:>9} us  p99 < {GOAL_REMOTE_P99_US} us {}\n",
            "",
            us(r99),
            verdict(us(r99) < GOAL_REMOTE_P99_US)
        ));
        out.push_str(&format!("{:<44} {:>9} us  max\n", "", us(rmax)));
        out.push_str(&format!(
            "{:<44} {:>10.3} s\n",
            "run, breakpoints set (best of 3)",
            self.debugged.as_secs_f64()
        ));
        out.push_str(&format!(
            "{:<44} {:>10.3} s\n",
            "run, no debugger, JIT (best of 3)",
            self.plain.as_secs_f64()
        ));
        out.push_str(&format!(
            "{:<44} {:>11.2}x  <= {GOAL_RATIO}x        {}\n",
            "ratio: breakpoints set / no debugger, JIT",
            ratio,
            verdict(ratio <= GOAL_RATIO)
        ));
        let interpreted = self.debugged.as_secs_f64() / self.interpreted.as_secs_f64().max(1e-9);
        out.push_str(&format!(
            "{:<44} {:>10.3} s\n",
            "run, no debugger, no JIT (best of 3)",
            self.interpreted.as_secs_f64()
        ));
        out.push_str(&format!(
            "{:<44} {:>11.2}x\n",
            "ratio: breakpoints set / no debugger, no JIT", interpreted
        ));
        out
    }
}

/// The call run without the debugger, with the JIT when `jit` (as a run without a
/// debugger goes by default) or in the interpreter only.
fn plain_run(iterations: i64, jit: bool) -> Result<Duration, BenchError> {
    let program = analyze(PROGRAM)
        .compile()
        .map_err(|diags| BenchError::Run(format!("the debuggee does not compile: {diags:?}")))?;
    let (func, _) = program
        .function("spin")
        .ok_or_else(|| BenchError::Run("no function `spin`".into()))?;
    let mut vm = Vm::new(program);
    vm.set_jit(jit && vm.jit());
    let start = Instant::now();
    vm.start(func, &[Value::Int(iterations)])
        .map_err(|err| BenchError::Run(err.to_string()))?;
    vm.run_to_end()
        .map_err(|err| BenchError::Run(err.message.clone()))?;
    Ok(start.elapsed())
}

/// The call run by the adapter with a breakpoint set on a line never reached: from the
/// `continue` to the `exited` event.
fn debugged_run(path: &Path, iterations: i64) -> Result<Duration, BenchError> {
    let mut client = Client::start()?;
    client.launch(path, iterations)?;
    let line = PROGRAM
        .lines()
        .position(|l| l.contains("#NEVER"))
        .map_or(1, |idx| idx + 1);
    let body = client.ok(
        "setBreakpoints",
        json!({ "source": { "path": path }, "breakpoints": [{ "line": line }] }),
    )?;
    if body["breakpoints"][0]["verified"] != true {
        return Err(BenchError::Protocol(format!(
            "the breakpoint on line {line} is not verified: {body}"
        )));
    }
    client.ok("configurationDone", json!({}))?;
    client.event("stopped")?;
    let start = Instant::now();
    client.ok("continue", json!({ "threadId": 1 }))?;
    client.event("exited")?;
    let elapsed = start.elapsed();
    client.ok("disconnect", json!({}))?;
    Ok(elapsed)
}

/// A node served by this process on 127.0.0.1.
struct BenchNode {
    /// Runs the node's endpoint (kept alive with it).
    _runtime: tokio::runtime::Runtime,
    address: String,
    token_file: PathBuf,
    fingerprint: String,
}

impl BenchNode {
    /// A node with its state in `dir/node`.
    fn start(dir: &Path) -> Result<BenchNode, BenchError> {
        use chunkvm_node::{Identity, IdentityOptions, Limits, NodeService, Server};
        let node =
            |what: &str, err: String| BenchError::Run(format!("the bench's node: {what}: {err}"));
        let identity = Identity::load_or_create(
            &dir.join("node"),
            &IdentityOptions {
                name: Some("bench-node".into()),
                ..IdentityOptions::default()
            },
        )
        .map_err(|err| node("its identity", err.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|err| BenchError::Io("starting the node's runtime".into(), err))?;
        let service = std::sync::Arc::new(NodeService::new(identity.node_id()));
        let server = {
            let _inside = runtime.enter();
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            Server::bind(addr, &identity, service, Limits::default())
                .map_err(|err| node("binding 127.0.0.1", err.to_string()))?
        };
        let address = format!("quic://{}", server.local_addr());
        // The server lives as long as the runtime that runs it.
        runtime.spawn(async move {
            std::future::pending::<()>().await;
            drop(server);
        });
        Ok(BenchNode {
            _runtime: runtime,
            address,
            token_file: identity.token_path().to_path_buf(),
            fingerprint: identity.fingerprint().to_string(),
        })
    }
}

/// Each step's round trip, sorted (on `node`, when given: the thread migrates there
/// before the first step).
fn step_round_trips(
    path: &Path,
    steps: usize,
    node: Option<&BenchNode>,
) -> Result<Vec<Duration>, BenchError> {
    let mut client = Client::start()?;
    // Each iteration is at least two lines: the loop outlasts the steps.
    let iterations = i64::try_from(steps)
        .unwrap_or(i64::MAX / 4)
        .saturating_mul(2)
        + 10;
    client.launch(path, iterations)?;
    client.ok("configurationDone", json!({}))?;
    client.event("stopped")?;
    if let Some(node) = node {
        client.ok(
            "migrate",
            json!({
                "threadId": 1,
                "node": node.address,
                "tokenFile": node.token_file,
                "fingerprint": node.fingerprint,
            }),
        )?;
    }
    let mut out = Vec::with_capacity(steps);
    for _ in 0..steps {
        let start = Instant::now();
        let seq = client.send("next", json!({ "threadId": 1 }))?;
        client.response(seq)?;
        client.event("stopped")?;
        let frames = client.ok("stackTrace", json!({ "threadId": 1 }))?;
        let frame = frames["stackFrames"][0]["id"].clone();
        let scopes = client.ok("scopes", json!({ "frameId": frame }))?;
        let locals = scopes["scopes"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == "Locals"))
            .map(|s| s["variablesReference"].clone())
            .ok_or_else(|| BenchError::Protocol(format!("no Locals scope: {scopes}")))?;
        let vars = client.ok("variables", json!({ "variablesReference": locals }))?;
        out.push(start.elapsed());
        if vars["variables"].as_array().is_none_or(Vec::is_empty) {
            return Err(BenchError::Protocol(format!("no locals: {vars}")));
        }
    }
    client.ok("disconnect", json!({}))?;
    out.sort_unstable();
    Ok(out)
}

/// A client of one in-process session over loopback TCP.
struct Client {
    out: TcpStream,
    input: BufReader<TcpStream>,
    seq: i64,
    /// Events read while waiting for a response, not yet taken.
    events: Vec<Json>,
}

impl Client {
    /// Starts a session on a thread of its own and connects to it.
    fn start() -> Result<Client, BenchError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |err| BenchError::Io(what, err)
        };
        let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io("binding 127.0.0.1"))?;
        let addr = listener.local_addr().map_err(io("the bound address"))?;
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let _ = stream.set_nodelay(true);
                if let Ok(writer) = stream.try_clone() {
                    adapter::serve(BufReader::new(stream), Box::new(writer));
                }
            }
        });
        let out = TcpStream::connect(addr).map_err(io("connecting to the session"))?;
        out.set_nodelay(true).map_err(io("setting TCP_NODELAY"))?;
        out.set_read_timeout(Some(READ_TIMEOUT))
            .map_err(io("setting a read timeout"))?;
        let input = BufReader::new(out.try_clone().map_err(io("cloning the socket"))?);
        Ok(Client {
            out,
            input,
            seq: 0,
            events: Vec::new(),
        })
    }

    fn send(&mut self, command: &str, arguments: Json) -> Result<i64, BenchError> {
        self.seq += 1;
        let body = json!({ "seq": self.seq, "type": "request", "command": command, "arguments": arguments })
            .to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.out
            .write_all(frame.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|err| BenchError::Io(format!("sending `{command}`"), err))?;
        Ok(self.seq)
    }

    /// The next message from the adapter.
    fn read(&mut self) -> Result<Json, BenchError> {
        let io = |err| BenchError::Io("reading from the adapter".into(), err);
        let mut length = None;
        loop {
            let mut line = String::new();
            if self.input.read_line(&mut line).map_err(io)? == 0 {
                return Err(BenchError::Protocol("the session ended".into()));
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length:") {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let length =
            length.ok_or_else(|| BenchError::Protocol("a frame without Content-Length".into()))?;
        let mut body = vec![0; length];
        self.input.read_exact(&mut body).map_err(io)?;
        serde_json::from_slice(&body)
            .map_err(|err| BenchError::Protocol(format!("a body that is not JSON: {err}")))
    }

    /// The response to request `seq` (events before it are kept).
    fn response(&mut self, seq: i64) -> Result<Json, BenchError> {
        loop {
            let message = self.read()?;
            if message["type"] == "response" && message["request_seq"] == seq {
                if message["success"] != true {
                    return Err(BenchError::Protocol(format!(
                        "request {seq} failed: {message}"
                    )));
                }
                return Ok(message["body"].clone());
            }
            if message["type"] == "event" {
                self.events.push(message);
            }
        }
    }

    /// Sends a request that must succeed; its body.
    fn ok(&mut self, command: &str, arguments: Json) -> Result<Json, BenchError> {
        let seq = self.send(command, arguments)?;
        self.response(seq)
    }

    /// Waits for event `name` (dropping the events before it); its body.
    fn event(&mut self, name: &str) -> Result<Json, BenchError> {
        if let Some(idx) = self.events.iter().position(|e| e["event"] == name) {
            let found = self.events.remove(idx);
            self.events.drain(..idx);
            return Ok(found["body"].clone());
        }
        self.events.clear();
        loop {
            let message = self.read()?;
            if message["type"] == "event" {
                if message["event"] == name {
                    return Ok(message["body"].clone());
                }
                if name == "stopped" && message["event"] == "exited" {
                    return Err(BenchError::Protocol(
                        "the debuggee ended before a `stopped` event".into(),
                    ));
                }
            }
        }
    }

    /// initialize, launch `spin(iterations)` stopped on entry, the `initialized` event.
    fn launch(&mut self, path: &Path, iterations: i64) -> Result<(), BenchError> {
        self.ok(
            "initialize",
            json!({ "adapterID": "chop", "linesStartAt1": true }),
        )?;
        let program: PathBuf = path.to_path_buf();
        self.ok(
            "launch",
            json!({ "program": program, "function": "spin", "args": [iterations], "stopOnEntry": true }),
        )?;
        self.event("initialized")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_steps_and_quick_and_refuse_the_rest() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse(&args(&["--steps", "20", "--quick"])).ok(),
            Some(Options {
                steps: 20,
                quick: true
            })
        );
        assert!(parse(&args(&["--steps"])).is_err());
        assert!(parse(&args(&["--steps", "0"])).is_err());
        assert!(parse(&args(&["--fast"])).is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&values, 50), Duration::from_micros(50));
        assert_eq!(percentile(&values, 99), Duration::from_micros(99));
        assert_eq!(percentile(&values[..1], 99), Duration::from_micros(1));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
