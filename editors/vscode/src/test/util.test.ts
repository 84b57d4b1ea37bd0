// The pure helpers of the extension.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cleanParamValues,
  colorToHex,
  findTargets,
  GraphNode,
  ParamInfo,
  paramsSignature,
  parseRevealMessage,
  revealTarget,
  serverCommand,
  serverSettings,
  targetAt,
} from '../util';

test('serverSettings maps the chop.preview settings and chop.lib to the server fields', () => {
  assert.deepEqual(serverSettings('', null), { previewPhoto: null, previewLevel: null, lib: [] });
  assert.deepEqual(serverSettings(' photos/cat.jpg ', 2), { previewPhoto: 'photos/cat.jpg', previewLevel: 2, lib: [] });
  assert.deepEqual(serverSettings(undefined, -1), { previewPhoto: null, previewLevel: null, lib: [] });
  assert.deepEqual(serverSettings(3, 1.5), { previewPhoto: null, previewLevel: null, lib: [] });
  assert.deepEqual(serverSettings('a.png', 64), { previewPhoto: 'a.png', previewLevel: null, lib: [] });
  assert.deepEqual(serverSettings('', null, [' ../my-filters ', '', 3, '/opt/chop']).lib, ['../my-filters', '/opt/chop']);
  assert.deepEqual(serverSettings('', null, 'filters').lib, []);
});

test('serverCommand: PATH names, home, absolute and workspace-relative paths', () => {
  assert.equal(serverCommand(undefined), 'chop-lsp');
  assert.equal(serverCommand('  '), 'chop-lsp');
  assert.equal(serverCommand('chop-lsp', '/ws'), 'chop-lsp');
  assert.equal(serverCommand('/opt/bin/chop-lsp', '/ws'), '/opt/bin/chop-lsp');
  assert.equal(serverCommand('target/debug/chop-lsp', '/ws'), path.join('/ws', 'target/debug/chop-lsp'));
  assert.equal(serverCommand('target/debug/chop-lsp'), 'target/debug/chop-lsp');
  assert.equal(serverCommand('~/bin/chop-lsp'), path.join(os.homedir(), 'bin/chop-lsp'));
});

test('findTargets finds filters and pipelines at the start of lines', () => {
  const text = [
    '//! demo',
    '// filter commented(c: color) -> color { c }',
    'filter invert(c: color) -> color {',
    '    rgba(1.0 - c.r, 1.0 - c.g, 1.0 - c.b, c.a)',
    '}',
    'fn helper() {}',
    '  pipeline dark = invert |> invert;',
    'let filtered = 1;',
  ].join('\r\n');
  const targets = findTargets(text);
  assert.deepEqual(targets, [
    { kind: 'filter', name: 'invert', line: 2 },
    { kind: 'pipeline', name: 'dark', line: 6 },
  ]);
  assert.equal(targetAt(targets, 0), undefined);
  assert.equal(targetAt(targets, 4)?.name, 'invert');
  assert.equal(targetAt(targets, 9)?.name, 'dark');
});

const NODES: GraphNode[] = [
  {
    id: 'c:1',
    kind: 'block',
    block: 0,
    label: 'b0',
    instrs: [],
    range: { start: { line: 9, column: 8 }, end: { line: 9, column: 15 } },
    location: { start: { line: 8, character: 7 }, end: { line: 8, character: 14 } },
  },
  {
    id: 'c:2',
    kind: 'block',
    block: 1,
    label: 'b1',
    instrs: [],
    range: { start: { line: 10, column: 5 }, end: { line: 10, column: 9 } },
    location: null,
  },
];

test('revealTarget: the block location, else data-line/data-col made 0-based', () => {
  assert.deepEqual(revealTarget(NODES, { type: 'reveal', block: 0, line: 9, col: 8 }), { line: 8, character: 7 });
  assert.deepEqual(revealTarget(NODES, { type: 'reveal', block: 1, line: 10, col: 5 }), { line: 9, character: 4 });
  assert.deepEqual(revealTarget(NODES, { type: 'reveal', block: null, line: 3, col: null }), { line: 2, character: 0 });
  assert.equal(revealTarget(NODES, { type: 'reveal', block: 7, line: null, col: null }), undefined);
  assert.equal(revealTarget(NODES, { type: 'reveal', block: null, line: 0, col: 1 }), undefined);
});

test('parseRevealMessage reads the attributes the webview posts', () => {
  assert.deepEqual(parseRevealMessage({ type: 'reveal', block: '1', line: '10', col: '5' }), {
    type: 'reveal',
    block: 1,
    line: 10,
    col: 5,
  });
  assert.deepEqual(parseRevealMessage({ type: 'reveal', block: null, line: 'x', col: '' }), {
    type: 'reveal',
    block: null,
    line: null,
    col: null,
  });
  assert.equal(parseRevealMessage({ type: 'params' }), undefined);
  assert.equal(parseRevealMessage('reveal'), undefined);
  assert.equal(parseRevealMessage(null), undefined);
});

const PARAMS: ParamInfo[] = [
  { name: 'strength', type: 'float', default: 0.5, min: 0, max: 1, doc: null, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } } },
  { name: 'radius', type: 'int', default: 2, min: 1, max: 8, doc: null, range: { start: { line: 1, character: 0 }, end: { line: 1, character: 1 } } },
  { name: 'on', type: 'bool', default: true, min: null, max: null, doc: null, range: { start: { line: 2, character: 0 }, end: { line: 2, character: 1 } } },
  { name: 'tint', type: 'color', default: [1, 0, 0, 1], min: null, max: null, doc: null, range: { start: { line: 3, character: 0 }, end: { line: 3, character: 1 } } },
];

test('cleanParamValues keeps known params of the right type, clamped', () => {
  assert.deepEqual(
    cleanParamValues(PARAMS, { strength: '2.5', radius: 3.6, on: false, tint: '#A0B0C0', other: 1 }),
    { strength: 1, radius: 4, on: false, tint: '#a0b0c0' },
  );
  assert.deepEqual(cleanParamValues(PARAMS, { strength: 'x', radius: -3, on: 'yes', tint: 'red' }), { radius: 1 });
  assert.deepEqual(cleanParamValues(PARAMS, null), {});
  assert.deepEqual(cleanParamValues(PARAMS, { __proto__: { strength: 0.1 } }), {});
});

test('colorToHex and paramsSignature', () => {
  assert.equal(colorToHex([1, 0.5, 0, 1]), '#ff8000');
  assert.equal(colorToHex([2, -1, 0.2]), '#ff0033');
  assert.equal(colorToHex('#ABCDEF'), '#abcdef');
  assert.equal(colorToHex(null), '#000000');
  assert.equal(paramsSignature(PARAMS), paramsSignature(JSON.parse(JSON.stringify(PARAMS))));
  assert.notEqual(paramsSignature(PARAMS), paramsSignature(PARAMS.slice(1)));
});
