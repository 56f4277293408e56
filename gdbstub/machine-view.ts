import { Csr, Priv } from '../src/cpu/csr-numbers.js';
import { CSR_TABLE } from '../src/cpu/csr.js';
import { Hart } from '../src/cpu/hart.js';
import { Access } from '../src/cpu/mmu.js';
import { Bus, PAGE_SIZE } from '../src/machine/bus.js';
import { FIRST_CSR_REGNUM, FIRST_FREG, REG_PC, REG_PRIV } from './target.js';

/** CSRs whose read has side effects or depends on the host clock (time comes from the trace). */
const UNREADABLE_CSRS = new Set<number>([Csr.time]);

/**
 * Registers and memory of a stopped machine as GDB sees them: x0..x31, pc, the CSRs of the CSR
 * table, `priv`; memory through each hart's own translation, without side effects (no A/D
 * updates, no device reads). The base of every machine debug target (machine-target.ts).
 */
export class MachineView {
  readonly csrs: ReadonlyArray<{ num: number; name: string }> = [...CSR_TABLE].map(([num, def]) => ({ num, name: def.name }));

  /** The harts have F and D (GDB's fpu feature describes 64-bit f registers). */
  readonly fpu: boolean;

  constructor(private readonly harts: Hart[], private readonly bus: Bus) {
    this.fpu = harts.length > 0 && harts[0].features.f && harts[0].features.d;
  }

  readRegister(hart: number, regnum: number): bigint | null {
    const h = this.harts[hart];
    if (regnum >= 0 && regnum < 32) return BigInt.asUintN(64, h.x[regnum]);
    if (regnum === REG_PC) return BigInt.asUintN(64, h.pc);
    if (this.fpu && regnum >= FIRST_FREG && regnum < FIRST_FREG + 32) return BigInt.asUintN(64, h.f[regnum - FIRST_FREG]);
    if (regnum === REG_PRIV) return BigInt(h.priv);
    const def = CSR_TABLE.get(regnum - FIRST_CSR_REGNUM);
    if (!def || UNREADABLE_CSRS.has(regnum - FIRST_CSR_REGNUM)) return null;
    return BigInt.asUintN(64, def.read(h));
  }

  writeRegister(hart: number, regnum: number, value: bigint): boolean {
    const h = this.harts[hart];
    if (regnum >= 0 && regnum < 32) {
      if (regnum !== 0) h.x[regnum] = BigInt.asIntN(64, value);
      return true;
    }
    if (regnum === REG_PC) {
      h.pc = BigInt.asIntN(64, value);
      return true;
    }
    if (this.fpu && regnum >= FIRST_FREG && regnum < FIRST_FREG + 32) {
      h.f[regnum - FIRST_FREG] = BigInt.asIntN(64, value);
      return true;
    }
    if (regnum === REG_PRIV) {
      if (value !== 0n && value !== 1n && value !== 3n) return false;
      h.priv = Number(value) as Priv;
      h.mmu.flush();
      return true;
    }
    const def = CSR_TABLE.get(regnum - FIRST_CSR_REGNUM);
    if (!def?.write) return false;
    def.write(h, BigInt.asIntN(64, value));
    h.refreshInterruptMirrors();
    h.mmu.flush();
    return true;
  }

  readMemory(hart: number, addr: bigint, length: number): Uint8Array {
    const out: number[] = [];
    const h = this.harts[hart];
    while (out.length < length) {
      const va = BigInt.asIntN(64, addr + BigInt(out.length));
      const pa = h.mmu.peek(va, Access.Load);
      if (pa < 0) break;
      const chunk = Math.min(length - out.length, PAGE_SIZE - (pa % PAGE_SIZE));
      if (this.bus.isRam(pa)) {
        const off = this.bus.ramOffset(pa);
        const end = Math.min(chunk, this.bus.ramEnd - pa);
        for (let i = 0; i < end; i++) out.push(this.bus.u8[off + i]);
        if (end < chunk) break;
      } else if (this.bus.isExecutable(pa)) {
        let i = 0;
        for (; i < chunk && this.bus.isExecutable(pa + i); i++) out.push(Number(this.bus.read(pa + i, 1, -1)));
        if (i < chunk) break;
      } else {
        break; // device registers: reading them has side effects
      }
    }
    return Uint8Array.from(out);
  }

  writeMemory(hart: number, addr: bigint, data: Uint8Array): boolean {
    const h = this.harts[hart];
    const targets: number[] = [];
    for (let i = 0; i < data.length; i++) {
      const pa = h.mmu.peek(BigInt.asIntN(64, addr + BigInt(i)), Access.Load); // a debugger may patch read-only pages
      if (pa < 0 || !this.bus.isRam(pa)) return false;
      targets.push(pa);
    }
    targets.forEach((pa, i) => {
      this.bus.u8[this.bus.ramOffset(pa)] = data[i];
      this.bus.noteRamWrite(pa, 1); // translated code on the page is stale now; checkpoints see the page as changed
    });
    return true;
  }

  describeHart(hart: number): string {
    const h = this.harts[hart];
    const mode = h.priv === Priv.M ? 'M' : h.priv === Priv.S ? 'S' : 'U';
    return `hart ${hart}, ${mode}-mode, pc 0x${BigInt.asUintN(64, h.pc).toString(16)}, ${h.icount} instructions retired`;
  }
}
