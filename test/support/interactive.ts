import { ChildProcess, spawn } from 'node:child_process';

/** Drives an interactive console program: wait for text, type, collect the exit. */
export class Interactive {
  private readonly child: ChildProcess;
  private buffer = '';
  private consumed = 0;
  stderr = '';
  private readonly exited: Promise<number | null>;

  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => { this.buffer += d.toString('latin1'); });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString('latin1'); });
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Everything printed so far. */
  get output(): string {
    return this.buffer;
  }

  /** Waits until `text` appears after the previous match; returns what was printed up to and including it. */
  async expect(text: string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.buffer.indexOf(text, this.consumed);
      if (at >= 0) {
        const chunk = this.buffer.slice(this.consumed, at + text.length);
        this.consumed = at + text.length;
        return chunk;
      }
      if (this.child.exitCode !== null) throw new Error(`exited (${this.child.exitCode}) before printing '${text}'. Output:\n${this.buffer.slice(-3000)}\nstderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for '${text}'. Output:\n${this.buffer.slice(-3000)}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  type(text: string): void {
    this.child.stdin!.write(text);
  }

  async exit(timeoutMs = 60_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { this.child.kill('SIGKILL'); reject(new Error(`did not exit within ${timeoutMs} ms`)); }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
