// The nodes helpers: the chop.nodes setting, where chop-dap and chunkvm are
// found, `chunkvm nodes --format json` read, and `chunkvm serve`'s stdout.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  describeStatus,
  isNodeAddress,
  nextLocalName,
  nodesCommands,
  parseNodeSettings,
  parseNodesJson,
  queryNodes,
  ServeOutput,
  serveArgs,
  startNode,
  toolCommand,
} from '../nodes';

test('chop.nodes: good entries kept, bad ones named', () => {
  const { nodes, problems } = parseNodeSettings(
    [
      { name: 'pi3', address: 'quic://10.0.0.3:7070', tokenFile: '~/pi3.token', fingerprint: ' ab12 ' },
      { address: ' quic://[::1]:7071 ' },
      { name: 'rel', address: 'quic://h:1', tokenFile: 'tokens/rel' },
      { name: 'pi3', address: 'quic://10.0.0.4:7070' },
      { name: 'local', address: 'quic://10.0.0.5:7070' },
      { name: 'bad', address: 'http://x:1' },
      { name: 'noport', address: 'quic://x' },
      42,
    ],
    '/work',
  );
  assert.deepEqual(nodes, [
    { name: 'pi3', address: 'quic://10.0.0.3:7070', tokenFile: path.join(os.homedir(), 'pi3.token'), fingerprint: 'ab12' },
    { name: 'quic://[::1]:7071', address: 'quic://[::1]:7071' },
    { name: 'rel', address: 'quic://h:1', tokenFile: path.join('/work', 'tokens/rel') },
  ]);
  assert.equal(problems.length, 5);
  assert.match(problems[0], /chop\.nodes\[3\]: the name "pi3" is taken/);
  assert.match(problems[1], /"local" is taken/);
  assert.match(problems[2], /"http:\/\/x:1" is not quic:\/\/HOST:PORT/);
  assert.match(problems[4], /chop\.nodes\[7\] is not an object/);
  assert.deepEqual(parseNodeSettings(undefined), { nodes: [], problems: [] });
  assert.match(parseNodeSettings({}).problems[0], /not an array/);
  assert.ok(isNodeAddress('quic://127.0.0.1:45619'));
  assert.ok(!isNodeAddress('quic://127.0.0.1'));
});

test('chop-dap and chunkvm: their setting, else beside the server, else PATH', () => {
  const there = new Set(['/opt/chop/bin/chop-dap', '/work/target/debug/chunkvm']);
  const exists = (f: string) => there.has(f);
  // Its own setting wins, as given (a bare name stays a PATH lookup).
  assert.equal(toolCommand('chop-dap', { configured: '/x/chop-dap', serverPath: '/opt/chop/bin/chop-lsp', exists }), '/x/chop-dap');
  assert.equal(toolCommand('chop-dap', { configured: 'my-dap', serverPath: '/opt/chop/bin/chop-lsp', exists }), 'my-dap');
  assert.equal(toolCommand('chop-dap', { configured: 'bin/dap', serverPath: '', workspaceFolder: '/w', exists }), path.join('/w', 'bin/dap'));
  assert.equal(toolCommand('chop-dap', { configured: '~/dap', serverPath: '', exists }), path.join(os.homedir(), 'dap'));
  // Beside the server when the file is there.
  assert.equal(toolCommand('chop-dap', { configured: '', serverPath: '/opt/chop/bin/chop-lsp', exists }), '/opt/chop/bin/chop-dap');
  assert.equal(
    toolCommand('chunkvm', { configured: ' ', serverPath: 'target/debug/chop-lsp', workspaceFolder: '/work', exists }),
    '/work/target/debug/chunkvm',
  );
  // Not there, or the server is a bare command: PATH.
  assert.equal(toolCommand('chunkvm', { configured: undefined, serverPath: '/opt/chop/bin/chop-lsp', exists }), 'chunkvm');
  assert.equal(toolCommand('chop-dap', { configured: undefined, serverPath: 'chop-lsp', exists: () => true }), 'chop-dap');
  assert.equal(toolCommand('chop-dap', { configured: 7, serverPath: undefined, exists }), 'chop-dap');
});

const NODES_JSON = `[
  { "chunks": 12, "load": 0, "name": "local-1", "node": "quic://127.0.0.1:45619", "rtt_ms": 0.453, "status": "idle", "threads": 0 },
  { "chunks": 40, "load": 2, "name": "pi3", "node": "quic://10.0.0.3:7070", "rtt_ms": 3.1, "status": "busy", "threads": 1 },
  { "error": "no answer within 5 s", "node": "quic://127.0.0.1:1", "status": "dead" },
  { "status": "idle" }
]`;

test('chunkvm nodes --format json is read', () => {
  const statuses = parseNodesJson(NODES_JSON);
  assert.deepEqual(statuses, [
    { node: 'quic://127.0.0.1:45619', name: 'local-1', status: 'idle', threads: 0, chunks: 12, load: 0, rttMs: 0.453 },
    { node: 'quic://10.0.0.3:7070', name: 'pi3', status: 'busy', threads: 1, chunks: 40, load: 2, rttMs: 3.1 },
    { node: 'quic://127.0.0.1:1', status: 'dead', error: 'no answer within 5 s' },
  ]);
  assert.equal(describeStatus(statuses[0]), 'idle · 0 threads · 12 chunks · load 0 · 0.453 ms');
  assert.equal(describeStatus(statuses[1]), 'busy · 1 thread · 40 chunks · load 2 · 3.1 ms');
  assert.equal(describeStatus(statuses[2]), 'dead: no answer within 5 s');
  assert.equal(describeStatus(undefined), 'unknown');
  assert.throws(() => parseNodesJson('error: no token'), /printed no JSON/);
  assert.throws(() => parseNodesJson('{}'), /not an array/);
});

test('one chunkvm nodes per token file', () => {
  assert.deepEqual(
    nodesCommands([
      { name: 'a', address: 'quic://a:1', tokenFile: '/t1' },
      { name: 'b', address: 'quic://b:1' },
      { name: 'c', address: 'quic://c:1', tokenFile: '/t1' },
    ]),
    [
      ['nodes', 'quic://a:1', 'quic://c:1', '--token-file', '/t1', '--format', 'json'],
      ['nodes', 'quic://b:1', '--format', 'json'],
    ],
  );
  assert.deepEqual(nodesCommands([]), []);
});

test('a chunkvm that cannot run marks its nodes dead, with why', async () => {
  const statuses = await queryNodes(path.join(os.tmpdir(), 'no-such-chunkvm-here'), [{ name: 'a', address: 'quic://a:1' }]);
  assert.equal(statuses.get('quic://a:1')?.status, 'dead');
  assert.match(statuses.get('quic://a:1')?.error ?? '', /ENOENT|not found/);
});

test('chunkvm serve: its three lines, in pieces', () => {
  const out = new ServeOutput();
  assert.equal(out.push('node local-2 listening on quic://127.0.0.1:4'), undefined);
  assert.equal(out.push('5619\nfingerprint f25ef6814430eeb91a8fede1278d555e\n'), undefined);
  assert.deepEqual(out.push('token file /home/me/.local/state/chunkvm/token\r\n'), {
    name: 'local-2',
    address: 'quic://127.0.0.1:45619',
    fingerprint: 'f25ef6814430eeb91a8fede1278d555e',
    tokenFile: '/home/me/.local/state/chunkvm/token',
  });
  assert.deepEqual(serveArgs('local-2', '/s'), ['serve', '--listen', '127.0.0.1:0', '--name', 'local-2', '--state', '/s']);
  assert.deepEqual(serveArgs('local-2'), ['serve', '--listen', '127.0.0.1:0', '--name', 'local-2']);
  assert.equal(nextLocalName([]), 'local-1');
  assert.equal(nextLocalName(['local-1', 'pi3', 'local-3']), 'local-2');
});

test('a chunkvm serve that exits before it listens is an error', async () => {
  // Node stands in for chunkvm: it takes `serve` for a script that is not there and exits with status 1.
  await assert.rejects(startNode(process.execPath, 'x', undefined, 10_000), /chunkvm serve exited \(status 1\): .*serve/s);
});
