// The debugger side of the extension, without `vscode` (the tests run this in
// plain Node against the real chop-dap): what F5 debugs (the configuration
// provider's choices), the custom requests `migrate` and `chunks` of chop-dap
// (docs/dap.md) and their answers, and the chunk tree of the Chunks view.

import { NodeConfig } from './nodes';

/** A `chop` launch configuration (docs/dap.md, "Launch arguments"). */
export interface ChopLaunch {
  type: string;
  request: string;
  name: string;
  program?: string;
  function?: string;
  args?: unknown[];
  params?: Record<string, unknown>;
  filter?: string;
  pipeline?: string;
  input?: string;
  output?: string;
  level?: number;
  stopOnEntry?: boolean;
  node?: string;
  tokenFile?: string;
  fingerprint?: string;
  [key: string]: unknown;
}

/** The items of a Chop file that can be debugged, in source order. */
export interface Debuggables {
  /** Whether the file has `fn main()`. */
  hasMain: boolean;
  /** Filters and pipelines, with their 0-based lines. */
  targets: { kind: 'filter' | 'pipeline'; name: string; line: number }[];
}

/** The `fn main` and the filters and pipelines of a file (items start a line; `//` comments are not items). */
export function debuggables(text: string): Debuggables {
  const targets: Debuggables['targets'] = [];
  let hasMain = false;
  text.split(/\r?\n/).forEach((line, index) => {
    if (/^[ \t]*fn[ \t]+main[ \t]*\(/.test(line)) {
      hasMain = true;
    }
    const found = /^[ \t]*(filter|pipeline)[ \t]+([A-Za-z_][A-Za-z0-9_]*)/.exec(line);
    if (found) {
      targets.push({ kind: found[1] as 'filter' | 'pipeline', name: found[2], line: index });
    }
  });
  return { hasMain, targets };
}

/** What the configuration provider asks the user (VS Code's QuickPick and open dialog, or a test's answers). */
export interface DebugPrompts {
  /** Which filter or pipeline to debug; `undefined`: cancelled. */
  pickTarget(targets: Debuggables['targets']): Promise<Debuggables['targets'][number] | undefined>;
  /** The photo to run on; `null`: the bundled photo; `undefined`: cancelled. */
  pickPhoto(): Promise<string | null | undefined>;
}

/** The active editor's file, as the configuration provider sees it. */
export interface ActiveFile {
  path: string;
  text: string;
}

/**
 * What F5 debugs. An `attach` with its `node` and `thread` is kept (docs/dap.md,
 * "Attach"). A configuration with a `program` is kept (its `type`,
 * `request` and `name` filled in). With none (no launch.json), the active Chop
 * file: `main` if it has one, else its only filter or pipeline, or one the user
 * picks, on a photo the user picks (or the bundled one). `undefined`: nothing to
 * debug (no Chop file, no target, or the user cancelled), and `problem` says why.
 */
export async function resolveLaunch(
  config: Partial<ChopLaunch>,
  file: ActiveFile | undefined,
  prompts: DebugPrompts,
): Promise<{ config?: ChopLaunch; problem?: string }> {
  if (config.request === 'attach') {
    if (typeof config.node !== 'string' || typeof config.thread !== 'number') {
      return {
        problem: 'an attach needs "node" (quic://HOST:PORT) and "thread" (its id: `chunkvm threads --on NODE` lists them)',
      };
    }
    return {
      config: {
        ...config,
        type: config.type || 'chop',
        request: 'attach',
        name: config.name || `Attach to thread ${config.thread} on ${config.node}`,
      },
    };
  }
  if (typeof config.program === 'string' && config.program !== '') {
    return {
      config: {
        ...config,
        type: config.type || 'chop',
        request: config.request || 'launch',
        name: config.name || `Debug ${config.program}`,
        program: config.program,
      },
    };
  }
  if (config.request && config.request !== 'launch') {
    return { problem: `chop-dap knows the requests "launch" and "attach", not "${config.request}"` };
  }
  if (!file) {
    return { problem: 'open a .chop file to debug, or add a "chop" configuration to launch.json' };
  }
  const found = debuggables(file.text);
  const base: ChopLaunch = { ...config, type: 'chop', request: 'launch', name: '', program: file.path };
  if (typeof config.filter === 'string' || typeof config.pipeline === 'string' || typeof config.function === 'string') {
    return { config: { ...base, name: config.name || `Debug ${config.filter ?? config.pipeline ?? config.function}` } };
  }
  if (found.hasMain) {
    return { config: { ...base, name: 'Debug main', function: 'main' } };
  }
  if (found.targets.length === 0) {
    return { problem: 'this file has no fn main, filter or pipeline to debug' };
  }
  const target = found.targets.length === 1 ? found.targets[0] : await prompts.pickTarget(found.targets);
  if (!target) {
    return {};
  }
  const photo = await prompts.pickPhoto();
  if (photo === undefined) {
    return {};
  }
  const launch: ChopLaunch = { ...base, name: `Debug ${target.kind} ${target.name}`, [target.kind]: target.name };
  if (photo !== null) {
    launch.input = photo;
  }
  return { config: launch };
}

/** The launch configuration of the "Debug" code lens: that filter of that file, on the bundled photo. */
export function lensLaunch(program: string, filter: string): ChopLaunch {
  return { type: 'chop', request: 'launch', name: `Debug filter ${filter}`, program, filter };
}

/** A configuration for launch.json (the initial ones and the snippets' bodies use the same shapes). */
export const INITIAL_CONFIGURATIONS: ChopLaunch[] = [
  {
    type: 'chop',
    request: 'launch',
    name: 'Debug main',
    program: '${file}',
    stopOnEntry: false,
  },
  {
    type: 'chop',
    request: 'launch',
    name: 'Debug a filter on a photo',
    program: '${file}',
    filter: 'NAME',
    level: 3,
    params: {},
  },
];

/** Where the Migrate command can move a thread. */
export interface MigrateTarget {
  /** What the picker shows. */
  label: string;
  /** The `migrate` request's `node`: an address or `local`. */
  node: string;
  tokenFile?: string;
  fingerprint?: string;
}

/** The picker's choices: "local" (home) first, then the configured nodes. */
export function migrateTargets(nodes: NodeConfig[]): MigrateTarget[] {
  return [
    { label: 'local', node: 'local' },
    ...nodes.map((n) => ({ label: n.name, node: n.address, tokenFile: n.tokenFile, fingerprint: n.fingerprint })),
  ];
}

/** The arguments of the `migrate` request. */
export function migrateArguments(threadId: number, target: MigrateTarget): Record<string, unknown> {
  const args: Record<string, unknown> = { threadId, node: target.node };
  if (target.tokenFile) {
    args.tokenFile = target.tokenFile;
  }
  if (target.fingerprint) {
    args.fingerprint = target.fingerprint;
  }
  return args;
}

/** The answer of `migrate`, and the body of the `chunkvm/migrated` event (`from` is `null` when the thread came home by itself). */
export interface Migration {
  threadId?: number;
  from: string | null;
  to: string;
  chunks: number;
  bytes: number;
  ms: number;
}

/** A `migrate` answer or `chunkvm/migrated` body, checked; `undefined` if it is not one. */
export function parseMigration(raw: unknown): Migration | undefined {
  if (typeof raw !== 'object' || raw === null) {
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  if (typeof r.to !== 'string' || typeof r.chunks !== 'number' || typeof r.bytes !== 'number' || typeof r.ms !== 'number') {
    return undefined;
  }
  const out: Migration = { from: typeof r.from === 'string' ? r.from : null, to: r.to, chunks: r.chunks, bytes: r.bytes, ms: r.ms };
  if (typeof r.threadId === 'number') {
    out.threadId = r.threadId;
  }
  return out;
}

/** A byte count for people: `812 B`, `12.6 KB`, `3.4 MB` (1 KB = 1024 B, as chop-dap writes it). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The line shown after a move: `Moved the thread from local to pi3: 48 chunks (12.6 KB) in 3.6 ms`. */
export function describeMigration(m: Migration): string {
  const from = m.from === null ? 'its node (it came back by itself)' : m.from;
  return `Moved the thread from ${from} to ${m.to}: ${m.chunks} chunks (${formatBytes(m.bytes)}) in ${m.ms} ms`;
}

/** What sends a custom request: a `vscode.DebugSession`, or the tests' DAP client. */
export interface CustomRequester {
  customRequest(command: string, args?: unknown): Thenable<unknown> | Promise<unknown>;
}

/** Moves the thread to `target` with the `migrate` request; rejects with chop-dap's message when it fails. */
export async function migrateThread(session: CustomRequester, threadId: number, target: MigrateTarget): Promise<Migration> {
  const body = await session.customRequest('migrate', migrateArguments(threadId, target));
  const migration = parseMigration(body);
  if (!migration) {
    throw new Error(`chop-dap answered migrate with ${JSON.stringify(body)}`);
  }
  return migration;
}

/** Where a chunk lives (docs/dap.md, "The chunks request"). */
export type Residence = 'here' | 'prefetched' | 'fetched' | 'remote';

/** The residences, in the order the Chunks view groups them. */
export const RESIDENCES: Residence[] = ['here', 'prefetched', 'fetched', 'remote'];

/** A chunk of the `chunks` answer. */
export interface ChunkInfo {
  id: string;
  kind: string;
  slotsUsed: number;
  links: string[];
  residence: string;
  current: boolean;
}

/** The `chunks` answer: the chunks a stopped thread reaches, from its Thread chunk `root`. */
export interface ChunkList {
  root: string | null;
  /** The node that holds the thread (`null`: here). */
  node: string | null;
  address: string | null;
  chunks: ChunkInfo[];
}

/** A `chunks` answer, checked: malformed entries are left out. */
export function parseChunkList(raw: unknown): ChunkList {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const chunks: ChunkInfo[] = [];
  if (Array.isArray(r.chunks)) {
    for (const entry of r.chunks) {
      if (typeof entry !== 'object' || entry === null) {
        continue;
      }
      const c = entry as Record<string, unknown>;
      if (typeof c.id !== 'string' || typeof c.kind !== 'string') {
        continue;
      }
      chunks.push({
        id: c.id,
        kind: c.kind,
        slotsUsed: typeof c.slotsUsed === 'number' ? c.slotsUsed : 0,
        links: Array.isArray(c.links) ? c.links.filter((l): l is string => typeof l === 'string') : [],
        residence: typeof c.residence === 'string' ? c.residence : 'here',
        current: c.current === true,
      });
    }
  }
  return {
    root: typeof r.root === 'string' ? r.root : null,
    node: typeof r.node === 'string' ? r.node : null,
    address: typeof r.address === 'string' ? r.address : null,
    chunks,
  };
}

/** Asks chop-dap for the chunks of a stopped thread. */
export async function fetchChunks(session: CustomRequester, threadId: number): Promise<ChunkList> {
  return parseChunkList(await session.customRequest('chunks', { threadId }));
}

/** A row of the Chunks view: a group or a chunk (expandable along its links). */
export type ChunkRow =
  | { type: 'group'; key: string; label: string; description: string; rows: ChunkRow[] }
  | { type: 'chunk'; chunk: ChunkInfo; label: string; description: string; expandable: boolean; path: string[] }
  | { type: 'missing'; id: string; label: string; description: string };

/** The text of a chunk's row: `Block c:d627…` and `6/32 slots · fetched · current`. */
export function chunkLabel(chunk: ChunkInfo): { label: string; description: string } {
  const parts = [`${chunk.slotsUsed}/32 slots`, chunk.residence];
  if (chunk.links.length > 0) {
    parts.push(`${chunk.links.length} link${chunk.links.length === 1 ? '' : 's'}`);
  }
  if (chunk.current) {
    parts.push('current');
  }
  return { label: `${chunk.kind} ${chunk.id}`, description: parts.join(' · ') };
}

/** The chunk rows for the ids `ids`, reached along `path` (a chunk already on the path does not expand again). */
export function chunkRows(list: ChunkList, ids: string[], path: string[] = []): ChunkRow[] {
  const byId = new Map(list.chunks.map((c) => [c.id, c]));
  return ids.map((id): ChunkRow => {
    const chunk = byId.get(id);
    if (!chunk) {
      return { type: 'missing', id, label: id, description: 'not listed' };
    }
    const { label, description } = chunkLabel(chunk);
    const onPath = path.includes(id);
    return {
      type: 'chunk',
      chunk,
      label,
      description: onPath ? `${description} · (above)` : description,
      expandable: !onPath && chunk.links.length > 0,
      path: [...path, id],
    };
  });
}

/** The children of a row: a group's rows, a chunk's links. */
export function childRows(list: ChunkList, row: ChunkRow): ChunkRow[] {
  if (row.type === 'group') {
    return row.rows;
  }
  if (row.type === 'chunk' && row.expandable) {
    return chunkRows(list, row.chunk.links, row.path);
  }
  return [];
}

/**
 * The top rows of the Chunks view: the current block (when known), the
 * Thread chunk (the root, expandable along links), then a group per residence
 * that has chunks (`here (42)`, `fetched (6)`, ...), then a group per kind
 * (`Block (20)`, ...). Groups list their chunks in the answer's order.
 */
export function chunkTree(list: ChunkList): ChunkRow[] {
  const rows: ChunkRow[] = [];
  const current = list.chunks.find((c) => c.current);
  if (current) {
    const [row] = chunkRows(list, [current.id]);
    rows.push({ ...row, label: `Current block ${current.id}` } as ChunkRow);
  }
  if (list.root) {
    rows.push(...chunkRows(list, [list.root]));
  }
  const residences = [...RESIDENCES, ...new Set(list.chunks.map((c) => c.residence).filter((r) => !RESIDENCES.includes(r as Residence)))];
  for (const residence of residences) {
    const ids = list.chunks.filter((c) => c.residence === residence).map((c) => c.id);
    if (ids.length > 0) {
      rows.push({
        type: 'group',
        key: `residence:${residence}`,
        label: residence,
        description: `${ids.length} chunk${ids.length === 1 ? '' : 's'}`,
        rows: chunkRows(list, ids),
      });
    }
  }
  const kinds = [...new Set(list.chunks.map((c) => c.kind))].sort();
  for (const kind of kinds) {
    const ids = list.chunks.filter((c) => c.kind === kind).map((c) => c.id);
    rows.push({
      type: 'group',
      key: `kind:${kind}`,
      label: kind,
      description: `${ids.length} chunk${ids.length === 1 ? '' : 's'}`,
      rows: chunkRows(list, ids),
    });
  }
  return rows;
}

/** What the chunk-graph webview needs to colour blocks: residence by chunk id and the current block. */
export interface ResidenceMap {
  residence: Record<string, string>;
  current: string | null;
  /** Where the thread runs, for the legend (`null`: here). */
  node: string | null;
}

/** The residence of each chunk of `list` (for the chunk-graph webview). */
export function residenceMap(list: ChunkList): ResidenceMap {
  const residence: Record<string, string> = {};
  for (const chunk of list.chunks) {
    residence[chunk.id] = chunk.residence;
  }
  return { residence, current: list.chunks.find((c) => c.current)?.id ?? null, node: list.node };
}
