// package.json agrees with the code: the commands registered are the ones
// contributed (and the code lenses' commands), the settings read are declared.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const source = fs.readFileSync(path.join(ROOT, 'src', 'extension.ts'), 'utf8');

test('every registered command is contributed, and the lens commands are there', () => {
  const registered = [...source.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]).sort();
  const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual(registered, contributed);
  for (const lens of ['chop.preview', 'chop.showChunkGraph', 'chop.debug']) {
    assert.ok(registered.includes(lens), lens);
  }
  const titles = Object.fromEntries(
    manifest.contributes.commands.map((c: { command: string; category: string; title: string }) => [
      c.command,
      `${c.category}: ${c.title}`,
    ]),
  );
  assert.equal(titles['chop.showChunkGraph'], 'Chop: Show Chunk Graph');
  assert.equal(titles['chop.preview'], 'Chop: Preview Filter');
  assert.equal(titles['chop.restartServer'], 'Chop: Restart Server');
});

test('the settings the code reads are declared, with their defaults', () => {
  const properties = manifest.contributes.configuration.properties;
  const read = [...source.matchAll(/get(?:Configuration\('chop'\)\.get)?\('((?:server|preview)\.[a-z]+)'\)/g)].map(
    (m) => `chop.${m[1]}`,
  );
  assert.deepEqual([...new Set(read)].sort(), Object.keys(properties).sort());
  assert.equal(properties['chop.server.path'].default, 'chop-lsp');
  assert.equal(properties['chop.preview.photo'].default, '');
  assert.equal(properties['chop.preview.level'].default, null);
});

test('activation, engine and pinned versions', () => {
  assert.deepEqual(manifest.activationEvents, ['onLanguage:chop']);
  assert.equal(manifest.engines.vscode, '^1.90.0');
  assert.equal(manifest.main, './out/extension.js');
  for (const deps of [manifest.dependencies, manifest.devDependencies]) {
    for (const [name, version] of Object.entries(deps)) {
      assert.match(String(version), /^\d+\.\d+\.\d+$/, `${name} is not pinned: ${version}`);
    }
  }
  assert.match(manifest.dependencies['vscode-languageclient'], /^9\./);
  assert.match(manifest.devDependencies['@vscode/vsce'], /^3\.9\./);
  // @types/vscode may not be newer than the engine (vsce refuses to package).
  assert.equal(manifest.devDependencies['@types/vscode'], '1.90.0');
});
