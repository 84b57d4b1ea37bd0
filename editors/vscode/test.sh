#!/usr/bin/env bash
# Builds, tests and packages the VS Code extension of Chop:
#   npm ci; tsc (strict); node --test on the compiled tests (webview HTML
#   builders and their scripts, helpers, the TextMate grammar, package.json;
#   and, when CHOP_LSP names a chop-lsp binary, the extension's requests
#   against the real server: without it they are skipped, with a line that
#   says so, and in CI (CI set) they fail; likewise, when CHOP_DAP names a
#   chop-dap binary (or one is beside CHOP_LSP) and chunkvm is beside it or in
#   CHUNKVM, a debug session driven by the extension's helpers, migrated to a
#   `chunkvm serve` on 127.0.0.1 that the test starts and stops); vsce package
#   (with the LICENSE and the repository of package.json), then a check of the
#   .vsix (a zip with extension/package.json), which is removed afterwards.
# No VS Code instance is started. Exits non-zero if any step fails.
set -euo pipefail
cd "$(dirname "$0")"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

echo "== vscode: npm ci"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

echo "== vscode: compile (tsc, strict)"
rm -rf out
npm run --silent compile

echo "== vscode: tests (node --test)${CHOP_LSP:+, with chop-lsp at $CHOP_LSP}${CHOP_DAP:+, with chop-dap at $CHOP_DAP}"
npm test --silent

echo "== vscode: vsce package"
VSIX=chop.vsix
rm -f "$VSIX"
trap 'rm -f "$VSIX"' EXIT
npx --no-install vsce package --out "$VSIX" >/dev/null
[[ -s $VSIX ]] || { echo "vscode: no $VSIX was made" >&2; exit 1; }
node - "$VSIX" <<'JS'
// A .vsix is a zip: read its central directory (no unzip needed) and check
// what is in it.
const fs = require('node:fs');
const file = process.argv[2];
const zip = fs.readFileSync(file);
const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
if (eocd < 0) throw new Error(`${file} is not a zip`);
const count = zip.readUInt16LE(eocd + 10);
let at = zip.readUInt32LE(eocd + 16);
const names = [];
for (let i = 0; i < count; i++) {
  if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
  const nameLength = zip.readUInt16LE(at + 28);
  const extra = zip.readUInt16LE(at + 30);
  const comment = zip.readUInt16LE(at + 32);
  names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
  at += 46 + nameLength + extra + comment;
}
const need = [
  'extension/package.json',
  'extension/out/extension.js',
  'extension/out/webview.js',
  'extension/out/util.js',
  'extension/out/debug.js',
  'extension/out/dap.js',
  'extension/out/nodes.js',
  'extension/license.txt',
  'extension/syntaxes/chop.tmLanguage.json',
  'extension/language-configuration.json',
  'extension/readme.md',
  'extension/node_modules/vscode-languageclient/package.json',
];
const lower = names.map((n) => n.toLowerCase());
const missing = need.filter((n) => !lower.includes(n.toLowerCase()));
const unwanted = names.filter((n) => /^extension\/(src\/|out\/test\/|node_modules\/(typescript|@types|@vscode\/vsce)\/)|\.ts$|\.map$/.test(n));
if (missing.length || unwanted.length) {
  throw new Error(`${file}: missing ${missing.join(', ') || 'nothing'}; unwanted ${unwanted.slice(0, 5).join(', ') || 'nothing'}`);
}
console.log(`vscode: ${file} holds ${names.length} files (${Math.round(zip.length / 1024)} KiB), extension/package.json among them`);
JS
echo "vscode: all passed"
