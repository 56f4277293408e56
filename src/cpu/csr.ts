import { Csr, DELEGABLE_EXCEPTIONS, FS_DIRTY, FS_OFF, MENVCFG_FIOM, MENVCFG_STCE, MIP, MSTATUS, MSTATUS_FIXED, MSTATUS_WRITABLE, PMP_ENTRIES, Priv, S_INTERRUPTS, SSTATUS_VISIBLE, SSTATUS_WRITABLE, Slot } from './csr-numbers.js';
import { type CpuFeatures, misaFor } from './features.js';

/**
 * One entry per implemented CSR, keyed by number: the executor, the debugger's register list and
 * the tests all read this table. Privilege and read-only checks come from the number itself
 * (bits 9:8 = lowest privilege, bits 11:10 = 3 means read-only); `allowed` adds CSR-specific
 * conditions (counter enables, TVM). A CSR that is not in the table traps as illegal.
 */
/**
 * What the CSR table needs of a hart (cpu/hart.ts implements it). An interface rather than the
 * Hart class, so the table and the hart do not import each other.
 */
export interface CsrHart {
  readonly csr: BigInt64Array;
  readonly id: number;
  readonly priv: Priv;
  readonly icount: number;
  readonly mmu: { flush(): void };
  readonly features: Readonly<CpuFeatures>;
  timeSource(): bigint;
  mip(): number;
  cycle(): bigint;
  instret(): bigint;
  writeMstatus(value: bigint): void;
  /** Recomputes the Sstc timer line and deadline after a stimecmp write. */
  updateSupervisorTimer(): void;
}

export interface CsrDef {
  name: string;
  read(h: CsrHart): bigint;
  /** Absent for read-only CSRs. Receives the full 64-bit value to write (WARL legalisation is the CSR's job). */
  write?(h: CsrHart, value: bigint): void;
  /**
   * The value CSRRS/CSRRC set or clear bits in, when it differs from what a read returns (mip/sip:
   * a read ORs the PLIC's SEIP line into the software-writable SEIP bit, but the privileged spec
   * has the read-modify-write use only the software bit; otherwise a `csrs mip, STIP` while the
   * line is high would latch SEIP in software for ever). Absent: the read value.
   */
  rmwBase?(h: CsrHart): bigint;
  allowed?(h: CsrHart): boolean;
  /** A plain slot with a write mask (`stored`): what compiled code needs to access it (isa/ext/zicsr.ts). */
  stored?: { slot: Slot; mask: bigint };
}

const U32 = 0xffffffffn;

/** Writes only the `mask` bits of a CSR slot (WARL fields: the other bits keep their value). */
function writeMasked(h: CsrHart, slot: Slot, mask: bigint, value: bigint): void {
  h.csr[slot] = BigInt.asIntN(64, (h.csr[slot] & ~mask) | (value & mask));
}

function stored(name: string, slot: Slot, mask = -1n): CsrDef {
  return { name, read: (h) => h.csr[slot], write: (h, v) => writeMasked(h, slot, mask, v), stored: { slot, mask } };
}

function constant(name: string, value: bigint): CsrDef {
  return { name, read: () => value };
}

/** cycle/time/instret and hpmcounters from S/U: gated by mcounteren (and scounteren for U). */
function counterAllowed(bit: number) {
  return (h: CsrHart): boolean => {
    if (h.priv === Priv.M) return true;
    if (!((h.csr[Slot.mcounteren] >> BigInt(bit)) & 1n)) return false;
    return h.priv === Priv.S || ((h.csr[Slot.scounteren] >> BigInt(bit)) & 1n) === 1n;
  };
}

/**
 * stimecmp (Sstc): absent without the extension; below M it needs menvcfg.STCE and mcounteren.TM
 * (the Sstc spec's two illegal-instruction conditions).
 */
function stimecmpAllowed(h: CsrHart): boolean {
  if (!h.features.sstc) return false;
  if (h.priv === Priv.M) return true;
  return (h.csr[Slot.menvcfg] & MENVCFG_STCE) !== 0n && (h.csr[Slot.mcounteren] & 2n) !== 0n;
}

/** Sstc with menvcfg.STCE = 1: STIP follows time >= stimecmp. */
export function stimecmpDrivesStip(h: Pick<CsrHart, 'features' | 'csr'>): boolean {
  return h.features.sstc && (h.csr[Slot.menvcfg] & MENVCFG_STCE) !== 0n;
}

const notTrappedByTvm = (h: CsrHart): boolean => !(h.priv === Priv.S && (h.csr[Slot.mstatus] & MSTATUS.TVM));

/** mstatus.FS is writable exactly when the hart has F (it is read-only zero otherwise). */
const fsWritable = (h: CsrHart): bigint => (h.features.f ? MSTATUS.FS : 0n);

/** mstatus as read: SD summarises FS (XS is always 0, VS absent). */
function withSd(status: bigint): bigint {
  return (status & MSTATUS.FS) === FS_DIRTY ? status | MSTATUS.SD : status & ~MSTATUS.SD;
}

/** The F/D CSRs exist when the hart has F, and trap like any FP instruction while mstatus.FS is Off. */
const fpAllowed = (h: CsrHart): boolean => h.features.f && (h.csr[Slot.mstatus] & MSTATUS.FS) !== FS_OFF;

/** Writes the FP CSR bits `mask` of fcsr; any write makes the FP state Dirty. */
function writeFcsr(h: CsrHart, mask: bigint, value: bigint): void {
  writeMasked(h, Slot.fcsr, mask, value);
  h.csr[Slot.mstatus] |= FS_DIRTY;
}

function legalizeMstatus(old: bigint, v: bigint, h: CsrHart): bigint {
  const writable = MSTATUS_WRITABLE | fsWritable(h);
  let next = (old & ~writable) | (v & writable);
  if (((next & MSTATUS.MPP) >> 11n) === 2n) next = (next & ~MSTATUS.MPP) | (old & MSTATUS.MPP); // MPP=2 is reserved
  return next | MSTATUS_FIXED;
}

function legalizeTvec(v: bigint): bigint {
  const mode = v & 3n;
  return BigInt.asIntN(64, (v & ~3n) | (mode === 1n ? 1n : 0n));
}

export function buildCsrTable(): Map<number, CsrDef> {
  const t = new Map<number, CsrDef>();
  const add = (num: number, def: CsrDef) => t.set(num, def);

  // Floating point (F/D): fflags = fcsr[4:0], frm = fcsr[7:5]
  add(Csr.fflags, { name: 'fflags', read: (h) => h.csr[Slot.fcsr] & 0x1fn, write: (h, v) => writeFcsr(h, 0x1fn, v), allowed: fpAllowed });
  add(Csr.frm, { name: 'frm', read: (h) => (h.csr[Slot.fcsr] >> 5n) & 7n, write: (h, v) => writeFcsr(h, 0xe0n, v << 5n), allowed: fpAllowed });
  add(Csr.fcsr, { name: 'fcsr', read: (h) => h.csr[Slot.fcsr] & 0xffn, write: (h, v) => writeFcsr(h, 0xffn, v), allowed: fpAllowed });

  // Unprivileged counters
  add(Csr.cycle, { name: 'cycle', read: (h) => h.cycle(), allowed: counterAllowed(0) });
  add(Csr.time, { name: 'time', read: (h) => h.timeSource(), allowed: counterAllowed(1) });
  add(Csr.instret, { name: 'instret', read: (h) => h.instret(), allowed: counterAllowed(2) });
  for (let i = 3; i <= 31; i++) add(Csr.hpmcounter3 + i - 3, { name: `hpmcounter${i}`, read: () => 0n, allowed: counterAllowed(i) });

  // Supervisor
  add(Csr.sstatus, {
    name: 'sstatus',
    read: (h) => withSd(h.csr[Slot.mstatus]) & SSTATUS_VISIBLE,
    write: (h, v) => {
      const writable = SSTATUS_WRITABLE | fsWritable(h);
      h.writeMstatus((h.csr[Slot.mstatus] & ~writable) | (v & writable));
    },
  });
  add(Csr.sie, {
    name: 'sie',
    read: (h) => h.csr[Slot.mie] & h.csr[Slot.mideleg],
    write: (h, v) => writeMasked(h, Slot.mie, h.csr[Slot.mideleg] & BigInt(S_INTERRUPTS), v),
  });
  add(Csr.stvec, { name: 'stvec', read: (h) => h.csr[Slot.stvec], write: (h, v) => { h.csr[Slot.stvec] = legalizeTvec(v); } });
  add(Csr.scounteren, stored('scounteren', Slot.scounteren, U32));
  add(Csr.senvcfg, stored('senvcfg', Slot.senvcfg, 1n));
  add(Csr.sscratch, stored('sscratch', Slot.sscratch));
  add(Csr.sepc, stored('sepc', Slot.sepc, ~1n));
  add(Csr.scause, stored('scause', Slot.scause));
  add(Csr.stval, stored('stval', Slot.stval));
  add(Csr.sip, {
    name: 'sip',
    read: (h) => BigInt(h.mip()) & h.csr[Slot.mideleg],
    write: (h, v) => writeMasked(h, Slot.mipSoftware, h.csr[Slot.mideleg] & BigInt(MIP.SSIP), v),
    rmwBase: (h) => h.csr[Slot.mipSoftware] & h.csr[Slot.mideleg],
  });
  add(Csr.stimecmp, {
    name: 'stimecmp',
    read: (h) => h.csr[Slot.stimecmp],
    write: (h, v) => { h.csr[Slot.stimecmp] = v; h.updateSupervisorTimer(); },
    allowed: stimecmpAllowed,
  });
  add(Csr.satp, {
    name: 'satp',
    read: (h) => h.csr[Slot.satp],
    write: (h, v) => {
      const mode = BigInt.asUintN(64, v) >> 60n;
      if (mode !== 0n && mode !== 8n && mode !== 9n) return; // unsupported mode: the write has no effect
      const asidAndPpn = (0xffffn << 44n) | ((1n << 44n) - 1n);
      h.csr[Slot.satp] = BigInt.asIntN(64, (mode << 60n) | (v & asidAndPpn));
      h.mmu.flush();
    },
    allowed: notTrappedByTvm,
  });

  // Machine information
  add(Csr.mvendorid, constant('mvendorid', 0n));
  add(Csr.marchid, constant('marchid', 0n));
  add(Csr.mimpid, constant('mimpid', 0n));
  add(Csr.mhartid, { name: 'mhartid', read: (h) => BigInt(h.id) });
  add(Csr.mconfigptr, constant('mconfigptr', 0n));

  // Machine trap setup and handling
  add(Csr.mstatus, { name: 'mstatus', read: (h) => withSd(h.csr[Slot.mstatus]), write: (h, v) => h.writeMstatus(legalizeMstatus(h.csr[Slot.mstatus], v, h)) });
  add(Csr.misa, { name: 'misa', read: (h) => misaFor(h.features), write: () => {} });
  add(Csr.medeleg, stored('medeleg', Slot.medeleg, DELEGABLE_EXCEPTIONS));
  add(Csr.mideleg, stored('mideleg', Slot.mideleg, BigInt(S_INTERRUPTS)));
  add(Csr.mie, stored('mie', Slot.mie, BigInt(S_INTERRUPTS | MIP.MSIP | MIP.MTIP | MIP.MEIP)));
  add(Csr.mtvec, { name: 'mtvec', read: (h) => h.csr[Slot.mtvec], write: (h, v) => { h.csr[Slot.mtvec] = legalizeTvec(v); } });
  add(Csr.mcounteren, stored('mcounteren', Slot.mcounteren, U32));
  add(Csr.menvcfg, {
    name: 'menvcfg',
    read: (h) => h.csr[Slot.menvcfg],
    write: (h, v) => writeMasked(h, Slot.menvcfg, MENVCFG_FIOM | (h.features.sstc ? MENVCFG_STCE : 0n), v),
  });
  add(Csr.mcountinhibit, stored('mcountinhibit', Slot.mcountinhibit, 0n)); // counters always run: inhibit bits read as 0
  for (let i = 3; i <= 31; i++) add(Csr.mhpmevent3 + i - 3, { name: `mhpmevent${i}`, read: () => 0n, write: () => {} });
  add(Csr.mscratch, stored('mscratch', Slot.mscratch));
  add(Csr.mepc, stored('mepc', Slot.mepc, ~1n));
  add(Csr.mcause, stored('mcause', Slot.mcause));
  add(Csr.mtval, stored('mtval', Slot.mtval));
  add(Csr.mip, {
    name: 'mip',
    read: (h) => BigInt(h.mip()),
    // With Sstc's STCE set, STIP is stimecmp's comparator, not writable by M software.
    write: (h, v) => writeMasked(h, Slot.mipSoftware, BigInt(S_INTERRUPTS & ~(stimecmpDrivesStip(h) ? MIP.STIP : 0)), v),
    rmwBase: (h) => h.csr[Slot.mipSoftware],
  });

  // Physical memory protection: accepted and stored, not enforced (16 entries, as QEMU 7.2).
  for (let i = 0; i < PMP_ENTRIES / 8; i++) add(Csr.pmpcfg0 + 2 * i, stored(`pmpcfg${2 * i}`, Slot.pmpcfg0 + i));
  for (let i = 0; i < PMP_ENTRIES; i++) add(Csr.pmpaddr0 + i, stored(`pmpaddr${i}`, Slot.pmpaddr0 + i, (1n << 54n) - 1n));

  // Machine counters
  add(Csr.mcycle, { name: 'mcycle', read: (h) => h.cycle(), write: (h, v) => { h.csr[Slot.cycleOffset] = BigInt.asIntN(64, v - BigInt(h.icount) - 1n); } });
  add(Csr.minstret, { name: 'minstret', read: (h) => h.instret(), write: (h, v) => { h.csr[Slot.instretOffset] = BigInt.asIntN(64, v - BigInt(h.icount) - 1n); } });
  for (let i = 3; i <= 31; i++) add(Csr.mhpmcounter3 + i - 3, { name: `mhpmcounter${i}`, read: () => 0n, write: () => {} });
  return t;
}

export const CSR_TABLE: ReadonlyMap<number, CsrDef> = buildCsrTable();
