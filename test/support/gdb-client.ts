/**
 * A raw GDB remote protocol client for the stub tests, written independently of gdbstub/packet.ts
 * so the two cannot share a framing bug. Tokens from the server are `+`, `-` or packet payloads.
 */
import { connect, Socket } from 'node:net';

export type Token = { ack: '+' | '-' } | { packet: string };

export function checksum(text: string): string {
  let sum = 0;
  for (const b of Buffer.from(text, 'latin1')) sum = (sum + b) & 0xff;
  return sum.toString(16).padStart(2, '0');
}

/** `$payload#cs` with no escaping (callers escape binary data themselves). */
export function frame(payload: string): string {
  return `$${payload}#${checksum(payload)}`;
}

export class RawGdbClient {
  ackMode = true;
  readonly closed: Promise<void>;
  private buffer = '';
  private readonly tokens: Token[] = [];
  private wake: (() => void) | null = null;
  private isClosed = false;
  /** A framing error in what the server sent; every later next() fails with it. */
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.parse();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.isClosed = true;
      this.wake?.();
      resolve();
    }));
  }

  static connect(port: number): Promise<RawGdbClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawGdbClient(socket)));
      socket.once('error', reject);
    });
  }

  private parse(): void {
    for (;;) {
      const c = this.buffer[0];
      if (c === undefined) break;
      if (c === '+' || c === '-') {
        this.tokens.push({ ack: c });
        this.buffer = this.buffer.slice(1);
        continue;
      }
      if (c !== '$') {
        this.failure = new Error(`server sent a stray byte ${JSON.stringify(c)}`);
        break;
      }
      const hash = this.buffer.indexOf('#');
      if (hash < 0 || this.buffer.length < hash + 3) break;
      const raw = this.buffer.slice(1, hash);
      const sum = this.buffer.slice(hash + 1, hash + 3);
      if (sum !== checksum(raw)) {
        this.failure = new Error(`server sent a bad checksum in ${JSON.stringify(this.buffer.slice(0, hash + 3))}`);
        break;
      }
      this.buffer = this.buffer.slice(hash + 3);
      this.tokens.push({ packet: raw.replace(/\}(.)/gs, (_, ch: string) => String.fromCharCode(ch.charCodeAt(0) ^ 0x20)) });
      if (this.ackMode) this.socket.write('+');
    }
    this.wake?.();
  }

  /** The next token from the server; rejects after `timeoutMs` or when the connection closes. */
  async next(timeoutMs = 5000): Promise<Token> {
    const deadline = Date.now() + timeoutMs;
    while (this.tokens.length === 0) {
      if (this.failure !== null) throw this.failure;
      if (this.isClosed) throw new Error('connection closed');
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error('timed out waiting for the server');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = null;
    }
    return this.tokens.shift()!;
  }

  /** The next packet, skipping acks. */
  async packet(timeoutMs?: number): Promise<string> {
    for (;;) {
      const token = await this.next(timeoutMs);
      if ('packet' in token) return token.packet;
    }
  }

  /** True if nothing arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.tokens.length === 0;
  }

  write(raw: string | Uint8Array): void {
    this.socket.write(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
  }

  /** Sends a packet and returns the reply payload, checking the `+` in ack mode. */
  async request(payload: string): Promise<string> {
    this.write(frame(payload));
    if (this.ackMode) {
      const ack = await this.next();
      if (!('ack' in ack) || ack.ack !== '+') throw new Error(`expected + after ${payload}, got ${JSON.stringify(ack)}`);
    }
    return this.packet();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
