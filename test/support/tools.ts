import { execFileSync, spawn, SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const GUESTS = join(ROOT, 'test', 'guests', 'bin');
export const EXPECTED = join(ROOT, 'test', 'guests', 'expected');
export const OPENSBI_FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
export const UBOOT_SMODE = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
export const QEMU = 'qemu-system-riscv64';
/** The QEMU CPU cut down to what hindsight implements (RV64IMAC + Zicsr + Zifencei, no Sstc). */
export const QEMU_CPU = 'rv64,f=false,d=false,v=false,h=false,zba=false,zbb=false,zbc=false,zbs=false,sstc=false';
/** The same with F and D (QEMU's defaults), for the floating-point guests. */
export const QEMU_CPU_FD = 'rv64,v=false,h=false,zba=false,zbb=false,zbc=false,zbs=false,sstc=false';

export function guest(name: string): string {
  return join(GUESTS, `${name}.elf`);
}

/**
 * Fails loudly when a tool the tests need is missing: a test that silently skips in CI does not
 * exist. `.ci/run` installs all of them.
 */
export function requireTool(path: string, pkg: string): void {
  if (path.includes('/')) {
    if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${pkg} (.ci/run does)`);
    return;
  }
  try {
    execFileSync('sh', ['-c', `command -v ${path}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${path} is not installed: install the Debian package ${pkg} (.ci/run does)`);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with optional stdin bytes and a hard time limit. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env };
    const child = spawn(cmd, args, spawnOpts);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString('latin1'); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString('latin1'); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${opts.timeoutMs} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

export function hindsight(args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], opts);
}

/**
 * Runs a guest under qemu-system-riscv64 with the console captured in a file: QEMU's stdio
 * backend drops bytes when a pipe reader is slow, a file never does.
 */
/**
 * `cpu`: QEMU's -cpu (default QEMU_CPU, hindsight's rv64imac without the optional extensions);
 * `bios`: firmware (default none: the kernel runs in M-mode from 0x80000000).
 */
export async function qemu(kernel: string, harts: number, opts: { timeoutMs?: number; extra?: string[]; cpu?: string; bios?: string } = {}): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hindsight-qemu-'));
  const consoleFile = join(dir, 'console.out');
  try {
    const r = await run(QEMU, ['-M', 'virt', '-cpu', opts.cpu ?? QEMU_CPU, '-smp', String(harts), '-m', '128M', '-display', 'none',
      '-monitor', 'none', '-serial', `file:${consoleFile}`, '-bios', opts.bios ?? 'none', '-kernel', kernel, ...(opts.extra ?? [])], opts);
    return { ...r, stdout: readFileSync(consoleFile, 'latin1') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Console output without the lines guests mark as run-dependent ("info: ..."). */
export function stableLines(text: string): string {
  return text.split('\n').filter((l) => !l.startsWith('info:')).join('\n');
}
