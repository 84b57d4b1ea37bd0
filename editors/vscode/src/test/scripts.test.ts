// The webviews' inline scripts, run in a Node `vm` context with a tiny fake
// DOM: they parse, a click on a graph block posts its data-* attributes (which
// revealTarget maps to a position), the graph pans and zooms (its viewBox) and
// colours its blocks by residence, slider moves post the param values, and
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
      getElementById: () => null,
    },
    new FakeElement(),
  );
  assert.equal(block.getAttribute('tabindex'), '0');
  assert.equal(block.getAttribute('role'), 'button');
  page.dispatch('click', { target: rect });
  page.dispatch('click', { target: new FakeElement() }); // outside any block: nothing
  block.dispatch('keydown', { key: 'Enter', preventDefault: () => undefined });
  assert.deepEqual(posted, [
    { type: 'ready' },
    { type: 'reveal', block: '0', line: '9', col: '8' },
    { type: 'reveal', block: '0', line: '9', col: '8' },
  ]);
  const message = parseRevealMessage(posted[1]);
  assert.ok(message);
  assert.deepEqual(revealTarget(GRAPH.nodes, message), { line: 8, character: 7 });
});

/** The fake page of the chunk graph: the container, the SVG with the page's viewBox, the buttons, two blocks. */
function graphPage(html: string) {
  const viewBox = /<svg id="graph-svg" viewBox="([^"]+)"/.exec(html)?.[1];
  assert.ok(viewBox, 'the page has the fitted SVG');
  const svg = new FakeElement({ id: 'graph-svg', viewBox });
  const container = new FakeElement({ id: 'graph' });
  (container as unknown as { getBoundingClientRect: () => object }).getBoundingClientRect = () => ({ left: 0, top: 0, width: 400, height: 300 });
  const byId: Record<string, FakeElement> = {
    graph: container,
    'graph-svg': svg,
    'zoom-in': new FakeElement(),
    'zoom-out': new FakeElement(),
    'zoom-reset': new FakeElement(),
    residence: new FakeElement(),
    'residence-where': new FakeElement(),
  };
  byId.residence.hidden = true;
  const b0 = new FakeElement({ 'data-block': '0', 'data-line': '9', 'data-id': 'c:1' });
  const b1 = new FakeElement({ 'data-block': '1', 'data-line': '10', 'data-id': 'c:2' });
  const page = new FakeElement();
  const window = new FakeElement();
  const posted = run(
    scriptsOf(html)[0],
    {
      querySelectorAll: (selector: string) => (selector.includes('data-line') || selector.includes('data-id') ? [b0, b1] : []),
      addEventListener: page.addEventListener.bind(page),
      getElementById: (id: string) => byId[id] ?? null,
    },
    window,
  );
  const box = () => (svg.getAttribute('viewBox') ?? '').split(' ').map(Number);
  return { svg, container, byId, b0, b1, page, window, posted, box, home: viewBox.split(' ').map(Number) };
}

test('the chunk graph zooms with the buttons and the wheel, pans by dragging, and Fit resets', () => {
  const g = graphPage(chunkGraphHtml(GRAPH, 'abc'));
  const [x, y, w, h] = g.home;
  g.byId['zoom-in'].dispatch('click');
  let [x1, y1, w1, h1] = g.box();
  assert.ok(Math.abs(w1 - w / 1.25) < 1e-9 && Math.abs(h1 - h / 1.25) < 1e-9, `zoomed in: ${g.box()}`);
  assert.ok(Math.abs(x1 + w1 / 2 - (x + w / 2)) < 1e-9 && Math.abs(y1 + h1 / 2 - (y + h / 2)) < 1e-9, 'around the middle');
  g.byId['zoom-reset'].dispatch('click');
  assert.deepEqual(g.box(), g.home);
  // The wheel zooms around the pointer: the top left corner stays.
  let prevented = false;
  g.container.dispatch('wheel', { deltaY: 100, clientX: 0, clientY: 0, preventDefault: () => (prevented = true) });
  [x1, y1, w1] = g.box();
  assert.ok(prevented);
  assert.ok(w1 > w, 'zoomed out');
  assert.deepEqual([x1, y1], [x, y]);
  g.byId['zoom-reset'].dispatch('click');
  // A drag moves the view against the pointer, and the click that ends it reveals nothing.
  g.container.dispatch('pointerdown', { button: 0, clientX: 100, clientY: 100 });
  g.window.dispatch('pointermove', { clientX: 140, clientY: 120 });
  g.window.dispatch('pointerup', {});
  const scale = Math.max(w / 400, h / 300);
  [x1, y1] = g.box();
  assert.ok(Math.abs(x1 - (x - 40 * scale)) < 1e-9 && Math.abs(y1 - (y - 20 * scale)) < 1e-9, `panned: ${g.box()}`);
  g.page.dispatch('click', { target: g.b0 });
  assert.deepEqual(g.posted, [{ type: 'ready' }]);
  g.page.dispatch('click', { target: g.b0 });
  assert.deepEqual(g.posted.slice(1), [{ type: 'reveal', block: '0', line: '9', col: null }]);
});

test('the chunk graph colours blocks by residence and outlines the current one', () => {
  const g = graphPage(chunkGraphHtml(GRAPH, 'abc'));
  g.window.dispatch('message', { data: { type: 'residence', residence: { 'c:1': 'fetched', 'c:2': 'bogus' }, current: 'c:1', node: 'pi3' } });
  assert.deepEqual([...g.b0.classList.set].sort(), ['current', 'res-fetched']);
  assert.deepEqual([...g.b1.classList.set], []);
  assert.equal(g.byId.residence.hidden, false);
  assert.equal(g.byId['residence-where'].textContent, 'thread on pi3:');
  g.window.dispatch('message', { data: { type: 'residence', residence: { 'c:1': 'here', 'c:2': 'remote' }, current: 'c:2', node: null } });
  assert.deepEqual([...g.b0.classList.set], ['res-here']);
  assert.deepEqual([...g.b1.classList.set].sort(), ['current', 'res-remote']);
  assert.equal(g.byId['residence-where'].textContent, 'thread here:');
  g.window.dispatch('message', { data: { type: 'residence', residence: null, current: null } });
  assert.deepEqual([...g.b0.classList.set, ...g.b1.classList.set], []);
  assert.equal(g.byId.residence.hidden, true);
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
