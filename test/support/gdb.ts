import { hindsight, RunResult } from './tools.js';

/**
 * Runs `hindsight debug TRACE` the way a user does (it starts gdb-multiarch, already connected,
 * with the guest's symbols) with GDB in batch mode executing `commands` one by one (`-ex`, so a
 * failing command does not skip the rest). Returns GDB's and the guest's output.
 */
export async function gdbSession(trace: string, commands: string[], extra: string[] = []): Promise<RunResult> {
  const args = ['debug', trace, ...extra, '--', '-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set width 0'];
  for (const c of commands) args.push('-ex', c);
  return hindsight(args, { timeoutMs: 170_000 });
}

/** The part of GDB's output between the markers `mark(name, ...)` printed. */
export function section(output: string, name: string): string {
  const start = output.indexOf(`<<${name}>>`);
  const end = output.indexOf(`<</${name}>>`);
  if (start < 0 || end < 0) throw new Error(`GDB output lacks section ${name}:\n${output.slice(-3000)}`);
  return output.slice(start + name.length + 4, end);
}

export function mark(name: string, commands: string[]): string[] {
  return [`echo <<${name}>>\\n`, ...commands, `echo <</${name}>>\\n`];
}
