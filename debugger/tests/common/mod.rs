//! A scripted DAP client for the tests: it drives the real `chop-dap` binary over its
//! standard streams (or TCP), waits for responses and events with a timeout against
//! hangs, and kills the process when dropped. Debuggee lines are found by marker
//! comments (`// #BP1`), never by number.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long any one wait may take before the test fails (a hang, not a speed limit).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A debuggee of `tests/data`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A file of the repository (`filters/box_blur.chop`).
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A scratch folder of its own for a test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dap-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The 1-based line of the line of `path` that holds `marker`.
pub fn line_of(path: &Path, marker: &str) -> u32 {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|line| line.contains(marker))
        .map(|idx| idx as u32 + 1)
        .unwrap_or_else(|| panic!("no {marker} in {}", path.display()))
}

fn read_frame(input: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    input.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A client of one adapter process.
pub struct Client {
    child: Child,
    out: Box<dyn Write + Send>,
    rx: Receiver<Value>,
    seq: i64,
    /// Events seen and not yet taken, in arrival order.
    pub events: Vec<Value>,
    /// Every output event's text, in order.
    pub output: String,
    /// The name of every event received, in order.
    pub seen: Vec<String>,
}

impl Client {
    /// Starts `chop-dap` on standard streams.
    pub fn start() -> Client {
        Client::start_in(None)
    }

    /// Starts `chop-dap` on standard streams with its state (the nodes it trusts) in
    /// `state` (`XDG_STATE_HOME`), if given.
    pub fn start_in(state: Option<&Path>) -> Client {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chop-dap"));
        if let Some(state) = state {
            command.env("XDG_STATE_HOME", state);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take().unwrap();
        Client::over(child, Box::new(stdin), Box::new(stdout))
    }

    /// Starts `chop-dap --port 0` and connects to the port it prints.
    pub fn start_tcp() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chop-dap"))
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("chop-dap: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        // Keep draining its standard error so it never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = stderr.read_to_string(&mut sink);
        });
        let stream = std::net::TcpStream::connect(&addr).unwrap();
        let reader = stream.try_clone().unwrap();
        Client::over(child, Box::new(stream), Box::new(reader))
    }

    fn over(child: Child, out: Box<dyn Write + Send>, input: Box<dyn Read + Send>) -> Client {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut input = BufReader::new(input);
            while let Some(message) = read_frame(&mut input) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            out,
            rx,
            seq: 0,
            events: Vec::new(),
            output: String::new(),
            seen: Vec::new(),
        }
    }

    /// Sends raw bytes (for malformed input).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.out.write_all(bytes).unwrap();
        self.out.flush().unwrap();
    }

    /// Sends a request; returns its seq.
    pub fn send(&mut self, command: &str, arguments: Value) -> i64 {
        self.seq += 1;
        let body = json!({ "seq": self.seq, "type": "request", "command": command, "arguments": arguments })
            .to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
        self.seq
    }

    fn next(&mut self, deadline: Instant, what: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(message) => {
                if message["type"] == "event" {
                    self.seen
                        .push(message["event"].as_str().unwrap_or("").to_string());
                }
                if message["type"] == "event" && message["event"] == "output" {
                    self.output
                        .push_str(message["body"]["output"].as_str().unwrap_or(""));
                }
                message
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "no {what} within {TIMEOUT:?}; events so far: {:?}; output: {}",
                self.events, self.output
            ),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "the adapter ended before {what}; events: {:?}; output: {}",
                self.events, self.output
            ),
        }
    }

    /// The response to request `seq` (events before it are kept).
    pub fn response(&mut self, seq: i64) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next(deadline, &format!("response to request {seq}"));
            if message["type"] == "response" && message["request_seq"] == seq {
                return message;
            }
            if message["type"] == "event" {
                self.events.push(message);
            }
        }
    }

    /// Sends a request and waits for its response, whatever it says.
    pub fn request(&mut self, command: &str, arguments: Value) -> Value {
        let seq = self.send(command, arguments);
        let response = self.response(seq);
        assert_eq!(response["command"], command, "{response}");
        response
    }

    /// Sends a request that must succeed; its body.
    pub fn ok(&mut self, command: &str, arguments: Value) -> Value {
        let response = self.request(command, arguments);
        assert_eq!(response["success"], true, "{command} failed: {response}");
        response["body"].clone()
    }

    /// Sends a request that must fail; its message.
    pub fn fails(&mut self, command: &str, arguments: Value) -> String {
        let response = self.request(command, arguments);
        assert_eq!(
            response["success"], false,
            "{command} succeeded: {response}"
        );
        response["message"].as_str().unwrap_or("").to_string()
    }

    /// Waits for the event `name` (taking it and the events before it).
    pub fn event(&mut self, name: &str) -> Value {
        if let Some(idx) = self.events.iter().position(|e| e["event"] == name) {
            let found = self.events.remove(idx);
            self.events.drain(..idx);
            return found["body"].clone();
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next(deadline, &format!("event `{name}`"));
            if message["type"] == "event" {
                if message["event"] == name {
                    self.events.clear();
                    return message["body"].clone();
                }
                self.events.push(message);
            }
        }
    }

    /// Waits for a `stopped` event; its body.
    pub fn stopped(&mut self) -> Value {
        self.event("stopped")
    }

    /// initialize, launch with `args`, the `initialized` event; the capabilities.
    pub fn launch(&mut self, args: Value) -> Value {
        let caps = self.ok(
            "initialize",
            json!({ "adapterID": "chop", "linesStartAt1": true }),
        );
        self.ok("launch", args);
        self.event("initialized");
        caps
    }

    /// The innermost frames of thread 1.
    pub fn frames(&mut self) -> Vec<Value> {
        let body = self.ok("stackTrace", json!({ "threadId": 1 }));
        body["stackFrames"].as_array().unwrap().clone()
    }

    /// The variables of a handle, by name.
    pub fn variables(&mut self, reference: &Value) -> Vec<Value> {
        let body = self.ok("variables", json!({ "variablesReference": reference }));
        body["variables"].as_array().unwrap().clone()
    }

    /// The scopes of frame `frame_id`, by name: (name, handle).
    pub fn scopes(&mut self, frame_id: &Value) -> Vec<(String, Value)> {
        let body = self.ok("scopes", json!({ "frameId": frame_id }));
        body["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["variablesReference"].clone(),
                )
            })
            .collect()
    }

    /// The Locals of the innermost frame, name to shown value.
    pub fn locals(&mut self) -> Vec<(String, String, Value)> {
        self.scope_rows("Locals")
    }

    /// The rows of scope `name` of the innermost frame: name, shown value, handle.
    pub fn scope_rows(&mut self, name: &str) -> Vec<(String, String, Value)> {
        let frame = self.frames()[0]["id"].clone();
        let scopes = self.scopes(&frame);
        let handle = scopes
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no scope {name}: {scopes:?}"))
            .1
            .clone();
        self.rows(&handle)
    }

    /// The rows of a variables container: name, shown value, and the handle of its
    /// children.
    pub fn rows(&mut self, handle: &Value) -> Vec<(String, String, Value)> {
        self.variables(handle)
            .into_iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_string(),
                    v["value"].as_str().unwrap().to_string(),
                    v["variablesReference"].clone(),
                )
            })
            .collect()
    }

    /// Evaluates in the innermost frame; the shown result.
    pub fn eval(&mut self, expression: &str) -> String {
        let body = self.ok(
            "evaluate",
            json!({ "expression": expression, "frameId": 1, "context": "watch" }),
        );
        body["result"].as_str().unwrap().to_string()
    }

    /// Waits for the program's end: the exit code.
    pub fn run_to_end(&mut self) -> i64 {
        let exited = self.event("exited");
        self.event("terminated");
        exited["exitCode"].as_i64().unwrap()
    }

    /// Waits for the adapter to end by itself (its output closes, the process exits).
    pub fn expect_end(&mut self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(message) => self.events.push(message),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("the adapter did not end"),
            }
        }
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the adapter closed its output but did not exit");
    }

    /// Disconnects and waits for the process to end.
    pub fn disconnect(mut self) {
        self.ok("disconnect", json!({}));
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the adapter did not end after disconnect");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `chunkvm serve` on 127.0.0.1, killed by its pid when dropped.
pub struct Node {
    child: Child,
    /// `quic://127.0.0.1:PORT`.
    pub address: String,
    /// Its name.
    pub name: String,
    /// Its token file.
    pub token_file: PathBuf,
}

impl Node {
    /// Starts `chunkvm serve` (the workspace's binary, built beside this test's) with
    /// its state in `state`, on a free port.
    pub fn start(state: &Path, name: &str) -> Node {
        let exe = std::env::current_exe().unwrap();
        let binary = exe
            .parent()
            .and_then(Path::parent)
            .map(|dir| dir.join(format!("chunkvm{}", std::env::consts::EXE_SUFFIX)))
            .unwrap();
        assert!(
            binary.exists(),
            "{} is missing: the workspace's tests build it (`cargo test --workspace`, or `cargo build -p chunkvm-cli` first)",
            binary.display()
        );
        let mut child = Command::new(&binary)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--name",
                name,
                "--state",
            ])
            .arg(state)
            // The debuggees are sized for the interpreter: a thread must still be running
            // when a test attaches to it or pauses it, and the JIT runs their loops some
            // ten times faster (a debugged thread that continues may run compiled code
            // too; the JIT has its own tests in vm/tests/jit.rs, under a debugger as well).
            .env("CHUNKVM_NO_JIT", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines: Vec<String> = Vec::new();
        let deadline = Instant::now() + TIMEOUT;
        while lines.len() < 3 {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => {
                    let _ = child.kill();
                    panic!("chunkvm serve printed {lines:?} and no more");
                }
            }
        }
        let field = |prefix: &str| {
            lines
                .iter()
                .find_map(|line| line.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix:?} in {lines:?}"))
                .to_string()
        };
        let first = field("node ");
        let (name, addr) = first.split_once(" listening on ").unwrap();
        Node {
            child,
            address: addr.to_string(),
            name: name.to_string(),
            token_file: PathBuf::from(field("token file ")),
        }
    }

    /// Kills it now (a node that dies).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
