import { Hart } from '../src/cpu/hart.js';

const FNV_PRIME = 0x100000001b3n;
const FNV_OFFSET = 0xcbf29ce484222325n;

/** 64-bit FNV-1a over a hart's integer registers, pc and privilege: the divergence check value. */
export function stateHash(h: Hart): bigint {
  let hash = FNV_OFFSET;
  const mix = (v: bigint) => {
    hash = BigInt.asUintN(64, (hash ^ BigInt.asUintN(64, v)) * FNV_PRIME);
  };
  for (let i = 1; i < 32; i++) mix(h.x[i]);
  mix(h.pc);
  mix(BigInt(h.priv));
  return hash;
}
