import { Clock } from '../shm/clock.js';
import { consoleOutRing } from '../shm/byte-ring.js';
import { MachineControl } from '../shm/control.js';
import { RAM_OFFSET, StopReason } from '../shm/layout.js';
import { Hart } from '../cpu/hart.js';
import { Bus } from './bus.js';
import { Clint } from './clint.js';
import { BoardConfig } from './config.js';
import { DeviceEnv, MmioDevice } from './device.js';
import { Htif } from './htif.js';
import { RAM_BASE, VIRTIO_COUNT } from './memmap.js';
import { Plic } from './plic.js';
import { SifiveTest } from './sifive-test.js';
import { Uart } from './uart.js';
import { VirtioBlk, VirtioMmioEmpty } from './virtio-blk.js';

/**
 * One thread's view of the virt board: the bus with every device, and the harts. Every thread
 * (coordinator and hart workers) builds its own Board over the same shared memory; device and
 * hart state live in that memory, so all the views agree.
 */
export class Board {
  readonly control: MachineControl;
  readonly clock: Clock;
  readonly env: DeviceEnv;
  readonly bus: Bus;
  readonly clint: Clint;
  readonly plic: Plic;
  readonly uart: Uart;
  readonly harts: Hart[];
  /** false on replay: a guest's poweroff is noted, not obeyed (harts stop where the recording stopped them). */
  guestStopsMachine = true;
  /**
   * Guest-visible clock reads in this thread (CLINT mtime; the time CSR goes through the hart):
   * the host clock when running, the recorder or the trace when recording or replaying.
   */
  timeSource: () => bigint;
  /** Recording: told the console offset of every byte a hart of this thread transmits. */
  onConsoleByte: ((hart: number, offset: number) => void) | null = null;
  /** Debugger (everything on one thread): console bytes go here instead of the shared output ring. */
  consoleSink: ((byte: number) => void) | null = null;

  constructor(readonly memory: SharedArrayBuffer, readonly config: BoardConfig) {
    this.control = new MachineControl(memory, config.harts);
    this.clock = new Clock(memory);
    const clock = this.clock;
    const consoleOut = consoleOutRing(memory);
    this.timeSource = () => clock.mtime();
    const env: DeviceEnv = {
      memory,
      ram: new Uint8Array(memory, RAM_OFFSET, config.ramBytes),
      ramBase: RAM_BASE,
      harts: this.control,
      ramWritten: (ramOffset, length) => this.bus.noteRamWrite(RAM_BASE + ramOffset, length),
      consoleWritten: (hart, offset) => this.onConsoleByte?.(hart, offset),
      emitConsole: (byte) => (this.consoleSink ? this.consoleSink(byte) : consoleOut.pushBlocking(byte)),
      mtime: () => this.timeSource(),
    };
    this.env = env;
    this.clint = new Clint(env, clock);
    this.plic = new Plic(env, config.harts);
    this.uart = new Uart(env, this.plic);
    const test = new SifiveTest((kind, code) => this.guestExit(kind === 'reboot' ? StopReason.Reboot : StopReason.Poweroff, code));
    const devices: MmioDevice[] = [this.clint, this.plic, this.uart, test];
    for (let slot = 0; slot < VIRTIO_COUNT; slot++) {
      const disk = config.disks.find((d) => d.slot === slot);
      devices.push(disk
        ? new VirtioBlk(env, this.plic, slot, disk.buffer, { readOnly: disk.readOnly, writeThroughPath: disk.writeThroughPath ?? undefined })
        : new VirtioMmioEmpty(slot));
    }
    this.bus = new Bus(memory, config.ramBytes, devices, config.rom);
    if (config.tohost !== null) {
      const htif = new Htif(this.bus, config.tohost, config.fromhost, env.emitConsole,
        (code) => this.guestExit(StopReason.Poweroff, code));
      this.bus.watchPage(config.tohost);
      this.bus.onWatchedStore = (pa, size) => htif.onStore(pa, size);
    }
    this.harts = Array.from({ length: config.harts }, (_, id) => new Hart(id, this.bus, env, config.cpu));
  }

  private guestExit(reason: StopReason, code: number): void {
    if (this.guestStopsMachine) this.control.requestStop(reason, code);
    else this.control.noteGuestExit(reason, code);
  }
}
