import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Interactive } from './support/interactive.js';
import { DEFAULT_CPU_FEATURES, isaStringFor } from '../src/cpu/features.js';
import { CLI, OPENSBI_FW_JUMP, UBOOT_SMODE, requireTool } from './support/tools.js';

/** Boots OpenSBI (fw_jump) + U-Boot (S-mode) and stops autoboot at the prompt. */
async function bootToPrompt(harts: number, extra: string[] = []): Promise<Interactive> {
  const session = new Interactive(process.execPath, [CLI, 'run', '--harts', String(harts), '--timeout', '170',
    '--bios', OPENSBI_FW_JUMP, ...extra, UBOOT_SMODE]);
  const banner = await session.expect('Hit any key to stop autoboot', 120_000);
  expect(banner).toContain('OpenSBI v');
  expect(banner).toContain(`Platform HART Count       : ${harts}`);
  expect(banner).toContain('U-Boot 2023.01');
  session.type('\n');
  await session.expect('=> ');
  return session;
}

async function command(session: Interactive, line: string): Promise<string> {
  session.type(`${line}\n`);
  const reply = await session.expect('=> ');
  return reply.slice(0, -3);
}

describe('real firmware: OpenSBI + U-Boot on the virt board', () => {
  let dir: string;
  beforeAll(() => {
    requireTool(OPENSBI_FW_JUMP, 'opensbi');
    requireTool(UBOOT_SMODE, 'u-boot-qemu');
    dir = mkdtempSync(join(tmpdir(), 'hindsight-fw-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // 4 harts only: U-Boot on 2 harts boots, answers `version` and `cpu list` and is replayed in
  // record-replay.test.ts (the recording of typed input), so a plain 2-hart run adds nothing.
  test.each([4])('boots to the prompt on %i harts, answers commands and powers off cleanly', async (harts) => {
    const session = await bootToPrompt(harts);
    try {
      const version = await command(session, 'version');
      expect(version).toMatch(/U-Boot 2023\.01/);
      const cpus = await command(session, 'cpu list');
      // U-Boot lists each cpu node with its riscv,isa string: the one the default --cpu puts in the device tree.
      const isa = isaStringFor(DEFAULT_CPU_FEATURES);
      for (let h = 0; h < harts; h++) expect(cpus).toMatch(new RegExp(`${h}: cpu@${h}\\s+${isa}\\s`));
      expect(cpus).not.toMatch(new RegExp(`${harts}: cpu@${harts}`));
      session.type('poweroff\n');
      expect(await session.exit()).toBe(0);
      expect(session.stderr).toBe('');
    } finally {
      session.kill();
    }
  });

  test('virtio-blk: U-Boot reads the disk image; writes stay copy-on-write unless --disk-writable', async () => {
    const image = join(dir, 'disk.img');
    const content = Buffer.alloc(1024 * 1024);
    content.write('HINDSIGHT-DISK-0', 0, 'latin1');
    content.write('SECTOR100', 100 * 512, 'latin1');
    writeFileSync(image, content);

    for (const writable of [false, true]) {
      const session = await bootToPrompt(2, ['--disk', image, ...(writable ? ['--disk-writable'] : [])]);
      try {
        await command(session, 'virtio scan');
        expect(await command(session, 'virtio info')).toMatch(/Capacity: 1\.0 MB = 0\.0 GB \(2048 x 512\)/);
        expect(await command(session, 'virtio read 0x84000000 0 1')).toContain('1 blocks read: OK');
        expect(await command(session, 'md.b 0x84000000 0x10')).toContain('HINDSIGHT-DISK-0');
        expect(await command(session, 'virtio read 0x84000000 0x64 1')).toContain('1 blocks read: OK');
        expect(await command(session, 'md.b 0x84000000 0x9')).toContain('SECTOR100');
        await command(session, 'mw.b 0x84000000 0x41 0x200');
        expect(await command(session, 'virtio write 0x84000000 1 1')).toContain('1 blocks written: OK');
        await command(session, 'mw.b 0x84000000 0x00 0x200');
        expect(await command(session, 'virtio read 0x84000000 1 1')).toContain('1 blocks read: OK');
        expect(await command(session, 'md.b 0x84000000 0x4')).toContain('41 41 41 41');
        session.type('poweroff\n');
        expect(await session.exit()).toBe(0);
      } finally {
        session.kill();
      }
      const sector1 = readFileSync(image).subarray(512, 516).toString('latin1');
      expect(sector1).toBe(writable ? 'AAAA' : '\0\0\0\0');
    }
  });
});
