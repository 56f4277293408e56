#!/usr/bin/env node
/**
 * The `hindsight` command. Its first step, before loading the rest of the CLI, starts the hart
 * worker thread of the commands that run a machine, so that the worker loads its modules while this
 * thread loads its own and sets the machine up (host/worker-pool.ts): process start to the first
 * guest instruction. Then program.ts parses the command line and runs the command.
 */
import { startHartWorkers } from '../host/worker-pool.js';

if (['run', 'record', 'replay'].includes(process.argv[2])) startHartWorkers(1);
await (await import('./program.js')).main();
