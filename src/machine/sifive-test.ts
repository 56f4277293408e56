import { DEVICE_REGIONS } from '../shm/layout.js';
import type { MmioDevice } from './device.js';
import { TEST_DEVICE_BASE, TEST_DEVICE_SIZE } from './memmap.js';

const FINISHER_FAIL = 0x3333;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;

export type ExitKind = 'poweroff' | 'reboot';

/**
 * SiFive test finisher: the guest powers off (0x5555), fails with an exit code
 * ((code << 16) | 0x3333) or reboots (0x7777). Other values are ignored, as in QEMU.
 */
export class SifiveTest implements MmioDevice {
  readonly name = 'sifive-test';
  readonly base = TEST_DEVICE_BASE;
  readonly size = TEST_DEVICE_SIZE;
  readonly stateOffset = DEVICE_REGIONS.test.offset;

  constructor(private readonly onExit: (kind: ExitKind, code: number) => void) {}

  read(_offset: number, _width: number, _hart: number): bigint {
    return 0n;
  }

  write(offset: number, _width: number, value: bigint, _hart: number): void {
    if (offset !== 0) return;
    const word = Number(value & 0xffffffffn);
    switch (word & 0xffff) {
      case FINISHER_PASS:
        this.onExit('poweroff', 0);
        return;
      case FINISHER_FAIL:
        this.onExit('poweroff', word >>> 16);
        return;
      case FINISHER_RESET:
        this.onExit('reboot', 0);
        return;
    }
  }
}
