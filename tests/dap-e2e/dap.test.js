// End-to-end tests of chop-dap with a client the project did not write: DebugClient
// of the npm package @vscode/debugadapter-testsupport (the one VS Code's own debug
// adapters are tested with) drives target/debug/chop-dap ($CHOP_DAP) over its
// standard streams. Debuggee lines are found by their `// #MARKER` comments, never
// by number. Each test is bounded by a timeout (against hangs, not a speed limit).
//   CHOP_DAP=target/debug/chop-dap node --test tests/dap-e2e/dap.test.js
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const ROOT = path.resolve(__dirname, '..', '..');
const ADAPTER = process.env.CHOP_DAP || path.join(ROOT, 'target', 'debug', 'chop-dap');
const LOOP = path.join(ROOT, 'debugger', 'tests', 'data', 'loop.chop');
const FAILS = path.join(ROOT, 'debugger', 'tests', 'data', 'fails.chop');
const SPIN = path.join(ROOT, 'debugger', 'tests', 'data', 'spin.chop');
const SLOW = path.join(__dirname, 'data', 'slow.chop');

/** How long one test may take, and one wait within it, before it fails as a hang. */
const TEST_TIMEOUT = 60000;
const WAIT = 30000;

/** The 1-based line of `file` that holds `marker`. */
function lineOf(file, marker) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const idx = lines.findIndex((line) => line.includes(marker));
  if (idx < 0) throw new Error(`no ${marker} in ${file}`);
  return idx + 1;
}

/**
 * Starts chop-dap and a DebugClient on its standard streams. DebugClient.start()
 * runs `runtime executable` (a script under an interpreter); chop-dap is a native
 * binary taking no argument, so the process is spawned here and handed to the
 * client's connect(). Every output event's text is kept in `dc.output`.
 */
function startAdapter() {
  const proc = cp.spawn(ADAPTER, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (data) => {
    stderr += data.toString();
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const dc = new DebugClient(ADAPTER, '', 'chop');
  dc.defaultTimeout = WAIT;
  dc.connect(proc.stdout, proc.stdin);
  dc.output = '';
  dc.on('output', (event) => {
    dc.output += event.body.output;
  });
  return { dc, proc, exited, stderr: () => stderr };
}

/** Ends the session and the adapter (a test that failed midway included). */
async function close({ dc, proc, exited }) {
  if (proc.exitCode === null && proc.signalCode === null) {
    await Promise.race([dc.disconnectRequest({}).catch(() => {}), delay(5000)]);
    const ended = await Promise.race([exited, delay(5000).then(() => null)]);
    if (ended === null) proc.kill('SIGKILL');
  }
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** initialize and launch with `args`, the `initialized` event; the capabilities. */
async function launch(dc, args) {
  const init = await dc.initializeRequest();
  const initialized = dc.waitForEvent('initialized');
  await dc.launchRequest(args);
  await initialized;
  return init.body;
}

/** Sends `request` (a function) and waits for the `stopped` event it causes; its body. */
async function stopAfter(dc, request) {
  const stopped = dc.waitForEvent('stopped');
  await request();
  return (await stopped).body;
}

/** The frames of thread 1. */
async function frames(dc) {
  return (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
}

/** The Locals of the innermost frame: name to shown value. */
async function locals(dc) {
  const [top] = await frames(dc);
  const scopes = (await dc.scopesRequest({ frameId: top.id })).body.scopes;
  const scope = scopes.find((s) => s.name === 'Locals');
  assert.ok(scope, `a Locals scope in ${JSON.stringify(scopes)}`);
  const vars = (await dc.variablesRequest({ variablesReference: scope.variablesReference })).body.variables;
  return Object.fromEntries(vars.map((v) => [v.name, v.value]));
}

async function evaluate(dc, expression) {
  const [top] = await frames(dc);
  return (await dc.evaluateRequest({ expression, frameId: top.id, context: 'watch' })).body.result;
}

/** Waits for `exited` and `terminated` after `request`; the exit code. */
async function endAfter(dc, request) {
  const exited = dc.waitForEvent('exited');
  const terminated = dc.waitForEvent('terminated');
  await request();
  const code = (await exited).body.exitCode;
  await terminated;
  return code;
}

test('launch and stop on entry, then run to the end', { timeout: TEST_TIMEOUT }, async () => {
  const adapter = startAdapter();
  const { dc } = adapter;
  try {
    const caps = await launch(dc, { program: LOOP, stopOnEntry: true });
    assert.equal(caps.supportsConfigurationDoneRequest, true);
    const stopped = await stopAfter(dc, () => dc.configurationDoneRequest());
    assert.equal(stopped.reason, 'entry');
    assert.equal(stopped.threadId, 1);
    const [top] = await frames(dc);
    assert.equal(top.name, 'main');
    assert.equal(top.line, lineOf(LOOP, '#FIRST'));
    assert.ok(top.source.path.endsWith('loop.chop'), top.source.path);
    const threads = (await dc.threadsRequest()).body.threads;
    assert.deepEqual(threads.map((t) => t.id), [1]);
    assert.equal(await endAfter(dc, () => dc.continueRequest({ threadId: 1 })), 0);
    assert.match(dc.output, /30 1\.5 20 0\.5/);
  } finally {
    await close(adapter);
  }
});

test('a breakpoint, variables, evaluate, then stepIn, next and stepOut', { timeout: TEST_TIMEOUT }, async () => {
  const adapter = startAdapter();
  const { dc } = adapter;
  try {
    await launch(dc, { program: LOOP });
    const bp1 = lineOf(LOOP, '#BP1');
    const set = await dc.setBreakpointsRequest({ source: { path: LOOP }, breakpoints: [{ line: bp1 }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    assert.equal(set.body.breakpoints[0].line, bp1);

    // The first hit, through the package's own assertion of the stopped location.
    const first = dc.assertStoppedLocation('breakpoint', { path: LOOP, line: bp1 });
    await dc.configurationDoneRequest();
    await first;
    let vars = await locals(dc);
    assert.equal(vars.i, '0');
    assert.equal(vars.total, '0');
    assert.equal(vars.scale, '1.5');
    assert.equal(vars.tint, 'rgba(1.0, 0.5, 0.0, 1.0)');
    assert.equal(vars.items, '[10, 20, 30]');

    // The third hit: i is 2, total 0 + 1.
    await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    const third = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.equal(third.reason, 'breakpoint');
    vars = await locals(dc);
    assert.equal(vars.i, '2');
    assert.equal(vars.total, '1');
    assert.equal(await evaluate(dc, 'total + i * 10'), '21');
    assert.equal(await evaluate(dc, 'items[1] * 2'), '40');
    assert.equal(await evaluate(dc, 'tint.g'), '0.5');
    await assert.rejects(evaluate(dc, 'nothing + 1'), /nothing/);
    await dc.setBreakpointsRequest({ source: { path: LOOP }, breakpoints: [] });

    // stepIn: into square, on its first line, with its argument.
    assert.equal((await stopAfter(dc, () => dc.stepInRequest({ threadId: 1 }))).reason, 'step');
    let stack = await frames(dc);
    assert.deepEqual(stack.map((f) => f.name), ['square', 'main']);
    assert.equal(stack[0].line, lineOf(LOOP, '#SQUARE'));
    assert.equal((await locals(dc)).v, '2');

    // next: the line after, in the same function.
    await stopAfter(dc, () => dc.nextRequest({ threadId: 1 }));
    stack = await frames(dc);
    assert.equal(stack[0].name, 'square');
    assert.equal(stack[0].line, lineOf(LOOP, '#SQUARE-RETURN'));
    assert.equal((await locals(dc)).result, '4');

    // stepOut: back in main on the call's line; next: the line after it.
    await stopAfter(dc, () => dc.stepOutRequest({ threadId: 1 }));
    stack = await frames(dc);
    assert.deepEqual(stack.map((f) => f.name), ['main']);
    assert.equal(stack[0].line, bp1);
    await stopAfter(dc, () => dc.nextRequest({ threadId: 1 }));
    assert.equal((await frames(dc))[0].line, lineOf(LOOP, '#AFTER'));
    assert.equal(await evaluate(dc, 'total'), '5');

    assert.equal(await endAfter(dc, () => dc.continueRequest({ threadId: 1 })), 0);
  } finally {
    await close(adapter);
  }
});

test('a conditional breakpoint, a hit count and a logpoint', { timeout: TEST_TIMEOUT }, async () => {
  const adapter = startAdapter();
  const { dc } = adapter;
  try {
    await launch(dc, { program: LOOP });
    const bp1 = lineOf(LOOP, '#BP1');
    const square = lineOf(LOOP, '#SQUARE');
    const after = lineOf(LOOP, '#AFTER');
    const set = await dc.setBreakpointsRequest({
      source: { path: LOOP },
      breakpoints: [
        { line: bp1, condition: 'i == 3' },
        { line: square, hitCondition: '2' },
        { line: after, logMessage: 'logged total={total} i={i}' },
      ],
    });
    assert.deepEqual(set.body.breakpoints.map((b) => b.verified), [true, true, true]);

    // The hit count: square's second call (v is 1), before the condition holds.
    let stopped = await stopAfter(dc, () => dc.configurationDoneRequest());
    assert.equal(stopped.reason, 'breakpoint');
    assert.deepEqual(stopped.hitBreakpointIds, [set.body.breakpoints[1].id]);
    let stack = await frames(dc);
    assert.equal(stack[0].name, 'square');
    assert.equal(stack[0].line, square);
    assert.equal((await locals(dc)).v, '1');

    // The condition: i == 3, when total is 0 + 1 + 4; the logpoint logged each turn
    // before it and never stopped.
    stopped = await stopAfter(dc, () => dc.continueRequest({ threadId: 1 }));
    assert.deepEqual(stopped.hitBreakpointIds, [set.body.breakpoints[0].id]);
    stack = await frames(dc);
    assert.equal(stack[0].line, bp1);
    const vars = await locals(dc);
    assert.equal(vars.i, '3');
    assert.equal(vars.total, '5');
    for (const line of ['logged total=0 i=0', 'logged total=1 i=1', 'logged total=5 i=2']) {
      assert.ok(dc.output.includes(line), `no ${JSON.stringify(line)} in ${JSON.stringify(dc.output)}`);
    }
    assert.ok(!dc.output.includes('i=3'), dc.output);

    // Neither stops again (the hit count was the second hit only; i == 3 once).
    assert.equal(await endAfter(dc, () => dc.continueRequest({ threadId: 1 })), 0);
    assert.ok(dc.output.includes('logged total=30 i=4'), dc.output);
  } finally {
    await close(adapter);
  }
});

test('a runtime error stops with exceptionInfo', { timeout: TEST_TIMEOUT }, async () => {
  const adapter = startAdapter();
  const { dc } = adapter;
  try {
    const caps = await launch(dc, { program: FAILS });
    assert.ok(caps.supportsExceptionInfoRequest);
    assert.deepEqual(caps.exceptionBreakpointFilters.map((f) => f.filter), ['runtime']);
    await dc.setExceptionBreakpointsRequest({ filters: ['runtime'] });
    const stopped = await stopAfter(dc, () => dc.configurationDoneRequest());
    assert.equal(stopped.reason, 'exception');
    assert.match(stopped.text, /division by zero/);
    const info = (await dc.exceptionInfoRequest({ threadId: 1 })).body;
    assert.equal(info.exceptionId, 'runtime');
    assert.match(info.description, /division by zero/);
    assert.match(info.details.stackTrace, /at div[\s\S]*at main/);
    const stack = await frames(dc);
    assert.deepEqual(stack.map((f) => f.name), ['div', 'main']);
    assert.equal(stack[0].line, lineOf(FAILS, '#FAIL'));
    assert.equal(stack[1].line, lineOf(FAILS, '#CALL'));
    assert.equal((await locals(dc)).b, '0');
    assert.equal(await endAfter(dc, () => dc.continueRequest({ threadId: 1 })), 1);
    assert.match(dc.output, /runtime error: division by zero/);
  } finally {
    await close(adapter);
  }
});

test('pause during a long filter', { timeout: TEST_TIMEOUT }, async () => {
  const adapter = startAdapter();
  const { dc } = adapter;
  try {
    await launch(dc, { program: SLOW, filter: 'slow', level: 1, threads: 1 });
    const continued = dc.waitForEvent('continued');
    await dc.configurationDoneRequest();
    await continued;
    // While it runs, the adapter answers (and has no stack to show).
    await assert.rejects(dc.stackTraceRequest({ threadId: 1 }), /running/);
    const stopped = await stopAfter(dc, () => dc.pauseRequest({ threadId: 1 }));
    assert.equal(stopped.reason, 'pause');
    const threads = (await dc.threadsRequest()).body.threads;
    assert.equal(threads[0].name, 'slow');
    const [top] = await frames(dc);
    assert.ok(top.source.path.endsWith('slow.chop'), top.source.path);
    const vars = await locals(dc);
    assert.match(vars.x, /^\d+$/, JSON.stringify(vars));
    assert.match(vars.y, /^\d+$/, JSON.stringify(vars));
    // A filter's frame names the pixel it is at.
    assert.equal(top.name, `slow (x ${vars.x}, y ${vars.y})`);
    assert.match(vars.acc, /^\d+$/, JSON.stringify(vars));
    assert.equal(await evaluate(dc, 'src.width > 0 && x < src.width'), 'true');
    // terminate ends the run where it stands (exit code 1: it did not finish).
    const code = await endAfter(dc, () => dc.terminateRequest({}));
    assert.equal(code, 1);
  } finally {
    await close(adapter);
  }
});

test('disconnect in the middle of a run leaves no process behind', { timeout: TEST_TIMEOUT }, async () => {
  const adapter = startAdapter();
  const { dc, proc, exited } = adapter;
  try {
    await launch(dc, { program: SPIN });
    const continued = dc.waitForEvent('continued');
    await dc.configurationDoneRequest();
    await continued;
    const pid = proc.pid;
    assert.ok(pid > 0);
    process.kill(pid, 0); // alive while it runs
    await dc.disconnectRequest({});
    const ended = await Promise.race([exited, delay(WAIT).then(() => null)]);
    assert.notEqual(ended, null, `chop-dap (pid ${pid}) still runs after disconnect; stderr: ${adapter.stderr()}`);
    assert.equal(ended.signal, null, 'it ended by itself, not by a signal');
    assert.equal(ended.code, 0);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
  } finally {
    await close(adapter);
  }
});

const CHUNKVM = process.env.CHUNKVM || path.join(ROOT, 'target', 'debug', 'chunkvm');
const BOX_BLUR = path.join(ROOT, 'filters', 'box_blur.chop');

/**
 * Starts `chunkvm serve` on a free port of 127.0.0.1 with its state in `state`; resolves
 * to { proc, address, name, tokenFile } once it printed where it listens.
 */
function startNode(state, name) {
  const proc = cp.spawn(CHUNKVM, ['serve', '--listen', '127.0.0.1:0', '--name', name, '--state', state], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`chunkvm serve printed ${JSON.stringify(text)} and no more`)), WAIT);
    proc.on('exit', (code) => reject(new Error(`chunkvm serve exited (${code}): ${text}`)));
    proc.stdout.on('data', (data) => {
      text += data.toString();
      const address = /listening on (quic:\/\/\S+)/.exec(text);
      const token = /^token file (.+)$/m.exec(text);
      if (address && token) {
        clearTimeout(timer);
        resolve({ proc, address: address[1], name, tokenFile: token[1].trim() });
      }
    });
  });
}

test('migrate to a node, step three lines there, migrate back: the photo a local run makes', { timeout: TEST_TIMEOUT }, async () => {
  const scratch = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'chop-dap-migrate-'));
  const node = await startNode(path.join(scratch, 'node'), 'e2e-node');
  const adapter = startAdapter();
  const { dc } = adapter;
  try {
    const debugged = path.join(scratch, 'debugged.png');
    const local = path.join(scratch, 'local.png');
    const run = cp.spawnSync(CHUNKVM, ['run', BOX_BLUR, '--input', path.join(ROOT, 'samples', 'chelsea.png'),
      '--level', '1', '--param', 'radius=1', '--output', local], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);

    await launch(dc, { program: BOX_BLUR, filter: 'box_blur', level: 1, threads: 1, params: { radius: 1 }, output: debugged });
    const line = lineOf(BOX_BLUR, 'sum = sum + src.at(');
    await dc.setBreakpointsRequest({ source: { path: BOX_BLUR }, breakpoints: [{ line, condition: 'x == 4 && y == 3' }] });
    const stopped = await stopAfter(dc, () => dc.configurationDoneRequest());
    assert.equal(stopped.reason, 'breakpoint');

    const migrated = dc.waitForEvent('chunkvm/migrated');
    const moved = await dc.customRequest('migrate', { threadId: 1, node: node.address, tokenFile: node.tokenFile });
    assert.equal(moved.body.to, 'e2e-node');
    assert.ok(moved.body.chunks > 0, JSON.stringify(moved.body));
    const event = (await migrated).body;
    assert.deepEqual([event.from, event.to, event.threadId], ['local', 'e2e-node', 1]);
    assert.match(dc.output, /migrated the thread from local to e2e-node/);
    const threads = (await dc.threadsRequest()).body.threads;
    assert.equal(threads[0].name, 'box_blur @ e2e-node');

    // Three lines stepped there, each reading back the pixel being blurred.
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const step = await stopAfter(dc, () => dc.nextRequest({ threadId: 1 }));
      assert.equal(step.reason, 'step');
      const [top] = await frames(dc);
      assert.equal(top.name, 'box_blur (x 4, y 3)');
      seen.push(top.line);
      const vars = await locals(dc);
      assert.equal(vars.x, '4', JSON.stringify(vars));
      assert.equal(vars.y, '3', JSON.stringify(vars));
      assert.match(vars.sum, /^rgba\(/, JSON.stringify(vars));
    }
    assert.ok(seen.every((l) => l >= line - 2 && l <= line + 4), JSON.stringify(seen));
    assert.equal(await evaluate(dc, 'x * 10 + y + radius'), '44');
    const chunks = (await dc.customRequest('chunks', { threadId: 1 })).body;
    assert.equal(chunks.node, 'e2e-node');
    assert.ok(chunks.chunks.some((c) => c.residence === 'remote'), 'chunks made on the node');

    const back = await dc.customRequest('migrate', { threadId: 1, node: 'local' });
    assert.deepEqual([back.body.from, back.body.to], ['e2e-node', 'local']);
    assert.equal((await dc.threadsRequest()).body.threads[0].name, 'box_blur');
    await dc.setBreakpointsRequest({ source: { path: BOX_BLUR }, breakpoints: [] });
    assert.equal(await endAfter(dc, () => dc.continueRequest({ threadId: 1 })), 0);
    assert.ok(fs.readFileSync(debugged).equals(fs.readFileSync(local)), 'the debugged photo differs from a local run');
  } finally {
    await close(adapter);
    node.proc.kill('SIGKILL');
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
