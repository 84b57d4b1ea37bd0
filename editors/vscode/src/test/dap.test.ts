// The debugger helpers: what F5 debugs without launch.json (and what it asks),
// the migrate request's arguments and answer, and the Chunks view's tree.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ChunkList,
  ChunkRow,
  childRows,
  chunkTree,
  debuggables,
  DebugPrompts,
  describeMigration,
  formatBytes,
  lensLaunch,
  migrateArguments,
  migrateTargets,
  migrateThread,
  parseChunkList,
  parseMigration,
  residenceMap,
  resolveLaunch,
} from '../dap';

/** Prompts that answer as told and record what was asked. */
function prompts(target: string | undefined, photo: string | null | undefined): DebugPrompts & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    pickTarget: async (targets) => {
      asked.push(`target:${targets.map((t) => t.name).join(',')}`);
      return targets.find((t) => t.name === target);
    },
    pickPhoto: async () => {
      asked.push('photo');
      return photo;
    },
  };
}

const TWO_FILTERS = 'param r: int = 1;\nfilter soft(c: color) -> color { c }\n// filter old(c: color) -> color { c }\npipeline both = soft |> soft;\n';

test('debuggables finds main and the filters and pipelines that start a line', () => {
  assert.deepEqual(debuggables(TWO_FILTERS), {
    hasMain: false,
    targets: [
      { kind: 'filter', name: 'soft', line: 1 },
      { kind: 'pipeline', name: 'both', line: 3 },
    ],
  });
  assert.equal(debuggables('fn helper() {}\nfn main() {\n}\n').hasMain, true);
  assert.equal(debuggables('fn mainly() {}\n// fn main() {}\n').hasMain, false);
});

test('F5 without launch.json debugs main without asking', async () => {
  const ask = prompts(undefined, undefined);
  const { config, problem } = await resolveLaunch({}, { path: '/w/tour.chop', text: 'fn main() {}\nfilter f(c: color) -> color { c }\n' }, ask);
  assert.equal(problem, undefined);
  assert.deepEqual(config, { type: 'chop', request: 'launch', name: 'Debug main', program: '/w/tour.chop', function: 'main' });
  assert.deepEqual(ask.asked, []);
});

test('F5 on a file of filters asks which one and the photo', async () => {
  const ask = prompts('both', '/photos/cat.jpg');
  const { config } = await resolveLaunch({}, { path: '/w/two.chop', text: TWO_FILTERS }, ask);
  assert.deepEqual(ask.asked, ['target:soft,both', 'photo']);
  assert.deepEqual(config, {
    type: 'chop',
    request: 'launch',
    name: 'Debug pipeline both',
    program: '/w/two.chop',
    pipeline: 'both',
    input: '/photos/cat.jpg',
  });
});

test('one filter is not asked for; the bundled photo leaves input out', async () => {
  const ask = prompts(undefined, null);
  const { config } = await resolveLaunch({}, { path: '/w/one.chop', text: 'filter inv(c: color) -> color { c }\n' }, ask);
  assert.deepEqual(ask.asked, ['photo']);
  assert.equal(config?.filter, 'inv');
  assert.equal(config?.input, undefined);
});

test('cancelling a pick debugs nothing, and says nothing', async () => {
  assert.deepEqual(await resolveLaunch({}, { path: '/w/two.chop', text: TWO_FILTERS }, prompts(undefined, '/p.png')), {});
  assert.deepEqual(await resolveLaunch({}, { path: '/w/two.chop', text: TWO_FILTERS }, prompts('soft', undefined)), {});
});

test('no Chop file, nothing to debug, or an attach without node and thread: a problem; an attach with them is kept', async () => {
  assert.match((await resolveLaunch({}, undefined, prompts(undefined, null))).problem ?? '', /open a \.chop file/);
  assert.match(
    (await resolveLaunch({}, { path: '/w/p.chop', text: 'param p: int = 1;\n' }, prompts(undefined, null))).problem ?? '',
    /no fn main, filter or pipeline/,
  );
  assert.match((await resolveLaunch({ request: 'attach' }, undefined, prompts(undefined, null))).problem ?? '', /needs "node"/);
  const attach = await resolveLaunch({ request: 'attach', node: 'quic://127.0.0.1:7070', thread: 3 }, undefined, prompts(undefined, null));
  assert.equal(attach.config?.request, 'attach');
  assert.equal(attach.config?.type, 'chop');
  assert.equal(attach.config?.name, 'Attach to thread 3 on quic://127.0.0.1:7070');
  assert.match((await resolveLaunch({ request: 'other' }, undefined, prompts(undefined, null))).problem ?? '', /not "other"/);
});

test('a launch.json configuration is kept, with its blanks filled', async () => {
  const ask = prompts(undefined, undefined);
  const { config } = await resolveLaunch({ program: '/w/x.chop', filter: 'f', level: 2 }, undefined, ask);
  assert.deepEqual(config, { type: 'chop', request: 'launch', name: 'Debug /w/x.chop', program: '/w/x.chop', filter: 'f', level: 2 });
  // A configuration naming a filter but no program: the active file.
  const named = await resolveLaunch({ filter: 'soft' }, { path: '/w/two.chop', text: TWO_FILTERS }, ask);
  assert.equal(named.config?.program, '/w/two.chop');
  assert.equal(named.config?.filter, 'soft');
  assert.deepEqual(ask.asked, []);
  assert.deepEqual(lensLaunch('/w/two.chop', 'soft'), {
    type: 'chop',
    request: 'launch',
    name: 'Debug filter soft',
    program: '/w/two.chop',
    filter: 'soft',
  });
});

test('migrate: local first, the nodes with their token and fingerprint', async () => {
  const targets = migrateTargets([{ name: 'pi3', address: 'quic://10.0.0.3:7070', tokenFile: '/t', fingerprint: 'ab' }, { name: 'b', address: 'quic://b:1' }]);
  assert.deepEqual(targets.map((t) => t.label), ['local', 'pi3', 'b']);
  assert.deepEqual(migrateArguments(1, targets[0]), { threadId: 1, node: 'local' });
  assert.deepEqual(migrateArguments(1, targets[1]), { threadId: 1, node: 'quic://10.0.0.3:7070', tokenFile: '/t', fingerprint: 'ab' });
  assert.deepEqual(migrateArguments(1, targets[2]), { threadId: 1, node: 'quic://b:1' });

  const sent: unknown[] = [];
  const session = {
    customRequest: async (command: string, args?: unknown) => {
      sent.push([command, args]);
      return { from: 'local', to: 'pi3', chunks: 48, bytes: 12912, ms: 3.6 };
    },
  };
  const moved = await migrateThread(session, 1, targets[1]);
  assert.deepEqual(sent, [['migrate', { threadId: 1, node: 'quic://10.0.0.3:7070', tokenFile: '/t', fingerprint: 'ab' }]]);
  assert.equal(describeMigration(moved), 'Moved the thread from local to pi3: 48 chunks (12.6 KB) in 3.6 ms');
  await assert.rejects(migrateThread({ customRequest: async () => ({ nonsense: true }) }, 1, targets[0]), /answered migrate/);
  await assert.rejects(
    migrateThread({ customRequest: async () => Promise.reject(new Error('no answer; the thread stays where it was')) }, 1, targets[1]),
    /stays where it was/,
  );
});

test('migration bodies: from null when the thread came home by itself', () => {
  const m = parseMigration({ threadId: 1, from: null, to: 'local', chunks: 3, bytes: 100, ms: 1 });
  assert.deepEqual(m, { threadId: 1, from: null, to: 'local', chunks: 3, bytes: 100, ms: 1 });
  assert.match(describeMigration(m!), /came back by itself/);
  assert.equal(parseMigration({ to: 'x' }), undefined);
  assert.equal(parseMigration(null), undefined);
  assert.equal(formatBytes(812), '812 B');
  assert.equal(formatBytes(12912), '12.6 KB');
  assert.equal(formatBytes(3.5 * 1024 * 1024), '3.5 MB');
});

const LIST: ChunkList = parseChunkList({
  root: 'd1.9',
  node: 'pi3',
  address: 'quic://10.0.0.3:7070',
  chunks: [
    { id: 'd1.9', kind: 'Thread', slotsUsed: 9, links: ['c:aa', 'd1.8'], residence: 'remote' },
    { id: 'd1.8', kind: 'Frame', slotsUsed: 9, links: ['d1.9', 'c:bb', 'c:gone'], residence: 'prefetched' },
    { id: 'c:aa', kind: 'Function', slotsUsed: 4, links: ['c:bb'], residence: 'fetched' },
    { id: 'c:bb', kind: 'Block', slotsUsed: 6, links: [], residence: 'here', current: true },
    { id: 'c:cc', kind: 'Block', slotsUsed: 2, links: [], residence: 'here' },
    { kind: 'Block' },
    'junk',
  ],
});

function labels(rows: ChunkRow[]): string[] {
  return rows.map((r) => `${r.label} | ${r.description}`);
}

test('the chunks answer is checked', () => {
  assert.equal(LIST.chunks.length, 5);
  assert.equal(LIST.node, 'pi3');
  assert.deepEqual(parseChunkList(null), { root: null, node: null, address: null, chunks: [] });
});

test('the Chunks view: the current block, the root, groups by residence and by kind', () => {
  const rows = chunkTree(LIST);
  assert.deepEqual(labels(rows), [
    'Current block c:bb | 6/32 slots · here · current',
    'Thread d1.9 | 9/32 slots · remote · 2 links',
    'here | 2 chunks',
    'prefetched | 1 chunk',
    'fetched | 1 chunk',
    'remote | 1 chunk',
    'Block | 2 chunks',
    'Frame | 1 chunk',
    'Function | 1 chunk',
    'Thread | 1 chunk',
  ]);
  assert.deepEqual(labels(childRows(LIST, rows[2])), [
    'Block c:bb | 6/32 slots · here · current',
    'Block c:cc | 2/32 slots · here',
  ]);
  assert.deepEqual(labels(childRows(LIST, rows[6])).length, 2);
});

test('the Chunks view expands along links, not back up the path, and names missing chunks', () => {
  const [root] = chunkTree(LIST).filter((r) => r.type === 'chunk' && r.chunk.kind === 'Thread');
  const links = childRows(LIST, root);
  assert.deepEqual(labels(links), ['Function c:aa | 4/32 slots · fetched · 1 link', 'Frame d1.8 | 9/32 slots · prefetched · 3 links']);
  const frame = links[1];
  const under = childRows(LIST, frame);
  assert.deepEqual(labels(under), [
    'Thread d1.9 | 9/32 slots · remote · 2 links · (above)',
    'Block c:bb | 6/32 slots · here · current',
    'c:gone | not listed',
  ]);
  assert.equal(under[0].type === 'chunk' && under[0].expandable, false);
  assert.deepEqual(childRows(LIST, under[0]), []);
  assert.deepEqual(childRows(LIST, under[2]), []);
});

test('an empty answer makes no groups; unknown residences get their own group', () => {
  assert.deepEqual(chunkTree(parseChunkList({ chunks: [] })), []);
  const odd = chunkTree(parseChunkList({ root: null, chunks: [{ id: 'x', kind: 'Array', slotsUsed: 1, links: [], residence: 'moon' }] }));
  assert.deepEqual(labels(odd), ['moon | 1 chunk', 'Array | 1 chunk']);
});

test('the residence map colours the graph', () => {
  assert.deepEqual(residenceMap(LIST), {
    residence: { 'd1.9': 'remote', 'd1.8': 'prefetched', 'c:aa': 'fetched', 'c:bb': 'here', 'c:cc': 'here' },
    current: 'c:bb',
    node: 'pi3',
  });
});
