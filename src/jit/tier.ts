/** Execution tiers a machine can run on (`--tier`). Kept free of the executors' imports: the CLI's main thread reads it. */
export const TIERS = ['reference', 'jit'] as const;
export type Tier = (typeof TIERS)[number];

export const DEFAULT_TIER: Tier = 'jit';
