// The webview HTML builders: strict CSP with the page's nonce, escaped text,
// the server's SVG made safe and fitted to the panel, and data-line attributes
// for jumping to code.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  chunkGraphHtml,
  contentSecurityPolicy,
  escapeHtml,
  fitSvg,
  isBase64,
  makeNonce,
  paramControl,
  prepareSvg,
  previewHtml,
  previewStats,
  RESIDENCE_COLOURS,
  sliderStep,
  svgExtent,
} from '../webview';
import { ChunkGraph, ParamInfo, PreviewResult } from '../util';

const NONCE = 'bm9uY2Utbm9uY2Utbm9uY2U=';
const EVIL = '<img src=x onerror="alert(1)">&\'"';

const GRAPH: ChunkGraph = {
  function: 'clamp01',
  dot: 'digraph "clamp01" {}',
  nodes: [
    {
      id: 'c:aeaf9453338d96a3',
      kind: 'block',
      block: 0,
      label: 'b0',
      instrs: ['Const s1 #0x0 (0)', 'BrLtF s0 s1 -> b1 else b2'],
      range: { start: { line: 9, column: 8 }, end: { line: 9, column: 15 } },
      location: { start: { line: 8, character: 7 }, end: { line: 8, character: 14 } },
    },
    {
      id: 'c:f774508144385c2d',
      kind: 'block',
      block: 1,
      label: 'b1',
      instrs: ['Math s3 s1 "MinFloat" <x>'],
      range: { start: { line: 10, column: 5 }, end: { line: 12, column: 16 } },
      location: null,
    },
    { id: 'c:0000000000000001', kind: 'function', block: null, label: 'min', instrs: [], range: null, location: null },
  ],
  edges: [{ from: 'c:aeaf9453338d96a3', to: 'c:f774508144385c2d', kind: 'then' }],
  svg:
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="480" height="280">' +
    '<style>.block { cursor: pointer; }</style>' +
    '<g class="block" data-block="0" data-line="9" data-col="8" data-id="c:aeaf9453338d96a3"><title>b0 &lt;x&gt;</title>' +
    '<rect onclick="alert(1)" x="1" y="1" width="10" height="10"/></g>' +
    '<script>alert(2)</script><foreignObject><div>html</div></foreignObject>' +
    '<a href="javascript:alert(3)"><text>t</text></a>' +
    '<g class="block" data-block="1" data-line="10" data-col="5" data-id="c:f774508144385c2d"><title>b1</title></g>' +
    '</svg>\n',
};

const RESULT: PreviewResult = {
  png: { path: '/tmp/x.png', base64: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==' },
  width: 226,
  height: 150,
  level: 1,
  millis: 3,
  instructions: 271200,
  stages: ['grayscale', 'vignette'],
};

const PARAMS: ParamInfo[] = [
  {
    name: 'strength',
    type: 'float',
    default: 0.5,
    min: 0,
    max: 1,
    doc: 'How dark <b>the</b> corners get.',
    range: { start: { line: 1, character: 0 }, end: { line: 1, character: 40 } },
  },
  { name: 'radius', type: 'int', default: 2, min: 1, max: 8, doc: null, range: { start: { line: 2, character: 0 }, end: { line: 2, character: 9 } } },
  { name: 'invert', type: 'bool', default: true, min: null, max: null, doc: null, range: { start: { line: 3, character: 0 }, end: { line: 3, character: 9 } } },
  { name: 'tint', type: 'color', default: [1, 0.5, 0, 1], min: null, max: null, doc: null, range: { start: { line: 4, character: 0 }, end: { line: 4, character: 9 } } },
  { name: 'gain', type: 'float', default: 1.5, min: null, max: null, doc: null, range: { start: { line: 5, character: 0 }, end: { line: 5, character: 9 } } },
];

/** The CSP meta of a page, and that every script and style element carries the nonce. */
function assertStrictPage(html: string, nonce: string): void {
  assert.match(html, /^<!DOCTYPE html>/);
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(meta, 'no CSP meta');
  const csp = meta[1].replace(/&#39;/g, "'");
  assert.equal(csp, contentSecurityPolicy(nonce));
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, new RegExp(`script-src 'nonce-${nonce.replace(/[+/=]/g, '\\$&')}'`));
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:|\*/);
  // The CSP comes before any script or style.
  assert.ok(html.indexOf('Content-Security-Policy') < html.search(/<(script|style)\b/));
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  assert.ok(scripts.length >= 1);
  for (const tag of scripts) {
    assert.equal(tag, `<script nonce="${nonce}">`);
  }
  for (const tag of html.match(/<style\b[^>]*>/g) ?? []) {
    assert.equal(tag, `<style nonce="${nonce}">`);
  }
  // No tag has an inline event handler (escaped text may mention one: it is not a tag).
  for (const tag of html.match(/<[a-zA-Z][^>]*>/g) ?? []) {
    // Attribute values are double-quoted and escaped: what is inside them is text.
    const names = tag.replace(/"[^"]*"/g, '""');
    assert.doesNotMatch(names, /\son[a-z]+\s*=/i, `an inline event handler in ${tag}`);
    assert.doesNotMatch(names, /'/, `a single-quoted attribute in ${tag}`);
  }
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'remote content');
}

test('escapeHtml escapes the five special characters', () => {
  assert.equal(escapeHtml(EVIL), '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;&quot;');
  assert.equal(escapeHtml(42), '42');
});

test('makeNonce is fresh base64', () => {
  const a = makeNonce();
  assert.match(a, /^[A-Za-z0-9+/]{24}$/);
  assert.notEqual(a, makeNonce());
});

test('the chunk graph page: CSP, nonce, escaped text, data-line attributes', () => {
  const html = chunkGraphHtml({ ...GRAPH, function: EVIL }, NONCE);
  assertStrictPage(html, NONCE);
  assert.ok(html.includes(`<title>Chunk graph: ${escapeHtml(EVIL)}</title>`));
  assert.ok(!html.includes(EVIL));
  assert.ok(!html.includes('alert(2)') && !html.includes('<foreignObject') && !html.includes('javascript:'));
  // The SVG's blocks keep their attributes; its <style> gets the nonce.
  assert.ok(html.includes('<g class="block" data-block="0" data-line="9" data-col="8"'));
  assert.ok(html.includes('<g class="block" data-block="1" data-line="10" data-col="5"'));
  assert.ok(!html.includes('<?xml'));
  // The list of blocks maps each to its 1-based source line; instructions are escaped.
  assert.ok(html.includes('<button class="block" data-block="0" data-line="9" data-col="8">b0</button>'));
  assert.ok(html.includes('<button class="block" data-block="1" data-line="10" data-col="5">b1</button>'));
  assert.ok(html.includes('Math s3 s1 &quot;MinFloat&quot; &lt;x&gt;'));
  assert.ok(html.includes('2 blocks, 1 edges'));
  // The script posts the clicked block's data-* attributes.
  assert.ok(html.includes("type: 'reveal'"));
  assert.ok(html.includes("element.getAttribute('data-line')"));
  assert.ok(html.includes("closest('g[data-line], button[data-line]')"));
});

test('prepareSvg keeps the drawing, drops what could run, refuses what is not SVG', () => {
  const svg = prepareSvg(GRAPH.svg, NONCE);
  assert.match(svg, /^<svg /);
  assert.ok(svg.includes(`<style nonce="${NONCE}">`));
  assert.ok(!/onclick|<script|foreignObject|javascript:/i.test(svg));
  assert.ok(svg.includes('<title>b0 &lt;x&gt;</title>'));
  const notSvg = prepareSvg('<div>nope</div>', NONCE);
  assert.equal(notSvg, '<pre class="error">&lt;div&gt;nope&lt;/div&gt;</pre>');
});

test('the preview page: CSP, image, stats, one control per param, escaped docs', () => {
  const html = previewHtml(
    { kind: 'pipeline', name: 'dark', file: 'a<b>.chop', params: PARAMS, values: { strength: 0.8 }, result: RESULT },
    NONCE,
  );
  assertStrictPage(html, NONCE);
  assert.ok(html.includes(`src="data:image/png;base64,${RESULT.png.base64}"`));
  assert.ok(html.includes('226×150, level 1 · 3 ms · 271,200 instructions · grayscale → vignette'));
  assert.ok(html.includes('a&lt;b&gt;.chop'));
  assert.ok(html.includes('How dark &lt;b&gt;the&lt;/b&gt; corners get.'));
  assert.ok(
    html.includes(
      '<input type="range" id="param-0" data-param="strength" data-type="float" data-default="0.5" min="0" max="1" step="0.01" value="0.8">',
    ),
  );
  assert.ok(html.includes('type="range" id="param-1" data-param="radius" data-type="int" data-default="2" min="1" max="8" step="1" value="2"'));
  assert.ok(html.includes('<input type="checkbox" id="param-2" data-param="invert" data-type="bool" data-default="true" checked>'));
  assert.ok(html.includes('<input type="color" id="param-3" data-param="tint" data-type="color" data-default="#ff8000" value="#ff8000">'));
  assert.ok(html.includes('<input type="number" id="param-4" data-param="gain" data-type="float" data-default="1.5" step="any" value="1.5">'));
  assert.ok(html.includes('id="reset"'));
  assert.ok(html.includes('<p id="error" class="error" hidden></p>'));
  assert.ok(html.includes("vscode.postMessage({ type: 'params', values: values })"));
});

test('the preview page shows an error, and no image for bad base64', () => {
  const html = previewHtml(
    {
      kind: 'filter',
      name: EVIL,
      file: 'x.chop',
      params: [],
      values: {},
      result: { ...RESULT, png: { path: null, base64: '"><script>alert(1)</script>' } },
      error: 'param `strength` must lie in 0.0..1.0 <sic>',
    },
    NONCE,
  );
  assertStrictPage(html, NONCE);
  assert.ok(!html.includes(EVIL));
  assert.ok(!html.includes('<script>alert(1)') && !html.includes('src="data:image/png'));
  assert.ok(html.includes('<img id="image" alt="Preview of &lt;img') && html.includes(' hidden>'));
  assert.ok(html.includes('<p id="error" class="error">param `strength` must lie in 0.0..1.0 &lt;sic&gt;</p>'));
  assert.ok(html.includes('This file has no <code>param</code>s.'));
});

test('param controls escape names and docs', () => {
  const html = paramControl({ ...PARAMS[0], name: 'a"b', doc: EVIL }, 7, undefined);
  assert.ok(html.includes('data-param="a&quot;b"'));
  assert.ok(html.includes(escapeHtml(EVIL)));
  assert.ok(!html.includes(EVIL));
  assert.ok(html.includes('value="0.5"'));
});

test('previewStats, isBase64 and sliderStep', () => {
  assert.equal(previewStats({ ...RESULT, stages: [] }), '226×150, level 1 · 3 ms · 271,200 instructions');
  assert.ok(isBase64(RESULT.png.base64));
  assert.ok(!isBase64('abc"def'));
  assert.ok(!isBase64(undefined));
  assert.equal(sliderStep(0, 1), 0.01);
  assert.equal(sliderStep(0, 2), 0.02);
  assert.equal(sliderStep(0.5, 3), 0.02);
  assert.equal(sliderStep(0, 100), 1);
  assert.equal(sliderStep(1, 1), 0.01);
});

test('svgExtent covers boxes, edges and text, not the arrow markers', () => {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100" viewBox="0 0 300 100">' +
    '<defs><marker id="m" viewBox="0 0 10 10"><path d="M0,0 L900,5 L0,10 z"/></marker></defs>' +
    '<rect x="0" y="0" width="300" height="100" fill="#fff"/>' +
    // A call edge that runs past the right edge (the server's layout leaves it out).
    '<path class="edge call" d="M100.0,50.0 C200,50 200,50 380.0,50.0 L420.0,60.0"><title>a -&gt; b (call)</title></path>' +
    '<path d="M20.6,40.0 V23.0 H350.0 Z"/>' +
    '<line x1="10" y1="110" x2="20" y2="120"/>' +
    '<text x="250.0" y="90.0">ABCDEFGHIJ</text>' +
    '</svg>';
  const box = svgExtent(svg);
  assert.ok(box);
  assert.equal(box.x, 0);
  assert.equal(box.y, 0);
  assert.equal(box.x + box.width, 425); // the edge's end, plus half an arrow head
  assert.equal(box.y + box.height, 120); // the line
  // A text is as wide as its characters.
  const text = svgExtent('<svg><text x="0" y="20">' + 'x'.repeat(100) + '</text></svg>');
  assert.ok(text && text.width >= 700, `text width ${text?.width}`);
  assert.equal(svgExtent('<svg></svg>'), undefined);
});

test('fitSvg draws the whole extent and lets the page size the drawing', () => {
  const { svg, viewBox } = fitSvg(
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100" viewBox="0 0 300 100" font-size="12">' +
      '<rect x="0" y="0" width="300" height="100"/><path d="M100,50 L400,50"/></svg>',
  );
  assert.deepEqual(viewBox, { x: -8, y: -8, width: 421, height: 116 });
  assert.match(svg, /^<svg id="graph-svg" viewBox="-8 -8 421 116" preserveAspectRatio="xMidYMin meet" xmlns="http:\/\/www.w3.org\/2000\/svg" font-size="12">/);
  assert.doesNotMatch(/^<svg[^>]*>/.exec(svg)?.[0] ?? '', /width=|height=/);
  // The page carries it, with the zoom buttons and the (hidden) residence legend.
  const html = chunkGraphHtml(
    { function: 'f', dot: '', nodes: [], edges: [], svg: '<svg width="10" height="10"><rect x="0" y="0" width="10" height="10"/></svg>' },
    'n0nce',
  );
  assert.match(html, /<svg id="graph-svg" viewBox="-8 -8 26 26"/);
  for (const id of ['zoom-in', 'zoom-out', 'zoom-reset', 'residence']) {
    assert.match(html, new RegExp(`id="${id}"`));
  }
  assert.match(html, /id="residence" class="legend" hidden/);
  for (const residence of Object.keys(RESIDENCE_COLOURS)) {
    assert.match(html, new RegExp(`\\.graph \\.res-${residence} \\.frame`));
  }
  // Not an SVG: shown as text, nothing to fit.
  assert.match(chunkGraphHtml({ function: 'f', dot: '', nodes: [], edges: [], svg: 'oops' }, 'n'), /<pre class="error">oops<\/pre>/);
});
