import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Socket, connect } from 'node:net';
import { hindsight, RunResult } from './tools.js';

/**
 * Runs `hindsight debug TRACE` the way a user does (it starts gdb-multiarch, already connected,
 * with the guest's symbols) with GDB in batch mode executing `commands` one by one (`-ex`, so a
 * failing command does not skip the rest). Returns GDB's and the guest's output.
 */
export async function gdbSession(trace: string, commands: string[], extra: string[] = []): Promise<RunResult> {
  const args = ['debug', trace, ...extra, '--', '-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set width 0'];
  for (const c of commands) args.push('-ex', c);
  return hindsight(args, { timeoutMs: 170_000 });
}

/** GDB's hexadecimal register dump between two `echo` markers. */
export function section(output: string, name: string): string {
  const start = output.indexOf(`<<${name}>>`);
  const end = output.indexOf(`<</${name}>>`);
  if (start < 0 || end < 0) throw new Error(`GDB output lacks section ${name}:\n${output.slice(-3000)}`);
  return output.slice(start + name.length + 4, end);
}

export function mark(name: string, commands: string[]): string[] {
  return [`echo <<${name}>>\\n`, ...commands, `echo <</${name}>>\\n`];
}

/** A raw RSP packet with its checksum. */
export function packet(payload: string): string {
  let sum = 0;
  for (const ch of Buffer.from(payload, 'latin1')) sum = (sum + ch) & 0xff;
  return `$${payload}#${sum.toString(16).padStart(2, '0')}`;
}

/** A raw TCP client for the stub: sends bytes, collects everything the server answers. */
export class RawClient {
  private received = '';
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => { this.received += d.toString('latin1'); });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(bytes: string): void {
    this.socket.write(Buffer.from(bytes, 'latin1'));
  }

  /** Waits until the received text contains `needle` (after `from`); returns everything received. */
  async waitFor(needle: string | RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (typeof needle === 'string' ? this.received.includes(needle) : needle.test(this.received)) return this.received;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${needle} from the stub within ${timeoutMs} ms; got: ${JSON.stringify(this.received.slice(-500))}`);
  }

  take(): string {
    const r = this.received;
    this.received = '';
    return r;
  }

  close(): void {
    this.socket.destroy();
  }
}

export function writeScript(dir: string, name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
