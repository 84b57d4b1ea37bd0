// chunkvm nodes, without `vscode` (the tests run this in plain Node): the
// `chop.nodes` setting read and checked, the paths of the tools (`chop-dap`,
// `chunkvm`), the status of nodes from `chunkvm nodes ADDR... --format json`,
// and a local node started with `chunkvm serve` (its stdout parsed).

import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A node of the `chop.nodes` setting. */
export interface NodeConfig {
  /** A name for people (the picker, the Nodes view). */
  name: string;
  /** `quic://HOST:PORT`. */
  address: string;
  /** The node's token file; absent: the token of a node started on this machine. */
  tokenFile?: string;
  /** The node's certificate fingerprint, pinned; absent: trust on first use. */
  fingerprint?: string;
}

/** The nodes of the `chop.nodes` setting, and what was wrong with the entries left out. */
export interface NodeSettings {
  nodes: NodeConfig[];
  problems: string[];
}

const ADDRESS = /^quic:\/\/[^\s/]+:\d{1,5}$/;

/** Whether `text` is a node address, `quic://HOST:PORT`. */
export function isNodeAddress(text: unknown): text is string {
  return typeof text === 'string' && ADDRESS.test(text.trim());
}

/**
 * Reads `chop.nodes`: an array of `{name, address, tokenFile?, fingerprint?}`.
 * An entry without a `quic://HOST:PORT` address is left out (with a problem
 * saying which); a missing name becomes the address; a second entry of the same
 * name is left out. `~/` in a token file is the home folder, and a relative
 * token file starts at `workspaceFolder`.
 */
export function parseNodeSettings(raw: unknown, workspaceFolder?: string): NodeSettings {
  const nodes: NodeConfig[] = [];
  const problems: string[] = [];
  if (raw === undefined || raw === null) {
    return { nodes, problems };
  }
  if (!Array.isArray(raw)) {
    return { nodes, problems: ['chop.nodes is not an array of {name, address, tokenFile?, fingerprint?}'] };
  }
  raw.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null) {
      problems.push(`chop.nodes[${index}] is not an object`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const address = typeof e.address === 'string' ? e.address.trim() : '';
    if (!isNodeAddress(address)) {
      problems.push(`chop.nodes[${index}]: the address ${JSON.stringify(e.address ?? null)} is not quic://HOST:PORT`);
      return;
    }
    const name = typeof e.name === 'string' && e.name.trim() !== '' ? e.name.trim() : address;
    if (name === 'local' || nodes.some((n) => n.name === name)) {
      problems.push(`chop.nodes[${index}]: the name "${name}" is taken`);
      return;
    }
    const node: NodeConfig = { name, address };
    if (typeof e.tokenFile === 'string' && e.tokenFile.trim() !== '') {
      node.tokenFile = expandPath(e.tokenFile.trim(), workspaceFolder);
    }
    if (typeof e.fingerprint === 'string' && e.fingerprint.trim() !== '') {
      node.fingerprint = e.fingerprint.trim();
    }
    nodes.push(node);
  });
  return { nodes, problems };
}

/** `~` and `~/...` from the home folder, a relative path from `base` (when given). */
export function expandPath(value: string, base?: string): string {
  if (value === '~' || value.startsWith('~/')) {
    return path.join(os.homedir(), value.slice(1));
  }
  if (base !== undefined && !path.isAbsolute(value)) {
    return path.join(base, value);
  }
  return value;
}

/** What finding a tool needs: the settings and a way to tell whether a file exists. */
export interface ToolLookup {
  /** The tool's own setting (`chop.debugger.path`, `chop.cli.path`). */
  configured: unknown;
  /** `chop.server.path`: a tool without a setting is looked for beside the server. */
  serverPath: unknown;
  workspaceFolder?: string;
  /** Whether a file is there and executable; default: `fs.accessSync(X_OK)`. */
  exists?: (file: string) => boolean;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The command of a tool (`chop-dap`, `chunkvm`): its setting when set (a bare
 * name is looked up on PATH, `~/` is the home folder, a relative path starts at
 * the workspace folder); else the file of that name beside the server of
 * `chop.server.path` when the server is given as a path and the file is there;
 * else the bare name, found on PATH.
 */
export function toolCommand(tool: string, lookup: ToolLookup): string {
  const exists = lookup.exists ?? isExecutable;
  const own = typeof lookup.configured === 'string' ? lookup.configured.trim() : '';
  if (own !== '') {
    const hasSeparator = own.includes('/') || own.includes('\\');
    if (own === '~' || own.startsWith('~/')) {
      return expandPath(own);
    }
    return hasSeparator ? expandPath(own, lookup.workspaceFolder) : own;
  }
  const server = typeof lookup.serverPath === 'string' ? lookup.serverPath.trim() : '';
  if (server.includes('/') || server.includes('\\') || server.startsWith('~')) {
    const full = expandPath(server, lookup.workspaceFolder);
    const ext = path.extname(full).toLowerCase() === '.exe' ? '.exe' : '';
    const beside = path.join(path.dirname(full), tool + ext);
    if (exists(beside)) {
      return beside;
    }
  }
  return tool;
}

/** A node's status, one entry of `chunkvm nodes --format json`. */
export interface NodeStatus {
  /** The address asked. */
  node: string;
  /** The name the node gave, when it answered. */
  name?: string;
  /** `idle`, `busy` or `dead` (or what a newer chunkvm says). */
  status: string;
  threads?: number;
  chunks?: number;
  load?: number;
  rttMs?: number;
  /** Why a dead node is dead. */
  error?: string;
}

/**
 * The statuses of `chunkvm nodes ... --format json`: an array of
 * `{node, name, status, threads, chunks, load, rtt_ms}` or `{node, status,
 * error}`. Entries without a node and a status are left out; anything that is
 * not such an array is an error.
 */
export function parseNodesJson(text: string): NodeStatus[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`chunkvm nodes printed no JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!Array.isArray(raw)) {
    throw new Error('chunkvm nodes printed JSON that is not an array');
  }
  const out: NodeStatus[] = [];
  for (const entry of raw) {
    if (typeof entry !== 'object' || entry === null) {
      continue;
    }
    const e = entry as Record<string, unknown>;
    if (typeof e.node !== 'string' || typeof e.status !== 'string') {
      continue;
    }
    const status: NodeStatus = { node: e.node, status: e.status };
    const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    if (typeof e.name === 'string') {
      status.name = e.name;
    }
    status.threads = num(e.threads);
    status.chunks = num(e.chunks);
    status.load = num(e.load);
    status.rttMs = num(e.rtt_ms);
    if (typeof e.error === 'string') {
      status.error = e.error;
    }
    for (const key of ['threads', 'chunks', 'load', 'rttMs'] as const) {
      if (status[key] === undefined) {
        delete status[key];
      }
    }
    out.push(status);
  }
  return out;
}

/** A line for a node's status: `idle · 0 threads · 12 chunks · load 0 · 0.45 ms`, or `dead: why`. */
export function describeStatus(status: NodeStatus | undefined): string {
  if (!status) {
    return 'unknown';
  }
  if (status.status === 'dead') {
    return status.error ? `dead: ${status.error}` : 'dead';
  }
  const parts = [status.status];
  if (status.threads !== undefined) {
    parts.push(`${status.threads} thread${status.threads === 1 ? '' : 's'}`);
  }
  if (status.chunks !== undefined) {
    parts.push(`${status.chunks} chunks`);
  }
  if (status.load !== undefined) {
    parts.push(`load ${status.load}`);
  }
  if (status.rttMs !== undefined) {
    parts.push(`${status.rttMs} ms`);
  }
  return parts.join(' · ');
}

/**
 * The `chunkvm nodes` runs that ask about `nodes`: one per token file (the
 * command takes one), in the order of the first node of each, each
 * `[address..., (--token-file FILE), --format, json]`.
 */
export function nodesCommands(nodes: NodeConfig[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const node of nodes) {
    const key = node.tokenFile ?? '';
    const list = groups.get(key) ?? [];
    list.push(node.address);
    groups.set(key, list);
  }
  return [...groups.entries()].map(([token, addresses]) => [
    'nodes',
    ...addresses,
    ...(token !== '' ? ['--token-file', token] : []),
    '--format',
    'json',
  ]);
}

/**
 * The status of each node, by address, from `chunkvm` (`cli`). A run that
 * fails (no such program, a token file that is not there) marks its nodes
 * dead with its message.
 */
export async function queryNodes(cli: string, nodes: NodeConfig[], timeoutMs = 20_000): Promise<Map<string, NodeStatus>> {
  const out = new Map<string, NodeStatus>();
  await Promise.all(
    nodesCommands(nodes).map(
      (args) =>
        new Promise<void>((resolve) => {
          const addresses = args.slice(1).filter((a) => isNodeAddress(a));
          execFile(cli, args, { timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
            let statuses: NodeStatus[] = [];
            let problem: string | undefined;
            try {
              statuses = parseNodesJson(String(stdout));
            } catch (parseError) {
              const firstLine = String(stderr).trim().split('\n')[0];
              problem = firstLine || (error ? error.message : String(parseError));
            }
            for (const status of statuses) {
              out.set(status.node, status);
            }
            for (const address of addresses) {
              if (!out.has(address)) {
                out.set(address, { node: address, status: 'dead', error: problem ?? 'no answer' });
              }
            }
            resolve();
          });
        }),
    ),
  );
  return out;
}

/** What `chunkvm serve` says when it is ready. */
export interface ServeInfo {
  name: string;
  /** `quic://HOST:PORT`. */
  address: string;
  fingerprint: string;
  tokenFile: string;
}

/**
 * Reads the lines `chunkvm serve` prints when it starts (`node NAME listening
 * on quic://ADDR`, `fingerprint FP`, `token file PATH`): feed it stdout as it
 * comes; `info` is set once all three were seen.
 */
export class ServeOutput {
  private buffer = '';
  private name?: string;
  private address?: string;
  private fingerprint?: string;
  private tokenFile?: string;

  /** Takes more of stdout; returns the info once complete. */
  push(text: string): ServeInfo | undefined {
    this.buffer += text;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '').trim();
      this.buffer = this.buffer.slice(newline + 1);
      let m: RegExpExecArray | null;
      if ((m = /^node (\S+) listening on (quic:\/\/\S+)$/.exec(line))) {
        this.name = m[1];
        this.address = m[2];
      } else if ((m = /^fingerprint ([0-9a-fA-F:]+)$/.exec(line))) {
        this.fingerprint = m[1];
      } else if ((m = /^token file (.+)$/.exec(line))) {
        this.tokenFile = m[1];
      }
    }
    return this.info;
  }

  /** The info, once all three lines came. */
  get info(): ServeInfo | undefined {
    if (this.name && this.address && this.fingerprint && this.tokenFile) {
      return { name: this.name, address: this.address, fingerprint: this.fingerprint, tokenFile: this.tokenFile };
    }
    return undefined;
  }
}

/** A node this extension (or a test) started. */
export interface LocalNode extends ServeInfo {
  process: ChildProcess;
}

/** The arguments of `chunkvm serve` for a loopback node named `name` with its state in `stateDir`. */
export function serveArgs(name: string, stateDir?: string): string[] {
  return ['serve', '--listen', '127.0.0.1:0', '--name', name, ...(stateDir ? ['--state', stateDir] : [])];
}

/** The first `local-N` not among `taken`. */
export function nextLocalName(taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = 1; ; n++) {
    if (!used.has(`local-${n}`)) {
      return `local-${n}`;
    }
  }
}

/**
 * Starts `chunkvm serve` on loopback and waits for it to say where it
 * listens; rejects (and kills it) when it exits first or says nothing within
 * `timeoutMs`.
 */
export function startNode(cli: string, name: string, stateDir?: string, timeoutMs = 30_000): Promise<LocalNode> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, serveArgs(name, stateDir), { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const parser = new ServeOutput();
    let stderr = '';
    let done = false;
    const finish = (error?: Error, info?: ServeInfo): void => {
      if (done) {
        return;
      }
      done = true;
      clearTimeout(timer);
      if (error || !info) {
        child.kill();
        reject(error ?? new Error('chunkvm serve did not start'));
      } else {
        resolve({ ...info, process: child });
      }
    };
    const timer = setTimeout(
      () => finish(new Error(`chunkvm serve said nothing within ${timeoutMs / 1000} s${stderr ? `: ${stderr.trim()}` : ''}`)),
      timeoutMs,
    );
    child.stdout?.on('data', (data) => {
      const info = parser.push(String(data));
      if (info) {
        finish(undefined, info);
      }
    });
    child.stderr?.on('data', (data) => {
      stderr += String(data);
    });
    child.on('error', (error) => finish(new Error(`could not run ${cli}: ${error.message}`)));
    child.on('exit', (code, signal) =>
      finish(new Error(`chunkvm serve exited (${signal ?? `status ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`)),
    );
  });
}
