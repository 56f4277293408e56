import { RunOptions } from '../src/host/coordinator.js';
import { DiskSpec, PreparedMachine, diskRole } from '../src/machine/loader.js';
import { RecordedMachine } from '../traces/types.js';
import { type CpuFeatures, parseCpuFeatures } from '../src/cpu/features.js';
import { TraceError } from '../traces/trace-error.js';
import { TraceImage, TraceReader } from '../traces/trace-reader.js';
import { sha256Hex } from '../traces/trace-writer.js';

/** Everything needed to rebuild the machine a trace was recorded on, from the trace alone. */
export interface RecordedSetup {
  machine: RecordedMachine;
  /** Where each hart's recording ends (its final icount). */
  finals: number[];
  /** Boot options whose images come from the trace. */
  options: RunOptions;
  images: Map<string, TraceImage>;
}

/** The CPU of traces recorded before --cpu existed: rv64imac, no optional extension. */
const LEGACY_CPU: Readonly<CpuFeatures> = Object.freeze({ f: false, d: false, sstc: false, zba: false, zbb: false, zbs: false, zihintpause: false });

export function recordedSetup(reader: TraceReader, tracePath: string): RecordedSetup {
  const m = reader.header.machine as Partial<RecordedMachine>;
  const ok = Number.isInteger(m.harts) && Number.isInteger(m.ramBytes) && typeof m.append === 'string' &&
    (reader.header.sched !== 'serial' || (Number.isInteger(m.serialQuantum) && (m.serialQuantum as number) > 0));
  if (!ok) throw new TraceError(`trace ${reader.path} is damaged: its machine configuration is incomplete`);
  const machine = m as RecordedMachine;
  const cpu = machine.cpu === undefined ? LEGACY_CPU : parseCpuFeatures(String(machine.cpu), LEGACY_CPU);
  if (typeof cpu === 'string') throw new TraceError(`trace ${reader.path} is damaged: its CPU configuration '${machine.cpu}' does not parse (${cpu})`);
  const images = new Map(reader.images.map((i) => [i.role, i]));
  const pathOf = (role: string) => (images.has(role) ? images.get(role)!.path ?? role : null);
  const options: RunOptions = {
    harts: machine.harts, ramBytes: machine.ramBytes, append: machine.append,
    bios: machine.bios ? pathOf('bios') : null, kernel: machine.kernel ? pathOf('kernel') : null, initrd: machine.initrd ? pathOf('initrd') : null,
    cpu: { ...cpu, sfenceByAddress: machine.sfence === 'address' }, isaExtensionsInDtb: machine.cpu !== undefined,
    disks: recordedDisks(machine, pathOf), diskWritable: false, timeoutSeconds: null, maxInsns: Number.POSITIVE_INFINITY,
    readImage: (role) => {
      const disk = /^disk image(?: (\d+))?$/.exec(role);
      const img = images.get(role === 'firmware' ? 'bios' : disk ? diskRole(disk[1] ? Number(disk[1]) - 1 : 0) : role);
      if (!img) throw new TraceError(`trace ${tracePath} is damaged: it has no ${role} image`);
      return img.bytes;
    },
  };
  return { machine, finals: finalIcounts(reader, machine.harts), options, images };
}

function recordedDisks(machine: RecordedMachine, pathOf: (role: string) => string | null): DiskSpec[] {
  if (machine.diskSlots) return machine.diskSlots.map((slot, index) => ({ path: pathOf(diskRole(index)) ?? diskRole(index), slot }));
  return machine.disk ? [{ path: pathOf('disk') ?? 'disk', slot: null }] : [];
}

/** Where each hart stopped: the summary's counts, or for an unfinished recording each hart's last event. */
function finalIcounts(reader: TraceReader, harts: number): number[] {
  if (reader.summary && reader.summary.icounts.length === harts) return reader.summary.icounts;
  const last = new Array<number>(harts).fill(0);
  for (let h = 0; h < harts; h++) for (const e of reader.events(h)) last[h] = e.icount;
  return last;
}

/** Refuses a trace whose machine this build of hindsight would build differently. */
export function checkSameMachine(prepared: PreparedMachine, setup: RecordedSetup, reader: TraceReader): void {
  const dtb = prepared.images.find((i) => i.role === 'dtb');
  const recordedDtb = setup.images.get('dtb');
  if (dtb && recordedDtb && sha256Hex(dtb.bytes) !== sha256Hex(recordedDtb.bytes)) {
    throw new TraceError(`trace ${reader.path} describes a machine this hindsight builds differently (device tree differs); it was recorded by hindsight ${reader.toolVersion}`);
  }
}
