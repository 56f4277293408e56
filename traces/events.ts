/**
 * The events of a recording: everything nondeterministic that happened to one hart, each at the
 * hart's position (its retired-instruction count, `icount`) where it took effect. A hart's
 * stream is ordered by icount (several events may share one icount; their order is meaningful).
 *
 * Resources are what CREW ownership tracks: RAM page n (4 KiB, counted from the start of RAM) is
 * resource n; resource `ramPages` is the device bus (all MMIO devices as one region).
 */
export interface ReleaseRef {
  hart: number;
  /** The hart's release sequence number (1, 2, ... in the order that hart released). */
  seq: number;
}

export type TraceEvent =
  /** Before the instruction at icount, the hart gained access to `resource`; on replay it waits until every named release has happened. */
  | { kind: 'acquire'; icount: number; resource: number; write: boolean; after: ReleaseRef[] }
  /** At icount the hart gave up (or downgraded) its access to `resource`; this is its release number `seq`. */
  | { kind: 'release'; icount: number; resource: number; seq: number }
  /** From icount on, the hart's device-driven interrupt lines (mip bits MSIP/MTIP/SEIP/MEIP) read `lines`. */
  | { kind: 'irq'; icount: number; lines: number }
  /** The instruction at icount read the clock (time CSR or CLINT mtime) and got `value`. */
  | { kind: 'time'; icount: number; value: bigint }
  /** Before the instruction at icount, the hart fed these console input bytes to the UART. */
  | { kind: 'input'; icount: number; bytes: Uint8Array }
  /** At icount the hash of the hart's registers (x1..x31, pc, privilege) was `hash`: replay compares. */
  | { kind: 'check'; icount: number; hash: bigint }
  /**
   * At icount the hart had taken `count` exceptions (which retire nothing) since its last retired
   * instruction; the events after this one at the same icount happened after those exceptions.
   * Written only before such events (see HartRecorder.log) and where a hart's recording ended.
   */
  | { kind: 'trap'; icount: number; count: number };

export type TraceEventKind = TraceEvent['kind'];
export const EVENT_KINDS: readonly TraceEventKind[] = ['acquire', 'release', 'irq', 'time', 'input', 'check', 'trap'];
