import { ByteRing } from '../src/shm/byte-ring.js';
import { freshSharedBuffer } from '../src/shm/layout.js';
import { EventRing, eventRingBytes } from './event-ring.js';
import { OwnershipTable, ownershipBytes } from './ownership.js';

/** Records per hart ring; a full ring blocks its hart until the coordinator drains it. */
export const EVENT_RING_RECORDS = 1 << 15;
const INPUT_RING_BYTES = 4096;
const INPUT_RING_SPACE = 64 + INPUT_RING_BYTES;

export interface RecordingLayout {
  harts: number;
  ramPages: number;
}

/**
 * The shared memory a recording adds to the machine: the CREW ownership table, one event ring
 * per hart, and the staging ring where the coordinator leaves console input for hart 0 to inject
 * at a safe point. Every thread builds this view over the same SharedArrayBuffer.
 */
export class RecordingState {
  readonly ownership: OwnershipTable;
  readonly rings: EventRing[];
  readonly stagedInput: ByteRing;

  constructor(readonly buffer: SharedArrayBuffer, readonly layout: RecordingLayout) {
    const resources = layout.ramPages + 1;
    let offset = 0;
    this.stagedInput = new ByteRing(buffer, offset, INPUT_RING_BYTES);
    offset += INPUT_RING_SPACE;
    this.rings = [];
    for (let h = 0; h < layout.harts; h++) {
      this.rings.push(new EventRing(buffer, offset, EVENT_RING_RECORDS));
      offset += eventRingBytes(EVENT_RING_RECORDS);
    }
    this.ownership = new OwnershipTable(buffer, offset, { resources, harts: layout.harts });
  }

  static create(layout: RecordingLayout): RecordingState {
    const bytes = INPUT_RING_SPACE + layout.harts * eventRingBytes(EVENT_RING_RECORDS) +
      ownershipBytes({ resources: layout.ramPages + 1, harts: layout.harts });
    return new RecordingState(freshSharedBuffer(bytes), layout);
  }
}
