import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './tools.js';

export const BUILD_LINUX_GUEST = join(ROOT, 'scripts', 'build-linux-guest.sh');

export interface LinuxGuest {
  /** Raw kernel image with our initramfs built in, for `--bios fw_jump.bin` (loaded at 0x80200000). */
  image: string;
  /** The same kernel as an ELF with symbols. */
  vmlinux: string;
}

/**
 * The Linux test guest (Linux 6.1 tinyconfig + test/guests/linux/kernel.config, our own init
 * programs in its initramfs), built by scripts/build-linux-guest.sh on first use and cached by a
 * hash of its inputs outside the repository. A missing tool or source package is an error naming
 * the Debian package: the tests fail, they never skip.
 */
export function linuxGuest(): LinuxGuest {
  const r = spawnSync('bash', [BUILD_LINUX_GUEST], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 40 * 60_000 });
  if (r.error) throw new Error(`${BUILD_LINUX_GUEST}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${BUILD_LINUX_GUEST} failed (exit ${r.status}):\n${r.stderr.trim().split('\n').slice(-15).join('\n')}`);
  const dir = r.stdout.trim().split('\n').pop() ?? '';
  const guest = { image: join(dir, 'Image'), vmlinux: join(dir, 'vmlinux') };
  if (!existsSync(guest.image) || !existsSync(guest.vmlinux)) throw new Error(`${BUILD_LINUX_GUEST} printed '${dir}', which has no Image and vmlinux`);
  return guest;
}
