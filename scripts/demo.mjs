#!/usr/bin/env node
// The bundled default job: shows hindsight running parallel guests on real host threads.
//  1. our racy-counter guest recorded on 4 harts (unsynchronised increments lose updates), then
//     replayed twice with exactly the same outcome;
//  2. a lost-update race recorded on 2 harts, debugged backwards in gdb-multiarch (batch mode):
//     watch the counter at the end, reverse-continue to the writes that made it, across harts;
//  3. real firmware: OpenSBI + U-Boot on 2 harts, with `cpu list` typed at the prompt.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const racy = join(root, 'test', 'guests', 'bin', 'smp_racy_counter.elf');
const opensbi = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
const uboot = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

console.log('== 1. Record a racy counter on 4 harts, each hart on its own host thread ==');
const trace = join(mkdtempSync(join(tmpdir(), 'hindsight-demo-')), 'race.trace');
const rec = spawnSync(process.execPath, [cli, 'record', '--harts', '4', '-o', trace, racy], { encoding: 'latin1' });
const lost = /info: lost=(\d+)/.exec(rec.stdout)?.[1] ?? '?';
console.log(`recorded: exit ${rec.status}, ${lost} increments lost to the race`);
console.log(rec.stderr.trim());
for (let run = 1; run <= 2; run++) {
  const rep = spawnSync(process.execPath, [cli, 'replay', trace], { encoding: 'latin1' });
  const again = /info: lost=(\d+)/.exec(rep.stdout)?.[1] ?? '?';
  console.log(`replay ${run}: exit ${rep.status}, ${again} increments lost — ${rep.stderr.trim().replace(/^hindsight: /, '')}`);
}
console.log(`Inspect it: node dist/src/cli/main.js trace info ${trace}`);

console.log('\n== 2. Debug a lost update backwards: which hart wrote the counter last, and before that? ==');
const dbgTrace = join(dirname(trace), 'dbg_race.trace');
const dbgElf = join(root, 'test', 'guests', 'bin', 'dbg_race.elf');
const dbgRec = spawnSync(process.execPath, [cli, 'record', '--harts', '2', '-o', dbgTrace, dbgElf], { encoding: 'latin1' });
console.log(dbgRec.stdout.trim());
const haveGdb = !spawnSync('gdb-multiarch', ['--version'], { stdio: 'ignore' }).error;
if (!haveGdb) {
  console.log('skipped: install gdb-multiarch (scripts/install-system-deps.sh)');
} else {
  const commands = ['break report', 'continue', 'watch counter', 'reverse-continue', 'reverse-continue', 'reverse-continue', 'info threads', 'kill'];
  console.log(`gdb: ${commands.join(' / ')}`);
  const dbg = spawnSync(process.execPath, [cli, 'debug', dbgTrace, '--', '-batch', '-nx', ...commands.flatMap((c) => ['-ex', c])], { encoding: 'latin1' });
  console.log(dbg.stdout.trim().split('\n').filter((l) => l.trim() && !l.startsWith('Kill the program')).map((l) => `  ${l}`).join('\n'));
  console.log(`Try it yourself: node dist/src/cli/main.js debug ${dbgTrace}`);
}
console.log('');

if (!existsSync(opensbi) || !existsSync(uboot)) {
  console.log('== 3. skipped: install the Debian packages opensbi and u-boot-qemu (scripts/install-system-deps.sh) ==');
  process.exit(0);
}
console.log('== 3. OpenSBI + U-Boot on 2 harts ==');
const child = spawn(process.execPath, [cli, 'run', '--harts', '2', '--timeout', '120', '--bios', opensbi, uboot], { stdio: ['pipe', 'pipe', 'inherit'] });
let seen = '';
let step = 0;
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  seen += chunk.toString('latin1');
  if (step === 0 && seen.includes('Hit any key')) { step = 1; child.stdin.write('\n'); }
  else if (step === 1 && seen.endsWith('=> ')) { step = 2; child.stdin.write('cpu list\n'); }
  else if (step === 2 && seen.endsWith('=> ') && seen.includes('cpu@1')) { step = 3; child.stdin.write('poweroff\n'); }
});
child.on('close', (code) => {
  console.log(`\nhindsight exited with ${code}. Try it yourself:`);
  console.log(`  node dist/src/cli/main.js run --harts 4 --bios ${opensbi} ${uboot}   (Ctrl-A X quits)`);
  process.exit(code ?? 1);
});
