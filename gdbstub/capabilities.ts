/**
 * What this stub can do for a given target, and what the client said it understands. qSupported's
 * reply is derived from these, never written by hand elsewhere.
 */
import type { DebugTarget, ReverseExecution } from './target.js';

export interface Capabilities {
  /** The target's reverse-execution capability, if it has one (`bs`, `bc`, ReverseStep+/ReverseContinue+). */
  reverse: ReverseExecution | null;
}

export function capabilitiesOf(target: DebugTarget): Capabilities {
  return { reverse: target.reverse ?? null };
}

/** The reply to qSupported. */
export function supportedReply(caps: Capabilities, packetSize: number): string {
  const features = [
    `PacketSize=${packetSize.toString(16)}`,
    'qXfer:features:read+',
    'vContSupported+',
    'multiprocess+',
    'swbreak+',
    'hwbreak+',
    'QStartNoAckMode+',
  ];
  if (caps.reverse !== null) features.push('ReverseStep+', 'ReverseContinue+');
  return features.join(';');
}

/** Protocol extensions GDB offered in its qSupported packet that change our replies. */
export interface ClientFeatures {
  /** Thread ids in `pPID.TID` syntax. */
  multiprocess: boolean;
  /** Stop replies may say `swbreak:`. */
  swbreak: boolean;
}

export const LEGACY_CLIENT: ClientFeatures = { multiprocess: false, swbreak: false };

export function clientFeatures(offered: string[]): ClientFeatures {
  return { multiprocess: offered.includes('multiprocess+'), swbreak: offered.includes('swbreak+') };
}
