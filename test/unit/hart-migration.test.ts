import { describe, expect, test } from 'vitest';
import { DEFAULT_CPU_FEATURES } from '../../src/cpu/features.js';
import { Board } from '../../src/machine/board.js';
import { createSharedMemory, sharedBuffer } from '../../src/shm/layout.js';
import { powerOn } from '../../src/engine/machine-factory.js';
import { HartRecorder } from '../../recorder/hart-recorder.js';
import { RecordingState } from '../../recorder/recording-state.js';
import { BatchEncoder, decodeBatch } from '../../traces/event-codec.js';
import type { TraceEvent } from '../../traces/events.js';
import { RoundRobin, ScheduledHart, SerialScheduler } from '../../src/engine/serial-scheduler.js';
import { HartMigration, freshForVote, migrationTableBytes, type MigrationSetup } from '../../src/engine/hart-migration.js';
import type { HartRunner, SliceStatus } from '../../src/engine/hart-runner.js';
import type { Hart } from '../../src/cpu/hart.js';

const RAM_BYTES = 1 << 20;
const PAGE = 7;

/** A hart whose turns retire `step` instructions each and are written down in `turns`. */
function fakeSlot(id: number, turns: number[], step = 10): ScheduledHart {
  const hart = { id, icount: 0, exitRequested: false, timeSource: () => 0n } as unknown as Hart;
  const runner = {
    runSlice(until: number): SliceStatus {
      turns.push(id);
      hart.icount = Math.min(until, hart.icount + step);
      return 'yield';
    },
    finish() {},
  } as unknown as HartRunner;
  return { hart, runner, supervisor: {} as ScheduledHart['supervisor'] };
}

describe('the scheduler of a thread whose harts come and go (hart migration)', () => {
  test('a hart added between turns runs from the next round; one removed loses its turns at once', () => {
    const turns: number[] = [];
    let n = 0;
    const sched = new SerialScheduler({} as Board, [fakeSlot(0, turns), fakeSlot(1, turns)], {
      policy: new RoundRobin(10),
      stalled: () => 'continue',
      betweenTurns(s) {
        n++;
        if (n === 1) s.add(fakeSlot(3, turns)); // after hart 0's first turn: joins the next round
        if (n === 3) s.remove(1); // after hart 0's second turn: hart 1's turn in this round is skipped
        if (n === 6) {
          s.remove(0);
          s.remove(3);
        }
      },
      awaitHarts: () => false,
    });
    expect(sched.runTurns()).toBe('end');
    expect(turns).toEqual([0, 1, 0, 3, 0, 3]);
    expect(sched.members()).toEqual([]);
  });

  test('with no harts left it asks awaitHarts, which may bring one, and ends when it says so', () => {
    const turns: number[] = [];
    let asked = 0;
    const later = fakeSlot(5, turns);
    const sched = new SerialScheduler({} as Board, [], {
      policy: new RoundRobin(10),
      stalled: () => 'continue',
      betweenTurns(s) { if (turns.length === 3) s.remove(5); },
      awaitHarts(s) {
        asked++;
        if (asked === 2) s.add(later); // arrives on the second look
        return asked < 4;
      },
    });
    expect(sched.runTurns()).toBe('end');
    expect(turns).toEqual([5, 5, 5]);
    expect(asked).toBe(4);
  });
});

describe('a recorder handed to another thread goes on where it stopped', () => {
  test('rights logged, release numbers and check positions carry over; nothing is logged twice', () => {
    const memory = createSharedMemory(RAM_BYTES);
    const config = { harts: 2, ramBytes: RAM_BYTES, rom: new Uint8Array(0x100), tohost: null, fromhost: null, disks: [], cpu: DEFAULT_CPU_FEATURES };
    const boardA = new Board(sharedBuffer(memory), config);
    powerOn(boardA);
    const boardB = new Board(sharedBuffer(memory), config); // another thread's view of the same machine
    const state = RecordingState.create({ harts: 2, ramPages: RAM_BYTES / 4096 });
    const opts = { checkInterval: 1000, tenure: 0, maxInsns: Number.MAX_SAFE_INTEGER };
    const events = (hart: number): TraceEvent[] => {
      const enc = new BatchEncoder(hart);
      if (state.rings[hart]!.drainInto(enc) === 0) return [];
      return decodeBatch(enc.take().payload).events;
    };
    const [a0, a1] = boardA.harts;
    const r0 = new HartRecorder(a0!, state, boardA.control, boardA.clock, boardA.uart, opts);
    const r1 = new HartRecorder(a1!, state, boardA.control, boardA.clock, boardA.uart, opts);
    expect(r0.permit(PAGE, true)).toBe(true);
    expect(r1.permit(PAGE, true)).toBe(false); // asks hart 0
    a0!.icount = 10;
    r0.safePoint(a0!); // release seq 1
    expect(r1.permit(PAGE, true)).toBe(true);
    expect(r0.permit(PAGE, true)).toBe(false); // asks hart 1 back
    a1!.icount = 20;
    r1.safePoint(a1!);
    a0!.icount = 30;
    expect(r0.permit(PAGE, true)).toBe(true);
    expect(events(0).map((e) => e.kind)).toEqual(['acquire', 'release', 'acquire']);
    events(1);

    // Hart 0 moves to board B's thread, holding the page.
    a0!.syncOut();
    const moved = new HartRecorder(boardB.harts[0]!, state, boardB.control, boardB.clock, boardB.uart, opts, r0.handOver());
    const b0 = boardB.harts[0]!;
    b0.syncIn();
    expect(b0.icount).toBe(30);
    expect(moved.permit(PAGE, true)).toBe(true); // held and logged already: no second acquire
    expect(events(0)).toEqual([]);
    expect(r1.permit(PAGE, true)).toBe(false);
    b0.icount = 40;
    moved.safePoint(b0);
    const [release] = events(0);
    expect(release).toEqual({ kind: 'release', icount: 40, resource: PAGE, seq: 2 }); // numbering goes on
    b0.icount = 1000;
    moved.safePoint(b0);
    expect(events(0).map((e) => e.kind)).toEqual(['check']); // the check interval's position carried over
    b0.icount = 1500;
    moved.safePoint(b0);
    expect(events(0)).toEqual([]);
  });
});

describe('collapse votes on gathering only with a new period from every thread', () => {
  test("a thread's first period (its start-up) and a period already weighed do not vote", () => {
    const voted = new Int32Array(2);
    expect(freshForVote([1, 1], voted)).toBe(false); // both in their start-up
    expect(freshForVote([2, 1], voted)).toBe(false);
    expect(freshForVote([2, 2], voted)).toBe(true);
    expect([...voted]).toEqual([2, 2]);
    expect(freshForVote([3, 2], voted)).toBe(false); // thread 1's share was weighed in the last vote
    expect([...voted]).toEqual([2, 2]);
    expect(freshForVote([4, 3], voted)).toBe(true);
    expect([...voted]).toEqual([4, 3]);
  });
});

describe('the migration table', () => {
  test('lays out for any number of harts and threads (its Float64 fields 8-byte aligned)', () => {
    for (let harts = 1; harts <= 6; harts++) {
      for (let threads = 1; threads <= 5; threads++) {
        const setup = {
          table: new SharedArrayBuffer(migrationTableBytes(harts, threads)), channel: `hindsight-test-${harts}-${threads}-${Math.random()}`, policy: 'collapse',
          thread: 0, anchors: Array.from({ length: threads }, (_, t) => t), homes: [], own: [], startTogether: false, spawn() {},
          control: {} as MigrationSetup['control'], harts: Array.from({ length: harts }, () => ({}) as Hart), arrive: () => { throw new Error('no arrivals'); }, leave: () => null,
        } satisfies MigrationSetup;
        new HartMigration(setup).close();
      }
    }
  });
});
