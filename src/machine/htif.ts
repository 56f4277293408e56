import { Bus } from './bus.js';

/**
 * Berkeley HTIF as used by riscv-tests-style programs: the guest writes a command to `tohost`
 * (found through the ELF symbol). Device 0 command 0 with bit 0 set ends the program with exit
 * code payload >> 1 (1 means pass); device 1 command 1 prints a character.
 */
export class Htif {
  constructor(private readonly bus: Bus, private readonly tohost: number, private readonly fromhost: number | null, private readonly emitConsole: (byte: number) => void,
    private readonly onExit: (code: number) => void) {}

  /** Called after every store to the tohost page. */
  onStore(pa: number, size: number): void {
    if (pa + size <= this.tohost || pa >= this.tohost + 8) return;
    const off = this.bus.ramOffset(this.tohost);
    const value = Atomics.load(this.bus.i64, off >> 3);
    if (value === 0n) return;
    const device = Number((BigInt.asUintN(64, value) >> 56n) & 0xffn);
    const command = Number((value >> 48n) & 0xffn);
    const payload = value & ((1n << 48n) - 1n);
    if (device === 0 && command === 0 && (payload & 1n)) {
      this.onExit(Number(payload >> 1n));
    } else if (device === 1 && command === 1) {
      this.emitConsole(Number(payload & 0xffn));
    }
    Atomics.store(this.bus.i64, off >> 3, 0n);
    if (device === 1 && this.fromhost !== null) {
      const ack = (BigInt(device) << 56n) | (BigInt(command) << 48n);
      Atomics.store(this.bus.i64, this.bus.ramOffset(this.fromhost) >> 3, ack);
    }
  }
}
