import { ConsoleIo } from '../host/coordinator.js';

const CTRL_A = 0x01;

/**
 * The guest console on the host terminal: stdout for output; stdin for input, in raw mode on a
 * TTY where Ctrl-A X quits and Ctrl-A Ctrl-A sends a literal Ctrl-A (as in QEMU's -nographic).
 */
export function hostConsole(): ConsoleIo {
  return {
    write(bytes) {
      process.stdout.write(bytes);
    },
    onInput(push, quit) {
      const stdin = process.stdin;
      const tty = stdin.isTTY === true;
      let escape = false;
      const onData = (chunk: Buffer) => {
        if (!tty) { push(new Uint8Array(chunk)); return; }
        const bytes: number[] = [];
        for (const b of chunk) {
          if (escape) {
            escape = false;
            if (b === 0x78 || b === 0x58) { quit(); return; } // x / X
            if (b === CTRL_A) bytes.push(CTRL_A);
            continue;
          }
          if (b === CTRL_A) { escape = true; continue; }
          bytes.push(b);
        }
        if (bytes.length) push(Uint8Array.from(bytes));
      };
      const onError = () => {};
      if (tty) stdin.setRawMode(true);
      stdin.on('data', onData);
      stdin.on('error', onError);
      stdin.resume();
      return () => {
        stdin.off('data', onData);
        if (tty) stdin.setRawMode(false);
        stdin.pause();
        if (!tty) stdin.destroy();
      };
    },
  };
}
