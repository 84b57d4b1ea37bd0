#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of the workspace.
# Installs nothing beyond the Rust toolchain for now; later issues add their
# real-client tests (Python venv, Neovim, npm) here.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== the README's first command"
cargo run --locked -q -p chunkvm -- run samples/tour.chop > /dev/null
