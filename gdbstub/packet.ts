/**
 * GDB remote serial protocol framing: `$payload#xx` packets with a modulo-256 checksum, `}` escapes
 * (byte XOR 0x20) for binary data, `+`/`-` acknowledgements and the raw 0x03 interrupt byte that
 * may arrive between packets. Knows nothing about what a payload means (see request.ts).
 */

export type InboundEvent =
  /** A complete packet with a valid checksum; escapes already removed. */
  | { type: 'packet'; payload: Uint8Array }
  /** The raw 0x03 byte outside a packet (Ctrl-C). */
  | { type: 'interrupt' }
  /** `+` / `-` from the client about our last packet. */
  | { type: 'ack' }
  | { type: 'nack' }
  /** A packet longer than the maximum; the rest of it up to `#xx` is skipped. */
  | { type: 'oversized' }
  /** A packet that was thrown away; `corrupt` ones deserve a `-` so the client retransmits. */
  | { type: 'dropped'; reason: string; corrupt: boolean };

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const INTERRUPT = 0x03;
const PLUS = 0x2b;
const MINUS = 0x2d;

type State = 'idle' | 'body' | 'checksum' | 'skip' | 'skip-checksum';

/** Incremental decoder: feed it socket chunks, get protocol events back in order. */
export class PacketDecoder {
  private state: State = 'idle';
  private body: number[] = [];
  private sum = 0;
  private checksumText = '';
  private skipped = 0;

  constructor(private readonly maxPayloadBytes: number) {}

  feed(chunk: Uint8Array): InboundEvent[] {
    const events: InboundEvent[] = [];
    for (const byte of chunk) this.step(byte, events);
    return events;
  }

  private step(byte: number, events: InboundEvent[]): void {
    switch (this.state) {
      case 'idle':
        if (byte === DOLLAR) this.startPacket();
        else if (byte === INTERRUPT) events.push({ type: 'interrupt' });
        else if (byte === PLUS) events.push({ type: 'ack' });
        else if (byte === MINUS) events.push({ type: 'nack' });
        // Anything else between packets is line noise: ignored.
        return;
      case 'body':
        if (byte === DOLLAR) {
          events.push({ type: 'dropped', reason: 'truncated packet (a new "$" arrived before "#")', corrupt: false });
          this.startPacket();
        } else if (byte === HASH) {
          this.state = 'checksum';
          this.checksumText = '';
        } else if (this.body.length >= this.maxPayloadBytes) {
          events.push({ type: 'oversized' });
          this.state = 'skip';
        } else {
          this.body.push(byte);
          this.sum = (this.sum + byte) & 0xff;
        }
        return;
      case 'checksum':
        this.checksumText += String.fromCharCode(byte);
        if (this.checksumText.length === 2) {
          this.state = 'idle';
          events.push(this.finishPacket());
        }
        return;
      case 'skip':
        if (byte === DOLLAR) this.startPacket();
        else if (byte === HASH) {
          this.state = 'skip-checksum';
          this.skipped = 0;
        }
        return;
      case 'skip-checksum':
        if (++this.skipped === 2) this.state = 'idle';
        return;
    }
  }

  private startPacket(): void {
    this.state = 'body';
    this.body = [];
    this.sum = 0;
  }

  private finishPacket(): InboundEvent {
    const expected = /^[0-9a-fA-F]{2}$/.test(this.checksumText) ? parseInt(this.checksumText, 16) : -1;
    if (expected !== this.sum) {
      return { type: 'dropped', reason: `bad checksum ${JSON.stringify(this.checksumText)} (computed ${hex2(this.sum)})`, corrupt: true };
    }
    const payload = unescape(this.body);
    if (payload === null) return { type: 'dropped', reason: 'packet ends inside a "}" escape', corrupt: true };
    return { type: 'packet', payload };
  }
}

function unescape(raw: number[]): Uint8Array | null {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== ESCAPE) out.push(raw[i]!);
    else if (i + 1 < raw.length) out.push(raw[++i]! ^ 0x20);
    else return null;
  }
  return Uint8Array.from(out);
}

/** Frames a payload (string payloads are latin1, i.e. one byte per char) escaping `$ # } *`. */
export function encodePacket(payload: string | Uint8Array): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const out: number[] = [DOLLAR];
  let sum = 0;
  const put = (b: number) => {
    out.push(b);
    sum = (sum + b) & 0xff;
  };
  for (const b of bytes) {
    if (b === DOLLAR || b === HASH || b === ESCAPE || b === STAR) {
      put(ESCAPE);
      put(b ^ 0x20);
    } else {
      put(b);
    }
  }
  out.push(HASH, ...Buffer.from(hex2(sum), 'latin1'));
  return Buffer.from(out);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
