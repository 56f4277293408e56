import { Hart } from '../cpu/hart.js';
import { Executor } from '../exec/executor.js';
import { JitExecutor, JitOptions } from './jit-executor.js';

/** Execution tiers a machine can run on (`--tier`). */
export const TIERS = ['reference', 'jit'] as const;
export type Tier = (typeof TIERS)[number];

export const DEFAULT_TIER: Tier = 'jit';

/** The executor a hart runs on for a tier; the JIT needs the machine's shared WebAssembly.Memory. */
export function createExecutor(tier: Tier, hart: Hart, memory: WebAssembly.Memory, jit: JitOptions = {}): Executor {
  return tier === 'jit' ? new JitExecutor(hart, hart.bus, memory, jit) : new Executor(hart, hart.bus);
}
