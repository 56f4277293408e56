import { parentPort, workerData } from 'node:worker_threads';
import { Board } from '../machine/board.js';
import { BoardConfig } from '../machine/config.js';
import { HartRunner } from './hart-runner.js';
import { StopReason, sharedBuffer } from './layout.js';

/** Message a hart worker receives at start. */
export interface HartWorkerInit {
  memory: WebAssembly.Memory;
  config: BoardConfig;
  hartId: number;
  maxInsns: number;
}

/** Message a hart worker posts when it leaves its loop. */
export type HartWorkerResult =
  | { kind: 'done'; hartId: number; icount: number }
  | { kind: 'fatal'; hartId: number; message: string; stack?: string };

const init = workerData as HartWorkerInit;
const memory = sharedBuffer(init.memory);
const board = new Board(memory, init.config);
const hart = board.harts[init.hartId];
try {
  hart.syncIn();
  new HartRunner(hart, board.control, { maxInsns: init.maxInsns }).run();
  parentPort!.postMessage({ kind: 'done', hartId: init.hartId, icount: hart.icount } satisfies HartWorkerResult);
} catch (err) {
  // An emulator bug, not a guest problem: stop the whole machine and report it.
  const e = err as Error;
  hart.syncOut();
  board.control.requestStop(StopReason.Fatal, 1);
  parentPort!.postMessage({ kind: 'fatal', hartId: init.hartId, message: e.message, stack: e.stack } satisfies HartWorkerResult);
}
