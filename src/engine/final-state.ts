import { createHash } from 'node:crypto';
import { RAM_OFFSET } from '../shm/layout.js';
import { Board } from '../machine/board.js';
import { stateHash } from '../../recorder/state-hash.js';

/**
 * Per-hart fingerprints of the machine's final state: the hart's registers, pc and privilege plus
 * a hash of all of guest RAM, so a replay that differs anywhere in memory differs in every entry.
 */
export function finalStateHashes(board: Board): string[] {
  const ram = new Uint8Array(board.memory, RAM_OFFSET, board.config.ramBytes);
  const ramHash = createHash('sha256').update(ram).digest('hex');
  return board.harts.map((h) => createHash('sha256').update(`${stateHash(h).toString(16)}:${h.icount}:${ramHash}`).digest('hex').slice(0, 32));
}
