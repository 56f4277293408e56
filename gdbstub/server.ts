/**
 * GdbServer: accepts gdb-multiarch connections on 127.0.0.1, one client at a time, and drives a
 * DebugTarget through a Session per connection. Clients may come and go (detach, reconnect); the
 * target stays where it was. `k`/vKill or close() end the server.
 */
import { createServer, Server, Socket } from 'node:net';
import { Session } from './session.js';
import type { DebugTarget } from './target.js';

export interface GdbServerOptions {
  /** TCP port; 0 picks a free one (listen() resolves with it). */
  port: number;
  /** Only '127.0.0.1' is allowed: the protocol has no authentication. */
  host?: string;
  /** Receives the packet trace and connection events when set. */
  log?: (line: string) => void;
  /** Messages for the user (a refused watchpoint), beside GDB's own terse error. */
  notice?: (line: string) => void;
  /** Largest packet payload accepted; advertised as PacketSize. Default 0x4000. */
  maxPacketBytes?: number;
}

const HOST = '127.0.0.1';
const DEFAULT_MAX_PACKET_BYTES = 0x4000;
/** Room for the largest fixed reply (the `g` packet: 33 registers × 16 hex digits). */
const MIN_MAX_PACKET_BYTES = 0x400;
/** How long a new client waits for the previous one's end of stream before it is turned away. */
const RECONNECT_GRACE_MS = 3_000;
const RECONNECT_POLL_MS = 20;

export class GdbServer {
  /** Resolves after `k`/vKill ('killed') or close() ('closed'). */
  readonly finished: Promise<'killed' | 'closed'>;
  private resolveFinished!: (how: 'killed' | 'closed') => void;

  private readonly server: Server;
  private readonly maxPacketBytes: number;
  private session: Session | null = null;
  /** A client that connected while the previous one was still being cleaned up. */
  private waiting: Socket | null = null;
  private stopped = false;

  constructor(private readonly target: DebugTarget, private readonly opts: GdbServerOptions) {
    if (opts.host !== undefined && opts.host !== HOST) throw new Error(`the GDB server listens on ${HOST} only, not ${opts.host}`);
    this.maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    if (!Number.isInteger(this.maxPacketBytes) || this.maxPacketBytes < MIN_MAX_PACKET_BYTES) {
      throw new Error(`maxPacketBytes must be an integer of at least ${MIN_MAX_PACKET_BYTES}`);
    }
    this.finished = new Promise((resolve) => { this.resolveFinished = resolve; });
    this.server = createServer((socket) => this.onConnection(socket));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, HOST, () => {
        this.server.off('error', reject);
        this.server.on('error', (err) => this.log(`server error: ${err.message}`));
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : this.opts.port);
      });
    });
  }

  async close(): Promise<void> {
    await this.shutdown('closed');
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private onConnection(socket: Socket, graceUntil = Date.now() + RECONNECT_GRACE_MS): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (Date.now() < graceUntil && !this.stopped && this.session !== null && !this.session.clientGone && this.waiting === null) {
      // A client that vanished and reconnected at once: its end-of-stream may be read after the
      // new connection (in the same event-loop turn, or later while the target is busy running).
      // Look again for a short while before deciding that another GDB is connected.
      if (socket.listenerCount('error') === 0) socket.on('error', () => {}); // once: this looks again every RECONNECT_POLL_MS
      setTimeout(() => { if (!socket.destroyed) this.onConnection(socket, graceUntil); }, RECONNECT_POLL_MS);
      return;
    }
    if (this.stopped || (this.session !== null && (!this.session.clientGone || this.waiting !== null))) {
      this.log(`rejected ${peer}: another GDB is connected`);
      socket.destroy();
      return;
    }
    if (this.session === null) {
      this.start(socket, peer);
      return;
    }
    // The previous client is still being cleaned up (e.g. its resume is being aborted).
    this.waiting = socket;
    socket.on('error', () => {});
    void this.session.ended.then(() => {
      this.waiting = null;
      if (socket.destroyed || this.stopped) socket.destroy();
      else this.start(socket, peer);
    });
  }

  private start(socket: Socket, peer: string): void {
    this.log(`GDB connected from ${peer}`);
    socket.setNoDelay(true);
    const session = new Session(socket, this.target, { maxPacketBytes: this.maxPacketBytes, log: this.opts.log, notice: this.opts.notice });
    this.session = session;
    void session.ended.then((outcome) => {
      this.log(`GDB ${peer} ${outcome}`);
      this.session = null;
      if (outcome === 'killed') void this.shutdown('killed');
    });
  }

  private async shutdown(how: 'killed' | 'closed'): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.waiting?.destroy();
      const session = this.session;
      session?.close();
      await Promise.all([session?.ended, new Promise<void>((resolve) => this.server.close(() => resolve()))]);
      this.resolveFinished(how);
    }
    await this.finished;
  }
}
