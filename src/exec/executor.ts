import { Cause, Priv } from '../cpu/csr-numbers.js';
import { Hart } from '../cpu/hart.js';
import { Access, ACCESS_FAULT, NEEDS_OWNERSHIP } from '../cpu/mmu.js';
import { Op } from '../isa/ir.js';
import { Bus, PAGE_SIZE } from '../machine/bus.js';
import { RAM_BASE } from '../machine/memmap.js';
import { Block, straddlingInsnBlock, translateBlock } from './translate.js';

const asI = BigInt.asIntN;
const asU = BigInt.asUintN;

/** Why runBlock returned early. */
export const enum BlockExit { Normal, Wfi, NeedsOwnership }

/** Pseudo exception cause: the instruction needs an ownership right first; it is retried, not trapped. */
const OWNERSHIP_RETRY = 1000;

/**
 * The reference executor: runs translation blocks of IR records with plain TypeScript semantics.
 * Simple and exact; it is the oracle for faster tiers and the tier that can stop after exactly N
 * instructions. Memory accesses go through the hart's MMU; faults are values (hart.trapCause),
 * never exceptions.
 */
export class Executor {
  private readonly cache = new Map<number, Block>();
  private readonly fastOut = new Uint8Array(1);
  private readonly u8: Uint8Array;
  private readonly i8: Int8Array;
  private readonly i16: Int16Array;
  private readonly u16: Uint16Array;
  private readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  private readonly i64: BigInt64Array;
  private readonly ramDelta: number;
  /** Set when the last block ended in a WFI that should sleep until an interrupt. */
  lastExit = BlockExit.Normal;
  /** True when the last runBlock stopped only because its budget ran out, with instructions of the block left. */
  cutByBudget = false;
  /**
   * Debugger watchpoints: when set, every load/store/AMO skips the RAM fast path and reports its
   * virtual address here before the access happens (h.icount is then the accessing instruction's).
   */
  accessHook: ((va: bigint, size: number, write: boolean, read: boolean) => void) | null = null;
  /**
   * Run at most one guest block per `runBlock` call. The reference executor always does; a faster
   * tier (the JIT, which chains blocks inside a page) honours it by taking the reference path. The
   * debugger sets it where it must see every block boundary: on a page with a breakpoint.
   */
  singleBlock = false;

  constructor(private readonly h: Hart, private readonly bus: Bus) {
    const m = bus.memory;
    this.u8 = new Uint8Array(m);
    this.i8 = new Int8Array(m);
    this.i16 = new Int16Array(m);
    this.u16 = new Uint16Array(m);
    this.i32 = new Int32Array(m);
    this.u32 = new Uint32Array(m);
    this.i64 = new BigInt64Array(m);
    this.ramDelta = bus.ramOffset(0);
  }

  /** Forgets all translations (FENCE.I, or a debugger write into code). */
  flushTranslations(): void {
    this.cache.clear();
  }

  /** Raises the exception for a failed translation (or marks the instruction for retry). */
  private translationFailed(pa: number, va: bigint): void {
    if (pa === NEEDS_OWNERSHIP) this.h.raise(OWNERSHIP_RETRY as Cause, 0n);
    else this.h.raise(this.h.mmu.faultCause, va);
  }

  /** Looks up or translates the block at the hart's pc. Null after raising a fetch fault. */
  private fetchBlock(): Block | null {
    const h = this.h;
    const pa = h.mmu.translate(h.pc, Access.Fetch);
    if (pa < 0) {
      this.translationFailed(pa, h.pc);
      return null;
    }
    if (!this.bus.isExecutable(pa)) {
      h.raise(Cause.InsnAccessFault, h.pc);
      return null;
    }
    const cached = this.cache.get(pa);
    if (cached && (cached.page < 0 || Atomics.load(this.bus.codeGen, cached.page) === cached.gen)) return cached;
    const block = translateBlock(this.bus, pa);
    if (block.insns.length > 0) {
      this.cache.set(pa, block);
      return block;
    }
    return this.fetchStraddling(pa);
  }

  /** A 32-bit instruction whose upper half lies on the next (virtual) page. */
  private fetchStraddling(pa: number): Block | null {
    const h = this.h;
    const lo = Number(this.bus.read(pa, 2, h.id) ?? -1n);
    if (lo < 0) { h.raise(Cause.InsnAccessFault, h.pc); return null; }
    const nextVa = asI(64, h.pc + 2n);
    const pa2 = h.mmu.translate(nextVa, Access.Fetch);
    if (pa2 < 0) { this.translationFailed(pa2, nextVa); return null; }
    const hi = this.bus.isExecutable(pa2) ? this.bus.read(pa2, 2, h.id) : null;
    if (hi === null) { h.raise(Cause.InsnAccessFault, nextVa); return null; }
    return straddlingInsnBlock(lo, Number(hi));
  }

  /**
   * Executes at most `budget` instructions from the hart's pc, stopping at the end of a block.
   * Returns the number of instructions retired. Takes traps raised on the way.
   */
  runBlock(budget: number): number {
    const h = this.h;
    this.lastExit = BlockExit.Normal;
    this.cutByBudget = false;
    const block = this.fetchBlock();
    if (!block) {
      if (h.trapCause === OWNERSHIP_RETRY) {
        h.trapCause = -1;
        this.lastExit = BlockExit.NeedsOwnership;
      } else {
        h.takeTrap(h.pc);
      }
      return 0;
    }
    const x = h.x;
    const start = h.pc;
    const insns = block.insns;
    const n = insns.length < budget ? insns.length : budget;
    let retired = 0;
    for (let i = 0; i < n; i++) {
      const ins = insns[i];
      const rd = ins.rd;
      let v: bigint;
      switch (ins.op) {
        case Op.LUI: if (rd) x[rd] = ins.imm; break;
        case Op.AUIPC: if (rd) x[rd] = asI(64, start + block.offsets[i] + ins.imm); break;
        case Op.JAL: {
          const pc = start + block.offsets[i];
          if (rd) x[rd] = asI(64, pc + BigInt(ins.len));
          h.pc = asI(64, pc + ins.imm);
          h.icount++;
          return retired + 1;
        }
        case Op.JALR: {
          const pc = start + block.offsets[i];
          const target = asI(64, (x[ins.rs1] + ins.imm) & ~1n);
          if (rd) x[rd] = asI(64, pc + BigInt(ins.len));
          h.pc = target;
          h.icount++;
          return retired + 1;
        }
        case Op.BEQ: return this.branch(x[ins.rs1] === x[ins.rs2], start, block, i, retired);
        case Op.BNE: return this.branch(x[ins.rs1] !== x[ins.rs2], start, block, i, retired);
        case Op.BLT: return this.branch(x[ins.rs1] < x[ins.rs2], start, block, i, retired);
        case Op.BGE: return this.branch(x[ins.rs1] >= x[ins.rs2], start, block, i, retired);
        case Op.BLTU: return this.branch(asU(64, x[ins.rs1]) < asU(64, x[ins.rs2]), start, block, i, retired);
        case Op.BGEU: return this.branch(asU(64, x[ins.rs1]) >= asU(64, x[ins.rs2]), start, block, i, retired);
        case Op.LB: v = this.load(asI(64, x[ins.rs1] + ins.imm), 1, true); if (h.trapCause >= 0) return this.fault(start, block, i, retired); if (rd) x[rd] = v; break;
        case Op.LH: v = this.load(asI(64, x[ins.rs1] + ins.imm), 2, true); if (h.trapCause >= 0) return this.fault(start, block, i, retired); if (rd) x[rd] = v; break;
        case Op.LW: v = this.load(asI(64, x[ins.rs1] + ins.imm), 4, true); if (h.trapCause >= 0) return this.fault(start, block, i, retired); if (rd) x[rd] = v; break;
        case Op.LD: v = this.load(asI(64, x[ins.rs1] + ins.imm), 8, true); if (h.trapCause >= 0) return this.fault(start, block, i, retired); if (rd) x[rd] = v; break;
        case Op.LBU: v = this.load(asI(64, x[ins.rs1] + ins.imm), 1, false); if (h.trapCause >= 0) return this.fault(start, block, i, retired); if (rd) x[rd] = v; break;
        case Op.LHU: v = this.load(asI(64, x[ins.rs1] + ins.imm), 2, false); if (h.trapCause >= 0) return this.fault(start, block, i, retired); if (rd) x[rd] = v; break;
        case Op.LWU: v = this.load(asI(64, x[ins.rs1] + ins.imm), 4, false); if (h.trapCause >= 0) return this.fault(start, block, i, retired); if (rd) x[rd] = v; break;
        case Op.SB: this.store(asI(64, x[ins.rs1] + ins.imm), 1, x[ins.rs2]); if (h.trapCause >= 0) return this.fault(start, block, i, retired); break;
        case Op.SH: this.store(asI(64, x[ins.rs1] + ins.imm), 2, x[ins.rs2]); if (h.trapCause >= 0) return this.fault(start, block, i, retired); break;
        case Op.SW: this.store(asI(64, x[ins.rs1] + ins.imm), 4, x[ins.rs2]); if (h.trapCause >= 0) return this.fault(start, block, i, retired); break;
        case Op.SD: this.store(asI(64, x[ins.rs1] + ins.imm), 8, x[ins.rs2]); if (h.trapCause >= 0) return this.fault(start, block, i, retired); break;
        case Op.ADDI: if (rd) x[rd] = asI(64, x[ins.rs1] + ins.imm); break;
        case Op.SLTI: if (rd) x[rd] = x[ins.rs1] < ins.imm ? 1n : 0n; break;
        case Op.SLTIU: if (rd) x[rd] = asU(64, x[ins.rs1]) < asU(64, ins.imm) ? 1n : 0n; break;
        case Op.XORI: if (rd) x[rd] = x[ins.rs1] ^ ins.imm; break;
        case Op.ORI: if (rd) x[rd] = x[ins.rs1] | ins.imm; break;
        case Op.ANDI: if (rd) x[rd] = x[ins.rs1] & ins.imm; break;
        case Op.SLLI: if (rd) x[rd] = asI(64, x[ins.rs1] << ins.imm); break;
        case Op.SRLI: if (rd) x[rd] = asI(64, asU(64, x[ins.rs1]) >> ins.imm); break;
        case Op.SRAI: if (rd) x[rd] = x[ins.rs1] >> ins.imm; break;
        case Op.ADD: if (rd) x[rd] = asI(64, x[ins.rs1] + x[ins.rs2]); break;
        case Op.SUB: if (rd) x[rd] = asI(64, x[ins.rs1] - x[ins.rs2]); break;
        case Op.SLL: if (rd) x[rd] = asI(64, x[ins.rs1] << (x[ins.rs2] & 63n)); break;
        case Op.SLT: if (rd) x[rd] = x[ins.rs1] < x[ins.rs2] ? 1n : 0n; break;
        case Op.SLTU: if (rd) x[rd] = asU(64, x[ins.rs1]) < asU(64, x[ins.rs2]) ? 1n : 0n; break;
        case Op.XOR: if (rd) x[rd] = x[ins.rs1] ^ x[ins.rs2]; break;
        case Op.SRL: if (rd) x[rd] = asI(64, asU(64, x[ins.rs1]) >> (x[ins.rs2] & 63n)); break;
        case Op.SRA: if (rd) x[rd] = x[ins.rs1] >> (x[ins.rs2] & 63n); break;
        case Op.OR: if (rd) x[rd] = x[ins.rs1] | x[ins.rs2]; break;
        case Op.AND: if (rd) x[rd] = x[ins.rs1] & x[ins.rs2]; break;
        case Op.ADDIW: if (rd) x[rd] = asI(32, x[ins.rs1] + ins.imm); break;
        case Op.SLLIW: if (rd) x[rd] = asI(32, x[ins.rs1] << ins.imm); break;
        case Op.SRLIW: if (rd) x[rd] = asI(32, asU(32, x[ins.rs1]) >> ins.imm); break;
        case Op.SRAIW: if (rd) x[rd] = asI(32, x[ins.rs1]) >> ins.imm; break;
        case Op.ADDW: if (rd) x[rd] = asI(32, x[ins.rs1] + x[ins.rs2]); break;
        case Op.SUBW: if (rd) x[rd] = asI(32, x[ins.rs1] - x[ins.rs2]); break;
        case Op.SLLW: if (rd) x[rd] = asI(32, x[ins.rs1] << (x[ins.rs2] & 31n)); break;
        case Op.SRLW: if (rd) x[rd] = asI(32, asU(32, x[ins.rs1]) >> (x[ins.rs2] & 31n)); break;
        case Op.SRAW: if (rd) x[rd] = asI(32, x[ins.rs1]) >> (x[ins.rs2] & 31n); break;
        case Op.MUL: if (rd) x[rd] = asI(64, x[ins.rs1] * x[ins.rs2]); break;
        case Op.MULH: if (rd) x[rd] = asI(64, (x[ins.rs1] * x[ins.rs2]) >> 64n); break;
        case Op.MULHSU: if (rd) x[rd] = asI(64, (x[ins.rs1] * asU(64, x[ins.rs2])) >> 64n); break;
        case Op.MULHU: if (rd) x[rd] = asI(64, (asU(64, x[ins.rs1]) * asU(64, x[ins.rs2])) >> 64n); break;
        case Op.DIV: if (rd) x[rd] = div(x[ins.rs1], x[ins.rs2], 64); break;
        case Op.DIVU: if (rd) x[rd] = divu(x[ins.rs1], x[ins.rs2], 64); break;
        case Op.REM: if (rd) x[rd] = rem(x[ins.rs1], x[ins.rs2], 64); break;
        case Op.REMU: if (rd) x[rd] = remu(x[ins.rs1], x[ins.rs2], 64); break;
        case Op.MULW: if (rd) x[rd] = asI(32, x[ins.rs1] * x[ins.rs2]); break;
        case Op.DIVW: if (rd) x[rd] = div(x[ins.rs1], x[ins.rs2], 32); break;
        case Op.DIVUW: if (rd) x[rd] = divu(x[ins.rs1], x[ins.rs2], 32); break;
        case Op.REMW: if (rd) x[rd] = rem(x[ins.rs1], x[ins.rs2], 32); break;
        case Op.REMUW: if (rd) x[rd] = remu(x[ins.rs1], x[ins.rs2], 32); break;
        case Op.FENCE: Atomics.add(this.i32, 0, 0); break; // a seq-cst RMW is a full host fence
        case Op.ILLEGAL:
          h.raise(Cause.IllegalInsn, BigInt(ins.raw >>> 0));
          return this.fault(start, block, i, retired);
        default:
          if (ins.op >= Op.LR_W && ins.op <= Op.AMOMAXU_D) {
            this.atomic(ins.op, ins.rd, asI(64, x[ins.rs1]), x[ins.rs2]);
            if (h.trapCause >= 0) return this.fault(start, block, i, retired);
            break;
          }
          return this.system(start, block, i, retired);
      }
      retired++;
      h.icount++;
    }
    if (n === insns.length) h.pc = asI(64, start + block.bytes);
    else {
      h.pc = asI(64, start + block.offsets[n]);
      this.cutByBudget = true;
    }
    return retired;
  }

  private branch(taken: boolean, start: bigint, block: Block, i: number, retired: number): number {
    const ins = block.insns[i];
    const pc = start + block.offsets[i];
    this.h.pc = asI(64, taken ? pc + ins.imm : pc + BigInt(ins.len));
    this.h.icount++;
    return retired + 1;
  }

  /** Takes the exception raised by instruction i (which does not retire). */
  private fault(start: bigint, block: Block, i: number, retired: number): number {
    const pc = asI(64, start + block.offsets[i]);
    if (this.h.trapCause === OWNERSHIP_RETRY) {
      // Nothing of the instruction happened: stop before it; the runner retries it later.
      this.h.trapCause = -1;
      this.h.pc = pc;
      this.lastExit = BlockExit.NeedsOwnership;
      return retired;
    }
    this.h.takeTrap(pc);
    return retired;
  }

  /** System instructions: CSR access, ECALL/EBREAK, xRET, WFI, fences that flush state. */
  private system(start: bigint, block: Block, i: number, retired: number): number {
    const h = this.h;
    const ins = block.insns[i];
    const pc = asI(64, start + block.offsets[i]);
    const next = asI(64, pc + BigInt(ins.len));
    switch (ins.op) {
      case Op.ECALL:
        h.raise(h.priv === Priv.M ? Cause.EcallM : h.priv === Priv.S ? Cause.EcallS : Cause.EcallU, 0n);
        return this.fault(start, block, i, retired);
      case Op.EBREAK:
        h.raise(Cause.Breakpoint, 0n); // mtval = 0, as QEMU
        return this.fault(start, block, i, retired);
      case Op.MRET:
      case Op.SRET:
        if (!h.xret(ins.op === Op.MRET, ins.raw)) return this.fault(start, block, i, retired);
        break;
      case Op.WFI:
        if (h.wfiTraps()) { h.raise(Cause.IllegalInsn, BigInt(ins.raw >>> 0)); return this.fault(start, block, i, retired); }
        this.lastExit = BlockExit.Wfi;
        h.pc = next;
        break;
      case Op.SFENCE_VMA:
        if (h.sfenceTraps()) { h.raise(Cause.IllegalInsn, BigInt(ins.raw >>> 0)); return this.fault(start, block, i, retired); }
        h.mmu.flush();
        h.pc = next;
        break;
      case Op.FENCE_I:
        this.flushTranslations();
        h.pc = next;
        break;
      default: {
        // CSRRW/S/C and the immediate forms
        const immForm = ins.op >= Op.CSRRWI;
        const kind = immForm ? ins.op - Op.CSRRWI : ins.op - Op.CSRRW; // 0 write, 1 set, 2 clear
        const operand = immForm ? BigInt(ins.rs1) : h.x[ins.rs1];
        const writes = kind === 0 || ins.rs1 !== 0;
        const csrNum = Number(ins.imm);
        const def = h.csrLookup(csrNum, writes, ins.raw);
        if (!def) return this.fault(start, block, i, retired);
        const old = def.read(h);
        if (writes) {
          def.write!(h, kind === 0 ? operand : kind === 1 ? old | operand : old & ~operand);
          h.refreshInterruptMirrors();
        }
        if (ins.rd) h.x[ins.rd] = asI(64, old);
        h.pc = next;
        break;
      }
    }
    h.icount++;
    return retired + 1;
  }

  // --- memory -----------------------------------------------------------------------------------
  private load(addr: bigint, size: number, signed: boolean): bigint {
    const h = this.h;
    const pa = h.mmu.translate(addr, Access.Load, this.fastOut);
    if (pa < 0) { this.translationFailed(pa, addr); return 0n; }
    if (this.accessHook) this.accessHook(addr, size, false, true);
    else if (this.fastOut[0] && (pa & (size - 1)) === 0) {
      const off = pa + this.ramDelta;
      switch (size) {
        case 1: return signed ? BigInt(this.i8[off]) : BigInt(this.u8[off]);
        case 2: return signed ? BigInt(this.i16[off >> 1]) : BigInt(this.u16[off >> 1]);
        case 4: return signed ? BigInt(this.i32[off >> 2]) : BigInt(this.u32[off >> 2]);
        default: return this.i64[off >> 3];
      }
    }
    let value: bigint | null;
    if ((pa & (PAGE_SIZE - 1)) + size > PAGE_SIZE) value = this.loadCrossing(addr, size);
    else value = this.bus.read(pa, size, h.id);
    if (value === null) {
      if (h.trapCause < 0) h.raise(Cause.LoadAccessFault, addr);
      return 0n;
    }
    return signed ? asI(size * 8, value) : value;
  }

  /** A misaligned load whose bytes span two pages: each byte translated on its own. */
  private loadCrossing(addr: bigint, size: number): bigint | null {
    let value = 0n;
    for (let k = size - 1; k >= 0; k--) {
      const va = asI(64, addr + BigInt(k));
      const pa = this.h.mmu.translate(va, Access.Load);
      if (pa < 0) { this.translationFailed(pa, va); return null; }
      const b = this.bus.read(pa, 1, this.h.id);
      if (b === null) { this.h.raise(Cause.LoadAccessFault, va); return null; }
      value = (value << 8n) | b;
    }
    return value;
  }

  private store(addr: bigint, size: number, value: bigint): void {
    const h = this.h;
    const pa = h.mmu.translate(addr, Access.Store, this.fastOut);
    if (pa < 0) { this.translationFailed(pa, addr); return; }
    if (this.accessHook) this.accessHook(addr, size, true, false);
    else if (this.fastOut[0] && (pa & (size - 1)) === 0) {
      const off = pa + this.ramDelta;
      switch (size) {
        case 1: this.u8[off] = Number(value & 0xffn); break;
        case 2: this.u16[off >> 1] = Number(value & 0xffffn); break;
        case 4: this.i32[off >> 2] = Number(asI(32, value)); break;
        default: this.i64[off >> 3] = value; break;
      }
      const page = (pa - RAM_BASE) >>> 12;
      if (this.bus.codeFlag[page]) Atomics.add(this.bus.codeGen, page, 1);
      return;
    }
    if ((pa & (PAGE_SIZE - 1)) + size > PAGE_SIZE) { this.storeCrossing(addr, size, value); return; }
    if (!this.bus.write(pa, size, value, h.id)) h.raise(Cause.StoreAccessFault, addr);
  }

  private storeCrossing(addr: bigint, size: number, value: bigint): void {
    const pas: number[] = [];
    for (let k = 0; k < size; k++) { // translate every byte first: a fault must leave memory untouched
      const va = asI(64, addr + BigInt(k));
      const pa = this.h.mmu.translate(va, Access.Store);
      if (pa < 0) { this.translationFailed(pa, va); return; }
      pas.push(pa);
    }
    for (let k = 0; k < size; k++) {
      if (!this.bus.write(pas[k], 1, (value >> BigInt(8 * k)) & 0xffn, this.h.id)) {
        this.h.raise(Cause.StoreAccessFault, asI(64, addr + BigInt(k)));
        return;
      }
    }
  }

  /** LR/SC and AMOs on host atomics over the shared memory. */
  private atomic(op: Op, rd: number, addr: bigint, src: bigint): void {
    const h = this.h;
    const isWord = op <= Op.AMOMAXU_W;
    const size = isWord ? 4 : 8;
    const isLr = op === Op.LR_W || op === Op.LR_D;
    if (Number(addr & BigInt(size - 1)) !== 0) {
      h.raise(isLr ? Cause.LoadMisaligned : Cause.StoreMisaligned, addr);
      return;
    }
    const access = isLr ? Access.Load : Access.Store;
    const pa = h.mmu.translate(addr, access);
    if (pa < 0) { this.translationFailed(pa, addr); return; }
    if (!this.bus.isRam(pa)) { h.raise(ACCESS_FAULT[access], addr); return; }
    const isSc = op === Op.SC_W || op === Op.SC_D;
    if (!isSc) this.accessHook?.(addr, size, !isLr, true);
    const off = pa + this.ramDelta;
    let old: bigint;
    if (isWord) {
      const idx = off >> 2;
      const a = this.i32;
      const s = Number(asI(32, src));
      switch (op) {
        case Op.LR_W: old = BigInt(Atomics.load(a, idx)); h.setReservation(pa, old); break;
        case Op.SC_W: {
          const seen = h.takeReservation(pa);
          const ok = seen !== null && Atomics.compareExchange(a, idx, Number(seen), s) === Number(seen);
          if (rd) h.x[rd] = ok ? 0n : 1n;
          if (ok) { this.bus.noteRamWrite(pa, 4); this.accessHook?.(addr, 4, true, false); }
          return;
        }
        case Op.AMOSWAP_W: old = BigInt(Atomics.exchange(a, idx, s)); break;
        case Op.AMOADD_W: old = BigInt(Atomics.add(a, idx, s)); break;
        case Op.AMOXOR_W: old = BigInt(Atomics.xor(a, idx, s)); break;
        case Op.AMOAND_W: old = BigInt(Atomics.and(a, idx, s)); break;
        case Op.AMOOR_W: old = BigInt(Atomics.or(a, idx, s)); break;
        default: old = BigInt(casLoop32(a, idx, s, op)); break;
      }
    } else {
      const idx = off >> 3;
      const a = this.i64;
      switch (op) {
        case Op.LR_D: old = Atomics.load(a, idx); h.setReservation(pa, old); break;
        case Op.SC_D: {
          const seen = h.takeReservation(pa);
          const ok = seen !== null && Atomics.compareExchange(a, idx, seen, src) === seen;
          if (rd) h.x[rd] = ok ? 0n : 1n;
          if (ok) { this.bus.noteRamWrite(pa, 8); this.accessHook?.(addr, 8, true, false); }
          return;
        }
        case Op.AMOSWAP_D: old = Atomics.exchange(a, idx, src); break;
        case Op.AMOADD_D: old = Atomics.add(a, idx, src); break;
        case Op.AMOXOR_D: old = Atomics.xor(a, idx, src); break;
        case Op.AMOAND_D: old = Atomics.and(a, idx, src); break;
        case Op.AMOOR_D: old = Atomics.or(a, idx, src); break;
        default: old = casLoop64(a, idx, src, op); break;
      }
    }
    if (!isLr) this.bus.noteRamWrite(pa, size);
    if (rd) h.x[rd] = old;
  }
}

function casLoop32(a: Int32Array, idx: number, s: number, op: Op): number {
  for (;;) {
    const cur = Atomics.load(a, idx);
    let next: number;
    switch (op) {
      case Op.AMOMIN_W: next = Math.min(cur, s); break;
      case Op.AMOMAX_W: next = Math.max(cur, s); break;
      case Op.AMOMINU_W: next = (cur >>> 0) < (s >>> 0) ? cur : s; break;
      default: next = (cur >>> 0) > (s >>> 0) ? cur : s; break;
    }
    if (Atomics.compareExchange(a, idx, cur, next) === cur) return cur;
  }
}

function casLoop64(a: BigInt64Array, idx: number, s: bigint, op: Op): bigint {
  for (;;) {
    const cur = Atomics.load(a, idx);
    let next: bigint;
    switch (op) {
      case Op.AMOMIN_D: next = cur < s ? cur : s; break;
      case Op.AMOMAX_D: next = cur > s ? cur : s; break;
      case Op.AMOMINU_D: next = asU(64, cur) < asU(64, s) ? cur : s; break;
      default: next = asU(64, cur) > asU(64, s) ? cur : s; break;
    }
    if (Atomics.compareExchange(a, idx, cur, next) === cur) return cur;
  }
}

function div(a: bigint, b: bigint, bits: number): bigint {
  a = asI(bits, a); b = asI(bits, b);
  if (b === 0n) return -1n;
  if (b === -1n) return asI(bits, -a); // INT_MIN / -1 overflows back to INT_MIN
  return asI(bits, a / b);
}

function divu(a: bigint, b: bigint, bits: number): bigint {
  a = asU(bits, a); b = asU(bits, b);
  if (b === 0n) return -1n;
  return asI(bits, a / b);
}

function rem(a: bigint, b: bigint, bits: number): bigint {
  a = asI(bits, a); b = asI(bits, b);
  if (b === 0n) return asI(bits, a);
  if (b === -1n) return 0n;
  return asI(bits, a % b);
}

function remu(a: bigint, b: bigint, bits: number): bigint {
  a = asU(bits, a); b = asU(bits, b);
  if (b === 0n) return asI(bits, a);
  return asI(bits, a % b);
}

