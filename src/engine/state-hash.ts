import { createHash } from 'node:crypto';
import { Slot } from '../cpu/csr-numbers.js';
import { Hart } from '../cpu/hart.js';
import { Board } from '../machine/board.js';
import { RAM_OFFSET } from '../shm/layout.js';

const FNV_PRIME = 0x100000001b3n;
const FNV_OFFSET = 0xcbf29ce484222325n;
/** HINDSIGHT_CHECK_CSRS=1 (set when recording and replaying alike): checks also cover every CSR and mip (diagnosis aid). */
const CHECK_CSRS = process.env.HINDSIGHT_CHECK_CSRS === '1';

/**
 * 64-bit FNV-1a over a hart's integer registers, pc and privilege, and on a hart with F its f
 * registers and fcsr: the divergence check value. (A hart without F hashes as before F existed,
 * so traces recorded then still check.)
 */
export function stateHash(h: Hart): bigint {
  let hash = FNV_OFFSET;
  const mix = (v: bigint) => {
    hash = BigInt.asUintN(64, (hash ^ BigInt.asUintN(64, v)) * FNV_PRIME);
  };
  for (let i = 1; i < 32; i++) mix(h.x[i]);
  mix(h.pc);
  mix(BigInt(h.priv));
  if (h.features.f) {
    for (let i = 0; i < 32; i++) mix(h.f[i]);
    mix(h.csr[Slot.fcsr]);
  }
  if (CHECK_CSRS) {
    for (const v of h.csr) mix(v);
    mix(BigInt(h.mip()));
  }
  return hash;
}

/**
 * Per-hart fingerprints of the machine's final state: the hart's registers, pc and privilege plus
 * a hash of all of guest RAM, so a replay that differs anywhere in memory differs in every entry.
 */
export function finalStateHashes(board: Board): string[] {
  const ram = new Uint8Array(board.memory, RAM_OFFSET, board.config.ramBytes);
  const ramHash = createHash('sha256').update(ram).digest('hex');
  return board.harts.map((h) => createHash('sha256').update(`${stateHash(h).toString(16)}:${h.icount}:${ramHash}`).digest('hex').slice(0, 32));
}
