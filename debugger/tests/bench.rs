//! `chop-dap bench --quick --steps 20` runs to its end and prints its table (the
//! figures are not checked: it is a benchmark, not a timed test).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn bench_quick_prints_its_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_chop-dap"))
        .args(["bench", "--quick", "--steps", "20"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("20 steps"), "{stdout}");
    for row in [
        "step: next+stopped+stackTrace+scopes+vars",
        " us  p50",
        " us  p99 < 2000 us",
        " us  max",
        "step on a node (127.0.0.1, QUIC)",
        " us  p99 < 10000 us",
        "run, breakpoints set (best of 3)",
        "run, no debugger, JIT (best of 3)",
        "ratio: breakpoints set / no debugger, JIT",
        "<= 1.5x",
        "run, no debugger, no JIT (best of 3)",
        "ratio: breakpoints set / no debugger, no JIT",
    ] {
        assert!(stdout.contains(row), "no {row:?} in:\n{stdout}");
    }
}

#[test]
fn bench_refuses_a_bad_step_count() {
    let out = Command::new(env!("CARGO_BIN_EXE_chop-dap"))
        .args(["bench", "--steps", "zero"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--steps \"zero\""), "{stderr}");
}
