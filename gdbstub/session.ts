/**
 * One GDB connection: acknowledgements, the request queue, thread selection and the translation
 * of typed requests into DebugTarget calls. All-stop: requests are handled one at a time; only
 * the 0x03 interrupt byte acts while a resume or monitor command is running.
 */
import type { Socket } from 'node:net';
import { Capabilities, capabilitiesOf, ClientFeatures, clientFeatures, LEGACY_CLIENT, supportedReply } from './capabilities.js';
import { decodeHex, encodeHex, encodeTextHex, fromLittleEndian, toLittleEndian } from './hex.js';
import { encodePacket, InboundEvent, PacketDecoder } from './packet.js';
import { describeRegisters, G_PACKET_REGNUMS, RegisterInfo } from './registers.js';
import { parseRequest, Request, VContAction } from './request.js';
import { consolePackets, formatStopReply } from './stop-reply.js';
import type { DebugTarget, ResumeAction, StopEvent } from './target.js';
import { targetXml } from './target-xml.js';
import { formatThreadId, hartOf, ThreadId } from './thread-id.js';

export type SessionOutcome = 'detached' | 'killed' | 'disconnected';

export interface SessionOptions {
  maxPacketBytes: number;
  log?: (line: string) => void;
  /** Messages for the user (a refused watchpoint), beside GDB's own terse error. */
  notice?: (line: string) => void;
}

const ERROR = 'E01';
const TRACE_LIMIT = 200;

export class Session {
  /** Resolves once the connection is gone, every request has finished and the target was told. */
  readonly ended: Promise<SessionOutcome>;
  private resolveEnded!: (outcome: SessionOutcome) => void;

  private readonly decoder: PacketDecoder;
  private readonly caps: Capabilities;
  private readonly registers: Map<number, RegisterInfo>;
  private readonly xml: string;

  private ackMode = true;
  private client: ClientFeatures = LEGACY_CLIENT;
  private gThread: ThreadId = { kind: 'any' };
  private cThread: ThreadId = { kind: 'any' };
  private lastSent: Buffer | null = null;

  /** Requests are handled strictly in order on this chain; it never rejects. */
  private work: Promise<void> = Promise.resolve();
  private pending = 0;
  /** The resume/monitor in progress, aborted by 0x03 or by the connection going away. */
  private running: AbortController | null = null;
  /** 0x03 arrived while requests were queued: it applies to the next abortable one. */
  private interruptPending = false;
  private outcome: SessionOutcome | null = null;
  /** The client closed its side of the connection. */
  private peerEnded = false;

  constructor(private readonly socket: Socket, private readonly target: DebugTarget, private readonly opts: SessionOptions) {
    this.ended = new Promise((resolve) => { this.resolveEnded = resolve; });
    this.decoder = new PacketDecoder(opts.maxPacketBytes);
    this.caps = capabilitiesOf(target);
    this.registers = new Map(describeRegisters(target).map((r) => [r.regnum, r]));
    this.xml = targetXml(target);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log(`connection error: ${err.message}`));
    socket.on('close', () => void this.onClose());
    // GDB never half-closes: the end of its stream is the end of the connection (the 'close' that
    // follows may come a turn later, after a reconnect was already seen).
    socket.on('end', () => { this.peerEnded = true; });
  }

  /** True once the session stopped taking requests (detach, kill or disconnect in progress). */
  get closing(): boolean {
    return this.outcome !== null || this.socket.destroyed;
  }

  /** True once no further request can come: closing, or the client ended its stream (requests already received still run). */
  get clientGone(): boolean {
    return this.closing || this.peerEnded;
  }

  /** Drops the connection (server shutdown); `ended` resolves when the cleanup is done. */
  close(): void {
    this.running?.abort();
    this.socket.destroy();
  }

  /** Closes the connection once the last reply is flushed. */
  private hangUp(): void {
    this.socket.end(() => this.socket.destroy());
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private onData(chunk: Buffer): void {
    for (const event of this.decoder.feed(chunk)) {
      if (this.closing) return;
      this.onEvent(event);
    }
  }

  private onEvent(event: InboundEvent): void {
    switch (event.type) {
      case 'packet':
        if (this.ackMode) this.socket.write('+');
        this.log(`<- ${traceText(event.payload)}`);
        this.enqueue(() => this.handle(parseRequest(event.payload)));
        return;
      case 'interrupt':
        this.log('<- 0x03 (interrupt)');
        this.interrupt();
        return;
      case 'ack':
        return;
      case 'nack':
        if (this.ackMode && this.lastSent !== null) {
          this.log('<- "-": resending the last packet');
          this.socket.write(this.lastSent);
        }
        return;
      case 'oversized':
        this.log(`<- packet longer than ${this.opts.maxPacketBytes} bytes: discarded`);
        if (this.ackMode) this.socket.write('+');
        this.enqueue(async () => this.send(ERROR));
        return;
      case 'dropped':
        this.log(`<- ${event.reason}: discarded`);
        if (event.corrupt && this.ackMode) this.socket.write('-');
        return;
    }
  }

  private enqueue(job: () => Promise<void>): void {
    this.pending++;
    this.work = this.work.then(job).catch((err: unknown) => {
      this.log(`internal error: ${errorMessage(err)}`);
    }).finally(() => {
      if (--this.pending === 0 && this.interruptPending) {
        this.interruptPending = false;
        this.reportInterruptWhileIdle();
      }
    });
  }

  private interrupt(): void {
    if (this.running !== null) this.running.abort();
    else if (this.pending > 0) this.interruptPending = true;
    else this.reportInterruptWhileIdle();
  }

  private reportInterruptWhileIdle(): void {
    this.guard(() => {
      const hart = this.target.currentHart();
      this.reportStop({ kind: 'interrupted', hart });
    });
  }

  private send(payload: string): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.log(`-> ${traceText(Buffer.from(payload, 'latin1'))}`);
    const frame = encodePacket(payload);
    this.lastSent = this.ackMode ? frame : null;
    this.socket.write(frame);
  }

  /** Runs a synchronous target call; a throw becomes an error reply and a log line. */
  private guard(body: () => void): void {
    try {
      body();
    } catch (err) {
      this.log(`target error: ${errorMessage(err)}`);
      this.send(ERROR);
    }
  }

  private async handle(req: Request): Promise<void> {
    if (this.closing) return;
    switch (req.type) {
      case 'vcont':
        return this.runStop((signal) => this.target.resume(this.resolveVCont(req.actions), signal));
      case 'continue':
        return this.runStop((signal) => this.target.resume([{ hart: this.threadHart(this.cThread, -1), action: 'continue' }], signal));
      case 'step':
        return this.runStop((signal) => this.target.resume([{ hart: this.threadHart(this.cThread, this.target.currentHart()), action: 'step' }], signal));
      case 'reverse-step': {
        const reverse = this.caps.reverse;
        if (reverse === null) return this.send('');
        return this.runStop((signal) => reverse.step(this.threadHart(this.cThread, this.target.currentHart()), signal));
      }
      case 'reverse-continue': {
        const reverse = this.caps.reverse;
        if (reverse === null) return this.send('');
        return this.runStop((signal) => reverse.cont(signal));
      }
      case 'monitor':
        return this.runMonitor(req.command);
      default:
        return this.guard(() => this.handleSync(req));
    }
  }

  private handleSync(req: Exclude<Request, { type: 'vcont' | 'continue' | 'step' | 'reverse-step' | 'reverse-continue' | 'monitor' }>): void {
    const t = this.target;
    switch (req.type) {
      case 'query-supported':
        this.client = clientFeatures(req.features);
        return this.send(supportedReply(this.caps, this.opts.maxPacketBytes));
      case 'start-no-ack':
        this.send('OK');
        this.ackMode = false;
        return;
      case 'set-thread':
        if (req.thread.kind === 'thread' && hartOf(req.thread, t.harts) === null) return this.send(ERROR);
        if (req.op === 'g') this.gThread = req.thread;
        else this.cThread = req.thread;
        return this.send('OK');
      case 'read-features':
        return this.send(this.readFeatures(req.annex, req.offset, req.length));
      case 'halt-reason':
        return this.reportStop(t.lastStop(), false);
      case 'thread-list-first':
        return this.send(`m${Array.from({ length: t.harts }, (_, hart) => formatThreadId(hart, this.client.multiprocess)).join(',')}`);
      case 'thread-list-next':
        return this.send('l');
      case 'thread-alive':
        return this.send(hartOf(req.thread, t.harts) === null ? ERROR : 'OK');
      case 'thread-extra-info': {
        const hart = hartOf(req.thread, t.harts);
        return this.send(hart === null ? ERROR : encodeTextHex(t.threadExtraInfo(hart)));
      }
      case 'current-thread':
        return this.send(`QC${formatThreadId(this.threadHart(this.gThread, t.currentHart()), this.client.multiprocess)}`);
      case 'attached':
        return this.send('1');
      case 'read-registers':
        return this.send(this.readRegisters());
      case 'write-registers':
        return this.send(this.writeRegisters(req.hex));
      case 'read-register':
        return this.send(this.readRegister(req.regnum));
      case 'write-register':
        return this.send(this.writeRegister(req.regnum, req.data));
      case 'read-memory':
        return this.send(this.readMemory(req.addr, req.length));
      case 'write-memory':
        return this.send(req.data.length === 0 || t.writeMemory(this.gHart(), req.addr, req.data) ? 'OK' : ERROR);
      case 'insert-point':
      case 'remove-point': {
        const insert = req.type === 'insert-point';
        const ok = req.point.kind === 'breakpoint'
          ? (insert ? t.insertBreakpoint(req.addr, req.length, this.gHart()) : t.removeBreakpoint(req.addr, req.length))
          : (insert ? t.insertWatchpoint(req.point.access, req.addr, req.length, this.gHart()) : t.removeWatchpoint(req.point.access, req.addr, req.length));
        if (typeof ok === 'string') {
          // GDB only says it could not insert the watchpoint: the reason goes to the user's terminal too.
          this.opts.notice?.(`hindsight: ${ok}`);
          return this.send(`E.${ok}`);
        }
        return this.send(ok ? 'OK' : ERROR);
      }
      case 'vcont-query':
        return this.send('vCont;c;C;s;S');
      case 'detach':
        this.send('OK');
        this.outcome = 'detached';
        this.hangUp();
        return;
      case 'kill':
        if (req.reply) this.send('OK');
        this.outcome = 'killed';
        t.kill();
        this.hangUp();
        return;
      case 'unsupported':
        return this.send('');
      case 'invalid':
        this.log(`invalid request: ${req.reason}`);
        return this.send(ERROR);
    }
  }

  /** The hart a thread selection names; `fallback` for `any`/`all`. */
  private threadHart(thread: ThreadId, fallback: number): number {
    return hartOf(thread, this.target.harts) ?? fallback;
  }

  /** The hart register and memory accesses go to (`Hg`). */
  private gHart(): number {
    return this.threadHart(this.gThread, this.target.currentHart());
  }

  /** vCont actions → one action per hart, leftmost wins; `all` covers every hart not yet named. */
  private resolveVCont(actions: VContAction[]): ResumeAction[] {
    const resolved: ResumeAction[] = [];
    const named = new Set<number>();
    for (const { action, thread } of actions) {
      if (thread.kind === 'all') {
        resolved.push({ hart: -1, action });
        break;
      }
      const hart = thread.kind === 'any' ? this.target.currentHart() : hartOf(thread, this.target.harts);
      if (hart === null) throw new Error('vCont names a thread that does not exist');
      if (!named.has(hart)) resolved.push({ hart, action });
      named.add(hart);
    }
    return resolved;
  }

  private startAbortable(): AbortController {
    const controller = new AbortController();
    if (this.interruptPending) {
      this.interruptPending = false;
      controller.abort();
    }
    this.running = controller;
    return controller;
  }

  /** Runs the machine and sends the stop reply (a failure becomes console text plus an error). */
  private async runStop(run: (signal: AbortSignal) => Promise<StopEvent>): Promise<void> {
    const controller = this.startAbortable();
    try {
      this.reportStop(await run(controller.signal));
    } catch (err) {
      this.log(`target error: ${errorMessage(err)}`);
      for (const packet of consolePackets(`${errorMessage(err)}\n`, this.opts.maxPacketBytes)) this.send(packet);
      this.send(ERROR);
    } finally {
      this.running = null;
    }
  }

  private async runMonitor(command: string): Promise<void> {
    const controller = this.startAbortable();
    try {
      const output = await this.target.monitor(command, controller.signal);
      for (const packet of consolePackets(output, this.opts.maxPacketBytes)) this.send(packet);
      this.send('OK');
    } catch (err) {
      for (const packet of consolePackets(`${errorMessage(err)}\n`, this.opts.maxPacketBytes)) this.send(packet);
      this.send(ERROR);
    } finally {
      this.running = null;
    }
  }

  /**
   * Sends a stop reply. The stopped hart becomes the `Hg` thread: GDB assumes so (its
   * record_currthread) and reads registers right away without an `Hg`. `Hc` stays as GDB last set
   * it, because GDB caches it and only sends `Hc` when its cached value differs.
   */
  private reportStop(event: StopEvent, withConsole = true): void {
    if (event.kind !== 'exited') this.gThread = { kind: 'thread', tid: event.hart + 1 };
    const { console, reply } = formatStopReply(event, this.client);
    if (withConsole && console !== undefined) for (const packet of consolePackets(console, this.opts.maxPacketBytes)) this.send(packet);
    this.send(reply);
  }

  private readFeatures(annex: string, offset: number, length: number): string {
    if (annex !== 'target.xml') return ERROR;
    const chunk = this.xml.slice(offset, offset + Math.min(length, this.opts.maxPacketBytes - 1));
    return `${offset + chunk.length < this.xml.length ? 'm' : 'l'}${chunk}`;
  }

  private registerHex(hart: number, reg: RegisterInfo): string {
    const value = this.target.readRegister(hart, reg.regnum);
    return value === null ? 'xx'.repeat(reg.bytes) : encodeHex(toLittleEndian(value, reg.bytes));
  }

  private readRegisters(): string {
    const hart = this.gHart();
    return G_PACKET_REGNUMS.map((regnum) => this.registerHex(hart, this.registers.get(regnum)!)).join('');
  }

  private writeRegisters(hex: string): string {
    const regs = G_PACKET_REGNUMS.map((regnum) => this.registers.get(regnum)!);
    if (hex.length !== regs.reduce((sum, r) => sum + 2 * r.bytes, 0)) return ERROR;
    const hart = this.gHart();
    let offset = 0;
    let ok = true;
    for (const reg of regs) {
      const data = decodeHex(hex.slice(offset, offset + 2 * reg.bytes));
      offset += 2 * reg.bytes;
      // null: GDB sent `xx` for a register it does not know; leave it alone.
      if (data !== null) ok = this.target.writeRegister(hart, reg.regnum, fromLittleEndian(data)) && ok;
    }
    return ok ? 'OK' : ERROR;
  }

  private readRegister(regnum: number): string {
    const reg = this.registers.get(regnum);
    return reg === undefined ? ERROR : this.registerHex(this.gHart(), reg);
  }

  private writeRegister(regnum: number, data: Uint8Array): string {
    const reg = this.registers.get(regnum);
    if (reg === undefined || data.length !== reg.bytes) return ERROR;
    return this.target.writeRegister(this.gHart(), regnum, fromLittleEndian(data)) ? 'OK' : ERROR;
  }

  private readMemory(addr: bigint, length: number): string {
    const limit = Math.floor((this.opts.maxPacketBytes - 1) / 2);
    const bytes = length === 0 ? new Uint8Array(0) : this.target.readMemory(this.gHart(), addr, Math.min(length, limit));
    return bytes.length === 0 ? ERROR : encodeHex(bytes);
  }

  private async onClose(): Promise<void> {
    this.outcome ??= 'disconnected';
    if (this.outcome === 'disconnected') this.log('client disconnected');
    this.running?.abort();
    await this.work;
    if (this.outcome !== 'killed') {
      try {
        this.target.detach();
      } catch (err) {
        this.log(`target error on detach: ${errorMessage(err)}`);
      }
    }
    this.resolveEnded(this.outcome);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A payload for the packet trace: printable ASCII as is, other bytes as \xNN, long ones cut. */
function traceText(payload: Uint8Array): string {
  let text = '';
  for (const b of payload.subarray(0, TRACE_LIMIT)) {
    text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return payload.length > TRACE_LIMIT ? `${text}… (${payload.length} bytes)` : text;
}
