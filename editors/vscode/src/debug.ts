// Debugging Chop in VS Code: the `chop` debug type (chop-dap as a
// DebugAdapterExecutable, a configuration provider for F5 without
// launch.json), the "Debug" code lens, "Migrate Thread to Node…", the Chunks
// view (the stopped thread's chunks from chop-dap's `chunks` request) and the
// Nodes view (`chunkvm nodes`, "Start Local Node"). The logic is in dap.ts and
// nodes.ts (no `vscode` there, so the tests run it against the real tools).

import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  ActiveFile,
  ChunkList,
  ChunkRow,
  childRows,
  chunkTree,
  describeMigration,
  fetchChunks,
  INITIAL_CONFIGURATIONS,
  lensLaunch,
  migrateTargets,
  migrateThread,
  parseMigration,
  resolveLaunch,
} from './dap';
import {
  describeStatus,
  LocalNode,
  nextLocalName,
  NodeConfig,
  NodeStatus,
  parseNodeSettings,
  queryNodes,
  startNode,
  toolCommand,
} from './nodes';

/** The thread chop-dap runs (one per session, docs/dap.md). */
const THREAD_ID = 1;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function workspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** The command of a tool: its own setting, else beside `chop.server.path`, else on PATH. */
export function chopTool(tool: 'chop-dap' | 'chunkvm'): string {
  const config = vscode.workspace.getConfiguration('chop');
  const own = tool === 'chop-dap' ? config.get('debugger.path') : config.get('cli.path');
  return toolCommand(tool, { configured: own, serverPath: config.get('server.path'), workspaceFolder: workspaceFolder() });
}

let loggedProblems = '';

/** The nodes of `chop.nodes` (what is wrong with it goes to the log, once per change). */
function configuredNodes(log: vscode.OutputChannel): NodeConfig[] {
  const { nodes, problems } = parseNodeSettings(vscode.workspace.getConfiguration('chop').get('nodes'), workspaceFolder());
  const text = problems.join('\n');
  if (text !== loggedProblems) {
    loggedProblems = text;
    problems.forEach((p) => log.appendLine(`Settings: ${p}`));
  }
  return nodes;
}

/**
 * The Call Stack's argument to a command: depending on the VS Code version,
 * a thread id (number), a session id (string), a frame's source (string), or
 * an object `{sessionId, threadId, frameId}`.
 */
function callStackContext(arg: unknown): { sessionId?: string; threadId?: number } {
  if (typeof arg === 'number' && Number.isInteger(arg)) {
    return { threadId: arg };
  }
  if (typeof arg === 'string') {
    return { sessionId: arg };
  }
  if (typeof arg === 'object' && arg !== null) {
    const r = arg as { sessionId?: unknown; threadId?: unknown };
    return {
      sessionId: typeof r.sessionId === 'string' ? r.sessionId : undefined,
      threadId: typeof r.threadId === 'number' ? r.threadId : undefined,
    };
  }
  return {};
}

/** The chop session a command is about: the one the Call Stack names, else the focused one, else the active one. */
function chopSession(arg: unknown): vscode.DebugSession | undefined {
  const active = vscode.debug.activeDebugSession;
  const { sessionId } = callStackContext(arg);
  const item = vscode.debug.activeStackItem;
  for (const session of [item?.session, active]) {
    if (session && session.type === 'chop' && session.id === sessionId) {
      return session;
    }
  }
  if (item?.session.type === 'chop') {
    return item.session;
  }
  return active?.type === 'chop' ? active : undefined;
}

/** The thread a command is about: the Call Stack's, the focused thread, else chop-dap's one thread. */
function threadOf(arg: unknown): number {
  const { threadId } = callStackContext(arg);
  if (threadId !== undefined) {
    return threadId;
  }
  const item = vscode.debug.activeStackItem;
  return item && item.session.type === 'chop' ? item.threadId : THREAD_ID;
}

/** Starts the chop-dap of the settings for each session. */
class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly log: vscode.OutputChannel) {}

  createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const command = chopTool('chop-dap');
    const folder = workspaceFolder();
    this.log.appendLine(`Debug adapter: ${command}`);
    return new vscode.DebugAdapterExecutable(command, [], folder ? { cwd: folder } : undefined);
  }
}

/** The launch configurations: launch.json's initial ones, and F5 without launch.json. */
class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.ProviderResult<vscode.DebugConfiguration[]> {
    return INITIAL_CONFIGURATIONS.map((c) => ({ ...c }));
  }

  async resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    const editor = vscode.window.activeTextEditor;
    const file: ActiveFile | undefined =
      editor?.document.languageId === 'chop' ? { path: editor.document.uri.fsPath, text: editor.document.getText() } : undefined;
    const { config: resolved, problem } = await resolveLaunch(config, file, {
      pickTarget: async (targets) => {
        const picked = await vscode.window.showQuickPick(
          targets.map((t) => ({ label: t.name, description: `${t.kind}, line ${t.line + 1}`, target: t })),
          { placeHolder: 'The filter or pipeline to debug' },
        );
        return picked?.target;
      },
      pickPhoto: async () => {
        const bundled = { label: 'The bundled photo', description: 'samples/chelsea.png', photo: null as string | null };
        const choose = { label: 'Choose a photo…', description: 'PNG or JPEG', photo: '' };
        const picked = await vscode.window.showQuickPick([bundled, choose], { placeHolder: 'The photo to run on' });
        if (!picked) {
          return undefined;
        }
        if (picked.photo === null) {
          return null;
        }
        const uris = await vscode.window.showOpenDialog({
          canSelectMany: false,
          filters: { Photos: ['png', 'jpg', 'jpeg'] },
          openLabel: 'Debug on this photo',
        });
        return uris?.[0]?.fsPath;
      },
    });
    if (problem) {
      void vscode.window.showInformationMessage(`Chop: ${problem}`);
    }
    return resolved;
  }
}

/** The stopped thread's chunks, asked of chop-dap at each stop and migration; the Chunks view and the chunk graph show them. */
export class ChunkWatcher implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ChunkList | undefined>();
  /** Fires with the chunks of a newly stopped thread, or `undefined` when none is stopped. */
  readonly onDidChange = this.changed.event;
  private list: ChunkList | undefined;
  private generation = 0;

  constructor(private readonly log: vscode.OutputChannel) {}

  get current(): ChunkList | undefined {
    return this.list;
  }

  /** Asks again (a stop, a migration). */
  async refresh(session: vscode.DebugSession, threadId: number): Promise<void> {
    const mine = ++this.generation;
    try {
      const list = await fetchChunks(session, threadId);
      if (mine === this.generation) {
        this.list = list;
        this.changed.fire(list);
      }
    } catch (error) {
      if (mine === this.generation) {
        this.log.appendLine(`chunks: ${messageOf(error)}`);
        this.clear();
      }
    }
  }

  /** The thread runs or the session ended. */
  clear(): void {
    this.generation++;
    if (this.list !== undefined) {
      this.list = undefined;
      this.changed.fire(undefined);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

type ChunkNode = ChunkRow;

/** The Chunks view: the current block, the Thread chunk (expandable along links), groups by residence and by kind. */
class ChunksView implements vscode.TreeDataProvider<ChunkNode> {
  private readonly changed = new vscode.EventEmitter<ChunkNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly watcher: ChunkWatcher) {
    watcher.onDidChange(() => this.changed.fire(undefined));
  }

  getChildren(element?: ChunkNode): ChunkNode[] {
    const list = this.watcher.current;
    if (!list) {
      return [];
    }
    return element ? childRows(list, element) : chunkTree(list);
  }

  getTreeItem(row: ChunkNode): vscode.TreeItem {
    const expandable = row.type === 'group' || (row.type === 'chunk' && row.expandable);
    const item = new vscode.TreeItem(
      row.label,
      expandable ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.description = row.description;
    if (row.type === 'chunk') {
      item.tooltip = `${row.chunk.kind} ${row.chunk.id}\n${row.description}\nlinks: ${row.chunk.links.join(', ') || 'none'}`;
      item.iconPath = new vscode.ThemeIcon(
        row.chunk.current ? 'debug-stackframe' : row.chunk.residence === 'here' ? 'circle-outline' : 'cloud',
      );
      item.contextValue = 'chunk';
    } else if (row.type === 'group') {
      item.iconPath = new vscode.ThemeIcon(row.key.startsWith('residence:') ? 'location' : 'symbol-class');
      item.id = row.key;
    }
    return item;
  }
}

/** A row of the Nodes view. */
interface NodeRow {
  node: NodeConfig;
  local: boolean;
}

/** The Nodes view: the configured nodes and those started here, with their status from `chunkvm nodes`. */
class NodesView implements vscode.TreeDataProvider<NodeRow>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<NodeRow | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private statuses = new Map<string, NodeStatus>();
  private timer: NodeJS.Timeout | undefined;
  private asking = false;
  readonly locals: LocalNode[] = [];

  constructor(private readonly log: vscode.OutputChannel) {}

  /** The nodes of the setting, then the local ones started by this window. */
  nodes(): NodeRow[] {
    const configured = configuredNodes(this.log).map((node) => ({ node, local: false }));
    const taken = new Set(configured.map((r) => r.node.address));
    const locals = this.locals
      .filter((l) => !taken.has(l.address))
      .map((l) => ({ node: { name: l.name, address: l.address, tokenFile: l.tokenFile, fingerprint: l.fingerprint }, local: true }));
    return [...configured, ...locals];
  }

  getChildren(element?: NodeRow): NodeRow[] {
    return element ? [] : this.nodes();
  }

  getTreeItem(row: NodeRow): vscode.TreeItem {
    const status = this.statuses.get(row.node.address);
    const item = new vscode.TreeItem(row.node.name, vscode.TreeItemCollapsibleState.None);
    item.description = `${row.node.address} · ${describeStatus(status)}`;
    item.tooltip =
      `${row.node.name} (${row.node.address})${row.local ? ', started by this window' : ''}\n` +
      `${describeStatus(status)}${row.node.tokenFile ? `\ntoken file ${row.node.tokenFile}` : ''}`;
    const icon = status?.status === 'idle' ? 'pass' : status?.status === 'busy' ? 'sync' : status?.status === 'dead' ? 'error' : 'question';
    item.iconPath = new vscode.ThemeIcon(icon);
    item.contextValue = row.local ? 'chopLocalNode' : 'chopNode';
    return item;
  }

  /** Asks every node for its status (one `chunkvm nodes` per token file). */
  async refresh(): Promise<void> {
    if (this.asking) {
      return;
    }
    const rows = this.nodes();
    this.asking = true;
    try {
      this.statuses = rows.length > 0 ? await queryNodes(chopTool('chunkvm'), rows.map((r) => r.node)) : new Map();
    } catch (error) {
      this.log.appendLine(`chunkvm nodes: ${messageOf(error)}`);
    } finally {
      this.asking = false;
      this.changed.fire(undefined);
    }
  }

  /** Refreshes every `seconds` (0: never) while `visible`. */
  schedule(visible: boolean): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    const seconds = Number(vscode.workspace.getConfiguration('chop').get('nodesView.refreshSeconds') ?? 10);
    if (visible && seconds > 0) {
      void this.refresh();
      this.timer = setInterval(() => void this.refresh(), seconds * 1000);
    }
  }

  /** Starts `chunkvm serve` on loopback, named `local-N`, its state in the extension's storage. */
  async startLocal(storage: vscode.Uri): Promise<void> {
    const name = nextLocalName([...this.nodes().map((r) => r.node.name)]);
    const cli = chopTool('chunkvm');
    try {
      const node = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Chop: starting node ${name}…` },
        () => startNode(cli, name, path.join(storage.fsPath, 'nodes', name)),
      );
      this.locals.push(node);
      node.process.on('exit', () => {
        const at = this.locals.indexOf(node);
        if (at >= 0) {
          this.locals.splice(at, 1);
        }
        this.log.appendLine(`Node ${node.name} (${node.address}) stopped`);
        void this.refresh();
      });
      this.log.appendLine(`Node ${node.name} listening on ${node.address}, fingerprint ${node.fingerprint}, token file ${node.tokenFile}`);
      void vscode.window.showInformationMessage(`Chop: node ${node.name} listens on ${node.address}.`);
      await this.refresh();
    } catch (error) {
      void vscode.window.showErrorMessage(
        `Chop: could not start a node with \`${cli}\`: ${messageOf(error)}. Build it with \`cargo build -p chunkvm-cli\`, or set \`chop.cli.path\`.`,
      );
    }
  }

  /** Stops a node started here. */
  stopLocal(row: unknown): void {
    const address = typeof row === 'object' && row !== null ? (row as NodeRow).node?.address : undefined;
    this.locals.filter((l) => l.address === address).forEach((l) => l.process.kill());
  }

  dispose(): void {
    if (this.timer) {
      clearInterval(this.timer);
    }
    for (const local of this.locals) {
      local.process.kill();
    }
    this.changed.dispose();
  }
}

/** Registers the debugger, its commands and views; returns the chunk watcher (the chunk graph colours its blocks with it). */
export function registerDebugging(context: vscode.ExtensionContext, log: vscode.OutputChannel): ChunkWatcher {
  const watcher = new ChunkWatcher(log);
  const nodesView = new NodesView(log);
  const nodesTree = vscode.window.createTreeView('chop.nodes', { treeDataProvider: nodesView });
  const chunksTree = vscode.window.createTreeView('chop.chunks', { treeDataProvider: new ChunksView(watcher) });
  nodesTree.onDidChangeVisibility((event) => nodesView.schedule(event.visible));

  // Sessions whose thread runs: chop-dap has no chunks to show then (asking would
  // answer an error that VS Code shows as a notification).
  const running = new Set<string>();
  const tracker: vscode.DebugAdapterTrackerFactory = {
    createDebugAdapterTracker(session) {
      return {
        onDidSendMessage(message: { type?: string; event?: string; body?: Record<string, unknown> }) {
          if (message.type !== 'event') {
            return;
          }
          if (message.event === 'stopped') {
            running.delete(session.id);
            const threadId = typeof message.body?.threadId === 'number' ? message.body.threadId : THREAD_ID;
            void watcher.refresh(session, threadId);
          } else if (message.event === 'continued') {
            running.add(session.id);
            watcher.clear();
          } else if (message.event === 'chunkvm/migrated') {
            const migration = parseMigration(message.body);
            if (!running.has(session.id)) {
              void watcher.refresh(session, migration?.threadId ?? THREAD_ID);
            }
            void nodesView.refresh();
          } else if (message.event === 'terminated' || message.event === 'exited') {
            running.delete(session.id);
            watcher.clear();
          }
        },
        onWillStopSession() {
          running.delete(session.id);
          watcher.clear();
        },
      };
    },
  };

  context.subscriptions.push(
    watcher,
    nodesView,
    nodesTree,
    chunksTree,
    vscode.debug.registerDebugAdapterDescriptorFactory('chop', new AdapterFactory(log)),
    vscode.debug.registerDebugConfigurationProvider('chop', new ConfigurationProvider()),
    vscode.debug.registerDebugAdapterTrackerFactory('chop', tracker),
    vscode.debug.onDidChangeActiveStackItem((item) => {
      if (item && item.session.type === 'chop' && !running.has(item.session.id)) {
        void watcher.refresh(item.session, item.threadId);
      }
    }),
    vscode.commands.registerCommand('chop.debug', async (arg?: unknown) => {
      const record = (typeof arg === 'object' && arg !== null ? arg : {}) as { uri?: unknown; filter?: unknown };
      const uri =
        typeof record.uri === 'string'
          ? vscode.Uri.parse(record.uri)
          : vscode.window.activeTextEditor?.document.languageId === 'chop'
            ? vscode.window.activeTextEditor.document.uri
            : undefined;
      if (!uri) {
        void vscode.window.showInformationMessage('Chop: open a .chop file first.');
        return;
      }
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      const launch =
        typeof record.filter === 'string'
          ? lensLaunch(uri.fsPath, record.filter)
          : { type: 'chop', request: 'launch', name: 'Debug' };
      await vscode.debug.startDebugging(folder, launch);
    }),
    vscode.commands.registerCommand('chop.migrateThread', async (arg?: unknown) => {
      const session = chopSession(arg);
      if (!session) {
        void vscode.window.showInformationMessage('Chop: start a Chop debug session first.');
        return;
      }
      const targets = migrateTargets(nodesView.nodes().map((r) => r.node));
      const picked = await vscode.window.showQuickPick(
        targets.map((t) => ({ label: t.label, description: t.node === 'local' ? 'bring the thread home' : t.node, target: t })),
        { placeHolder: targets.length > 1 ? 'Where the thread goes' : 'No nodes in chop.nodes: only home ("local")' },
      );
      if (!picked) {
        return;
      }
      const threadId = threadOf(arg);
      try {
        const migration = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Chop: moving the thread to ${picked.target.label}…` },
          () => migrateThread(session, threadId, picked.target),
        );
        const text = describeMigration(migration);
        vscode.debug.activeDebugConsole.appendLine(text);
        void vscode.window.showInformationMessage(`Chop: ${text}.`);
      } catch (error) {
        void vscode.window.showErrorMessage(`Chop: ${messageOf(error)}`);
      }
    }),
    vscode.commands.registerCommand('chop.refreshNodes', () => nodesView.refresh()),
    vscode.commands.registerCommand('chop.startLocalNode', () => nodesView.startLocal(context.globalStorageUri)),
    vscode.commands.registerCommand('chop.stopLocalNode', (row?: unknown) => nodesView.stopLocal(row)),
    vscode.commands.registerCommand('chop.refreshChunks', () => {
      const session = chopSession(undefined);
      if (session) {
        void watcher.refresh(session, threadOf(undefined));
      }
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('chop.nodes') || event.affectsConfiguration('chop.nodesView')) {
        nodesView.schedule(nodesTree.visible);
      }
    }),
  );
  return watcher;
}
