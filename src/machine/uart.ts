import { ByteRing, consoleInRing } from '../shm/byte-ring.js';
import { DEVICE_REGIONS } from '../shm/layout.js';
import { acquire, release, tryAcquire } from '../shm/lock.js';
import type { DeviceEnv, IrqSink, MmioDevice } from './device.js';
import { UART0_BASE, UART0_IRQ, UART0_SIZE } from './memmap.js';

/** NS16550A register offsets (reg-shift 0). */
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

const IER_ERBFI = 0x01; // received data available
const IER_ETBEI = 0x02; // transmitter holding register empty
const IIR_NO_INTERRUPT = 0x01;
const IIR_THR_EMPTY = 0x02;
const IIR_RX_DATA = 0x04;
const IIR_FIFOS_ENABLED = 0xc0;
const FCR_FIFO_ENABLE = 0x01;
const LCR_DLAB = 0x80;
const LSR_DATA_READY = 0x01;
/** Output is instantaneous, so the transmitter is always empty. */
const LSR_THRE_TEMT = 0x60;
/** No modem attached: carrier, data-set-ready and clear-to-send asserted, as QEMU reports. */
const MSR_IDLE = 0xb0;

/** Int32 word indices in the shared state region (word 0 is the lock). */
const LOCK = 0;
const W_IER = 1;
const W_LCR = 2;
const W_MCR = 3;
const W_SCR = 4;
const W_DLL = 5;
const W_DLM = 6;
const W_FCR = 7;
/** 16550 "THRE interrupt pending" latch: set when THR empties or ETBEI is enabled. */
const W_THR_IPENDING = 8;
/** Level last driven onto the PLIC line. */
const W_IRQ_LEVEL = 9;
/** Bytes ever transmitted: the console offset of the next byte (for recorded output positions). */
const W_TX_COUNT = 10;
const STATE_WORDS = 11;

export class Uart implements MmioDevice {
  readonly name = 'uart0';
  readonly base = UART0_BASE;
  readonly size = UART0_SIZE;
  readonly stateOffset = DEVICE_REGIONS.uart0.offset;
  private readonly state: Int32Array;
  private readonly input: ByteRing;

  constructor(
    private readonly env: DeviceEnv,
    private readonly irq: IrqSink,
  ) {
    this.state = new Int32Array(env.memory, this.stateOffset, STATE_WORDS);
    this.input = consoleInRing(env.memory);
  }

  /**
   * Main thread, after pushing bytes into the console-in ring: raises the receive interrupt.
   * Never blocks: a hart may hold the UART lock while it waits for the main thread to drain console
   * output, so waiting here could deadlock. Returns false when the UART was busy; call it again
   * shortly (for instance after the next console drain).
   */
  pollInput(): boolean {
    if (!tryAcquire(this.state, LOCK)) return false;
    try {
      this.updateIrq();
    } finally {
      release(this.state, LOCK);
    }
    return true;
  }

  /**
   * A hart feeds console input at a safe point (recording and replay pin input to a position in
   * its instruction stream). It holds the device bus, so nobody else is inside the UART.
   */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) this.input.push(b);
    acquire(this.state, LOCK);
    try {
      this.updateIrq();
    } finally {
      release(this.state, LOCK);
    }
  }

  read(offset: number, _width: number, _hart: number): bigint {
    const s = this.state;
    const dlab = (s[W_LCR]! & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL: {
        if (dlab) return BigInt(s[W_DLL]!);
        const byte = this.input.pop();
        this.updateIrq();
        return BigInt(byte < 0 ? 0 : byte);
      }
      case IER_DLM:
        return BigInt(dlab ? s[W_DLM]! : s[W_IER]!);
      case IIR_FCR:
        return BigInt(this.readIir());
      case LCR:
        return BigInt(s[W_LCR]!);
      case MCR:
        return BigInt(s[W_MCR]!);
      case LSR:
        return BigInt(LSR_THRE_TEMT | (this.input.available() > 0 ? LSR_DATA_READY : 0));
      case MSR:
        return BigInt(MSR_IDLE);
      case SCR:
        return BigInt(s[W_SCR]!);
      default:
        return 0n;
    }
  }

  write(offset: number, _width: number, value: bigint, hart: number): void {
    const s = this.state;
    const byte = Number(value & 0xffn);
    const dlab = (s[W_LCR]! & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) {
          s[W_DLL] = byte;
        } else {
          this.env.emitConsole(byte);
          this.env.consoleWritten?.(hart, s[W_TX_COUNT]!);
          s[W_TX_COUNT] = (s[W_TX_COUNT]! + 1) | 0;
          // The byte leaves at once, so THR is empty again: the THRE interrupt becomes pending.
          s[W_THR_IPENDING] = 1;
          this.updateIrq();
        }
        return;
      case IER_DLM:
        if (dlab) {
          s[W_DLM] = byte;
        } else {
          const previous = s[W_IER]!;
          s[W_IER] = byte & 0x0f;
          // Enabling ETBEI while THR is empty raises the THRE interrupt (Linux tests this).
          if (byte & IER_ETBEI && !(previous & IER_ETBEI)) s[W_THR_IPENDING] = 1;
          if (!(byte & IER_ETBEI)) s[W_THR_IPENDING] = 0;
          this.updateIrq();
        }
        return;
      case IIR_FCR:
        // The receive-FIFO reset bit is deliberately ignored: input not yet read lives in the
        // host-side ring, which a guest FIFO reset should not throw away.
        s[W_FCR] = byte & FCR_FIFO_ENABLE;
        return;
      case LCR:
        s[W_LCR] = byte;
        return;
      case MCR:
        s[W_MCR] = byte & 0x1f;
        return;
      case SCR:
        s[W_SCR] = byte;
        return;
      default:
        return; // LSR and MSR are read-only
    }
  }

  /** Reports the highest-priority pending interrupt; reading it acknowledges a THRE interrupt. */
  private readIir(): number {
    const s = this.state;
    const fifoBits = s[W_FCR]! & FCR_FIFO_ENABLE ? IIR_FIFOS_ENABLED : 0;
    const ier = s[W_IER]!;
    let id = IIR_NO_INTERRUPT;
    if (ier & IER_ERBFI && this.input.available() > 0) {
      id = IIR_RX_DATA;
    } else if (ier & IER_ETBEI && s[W_THR_IPENDING]) {
      id = IIR_THR_EMPTY;
      s[W_THR_IPENDING] = 0;
      this.updateIrq();
    }
    return fifoBits | id;
  }

  /**
   * Recomputes the interrupt line after an event (as QEMU's serial_update_irq): while an interrupt
   * condition holds, every event asserts the line again, which makes the PLIC source pending again
   * (that is what re-delivers a THR-empty interrupt a driver never acknowledged through IIR, e.g.
   * xv6's, after its next byte); a low line is only reported when it drops. Lock held.
   */
  private updateIrq(): void {
    const s = this.state;
    const ier = s[W_IER]!;
    const level =
      (ier & IER_ERBFI && this.input.available() > 0) || (ier & IER_ETBEI && s[W_THR_IPENDING] !== 0) ? 1 : 0;
    if (level === 0 && s[W_IRQ_LEVEL] === 0) return;
    s[W_IRQ_LEVEL] = level;
    this.irq.setIrq(UART0_IRQ, level === 1);
  }
}
