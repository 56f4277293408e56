import { Bus } from '../machine/bus.js';
import { RAM_BASE } from '../machine/memmap.js';
import { Cause, MSTATUS, Priv } from './csr-numbers.js';
import { LINE_BYTES, LINES_PER_PAGE, lineResource } from './resources.js';
import { JIT_TLB_ENTRIES } from '../shm/layout.js';

export const enum Access { Fetch = 0, Load = 1, Store = 2 }

/** Entries per access kind. */
export const TLB_ENTRIES = JIT_TLB_ENTRIES;
const TLB_SIZE = TLB_ENTRIES;
const TLB_MASK = TLB_SIZE - 1;
const MAX_EXACT = Number.MAX_SAFE_INTEGER;
/** pageSlot values: no slot has been filled with the page; or several may hold it. */
const NO_SLOT = -1;
const MANY_SLOTS = -2;

const PTE_V = 1n, PTE_R = 2n, PTE_W = 4n, PTE_X = 8n, PTE_U = 16n, PTE_A = 64n, PTE_D = 128n;
const PPN_MASK = (1n << 44n) - 1n;

/** translate() result when the hart must first obtain an ownership right (recording). */
export const NEEDS_OWNERSHIP = -2;

/** Decides whether the hart may touch a resource now (CREW ownership while recording). */
export interface AccessGuard {
  /**
   * resource: RAM page index, `deviceResource` for any MMIO access, or a line (cpu/resources.ts);
   * offset: where in a RAM page the access that asks is (its holder learns whether the harts share
   * the page's bytes or only the page), when known.
   */
  permit(resource: number, write: boolean, offset?: number): boolean;
  /**
   * The RAM page is owned by 64-byte lines now (split for false sharing): its loads and stores
   * take their lines' rights where they access memory (Mmu.permitRam), not when translated.
   */
  lineGranular?(ramPage: number): boolean;
  /**
   * Another hart waits for this one (or for a hart parked on its thread) to give something up at
   * a safe point: an executor must not run on past block ends then (JitExecutor.runBlock).
   * Absent (`--chaos`, whose stalls happen at safe points): always.
   */
  handOffPending?(): boolean;
}

const PAGE_FAULT = [Cause.InsnPageFault, Cause.LoadPageFault, Cause.StorePageFault];
export const ACCESS_FAULT = [Cause.InsnAccessFault, Cause.LoadAccessFault, Cause.StoreAccessFault];

/**
 * A copy of the soft TLB (every regime's entries and the epoch bookkeeping). Its contents are
 * guest-visible — a cached translation survives page-table edits made without SFENCE.VMA, and a
 * hit sets no A/D bits — so the debugger's checkpoints keep it to re-enter the timeline exactly.
 */
export interface TlbState {
  epoch: number;
  lastEpoch: number;
  regime: number;
  /** [regime key, epoch] pairs. */
  regimeEpochs: [number, number][];
  /** Per access kind (fetch, load, store), TLB_SIZE entries each. */
  tags: Float64Array;
  epochs: Int32Array;
  phys: Float64Array;
  fast: Uint8Array;
  /**
   * The leaf level each entry came from (0: a 4 KiB page, 1: 2 MiB, 2: 1 GiB, 3: 512 GiB), which an
   * SFENCE.VMA of one address needs (flushAddress). Absent from checkpoints made before it: zeros.
   */
  levels?: Uint8Array;
}

/** What the MMU needs to know about its hart. */
export interface TranslationContext {
  priv: Priv;
  readMstatus(): bigint;
  readSatp(): bigint;
}

/**
 * Sv39/Sv48 address translation with one small direct-mapped soft TLB per access kind.
 * A TLB entry caches the physical page of a virtual page for one access kind under one
 * *translation regime*: the privilege that fetches, the privilege that loads and stores
 * (MPRV/MPP), SUM and MXR. Each regime has its own epoch and an entry is valid only under the
 * epoch it was filled with, so a trap, an xRET or an sstatus write (Linux toggles SIE around every
 * spinlock) only switches epochs: entries of the regime it returns to are still there. satp
 * writes, SFENCE.VMA without an address and state restores flush every regime (fresh epochs,
 * never reused); SFENCE.VMA of an address drops the entries that translate it (flushAddress).
 */
export class Mmu {
  private epoch = 1;
  /** Last epoch handed out: epochs only grow, so a flushed regime never sees its old entries. */
  private lastEpoch = 1;
  private regime = -1;
  private readonly regimeEpochs = new Map<number, number>();
  private readonly tags: Float64Array[] = [new Float64Array(TLB_SIZE), new Float64Array(TLB_SIZE), new Float64Array(TLB_SIZE)];
  private readonly epochs: Int32Array[] = [new Int32Array(TLB_SIZE), new Int32Array(TLB_SIZE), new Int32Array(TLB_SIZE)];
  private readonly phys: Float64Array[] = [new Float64Array(TLB_SIZE), new Float64Array(TLB_SIZE), new Float64Array(TLB_SIZE)];
  /** 1 when the page is RAM that the fast path may touch directly. */
  private readonly fast: Uint8Array[] = [new Uint8Array(TLB_SIZE), new Uint8Array(TLB_SIZE), new Uint8Array(TLB_SIZE)];
  /** The leaf level of each entry's mapping (TlbState.levels). */
  private readonly levels: Uint8Array[] = [new Uint8Array(TLB_SIZE), new Uint8Array(TLB_SIZE), new Uint8Array(TLB_SIZE)];
  /** The leaf level of the last successful walk (0 for an untranslated address). */
  private walkLevel = 0;
  /** Set by translate() on failure: the exception cause; tval is the faulting address. */
  faultCause = -1;
  /** Set while recording. */
  guard: AccessGuard | null = null;
  /**
   * A faster tier's copy of some entries (the JIT's TLB mirrors and its chain table: same slots,
   * tags and epochs, 4 words per entry, epoch word at `mirrorEpochWord[access] + 4 * slot`).
   * Refilling a slot here clears the mirror's slot, so a mirror only ever holds entries this TLB
   * holds too: a mirror hit is a hit here, and which entries this TLB holds never depends on which
   * tier ran.
   */
  private mirror: Int32Array | null = null;
  private mirrorEpochWord: number[] = [];
  /** Resource number of the device bus: one past the last RAM page. */
  readonly deviceResource: number;
  /**
   * Per RAM page and access kind (index page * 3 + access): the one slot filled with the page
   * since it was last forgotten, NO_SLOT or MANY_SLOTS. A recording hart forgets a page at every
   * release (smp_sb_litmus: 320k a run), and scanning all 3 x 256 entries each time cost ~5% of
   * its time.
   */
  private readonly pageSlot: Int16Array;

  constructor(private readonly ctx: TranslationContext, private readonly bus: Bus) {
    this.deviceResource = bus.ramBytes / 4096;
    this.pageSlot = new Int16Array(3 * this.deviceResource).fill(NO_SLOT);
  }

  /** Epoch word indices in `words` of slot 0 of the fetch, load and store mirrors (Access order). */
  attachMirror(words: Int32Array, fetchEpochWord: number, loadEpochWord: number, storeEpochWord: number): void {
    this.mirror = words;
    this.mirrorEpochWord = [fetchEpochWord, loadEpochWord, storeEpochWord];
  }

  /** Empties one mirror (a copy of entries the TLB may no longer hold). */
  clearMirror(access: Access): void {
    if (!this.mirror) return;
    const base = this.mirrorEpochWord[access];
    for (let i = 0; i < TLB_SIZE; i++) this.mirror[base + 4 * i] = 0;
  }

  /**
   * SFENCE.VMA with an address: drops every entry, of every regime and access kind, whose mapping
   * covers `vaddr` — its own 4 KiB page's entries, and the entries of any superpage holding it
   * (cached per 4 KiB page, each knowing its leaf level). Others stay, as in QEMU
   * (tlb_flush_page) and hardware: Linux sets fixmap and kernel mappings one page at a time with
   * such fences (~270 on a boot), and each flush of everything cost a refill of every
   * translation the code after it used (~76 us a fence). ASIDs are not tagged (a satp write
   * flushes everything), so an ASID operand only narrows what must go: dropping it for every
   * ASID is allowed.
   */
  flushAddress(vaddr: bigint): void {
    const n = Number(vaddr);
    const key = n >= -MAX_EXACT && n <= MAX_EXACT ? Math.floor(n / 4096) : Number(vaddr >> 12n);
    const slot = key & TLB_MASK;
    for (let k = 0; k < 3; k++) {
      const tags = this.tags[k];
      const epochs = this.epochs[k];
      const levels = this.levels[k];
      if (tags[slot] === key && epochs[slot] !== 0) this.dropEntry(k, slot);
      for (let i = 0; i < TLB_SIZE; i++) {
        const level = levels[i];
        if (level === 0 || epochs[i] === 0) continue;
        const span = 2 ** (9 * level);
        if (Math.floor(tags[i] / span) === Math.floor(key / span)) this.dropEntry(k, i);
      }
    }
  }

  private dropEntry(access: Access, slot: number): void {
    this.epochs[access][slot] = 0;
    if (this.mirror) this.mirror[this.mirrorEpochWord[access] + 4 * slot] = 0;
  }

  /** Empties the TLBs of every regime (satp write, SFENCE.VMA, privilege or state set from outside). */
  flush(): void {
    this.regimeEpochs.clear();
    this.regime = this.regimeKey();
    this.epoch = ++this.lastEpoch;
    this.regimeEpochs.set(this.regime, this.epoch);
  }

  /**
   * A recording hart gave away its right to `resource` (an access guard's resource number): drops
   * the cached translations that carried it, of every regime and access kind, with their mirror
   * copies — those leading to that RAM page, or for the device bus those leading to any page
   * that is not RAM (`bus: 'devices'`; `'tlb'`, what traces recorded before 2026-12-03 did: all).
   */
  forgetResource(resource: number, bus: 'devices' | 'tlb'): void {
    if (resource === this.deviceResource) {
      if (bus === 'tlb') this.flush();
      else this.forgetDevicePages();
    } else if (resource < this.deviceResource) this.forgetPage(RAM_BASE + resource * 4096);
    else this.forgetPage(RAM_BASE + Math.floor((resource - this.deviceResource - 1) / LINES_PER_PAGE) * 4096); // a line
  }

  /**
   * Drops the translations to pages that are not RAM (devices, the boot ROM): the device bus's
   * right went with them. A whole flush here made the Linux boot's busiest hart refill its TLB
   * (and, in compiled code, its chain table) at each of ~500 bus hand-offs per 4-hart recording.
   */
  private forgetDevicePages(): void {
    for (let k = 0; k < 3; k++) {
      const phys = this.phys[k];
      const epochs = this.epochs[k];
      for (let i = 0; i < TLB_SIZE; i++) {
        if (epochs[i] === 0 || this.bus.isRam(phys[i])) continue;
        epochs[i] = 0;
        if (this.mirror) this.mirror[this.mirrorEpochWord[k] + 4 * i] = 0;
      }
    }
  }

  private forgetPage(pagePa: number): void {
    const base = 3 * ((pagePa - RAM_BASE) / 4096);
    for (let k = 0; k < 3; k++) {
      const only = this.pageSlot[base + k];
      if (only === NO_SLOT) continue;
      this.pageSlot[base + k] = NO_SLOT;
      const phys = this.phys[k];
      const epochs = this.epochs[k];
      const from = only === MANY_SLOTS ? 0 : only;
      const to = only === MANY_SLOTS ? TLB_SIZE : only + 1;
      for (let i = from; i < to; i++) {
        if (phys[i] !== pagePa || epochs[i] === 0) continue;
        epochs[i] = 0;
        if (this.mirror) this.mirror[this.mirrorEpochWord[k] + 4 * i] = 0;
      }
    }
  }

  saveTlb(): TlbState {
    const joinF = (a: Float64Array[]) => { const out = new Float64Array(3 * TLB_SIZE); a.forEach((x, k) => out.set(x, k * TLB_SIZE)); return out; };
    const epochs = new Int32Array(3 * TLB_SIZE);
    const fast = new Uint8Array(3 * TLB_SIZE);
    const levels = new Uint8Array(3 * TLB_SIZE);
    for (let k = 0; k < 3; k++) {
      epochs.set(this.epochs[k], k * TLB_SIZE);
      fast.set(this.fast[k], k * TLB_SIZE);
      levels.set(this.levels[k], k * TLB_SIZE);
    }
    return { epoch: this.epoch, lastEpoch: this.lastEpoch, regime: this.regime, regimeEpochs: [...this.regimeEpochs], tags: joinF(this.tags), epochs, phys: joinF(this.phys), fast, levels };
  }

  /** Puts back a saved TLB (after the hart's privilege and CSRs are restored). */
  restoreTlb(s: TlbState): void {
    // The load/store mirrors live in the hart block, restored with it; the fetch mirror (the JIT's
    // chain table) is outside the snapshot and still holds entries of the abandoned future.
    this.clearMirror(Access.Fetch);
    this.epoch = s.epoch;
    this.lastEpoch = s.lastEpoch;
    this.regime = s.regime;
    this.regimeEpochs.clear();
    for (const [key, epoch] of s.regimeEpochs) this.regimeEpochs.set(key, epoch);
    for (let k = 0; k < 3; k++) {
      const range = [k * TLB_SIZE, (k + 1) * TLB_SIZE] as const;
      this.tags[k].set(s.tags.subarray(...range));
      this.epochs[k].set(s.epochs.subarray(...range));
      this.phys[k].set(s.phys.subarray(...range));
      this.fast[k].set(s.fast.subarray(...range));
      if (s.levels && s.levels.length === 3 * TLB_SIZE) this.levels[k].set(s.levels.subarray(...range));
      else this.levels[k].fill(0);
    }
    this.pageSlot.fill(MANY_SLOTS);
    for (const page of this.cachedStorePages()) if (this.bus.isRam(page)) this.bus.ramWritten[(page - RAM_BASE) / 4096] = 1;
  }

  /** Physical pages that cached store translations point at (of any regime): stores to them may skip translate(). */
  cachedStorePages(): number[] {
    const pages: number[] = [];
    const e = this.epochs[Access.Store];
    for (let i = 0; i < TLB_SIZE; i++) if (e[i] !== 0) pages.push(this.phys[Access.Store][i]);
    return pages;
  }

  /** Must follow every change of privilege or mstatus: selects the TLB entries of the new regime. */
  regimeChanged(): void {
    const key = this.regimeKey();
    if (key === this.regime) return;
    this.regime = key;
    let epoch = this.regimeEpochs.get(key);
    if (epoch === undefined) {
      epoch = ++this.lastEpoch;
      this.regimeEpochs.set(key, epoch);
    }
    this.epoch = epoch;
  }

  /** What decides a translation besides satp: fetch privilege, data privilege, SUM, MXR. */
  private regimeKey(): number {
    const priv = this.ctx.priv;
    const mstatus = this.ctx.readMstatus();
    const mprv = priv === Priv.M && (mstatus & MSTATUS.MPRV) !== 0n;
    if (priv === Priv.M && !mprv) return Priv.M; // no translation at all
    const dataPriv = mprv ? Number((mstatus & MSTATUS.MPP) >> 11n) : priv;
    return priv | (dataPriv << 2) | ((mstatus & MSTATUS.SUM) !== 0n ? 16 : 0) | ((mstatus & MSTATUS.MXR) !== 0n ? 32 : 0);
  }

  /** The current regime's epoch: caches built from translate() results (the JIT's TLB mirror) compare it. */
  get flushEpoch(): number {
    return this.epoch;
  }

  /**
   * Translates a virtual address. Returns the physical address, or -1 with faultCause set.
   * `fastOut[0]` receives 1 when the page is directly accessible RAM.
   */
  translate(vaddr: bigint, access: Access, fastOut?: Uint8Array): number {
    // Canonical addresses are small-magnitude int64 values, exact as doubles: avoid BigInt shifts.
    const n = Number(vaddr);
    let key: number;
    let offset: number;
    if (n >= -MAX_EXACT && n <= MAX_EXACT) {
      key = Math.floor(n / 4096);
      offset = n - key * 4096;
    } else {
      key = Number(vaddr >> 12n);
      offset = Number(vaddr & 0xfffn);
    }
    const slot = key & TLB_MASK;
    if (this.tags[access][slot] === key && this.epochs[access][slot] === this.epoch) {
      if (fastOut) fastOut[0] = this.fast[access][slot];
      return this.phys[access][slot] + offset;
    }
    return this.translateMiss(vaddr, key, offset, access, fastOut);
  }

  /**
   * translate() for an address given as a number, exact (|va| <= 2^53, which every canonical
   * Sv39/Sv48 address is): the reference executor's BigInt-free loads and stores (exec/fast-ops.ts).
   */
  translateNumber(va: number, access: Access, fastOut: Uint8Array): number {
    const key = Math.floor(va / 4096);
    const offset = va - key * 4096;
    const slot = key & TLB_MASK;
    if (this.tags[access][slot] === key && this.epochs[access][slot] === this.epoch) {
      fastOut[0] = this.fast[access][slot];
      return this.phys[access][slot] + offset;
    }
    return this.translateMiss(BigInt(va), key, offset, access, fastOut);
  }

  private translateMiss(vaddr: bigint, key: number, offset: number, access: Access, fastOut: Uint8Array | undefined): number {
    const slot = key & TLB_MASK;
    const page = this.walk(vaddr, access);
    if (page < 0) return page;
    // A split page's loads and stores check their lines at the access (permitRam), so never fast.
    const byLines = access !== Access.Fetch && this.lineGranular(page);
    if (this.guard && !byLines && !this.guardPage(page, access !== Access.Store, -1, access === Access.Fetch ? -1 : offset)) return NEEDS_OWNERSHIP;
    const isFast = !byLines && (access === Access.Store ? this.bus.isFastStorePage(page) : this.bus.isRam(page));
    if (this.bus.isRam(page)) {
      const ramPage = (page - RAM_BASE) / 4096;
      // Stores through this translation skip the bus: mark the page written now.
      if (access === Access.Store) this.bus.markWritten(ramPage);
      const i = 3 * ramPage + access;
      const only = this.pageSlot[i];
      if (only !== slot) this.pageSlot[i] = only === NO_SLOT ? slot : MANY_SLOTS;
    }
    if (this.mirror) this.mirror[this.mirrorEpochWord[access] + 4 * slot] = 0;
    this.tags[access][slot] = key;
    this.epochs[access][slot] = this.epoch;
    this.phys[access][slot] = page;
    this.fast[access][slot] = isFast ? 1 : 0;
    this.levels[access][slot] = this.walkLevel;
    if (fastOut) fastOut[0] = isFast ? 1 : 0;
    return page + offset;
  }

  /**
   * Recording in parallel: a store of `value` to the device at `pa` may make the device read or
   * write RAM by DMA; the storing hart must hold those pages like its own accesses first. True when
   * it does (or no guard, or no DMA); false after asking for the missing rights (the instruction
   * then waits and runs again). The dry run repeats until the pages it names are all held, since
   * what it read before holding them (descriptors) may have changed.
   */
  permitDma(pa: number, size: number, value: bigint): boolean {
    if (!this.guard) return true;
    const dev = this.bus.findDevice(pa);
    if (!dev?.dmaPages) return true;
    let previous = '';
    for (;;) {
      const pages = dev.dmaPages(pa - dev.base, size, value);
      if (!pages || pages.length === 0) return true;
      let all = true;
      for (const p of pages) if (!this.permitRamPage(p.page, p.write)) all = false; // ask for every missing one at once
      if (!all) return false;
      const key = pages.map((p) => `${p.page}${p.write ? 'w' : 'r'}`).join(',');
      if (key === previous) return true;
      previous = key;
    }
  }

  /** Whether code was ever translated from RAM page `ramPage` (Bus.codeFlag). */
  holdsCode(ramPage: number): boolean {
    return this.bus.codeFlag[ramPage] !== 0;
  }

  /** Recording: is the RAM page at physical `page` owned by lines? */
  private lineGranular(page: number): boolean {
    return this.guard?.lineGranular !== undefined && this.bus.isRam(page) && this.guard.lineGranular((page - RAM_BASE) / 4096);
  }

  /**
   * Recording: the rights for an access of `size` bytes at `pa` that its translation did not
   * take (a split page's lines). True when held (or not recording, or not such a page); false
   * after asking for what is missing: the instruction waits and runs again (NEEDS_OWNERSHIP).
   */
  permitRam(pa: number, size: number, write: boolean): boolean {
    if (!this.guard?.lineGranular || !this.bus.isRam(pa)) return true;
    const ramPage = Math.floor((pa - RAM_BASE) / 4096);
    if (!this.guard.lineGranular(ramPage)) return true;
    const off = pa - RAM_BASE - ramPage * 4096;
    const last = Math.min(off + size - 1, 4095);
    let all = true;
    for (let line = Math.floor(off / LINE_BYTES); line <= Math.floor(last / LINE_BYTES); line++) {
      if (!this.guard.permit(lineResource(this.deviceResource, ramPage, line), write)) all = false;
    }
    // A store the JIT then makes straight into memory (JitExecutor.fill) skips the bus's marking.
    if (all && write) this.bus.markWritten(ramPage);
    return all;
  }

  /** Recording: is the RAM page at physical address `pa` owned by lines (its accesses then check permitRam)? */
  byLines(pa: number): boolean {
    return this.lineGranular(pa - (pa % 4096));
  }

  /** The right to a whole RAM page: its own, or every line's once split (fetches, DMA). */
  private permitRamPage(ramPage: number, write: boolean, offset = -1): boolean {
    const guard = this.guard!;
    if (!guard.lineGranular?.(ramPage)) return guard.permit(ramPage, write, offset);
    let all = true;
    for (let line = 0; line < LINES_PER_PAGE; line++) if (!guard.permit(lineResource(this.deviceResource, ramPage, line), write)) all = false;
    return all;
  }

  /**
   * Checks the guard for a physical page (a page-table entry's line when `pteAt` is its address);
   * the boot ROM is immutable and needs no right.
   */
  private guardPage(page: number, readOnly: boolean, pteAt = -1, offset = pteAt >= 0 ? pteAt % 4096 : -1): boolean {
    if (pteAt >= 0 && this.lineGranular(page)) return this.permitRam(pteAt, 8, !readOnly);
    if (this.bus.isRam(page)) return this.permitRamPage((page - RAM_BASE) / 4096, !readOnly, offset);
    if (this.bus.isExecutable(page)) return true;
    if (readOnly) {
      const dev = this.bus.findDevice(page);
      if (dev?.unorderedReadPage?.(page - dev.base)) return true;
    }
    return this.guard!.permit(this.deviceResource, true); // device reads have side effects: always exclusive
  }

  private effectivePriv(access: Access, mstatus: bigint): Priv {
    const priv = this.ctx.priv;
    if (access !== Access.Fetch && priv === Priv.M && (mstatus & MSTATUS.MPRV)) {
      return Number((mstatus & MSTATUS.MPP) >> 11n) as Priv;
    }
    return priv;
  }

  /** Loads and stores go through page tables now (S or U mode, or M with MPRV, under a paging satp). */
  dataIsPaged(): boolean {
    const priv = this.effectivePriv(Access.Load, this.ctx.readMstatus());
    return priv !== Priv.M && (BigInt.asUintN(64, this.ctx.readSatp()) >> 60n) !== 0n;
  }

  /**
   * The debugger's view: translates without touching the TLB, the guard or A/D bits (a page whose
   * A/D bits are not yet set still reads), and in S-mode as if SUM were set (a kernel stopped in a
   * system call shows its caller's user memory). Returns the physical address or -1.
   */
  peek(vaddr: bigint, access: Access): number {
    const page = this.walk(vaddr, access, false, true);
    return page < 0 ? -1 : page + Number(BigInt.asUintN(12, vaddr));
  }

  /** Returns the physical address of the page holding vaddr, or -1 with faultCause set. */
  private walk(vaddr: bigint, access: Access, sideEffects = true, userPagesFromS = false): number {
    const mstatus = this.ctx.readMstatus() | (userPagesFromS ? MSTATUS.SUM : 0n);
    const priv = this.effectivePriv(access, mstatus);
    const satp = this.ctx.readSatp();
    const mode = Number(BigInt.asUintN(64, satp) >> 60n);
    if (priv === Priv.M || mode === 0) {
      const pa = BigInt.asUintN(64, vaddr);
      if (pa >> 56n) return this.fail(ACCESS_FAULT[access]);
      this.walkLevel = 0;
      return Number(pa & ~0xfffn);
    }
    const levels = mode === 8 ? 3 : 4;
    const vaBits = 12 + 9 * levels;
    // Canonical check: bits 63..vaBits-1 must all equal.
    const top = vaddr >> BigInt(vaBits - 1);
    if (top !== 0n && top !== -1n) return this.fail(PAGE_FAULT[access]);
    let table = (satp & PPN_MASK) << 12n;
    for (let level = levels - 1; level >= 0; level--) {
      const vpn = (vaddr >> BigInt(12 + 9 * level)) & 0x1ffn;
      const pteAddr = Number(table + vpn * 8n);
      for (;;) {
        if (sideEffects && this.guard && this.bus.isRam(pteAddr) && !this.guardPage(pteAddr - (pteAddr % 4096), true, pteAddr)) return NEEDS_OWNERSHIP;
        const pte = this.readPte(pteAddr);
        if (pte === null) return this.fail(ACCESS_FAULT[access]);
        if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte >> 54n) !== 0n) return this.fail(PAGE_FAULT[access]);
        if (!(pte & (PTE_R | PTE_X))) {
          if (level === 0) return this.fail(PAGE_FAULT[access]);
          table = ((pte >> 10n) & PPN_MASK) << 12n;
          break;
        }
        if (!this.permitted(pte, access, priv, mstatus)) return this.fail(PAGE_FAULT[access]);
        const ppn = (pte >> 10n) & PPN_MASK;
        const lowMask = (1n << BigInt(9 * level)) - 1n;
        if (ppn & lowMask) return this.fail(PAGE_FAULT[access]); // misaligned superpage
        const want = PTE_A | (access === Access.Store ? PTE_D : 0n);
        if (sideEffects && (pte & want) !== want) {
          if (this.guard && !this.guardPage(pteAddr - (pteAddr % 4096), false, pteAddr)) return NEEDS_OWNERSHIP;
          if (!this.updatePte(pteAddr, pte, pte | want)) continue; // raced: walk this level again
        }
        const vpnLow = (vaddr >> 12n) & lowMask;
        this.walkLevel = level;
        return Number(((ppn | vpnLow) << 12n));
      }
    }
    return this.fail(PAGE_FAULT[access]);
  }

  private permitted(pte: bigint, access: Access, priv: Priv, mstatus: bigint): boolean {
    const user = (pte & PTE_U) !== 0n;
    if (priv === Priv.U && !user) return false;
    if (priv === Priv.S && user && (access === Access.Fetch || !(mstatus & MSTATUS.SUM))) return false;
    switch (access) {
      case Access.Fetch: return (pte & PTE_X) !== 0n;
      case Access.Load: return (pte & PTE_R) !== 0n || ((mstatus & MSTATUS.MXR) !== 0n && (pte & PTE_X) !== 0n);
      default: return (pte & PTE_W) !== 0n;
    }
  }

  private readPte(pa: number): bigint | null {
    if (!this.bus.isRam(pa) || (pa & 7)) return null;
    return Atomics.load(this.bus.i64, this.bus.ramOffset(pa) >> 3);
  }

  /** Sets A/D atomically, as hardware does (QEMU does the same). False when the PTE changed under us. */
  private updatePte(pa: number, old: bigint, updated: bigint): boolean {
    const idx = this.bus.ramOffset(pa) >> 3;
    const seen = Atomics.compareExchange(this.bus.i64, idx, old, updated);
    if (seen !== old) return false;
    this.bus.noteRamWrite(pa, 8);
    return true;
  }

  private fail(cause: Cause): number {
    this.faultCause = cause;
    return -1;
  }
}

