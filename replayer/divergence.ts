import { HindsightError } from '../src/errors.js';

/** A replay that no longer follows its trace. Exit code 3. */
export class DivergenceError extends HindsightError {
  constructor(readonly hart: number, readonly icount: number, readonly pc: bigint, readonly what: string) {
    super(`replay diverged on hart ${hart} at icount ${icount} (pc 0x${BigInt.asUintN(64, pc).toString(16)}): ${what}`, 3);
    this.name = 'DivergenceError';
  }
}
