import { describe, expect, it } from 'vitest';
import { consoleInRing, consoleOutRing } from '../../src/shm/byte-ring.js';
import { CTRL_BASE, Ctrl } from '../../src/shm/layout.js';
import { Uart } from '../../src/machine/uart.js';
import { fakeEnv, FakeIrqSink } from './fake-machine.js';

const IRQ = 10;

function setup() {
  const env = fakeEnv(1);
  const irq = new FakeIrqSink();
  const uart = new Uart(env, irq);
  const rd = (offset: number) => Number(uart.read(offset, 1, 0));
  const wr = (offset: number, value: number) => uart.write(offset, 1, BigInt(value), 0);
  return { env, irq, uart, rd, wr };
}

describe('UART (NS16550A)', () => {
  it('sends THR bytes to the console-out ring and bumps the console sequence', () => {
    const { env, rd, wr } = setup();
    const seq = new Int32Array(env.memory, CTRL_BASE, 8);
    for (const ch of 'hi\n') wr(0, ch.charCodeAt(0));
    expect(new TextDecoder().decode(consoleOutRing(env.memory).drain())).toBe('hi\n');
    expect(Atomics.load(seq, Ctrl.ConsoleSeq)).toBe(3);
    expect(rd(5)).toBe(0x60); // THRE | TEMT, no data
    expect(rd(6)).toBe(0xb0);
  });

  it('maps DLL/DLM behind DLAB and keeps LCR, MCR and SCR', () => {
    const { env, rd, wr } = setup();
    wr(3, 0x83);
    wr(0, 0x12);
    wr(1, 0x34);
    expect(rd(0)).toBe(0x12);
    expect(rd(1)).toBe(0x34);
    wr(3, 0x03);
    expect(rd(3)).toBe(0x03);
    expect(rd(1)).toBe(0); // IER untouched by the divisor writes
    expect(consoleOutRing(env.memory).available()).toBe(0);
    wr(7, 0xa5);
    expect(rd(7)).toBe(0xa5);
    wr(4, 0x0b);
    expect(rd(4)).toBe(0x0b);
  });

  it('raises and acknowledges the THR-empty interrupt like a 16550', () => {
    const { irq, rd, wr } = setup();
    wr(2, 0x07); // enable FIFOs
    expect(rd(2)).toBe(0xc1);
    wr(1, 0x02); // ETBEI while THR is empty: interrupt pending
    expect(irq.level(IRQ)).toBe(true);
    expect(rd(2)).toBe(0xc2); // reading IIR acknowledges it
    expect(irq.level(IRQ)).toBe(false);
    expect(rd(2)).toBe(0xc1);
    wr(0, 0x41); // transmitting empties THR again
    expect(irq.level(IRQ)).toBe(true);
    wr(1, 0x00);
    expect(irq.level(IRQ)).toBe(false);
  });

  it('reports received input through LSR.DR, IIR and the interrupt line', () => {
    const { env, irq, uart, rd, wr } = setup();
    wr(1, 0x01); // ERBFI
    const input = consoleInRing(env.memory);
    input.push(0x61);
    input.push(0x62);
    expect(irq.level(IRQ)).toBe(false); // not until the main thread polls
    const lock = new Int32Array(env.memory, uart.stateOffset, 1);
    lock[0] = 1; // a hart is inside the UART: polling must not wait for it
    expect(uart.pollInput()).toBe(false);
    lock[0] = 0;
    expect(uart.pollInput()).toBe(true);
    expect(irq.level(IRQ)).toBe(true);
    expect(rd(5) & 1).toBe(1);
    expect(rd(2)).toBe(0x04); // FIFOs not enabled: bits 7:6 clear
    expect(rd(0)).toBe(0x61);
    expect(irq.level(IRQ)).toBe(true);
    expect(rd(0)).toBe(0x62);
    expect(irq.level(IRQ)).toBe(false);
    expect(rd(5) & 1).toBe(0);
    expect(rd(2)).toBe(0x01);
  });

  it('gives receive data priority over THR empty', () => {
    const { env, uart, rd, wr } = setup();
    wr(2, 0x01);
    wr(1, 0x03);
    consoleInRing(env.memory).push(0x7a);
    uart.pollInput();
    expect(rd(2)).toBe(0xc4);
    expect(rd(0)).toBe(0x7a);
    expect(rd(2)).toBe(0xc2);
  });

  it('tells the PLIC nothing while its line stays low', () => {
    const { irq, wr } = setup();
    for (let i = 0; i < 10; i++) wr(0, 0x2e);
    expect(irq.calls).toBe(0);
  });

  it('asserts its line again on every byte while a THR-empty interrupt is unacknowledged (QEMU; xv6 never reads IIR)', () => {
    const { irq, wr } = setup();
    wr(1, 0x02); // ETBEI: THR-empty pending, line up
    expect(irq.level(IRQ)).toBe(true);
    const before = irq.calls;
    for (let i = 0; i < 3; i++) wr(0, 0x2e);
    expect(irq.calls).toBe(before + 3);
    expect(irq.level(IRQ)).toBe(true);
    wr(1, 0x00);
    expect(irq.level(IRQ)).toBe(false);
    wr(1, 0x00); // already low: not reported again
    expect(irq.calls).toBe(before + 4);
  });
});
