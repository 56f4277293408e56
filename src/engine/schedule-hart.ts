/**
 * A hart on an execution tier, ready for a scheduler: what hart workers, the timeline and the live
 * debug target build. Apart from machine-factory.ts because it loads the executors (the ISA
 * tables, the JIT), which the CLI's main thread never needs: keeping them out of its imports is
 * part of the process start-up.
 */
import { Hart } from '../cpu/hart.js';
import { Executor } from '../exec/executor.js';
import { JitExecutor, JitOptions } from '../jit/jit-executor.js';
import { Tier } from '../jit/tier.js';
import { ChaosPolicy } from './chaos.js';
import { HartRunner } from './hart-runner.js';
import { ScheduledHart } from './serial-scheduler.js';
import { HartSupervisor } from './supervisor.js';

/** The executor a hart runs on for a tier; the JIT needs the machine's shared WebAssembly.Memory. */
export function createExecutor(tier: Tier, hart: Hart, memory: WebAssembly.Memory, jit: JitOptions = {}): Executor {
  return tier === 'jit' ? new JitExecutor(hart, hart.bus, memory, jit) : new Executor(hart, hart.bus);
}

/** Puts a hart under a supervisor on an execution tier (with --chaos, its policy), ready for a scheduler. */
export function scheduleHart(hart: Hart, supervisor: HartSupervisor, tier: Tier, memory: WebAssembly.Memory, chaos?: ChaosPolicy, jit: JitOptions = {}): ScheduledHart {
  hart.timeSource = () => supervisor.readTime(hart);
  if (chaos) hart.mmu.guard = chaos.guardAccesses(hart.mmu.guard, () => hart.mmu.flush()); // after the recorder set its own
  return { hart, supervisor, runner: new HartRunner(hart, supervisor, createExecutor(tier, hart, memory, jit), chaos) };
}
