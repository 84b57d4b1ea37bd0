// Against the real chop-lsp (only when CHOP_LSP names the binary, as
// scripts/e2e.sh does): the requests the extension builds get the answers its
// webviews expect, over the same JSON-RPC library the language client uses.
// Without CHOP_LSP the test is skipped, and says so in one line; in CI (CI set
// in the environment) a missing CHOP_LSP is a failure.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import {
  ChunkGraph,
  chunkGraphRequest,
  cleanParamValues,
  ParamInfo,
  paramsRequest,
  parseRevealMessage,
  previewRequest,
  PreviewResult,
  revealTarget,
  serverSettings,
} from '../util';
import { chunkGraphHtml, isBase64, previewHtml } from '../webview';
import { inCi } from './env';

const SERVER = process.env.CHOP_LSP;
const REPO = path.join(__dirname, '..', '..', '..', '..');


const MISSING = 'CHOP_LSP is not set: the extension\'s requests against chop-lsp are not tested (set it to a chop-lsp binary)';

if (!SERVER) {
  if (inCi(process.env)) {
    test('CHOP_LSP names chop-lsp in CI', () => {
      assert.fail(`${MISSING}; in CI that is a failure`);
    });
  } else {
    console.log(`server.test: skipped: ${MISSING}`);
  }
}

test('CI is read from the environment', () => {
  assert.equal(inCi({}), false);
  assert.equal(inCi({ CI: '' }), false);
  assert.equal(inCi({ CI: 'false' }), false);
  assert.equal(inCi({ CI: '0' }), false);
  assert.equal(inCi({ CI: 'true' }), true);
  assert.equal(inCi({ CI: '1' }), true);
});

test('the extension\'s requests against chop-lsp', { skip: SERVER ? false : 'CHOP_LSP is not set', timeout: 120_000 }, async () => {
  const child = spawn(SERVER as string, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.onRequest(() => null); // workDoneProgress/create and the like
  connection.listen();
  try {
    const init = (await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: { general: { positionEncodings: ['utf-16'] } },
      initializationOptions: serverSettings('', 1),
    })) as { capabilities: { experimental?: { chop?: Record<string, string> } } };
    assert.deepEqual(init.capabilities.experimental?.chop, {
      chunkGraph: 'chop/chunkGraph',
      preview: 'chop/preview',
      params: 'chop/params',
    });
    await connection.sendNotification('initialized', {});

    const file = path.join(REPO, 'filters', 'vignette.chop');
    const uri = pathToFileURL(file).toString();
    const text = fs.readFileSync(file, 'utf8');
    await connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'chop', version: 1, text },
    });

    // chop/params: the sliders.
    const params = (await connection.sendRequest('chop/params', paramsRequest(uri))) as ParamInfo[];
    assert.deepEqual(
      params.map((p) => [p.name, p.type, p.min, p.max]),
      [
        ['strength', 'float', 0, 1],
        ['radius', 'float', 0, 1],
      ],
    );
    const values = cleanParamValues(params, { strength: 0.9, radius: '0.2', nope: 1 });
    assert.deepEqual(values, { strength: 0.9, radius: 0.2 });

    // chop/chunkGraph by name (a code lens) and by position (the command).
    const graph = (await connection.sendRequest('chop/chunkGraph', chunkGraphRequest(uri, { function: 'vignette' }))) as ChunkGraph;
    assert.equal(graph.function, 'vignette');
    const lines = text.split('\n');
    const inside = lines.findIndex((l) => l.includes('let cx'));
    const byPosition = (await connection.sendRequest(
      'chop/chunkGraph',
      chunkGraphRequest(uri, { position: { line: inside, character: 8 } }),
    )) as ChunkGraph;
    assert.equal(byPosition.function, 'vignette');
    assert.equal(await connection.sendRequest('chop/chunkGraph', chunkGraphRequest(uri, { position: { line: 0, character: 0 } })), null);

    // Each block of the SVG carries data-block/data-line; a click on it jumps
    // to the block's location, which is the same line as data-line.
    const html = chunkGraphHtml(graph, 'nonce');
    const blocks = [...html.matchAll(/<g class="block" data-block="(\d+)" data-line="(\d+)" data-col="(\d+)"/g)];
    assert.ok(blocks.length >= 1, 'no clickable block in the SVG');
    for (const [, block, line, col] of blocks) {
      const message = parseRevealMessage({ type: 'reveal', block, line, col });
      assert.ok(message);
      const at = revealTarget(graph.nodes, message);
      assert.ok(at, `block ${block}`);
      assert.equal(at.line, Number(line) - 1, `block ${block}: data-line ${line} vs location line ${at.line}`);
      assert.ok(lines[at.line].length >= at.character);
    }

    // chop/preview of a filter with param values.
    const result = (await connection.sendRequest(
      'chop/preview',
      previewRequest(uri, { kind: 'filter', name: 'vignette' }, values),
    )) as PreviewResult;
    assert.ok(isBase64(result.png.base64) && result.png.base64.startsWith('iVBORw0KGgo'), 'not a PNG');
    assert.deepEqual([result.width, result.height, result.level, result.stages], [226, 150, 1, ['vignette']]);
    assert.ok(result.instructions > 0);
    const page = previewHtml({ kind: 'filter', name: 'vignette', file: 'vignette.chop', params, values, result }, 'nonce');
    assert.ok(page.includes(`src="data:image/png;base64,${result.png.base64}"`));

    // A value out of range is an error the page shows.
    await assert.rejects(
      connection.sendRequest('chop/preview', previewRequest(uri, { kind: 'filter', name: 'vignette' }, { strength: 2 })),
      (error: unknown) => error instanceof ResponseError && error.code === -32803 && /strength/.test(error.message),
    );

    // A pipeline, after a settings change as the extension sends it.
    await connection.sendNotification('workspace/didChangeConfiguration', { settings: serverSettings('', null) });
    // A self-contained pipeline: the server follows one file for now (the library's
    // pipelines use other files).
    const comicFile = path.join(REPO, 'debugger', 'tests', 'data', 'comic.chop');
    const comic = pathToFileURL(comicFile).toString();
    await connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri: comic, languageId: 'chop', version: 1, text: fs.readFileSync(comicFile, 'utf8') },
    });
    const piped = (await connection.sendRequest(
      'chop/preview',
      previewRequest(comic, { kind: 'pipeline', name: 'comic' }, {}),
    )) as PreviewResult;
    assert.deepEqual([piped.width, piped.height, piped.level], [451, 300, 0]);
    assert.deepEqual(piped.stages, ['median3x3', 'saturation', 'contrast']);

    await connection.sendRequest('shutdown');
    await connection.sendNotification('exit');
  } catch (error) {
    if (stderr) {
      console.error(stderr);
    }
    throw error;
  } finally {
    connection.dispose();
    child.kill();
  }
});
