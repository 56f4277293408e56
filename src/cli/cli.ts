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
 * the most a parallel replay groups its harts on). A wrong guess costs an idle worker (~60 ms for a
 * 1-hart trace) or a later one (a 2-hart parallel replay of bench_parallel took ~60 ms longer).
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
  return Math.min(harts, threads);
}

tuneHostMalloc(); // before any worker starts (host/malloc-tune.ts); the debugger's timeline compiles too
if (['run', 'record', 'replay'].includes(process.argv[2])) startHartWorkers(workersWanted(process.argv), WORKER_PLUGIN_OF_COMMAND[process.argv[2]]);
await (await import('./program.js')).main();
