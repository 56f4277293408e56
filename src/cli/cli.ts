/**
 * The `hindsight` command. Its first step, before loading the rest of the CLI, starts the hart
 * worker threads of the commands that run a machine, so that they load their modules while this
 * thread loads its own and sets the machine up (host/worker-pool.ts): process start to the first
 * guest instruction. Then program.ts parses the command line and runs the command.
 */
import { availableParallelism } from 'node:os';
import { tuneHostMalloc } from '../host/malloc-tune.js';
import { startHartWorkers } from '../host/worker-pool.js';
import { defaultThreads } from './default-threads.js';
import { startsTogether } from '../engine/start-together.js';
import { WORKER_PLUGIN_OF_COMMAND } from './worker-plugins.js';

/** The value of an option in argv (`--opt V` or `--opt=V`), undefined when absent. */
function optionValue(argv: readonly string[], flag: string): string | undefined {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  for (let i = 3; i < end; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
}

/**
 * How many hart workers the command will ask for, as far as a glance at argv tells (program.ts
 * validates the options): one per hart, or per --threads group (the default groups as
 * default-threads.ts says), one with serial scheduling. A replay's hart count is in the trace: one
 * worker, unless `--sched parallel` says several threads (as many as --threads or the host's cores,
 * the most a parallel replay groups its harts on); without --sched, the trace's meta rows say
 * whether more follow (below). A wrong guess costs an idle worker (~60 ms for a 1-hart trace) or a
 * later one (a 2-hart parallel replay of bench_parallel took ~60 ms longer).
 */
function workersWanted(argv: readonly string[]): number {
  const n = workersGuessed(argv);
  return Number.isInteger(n) && n >= 1 && n <= 8 ? n : 1;
}

function workersGuessed(argv: readonly string[]): number {
  const sched = optionValue(argv, '--sched');
  const threadsFlag = optionValue(argv, '--threads');
  if (argv[2] === 'replay' && sched === 'parallel') return Number(threadsFlag ?? availableParallelism());
  if (argv[2] === 'replay' || sched === 'serial') return 1;
  const harts = Number(optionValue(argv, '--harts') ?? 1);
  const chaos = argv.slice(3).some((a) => a === '--chaos' || a.startsWith('--chaos=')) ? true : undefined;
  const threads = threadsFlag !== undefined ? Number(threadsFlag)
    : argv.slice(3).some((a) => a === '--gdb' || a.startsWith('--gdb=')) ? 1 : defaultThreads({ harts, sched, chaos }) ?? harts;
  // A run, or a recording whose harts gather (not --migrate), starting its harts together starts
  // its other threads only when they spread.
  const gathers = argv[2] === 'run' || (process.env.HINDSIGHT_COLLAPSE !== '0' && !argv.slice(3).includes('--migrate'));
  if (gathers && startsTogether(harts, Math.min(harts, threads))) return 1;
  return Math.min(harts, threads);
}

/** The replay command's trace argument: its first operand (options with a value skip it). */
function replayTraceArg(argv: readonly string[]): string | undefined {
  for (let i = 3; i < argv.length; i++) {
    if (argv[i] === '--') return argv[i + 1];
    if (['--sched', '--tier', '--threads'].includes(argv[i])) i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return undefined;
}

/**
 * What each command imports once program.ts has parsed its options, asked for now (literal
 * imports, which the CLI's bundle maps to its chunks).
 */
const PRELOADS: Readonly<Record<string, () => Promise<unknown>[]>> = {
  record: () => [import('../../recorder/record-session.js'), import('../../traces/trace-writer.js')],
  replay: () => [import('../../replayer/replay-session.js')],
};

tuneHostMalloc(); // before any worker starts (host/malloc-tune.ts); the debugger's timeline compiles too
const command = process.argv[2];
if (['run', 'record', 'replay'].includes(command)) {
  const wanted = workersWanted(process.argv);
  startHartWorkers(wanted, WORKER_PLUGIN_OF_COMMAND[command]);
  // A replay without --sched: its first worker is on its way; the trace's meta rows say whether
  // the replay will want more (a parallel one, a thread per hart). Started now rather than when
  // the replay asks, ~100 ms later, a 2-hart bench_parallel replay no longer waits for its
  // second worker's start-up (docs/BENCHMARKS.md).
  const trace = command === 'replay' && optionValue(process.argv, '--sched') === undefined ? replayTraceArg(process.argv) : undefined;
  if (trace !== undefined) {
    const { replayWorkersGuessed } = await import('../../replayer/replay-plan.js');
    const more = Math.min(replayWorkersGuessed(trace), 8) - wanted;
    if (more > 0) startHartWorkers(more, WORKER_PLUGIN_OF_COMMAND[command]);
  }
}
// Their files are read while program.ts and commander load (a bench_parallel recording ~8 ms
// sooner). A failure here is reported by the command's own import.
for (const loading of PRELOADS[command]?.() ?? []) loading.catch(() => {});
await (await import('./program.js')).main();
