/**
 * GDB thread ids. A thread is a hart: tid = hart index + 1 in the single process 1. On the wire a
 * thread id is hex, `0` (any thread) or `-1` (all threads), optionally in multiprocess syntax
 * `pPID.TID` / `pPID` (all threads of PID) when GDB announced `multiprocess+`.
 */

export type ThreadId = { kind: 'all' } | { kind: 'any' } | { kind: 'thread'; tid: number };

/** The only process: every hart belongs to it. */
const PID = 1;

function parsePart(text: string): ThreadId | null {
  if (text === '-1') return { kind: 'all' };
  if (!/^[0-9a-fA-F]{1,8}$/.test(text)) return null;
  const value = parseInt(text, 16);
  return value === 0 ? { kind: 'any' } : { kind: 'thread', tid: value };
}

/** Parses either syntax; null when malformed. The process id is checked for syntax only. */
export function parseThreadId(text: string): ThreadId | null {
  if (!text.startsWith('p')) return parsePart(text);
  const dot = text.indexOf('.');
  const pid = parsePart(dot < 0 ? text.slice(1) : text.slice(1, dot));
  if (pid === null) return null;
  return dot < 0 ? { kind: 'all' } : parsePart(text.slice(dot + 1));
}

export function formatThreadId(hart: number, multiprocess: boolean): string {
  const tid = (hart + 1).toString(16).padStart(2, '0');
  return multiprocess ? `p${PID.toString(16).padStart(2, '0')}.${tid}` : tid;
}

/** The hart a thread id names, or null for `any`/`all` and for tids outside 1..harts. */
export function hartOf(thread: ThreadId, harts: number): number | null {
  return thread.kind === 'thread' && thread.tid >= 1 && thread.tid <= harts ? thread.tid - 1 : null;
}
