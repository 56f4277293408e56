/** CSR numbers used by the emulator (privileged spec 1.12). */
export const enum Csr {
  fflags = 0x001, frm = 0x002, fcsr = 0x003,
  cycle = 0xc00, time = 0xc01, instret = 0xc02, hpmcounter3 = 0xc03, hpmcounter31 = 0xc1f,
  sstatus = 0x100, sie = 0x104, stvec = 0x105, scounteren = 0x106, senvcfg = 0x10a,
  sscratch = 0x140, sepc = 0x141, scause = 0x142, stval = 0x143, sip = 0x144, stimecmp = 0x14d, satp = 0x180,
  mvendorid = 0xf11, marchid = 0xf12, mimpid = 0xf13, mhartid = 0xf14, mconfigptr = 0xf15,
  mstatus = 0x300, misa = 0x301, medeleg = 0x302, mideleg = 0x303, mie = 0x304, mtvec = 0x305,
  mcounteren = 0x306, menvcfg = 0x30a, mcountinhibit = 0x320, mhpmevent3 = 0x323, mhpmevent31 = 0x33f,
  mscratch = 0x340, mepc = 0x341, mcause = 0x342, mtval = 0x343, mip = 0x344,
  pmpcfg0 = 0x3a0, pmpaddr0 = 0x3b0,
  mcycle = 0xb00, minstret = 0xb02, mhpmcounter3 = 0xb03, mhpmcounter31 = 0xb1f,
}

/** Storage slots (Int64 index into the hart block's CSR area; shm/layout.ts HartBlock.CSRS). */
export const enum Slot {
  mstatus, medeleg, mideleg, mie, mtvec, mcounteren, menvcfg, mcountinhibit, mscratch, mepc, mcause,
  mtval, mipSoftware, stvec, scounteren, senvcfg, sscratch, sepc, scause, stval, satp,
  /** minstret = icount + instretOffset; mcycle = icount + cycleOffset */
  instretOffset, cycleOffset,
  pmpcfg0, // 8 slots: pmpcfg0, 2, ..., 14 (RV64 has only even pmpcfg registers)
  pmpaddr0 = pmpcfg0 + 8, // 16 slots, as QEMU 7.2
  /** Sstc's supervisor timer compare */
  stimecmp = pmpaddr0 + 16,
  /** fcsr: frm in bits 7:5, fflags in bits 4:0 */
  fcsr = stimecmp + 1,
  count,
}

export const PMP_ENTRIES = 16;

/** mstatus fields */
export const MSTATUS = {
  SIE: 1n << 1n, MIE: 1n << 3n, SPIE: 1n << 5n, UBE: 1n << 6n, MPIE: 1n << 7n, SPP: 1n << 8n,
  MPP: 3n << 11n, FS: 3n << 13n, XS: 3n << 15n, MPRV: 1n << 17n, SUM: 1n << 18n, MXR: 1n << 19n,
  TVM: 1n << 20n, TW: 1n << 21n, TSR: 1n << 22n, UXL: 3n << 32n, SXL: 3n << 34n, SD: 1n << 63n,
} as const;

export const MSTATUS_WRITABLE = MSTATUS.SIE | MSTATUS.MIE | MSTATUS.SPIE | MSTATUS.MPIE | MSTATUS.SPP | MSTATUS.MPP |
  MSTATUS.MPRV | MSTATUS.SUM | MSTATUS.MXR | MSTATUS.TVM | MSTATUS.TW | MSTATUS.TSR;
export const SSTATUS_VISIBLE = MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.UBE | MSTATUS.SPP | MSTATUS.FS | MSTATUS.XS |
  MSTATUS.SUM | MSTATUS.MXR | MSTATUS.UXL | MSTATUS.SD;
export const SSTATUS_WRITABLE = MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.SUM | MSTATUS.MXR;
/** menvcfg.STCE (Sstc): stimecmp drives STIP and S-mode may access it. */
export const MENVCFG_STCE = 1n << 63n;
/** menvcfg.FIOM, the one other menvcfg bit implemented. */
export const MENVCFG_FIOM = 1n;

/** mstatus.FS values (the F/D state's context-switch status). */
export const FS_OFF = 0n;
export const FS_DIRTY = 3n << 13n;
/** UXL = SXL = 2 (64-bit), hard-wired. */
export const MSTATUS_FIXED = (2n << 32n) | (2n << 34n);

/** Interrupt bits */
export const MIP = {
  SSIP: 1 << 1, MSIP: 1 << 3, STIP: 1 << 5, MTIP: 1 << 7, SEIP: 1 << 9, MEIP: 1 << 11,
} as const;
export const S_INTERRUPTS = MIP.SSIP | MIP.STIP | MIP.SEIP;
export const ALL_INTERRUPTS = S_INTERRUPTS | MIP.MSIP | MIP.MTIP | MIP.MEIP;
/** Exceptions that medeleg can delegate (not ecall from M, not the reserved/unused ones). */
export const DELEGABLE_EXCEPTIONS = 0xb3ffn; // 0-9, 12, 13, 15 (QEMU's set)

export const enum Cause {
  InsnMisaligned = 0, InsnAccessFault = 1, IllegalInsn = 2, Breakpoint = 3, LoadMisaligned = 4,
  LoadAccessFault = 5, StoreMisaligned = 6, StoreAccessFault = 7, EcallU = 8, EcallS = 9, EcallM = 11,
  InsnPageFault = 12, LoadPageFault = 13, StorePageFault = 15,
}

export const enum Priv { U = 0, S = 1, M = 3 }
