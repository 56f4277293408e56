import { describe, expect, it } from 'vitest';
import { encodePacket, InboundEvent, PacketDecoder } from '../../gdbstub/packet.js';
import { parseRequest, Request } from '../../gdbstub/request.js';
import { formatThreadId, parseThreadId } from '../../gdbstub/thread-id.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

function sum(text: string | Uint8Array): string {
  let s = 0;
  for (const b of typeof text === 'string' ? latin1(text) : text) s = (s + b) & 0xff;
  return s.toString(16).padStart(2, '0');
}

const frame = (payload: string) => `$${payload}#${sum(payload)}`;

function decodeAll(input: string | Uint8Array, max = 0x4000): InboundEvent[] {
  return new PacketDecoder(max).feed(typeof input === 'string' ? latin1(input) : input);
}

/** Events with packet payloads shown as latin1 text, for compact expectations. */
function decodeText(input: string | Uint8Array, max?: number) {
  return decodeAll(input, max).map((e) => (e.type === 'packet' ? { packet: Buffer.from(e.payload).toString('latin1') } : e.type === 'dropped' ? { dropped: e.corrupt ? 'corrupt' : 'clean' } : e.type));
}

const req = (text: string): Request => parseRequest(latin1(text));

describe('GDB packet framing', () => {
  it('decodes a packet whose checksum is right, in any chunking', () => {
    expect(decodeText('$g#67')).toEqual([{ packet: 'g' }]);
    const decoder = new PacketDecoder(0x4000);
    const whole = latin1(frame('qSupported:multiprocess+'));
    const events: InboundEvent[] = [];
    for (const b of whole) events.push(...decoder.feed(Uint8Array.of(b)));
    expect(events).toHaveLength(1);
    expect(Buffer.from((events[0] as { payload: Uint8Array }).payload).toString('latin1')).toBe('qSupported:multiprocess+');
  });

  it('accepts upper-case checksum digits', () => {
    expect(decodeText(`$m0,4#${sum('m0,4').toUpperCase()}`)).toEqual([{ packet: 'm0,4' }]);
  });

  it('drops a bad checksum as corrupt (the server then sends "-") and decodes the next packet', () => {
    expect(decodeText('$g#00$?#3f')).toEqual([{ dropped: 'corrupt' }, { packet: '?' }]);
    expect(decodeText('$g#zz')).toEqual([{ dropped: 'corrupt' }]);
  });

  it('reports acks, nacks and the raw 0x03 interrupt between packets and ignores garbage', () => {
    expect(decodeText('+-\x03hello\r\n\x00\xff' + frame('c') + '+')).toEqual(['ack', 'nack', 'interrupt', { packet: 'c' }, 'ack']);
  });

  it('treats 0x03 inside a packet as data, not as an interrupt', () => {
    const payload = 'X80000000,1:\x03';
    expect(decodeText(frame(payload))).toEqual([{ packet: payload }]);
  });

  it('removes "}" escapes after checking the checksum over the escaped bytes', () => {
    // Binary X data with the four bytes that must be escaped: $ # } *
    const escaped = 'X80000000,4:}\x04}\x03}\x5d}\x0a';
    const events = decodeAll(frame(escaped));
    expect(events).toHaveLength(1);
    const payload = (events[0] as { payload: Uint8Array }).payload;
    expect([...payload.subarray(payload.length - 4)]).toEqual([0x24, 0x23, 0x7d, 0x2a]);
    expect(req(Buffer.from(payload).toString('latin1'))).toEqual({ type: 'write-memory', addr: 0x80000000n, data: Uint8Array.of(0x24, 0x23, 0x7d, 0x2a) });
  });

  it('drops a packet that ends inside an escape', () => {
    expect(decodeText(frame('X0,1:}'))).toEqual([{ dropped: 'corrupt' }]);
  });

  it('discards a truncated packet when a new "$" starts', () => {
    expect(decodeText('$m8000' + frame('?'))).toEqual([{ dropped: 'clean' }, { packet: '?' }]);
  });

  it('discards an oversized packet, skips it up to "#xx" and decodes the next one', () => {
    const big = 'M0,20:' + '00'.repeat(32);
    expect(decodeText(frame(big) + frame('g'), 16)).toEqual(['oversized', { packet: 'g' }]);
    // A payload of exactly the maximum is fine.
    expect(decodeText(frame('x'.repeat(16)), 16)).toEqual([{ packet: 'x'.repeat(16) }]);
    // An oversized packet cut short by a new packet.
    expect(decodeText('$' + 'a'.repeat(40) + frame('?'), 16)).toEqual(['oversized', { packet: '?' }]);
  });

  it('encodes with escapes for $ # } * and a checksum over the escaped bytes', () => {
    const encoded = encodePacket(Uint8Array.of(0x6c, 0x24, 0x23, 0x7d, 0x2a, 0x03));
    const body = Buffer.from([0x6c, 0x7d, 0x04, 0x7d, 0x03, 0x7d, 0x5d, 0x7d, 0x0a, 0x03]);
    expect(encoded.toString('latin1')).toBe(`$${body.toString('latin1')}#${sum(body)}`);
    expect(encodePacket('OK').toString('latin1')).toBe('$OK#9a');
    // Round trip through the decoder.
    const events = decodeAll(encoded);
    expect([...(events[0] as { payload: Uint8Array }).payload]).toEqual([0x6c, 0x24, 0x23, 0x7d, 0x2a, 0x03]);
  });
});

describe('GDB thread ids', () => {
  it('parses plain and multiprocess syntax', () => {
    expect(parseThreadId('2')).toEqual({ kind: 'thread', tid: 2 });
    expect(parseThreadId('1f')).toEqual({ kind: 'thread', tid: 0x1f });
    expect(parseThreadId('0')).toEqual({ kind: 'any' });
    expect(parseThreadId('-1')).toEqual({ kind: 'all' });
    expect(parseThreadId('p1.2')).toEqual({ kind: 'thread', tid: 2 });
    expect(parseThreadId('p01.0a')).toEqual({ kind: 'thread', tid: 10 });
    expect(parseThreadId('p1.-1')).toEqual({ kind: 'all' });
    expect(parseThreadId('p1.0')).toEqual({ kind: 'any' });
    expect(parseThreadId('p0.0')).toEqual({ kind: 'any' });
    expect(parseThreadId('p1')).toEqual({ kind: 'all' });
    expect(parseThreadId('p-1')).toEqual({ kind: 'all' });
  });

  it('rejects malformed ids', () => {
    for (const bad of ['', 'x', 'p', 'p1.', 'pz.1', 'p1.g', '-2', '1.2', '123456789']) expect(parseThreadId(bad), bad).toBeNull();
  });

  it('formats hart indices as tid = hart + 1', () => {
    expect(formatThreadId(0, true)).toBe('p01.01');
    expect(formatThreadId(15, true)).toBe('p01.10');
    expect(formatThreadId(1, false)).toBe('02');
  });
});

describe('GDB request parsing', () => {
  it('parses vCont with mixed per-thread actions in order', () => {
    expect(req('vCont;s:p1.2;c:p1.-1')).toEqual({
      type: 'vcont',
      actions: [{ action: 'step', thread: { kind: 'thread', tid: 2 } }, { action: 'continue', thread: { kind: 'all' } }],
    });
    expect(req('vCont;c')).toEqual({ type: 'vcont', actions: [{ action: 'continue', thread: { kind: 'all' } }] });
    expect(req('vCont;C05:3;S0b:1;s')).toEqual({
      type: 'vcont',
      actions: [
        { action: 'continue', thread: { kind: 'thread', tid: 3 } },
        { action: 'step', thread: { kind: 'thread', tid: 1 } },
        { action: 'step', thread: { kind: 'all' } },
      ],
    });
    expect(req('vCont?')).toEqual({ type: 'vcont-query' });
  });

  it('rejects vCont actions it does not implement and malformed ones', () => {
    for (const bad of ['vCont;t:1', 'vCont;r1000,2000:1', 'vCont;', 'vCont;c:zz', 'vCont;c:1:2', 'vCont;C5']) expect(req(bad).type, bad).toBe('invalid');
  });

  it('parses Z/z for breakpoints and the three watchpoint kinds; unknown types are unsupported', () => {
    expect(req('Z0,80000002,2')).toEqual({ type: 'insert-point', point: { kind: 'breakpoint', hardware: false }, addr: 0x80000002n, length: 2 });
    expect(req('z1,80000000,4')).toEqual({ type: 'remove-point', point: { kind: 'breakpoint', hardware: true }, addr: 0x80000000n, length: 4 });
    expect(req('Z2,80001000,8')).toEqual({ type: 'insert-point', point: { kind: 'watchpoint', access: 'write' }, addr: 0x80001000n, length: 8 });
    expect(req('Z3,10,4')).toMatchObject({ point: { kind: 'watchpoint', access: 'read' } });
    expect(req('z4,10,1')).toMatchObject({ type: 'remove-point', point: { kind: 'watchpoint', access: 'access' } });
    expect(req('Z0,ffffffff80000000,4;X2,0a')).toMatchObject({ addr: 0xffffffff80000000n, length: 4 });
    expect(req('Z5,10,4')).toEqual({ type: 'unsupported' });
    expect(req('Z0,zz,4').type).toBe('invalid');
    expect(req('Z0,10').type).toBe('invalid');
  });

  it('parses thread selection in both syntaxes', () => {
    expect(req('Hgp1.2')).toEqual({ type: 'set-thread', op: 'g', thread: { kind: 'thread', tid: 2 } });
    expect(req('Hc-1')).toEqual({ type: 'set-thread', op: 'c', thread: { kind: 'all' } });
    expect(req('Hg0')).toEqual({ type: 'set-thread', op: 'g', thread: { kind: 'any' } });
    expect(req('Hgq').type).toBe('invalid');
    expect(req('Tp1.3')).toEqual({ type: 'thread-alive', thread: { kind: 'thread', tid: 3 } });
    expect(req('qThreadExtraInfo,p1.1')).toEqual({ type: 'thread-extra-info', thread: { kind: 'thread', tid: 1 } });
  });

  it('parses register and memory packets and rejects malformed hex', () => {
    expect(req('g')).toEqual({ type: 'read-registers' });
    expect(req('p20')).toEqual({ type: 'read-register', regnum: 32 });
    expect(req('P1=0500000000000000')).toEqual({ type: 'write-register', regnum: 1, data: Uint8Array.of(5, 0, 0, 0, 0, 0, 0, 0) });
    expect(req('m80000000,10')).toEqual({ type: 'read-memory', addr: 0x80000000n, length: 16 });
    expect(req('M80000000,2:0a0b')).toEqual({ type: 'write-memory', addr: 0x80000000n, data: Uint8Array.of(10, 11) });
    expect(req('X80000000,0:')).toEqual({ type: 'write-memory', addr: 0x80000000n, data: new Uint8Array(0) });
    expect(req('Gxx00')).toEqual({ type: 'write-registers', hex: 'xx00' });
    for (const bad of ['pzz', 'p', 'P1', 'P1=0g', 'P=00', 'm80000000', 'mxyz,4', 'm1,2,3', 'M0,2:0a', 'M0,1:0', 'M0,1', 'X0,2:a', 'X0,1', 'Gq0', 'gx']) {
      expect(req(bad).type, bad).toBe('invalid');
    }
  });

  it('parses resume, reverse, detach and kill packets', () => {
    expect(req('c')).toEqual({ type: 'continue' });
    expect(req('s')).toEqual({ type: 'step' });
    expect(req('C05')).toEqual({ type: 'continue' });
    expect(req('S0b')).toEqual({ type: 'step' });
    expect(req('c80000000').type).toBe('invalid');
    expect(req('S05;80000000').type).toBe('invalid');
    expect(req('bs')).toEqual({ type: 'reverse-step' });
    expect(req('bc')).toEqual({ type: 'reverse-continue' });
    expect(req('D')).toEqual({ type: 'detach' });
    expect(req('D;1')).toEqual({ type: 'detach' });
    expect(req('k')).toEqual({ type: 'kill', reply: false });
    expect(req('vKill;1')).toEqual({ type: 'kill', reply: true });
  });

  it('parses queries; unknown ones are unsupported', () => {
    expect(req('qSupported:multiprocess+;swbreak+;xmlRegisters=i386')).toEqual({ type: 'query-supported', features: ['multiprocess+', 'swbreak+', 'xmlRegisters=i386'] });
    expect(req('qXfer:features:read:target.xml:0,ffb')).toEqual({ type: 'read-features', annex: 'target.xml', offset: 0, length: 0xffb });
    expect(req('qXfer:features:read:target.xml:zz').type).toBe('invalid');
    expect(req('qRcmd,68656c6c6f')).toEqual({ type: 'monitor', command: 'hello' });
    expect(req('qRcmd,6').type).toBe('invalid');
    expect(req('qAttached:1')).toEqual({ type: 'attached' });
    expect(req('QStartNoAckMode')).toEqual({ type: 'start-no-ack' });
    for (const unknown of ['vMustReplyEmpty', 'qTStatus', 'qOffsets', 'qSymbol::', 'qXfer:exec-file:read:1:0,ff', 'QThreadEvents:1', 'vFile:open:x', 'bx', '!', '']) {
      expect(req(unknown).type, unknown).toBe('unsupported');
    }
  });
});
