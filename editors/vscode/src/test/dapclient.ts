// A small Debug Adapter Protocol client for the tests: starts an adapter on
// stdio, frames messages with Content-Length, answers `customRequest` (the
// shape of `vscode.DebugSession` the extension's helpers take) and waits for
// events. Every wait has a timeout (against hangs, not to measure anything).

import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { CustomRequester } from '../dap';

/** A DAP message. */
export interface DapMessage {
  seq: number;
  type: 'request' | 'response' | 'event';
  command?: string;
  event?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  body?: Record<string, unknown>;
}

/** A DAP client over an adapter's standard streams. */
export class DapClient implements CustomRequester {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private seq = 1;
  private readonly pending = new Map<number, { resolve: (m: DapMessage) => void; reject: (e: Error) => void }>();
  /** Every event received, in order. */
  readonly events: DapMessage[] = [];
  private waiters: { test: (m: DapMessage) => boolean; resolve: (m: DapMessage) => void }[] = [];
  stderr = '';

  constructor(command: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(command, [], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child.stdout.on('data', (data: Buffer) => this.receive(data));
    this.child.stderr.on('data', (data: Buffer) => (this.stderr += String(data)));
    this.child.on('exit', () => {
      for (const { reject } of this.pending.values()) {
        reject(new Error(`the adapter exited; stderr: ${this.stderr}`));
      }
      this.pending.clear();
    });
  }

  private receive(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const header = this.buffer.indexOf('\r\n\r\n');
      if (header < 0) {
        return;
      }
      const length = /Content-Length:\s*(\d+)/i.exec(this.buffer.subarray(0, header).toString('ascii'));
      if (!length) {
        throw new Error(`a DAP header without Content-Length: ${this.buffer.subarray(0, header).toString()}`);
      }
      const end = header + 4 + Number(length[1]);
      if (this.buffer.length < end) {
        return;
      }
      const message = JSON.parse(this.buffer.subarray(header + 4, end).toString('utf8')) as DapMessage;
      this.buffer = this.buffer.subarray(end);
      this.dispatch(message);
    }
  }

  private dispatch(message: DapMessage): void {
    if (message.type === 'response' && message.request_seq !== undefined) {
      const waiting = this.pending.get(message.request_seq);
      this.pending.delete(message.request_seq);
      waiting?.resolve(message);
    } else if (message.type === 'event') {
      this.events.push(message);
      const ready = this.waiters.filter((w) => w.test(message));
      this.waiters = this.waiters.filter((w) => !w.test(message));
      ready.forEach((w) => w.resolve(message));
    }
  }

  /** Sends a request; resolves with the response (successful or not). */
  send(command: string, args?: unknown, timeoutMs = 60_000): Promise<DapMessage> {
    const seq = this.seq++;
    const body = Buffer.from(JSON.stringify({ seq, type: 'request', command, arguments: args }), 'utf8');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`no answer to ${command} within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.pending.set(seq, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
      this.child.stdin.write(body);
    });
  }

  /** As `vscode.DebugSession.customRequest`: the body, or an error with the adapter's message. */
  async customRequest(command: string, args?: unknown): Promise<unknown> {
    const response = await this.send(command, args);
    if (!response.success) {
      throw new Error(response.message ?? `${command} failed`);
    }
    return response.body;
  }

  /** The next event (after those already seen when `fresh`) that passes `test`. */
  waitEvent(test: (m: DapMessage) => boolean, timeoutMs = 60_000, fresh = false): Promise<DapMessage> {
    if (!fresh) {
      const seen = this.events.find(test);
      if (seen) {
        return Promise.resolve(seen);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no such event within ${timeoutMs} ms; events: ${this.events.map((e) => e.event).join(', ')}`)),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Stops the adapter (disconnect, then kill if it is still there). */
  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      await this.send('disconnect', {}, 5_000).catch(() => undefined);
      this.child.kill();
    }
  }
}
