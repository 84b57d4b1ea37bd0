//! Nodes as a user starts them: `chunkvm serve` processes on 127.0.0.1, and
//! `chunkvm run --on`, `--hops`, `--migrate-after`, `--on embedded`, `nodes`,
//! `snapshot` and `restore` against them. Every process a test starts is killed by
//! its pid when the test ends (pass or fail), and every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest any one command may take before the test fails.
const BOUND: Duration = Duration::from_secs(120);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A folder of the test's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("chunkvm-nodes-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `chunkvm ARGS` with its client state (known nodes) in `home`, bounded in time.
fn chunkvm(args: &[&str], home: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chunkvm"))
        .args(args)
        .current_dir(repo())
        .env("XDG_STATE_HOME", home.join("state"))
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chunkvm starts");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "chunkvm {args:?} ran past {BOUND:?}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ok(out: &Output) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

/// A running `chunkvm serve`, killed by its pid when dropped.
struct Node {
    child: Child,
    addr: String,
    fingerprint: String,
    token_file: PathBuf,
    name: String,
}

impl Node {
    /// Starts a node with its state in `state`, on a free port of 127.0.0.1.
    fn start(state: &Path, name: &str, extra: &[&str]) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chunkvm"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--name",
                name,
                "--state",
            ])
            .arg(state)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chunkvm serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
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
            addr: addr.to_string(),
            name: name.to_string(),
            fingerprint: field("fingerprint "),
            token_file: PathBuf::from(field("token file ")),
            child,
        }
    }

    fn token(&self) -> &str {
        self.token_file.to_str().unwrap()
    }

    /// Stops it with SIGTERM (unix) and returns its exit status, bounded.
    fn stop(mut self) -> Option<i32> {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small photo (so that debug builds stay quick): the bundled one at its level 2.
fn small_photo(scratch: &Scratch, home: &Path) -> PathBuf {
    let chunks = scratch.path("photo.chunks");
    ok(&chunkvm(
        &[
            "import",
            "samples/chelsea.png",
            "--out",
            chunks.to_str().unwrap(),
        ],
        home,
    ));
    let png = scratch.path("small.png");
    ok(&chunkvm(
        &[
            "export",
            chunks.to_str().unwrap(),
            "--out",
            png.to_str().unwrap(),
            "--level",
            "1",
        ],
        home,
    ));
    png
}

const PROGRAM: &str = "cli/tests/cli/travel.chop";

#[test]
fn a_filter_and_a_program_run_on_a_node_give_what_a_local_run_gives() {
    let scratch = Scratch::new("on");
    let home = scratch.path("home");
    let node = Node::start(&scratch.path("a"), "pi3", &[]);
    assert_eq!(node.name, "pi3");
    assert_eq!(node.fingerprint.len(), 64, "{}", node.fingerprint);
    let photo = small_photo(&scratch, &home);
    let photo = photo.to_str().unwrap();
    for filter in ["filters/box_blur.chop", "filters/pipelines/old_photo.chop"] {
        let local = scratch.path("local.png");
        ok(&chunkvm(
            &[
                "run",
                filter,
                "--input",
                photo,
                "--output",
                local.to_str().unwrap(),
            ],
            &home,
        ));
        for after in [None, Some("1"), Some("5000"), Some("40000")] {
            let remote = scratch.path("remote.png");
            let mut args = vec![
                "run",
                filter,
                "--input",
                photo,
                "--output",
                remote.to_str().unwrap(),
                "--on",
                &node.addr,
                "--token-file",
                node.token(),
            ];
            if let Some(n) = after {
                args.extend(["--migrate-after", n]);
            }
            let (_, stderr) = ok(&chunkvm(&args, &home));
            assert!(
                stderr.contains("migrated to quic://"),
                "{filter} {after:?}: {stderr}"
            );
            assert_eq!(
                std::fs::read(&remote).unwrap(),
                std::fs::read(&local).unwrap(),
                "{filter}, migrated after {after:?}: the output differs from a local run"
            );
        }
    }
    let (expected, _) = ok(&chunkvm(&["run", PROGRAM], &home));
    for after in ["1", "3000", "40000"] {
        let (printed, stderr) = ok(&chunkvm(
            &[
                "run",
                PROGRAM,
                "--on",
                &node.addr,
                "--token-file",
                node.token(),
                "--migrate-after",
                after,
            ],
            &home,
        ));
        assert_eq!(printed, expected, "migrated after {after}: {stderr}");
    }
}

#[test]
fn a_thread_hops_from_node_to_node_and_comes_home() {
    let scratch = Scratch::new("hops");
    let home = scratch.path("home");
    let token = scratch.path("cluster-token");
    std::fs::write(&token, "a".repeat(64)).unwrap();
    let token = token.to_str().unwrap();
    let a = Node::start(&scratch.path("a"), "a", &["--token-file", token]);
    let b = Node::start(&scratch.path("b"), "b", &["--token-file", token]);
    let (expected, _) = ok(&chunkvm(&["run", PROGRAM], &home));
    let route = format!("{},{},local", a.addr, b.addr);
    let (printed, stderr) = ok(&chunkvm(
        &[
            "run",
            PROGRAM,
            "--hops",
            &route,
            "--migrate-after",
            "20000",
            "--token-file",
            token,
        ],
        &home,
    ));
    assert_eq!(printed, expected, "{stderr}");
    assert_eq!(stderr.matches("migrated to").count(), 2, "{stderr}");
}

#[test]
fn a_node_that_is_gone_leaves_the_thread_here_and_the_run_completes() {
    let scratch = Scratch::new("gone");
    let home = scratch.path("home");
    let node = Node::start(&scratch.path("a"), "a", &[]);
    let (addr, token) = (node.addr.clone(), node.token_file.clone());
    drop(node);
    let (expected, _) = ok(&chunkvm(&["run", PROGRAM], &home));
    let (printed, stderr) = ok(&chunkvm(
        &[
            "run",
            PROGRAM,
            "--on",
            &addr,
            "--token-file",
            token.to_str().unwrap(),
            "--migrate-after",
            "100",
        ],
        &home,
    ));
    assert_eq!(printed, expected);
    assert!(
        stderr.contains("warning:") && stderr.contains("goes on here"),
        "{stderr}"
    );
}

#[test]
fn a_wrong_token_is_refused_and_the_thread_runs_here() {
    let scratch = Scratch::new("token");
    let home = scratch.path("home");
    let node = Node::start(&scratch.path("a"), "a", &[]);
    let wrong = scratch.path("wrong");
    std::fs::write(&wrong, "b".repeat(64)).unwrap();
    let (expected, _) = ok(&chunkvm(&["run", PROGRAM], &home));
    let (printed, stderr) = ok(&chunkvm(
        &[
            "run",
            PROGRAM,
            "--on",
            &node.addr,
            "--token-file",
            wrong.to_str().unwrap(),
        ],
        &home,
    ));
    assert_eq!(printed, expected);
    assert!(stderr.contains("warning:"), "{stderr}");
}

#[test]
fn a_restarted_node_keeps_its_name_certificate_and_token_and_stops_cleanly() {
    let scratch = Scratch::new("restart");
    let state = scratch.path("a");
    let first = Node::start(&state, "keeper", &[]);
    let (fingerprint, token) = (
        first.fingerprint.clone(),
        std::fs::read(&first.token_file).unwrap(),
    );
    assert_eq!(first.stop(), Some(0), "SIGTERM ends the node with status 0");
    let second = Node::start(&state, "other-name", &[]);
    assert_eq!(second.name, "keeper");
    assert_eq!(second.fingerprint, fingerprint);
    assert_eq!(std::fs::read(&second.token_file).unwrap(), token);
}

#[test]
fn nodes_lists_live_and_dead_nodes() {
    let scratch = Scratch::new("list");
    let home = scratch.path("home");
    let node = Node::start(&scratch.path("a"), "lister", &[]);
    let dead = "quic://127.0.0.1:9";
    let (json, _) = ok(&chunkvm(
        &[
            "nodes",
            &node.addr,
            dead,
            "--token-file",
            node.token(),
            "--format",
            "json",
        ],
        &home,
    ));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[0]["name"], "lister", "{json}");
    assert_eq!(rows[0]["status"], "idle", "{json}");
    assert_eq!(rows[1]["status"], "dead", "{json}");
    let (table, _) = ok(&chunkvm(
        &["nodes", &node.addr, "--token-file", node.token()],
        &home,
    ));
    assert!(
        table.contains("lister") && table.contains("idle"),
        "{table}"
    );
}

#[test]
fn on_embedded_needs_no_other_process() {
    let scratch = Scratch::new("embedded");
    let home = scratch.path("home");
    let photo = small_photo(&scratch, &home);
    let local = scratch.path("local.png");
    let remote = scratch.path("remote.png");
    let pipeline = "filters/pipelines/old_photo.chop";
    ok(&chunkvm(
        &[
            "run",
            pipeline,
            "--input",
            photo.to_str().unwrap(),
            "--output",
            local.to_str().unwrap(),
        ],
        &home,
    ));
    let (stdout, stderr) = ok(&chunkvm(
        &[
            "run",
            pipeline,
            "--input",
            photo.to_str().unwrap(),
            "--output",
            remote.to_str().unwrap(),
            "--on",
            "embedded",
        ],
        &home,
    ));
    assert!(stderr.contains("migrated to the embedded node"), "{stderr}");
    assert!(stdout.contains("remote.png"), "{stdout}");
    assert_eq!(
        std::fs::read(&remote).unwrap(),
        std::fs::read(&local).unwrap()
    );
}

#[test]
fn a_snapshot_resumes_later_here_or_on_a_node() {
    let scratch = Scratch::new("snapshot");
    let home = scratch.path("home");
    let (expected, _) = ok(&chunkvm(&["run", PROGRAM], &home));
    let saved = scratch.path("thread.chunks");
    let (first, stderr) = ok(&chunkvm(
        &[
            "snapshot",
            PROGRAM,
            "--after",
            "30000",
            "--out",
            saved.to_str().unwrap(),
        ],
        &home,
    ));
    assert!(stderr.contains("paused after"), "{stderr}");
    let printed_before = first.trim_end_matches(&format!("{}\n", saved.display()));
    let (rest, _) = ok(&chunkvm(&["restore", saved.to_str().unwrap()], &home));
    assert_eq!(format!("{printed_before}{rest}"), expected);
    let (rest, _) = ok(&chunkvm(
        &["restore", saved.to_str().unwrap(), "--on", "embedded"],
        &home,
    ));
    assert_eq!(format!("{printed_before}{rest}"), expected);

    let photo = small_photo(&scratch, &home);
    let local = scratch.path("local.png");
    let restored = scratch.path("restored.png");
    let filter = "filters/box_blur.chop";
    ok(&chunkvm(
        &[
            "run",
            filter,
            "--input",
            photo.to_str().unwrap(),
            "--output",
            local.to_str().unwrap(),
        ],
        &home,
    ));
    ok(&chunkvm(
        &[
            "snapshot",
            filter,
            "--input",
            photo.to_str().unwrap(),
            "--after",
            "20000",
            "--out",
            saved.to_str().unwrap(),
        ],
        &home,
    ));
    ok(&chunkvm(
        &[
            "restore",
            saved.to_str().unwrap(),
            "--output",
            restored.to_str().unwrap(),
        ],
        &home,
    ));
    assert_eq!(
        std::fs::read(&restored).unwrap(),
        std::fs::read(&local).unwrap()
    );
}

#[test]
fn the_migration_benchmark_runs_and_checks_each_image() {
    let scratch = Scratch::new("bench");
    let home = scratch.path("home");
    let (table, _) = ok(&chunkvm(&["bench", "--nodes", "--quick"], &home));
    for policy in ["eager", "on-demand", "graph"] {
        assert_eq!(
            table
                .lines()
                .filter(|line| line.starts_with(policy))
                .count(),
            2,
            "{policy}: {table}"
        );
    }
    assert!(
        table.contains("bytes@first")
            && table.contains("/ local")
            && table.contains("split over 2 nodes"),
        "{table}"
    );
}

#[test]
fn a_split_over_local_and_two_nodes_gives_a_local_run_and_survives_a_dead_node() {
    let scratch = Scratch::new("split");
    let home = scratch.path("home");
    let token = scratch.path("cluster-token");
    std::fs::write(&token, "b".repeat(64)).unwrap();
    let token = token.to_str().unwrap();
    let a = Node::start(&scratch.path("a"), "a", &["--token-file", token]);
    let b = Node::start(&scratch.path("b"), "b", &["--token-file", token]);
    let photo = small_photo(&scratch, &home);
    let photo = photo.to_str().unwrap();
    let filter = "filters/pipelines/old_photo.chop";
    let local = scratch.path("local.png");
    let local_arg = local.to_str().unwrap();
    ok(&chunkvm(
        &["run", filter, "--input", photo, "--output", local_arg],
        &home,
    ));
    let split = scratch.path("split.png");
    let members = format!("local,{},{}", a.addr, b.addr);
    let (_, stderr) = ok(&chunkvm(
        &[
            "run",
            filter,
            "--input",
            photo,
            "--output",
            split.to_str().unwrap(),
            "--split",
            &members,
            "--wait-for-all",
            "--token-file",
            token,
        ],
        &home,
    ));
    assert_eq!(stderr.matches("split: ").count(), 3, "{stderr}");
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert_eq!(
        std::fs::read(&split).unwrap(),
        std::fs::read(&local).unwrap(),
        "the split output differs from a local run\n{stderr}"
    );
    // Node b killed as the run starts: a warning, and the same output.
    let dead = b.addr.clone();
    drop(b);
    let _ = std::fs::remove_file(&split);
    let members = format!("local,{},{dead}", a.addr);
    let (_, stderr) = ok(&chunkvm(
        &[
            "run",
            filter,
            "--input",
            photo,
            "--output",
            split.to_str().unwrap(),
            "--split",
            &members,
            "--token-file",
            token,
        ],
        &home,
    ));
    assert!(
        stderr.contains(&format!("warning: {dead}")),
        "no warning for the dead node: {stderr}"
    );
    assert_eq!(
        std::fs::read(&split).unwrap(),
        std::fs::read(&local).unwrap(),
        "the split output without node b differs from a local run\n{stderr}"
    );
    // A program is one thread: --split is for photos.
    let out = chunkvm(&["run", PROGRAM, "--split", "local"], &home);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--split and --auto place a filter or pipeline"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plan_measures_a_node_and_says_where_to_run() {
    let scratch = Scratch::new("plan");
    let home = scratch.path("home");
    let node = Node::start(&scratch.path("a"), "a", &[]);
    let photo = small_photo(&scratch, &home);
    let photo = photo.to_str().unwrap();
    let filter = "filters/box_blur.chop";
    let (printed, stderr) = ok(&chunkvm(
        &[
            "plan",
            filter,
            "--input",
            photo,
            "--nodes",
            &node.addr,
            "--token-file",
            node.token(),
            "--format",
            "json",
        ],
        &home,
    ));
    let plan: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let choice = plan["choice"].as_str().unwrap();
    assert!(
        ["local", "split", node.addr.as_str()].contains(&choice),
        "{printed}\n{stderr}"
    );
    let measured = &plan["nodes"][0];
    assert_eq!(measured["node"], node.addr.as_str(), "{printed}");
    for key in ["rtt_ms", "bandwidth_bytes_per_s", "instructions_per_s"] {
        assert!(measured[key].as_f64().unwrap() > 0.0, "{key}: {printed}");
    }
    assert!(
        plan["job"]["instructions"].as_f64().unwrap() > 0.0,
        "{printed}"
    );
    assert_eq!(plan["estimates"].as_array().unwrap().len(), 3, "{printed}");
    // --auto follows a plan and makes what a local run makes.
    let local = scratch.path("local.png");
    ok(&chunkvm(
        &[
            "run",
            filter,
            "--input",
            photo,
            "--output",
            local.to_str().unwrap(),
        ],
        &home,
    ));
    let auto = scratch.path("auto.png");
    let (_, stderr) = ok(&chunkvm(
        &[
            "run",
            filter,
            "--input",
            photo,
            "--output",
            auto.to_str().unwrap(),
            "--auto",
            "--nodes",
            &node.addr,
            "--token-file",
            node.token(),
        ],
        &home,
    ));
    assert!(stderr.contains("plan: "), "{stderr}");
    assert_eq!(
        std::fs::read(&auto).unwrap(),
        std::fs::read(&local).unwrap(),
        "{stderr}"
    );
}
