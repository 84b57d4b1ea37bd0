// package.json agrees with the code: the commands registered are the ones
// contributed (and the code lenses' commands), the settings read are declared,
// the debugger contribution (chop-dap's launch arguments, menus, views), the
// packaging fields (licence, repository).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const source = ['extension.ts', 'debug.ts'].map((f) => fs.readFileSync(path.join(ROOT, 'src', f), 'utf8')).join('\n');

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
  assert.equal(titles['chop.migrateThread'], 'Chop: Migrate Thread to Node…');
  assert.equal(titles['chop.startLocalNode'], 'Chop: Start Local Node');
});

test('the settings the code reads are declared, with their defaults', () => {
  const properties = manifest.contributes.configuration.properties;
  const read = [...source.matchAll(/get(?:Configuration\('chop'\)\.get)?\('((?:server|preview|debugger|cli|nodesView)\.[a-zA-Z]+|nodes|lib)'\)/g)].map(
    (m) => `chop.${m[1]}`,
  );
  assert.deepEqual([...new Set(read)].sort(), Object.keys(properties).sort());
  assert.equal(properties['chop.server.path'].default, 'chop-lsp');
  assert.equal(properties['chop.preview.photo'].default, '');
  assert.equal(properties['chop.preview.level'].default, null);
  assert.equal(properties['chop.debugger.path'].default, '');
  assert.equal(properties['chop.cli.path'].default, '');
  assert.deepEqual(properties['chop.nodes'].default, []);
  assert.deepEqual(properties['chop.lib'].default, []);
  assert.equal(properties['chop.lib'].items.type, 'string');
  assert.deepEqual(properties['chop.nodes'].items.required, ['address']);
  assert.equal(properties['chop.nodesView.refreshSeconds'].default, 10);
});

test('the chop debugger: its type, chop-dap\'s launch arguments, breakpoints, menus and views', () => {
  const [debuggerEntry] = manifest.contributes.debuggers;
  assert.equal(debuggerEntry.type, 'chop');
  assert.equal(debuggerEntry.label, 'Chop');
  const props = debuggerEntry.configurationAttributes.launch.properties;
  assert.deepEqual(Object.keys(props).sort(), [
    'args', 'filter', 'fingerprint', 'function', 'input', 'level', 'lib', 'node', 'output', 'params', 'pipeline', 'program', 'stopOnEntry', 'threads', 'tokenFile',
  ]);
  for (const [name, prop] of Object.entries(props)) {
    assert.ok(String((prop as { description?: string }).description ?? '').length > 10, `${name} has a description`);
  }
  // Every launch argument of docs/dap.md's table is contributed.
  const doc = fs.readFileSync(path.join(ROOT, '..', '..', 'docs', 'dap.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Launch arguments'), doc.indexOf('## Capabilities'));
  const documented = [...table.matchAll(/^\| `([a-zA-Z]+)`/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, Object.keys(props).sort());
  // So is every attach argument of its Attach section.
  const attach = debuggerEntry.configurationAttributes.attach;
  assert.deepEqual(attach.required, ['node', 'thread']);
  const attachTable = doc.slice(doc.indexOf('## Attach'), doc.indexOf('## Limits'));
  const attachDocumented = [...attachTable.matchAll(/^\| `([a-zA-Z]+)`/gm)].map((m) => m[1]).sort();
  assert.deepEqual(attachDocumented, Object.keys(attach.properties).sort());
  assert.ok(debuggerEntry.initialConfigurations.length >= 1);
  assert.ok(debuggerEntry.configurationSnippets.every((s: { body: { type: string } }) => s.body.type === 'chop'));
  assert.deepEqual(manifest.contributes.breakpoints, [{ language: 'chop' }]);
  const menus = manifest.contributes.menus;
  for (const menu of ['debug/toolbar', 'debug/callstack/context']) {
    assert.deepEqual(
      menus[menu].map((m: { command: string; when: string }) => [m.command, m.when]),
      [['chop.migrateThread', 'debugType == chop']],
      menu,
    );
  }
  const views = manifest.contributes.views.debug.map((v: { id: string }) => v.id);
  assert.deepEqual(views, ['chop.chunks', 'chop.nodes']);
  for (const view of views) {
    assert.ok(source.includes(`createTreeView('${view}'`), view);
  }
});

test('packaging: a licence file of the repository\'s licence and the repository', () => {
  const licence = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
  const cargo = fs.readFileSync(path.join(ROOT, '..', '..', 'Cargo.toml'), 'utf8');
  assert.match(cargo, /^license = "MIT"$/m);
  assert.equal(manifest.license, 'MIT');
  assert.match(licence, /^MIT License/);
  assert.equal(manifest.repository.type, 'git');
  assert.match(manifest.repository.url, /^https:\/\//);
  assert.equal(manifest.repository.directory, 'editors/vscode');
  assert.doesNotMatch(manifest.scripts.package, /skip-license|allow-missing-repository/);
  const script = fs.readFileSync(path.join(ROOT, 'test.sh'), 'utf8');
  assert.doesNotMatch(script, /skip-license|allow-missing-repository/);
});

test('activation, engine and pinned versions', () => {
  assert.deepEqual(manifest.activationEvents, [
    'onLanguage:chop',
    'onDebugResolve:chop',
    'onDebugInitialConfigurations',
  ]);
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
