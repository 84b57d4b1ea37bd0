// Pure helpers of the extension (no `vscode` import, so the tests run them in
// plain Node): the protocol shapes of chop-lsp's extensions, the settings sent
// to the server, the server command, the filters and pipelines of a file, and
// where a click on a chunk-graph block jumps to.

import * as os from 'node:os';
import * as path from 'node:path';

/** An LSP position (0-based line and character). */
export interface LspPosition {
  line: number;
  character: number;
}

/** An LSP range. */
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

/** A node of `chop/chunkGraph`: a basic block or a called function. */
export interface GraphNode {
  id: string;
  kind: 'block' | 'function';
  block: number | null;
  label: string;
  instrs: string[];
  /** The source range for people: 1-based line and column. */
  range: { start: { line: number; column: number }; end: { line: number; column: number } } | null;
  /** The same range as an LSP range of the document. */
  location: LspRange | null;
}

/** The result of `chop/chunkGraph`. */
export interface ChunkGraph {
  function: string;
  dot: string;
  nodes: GraphNode[];
  edges: { from: string; to: string; kind: string }[];
  svg: string;
}

/** A value of a `param`: a number, a boolean, or a colour as `[r, g, b, a]` or `"#rrggbb"`. */
export type ParamValue = number | boolean | number[] | string;

/** One row of `chop/params`. */
export interface ParamInfo {
  name: string;
  type: 'int' | 'float' | 'bool' | 'color';
  default: ParamValue;
  min: ParamValue | null;
  max: ParamValue | null;
  doc: string | null;
  range: LspRange;
}

/** The result of `chop/preview`. */
export interface PreviewResult {
  png: { path: string | null; base64: string };
  width: number;
  height: number;
  level: number;
  millis: number;
  instructions: number;
  stages: string[];
}

/** What `chop.preview` runs. */
export type PreviewTarget = { kind: 'filter' | 'pipeline'; name: string };

/** A filter or pipeline of a file, with its 0-based line. */
export interface FileTarget extends PreviewTarget {
  line: number;
}

/** The server's settings (see docs/lsp-extensions.md, "Settings"); `null` resets a field to its default. */
export interface ServerSettings {
  previewPhoto: string | null;
  previewLevel: number | null;
  /** The library's folders `use "..."` looks in after the using file's folder. */
  lib: string[];
}

/**
 * The server's settings from the extension's `chop.preview.photo`,
 * `chop.preview.level` and `chop.lib` (entries that are not non-empty strings are
 * left out).
 */
export function serverSettings(photo: unknown, level: unknown, lib?: unknown): ServerSettings {
  const previewPhoto = typeof photo === 'string' && photo.trim() !== '' ? photo.trim() : null;
  const previewLevel =
    typeof level === 'number' && Number.isInteger(level) && level >= 0 && level < 64 ? level : null;
  const folders = Array.isArray(lib)
    ? lib.filter((dir): dir is string => typeof dir === 'string' && dir.trim() !== '').map((dir) => dir.trim())
    : [];
  return { previewPhoto, previewLevel, lib: folders };
}

/**
 * The command that starts the server, from `chop.server.path`: a bare name is
 * looked up on `PATH`; `~/` is the home folder; any other relative path starts
 * at the first workspace folder.
 */
export function serverCommand(configured: unknown, workspaceFolder?: string): string {
  const value = typeof configured === 'string' ? configured.trim() : '';
  if (value === '') {
    return 'chop-lsp';
  }
  if (value === '~' || value.startsWith('~/')) {
    return path.join(os.homedir(), value.slice(1));
  }
  const hasSeparator = value.includes('/') || value.includes('\\');
  if (!hasSeparator || path.isAbsolute(value) || workspaceFolder === undefined) {
    return value;
  }
  return path.join(workspaceFolder, value);
}

/**
 * The filters and pipelines of a Chop file, in source order: items start a
 * line (`filter NAME(` and `pipeline NAME =`), so commented-out ones (`//`)
 * are not found.
 */
export function findTargets(text: string): FileTarget[] {
  const out: FileTarget[] = [];
  const lines = text.split(/\r?\n/);
  const item = /^[ \t]*(filter|pipeline)[ \t]+([A-Za-z_][A-Za-z0-9_]*)/;
  lines.forEach((line, index) => {
    const found = item.exec(line);
    if (found) {
      out.push({ kind: found[1] as 'filter' | 'pipeline', name: found[2], line: index });
    }
  });
  return out;
}

/** The target the cursor is in: the last one that starts at or before `line`. */
export function targetAt(targets: FileTarget[], line: number): FileTarget | undefined {
  let found: FileTarget | undefined;
  for (const target of targets) {
    if (target.line <= line) {
      found = target;
    }
  }
  return found;
}

/** What the chunk-graph webview posts when a block is clicked (its `data-*` attributes). */
export interface RevealMessage {
  type: 'reveal';
  block: number | null;
  /** `data-line`: 1-based. */
  line: number | null;
  /** `data-col`: 1-based. */
  col: number | null;
}

/**
 * Where to jump for a click on a graph node: the block's `location` (an LSP
 * position, exact in the negotiated encoding) when the server gave one, else
 * the 1-based `data-line`/`data-col` of the SVG made 0-based.
 */
export function revealTarget(nodes: GraphNode[], message: RevealMessage): LspPosition | undefined {
  if (message.block !== null && Number.isInteger(message.block)) {
    const node = nodes.find((n) => n.kind === 'block' && n.block === message.block);
    if (node?.location) {
      return { line: node.location.start.line, character: node.location.start.character };
    }
  }
  if (message.line !== null && Number.isInteger(message.line) && message.line >= 1) {
    const col = message.col !== null && Number.isInteger(message.col) && message.col >= 1 ? message.col : 1;
    return { line: message.line - 1, character: col - 1 };
  }
  return undefined;
}

/** Parses a message of the chunk-graph webview; `undefined` when it is not a well-formed reveal. */
export function parseRevealMessage(raw: unknown): RevealMessage | undefined {
  if (typeof raw !== 'object' || raw === null || (raw as { type?: unknown }).type !== 'reveal') {
    return undefined;
  }
  const num = (v: unknown): number | null => {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : NaN;
    return Number.isInteger(n) ? n : null;
  };
  const r = raw as { block?: unknown; line?: unknown; col?: unknown };
  return { type: 'reveal', block: num(r.block), line: num(r.line), col: num(r.col) };
}

/** A colour default `[r, g, b, a]` (0 to 1) as `#rrggbb` for a colour picker. */
export function colorToHex(value: ParamValue | null): string {
  if (typeof value === 'string' && /^#[0-9a-fA-F]{6}$/.test(value)) {
    return value.toLowerCase();
  }
  if (!Array.isArray(value) || value.length < 3) {
    return '#000000';
  }
  return (
    '#' +
    value
      .slice(0, 3)
      .map((c) => {
        const n = Math.round(Math.min(1, Math.max(0, Number(c) || 0)) * 255);
        return n.toString(16).padStart(2, '0');
      })
      .join('')
  );
}

/**
 * The param values the preview webview sent, checked against the params: only
 * known names, each of its type (numbers for `int`/`float`, `int`s rounded,
 * booleans, `#rrggbb` colours) and clamped to its range.
 */
export function cleanParamValues(params: ParamInfo[], raw: unknown): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  if (typeof raw !== 'object' || raw === null) {
    return out;
  }
  const values = raw as Record<string, unknown>;
  for (const param of params) {
    if (!Object.prototype.hasOwnProperty.call(values, param.name)) {
      continue;
    }
    const value = values[param.name];
    switch (param.type) {
      case 'int':
      case 'float': {
        let n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
        if (!Number.isFinite(n)) {
          break;
        }
        if (param.type === 'int') {
          n = Math.round(n);
        }
        if (typeof param.min === 'number') {
          n = Math.max(param.min, n);
        }
        if (typeof param.max === 'number') {
          n = Math.min(param.max, n);
        }
        out[param.name] = n;
        break;
      }
      case 'bool':
        if (typeof value === 'boolean') {
          out[param.name] = value;
        }
        break;
      case 'color':
        if (typeof value === 'string' && /^#[0-9a-fA-F]{6}$/.test(value)) {
          out[param.name] = value.toLowerCase();
        }
        break;
    }
  }
  return out;
}

/** A key that changes when the params' names, types or ranges change (the sliders must be redrawn). */
export function paramsSignature(params: ParamInfo[]): string {
  return JSON.stringify(params.map((p) => [p.name, p.type, p.min, p.max, p.default, p.doc]));
}

/** The params of `chop/chunkGraph`: the function named (a code lens), else the one around `position`. */
export function chunkGraphRequest(
  uri: string,
  where: { function: string } | { position: LspPosition },
): { textDocument: { uri: string }; function?: string; position?: LspPosition } {
  return 'function' in where
    ? { textDocument: { uri }, function: where.function }
    : { textDocument: { uri }, position: where.position };
}

/** The params of `chop/params`. */
export function paramsRequest(uri: string): { textDocument: { uri: string } } {
  return { textDocument: { uri } };
}

/** The params of `chop/preview`: the filter or pipeline and the param values (the photo and level come from the settings). */
export function previewRequest(
  uri: string,
  target: PreviewTarget,
  values: Record<string, ParamValue>,
): { textDocument: { uri: string }; filter?: string; pipeline?: string; params: Record<string, ParamValue> } {
  return target.kind === 'filter'
    ? { textDocument: { uri }, filter: target.name, params: values }
    : { textDocument: { uri }, pipeline: target.name, params: values };
}
