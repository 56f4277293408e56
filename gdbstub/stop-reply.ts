/** Formats a StopEvent as a GDB stop reply (`T`/`W` packets). */
import type { ClientFeatures } from './capabilities.js';
import { encodeHex } from './hex.js';
import type { StopEvent } from './target.js';
import { formatThreadId } from './thread-id.js';

const SIGINT = '02';
const SIGTRAP = '05';

const WATCH_KEYS = { write: 'watch', read: 'rwatch', access: 'awatch' } as const;

export interface StopReply {
  /** Text for an `O` console-output packet sent before the reply (only while resuming). */
  console?: string;
  reply: string;
}

export function formatStopReply(event: StopEvent, client: ClientFeatures): StopReply {
  if (event.kind === 'exited') return { reply: `W${(event.code & 0xff).toString(16).padStart(2, '0')}` };
  const thread = `thread:${formatThreadId(event.hart, client.multiprocess)};`;
  switch (event.kind) {
    case 'step':
      return { reply: `T${SIGTRAP}${thread}` };
    case 'breakpoint':
      return { reply: `T${SIGTRAP}${thread}${client.swbreak ? 'swbreak:;' : ''}` };
    case 'watch':
      return { reply: `T${SIGTRAP}${thread}${WATCH_KEYS[event.access]}:${event.addr.toString(16)};` };
    case 'interrupted':
      return { reply: `T${SIGINT}${thread}` };
    case 'history-begin':
      return { reply: `T${SIGTRAP}${thread}replaylog:begin;` };
    case 'history-end':
      return { reply: `T${SIGTRAP}${thread}replaylog:end;` };
    case 'error':
      return { console: `${event.message}\n`, reply: `T${SIGTRAP}${thread}` };
  }
}

/** `O` console-output packets carrying `text`, each payload at most `maxPacketBytes` long. */
export function consolePackets(text: string, maxPacketBytes: number): string[] {
  const bytes = new TextEncoder().encode(text);
  const chunk = Math.max(1, Math.floor((maxPacketBytes - 1) / 2));
  const packets: string[] = [];
  for (let i = 0; i < bytes.length; i += chunk) packets.push(`O${encodeHex(bytes.subarray(i, i + chunk))}`);
  return packets;
}
