#!/usr/bin/env bash
# The whole test suite: formatting, lints, every test of the workspace, the
# README's first command, and the end-to-end tests with real clients
# (scripts/e2e.sh installs pytest-lsp and Neovim into .venv from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== requirements"
source scripts/requirements.sh || exit 1

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== the README's first command (into a temporary folder)"
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT
printed=$(cargo run --locked -q --bin chunkvm -- run filters/pipelines/old_photo.chop --output "$out_dir/old_photo.png" --on embedded 2> "$out_dir/stderr")
cat "$out_dir/stderr"
test "$printed" = "$out_dir/old_photo.png" && test -s "$out_dir/old_photo.png"
grep -q "migrated to the embedded node" "$out_dir/stderr"
cargo run --locked -q --bin chunkvm -- run filters/pipelines/old_photo.chop --output "$out_dir/local.png" > /dev/null
cmp "$out_dir/old_photo.png" "$out_dir/local.png"
cargo run --locked -q --bin chunkvm -- run samples/tour.chop > /dev/null

echo "== end-to-end tests with real clients"
bash scripts/e2e.sh
