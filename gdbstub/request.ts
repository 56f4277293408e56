/**
 * Turns a packet payload into a typed request. Pure parsing: no target, no session state.
 * Anything GDB may send that we do not implement becomes `unsupported` (answered with an empty
 * packet); a packet we implement but cannot parse becomes `invalid` (answered with an error).
 */
import { decodeHex, parseHexBig, parseHexInt } from './hex.js';
import { parseThreadId, ThreadId } from './thread-id.js';
import type { WatchKind } from './target.js';

export type PointType = { kind: 'breakpoint'; hardware: boolean } | { kind: 'watchpoint'; access: WatchKind };

/** One vCont action; the thread is `all` when the action names none. */
export interface VContAction {
  action: 'continue' | 'step';
  thread: ThreadId;
}

export type Request =
  | { type: 'query-supported'; features: string[] }
  | { type: 'start-no-ack' }
  | { type: 'set-thread'; op: 'g' | 'c'; thread: ThreadId }
  | { type: 'read-features'; annex: string; offset: number; length: number }
  | { type: 'halt-reason' }
  | { type: 'thread-list-first' }
  | { type: 'thread-list-next' }
  | { type: 'thread-alive'; thread: ThreadId }
  | { type: 'thread-extra-info'; thread: ThreadId }
  | { type: 'current-thread' }
  | { type: 'attached' }
  | { type: 'read-registers' }
  /** Hex, two chars per byte, `xx` for a byte GDB does not know (left unchanged). */
  | { type: 'write-registers'; hex: string }
  | { type: 'read-register'; regnum: number }
  | { type: 'write-register'; regnum: number; data: Uint8Array }
  | { type: 'read-memory'; addr: bigint; length: number }
  | { type: 'write-memory'; addr: bigint; data: Uint8Array }
  | { type: 'insert-point' | 'remove-point'; point: PointType; addr: bigint; length: number }
  | { type: 'vcont-query' }
  | { type: 'vcont'; actions: VContAction[] }
  /** Legacy `c`/`C`/`s`/`S`: resume the `Hc` thread. */
  | { type: 'continue' | 'step' }
  | { type: 'reverse-step' }
  | { type: 'reverse-continue' }
  | { type: 'monitor'; command: string }
  | { type: 'detach' }
  /** `k` expects no reply, `vKill` expects OK. */
  | { type: 'kill'; reply: boolean }
  | { type: 'unsupported' }
  | { type: 'invalid'; reason: string };

const invalid = (reason: string): Request => ({ type: 'invalid', reason });

export function parseRequest(payload: Uint8Array): Request {
  const text = Buffer.from(payload).toString('latin1');
  if (text.length === 0) return { type: 'unsupported' };
  switch (text[0]) {
    case '?': return { type: 'halt-reason' };
    case 'g': return text === 'g' ? { type: 'read-registers' } : invalid('g takes no arguments');
    case 'G': return /^([0-9a-fA-F]{2}|xx)*$/.test(text.slice(1)) ? { type: 'write-registers', hex: text.slice(1) } : invalid('G needs hex register data');
    case 'p': return parseReadRegister(text.slice(1));
    case 'P': return parseWriteRegister(text.slice(1));
    case 'm': return parseReadMemory(text.slice(1));
    case 'M': return parseWriteMemoryHex(text.slice(1));
    case 'X': return parseWriteMemoryBinary(payload);
    case 'Z':
    case 'z': return parsePoint(text);
    case 'H': return parseSetThread(text);
    case 'T': return withThread(text.slice(1), (thread) => ({ type: 'thread-alive', thread }));
    case 'c':
    case 'C':
    case 's':
    case 'S': return parseLegacyResume(text);
    case 'b':
      if (text === 'bs') return { type: 'reverse-step' };
      if (text === 'bc') return { type: 'reverse-continue' };
      return { type: 'unsupported' };
    case 'D': return text === 'D' || /^D;[0-9a-fA-F]+$/.test(text) ? { type: 'detach' } : invalid('D takes an optional ;pid');
    case 'k': return { type: 'kill', reply: false };
    case 'v': return parseV(text);
    case 'q': return parseQuery(text);
    case 'Q': return text === 'QStartNoAckMode' ? { type: 'start-no-ack' } : { type: 'unsupported' };
    default: return { type: 'unsupported' };
  }
}

function withThread(text: string, make: (thread: ThreadId) => Request): Request {
  const thread = parseThreadId(text);
  return thread === null ? invalid(`bad thread id ${JSON.stringify(text)}`) : make(thread);
}

function parseReadRegister(args: string): Request {
  const regnum = parseHexInt(args);
  return regnum === null ? invalid('p needs a hex register number') : { type: 'read-register', regnum };
}

function parseWriteRegister(args: string): Request {
  const [num, value, ...rest] = args.split('=');
  const regnum = parseHexInt(num ?? '');
  const data = decodeHex(value ?? '');
  if (regnum === null || data === null || data.length === 0 || rest.length > 0) return invalid('P needs n=hexvalue');
  return { type: 'write-register', regnum, data };
}

/** `addr,length` with both hex; null when malformed. */
function parseRange(text: string): { addr: bigint; length: number } | null {
  const [a, l, ...rest] = text.split(',');
  const addr = parseHexBig(a ?? '');
  const length = parseHexInt(l ?? '');
  return addr === null || length === null || rest.length > 0 ? null : { addr, length };
}

function parseReadMemory(args: string): Request {
  const range = parseRange(args);
  return range === null ? invalid('m needs addr,length') : { type: 'read-memory', ...range };
}

function parseWriteMemoryHex(args: string): Request {
  const colon = args.indexOf(':');
  const range = colon < 0 ? null : parseRange(args.slice(0, colon));
  const data = colon < 0 ? null : decodeHex(args.slice(colon + 1));
  if (range === null || data === null) return invalid('M needs addr,length:hexdata');
  if (data.length !== range.length) return invalid(`M announces ${range.length} bytes but carries ${data.length}`);
  return { type: 'write-memory', addr: range.addr, data };
}

function parseWriteMemoryBinary(payload: Uint8Array): Request {
  const colon = payload.indexOf(0x3a);
  const range = colon < 0 ? null : parseRange(Buffer.from(payload.subarray(1, colon)).toString('latin1'));
  if (range === null) return invalid('X needs addr,length:binarydata');
  const data = new Uint8Array(payload.subarray(colon + 1));
  if (data.length !== range.length) return invalid(`X announces ${range.length} bytes but carries ${data.length}`);
  return { type: 'write-memory', addr: range.addr, data };
}

const POINT_TYPES: ReadonlyArray<PointType> = [
  { kind: 'breakpoint', hardware: false },
  { kind: 'breakpoint', hardware: true },
  { kind: 'watchpoint', access: 'write' },
  { kind: 'watchpoint', access: 'read' },
  { kind: 'watchpoint', access: 'access' },
];

function parsePoint(text: string): Request {
  // Zt,addr,kind[;cond_list...] — we advertise no conditions, so anything after ';' is ignored.
  const [t, a, k] = text.slice(1).split(';')[0]!.split(',');
  const point = /^[0-4]$/.test(t ?? '') ? POINT_TYPES[Number(t)] : undefined;
  if (point === undefined) return { type: 'unsupported' };
  const addr = parseHexBig(a ?? '');
  const length = parseHexInt(k ?? '');
  if (addr === null || length === null) return invalid(`${text[0]} needs type,addr,kind`);
  return { type: text[0] === 'Z' ? 'insert-point' : 'remove-point', point, addr, length };
}

function parseSetThread(text: string): Request {
  const op = text[1];
  if (op !== 'g' && op !== 'c') return { type: 'unsupported' };
  return withThread(text.slice(2), (thread) => ({ type: 'set-thread', op, thread }));
}

function parseLegacyResume(text: string): Request {
  const step = text[0] === 's' || text[0] === 'S';
  // C/S carry a signal first (ignored: a hart has no signals); c/s may carry an address.
  const withSignal = text[0] === 'C' || text[0] === 'S';
  const [signal, addr] = withSignal ? text.slice(1).split(';') : [undefined, text.slice(1)];
  if (withSignal && parseHexInt(signal ?? '') === null) return invalid(`${text[0]} needs a hex signal`);
  if (addr !== undefined && addr !== '') return invalid('resuming at another address is not supported; set $pc instead');
  return { type: step ? 'step' : 'continue' };
}

function parseV(text: string): Request {
  if (text === 'vCont?') return { type: 'vcont-query' };
  if (text.startsWith('vCont;')) return parseVCont(text.slice('vCont;'.length));
  if (text === 'vKill' || text.startsWith('vKill;')) return { type: 'kill', reply: true };
  return { type: 'unsupported' };
}

function parseVCont(args: string): Request {
  const actions: VContAction[] = [];
  for (const part of args.split(';')) {
    const [verb, threadText, ...rest] = part.split(':');
    if (rest.length > 0 || verb === undefined || verb === '') return invalid(`bad vCont action ${JSON.stringify(part)}`);
    let action: VContAction['action'];
    if (verb === 'c' || /^C[0-9a-fA-F]{2}$/.test(verb)) action = 'continue';
    else if (verb === 's' || /^S[0-9a-fA-F]{2}$/.test(verb)) action = 'step';
    else return invalid(`unsupported vCont action ${JSON.stringify(verb)}`);
    const thread = threadText === undefined ? { kind: 'all' as const } : parseThreadId(threadText);
    if (thread === null) return invalid(`bad thread id in vCont action ${JSON.stringify(part)}`);
    actions.push({ action, thread });
  }
  return { type: 'vcont', actions };
}

function parseQuery(text: string): Request {
  const [name, ...restParts] = text.split(':');
  const rest = restParts.join(':');
  switch (name) {
    case 'qSupported': return { type: 'query-supported', features: rest === '' ? [] : rest.split(';') };
    case 'qXfer': return parseXfer(rest);
    case 'qfThreadInfo': return { type: 'thread-list-first' };
    case 'qsThreadInfo': return { type: 'thread-list-next' };
    case 'qC': return { type: 'current-thread' };
    case 'qAttached': return { type: 'attached' };
  }
  if (text.startsWith('qThreadExtraInfo,')) return withThread(text.slice('qThreadExtraInfo,'.length), (thread) => ({ type: 'thread-extra-info', thread }));
  if (text.startsWith('qRcmd,')) {
    const bytes = decodeHex(text.slice('qRcmd,'.length));
    return bytes === null ? invalid('qRcmd needs a hex command') : { type: 'monitor', command: new TextDecoder().decode(bytes) };
  }
  return { type: 'unsupported' };
}

function parseXfer(args: string): Request {
  // features:read:ANNEX:OFFSET,LENGTH
  const [object, op, annex, range, ...rest] = args.split(':');
  if (object !== 'features' || op !== 'read') return { type: 'unsupported' };
  const parsed = parseRange(range ?? '');
  if (annex === undefined || parsed === null || rest.length > 0 || parsed.addr > BigInt(Number.MAX_SAFE_INTEGER)) {
    return invalid('qXfer:features:read needs annex:offset,length');
  }
  return { type: 'read-features', annex, offset: Number(parsed.addr), length: parsed.length };
}
