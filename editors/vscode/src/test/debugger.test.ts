// Against the real chop-dap and chunkvm (CHOP_DAP names chop-dap, as
// scripts/e2e.sh sets it; without it, chop-dap beside CHOP_LSP; chunkvm from
// CHUNKVM or beside chop-dap): the extension's helpers drive a session as the
// extension does: a breakpoint, a stop, the `chunks` request and its tree,
// "Migrate Thread to Node…" to a node this test starts with `chunkvm serve`
// on 127.0.0.1 (the Nodes view's query sees it), a step there, home again, and
// the end. Without the binaries the test is skipped, and says so; in CI that
// is a failure.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  chunkTree,
  describeMigration,
  fetchChunks,
  migrateTargets,
  migrateThread,
  parseMigration,
  residenceMap,
} from '../dap';
import { LocalNode, queryNodes, startNode, toolCommand } from '../nodes';
import { fitSvg } from '../webview';
import { DapClient } from './dapclient';
import { inCi } from './env';

const REPO = path.join(__dirname, '..', '..', '..', '..');

/** chop-dap: CHOP_DAP, else beside CHOP_LSP (as the extension finds it beside the server); `undefined` when there is none. */
function adapterPath(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CHOP_DAP) {
    return env.CHOP_DAP;
  }
  if (env.CHOP_LSP) {
    const found = toolCommand('chop-dap', { configured: '', serverPath: env.CHOP_LSP });
    return path.isAbsolute(found) ? found : undefined;
  }
  return undefined;
}

const DAP = adapterPath(process.env);
const CLI = process.env.CHUNKVM ?? (DAP ? toolCommand('chunkvm', { configured: '', serverPath: DAP }) : undefined);
const READY = DAP !== undefined && fs.existsSync(DAP) && CLI !== undefined && path.isAbsolute(CLI) && fs.existsSync(CLI);
const MISSING =
  'CHOP_DAP (or CHOP_LSP with chop-dap beside it) and chunkvm are not there: the debugger is not tested against chop-dap ' +
  '(cargo build -p chop-dap -p chunkvm-cli --bins, then CHOP_DAP=$PWD/target/debug/chop-dap)';

if (!READY) {
  if (inCi(process.env)) {
    test('chop-dap and chunkvm are there in CI', () => {
      assert.fail(`${MISSING}; in CI that is a failure`);
    });
  } else {
    console.log(`debugger.test: skipped: ${MISSING}`);
  }
}

/** The 1-based line of the marker comment `// #NAME` in `text`. */
function markerLine(text: string, name: string): number {
  const index = text.split('\n').findIndex((l) => new RegExp(`// #${name}\\b(?!-)`).test(l));
  assert.ok(index >= 0, `marker #${name}`);
  return index + 1;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')}: ${stderr || error.message}`)) : resolve(String(stdout)),
    ),
  );
}

test('a session driven through the extension\'s helpers migrates to a chunkvm node and back', { skip: READY ? false : MISSING, timeout: 180_000 }, async () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'chop-vscode-dap-'));
  const env = { ...process.env, XDG_STATE_HOME: path.join(scratch, 'state'), HOME: scratch };
  let node: LocalNode | undefined;
  const client = new DapClient(DAP as string, env);
  try {
    node = await startNode(CLI as string, 'vsc-test', path.join(scratch, 'node'));
    assert.match(node.address, /^quic:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(node.name, 'vsc-test');
    assert.ok(fs.existsSync(node.tokenFile), node.tokenFile);

    // The Nodes view's query.
    const statuses = await queryNodes(CLI as string, [{ name: 'vsc-test', address: node.address, tokenFile: node.tokenFile }]);
    const status = statuses.get(node.address);
    assert.equal(status?.name, 'vsc-test');
    assert.equal(status?.status, 'idle');

    const program = path.join(REPO, 'debugger', 'tests', 'data', 'loop.chop');
    const text = fs.readFileSync(program, 'utf8');
    const init = await client.send('initialize', { adapterID: 'chop', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    assert.ok(init.success, init.message);
    const launched = await client.send('launch', { program, function: 'main' });
    assert.ok(launched.success, launched.message);
    await client.waitEvent((m) => m.event === 'initialized');
    const square = markerLine(text, 'SQUARE');
    const bps = await client.send('setBreakpoints', { source: { path: program }, breakpoints: [{ line: square }] });
    assert.ok(bps.success, bps.message);
    await client.send('configurationDone', {});
    const stopped = await client.waitEvent((m) => m.event === 'stopped');
    assert.equal(stopped.body?.reason, 'breakpoint');

    // The Chunks view's data: everything here, the current block among them.
    const before = await fetchChunks(client, 1);
    assert.equal(before.node, null);
    assert.ok(before.root, 'a Thread chunk');
    assert.ok(before.chunks.length > 3, `${before.chunks.length} chunks`);
    assert.ok(before.chunks.every((c) => c.residence === 'here'));
    const current = before.chunks.find((c) => c.current);
    assert.ok(current, 'a current block');
    assert.equal(current.kind, 'Block');
    const tree = chunkTree(before);
    assert.equal(tree[0].label, `Current block ${current.id}`);
    assert.ok(tree.some((r) => r.type === 'group' && r.key === 'residence:here'));
    assert.ok(!tree.some((r) => r.type === 'group' && r.key === 'residence:remote'));

    // The chunk graph's blocks carry the chunk ids the adapter names.
    const svg = await run(CLI as string, ['graph', program, '--fn', 'square', '--format', 'svg']);
    assert.ok(fitSvg(svg).svg.includes(`data-id="${current.id}"`), `the graph of square has a block ${current.id}`);
    assert.equal(residenceMap(before).current, current.id);

    // Migrate Thread to Node…: the picker's entry for the node.
    const target = migrateTargets([{ name: 'vsc-test', address: node.address, tokenFile: node.tokenFile, fingerprint: node.fingerprint }])[1];
    const moved = await migrateThread(client, 1, target);
    assert.equal(moved.from, 'local');
    assert.equal(moved.to, 'vsc-test');
    assert.ok(moved.chunks > 0 && moved.bytes > 0, describeMigration(moved));
    assert.match(describeMigration(moved), /^Moved the thread from local to vsc-test: \d+ chunks \(/);
    const event = await client.waitEvent((m) => m.event === 'chunkvm/migrated');
    assert.equal(parseMigration(event.body)?.to, 'vsc-test');
    const threads = await client.customRequest('threads');
    const names = ((threads as { threads: { name: string }[] }).threads ?? []).map((t) => t.name);
    assert.ok(names.some((n) => n.includes('vsc-test')), `thread names: ${names.join(', ')}`);

    const there = await fetchChunks(client, 1);
    assert.equal(there.node, 'vsc-test');
    assert.ok(there.chunks.some((c) => c.residence !== 'here'), 'some chunks live on the node');
    assert.ok(chunkTree(there).some((r) => r.type === 'group' && r.key !== 'residence:here' && r.key.startsWith('residence:')));

    // A step on the node.
    const stepped = client.waitEvent((m) => m.event === 'stopped', 60_000, true);
    const next = await client.send('next', { threadId: 1 });
    assert.ok(next.success, next.message);
    assert.equal((await stepped).body?.reason, 'step');
    const stack = (await client.customRequest('stackTrace', { threadId: 1 })) as { stackFrames: { line: number; name: string }[] };
    assert.equal(stack.stackFrames[0].line, markerLine(text, 'SQUARE-RETURN'));

    // Home again, then to the end.
    const home = await migrateThread(client, 1, migrateTargets([])[0]);
    assert.equal(home.to, 'local');
    assert.equal(home.from, 'vsc-test');
    assert.equal((await fetchChunks(client, 1)).node, null);
    await client.send('setBreakpoints', { source: { path: program }, breakpoints: [] });
    const exited = client.waitEvent((m) => m.event === 'exited');
    await client.send('continue', { threadId: 1 });
    assert.equal((await exited).body?.exitCode, 0);
  } finally {
    await client.close();
    if (node?.process.pid !== undefined && node.process.exitCode === null) {
      process.kill(node.process.pid);
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
