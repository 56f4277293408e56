import { describe, expect, it } from 'vitest';
import { capabilitiesOf, clientFeatures, supportedReply } from '../../gdbstub/capabilities.js';
import { consolePackets, formatStopReply } from '../../gdbstub/stop-reply.js';
import { DebugTarget, FIRST_CSR_REGNUM, REG_PRIV } from '../../gdbstub/target.js';
import { targetXml } from '../../gdbstub/target-xml.js';
import { FakeTarget } from '../support/fake-target.js';

const GDB13 = clientFeatures(['multiprocess+', 'swbreak+', 'hwbreak+', 'vContSupported+']);
const OLD = clientFeatures([]);

describe('GDB stop replies', () => {
  it('names the thread in multiprocess syntax and marks breakpoints with swbreak when offered', () => {
    expect(formatStopReply({ kind: 'step', hart: 0 }, GDB13)).toEqual({ reply: 'T05thread:p01.01;' });
    expect(formatStopReply({ kind: 'breakpoint', hart: 2 }, GDB13)).toEqual({ reply: 'T05thread:p01.03;swbreak:;' });
    expect(formatStopReply({ kind: 'breakpoint', hart: 2 }, OLD)).toEqual({ reply: 'T05thread:03;' });
    expect(formatStopReply({ kind: 'interrupted', hart: 1 }, GDB13)).toEqual({ reply: 'T02thread:p01.02;' });
  });

  it('reports watchpoints, history ends, exits and errors', () => {
    expect(formatStopReply({ kind: 'watch', hart: 0, access: 'write', addr: 0x80001000n }, GDB13).reply).toBe('T05thread:p01.01;watch:80001000;');
    expect(formatStopReply({ kind: 'watch', hart: 0, access: 'read', addr: 0x10n }, GDB13).reply).toBe('T05thread:p01.01;rwatch:10;');
    expect(formatStopReply({ kind: 'watch', hart: 0, access: 'access', addr: 0x10n }, GDB13).reply).toBe('T05thread:p01.01;awatch:10;');
    expect(formatStopReply({ kind: 'history-begin', hart: 0 }, GDB13).reply).toBe('T05thread:p01.01;replaylog:begin;');
    expect(formatStopReply({ kind: 'history-end', hart: 1 }, GDB13).reply).toBe('T05thread:p01.02;replaylog:end;');
    expect(formatStopReply({ kind: 'exited', code: 3 }, GDB13)).toEqual({ reply: 'W03' });
    expect(formatStopReply({ kind: 'error', hart: 0, message: 'left the recording' }, GDB13)).toEqual({ console: 'left the recording\n', reply: 'T05thread:p01.01;' });
  });

  it('splits console output into O packets no longer than the packet size', () => {
    expect(consolePackets('hi\n', 0x4000)).toEqual(['O68690a']);
    const packets = consolePackets('a'.repeat(100), 41);
    expect(packets).toHaveLength(5);
    expect(packets.every((p) => p.length <= 41)).toBe(true);
    expect(packets.join('').replace(/O/g, '')).toBe('61'.repeat(100));
  });
});

describe('qSupported', () => {
  it('advertises reverse execution exactly when the target has the reverse capability', () => {
    const forward = supportedReply(capabilitiesOf(new FakeTarget({ reversible: false })), 0x4000);
    expect(forward).toBe('PacketSize=4000;qXfer:features:read+;vContSupported+;multiprocess+;swbreak+;hwbreak+;QStartNoAckMode+');
    const reverse = supportedReply(capabilitiesOf(new FakeTarget({ reversible: true })), 0x1000);
    expect(reverse).toBe('PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+;swbreak+;hwbreak+;QStartNoAckMode+;ReverseStep+;ReverseContinue+');
    const replay = new FakeTarget({ reversible: true });
    expect(capabilitiesOf(replay).reverse).toBe(replay.reverse);
    const withoutReverse = { ...new FakeTarget({ reversible: true }), reverse: undefined } as unknown as DebugTarget;
    expect(capabilitiesOf(withoutReverse)).toEqual({ reverse: null });
    expect(supportedReply(capabilitiesOf(withoutReverse), 0x4000)).toBe(forward);
  });
});

describe('target.xml', () => {
  const xml = targetXml({ csrs: [{ num: 0x300, name: 'mstatus' }, { num: 0x7b1, name: 'dpc' }] });

  it('declares rv64 with the cpu, csr and virtual features and no fpu', () => {
    expect(xml).toContain('<architecture>riscv:rv64</architecture>');
    expect(xml).toContain('<feature name="org.gnu.gdb.riscv.cpu">');
    expect(xml).toContain('<feature name="org.gnu.gdb.riscv.csr">');
    expect(xml).toContain('<feature name="org.gnu.gdb.riscv.virtual">');
    expect(xml).not.toContain('fpu');
  });

  it('numbers x0..x31 by ABI name, pc as 32, CSRs as 65+num and priv as one byte', () => {
    const regs = [...xml.matchAll(/<reg name="([^"]+)" bitsize="(\d+)" regnum="(\d+)"/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    expect(regs.slice(0, 33).map((r) => r[0]).join(' ')).toBe(
      'zero ra sp gp tp t0 t1 t2 fp s1 a0 a1 a2 a3 a4 a5 a6 a7 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 t3 t4 t5 t6 pc',
    );
    expect(regs.slice(0, 33).every(([, bits, regnum], i) => bits === 64 && regnum === i)).toBe(true);
    expect(regs.slice(33)).toEqual([['mstatus', 64, FIRST_CSR_REGNUM + 0x300], ['dpc', 64, FIRST_CSR_REGNUM + 0x7b1], ['priv', 8, REG_PRIV]]);
    expect(xml).toContain('<reg name="pc" bitsize="64" regnum="32" type="code_ptr"/>');
    expect(xml).toContain('<reg name="sp" bitsize="64" regnum="2" type="data_ptr"/>');
    expect(xml).toContain('<reg name="mstatus" bitsize="64" regnum="833" group="csr"/>');
  });
});
