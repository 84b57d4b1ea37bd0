// The HTML of the extension's two webviews, as pure functions (no `vscode`
// import): the chunk graph (the server's SVG fitted to the panel, with pan and
// zoom; a click on a block posts `{type: 'reveal', block, line, col}`; a
// `{type: 'residence', residence, current, node}` message colours the blocks by
// where their chunks live while a thread is stopped; the page posts
// `{type: 'ready'}` when it starts) and the filter preview (the PNG, its
// time and instruction count, a control per `param`; a change posts
// `{type: 'params', values}`, results come back as `{type: 'result'}` or
// `{type: 'error'}` messages).
//
// Every page has a strict Content-Security-Policy: nothing remote, no inline
// script or style without the page's nonce, images only from `data:` URIs.
// Every text from the server or the file is escaped.

import { randomBytes } from 'node:crypto';
import { colorToHex, ChunkGraph, GraphNode, ParamInfo, ParamValue, PreviewResult } from './util';

/** A fresh nonce for one page (base64 of 18 random bytes). */
export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

/** `text` escaped for HTML text and attribute values (double or single quoted). */
export function escapeHtml(text: unknown): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The Content-Security-Policy of a page with this nonce. */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    'img-src data:',
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

const BASE_STYLE = `
body { color: var(--vscode-foreground); background: var(--vscode-editor-background);
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 16px 16px; }
h1 { font-size: 1.2em; font-weight: 600; margin: 12px 0 4px; }
code, pre { font-family: var(--vscode-editor-font-family); }
.hint, .doc, .stats { color: var(--vscode-descriptionForeground); }
.error { color: var(--vscode-errorForeground); white-space: pre-wrap; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background);
  border: none; padding: 3px 10px; cursor: pointer; }
button:hover { background: var(--vscode-button-hoverBackground); }
`;

function page(nonce: string, title: string, style: string, body: string, script: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<style nonce="${escapeHtml(nonce)}">${BASE_STYLE}${style}</style>
</head>
<body>
${body}
<script nonce="${escapeHtml(nonce)}">
${script}
</script>
</body>
</html>
`;
}

/**
 * The server's SVG made fit to inline in a page under the CSP: no XML prolog
 * or doctype, no scripts, `foreignObject`s, event-handler attributes or
 * `javascript:` links (the CSP would block them anyway), and its `<style>`
 * elements get the page's nonce. Anything that does not start with `<svg`
 * is shown as text.
 */
export function prepareSvg(svg: string, nonce: string): string {
  let out = svg
    .replace(/<\?xml[\s\S]*?\?>/g, '')
    .replace(/<!DOCTYPE[^>]*>/gi, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .trim();
  if (!/^<svg[\s>]/i.test(out)) {
    return `<pre class="error">${escapeHtml(svg)}</pre>`;
  }
  out = out
    .replace(/<script\b[\s\S]*?(<\/script\s*>|$)/gi, '')
    .replace(/<foreignObject\b[\s\S]*?(<\/foreignObject\s*>|$)/gi, '')
    .replace(/\s+on[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '')
    .replace(/(href\s*=\s*["'])\s*javascript:[^"']*/gi, '$1#')
    .replace(/<style(?=[\s>])/gi, `<style nonce="${escapeHtml(nonce)}"`);
  return out;
}

/** The 1-based source line of a node, for `data-line`. */
function nodeLine(node: GraphNode): number | null {
  return node.range ? node.range.start.line : null;
}

/** A rectangle in the SVG's user units. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The width of a character of the graph's 12 px monospace text, a little over (for the extent only). */
const CHAR_WIDTH = 7.4;

function attrNumber(tag: string, name: string): number | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*["']([-+0-9.eE]+)["']`).exec(tag);
  const n = m ? Number(m[1]) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The points of a path's `d` (absolute commands M, L, C, Q, S, T, H, V, Z; relative ones are taken as absolute, an overestimate). */
function pathPoints(d: string): [number, number][] {
  const points: [number, number][] = [];
  const tokens = d.match(/[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g) ?? [];
  let command = 'M';
  let x = 0;
  let y = 0;
  const numbers: number[] = [];
  const flush = (): void => {
    const upper = command.toUpperCase();
    if (upper === 'H') {
      numbers.forEach((n) => points.push([(x = n), y]));
    } else if (upper === 'V') {
      numbers.forEach((n) => points.push([x, (y = n)]));
    } else if (upper === 'A') {
      for (let i = 0; i + 6 < numbers.length; i += 7) {
        points.push([(x = numbers[i + 5]), (y = numbers[i + 6])]);
      }
    } else {
      for (let i = 0; i + 1 < numbers.length; i += 2) {
        points.push([(x = numbers[i]), (y = numbers[i + 1])]);
      }
    }
    numbers.length = 0;
  };
  for (const token of tokens) {
    if (/^[A-Za-z]$/.test(token)) {
      flush();
      command = token;
    } else {
      numbers.push(Number(token));
    }
  }
  flush();
  return points;
}

/**
 * The extent of what an SVG of the chunk graph draws: its boxes (`rect`), edges
 * and headers (`path`), lines and texts (a text's width estimated from its
 * characters), outside `<defs>` (the arrow markers); at least its own
 * `width` × `height` from 0, 0. The server's layout leaves out some edges (a
 * call edge to a function box can run past its right edge), so the page draws
 * this box instead. `undefined` when nothing is found.
 */
export function svgExtent(svg: string): Box | undefined {
  const body = svg.replace(/<defs\b[\s\S]*?<\/defs\s*>/gi, '').replace(/<title\b[\s\S]*?<\/title\s*>/gi, '');
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const add = (x: number, y: number): void => {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  };
  const open = /^<svg\b[^>]*>/i.exec(body.trim());
  if (open) {
    const width = attrNumber(open[0], 'width');
    const height = attrNumber(open[0], 'height');
    if (width !== undefined && height !== undefined) {
      add(0, 0);
      add(width, height);
    }
  }
  for (const m of body.matchAll(/<rect\b[^>]*>/gi)) {
    const x = attrNumber(m[0], 'x') ?? 0;
    const y = attrNumber(m[0], 'y') ?? 0;
    add(x, y);
    add(x + (attrNumber(m[0], 'width') ?? 0), y + (attrNumber(m[0], 'height') ?? 0));
  }
  for (const m of body.matchAll(/<path\b[^>]*\sd\s*=\s*["']([^"']*)["'][^>]*>/gi)) {
    // Half an arrow head beyond the end, either way.
    for (const [x, y] of pathPoints(m[1])) {
      add(x - 5, y - 5);
      add(x + 5, y + 5);
    }
  }
  for (const m of body.matchAll(/<line\b[^>]*>/gi)) {
    add(attrNumber(m[0], 'x1') ?? 0, attrNumber(m[0], 'y1') ?? 0);
    add(attrNumber(m[0], 'x2') ?? 0, attrNumber(m[0], 'y2') ?? 0);
  }
  for (const m of body.matchAll(/<text\b([^>]*)>([\s\S]*?)<\/text\s*>/gi)) {
    const x = attrNumber(m[0], 'x') ?? 0;
    const y = attrNumber(m[0], 'y') ?? 0;
    const chars = m[2].replace(/<[^>]*>/g, '').replace(/&[a-z#0-9]+;/gi, '_').length;
    const anchor = /text-anchor\s*=\s*["'](middle|end)["']/.exec(m[1])?.[1];
    const width = chars * CHAR_WIDTH;
    const left = anchor === 'middle' ? x - width / 2 : anchor === 'end' ? x - width : x;
    add(left, y - 12);
    add(left + width, y + 4);
  }
  if (!Number.isFinite(minX)) {
    return undefined;
  }
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

/**
 * The graph's SVG made to fit its panel: the `viewBox` covers all it draws
 * (plus a margin), and `width`/`height` give way to the page's CSS (the
 * drawing scales to the panel, keeping its proportions).
 */
export function fitSvg(svg: string): { svg: string; viewBox: Box | undefined } {
  const extent = svgExtent(svg);
  if (!extent) {
    return { svg, viewBox: undefined };
  }
  const margin = 8;
  const box: Box = {
    x: Math.floor(extent.x - margin),
    y: Math.floor(extent.y - margin),
    width: Math.ceil(extent.width + 2 * margin),
    height: Math.ceil(extent.height + 2 * margin),
  };
  const viewBox = `${box.x} ${box.y} ${box.width} ${box.height}`;
  const out = svg.replace(/<svg\b[^>]*>/i, (tag) =>
    tag
      .replace(/\s(width|height|viewBox|preserveAspectRatio)\s*=\s*("[^"]*"|'[^']*')/gi, '')
      .replace(/^<svg\b/i, `<svg id="graph-svg" viewBox="${viewBox}" preserveAspectRatio="xMidYMin meet"`),
  );
  return { svg: out, viewBox: box };
}

/** The colours of residence in the chunk graph (fill of a block's box), for the page's style and legend. */
export const RESIDENCE_COLOURS: Record<string, string> = {
  here: '#e3f2fd',
  prefetched: '#fff59d',
  fetched: '#ffcc80',
  remote: '#f48fb1',
};

/** The chunk-graph page of `graph`. */
export function chunkGraphHtml(graph: ChunkGraph, nonce: string): string {
  const blocks = graph.nodes.filter((n) => n.kind === 'block');
  const rows = blocks
    .map((node) => {
      const line = nodeLine(node);
      const col = node.range ? node.range.start.column : null;
      const attrs =
        `data-block="${escapeHtml(node.block ?? '')}"` +
        (line !== null ? ` data-line="${escapeHtml(line)}" data-col="${escapeHtml(col ?? 1)}"` : '');
      const where =
        node.range !== null
          ? `lines ${escapeHtml(node.range.start.line)}&ndash;${escapeHtml(node.range.end.line)}`
          : 'no source';
      return (
        `<li><button class="block" ${attrs}>${escapeHtml(node.label)}</button> ` +
        `<span class="hint">${where}, ${escapeHtml(node.instrs.length)} instructions</span>` +
        `<pre>${node.instrs.map(escapeHtml).join('\n')}</pre></li>`
      );
    })
    .join('\n');
  const prepared = prepareSvg(graph.svg, nonce);
  const fitted = prepared.startsWith('<svg') ? fitSvg(prepared).svg : prepared;
  const legend = Object.keys(RESIDENCE_COLOURS)
    .map((name) => `<span class="swatch res-${escapeHtml(name)}"></span>${escapeHtml(name)}`)
    .join(' ');
  const body = `
<header>
<h1>Chunk graph of <code>${escapeHtml(graph.function)}</code></h1>
<p class="hint">${escapeHtml(blocks.length)} blocks, ${escapeHtml(graph.edges.length)} edges. Click a block to jump to its code; drag to pan, the wheel (or + and −) to zoom.</p>
<div class="toolbar">
<button id="zoom-in" title="Zoom in">+</button>
<button id="zoom-out" title="Zoom out">&minus;</button>
<button id="zoom-reset" title="Fit the graph to the panel">Fit</button>
<span id="residence" class="legend" hidden><span id="residence-where"></span> ${legend} <span class="swatch current-swatch"></span>current block</span>
</div>
</header>
<div id="graph" class="graph">${fitted}</div>
<details>
<summary>Blocks and their instructions</summary>
<ul id="blocks" class="blocks">
${rows}
</ul>
</details>`;
  const residenceStyle = Object.entries(RESIDENCE_COLOURS)
    .map(([name, colour]) => `.graph .res-${name} .frame, .swatch.res-${name} { fill: ${colour}; background: ${colour}; }`)
    .join('\n');
  const style = `
.graph { background: #ffffff; overflow: hidden; border-radius: 4px; margin: 8px 0; height: calc(100vh - 120px); min-height: 200px; cursor: grab; touch-action: none; }
.graph.dragging { cursor: grabbing; }
.graph svg { width: 100%; height: 100%; display: block; user-select: none; }
.graph g[data-line]:focus { outline: 2px solid var(--vscode-focusBorder); }
.toolbar { display: flex; gap: 4px; align-items: center; flex-wrap: wrap; }
.toolbar button { min-width: 2em; }
.legend { margin-left: 12px; color: var(--vscode-descriptionForeground); }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border: 1px solid #37474f; vertical-align: middle; margin: 0 2px 0 8px; }
.current-swatch { border: 3px solid #d50000; }
${residenceStyle}
.graph .current .frame { stroke: #d50000; stroke-width: 4; }
.blocks { list-style: none; padding: 0; }
.blocks pre { margin: 2px 0 8px 16px; }
`;
  const script = `(function () {
  const vscode = acquireVsCodeApi();
  const RESIDENCES = ${JSON.stringify(Object.keys(RESIDENCE_COLOURS))};
  const container = document.getElementById('graph');
  const svg = document.getElementById('graph-svg');
  function parseBox(text) {
    const n = String(text || '').trim().split(/[\\s,]+/).map(Number);
    return n.length === 4 && n.every(isFinite) && n[2] > 0 && n[3] > 0 ? { x: n[0], y: n[1], w: n[2], h: n[3] } : null;
  }
  const home = svg ? parseBox(svg.getAttribute('viewBox')) : null;
  let view = home ? { x: home.x, y: home.y, w: home.w, h: home.h } : null;
  function apply() {
    if (svg && view) { svg.setAttribute('viewBox', view.x + ' ' + view.y + ' ' + view.w + ' ' + view.h); }
  }
  // Zooms by factor around a point given as fractions (0..1) of the panel.
  function zoom(factor, fx, fy) {
    if (!view || !home) { return; }
    const w = Math.min(home.w * 20, Math.max(home.w / 40, view.w / factor));
    const h = view.h * (w / view.w);
    view = { x: view.x + (view.w - w) * fx, y: view.y + (view.h - h) * fy, w: w, h: h };
    apply();
  }
  function reset() {
    if (home) { view = { x: home.x, y: home.y, w: home.w, h: home.h }; apply(); }
  }
  // The user units per pixel of the panel (the drawing keeps its proportions).
  function scale() {
    const rect = container && container.getBoundingClientRect ? container.getBoundingClientRect() : null;
    if (!rect || !view || rect.width <= 0 || rect.height <= 0) { return 1; }
    return Math.max(view.w / rect.width, view.h / rect.height);
  }
  let drag = null;
  let dragged = false;
  if (container && svg) {
    container.addEventListener('wheel', function (event) {
      event.preventDefault();
      const rect = container.getBoundingClientRect();
      const fx = rect.width > 0 ? (event.clientX - rect.left) / rect.width : 0.5;
      const fy = rect.height > 0 ? (event.clientY - rect.top) / rect.height : 0.5;
      zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, Math.min(1, Math.max(0, fx)), Math.min(1, Math.max(0, fy)));
    }, { passive: false });
    container.addEventListener('pointerdown', function (event) {
      if (event.button !== 0) { return; }
      drag = { x: event.clientX, y: event.clientY, view: view, scale: scale() };
      dragged = false;
    });
    window.addEventListener('pointermove', function (event) {
      if (!drag || !drag.view) { return; }
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!dragged && Math.abs(dx) + Math.abs(dy) < 4) { return; }
      dragged = true;
      container.classList.add('dragging');
      view = { x: drag.view.x - dx * drag.scale, y: drag.view.y - dy * drag.scale, w: drag.view.w, h: drag.view.h };
      apply();
    });
    window.addEventListener('pointerup', function () {
      drag = null;
      container.classList.remove('dragging');
    });
  }
  const zoomIn = document.getElementById('zoom-in');
  const zoomOut = document.getElementById('zoom-out');
  const zoomReset = document.getElementById('zoom-reset');
  if (zoomIn) { zoomIn.addEventListener('click', function () { zoom(1.25, 0.5, 0.5); }); }
  if (zoomOut) { zoomOut.addEventListener('click', function () { zoom(1 / 1.25, 0.5, 0.5); }); }
  if (zoomReset) { zoomReset.addEventListener('click', reset); }
  function reveal(element) {
    vscode.postMessage({
      type: 'reveal',
      block: element.getAttribute('data-block'),
      line: element.getAttribute('data-line'),
      col: element.getAttribute('data-col'),
    });
  }
  for (const g of document.querySelectorAll('#graph g[data-line]')) {
    g.setAttribute('tabindex', '0');
    g.setAttribute('role', 'button');
    g.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); reveal(g); }
    });
  }
  document.addEventListener('click', function (event) {
    if (dragged) { dragged = false; return; }
    const target = event.target;
    if (!(target instanceof Element)) { return; }
    const found = target.closest('g[data-line], button[data-line]');
    if (found) { reveal(found); }
  });
  // While a debug session is stopped: each block coloured by where its chunk
  // lives, the current block outlined; {type: 'residence', residence: null} clears.
  function showResidence(message) {
    const map = message.residence && typeof message.residence === 'object' ? message.residence : null;
    for (const g of document.querySelectorAll('#graph g[data-id]')) {
      for (const name of RESIDENCES) { g.classList.remove('res-' + name); }
      g.classList.remove('current');
      const id = g.getAttribute('data-id');
      if (!map || !id) { continue; }
      const where = map[id];
      if (typeof where === 'string' && RESIDENCES.indexOf(where) >= 0) { g.classList.add('res-' + where); }
      if (message.current === id) { g.classList.add('current'); }
    }
    const legend = document.getElementById('residence');
    if (legend) { legend.hidden = !map; }
    const whereText = document.getElementById('residence-where');
    if (whereText) {
      whereText.textContent = map ? (message.node ? 'thread on ' + String(message.node) + ':' : 'thread here:') : '';
    }
  }
  window.addEventListener('message', function (event) {
    const message = event.data;
    if (message && typeof message === 'object' && message.type === 'residence') { showResidence(message); }
  });
  vscode.postMessage({ type: 'ready' });
})();`;
  return page(nonce, `Chunk graph: ${graph.function}`, style, body, script);
}

/** The line under the preview: size, level, time, instruction count and stages. */
export function previewStats(result: PreviewResult): string {
  const stages = result.stages.length > 0 ? ` · ${result.stages.join(' → ')}` : '';
  return (
    `${result.width}×${result.height}, level ${result.level} · ${result.millis} ms · ` +
    `${result.instructions.toLocaleString('en-US')} instructions${stages}`
  );
}

/** Whether `text` is plain base64 (safe to put after `data:image/png;base64,`). */
export function isBase64(text: unknown): text is string {
  return typeof text === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

/** A step for a float slider over `[min, max]`: about a hundredth of the range, rounded to 1, 2 or 5 times a power of ten. */
export function sliderStep(min: number, max: number): number {
  const span = max - min;
  if (!(span > 0) || !Number.isFinite(span)) {
    return 0.01;
  }
  const raw = span / 100;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const scaled = raw / power;
  const nice = scaled < 1.5 ? 1 : scaled < 3.5 ? 2 : scaled < 7.5 ? 5 : 10;
  return Number((nice * power).toPrecision(6));
}

function valueText(value: ParamValue): string {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(4)));
  }
  return String(value);
}

/** The control of one param: a slider (or a number box without a range), a checkbox or a colour picker. */
export function paramControl(param: ParamInfo, index: number, value: ParamValue | undefined): string {
  const id = `param-${index}`;
  const current = value ?? param.default;
  const common = `id="${id}" data-param="${escapeHtml(param.name)}" data-type="${escapeHtml(param.type)}"`;
  let input: string;
  let shown = '';
  switch (param.type) {
    case 'bool': {
      const checked = current === true ? ' checked' : '';
      input = `<input type="checkbox" ${common} data-default="${param.default === true}"${checked}>`;
      break;
    }
    case 'color': {
      const hex = colorToHex(current);
      input = `<input type="color" ${common} data-default="${escapeHtml(colorToHex(param.default))}" value="${escapeHtml(hex)}">`;
      shown = hex;
      break;
    }
    default: {
      const num = typeof current === 'number' ? current : Number(param.default);
      const def = escapeHtml(param.default);
      if (typeof param.min === 'number' && typeof param.max === 'number') {
        const step = param.type === 'int' ? 1 : sliderStep(param.min, param.max);
        input =
          `<input type="range" ${common} data-default="${def}" min="${escapeHtml(param.min)}" ` +
          `max="${escapeHtml(param.max)}" step="${escapeHtml(step)}" value="${escapeHtml(num)}">`;
      } else {
        const bounds =
          (typeof param.min === 'number' ? ` min="${escapeHtml(param.min)}"` : '') +
          (typeof param.max === 'number' ? ` max="${escapeHtml(param.max)}"` : '');
        const step = param.type === 'int' ? '1' : 'any';
        input = `<input type="number" ${common} data-default="${def}"${bounds} step="${step}" value="${escapeHtml(num)}">`;
      }
      shown = valueText(num);
    }
  }
  const range =
    param.min !== null && param.max !== null && param.type !== 'color'
      ? ` <span class="hint">${escapeHtml(valueText(param.min))}..${escapeHtml(valueText(param.max))}</span>`
      : '';
  const doc = param.doc ? `<div class="doc">${escapeHtml(param.doc)}</div>` : '';
  return (
    `<div class="param"><label for="${id}"><code>${escapeHtml(param.name)}</code>: ${escapeHtml(param.type)}</label> ` +
    `${input} <output for="${id}">${escapeHtml(shown)}</output>${range}${doc}</div>`
  );
}

/** What the preview page shows. */
export interface PreviewPage {
  /** `filter invert` or `pipeline dark`. */
  kind: 'filter' | 'pipeline';
  name: string;
  /** The file's name, for the heading. */
  file: string;
  params: ParamInfo[];
  values: Record<string, ParamValue>;
  result?: PreviewResult;
  error?: string;
}

/** The preview page. */
export function previewHtml(view: PreviewPage, nonce: string): string {
  const controls = view.params.map((p, i) => paramControl(p, i, view.values[p.name])).join('\n');
  const image =
    view.result && isBase64(view.result.png.base64)
      ? `data:image/png;base64,${view.result.png.base64}`
      : '';
  const body = `
<header>
<h1>Preview of ${escapeHtml(view.kind)} <code>${escapeHtml(view.name)}</code> <span class="hint">${escapeHtml(view.file)}</span></h1>
</header>
<section id="controls" class="controls">
${controls || '<p class="hint">This file has no <code>param</code>s.</p>'}
${view.params.length > 0 ? '<button id="reset">Reset to defaults</button>' : ''}
</section>
<p id="stats" class="stats">${view.result ? escapeHtml(previewStats(view.result)) : ''}</p>
<p id="error" class="error"${view.error ? '' : ' hidden'}>${escapeHtml(view.error ?? '')}</p>
<img id="image" alt="${escapeHtml(`Preview of ${view.name}`)}"${image ? ` src="${escapeHtml(image)}"` : ' hidden'}>`;
  const style = `
.controls { margin: 8px 0; }
.param { margin: 6px 0; }
.param label { display: inline-block; min-width: 12em; }
.param input[type=range] { width: 16em; vertical-align: middle; }
.param .doc { margin-left: 12em; font-size: 0.9em; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid var(--vscode-panel-border); }
body.busy img { opacity: 0.6; }
`;
  const script = `(function () {
  const vscode = acquireVsCodeApi();
  const inputs = Array.from(document.querySelectorAll('[data-param]'));
  const image = document.getElementById('image');
  const stats = document.getElementById('stats');
  const error = document.getElementById('error');
  function read(input) {
    const type = input.getAttribute('data-type');
    if (type === 'bool') { return input.checked; }
    if (type === 'color') { return input.value; }
    return Number(input.value);
  }
  function show(input) {
    const output = document.querySelector('output[for="' + input.id + '"]');
    if (!output) { return; }
    const value = read(input);
    output.textContent = typeof value === 'number' ? String(Number(value.toFixed(4))) : (typeof value === 'string' ? value : '');
  }
  function send() {
    const values = {};
    for (const input of inputs) { values[input.getAttribute('data-param')] = read(input); }
    document.body.classList.add('busy');
    vscode.postMessage({ type: 'params', values: values });
  }
  for (const input of inputs) {
    input.addEventListener('input', function () { show(input); send(); });
    input.addEventListener('change', function () { show(input); send(); });
  }
  const reset = document.getElementById('reset');
  if (reset) {
    reset.addEventListener('click', function () {
      for (const input of inputs) {
        const def = input.getAttribute('data-default');
        if (input.getAttribute('data-type') === 'bool') { input.checked = def === 'true'; } else { input.value = def; }
        show(input);
      }
      send();
    });
  }
  window.addEventListener('message', function (event) {
    const message = event.data;
    if (!message || typeof message !== 'object') { return; }
    if (message.type === 'result') {
      document.body.classList.remove('busy');
      if (typeof message.base64 === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(message.base64)) {
        image.src = 'data:image/png;base64,' + message.base64;
        image.hidden = false;
      }
      stats.textContent = String(message.stats || '');
      error.textContent = '';
      error.hidden = true;
    } else if (message.type === 'error') {
      document.body.classList.remove('busy');
      error.textContent = String(message.message || '');
      error.hidden = false;
    } else if (message.type === 'busy') {
      document.body.classList.add('busy');
    }
  });
})();`;
  return page(nonce, `Preview: ${view.name}`, style, body, script);
}
