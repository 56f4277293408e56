/**
 * Cross-page chaining: a small wasm dispatcher that goes from one compiled page to the next without
 * returning to JS (QEMU's goto_tb/lookup_and_goto_ptr, v86's jump to another page's module). Each
 * page module's `run` sits in a funcref table; JS calls the dispatcher with the first page's slot,
 * and whenever a page leaves normally (the pc moved to another page, or to a block its module
 * does not have) the dispatcher looks the new pc up in the hart's chain table and calls that page
 * with `call_indirect`. On a 1-hart Linux boot most of the ~700k JS -> wasm calls were such page
 * changes, each costing a generic JS-to-wasm wrapper, a JS fetch translation and the executor's
 * bookkeeping (docs/ARCHITECTURE.md, "cross-page chaining").
 *
 * The chain table (layout.ts JitChain) is a fetch-TLB mirror: entry vpn mod JIT_TLB_ENTRIES holds a virtual page,
 * the MMU epoch it was translated under and the table slot of the module compiled for its RAM page.
 * JS enters an entry only right after the MMU translated that fetch (so the MMU's fetch TLB holds
 * it), the MMU clears the entry when it refills that TLB slot (Mmu.attachMirror), and entries of
 * another epoch never match: a chain hit is exactly an MMU fetch-TLB hit, which changes no state,
 * so skipping the MMU there is invisible to the guest and to determinism. Each slot also names its
 * RAM page and code generation; a page whose code changed since is not entered.
 *
 * Between pages the dispatcher checks what a page checks at a backward jump: remaining budget,
 * exit request, kick (wake word) and device lines. It leaves with the total retired and the last
 * page's reason; a miss in a chained page (its module lacks the block) becomes a normal exit at
 * that pc, so JS deals with it as with any new entry.
 */
import { CODE_GEN_BASE, HartBlock as HL, JIT_TLB_ENTRIES, JitChain } from '../shm/layout.js';
import { JitExit } from './codegen.js';
import { Code, ValType, W, encodeModule } from './wasm-emitter.js';

/** Imports of the dispatcher: the machine memory and the hart's table of page `run` functions. */
export const CHAIN_TABLE_IMPORT = 'pages';

// run(off, budget, mip, epoch, wake, hb, slot, chainBase): the page `run` parameters, then the
// first page's table slot and the hart's chain block address.
const P_OFF = 0, P_BUDGET = 1, P_MIP = 2, P_EPOCH = 3, P_WAKE = 4, P_HB = 5, P_SLOT = 6, P_CB = 7;
const L_TOTAL = 8, L_R = 9, L_N = 10, L_E = 11, L_CHAINED = 12, L_EXPECT = 13, L_PC = 14;

/** Encodes the dispatcher module (the same bytes for every hart: V8 compiles it once per process). */
export function compileChainModule(): Uint8Array<ArrayBuffer> {
  const c = new Code();
  c.get(P_WAKE).op(W.i64_extend_i32_u).i64(32n).op(W.i64_shl).set(L_EXPECT);
  c.loop();
  c.get(P_OFF).get(P_BUDGET).get(P_MIP).get(P_EPOCH).get(P_WAKE).get(P_HB).get(P_SLOT).callIndirect(0).set(L_R);
  c.get(L_R).i32(2).op(W.i32_shr_u).tee(L_N).get(L_TOTAL).op(W.i32_add).set(L_TOTAL);
  // Any exit but a normal one that retired something ends the chain.
  c.get(L_R).i32(3).op(W.i32_and).get(L_N).op(W.i32_eqz).op(W.i32_or);
  c.if_();
  c.get(L_R).i32(3).op(W.i32_and).tee(L_E);
  c.i32(JitExit.Miss).op(W.i32_eq).get(L_CHAINED).op(W.i32_and);
  c.if_().i32(JitExit.Normal).set(L_E).end();
  c.get(L_TOTAL).i32(2).op(W.i32_shl).get(L_E).op(W.i32_or).ret();
  c.end();
  c.get(P_BUDGET).get(L_N).op(W.i32_sub).tee(P_BUDGET).i32(0).op(W.i32_le_s);
  c.get(P_HB).mem(W.i64_load, 3, HL.EXIT_REQ).get(L_EXPECT).op(W.i64_ne).op(W.i32_or);
  c.get(P_HB).mem(W.i32_load, 2, HL.MIP).get(P_MIP).op(W.i32_ne).op(W.i32_or);
  c.if_().get(L_TOTAL).i32(2).op(W.i32_shl).ret().end();
  // The chain entry of the new pc's virtual page: tag and epoch must match.
  c.get(P_HB).mem(W.i64_load, 3, HL.PC).set(L_PC);
  c.get(L_PC).i64(12n).op(W.i64_shr_u).op(W.i32_wrap_i64).i32(JIT_TLB_ENTRIES - 1).op(W.i32_and).i32(4).op(W.i32_shl).get(P_CB).op(W.i32_add).tee(L_E);
  c.mem(W.i64_load, 3, JitChain.ENTRIES).get(L_PC).i64(12n).op(W.i64_shr_s).op(W.i64_ne);
  c.get(L_E).mem(W.i32_load, 2, JitChain.ENTRIES + 8).get(P_EPOCH).op(W.i32_ne).op(W.i32_or);
  c.if_().get(L_TOTAL).i32(2).op(W.i32_shl).ret().end();
  // Its module must still be for the page's current code.
  c.get(L_E).mem(W.i32_load, 2, JitChain.ENTRIES + 12).tee(P_SLOT).i32(3).op(W.i32_shl).get(P_CB).op(W.i32_add).tee(L_E);
  c.mem(W.i32_load, 2, JitChain.SLOTS).i32(2).op(W.i32_shl).mem(W.i32_load, 2, CODE_GEN_BASE);
  c.get(L_E).mem(W.i32_load, 2, JitChain.SLOTS + 4).op(W.i32_ne);
  c.if_().get(L_TOTAL).i32(2).op(W.i32_shl).ret().end();
  c.get(L_PC).op(W.i32_wrap_i64).i32(0xfff).op(W.i32_and).set(P_OFF);
  c.get(P_CB).get(P_CB).mem(W.i32_load, 2, JitChain.CHAINED).i32(1).op(W.i32_add).mem(W.i32_store, 2, JitChain.CHAINED);
  c.i32(1).set(L_CHAINED);
  c.br(0);
  c.end();
  c.op(W.unreachable);
  return encodeModule({
    types: [
      { params: Array<ValType>(6).fill(ValType.I32), results: [ValType.I32] },
      { params: Array<ValType>(8).fill(ValType.I32), results: [ValType.I32] },
    ],
    funcImports: [],
    memory: { module: 'env', name: 'mem', min: 0, max: 65536, shared: true },
    table: { module: 'env', name: CHAIN_TABLE_IMPORT, min: 0 },
    funcs: [{ type: 1, locals: [...Array<ValType>(5).fill(ValType.I32), ValType.I64, ValType.I64], body: c }],
    exports: [{ name: 'run', func: 0 }],
  });
}
