import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gdbSession, mark, section } from './support/gdb.js';
import { guest, hindsight, requireTool } from './support/tools.js';

/*
 * Floating point under the debugger: a recording of test/guests/src/dbg_fp.c (an lp64d ELF, so GDB
 * insists on the fpu feature), real gdb-multiarch, `info registers float`, `p $fa0`, and stepping
 * through an fmadd.d forwards and backwards with the f registers following.
 */
let dir: string;
let trace: string;

beforeAll(async () => {
  requireTool('gdb-multiarch', 'gdb-multiarch');
  dir = mkdtempSync(join(tmpdir(), 'hindsight-debugger-fp-'));
  trace = join(dir, 'dbg_fp.trace');
  const r = await hindsight(['record', '-o', trace, guest('dbg_fp')]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('dbg_fp: result bits 4008100000000000');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hindsight debug: F/D registers in gdb-multiarch', () => {
  test('info registers float and p $fa0 show the f registers; stepping an fmadd.d forwards and backwards changes fa0 and back', async () => {
    const r = await gdbSession(trace, [
      'break damp',
      'continue', 'continue', 'continue', // the third call: damp(0.5, 0.5)
      ...mark('float', ['info registers float']),
      ...mark('args', ['p $fa0', 'p $fa1', 'p $f11']),
      'stepi 3', // auipc, fld fa5 (= 0.5), fmadd.d fa0 = fa0 * fa5 + fa1
      ...mark('after', ['p $fa0', 'p/x $pc', 'p $fa5']),
      'reverse-stepi',
      ...mark('back', ['p $fa0', 'p/x $pc']),
      'reverse-stepi',
      ...mark('back2', ['p/x $pc', 'p $fa0']),
      'stepi 2',
      ...mark('again', ['p $fa0', 'p/x $pc', 'p $fa5']),
      'kill',
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const float = section(r.stdout, 'float');
    expect(float).toMatch(/^fa0\s+\{float = 0, double = 0\.5\}\s+\(raw 0x3fe0000000000000\)$/m);
    expect(float).toMatch(/^fa1\s+\{float = 0, double = 0\.5\}\s+\(raw 0x3fe0000000000000\)$/m);
    expect(float).toMatch(/^ft11\s+/m);
    expect(float).toMatch(/^fflags\s+0x0\s+NV:0 DZ:0 OF:0 UF:0 NX:0$/m);
    expect(float).toMatch(/^frm\s+0x0\s+FRM:0 \[RNE/m);
    expect(float).toMatch(/^fcsr\s+0x0\s/m);
    expect(section(r.stdout, 'args')).toMatch(/= \{float = 0, double = 0\.5\}\n.*= \{float = 0, double = 0\.5\}\n.*= \{float = 0, double = 0\.5\}/);
    const after = section(r.stdout, 'after');
    expect(after).toMatch(/= \{float = 0, double = 0\.75\}/);
    expect(after).toMatch(/= 0x8000042c/);
    const back = section(r.stdout, 'back');
    expect(back).toMatch(/= \{float = 0, double = 0\.5\}/);
    expect(back).toMatch(/= 0x80000428/);
    expect(section(r.stdout, 'back2')).toMatch(/= 0x80000424\n.*= \{float = 0, double = 0\.5\}/); // before the fld
    const values = (text: string) => text.replace(/\$\d+ = /g, ''); // without GDB's value-history numbers
    expect(values(section(r.stdout, 'again'))).toBe(values(after));
  });
});
