// The Chop extension: starts chop-lsp (stdio) for `chop` documents and
// implements the commands of its code lenses with the server's protocol
// extensions (docs/lsp-extensions.md): the chunk graph (`chop/chunkGraph`)
// and the filter preview with param sliders (`chop/preview`, `chop/params`).
// Debugging (chop-dap, migration, the Chunks and Nodes views, the "Debug"
// lens) is registered by debug.ts; while a thread is stopped the chunk graph
// colours its blocks by where their chunks live.

import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ErrorCodes,
  LanguageClient,
  LanguageClientOptions,
  LSPErrorCodes,
  ResponseError,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import {
  ChunkGraph,
  chunkGraphRequest,
  cleanParamValues,
  findTargets,
  GraphNode,
  ParamInfo,
  ParamValue,
  paramsRequest,
  paramsSignature,
  parseRevealMessage,
  previewRequest,
  PreviewResult,
  PreviewTarget,
  revealTarget,
  serverCommand,
  serverSettings,
  ServerSettings,
  targetAt,
} from './util';
import { ChunkWatcher, registerDebugging } from './debug';
import { ChunkList, residenceMap } from './dap';
import { chunkGraphHtml, makeNonce, previewHtml, previewStats } from './webview';

/** How long after the last slider move the preview runs again. */
const SLIDER_DEBOUNCE_MS = 150;
/** How long after the last edit of the previewed file the preview runs again. */
const EDIT_DEBOUNCE_MS = 400;

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('Chop Language Server');
  context.subscriptions.push(output);

  const chunks = registerDebugging(context, output);
  const graph = new ChunkGraphPanel(chunks);
  const preview = new PreviewPanel();
  context.subscriptions.push(
    graph,
    preview,
    vscode.commands.registerCommand('chop.showChunkGraph', (arg?: unknown) => graph.show(arg)),
    vscode.commands.registerCommand('chop.preview', (arg?: unknown) => preview.show(arg)),
    vscode.commands.registerCommand('chop.restartServer', async () => {
      await stopClient();
      await startClient();
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('chop.preview') || event.affectsConfiguration('chop.lib')) {
        void client?.sendNotification(DidChangeConfigurationNotification.type, {
          settings: currentSettings(),
        });
        preview.rerun();
      }
      if (event.affectsConfiguration('chop.server.path')) {
        void vscode.window
          .showInformationMessage('Chop: the server path changed. Restart the server?', 'Restart')
          .then((choice) => {
            if (choice === 'Restart') {
              void vscode.commands.executeCommand('chop.restartServer');
            }
          });
      }
    }),
  );
  await startClient();
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

function currentSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration('chop');
  return serverSettings(config.get('preview.photo'), config.get('preview.level'), config.get('lib'));
}

async function startClient(): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const command = serverCommand(vscode.workspace.getConfiguration('chop').get('server.path'), folder);
  const serverOptions: ServerOptions = {
    command,
    args: [],
    transport: TransportKind.stdio,
    options: folder ? { cwd: folder } : undefined,
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: 'chop' }],
    initializationOptions: currentSettings(),
    outputChannel: output,
  };
  const started = new LanguageClient('chop', 'Chop Language Server', serverOptions, clientOptions);
  client = started;
  try {
    await started.start();
  } catch (error) {
    if (client === started) {
      client = undefined;
    }
    started.dispose().catch(() => undefined);
    output.appendLine(`Could not start ${command}: ${messageOf(error)}`);
    // Not awaited: activation does not wait for the user to close the message.
    void vscode.window
      .showErrorMessage(
        `Chop: could not start the language server \`${command}\` (${messageOf(error)}). ` +
          'Build it with `cargo build -p chop-lsp` and put it on PATH, or set `chop.server.path`.',
        'Open Settings',
      )
      .then((choice) => {
        if (choice === 'Open Settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'chop.server.path');
        }
      });
  }
}

async function stopClient(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    try {
      await running.stop();
    } catch (error) {
      output.appendLine(`Stopping the server: ${messageOf(error)}`);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isCancelled(error: unknown): boolean {
  return (
    error instanceof ResponseError &&
    (error.code === LSPErrorCodes.RequestCancelled || error.code === ErrorCodes.PendingResponseRejected)
  );
}

/** The running client, or an error message and `undefined`. */
function readyClient(): LanguageClient | undefined {
  if (!client || !client.isRunning()) {
    void vscode.window.showErrorMessage('Chop: the language server is not running (see "Chop: Restart Server").');
    return undefined;
  }
  return client;
}

/** The `uri` of a code-lens argument `{uri, ...}`, if any. */
function argUri(arg: unknown): vscode.Uri | undefined {
  if (typeof arg === 'object' && arg !== null && typeof (arg as { uri?: unknown }).uri === 'string') {
    return vscode.Uri.parse((arg as { uri: string }).uri);
  }
  return undefined;
}

function argString(arg: unknown, field: string): string | undefined {
  if (typeof arg !== 'object' || arg === null) {
    return undefined;
  }
  const value = (arg as Record<string, unknown>)[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The Chop document a command is about: the lens's `uri` (opened, so the server has it), else the active editor's. */
async function commandDocument(arg: unknown): Promise<vscode.TextDocument | undefined> {
  const uri = argUri(arg);
  if (uri) {
    return vscode.workspace.openTextDocument(uri);
  }
  // The active editor; when a webview has the focus, a visible Chop editor.
  const editor = [vscode.window.activeTextEditor, ...vscode.window.visibleTextEditors].find(
    (e) => e?.document.languageId === 'chop',
  );
  if (editor) {
    return editor.document;
  }
  void vscode.window.showInformationMessage('Chop: open a .chop file first.');
  return undefined;
}

/** The active editor if it shows `document`, else a visible one that does. */
function editorOf(document: vscode.TextDocument): vscode.TextEditor | undefined {
  return [vscode.window.activeTextEditor, ...vscode.window.visibleTextEditors].find(
    (e) => e?.document.uri.toString() === document.uri.toString(),
  );
}

/** The column of an editor showing `uri`, else the first. */
function editorColumn(uri: vscode.Uri): vscode.ViewColumn {
  const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  return shown?.viewColumn ?? vscode.ViewColumn.One;
}

/** The chunk-graph webview: one panel, showing the latest graph asked for, its blocks coloured by residence while a thread is stopped. */
class ChunkGraphPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private uri: vscode.Uri | undefined;
  private nodes: GraphNode[] = [];
  private readonly listener: vscode.Disposable;

  constructor(private readonly chunks: ChunkWatcher) {
    this.listener = chunks.onDidChange((list) => this.sendResidence(list));
  }

  /** Colours the blocks by the chunks of the stopped thread (or clears the colours). */
  private sendResidence(list: ChunkList | undefined): void {
    const message = list ? { type: 'residence', ...residenceMap(list) } : { type: 'residence', residence: null, current: null, node: null };
    void this.panel?.webview.postMessage(message);
  }

  async show(arg?: unknown): Promise<void> {
    const lsp = readyClient();
    const document = await commandDocument(arg);
    if (!lsp || !document) {
      return;
    }
    const name = argString(arg, 'function');
    const uri = lsp.code2ProtocolConverter.asUri(document.uri);
    let params;
    if (name) {
      params = chunkGraphRequest(uri, { function: name });
    } else {
      const editor = editorOf(document);
      const position = editor ? editor.selection.active : new vscode.Position(0, 0);
      params = chunkGraphRequest(uri, { position: lsp.code2ProtocolConverter.asPosition(position) });
    }
    let graph: ChunkGraph | null;
    try {
      graph = await lsp.sendRequest<ChunkGraph | null>('chop/chunkGraph', params);
    } catch (error) {
      if (!isCancelled(error)) {
        void vscode.window.showErrorMessage(`Chop: ${messageOf(error)}`);
      }
      return;
    }
    if (!graph) {
      void vscode.window.showInformationMessage(
        'Chop: put the cursor inside a function, filter or closure to see its chunk graph.',
      );
      return;
    }
    this.uri = document.uri;
    this.nodes = graph.nodes;
    const panel = this.ensurePanel();
    panel.title = `Chunk graph: ${graph.function}`;
    panel.webview.html = chunkGraphHtml(graph, makeNonce());
    panel.reveal(vscode.ViewColumn.Beside, true);
  }

  private ensurePanel(): vscode.WebviewPanel {
    if (this.panel) {
      return this.panel;
    }
    const panel = vscode.window.createWebviewPanel(
      'chop.chunkGraph',
      'Chunk graph',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [], enableFindWidget: true },
    );
    panel.onDidDispose(() => {
      this.panel = undefined;
    });
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      if (typeof raw === 'object' && raw !== null && (raw as { type?: unknown }).type === 'ready') {
        this.sendResidence(this.chunks.current);
      } else {
        void this.reveal(raw);
      }
    });
    this.panel = panel;
    return panel;
  }

  /** Shows the code of the block clicked in the graph. */
  private async reveal(raw: unknown): Promise<void> {
    const message = parseRevealMessage(raw);
    if (!message || !this.uri) {
      return;
    }
    const target = revealTarget(this.nodes, message);
    if (!target) {
      return;
    }
    const document = await vscode.workspace.openTextDocument(this.uri);
    const position = document.validatePosition(new vscode.Position(target.line, target.character));
    const editor = await vscode.window.showTextDocument(document, {
      viewColumn: editorColumn(this.uri),
      selection: new vscode.Range(position, position),
      preserveFocus: false,
    });
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    this.listener.dispose();
    this.panel?.dispose();
  }
}

/** The preview webview: one panel, for one filter or pipeline of one document at a time. */
class PreviewPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private uri: vscode.Uri | undefined;
  private target: PreviewTarget | undefined;
  private params: ParamInfo[] = [];
  private values: Record<string, ParamValue> = {};
  private running: vscode.CancellationTokenSource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: vscode.Disposable[] = [];

  constructor() {
    this.listeners.push(
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (this.panel && this.uri && event.document.uri.toString() === this.uri.toString()) {
          this.schedule(EDIT_DEBOUNCE_MS, () => this.refresh());
        }
      }),
    );
  }

  async show(arg?: unknown): Promise<void> {
    const lsp = readyClient();
    const document = await commandDocument(arg);
    if (!lsp || !document) {
      return;
    }
    const target = await this.pickTarget(document, arg);
    if (!target) {
      return;
    }
    const sameFile = this.uri?.toString() === document.uri.toString();
    this.uri = document.uri;
    this.target = target;
    if (!sameFile) {
      this.values = {};
    }
    this.params = await this.fetchParams(lsp, document.uri);
    this.values = cleanParamValues(this.params, this.values);
    const panel = this.ensurePanel();
    panel.title = `Preview: ${target.name}`;
    // The controls at once; the image when the run ends.
    panel.webview.html = this.page();
    panel.reveal(vscode.ViewColumn.Beside, true);
    await this.render();
  }

  /** The lens's filter or pipeline; else the file's only one; else the user picks (the one at the cursor first). */
  private async pickTarget(document: vscode.TextDocument, arg: unknown): Promise<PreviewTarget | undefined> {
    const filter = argString(arg, 'filter');
    if (filter) {
      return { kind: 'filter', name: filter };
    }
    const pipeline = argString(arg, 'pipeline');
    if (pipeline) {
      return { kind: 'pipeline', name: pipeline };
    }
    const targets = findTargets(document.getText());
    if (targets.length === 0) {
      void vscode.window.showInformationMessage('Chop: this file has no filter or pipeline to preview.');
      return undefined;
    }
    if (targets.length === 1) {
      return targets[0];
    }
    const line = editorOf(document)?.selection.active.line ?? -1;
    const here = targetAt(targets, line);
    const ordered = here ? [here, ...targets.filter((t) => t !== here)] : targets;
    const picked = await vscode.window.showQuickPick(
      ordered.map((t) => ({ label: t.name, description: `${t.kind}, line ${t.line + 1}`, target: t })),
      { placeHolder: 'The filter or pipeline to preview' },
    );
    return picked?.target;
  }

  private async fetchParams(lsp: LanguageClient, uri: vscode.Uri): Promise<ParamInfo[]> {
    try {
      const rows = await lsp.sendRequest<ParamInfo[] | null>(
        'chop/params',
        paramsRequest(lsp.code2ProtocolConverter.asUri(uri)),
      );
      return Array.isArray(rows) ? rows : [];
    } catch (error) {
      output.appendLine(`chop/params: ${messageOf(error)}`);
      return [];
    }
  }

  private ensurePanel(): vscode.WebviewPanel {
    if (this.panel) {
      return this.panel;
    }
    const panel = vscode.window.createWebviewPanel(
      'chop.preview',
      'Preview',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [], retainContextWhenHidden: true },
    );
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.running?.cancel();
      if (this.timer) {
        clearTimeout(this.timer);
      }
    });
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      if (typeof raw === 'object' && raw !== null && (raw as { type?: unknown }).type === 'params') {
        this.values = { ...this.values, ...cleanParamValues(this.params, (raw as { values?: unknown }).values) };
        this.schedule(SLIDER_DEBOUNCE_MS, () => this.update());
      }
    });
    this.panel = panel;
    return panel;
  }

  private schedule(ms: number, run: () => Promise<void>): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void run();
    }, ms);
  }

  /** Runs the preview; `undefined` when cancelled (a newer run took over), else the result or the error. */
  private async run(): Promise<{ result?: PreviewResult; error?: string } | undefined> {
    const lsp = client;
    if (!lsp || !lsp.isRunning() || !this.uri || !this.target) {
      return { error: 'The language server is not running (see "Chop: Restart Server").' };
    }
    this.running?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.running = source;
    const params = previewRequest(lsp.code2ProtocolConverter.asUri(this.uri), this.target, this.values);
    try {
      const result = await lsp.sendRequest<PreviewResult | null>('chop/preview', params, source.token);
      if (source.token.isCancellationRequested) {
        return undefined;
      }
      return result ? { result } : { error: 'The document is not open in the language server.' };
    } catch (error) {
      if (source.token.isCancellationRequested || isCancelled(error)) {
        return undefined;
      }
      return { error: messageOf(error) };
    } finally {
      if (this.running === source) {
        this.running = undefined;
      }
      source.dispose();
    }
  }

  /** Runs and draws the whole page (new target, or new params). */
  private async render(): Promise<void> {
    const outcome = await this.run();
    if (!outcome || !this.panel) {
      return;
    }
    this.panel.webview.html = this.page(outcome);
  }

  /** The page for the current target, params and values, with a run's outcome. */
  private page(outcome: { result?: PreviewResult; error?: string } = {}): string {
    return previewHtml(
      {
        kind: this.target?.kind ?? 'filter',
        name: this.target?.name ?? '',
        file: this.uri ? path.basename(this.uri.fsPath) : '',
        params: this.params,
        values: this.values,
        result: outcome.result,
        error: outcome.error,
      },
      makeNonce(),
    );
  }

  /** Runs and sends the result to the page (a slider moved). */
  private async update(): Promise<void> {
    const panel = this.panel;
    void panel?.webview.postMessage({ type: 'busy' });
    const outcome = await this.run();
    if (!outcome || !panel || panel !== this.panel) {
      return;
    }
    if (outcome.result) {
      void panel.webview.postMessage({
        type: 'result',
        base64: outcome.result.png.base64,
        stats: previewStats(outcome.result),
      });
    } else {
      void panel.webview.postMessage({ type: 'error', message: outcome.error ?? 'The preview failed.' });
    }
  }

  /** The file changed: new params redraw the page, else only the image. */
  private async refresh(): Promise<void> {
    const lsp = client;
    if (!this.panel || !this.uri || !lsp || !lsp.isRunning()) {
      return;
    }
    const before = paramsSignature(this.params);
    this.params = await this.fetchParams(lsp, this.uri);
    this.values = cleanParamValues(this.params, this.values);
    if (paramsSignature(this.params) !== before) {
      await this.render();
    } else {
      await this.update();
    }
  }

  /** The preview settings changed: run again. */
  rerun(): void {
    if (this.panel) {
      this.schedule(SLIDER_DEBOUNCE_MS, () => this.update());
    }
  }

  dispose(): void {
    this.running?.cancel();
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.listeners.forEach((l) => l.dispose());
    this.panel?.dispose();
  }
}
