// The webviews' inline scripts, run in a Node `vm` context with a tiny fake
// DOM: they parse, a click on a graph block posts its data-* attributes (which
// revealTarget maps to a position), slider moves post the param values, and
// result messages update the image and the stats.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as vm from 'node:vm';
import { chunkGraphHtml, previewHtml } from '../webview';
import { ChunkGraph, ParamInfo, parseRevealMessage, revealTarget } from '../util';

type Listener = (event: unknown) => void;

class FakeElement {
  listeners: Record<string, Listener[]> = {};
  attributes: Record<string, string>;
  id: string;
  value = '';
  checked = false;
  hidden = false;
  src = '';
  textContent = '';
  parent: FakeElement | undefined;
  classList = { set: new Set<string>(), add: (c: string) => this.classList.set.add(c), remove: (c: string) => this.classList.set.delete(c) };

  constructor(attributes: Record<string, string> = {}) {
    this.attributes = { ...attributes };
    this.id = attributes.id ?? '';
  }
  getAttribute(name: string): string | null {
    return Object.prototype.hasOwnProperty.call(this.attributes, name) ? this.attributes[name] : null;
  }
  setAttribute(name: string, value: string): void {
    this.attributes[name] = value;
  }
  addEventListener(type: string, listener: Listener): void {
    (this.listeners[type] ??= []).push(listener);
  }
  dispatch(type: string, event: unknown = {}): void {
    (this.listeners[type] ?? []).forEach((l) => l(event));
  }
  /** Enough of `closest` for the scripts: the nearest element (itself or an ancestor) with a data-line. */
  closest(selector: string): FakeElement | null {
    assert.match(selector, /data-line/);
    for (let e: FakeElement | undefined = this; e; e = e.parent) {
      if (e.getAttribute('data-line') !== null) {
        return e;
      }
    }
    return null;
  }
}

/** The inline scripts of a page. */
function scriptsOf(html: string): string[] {
  return [...html.matchAll(/<script nonce="[^"]*">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

function run(script: string, document: Record<string, unknown>, window: FakeElement): unknown[] {
  const posted: unknown[] = [];
  const context = vm.createContext({
    acquireVsCodeApi: () => ({ postMessage: (m: unknown) => posted.push(JSON.parse(JSON.stringify(m))) }),
    document,
    window,
    Element: FakeElement,
  });
  new vm.Script(script).runInContext(context);
  return posted;
}

const GRAPH: ChunkGraph = {
  function: 'f',
  dot: '',
  nodes: [
    {
      id: 'c:1',
      kind: 'block',
      block: 0,
      label: 'b0',
      instrs: [],
      range: { start: { line: 9, column: 8 }, end: { line: 9, column: 15 } },
      location: { start: { line: 8, character: 7 }, end: { line: 8, character: 14 } },
    },
  ],
  edges: [],
  svg: '<svg xmlns="http://www.w3.org/2000/svg"><g class="block" data-block="0" data-line="9" data-col="8"><rect/></g></svg>',
};

test('the chunk-graph script posts the clicked block and makes blocks focusable', () => {
  const html = chunkGraphHtml(GRAPH, 'abc');
  const [script] = scriptsOf(html);
  const block = new FakeElement({ 'data-block': '0', 'data-line': '9', 'data-col': '8' });
  const rect = new FakeElement();
  rect.parent = block;
  const page = new FakeElement();
  const posted = run(
    script,
    {
      querySelectorAll: (selector: string) => (selector === '#graph g[data-line]' ? [block] : []),
      addEventListener: page.addEventListener.bind(page),
    },
    new FakeElement(),
  );
  assert.equal(block.getAttribute('tabindex'), '0');
  assert.equal(block.getAttribute('role'), 'button');
  page.dispatch('click', { target: rect });
  page.dispatch('click', { target: new FakeElement() }); // outside any block: nothing
  block.dispatch('keydown', { key: 'Enter', preventDefault: () => undefined });
  assert.deepEqual(posted, [
    { type: 'reveal', block: '0', line: '9', col: '8' },
    { type: 'reveal', block: '0', line: '9', col: '8' },
  ]);
  const message = parseRevealMessage(posted[0]);
  assert.ok(message);
  assert.deepEqual(revealTarget(GRAPH.nodes, message), { line: 8, character: 7 });
});

const PARAMS: ParamInfo[] = [
  { name: 'strength', type: 'float', default: 0.5, min: 0, max: 1, doc: null, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } } },
  { name: 'on', type: 'bool', default: true, min: null, max: null, doc: null, range: { start: { line: 1, character: 0 }, end: { line: 1, character: 1 } } },
];

test('the preview script posts param values and shows results and errors', () => {
  const html = previewHtml({ kind: 'filter', name: 'v', file: 'v.chop', params: PARAMS, values: {} }, 'abc');
  const [script] = scriptsOf(html);
  const slider = new FakeElement({ id: 'param-0', 'data-param': 'strength', 'data-type': 'float', 'data-default': '0.5' });
  slider.value = '0.5';
  const box = new FakeElement({ id: 'param-1', 'data-param': 'on', 'data-type': 'bool', 'data-default': 'true' });
  box.checked = true;
  const outputs: Record<string, FakeElement> = { 'param-0': new FakeElement(), 'param-1': new FakeElement() };
  const byId: Record<string, FakeElement> = {
    image: new FakeElement(),
    stats: new FakeElement(),
    error: new FakeElement(),
    reset: new FakeElement(),
  };
  const body = new FakeElement();
  const window = new FakeElement();
  const posted = run(
    script,
    {
      body,
      querySelectorAll: (selector: string) => (selector === '[data-param]' ? [slider, box] : []),
      querySelector: (selector: string) => outputs[/for="([^"]+)"/.exec(selector)?.[1] ?? ''] ?? null,
      getElementById: (id: string) => byId[id] ?? null,
    },
    window,
  );
  slider.value = '0.8';
  slider.dispatch('input');
  box.checked = false;
  box.dispatch('change');
  assert.equal(outputs['param-0'].textContent, '0.8');
  assert.ok(body.classList.set.has('busy'));
  byId.reset.dispatch('click');
  assert.equal(slider.value, '0.5');
  assert.equal(box.checked, true);
  assert.deepEqual(posted, [
    { type: 'params', values: { strength: 0.8, on: true } },
    { type: 'params', values: { strength: 0.8, on: false } },
    { type: 'params', values: { strength: 0.5, on: true } },
  ]);

  window.dispatch('message', { data: { type: 'result', base64: 'iVBORw0K', stats: '1×1 · 2 ms' } });
  assert.equal(byId.image.src, 'data:image/png;base64,iVBORw0K');
  assert.equal(byId.stats.textContent, '1×1 · 2 ms');
  assert.equal(byId.error.hidden, true);
  assert.ok(!body.classList.set.has('busy'));

  window.dispatch('message', { data: { type: 'result', base64: '"><b>', stats: 's' } });
  assert.equal(byId.image.src, 'data:image/png;base64,iVBORw0K', 'bad base64 is not shown');

  window.dispatch('message', { data: { type: 'error', message: 'no filter `x`' } });
  assert.equal(byId.error.textContent, 'no filter `x`');
  assert.equal(byId.error.hidden, false);
});
