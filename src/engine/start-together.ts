/**
 * Whether a machine's harts start together on its first host thread, its other threads started
 * only once they spread (engine/hart-migration.ts: a plain run's 'balance', a parallel recording's
 * 'collapse'): with more harts than threads, on more than one thread. A second isolate costs ~100
 * ms of CPU before it runs anything and then warms up its own copy of the emulator, while guests
 * such as the 4-hart Linux boot are one hart's work at a time. HINDSIGHT_BALANCE=0: every thread
 * from the start, each hart on its own. Its own module (no imports): the CLI's entry reads it to
 * know how many workers to start ahead (cli/cli.ts).
 */
export function startsTogether(harts: number, threads: number): boolean {
  return process.env.HINDSIGHT_BALANCE !== '0' && threads > 1 && harts > threads;
}
