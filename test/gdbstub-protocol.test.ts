import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { encodeHex } from '../gdbstub/hex.js';
import { GdbServer, GdbServerOptions } from '../gdbstub/server.js';
import { FIRST_CSR_REGNUM, REG_PC, REG_PRIV } from '../gdbstub/target.js';
import { targetXml } from '../gdbstub/target-xml.js';
import { CODE_BASE, FakeTarget, FakeTargetOptions } from './support/fake-target.js';
import { checksum, frame, RawGdbClient } from './support/gdb-client.js';

const GDB13_FEATURES = 'multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386';
const SUPPORTED = 'PacketSize=4000;qXfer:features:read+;vContSupported+;multiprocess+;swbreak+;hwbreak+;QStartNoAckMode+';

const servers: GdbServer[] = [];
const clients: RawGdbClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(targetOpts: FakeTargetOptions = {}, serverOpts: Partial<GdbServerOptions> = {}) {
  const target = new FakeTarget({ harts: 3, ...targetOpts });
  const log: string[] = [];
  const server = new GdbServer(target, { port: 0, log: (line) => log.push(line), ...serverOpts });
  servers.push(server);
  const port = await server.listen();
  const client = await connectClient(port);
  return { target, server, port, client, log };
}

async function connectClient(port: number): Promise<RawGdbClient> {
  const client = await RawGdbClient.connect(port);
  clients.push(client);
  return client;
}

/** What GDB 13 sends first; leaves the connection in no-ack mode. */
async function handshake(client: RawGdbClient, supported = SUPPORTED): Promise<void> {
  expect(await client.request(`qSupported:${GDB13_FEATURES}`)).toBe(supported);
  expect(await client.request('vMustReplyEmpty')).toBe('');
  expect(await client.request('QStartNoAckMode')).toBe('OK');
  client.ackMode = false;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const le64 = (v: bigint) => encodeHex(Uint8Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn)));
const hexText = (s: string) => Buffer.from(s).toString('hex');

describe('GDB server: handshake and threads', () => {
  it('answers the GDB 13 connection sequence', async () => {
    const { client, target } = await start();
    await handshake(client);
    // No-ack mode: the next reply is not preceded by '+'.
    client.write(frame('Hgp0.0'));
    expect(await client.next()).toEqual({ packet: 'OK' });
    let xml = '';
    for (let offset = 0; ; offset += 0x100) {
      const chunk = await client.request(`qXfer:features:read:target.xml:${offset.toString(16)},100`);
      expect(chunk[0]).toMatch(/[ml]/);
      xml += chunk.slice(1);
      if (chunk[0] === 'l') break;
      expect(chunk.length).toBe(0x101);
    }
    expect(xml).toBe(targetXml(target));
    expect(await client.request('qXfer:features:read:other.xml:0,ffb')).toBe('E01');
    expect(await client.request('qTStatus')).toBe('');
    expect(await client.request('?')).toBe('T02thread:p01.01;');
    expect(await client.request('qfThreadInfo')).toBe('mp01.01,p01.02,p01.03');
    expect(await client.request('qsThreadInfo')).toBe('l');
    expect(await client.request('qAttached:1')).toBe('1');
    expect(await client.request('Hc-1')).toBe('OK');
    expect(await client.request('qOffsets')).toBe('');
    expect(await client.request('qSymbol::')).toBe('');
    expect(await client.request('qC')).toBe('QCp01.01');
    expect(await client.request('Tp1.3')).toBe('OK');
    expect(await client.request('Tp1.4')).toBe('E01');
    expect(await client.request('Hgp1.4')).toBe('E01');
    expect(await client.request('qThreadExtraInfo,p1.2')).toBe(hexText('hart 1 M-mode'));
    expect(await client.request('vCont?')).toBe('vCont;c;C;s;S');
  });

  it('uses plain thread ids when GDB did not offer multiprocess', async () => {
    const { client } = await start();
    expect(await client.request('qSupported:swbreak+')).toBe(SUPPORTED);
    expect(await client.request('qfThreadInfo')).toBe('m01,02,03');
    expect(await client.request('Hg2')).toBe('OK');
    expect(await client.request('qC')).toBe('QC02');
    expect(await client.request('?')).toBe('T02thread:01;');
  });

  it('acknowledges every packet with "+" until no-ack mode and resends on "-"', async () => {
    const { client } = await start();
    expect(await client.request('qSupported')).toBe(SUPPORTED);
    client.write('-');
    expect(await client.packet()).toBe(SUPPORTED);
    await handshake(client);
    client.write(frame('qC'));
    expect(await client.next()).toEqual({ packet: 'QCp01.01' });
    client.write('-'); // ignored in no-ack mode
    expect(await client.silentFor(100)).toBe(true);
  });
});

describe('GDB server: registers and memory', () => {
  it('reads and writes registers of the Hg thread with g/G/p/P', async () => {
    const { client, target } = await start();
    await handshake(client);
    const g0 = await client.request('g');
    expect(g0).toHaveLength(33 * 16);
    expect(g0.slice(0, 16)).toBe(le64(0n));
    expect(g0.slice(16, 32)).toBe(le64(1n));
    expect(g0.slice(32 * 16)).toBe(le64(CODE_BASE));
    expect(await client.request('Hgp1.2')).toBe('OK');
    expect((await client.request('g')).slice(32 * 16)).toBe(le64(CODE_BASE + 0x100n));
    expect(await client.request('p20')).toBe(le64(CODE_BASE + 0x100n));
    expect(await client.request(`p${(FIRST_CSR_REGNUM + 0x300).toString(16)}`)).toBe(le64(0xa00000000n));
    expect(await client.request(`p${(FIRST_CSR_REGNUM + 0xc00).toString(16)}`)).toBe('xx'.repeat(8));
    expect(await client.request(`p${REG_PRIV.toString(16)}`)).toBe('03');
    expect(await client.request('p1000')).toBe('E01');
    expect(await client.request(`Pa=${le64(5n)}`)).toBe('OK');
    expect(target.regs[1]!.get(10)).toBe(5n);
    expect(target.regs[0]!.get(10)).toBe(10n);
    expect(await client.request(`P${REG_PRIV.toString(16)}=01`)).toBe('OK');
    expect(target.regs[1]!.get(REG_PRIV)).toBe(1n);
    expect(await client.request(`P${REG_PRIV.toString(16)}=0100`)).toBe('E01');
    expect(await client.request(`P1000=${le64(1n)}`)).toBe('E01');
    // G: everything written back, x5 changed, pc unknown to GDB ('xx') left alone.
    const g1 = await client.request('g');
    const g2 = g1.slice(0, 5 * 16) + le64(0xdeadbeefn) + g1.slice(6 * 16, 32 * 16) + 'xx'.repeat(8);
    expect(await client.request(`G${g2}`)).toBe('OK');
    expect(target.regs[1]!.get(5)).toBe(0xdeadbeefn);
    expect(target.regs[1]!.get(REG_PC)).toBe(CODE_BASE + 0x100n);
    expect(await client.request(`G${g2.slice(2)}`)).toBe('E01');
  });

  it('reads and writes memory with m/M/X, including escaped binary X data and the zero-length probe', async () => {
    const { client, target } = await start();
    await handshake(client);
    expect(await client.request('m80000010,4')).toBe('10111213');
    expect(await client.request('m800007fe,2')).toBe('feff');
    expect(await client.request('m80000ffe,4')).toBe('0000'); // readable prefix
    expect(await client.request('m10,4')).toBe('E01');
    expect(await client.request('M80000020,3:aabbcc')).toBe('OK');
    expect([...target.memory.subarray(0x20, 0x23)]).toEqual([0xaa, 0xbb, 0xcc]);
    expect(await client.request('M10,1:00')).toBe('E01');
    expect(await client.request('X80000000,0:')).toBe('OK');
    // X with the four bytes that need escaping plus 0x03 (not an interrupt inside a packet).
    expect(await client.request('X80000040,6:}\x04}\x03}\x5d}\x0a\x03\x00')).toBe('OK');
    expect([...target.memory.subarray(0x40, 0x46)]).toEqual([0x24, 0x23, 0x7d, 0x2a, 0x03, 0x00]);
    expect(await client.request('m80000040,6')).toBe('24237d2a0300');
  });
});

describe('GDB server: breakpoints, watchpoints and resuming', () => {
  it('inserts and removes breakpoints and watchpoints; unknown Z types get an empty reply', async () => {
    const { client, target } = await start();
    await handshake(client);
    expect(await client.request('Z0,80000006,2')).toBe('OK');
    expect(await client.request('Z1,80000010,4')).toBe('OK');
    expect([...target.breakpoints]).toEqual([[0x80000006n, 2], [0x80000010n, 4]]);
    expect(await client.request('z0,80000006,2')).toBe('OK');
    expect([...target.breakpoints.keys()]).toEqual([0x80000010n]);
    expect(await client.request('Z2,80000800,8')).toBe('OK');
    expect(await client.request('Z3,80000900,4')).toBe('OK');
    expect(await client.request('Z4,80000a00,1')).toBe('OK');
    expect(target.watchpoints.map((w) => w.access)).toEqual(['write', 'read', 'access']);
    expect(await client.request('z3,80000900,4')).toBe('OK');
    expect(await client.request('z3,80000900,4')).toBe('E01'); // FakeTarget: not set
    expect(await client.request('Z5,80000000,4')).toBe('');
  });

  it('resolves mixed vCont actions leftmost-first and makes the stopped hart current', async () => {
    const { client, target } = await start();
    await handshake(client);
    expect(await client.request('vCont;s:p1.2;c:p1.-1')).toBe('T05thread:p01.02;');
    expect(target.resumes.at(-1)).toEqual([{ hart: 1, action: 'step' }, { hart: -1, action: 'continue' }]);
    expect(await client.request('vCont;c:p1.1;s:p1.1;s:p1.3;c')).toBe('T05thread:p01.03;');
    expect(target.resumes.at(-1)).toEqual([{ hart: 0, action: 'continue' }, { hart: 2, action: 'step' }, { hart: -1, action: 'continue' }]);
    // Run hart 2 (tid 2) into a breakpoint; the other harts stay.
    const bp = target.pc(1) + 8n;
    expect(await client.request(`Z0,${bp.toString(16)},4`)).toBe('OK');
    expect(await client.request('vCont;c:p1.2')).toBe('T05thread:p01.02;swbreak:;');
    // GDB reads registers right after the stop without an Hg: they must be hart 1's.
    expect((await client.request('g')).slice(32 * 16)).toBe(le64(bp));
    expect(await client.request('qC')).toBe('QCp01.02');
    expect(await client.request('vCont;c:p1.9')).toMatch(/^O[0-9a-f]+$/);
    expect(await client.packet()).toBe('E01');
  });

  it('supports legacy c/s on the Hc thread and rejects them with an address', async () => {
    const { client, target } = await start();
    await handshake(client);
    expect(await client.request('Hcp1.3')).toBe('OK');
    expect(await client.request('s')).toBe('T05thread:p01.03;');
    expect(target.resumes.at(-1)).toEqual([{ hart: 2, action: 'step' }]);
    expect(await client.request('Hc-1')).toBe('OK');
    expect(await client.request('S05')).toBe('T05thread:p01.03;'); // current hart after the last stop
    expect(await client.request('c80000000')).toBe('E01');
    expect(await client.request('Z0,80000808,4')).toBe('OK');
    expect(await client.request('c')).toBe('T05thread:p01.01;swbreak:;');
    expect(target.resumes.at(-1)).toEqual([{ hart: -1, action: 'continue' }]);
  });

  it('reports watchpoint hits and exits', async () => {
    const { client } = await start({ maxSteps: 5 });
    await handshake(client);
    expect(await client.request('vCont;c')).toBe('W00');
    expect(await client.request('Z2,80000800,8')).toBe('OK');
    expect(await client.request('vCont;c')).toBe('T05thread:p01.01;watch:80000800;');
  });

  it('precedes the stop reply of an error stop with the message as console output', async () => {
    const { client, target } = await start({ reversible: true });
    await handshake(client, `${SUPPORTED};ReverseStep+;ReverseContinue+`);
    target.nextStop = { kind: 'error', hart: 2, message: 'the replay left the recording' };
    expect(await client.request('vCont;c')).toBe(`O${hexText('the replay left the recording\n')}`);
    expect(await client.packet()).toBe('T05thread:p01.03;');
    expect(await client.request('?')).toBe('T05thread:p01.03;');
    expect(await client.request('qC')).toBe('QCp01.03');
  });

  it('answers bs/bc only for a reversible target', async () => {
    const forward = await start({ reversible: false });
    await handshake(forward.client);
    expect(await forward.client.request('bs')).toBe('');
    expect(await forward.client.request('bc')).toBe('');
    await forward.server.close();

    const replay = await start({ reversible: true, maxSteps: 3 });
    expect(await replay.client.request(`qSupported:${GDB13_FEATURES}`)).toBe(`${SUPPORTED};ReverseStep+;ReverseContinue+`);
    expect(await replay.client.request('vCont;c')).toBe('T05thread:p01.01;replaylog:end;');
    expect(await replay.client.request('Hcp1.2')).toBe('OK');
    const pc = replay.target.pc(1);
    expect(await replay.client.request('bs')).toBe('T05thread:p01.02;');
    expect(replay.target.pc(1)).toBe(pc - 4n);
    expect(await replay.client.request('Hcp1.0')).toBe('OK');
    expect(await replay.client.request('bc')).toBe('T05thread:p01.02;replaylog:begin;');
    expect(await replay.client.request('Hcp1.2')).toBe('OK');
    expect(await replay.client.request('bs')).toBe('T05thread:p01.02;replaylog:begin;');
    // A stop on another hart moves Hg but not Hc: GDB caches Hc and would not resend Hcp1.2.
    expect(await replay.client.request('vCont;s:p1.1')).toBe('T05thread:p01.01;');
    expect(await replay.client.request('qC')).toBe('QCp01.01');
    const pc0 = replay.target.pc(0);
    expect(await replay.client.request('bs')).toBe('T05thread:p01.02;replaylog:begin;');
    expect(replay.target.pc(0)).toBe(pc0);
    expect(await replay.client.request('Hcp1.1')).toBe('OK');
    expect(await replay.client.request('bs')).toBe('T05thread:p01.01;');
    expect(replay.target.pc(0)).toBe(pc0 - 4n);
  });

  it('aborts a running resume on 0x03 and answers a 0x03 while stopped', async () => {
    const { client, target } = await start({ reversible: true });
    await handshake(client, `${SUPPORTED};ReverseStep+;ReverseContinue+`);
    let started = 0;
    target.onResume = () => started++;
    target.hangUntilAborted = true;
    client.write(frame('vCont;c:p1.-1'));
    await until(() => started === 1, 'the resume to start');
    expect(await client.silentFor(50)).toBe(true);
    client.write('\x03');
    expect(await client.packet()).toBe('T02thread:p01.01;');
    client.write(frame('bc'));
    await until(() => started === 2, 'the reverse-continue to start');
    client.write('\x03');
    expect(await client.packet()).toBe('T02thread:p01.01;');
    client.write('\x03');
    expect(await client.packet()).toBe('T02thread:p01.01;');
  });
});

describe('GDB server: monitor', () => {
  it('sends monitor output as O packets then OK, errors as O then E01', async () => {
    const { client, target } = await start({}, { maxPacketBytes: 0x400 });
    await handshake(client, SUPPORTED.replace('PacketSize=4000', 'PacketSize=400'));
    expect(await client.request(`qRcmd,${hexText('hello')}`)).toBe(`O${hexText('hello from the fake target\n')}`);
    expect(await client.packet()).toBe('OK');
    expect(await client.request(`qRcmd,${hexText('bogus')}`)).toBe(`O${hexText('unknown monitor command "bogus"\n')}`);
    expect(await client.packet()).toBe('E01');
    let text = '';
    let packets = 0;
    let reply = await client.request(`qRcmd,${hexText('big')}`);
    for (; reply !== 'OK' && reply.startsWith('O'); reply = await client.packet()) {
      expect(reply.length).toBeLessThanOrEqual(0x400);
      text += Buffer.from(reply.slice(1), 'hex').toString();
      packets++;
    }
    expect(reply).toBe('OK');
    expect(text).toBe('x'.repeat(50_000));
    expect(packets).toBeGreaterThan(1);
    expect(target.monitorCommands).toEqual(['hello', 'bogus', 'big']);
  });

  it('lets 0x03 abort a running monitor command', async () => {
    const { client } = await start();
    await handshake(client);
    client.write(frame(`qRcmd,${hexText('wait')}`));
    expect(await client.silentFor(50)).toBe(true);
    client.write('\x03');
    expect(await client.packet()).toBe(`O${hexText('interrupted\n')}`);
    expect(await client.packet()).toBe('OK');
  });
});

describe('GDB server: robustness', () => {
  it('survives garbage, bad checksums, truncated and oversized packets and malformed requests', async () => {
    const { client, log } = await start({}, { maxPacketBytes: 0x400 });
    client.write('garbage\r\n\x00\xff');
    expect(await client.request('qC')).toBe('QC01');
    client.write('$qC#00');
    expect(await client.next()).toEqual({ ack: '-' });
    expect(await client.request('?')).toBe('T02thread:01;');
    client.write('$m80000000,4$m80000');
    expect(await client.request('m80000000,2')).toBe('0001');
    client.write(frame(`M80000000,400:${'00'.repeat(0x400)}`));
    expect(await client.next()).toEqual({ ack: '+' });
    expect(await client.packet()).toBe('E01');
    expect(await client.request('m80000000,2')).toBe('0001');
    for (const bad of ['mzz,4', 'm80000000', 'Pq', 'Hgx', 'vCont;t:1', 'qRcmd,zz', 'X0,5:ab', 'Z0,80000000']) {
      expect(await client.request(bad), bad).toBe('E01');
    }
    expect(await client.request('qC')).toBe('QC01');
    expect(log.some((l) => l.includes('bad checksum'))).toBe(true);
    expect(log.some((l) => l.includes('longer than 1024 bytes'))).toBe(true);
  });

  it('turns exceptions from the target into E01 and keeps serving', async () => {
    const { client, target, log } = await start();
    await handshake(client);
    target.throwNext = 'register file on fire';
    expect(await client.request('g')).toBe('E01');
    target.throwNext = 'memory on fire';
    expect(await client.request('m80000000,4')).toBe('E01');
    target.throwNext = 'cannot resume';
    expect(await client.request('vCont;c')).toBe(`O${hexText('cannot resume\n')}`);
    expect(await client.packet()).toBe('E01');
    expect(await client.request('m80000000,1')).toBe('00');
    expect(log.filter((l) => l.includes('on fire'))).toHaveLength(2);
  });

  it('aborts the resume of a client that vanished, detaches and accepts the next client', async () => {
    const { client, target, port } = await start();
    await handshake(client);
    let started = false;
    target.onResume = () => { started = true; };
    target.hangUntilAborted = true;
    client.write(frame('vCont;c'));
    await until(() => started, 'the resume to start');
    client.destroy();
    await until(() => target.detachCount === 1, 'detach');
    expect(target.lastStop()).toEqual({ kind: 'interrupted', hart: 0 });
    target.hangUntilAborted = false;
    const next = await connectClient(port);
    await handshake(next);
    expect(await next.request('m80000000,2')).toBe('0001');
  });

  it('serves a client that reconnects at once after vanishing mid-resume (its end-of-stream and the new connection arrive together)', async () => {
    for (let round = 0; round < 5; round++) {
      const { client, target, port, server } = await start();
      await handshake(client);
      let started = false;
      target.onResume = () => { started = true; };
      target.hangUntilAborted = true;
      client.write(frame('vCont;c'));
      await until(() => started, 'the resume to start');
      client.destroy();
      const next = await connectClient(port); // no wait: the server may see this before the old client's end
      target.hangUntilAborted = false;
      expect(await next.request('qSupported:multiprocess+')).toContain('PacketSize=');
      expect(target.detachCount).toBe(1);
      next.destroy();
      await server.close();
    }
  });

  it('rejects a second simultaneous client and keeps the first', async () => {
    // The server looks at the newcomer again every 20 ms for 3 s (a reconnecting client?): that
    // must not pile listeners onto its socket (it added one a look: MaxListenersExceededWarning).
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const { client, port, target } = await start();
      await handshake(client);
      const second = await connectClient(port);
      await second.closed;
      expect(await client.request('qC')).toBe('QCp01.01');
      expect(target.detachCount).toBe(0);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('detaches on D, keeps the target state and serves the next client', async () => {
    const { client, port, target } = await start();
    await handshake(client);
    expect(await client.request('Hgp1.2')).toBe('OK');
    expect(await client.request(`Pa=${le64(42n)}`)).toBe('OK');
    expect(await client.request('D;1')).toBe('OK');
    await client.closed;
    await until(() => target.detachCount === 1, 'detach');
    const next = await connectClient(port);
    await handshake(next);
    expect(await next.request('Hgp1.2')).toBe('OK');
    expect(await next.request('pa')).toBe(le64(42n));
    expect(target.killCount).toBe(0);
  });

  it('ends on k and on vKill', async () => {
    const k = await start();
    await handshake(k.client);
    k.client.write(frame('k'));
    expect(await k.server.finished).toBe('killed');
    expect(k.target.killCount).toBe(1);
    expect(k.target.detachCount).toBe(0);
    await expect(connectClient(k.port)).rejects.toThrow();

    const v = await start();
    await handshake(v.client);
    expect(await v.client.request('vKill;1')).toBe('OK');
    expect(await v.server.finished).toBe('killed');
    expect(v.target.killCount).toBe(1);
  });

  it('finishes with "closed" on close() and listens on 127.0.0.1 only', async () => {
    const { server, client, target } = await start();
    await handshake(client);
    await server.close();
    expect(await server.finished).toBe('closed');
    await client.closed;
    expect(target.detachCount).toBe(1);
    expect(() => new GdbServer(target, { port: 0, host: '0.0.0.0' })).toThrow(/127\.0\.0\.1/);
  });

  it('does not crash when the raw socket sends a checksum-valid packet and disappears', async () => {
    const { port, target } = await start();
    // A second raw socket after the first one goes away: the request is handled or dropped, never thrown.
    clients.splice(0).forEach((c) => c.destroy());
    await until(() => target.detachCount === 1, 'detach');
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end(`$g#${checksum('g')}`);
        socket.on('close', () => resolve());
        socket.resume();
      });
    });
    await until(() => target.detachCount === 2, 'second detach');
  });
});
