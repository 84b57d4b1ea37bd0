#!/usr/bin/env bash
# Checks, before anything is built, that this machine has every tool the test suite
# needs, and names each one that is missing or too old, with how to get it. Sourced
# by scripts/test.sh; run it alone to check a machine: `bash scripts/requirements.sh`.
#
# The tools (README.md lists the same):
#   cargo and rustc 1.85+      the workspace
#   cc                         tree-sitter's parser (C), mimalloc, Neovim's parser build
#   python3 3.9+ with venv     the end-to-end tests (pytest-lsp, Neovim from PyPI)
#   node 18+ and npm           the VS Code extension's build, tests and package
#   git, timeout, sha256sum, mktemp
set -uo pipefail

chop_missing=()

# version_at_least HAVE WANT: whether dotted version HAVE >= WANT.
chop_version_at_least() {
    [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

chop_need() {
    local tool=$1 how=$2
    command -v "$tool" >/dev/null 2>&1 || chop_missing+=("$tool: not found ($how)")
}

chop_need cargo "install Rust 1.85 or later with rustup"
chop_need rustc "install Rust 1.85 or later with rustup"
chop_need cc "install a C compiler: apt-get install build-essential"
chop_need "${PYTHON:-python3}" "install Python 3.9 or later: apt-get install python3 python3-venv"
chop_need node "install Node.js 18 or later: apt-get install nodejs npm"
chop_need npm "install npm: apt-get install npm"
chop_need git "apt-get install git"
chop_need timeout "install GNU coreutils"
chop_need sha256sum "install GNU coreutils"
chop_need mktemp "install GNU coreutils"

if command -v rustc >/dev/null 2>&1; then
    have=$(rustc --version | awk '{print $2}')
    chop_version_at_least "$have" 1.85 || chop_missing+=("rustc: $have is too old (1.85 or later: rustup update)")
fi
if command -v "${PYTHON:-python3}" >/dev/null 2>&1; then
    have=$("${PYTHON:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    chop_version_at_least "$have" 3.9 || chop_missing+=("python3: $have is too old (3.9 or later)")
    "${PYTHON:-python3}" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
        chop_missing+=("python3: no venv module (apt-get install python3-venv)")
fi
if command -v node >/dev/null 2>&1; then
    have=$(node --version | tr -d v)
    chop_version_at_least "$have" 18 || chop_missing+=("node: $have is too old (18 or later)")
fi

if [[ ${#chop_missing[@]} -gt 0 ]]; then
    echo "The test suite needs tools this machine lacks:" >&2
    printf '  - %s\n' "${chop_missing[@]}" >&2
    # Sourced: return to the caller, who stops; run alone: exit.
    return 1 2>/dev/null || exit 1
fi
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    echo "requirements: every tool the test suite needs is here"
fi
