// The Chop extension tested inside the real VS Code: code-server (VS Code
// 1.139) on 127.0.0.1, shown in headless Chromium and driven with
// playwright-core. Run by run.sh, which installs everything and sets:
//   CHOP_LSP, CHOP_DAP, CHUNKVM   the project's binaries
//   CHOP_VSIX                     the extension's package
//   CODE_SERVER                   the code-server npm package's folder
//   CHROMIUM                      the browser (Debian's /usr/bin/chromium)
//   VSCODE_E2E_OUT                where the scratch folder and the screenshots go
// Steps (each with a timeout and a screenshot, in $VSCODE_E2E_OUT/shots):
//   a diagnostic and a hover; the chunk graph (a click on a block moves the
//   cursor); the preview (a slider move changes the picture); a breakpoint set
//   in the gutter, the "Debug" code lens, the stop, a step over, x and y in the
//   Variables view; "Chop: Migrate Thread to Node…" to a `chunkvm serve` this
//   test started, a step there, the thread's new name in the Call Stack;
//   continue to the end. Fails on a missing element, never on pixels. Every
//   process started here is ended by its pid (its process group) in a finally,
//   and the test fails if one of them (or one of their children) is left.
'use strict';

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');
const { chromium } = require('playwright-core');

/** The whole run's bound (run.sh's `timeout` is the last resort behind it). */
const TOTAL_MS = 600_000;
/** A step's default bound. */
const STEP_MS = 60_000;
/** How long a single wait for an element may take. */
const WAIT_MS = 30_000;

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`vscode-e2e: the environment variable ${name} is not set (run editors/vscode/e2e/run.sh)`);
  }
  return value;
}

const CHOP_LSP = need('CHOP_LSP');
const CHOP_DAP = need('CHOP_DAP');
const CHUNKVM = need('CHUNKVM');
const CHOP_VSIX = need('CHOP_VSIX');
const CODE_SERVER = need('CODE_SERVER');
const CHROMIUM = need('CHROMIUM');
const OUT = need('VSCODE_E2E_OUT');
const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Marks every process of this run (children inherit it), to find what is left. */
const MARK = `chop-vscode-e2e-${process.pid}-${Date.now()}`;
const SCRATCH = path.join(OUT, 'run');
const SHOTS = path.join(OUT, 'shots');
const WORKSPACE = path.join(SCRATCH, 'workspace');
const USER_DATA = path.join(SCRATCH, 'user-data');
const EXTENSIONS = path.join(SCRATCH, 'extensions');
const NODE_STATE = path.join(SCRATCH, 'node-state');
const HOME = path.join(SCRATCH, 'home');

/** The process groups started here (each leader's pid). */
const groups = [];

function log(text) {
  process.stdout.write(`vscode-e2e: ${text}\n`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or a rejection naming `what` after `ms`. */
function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The environment of the processes started here: a scratch home, the run's mark. */
function childEnv(extra = {}) {
  return {
    ...process.env,
    HOME,
    XDG_CONFIG_HOME: path.join(HOME, '.config'),
    XDG_DATA_HOME: path.join(HOME, '.local', 'share'),
    XDG_STATE_HOME: path.join(HOME, '.local', 'state'),
    XDG_CACHE_HOME: path.join(HOME, '.cache'),
    CHOP_VSCODE_E2E: MARK,
    ...extra,
  };
}

/** Spawns a process as the leader of a process group of its own, remembered for cleanup. */
function spawnGroup(command, args, options = {}) {
  const child = spawn(command, args, { ...options, detached: true, env: childEnv(options.env) });
  if (child.pid === undefined) {
    throw new Error(`could not start ${command}`);
  }
  groups.push(child.pid);
  return child;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of the processes of this run still alive: in one of its groups, or carrying its mark. */
function leftovers() {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const state = fields[0];
      const pgrp = Number(fields[2]);
      if (state === 'Z') {
        continue;
      }
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (groups.includes(pgrp) || environ.includes(`CHOP_VSCODE_E2E=${MARK}`)) {
        const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        found.push({ pid: Number(entry), cmd: cmd.slice(0, 160) });
      }
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return found;
}

/** Ends each group started here (TERM, then KILL), then every marked process left; returns what was left after TERM. */
async function endAll() {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && leftovers().length > 0) {
    await sleep(200);
  }
  const left = leftovers();
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return left;
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---- setup -----------------------------------------------------------------------

/** The workspace: filters/box_blur.chop and a copy with an unknown name in it. */
function makeWorkspace() {
  fs.mkdirSync(path.join(WORKSPACE, 'filters'), { recursive: true });
  const blur = fs.readFileSync(path.join(ROOT, 'filters', 'box_blur.chop'), 'utf8');
  fs.writeFileSync(path.join(WORKSPACE, 'filters', 'box_blur.chop'), blur);
  const broken = blur.replace('src.at(x + dx, y + dy)', 'src.at(x + dx, y + dz)');
  assert.notEqual(broken, blur, 'box_blur.chop no longer has `src.at(x + dx, y + dy)`: update the test');
  fs.writeFileSync(path.join(WORKSPACE, 'filters', 'broken_blur.chop'), broken);
  const lines = blur.split('\n');
  const index = lines.findIndex((l) => l.includes('sum = sum + src.at('));
  assert.ok(index >= 0, 'box_blur.chop has no line with `sum = sum + src.at(`');
  return { breakpointLine: index + 1, lines };
}

/** Starts `chunkvm serve` on loopback; resolves with its name, address, fingerprint and token file. */
async function startNode() {
  fs.mkdirSync(NODE_STATE, { recursive: true });
  const child = spawnGroup(CHUNKVM, ['serve', '--listen', '127.0.0.1:0', '--name', 'vsnode', '--state', NODE_STATE], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const lines = [];
  const rl = readline.createInterface({ input: child.stdout });
  const info = await bounded(
    new Promise((resolve, reject) => {
      rl.on('line', (line) => {
        lines.push(line);
        if (lines.length === 3) {
          resolve(lines);
        }
      });
      child.once('exit', (code) => reject(new Error(`chunkvm serve exited (${code}): ${stderr.trim()}`)));
    }),
    30_000,
    'chunkvm serve: its three lines',
  );
  const listening = /^node (\S+) listening on (quic:\/\/\S+)$/.exec(info[0]);
  const fingerprint = /^fingerprint (\S+)$/.exec(info[1]);
  const token = /^token file (.+)$/.exec(info[2]);
  assert.ok(listening && fingerprint && token, `chunkvm serve printed:\n${info.join('\n')}`);
  return { name: listening[1], address: listening[2], fingerprint: fingerprint[1], tokenFile: token[1], child };
}

function writeSettings(node) {
  const settings = {
    'chop.server.path': CHOP_LSP,
    'chop.debugger.path': CHOP_DAP,
    'chop.cli.path': CHUNKVM,
    'chop.nodes': [{ name: node.name, address: node.address, tokenFile: node.tokenFile, fingerprint: node.fingerprint }],
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'chat.disableAIFeatures': true,
    'update.mode': 'none',
    'editor.hover.delay': 300,
    'editor.minimap.enabled': false,
    'files.autoSave': 'off',
    'window.restoreWindows': 'none',
  };
  // The chop.* paths and nodes are machine(-overridable) settings: in a
  // remote window such as code-server's, VS Code takes them from the remote
  // machine's settings (Machine/settings.json), not from the user's.
  for (const scope of ['User', 'Machine']) {
    fs.mkdirSync(path.join(USER_DATA, scope), { recursive: true });
    fs.writeFileSync(path.join(USER_DATA, scope, 'settings.json'), JSON.stringify(settings, null, 2));
  }
}

function codeServerEntry() {
  const pkg = JSON.parse(fs.readFileSync(path.join(CODE_SERVER, 'package.json'), 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin['code-server'];
  return path.join(CODE_SERVER, bin);
}

function installExtension() {
  const out = execFileSync(
    process.execPath,
    [codeServerEntry(), '--user-data-dir', USER_DATA, '--extensions-dir', EXTENSIONS, '--install-extension', CHOP_VSIX],
    { env: childEnv(), timeout: 120_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const installed = fs.readdirSync(EXTENSIONS).filter((d) => d.toLowerCase().includes('chop'));
  assert.ok(installed.length > 0, `the .vsix did not install into ${EXTENSIONS}: ${out}`);
  log(`extension installed: ${installed.join(', ')}`);
}

async function startCodeServer() {
  const port = await freePort();
  const logFile = path.join(SCRATCH, 'code-server.log');
  const logFd = fs.openSync(logFile, 'w');
  const child = spawnGroup(
    process.execPath,
    [
      codeServerEntry(),
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--user-data-dir',
      USER_DATA,
      '--extensions-dir',
      EXTENSIONS,
      WORKSPACE,
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  fs.closeSync(logFd);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited (${child.exitCode}); its log: ${logFile}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) {
        break;
      }
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`code-server did not answer ${url}/healthz within 60 s; its log: ${logFile}`);
    }
    await sleep(250);
  }
  log(`code-server listening on ${url} (pid ${child.pid}, log ${logFile})`);
  return { url, child, logFile };
}

// ---- the workbench ---------------------------------------------------------------

/** The driver of one page of the workbench: steps, screenshots, the parts of VS Code it uses. */
class Workbench {
  constructor(page) {
    this.page = page;
    this.shot = 0;
  }

  async screenshot(name) {
    this.shot += 1;
    const file = path.join(SHOTS, `${String(this.shot).padStart(2, '0')}-${name}.png`);
    try {
      await this.page.screenshot({ path: file, timeout: 15_000 });
    } catch (error) {
      log(`screenshot ${file} failed: ${error.message}`);
    }
    return file;
  }

  /** Runs a step bounded by `ms`, then takes its screenshot (also when it failed). */
  async step(name, fn, ms = STEP_MS) {
    const started = Date.now();
    log(`step ${name}…`);
    try {
      await bounded(fn(), ms, `step ${name}`);
    } catch (error) {
      const file = await this.screenshot(`${name}-FAILED`);
      try {
        const html = await this.page.content();
        fs.writeFileSync(file.replace(/\.png$/, '.html'), html);
      } catch {
        // No page to read.
      }
      error.message = `step ${name}: ${error.message} (screenshot ${file})`;
      throw error;
    }
    const file = await this.screenshot(name);
    log(`step ${name} passed in ${((Date.now() - started) / 1000).toFixed(1)} s (${path.basename(file)})`);
  }

  /** Waits for the workbench and the Explorer to be there. */
  async ready() {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await this.page.locator('.explorer-folders-view').waitFor({ timeout: 60_000 });
  }

  /** The Explorer's row of `name`. */
  explorerRow(name) {
    return this.page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${name.replace(/[.]/g, '\\.')}$`) }) });
  }

  /** Opens a file of the workspace by clicking it in the Explorer (folders expanded on the way). */
  async openFile(relative) {
    const parts = relative.split('/');
    for (const folder of parts.slice(0, -1)) {
      const row = this.explorerRow(folder);
      await row.waitFor({ timeout: WAIT_MS });
      if ((await row.getAttribute('aria-expanded')) !== 'true') {
        await row.click();
      }
    }
    const name = parts[parts.length - 1];
    const row = this.explorerRow(name);
    await row.waitFor({ timeout: WAIT_MS });
    await row.dblclick();
    await this.activeTab(name);
  }

  /** Waits until the active editor tab is `name` (a file's name, or the start of a webview's title). */
  async activeTab(name) {
    await this.page
      .locator(
        `.editor-group-container.active .tab.active[data-resource-name="${name}"], ` +
          `.editor-group-container.active .tab.active[aria-label^="${name}"]`,
      )
      .first()
      .waitFor({ timeout: WAIT_MS });
  }

  /** The text editor of the active group. */
  editor() {
    return this.page.locator('.editor-group-container.active .monaco-editor').first();
  }

  /** Focuses the editor tab of `name` (in whichever group holds it). */
  async focusTab(name) {
    await this.page.locator(`.tab[data-resource-name="${name}"], .tab[aria-label^="${name}"]`).first().click();
    await this.activeTab(name);
  }

  /**
   * The centre of `word` in the first line of the active editor that holds
   * `lineText`; the text the editor injects (inlay hints such as `x:`, inline
   * values) is not part of the line.
   */
  async wordCentre(lineText, word) {
    const handle = await this.editor().elementHandle({ timeout: WAIT_MS });
    const box = await this.page.waitForFunction(
      ({ root, lineText, word }) => {
        const injected = (node) => {
          const span = node.parentElement;
          return span !== null && /\bdyn-rule-|\bced-/.test(span.className || '');
        };
        for (const line of root.querySelectorAll('.view-lines .view-line')) {
          const pieces = [];
          const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!injected(node)) {
              pieces.push(node);
            }
          }
          const text = pieces.map((n) => n.textContent).join('').replace(/\u00a0/g, ' ');
          if (!text.includes(lineText)) {
            continue;
          }
          const start = text.indexOf(word, text.indexOf(lineText));
          let offset = 0;
          for (const node of pieces) {
            const length = node.textContent.length;
            if (start < offset + length) {
              const range = document.createRange();
              range.setStart(node, start - offset);
              range.setEnd(node, Math.min(length, start - offset + Math.max(1, Math.min(word.length, 3))));
              const r = range.getBoundingClientRect();
              return r.width > 0 ? { x: r.x + r.width / 2, y: r.y + r.height / 2 } : null;
            }
            offset += length;
          }
        }
        return null;
      },
      { root: handle, lineText, word },
      { timeout: WAIT_MS },
    );
    return box.jsonValue();
  }

  /**
   * The text of the hover that shows `expected` once the mouse rests on `word`
   * of the line holding `lineText` (the word is looked up again on each try:
   * code lenses and inlay hints arriving move the text).
   */
  async hoverOn(lineText, word, expected) {
    const hover = this.page.locator('.monaco-hover:not(.hidden)', { hasText: expected }).first();
    const deadline = Date.now() + WAIT_MS;
    for (let attempt = 1; ; attempt++) {
      const point = await this.wordCentre(lineText, word);
      await this.page.mouse.move(point.x - 40, point.y + 30);
      await this.page.mouse.move(point.x, point.y, { steps: 4 });
      try {
        await hover.waitFor({ state: 'visible', timeout: 5_000 });
        return hover.innerText();
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`no hover with ${expected} over "${word}" after ${attempt} tries: ${error.message}`);
        }
      }
    }
  }

  /** Clicks the code lens titled exactly `title` in the active editor. */
  async clickLens(title) {
    const lens = this.editor()
      .locator('.codelens-decoration a', { hasText: new RegExp(`^\\s*${title}\\s*$`) })
      .first();
    await lens.waitFor({ timeout: WAIT_MS });
    await lens.click();
  }

  /** The webview frame that holds `selector` (webviews are iframes in iframes). */
  async webviewFrame(selector) {
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame()) {
          continue;
        }
        try {
          if ((await frame.locator(selector).count()) > 0) {
            return frame;
          }
        } catch {
          // A frame that went away while we looked.
        }
      }
      await sleep(250);
    }
    throw new Error(`no webview with ${selector} within ${WAIT_MS / 1000} s`);
  }

  /** The status bar's cursor position, "Ln L, Col C" (empty when no text editor is active). */
  async cursor() {
    const item = this.page.locator('[id="status.editor.selection"]');
    return (await item.count()) > 0 ? (await item.innerText()).trim() : '';
  }

  /** Runs a command of the command palette by its title. */
  async command(title) {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: WAIT_MS });
    await input.fill(`>${title}`);
    await this.page
      .locator('.quick-input-widget .monaco-list-row', { hasText: title })
      .first()
      .waitFor({ timeout: WAIT_MS });
    await this.page.keyboard.press('Enter');
  }

  /** Picks `label` in the open quick pick. */
  async pick(label) {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: WAIT_MS });
    await input.fill(label);
    const row = this.page.locator('.quick-input-widget .monaco-list-row', { hasText: label }).first();
    await row.waitFor({ timeout: WAIT_MS });
    await row.click();
  }

  /** The line number of the editor's margin row showing `line`. */
  lineNumber(line) {
    return this.editor()
      .locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^\\s*${line}\\s*$`) })
      .first();
  }

  /** Clicks the glyph margin (the gutter left of the line numbers) of `line`. */
  async clickGutter(line) {
    const number = this.lineNumber(line);
    await number.waitFor({ timeout: WAIT_MS });
    const row = await number.boundingBox();
    const margin = await this.editor().locator('.margin').first().boundingBox();
    assert.ok(row && margin, `no box for line ${line}'s margin`);
    const point = { x: margin.x + 9, y: row.y + row.height / 2 };
    await this.page.mouse.move(point.x, point.y);
    await this.page.mouse.click(point.x, point.y);
  }

  /** The line numbers (1-based) whose glyph margin shows an element of `className`. */
  async glyphLines(className) {
    const editor = await this.editor().elementHandle({ timeout: WAIT_MS });
    return this.page.evaluate(
      ({ root, className }) => {
        const numbers = [...root.querySelectorAll('.margin-view-overlays .line-numbers')].map((el) => {
          const r = el.getBoundingClientRect();
          return { line: Number(el.textContent.trim()), top: r.top, bottom: r.bottom };
        });
        const lines = new Set();
        for (const glyph of root.querySelectorAll(`.${className}`)) {
          const r = glyph.getBoundingClientRect();
          const mid = r.top + r.height / 2;
          const hit = numbers.find((n) => mid >= n.top && mid < n.bottom);
          if (hit) {
            lines.add(hit.line);
          }
        }
        return [...lines].sort((a, b) => a - b);
      },
      { root: editor, className },
    );
  }

  /** The debug toolbar's button whose aria-label starts with `label`. */
  toolbarButton(label) {
    return this.page.locator(`.debug-toolbar .action-item a[aria-label^="${label}"]`).first();
  }

  /** The rows of the Variables view, as their aria-labels ("name, value v"). */
  async variables() {
    const rows = this.page.locator('.debug-variables .monaco-list-row, [id="workbench.debug.variablesView"] .monaco-list-row');
    return rows.evaluateAll((els) => els.map((el) => el.getAttribute('aria-label') || el.textContent || ''));
  }

  /** The line of the top stack frame's decoration in the active editor (0 when none is shown). */
  async stoppedLine() {
    const lines = await this.glyphLines('codicon-debug-stackframe');
    return lines.length > 0 ? lines[0] : 0;
  }

  /** Expands the scope `scope` of the Variables view (a click on its row) unless it is open. */
  async expandScope(scope) {
    const row = this.page
      .locator('.debug-pane .monaco-list-row[aria-expanded]', { has: this.page.locator('.scope', { hasText: new RegExp(`^${scope}$`) }) })
      .first();
    await row.waitFor({ timeout: WAIT_MS });
    if ((await row.getAttribute('aria-expanded')) !== 'true') {
      await row.click();
    }
  }

  /** The value the Variables view shows for `name` in the Locals, once it shows one. */
  async variable(name) {
    await this.expandScope('Locals');
    const row = this.page.locator(`.monaco-list-row[aria-label^="${name}, value "]`).first();
    await row.waitFor({ timeout: WAIT_MS });
    const label = (await row.getAttribute('aria-label')) || '';
    return label.slice(`${name}, value `.length);
  }

  /** The Call Stack view's text. */
  async callStackText() {
    const view = this.page.locator('.debug-call-stack');
    return (await view.count()) > 0 ? view.first().innerText() : '';
  }
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `ms`. */
async function until(probe, what, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) {
      return last;
    }
    await sleep(200);
  }
  throw new Error(`${what} (waited ${ms / 1000} s)`);
}

// ---- the test --------------------------------------------------------------------

async function run() {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  fs.mkdirSync(HOME, { recursive: true });
  log(`screenshots in ${SHOTS}`);
  const { breakpointLine } = makeWorkspace();

  const node = await startNode();
  log(`node ${node.name} on ${node.address} (pid ${node.child.pid})`);
  writeSettings(node);
  installExtension();
  const server = await startCodeServer();

  const browserServer = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    env: childEnv(),
    timeout: 60_000,
  });
  const browserPid = browserServer.process().pid;
  if (browserPid !== undefined) {
    groups.push(browserPid);
  }
  try {
    const browser = await chromium.connect(browserServer.wsEndpoint(), { timeout: 60_000 });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const consoleErrors = [];
    page.on('console', (message) => {
      if (message.type() === 'error') {
        consoleErrors.push(message.text());
      }
    });
    const vs = new Workbench(page);

    await vs.step(
      'workbench',
      async () => {
        await page.goto(`${server.url}/?folder=${encodeURIComponent(WORKSPACE)}`, { timeout: 60_000 });
        await vs.ready();
      },
      120_000,
    );

    await vs.step('diagnostic', async () => {
      await vs.openFile('filters/broken_blur.chop');
      const squiggle = vs.editor().locator('.squiggly-error').first();
      await squiggle.waitFor({ state: 'attached', timeout: 45_000 });
      // The server's code lenses come with the diagnostics; the hover on the
      // squiggle shows the diagnostic's message.
      await vs.editor().locator('.codelens-decoration a', { hasText: 'Debug' }).first().waitFor({ timeout: WAIT_MS });
      const text = await vs.hoverOn('src.at(x + dx, y + dz)', 'dz', 'dz');
      log(`diagnostic hover: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
    });

    await vs.step('hover', async () => {
      await vs.openFile('filters/box_blur.chop');
      // The squiggle-free file: the server's hover on the param.
      await vs.editor().locator('.codelens-decoration a', { hasText: 'Debug' }).first().waitFor({ timeout: WAIT_MS });
      const text = await vs.hoverOn('for dy in -radius', 'radius', /Half the side/);
      assert.match(text, /radius/);
      log(`hover: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
    });

    await vs.step('chunk-graph', async () => {
      await page.mouse.move(5, 500);
      await vs.clickLens('Show chunk graph');
      const frame = await vs.webviewFrame('#graph-svg g[data-line]');
      const blocks = await frame.locator('#graph-svg g[data-line]').evaluateAll((els) =>
        els.map((el) => ({ line: Number(el.getAttribute('data-line')), block: el.getAttribute('data-block') })),
      );
      assert.ok(blocks.length > 1, `the chunk graph has ${blocks.length} block(s)`);
      const target = blocks.reduce((a, b) => (b.line > a.line ? b : a));
      const before = await vs.cursor();
      assert.notEqual(before, `Ln ${target.line}`, 'the cursor is already on the block to click');
      await frame.locator(`#graph-svg g[data-line="${target.line}"]`).first().click();
      const after = await until(async () => {
        const now = await vs.cursor();
        return now.startsWith(`Ln ${target.line},`) ? now : '';
      }, `the cursor did not move to line ${target.line} after a click on block ${target.block} (it shows "${await vs.cursor()}")`);
      log(`chunk graph: ${blocks.length} blocks; a click on block ${target.block} moved the cursor from "${before}" to "${after}"`);
    });

    await vs.step('preview', async () => {
      await vs.focusTab('box_blur.chop');
      await vs.clickLens('Preview');
      const frame = await vs.webviewFrame('#image[src^="data:image/png"]');
      const image = frame.locator('#image');
      const before = await image.getAttribute('src');
      const slider = frame.locator('input[type="range"][data-param="radius"]');
      const from = await slider.inputValue();
      await slider.focus();
      await page.keyboard.press('ArrowRight');
      const to = await slider.inputValue();
      assert.notEqual(to, from, 'ArrowRight did not move the radius slider');
      await until(async () => (await image.getAttribute('src')) !== before, `the preview did not change after radius ${from} → ${to}`, 45_000);
      const stats = await frame.locator('#stats').innerText();
      log(`preview: radius ${from} → ${to}, the picture changed (${stats})`);
    });

    await vs.step('breakpoint', async () => {
      await vs.focusTab('box_blur.chop');
      await vs.clickGutter(breakpointLine);
      await until(
        async () => (await vs.glyphLines('codicon-debug-breakpoint')).includes(breakpointLine),
        `no breakpoint glyph on line ${breakpointLine} after a click in its gutter`,
      );
    });

    let stoppedAt = 0;
    await vs.step(
      'debug-stop',
      async () => {
        await vs.clickLens('Debug');
        await vs.toolbarButton('Step Over').waitFor({ state: 'visible', timeout: 60_000 });
        stoppedAt = await until(() => vs.stoppedLine(), 'no stopped line in the editor', 60_000);
        assert.equal(stoppedAt, breakpointLine, `stopped on line ${stoppedAt}, not on the breakpoint's line`);
        const x = await vs.variable('x');
        const y = await vs.variable('y');
        log(`stopped on line ${stoppedAt}; x = ${x}, y = ${y}`);
      },
      120_000,
    );

    /** Steps over once and waits for the stop to show: another line or other variables. */
    async function stepOver(label) {
      const line = await vs.stoppedLine();
      const vars = (await vs.variables()).join('|');
      await vs.toolbarButton('Step Over').click();
      return until(async () => {
        const nowLine = await vs.stoppedLine();
        const nowVars = (await vs.variables()).join('|');
        return nowLine > 0 && (nowLine !== line || (nowVars !== vars && nowVars !== '')) ? nowLine : 0;
      }, `${label}: no new stop after Step Over`);
    }

    await vs.step('step-over', async () => {
      const line = await stepOver('step over');
      const x = await vs.variable('x');
      const y = await vs.variable('y');
      assert.match(x, /^-?\d+$/, `x reads ${x}`);
      assert.match(y, /^-?\d+$/, `y reads ${y}`);
      log(`stepped over to line ${line}; Variables: x = ${x}, y = ${y}`);
    });

    await vs.step(
      'migrate',
      async () => {
        await vs.command('Chop: Migrate Thread to Node');
        await vs.pick(node.name);
        const moved = `to ${node.name}`;
        await page.locator('.notifications-toasts', { hasText: moved }).first().waitFor({ timeout: WAIT_MS });
        await until(async () => {
          const repl = page.locator('.repl .monaco-list-row', { hasText: moved });
          return (await repl.count()) > 0;
        }, `the Debug Console has no line saying the thread moved ${moved}`);
        const line = await stepOver('step on the node');
        const x = await vs.variable('x');
        const y = await vs.variable('y');
        // Where the thread runs, as the chunk graph shows it while stopped:
        // "thread on vsnode:" and its blocks coloured by residence.
        await vs.focusTab('Chunk graph: box_blur');
        const graph = await vs.webviewFrame(`#residence-where:text-matches("on ${node.name}")`);
        const coloured = await graph.locator('#graph-svg g[class*="res-"]').count();
        assert.ok(coloured > 0, 'no block of the chunk graph is coloured by where its chunk lives');
        const where = await graph.locator('#residence-where').innerText();
        const name = `box_blur @ ${node.name}`;
        const stack = await vs.callStackText();
        assert.match(stack, /box_blur/, `the Call Stack shows no box_blur frame after the step on the node: ${stack}`);
        // VS Code shows a thread's row (its name) in the Call Stack only when
        // the session has more than one thread; chop-dap runs one.
        const shown = stack.includes(name) ? `shows the thread "${name}"` : `shows no thread row (one thread), only its frames`;
        log(`migrated; stepped to line ${line} on ${node.name} (x = ${x}, y = ${y}); the chunk graph says "${where}" (${coloured} blocks coloured); the Call Stack ${shown}: ${stack.replace(/\s+/g, ' ').slice(0, 160)}`);
      },
      120_000,
    );

    await vs.step(
      'continue-to-end',
      async () => {
        // Off with the breakpoint (another click in its gutter), then Continue.
        await vs.focusTab('box_blur.chop');
        await vs.clickGutter(breakpointLine);
        await until(
          async () => !(await vs.glyphLines('codicon-debug-breakpoint')).includes(breakpointLine),
          `the breakpoint on line ${breakpointLine} is still there after a second click`,
        );
        await vs.toolbarButton('Continue').click();
        await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 120_000 });
      },
      180_000,
    );

    const known = /open-vsx|vsda|sandbox|Failed to load resource|favicon|ERR_/i;
    const unknown = consoleErrors.filter((e) => !known.test(e));
    if (unknown.length > 0) {
      log(`console errors of the workbench (not failures): ${unknown.slice(0, 5).join(' | ').slice(0, 600)}`);
    }
    await browser.close();
  } finally {
    await browserServer.close().catch(() => undefined);
  }
}

async function main() {
  const started = Date.now();
  let failure;
  try {
    await bounded(run(), TOTAL_MS, 'the VS Code test');
  } catch (error) {
    failure = error;
  }
  const left = await endAll();
  if (left.length > 0) {
    const text = left.map((p) => `${p.pid} ${p.cmd}`).join('; ');
    log(`processes left after TERM (killed): ${text}`);
    failure = failure ?? new Error(`processes of the test were left: ${text}`);
  }
  const after = leftovers();
  if (after.length > 0) {
    failure = failure ?? new Error(`processes still alive after KILL: ${after.map((p) => p.pid).join(', ')}`);
  } else if (left.length === 0) {
    log(`no process left (process groups ${groups.join(', ')} and everything marked ${MARK} ended)`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failure) {
    process.stderr.write(`vscode-e2e: FAILED after ${seconds} s: ${failure.stack || failure}\n`);
    process.stderr.write(`vscode-e2e: screenshots in ${SHOTS}, code-server's log in ${SCRATCH}\n`);
    process.exit(1);
  }
  log(`passed in ${seconds} s; screenshots in ${SHOTS}`);
}

void main();
