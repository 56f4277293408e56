/** Progress of long operations on a terminal (stderr); silent when stderr is not a TTY. */
export function ttyProgress(stream: NodeJS.WriteStream = process.stderr): { progress(what: string, done: number, total: number, unit?: string): void; progressEnd(): void } {
  const tty = stream.isTTY === true;
  return {
    progress(what, done, total, unit = 'steps') {
      if (tty) stream.write(`\r\x1b[Khindsight: ${what} ${Math.min(100, Math.floor((100 * done) / total))}% (${done.toLocaleString('en')} of ${total.toLocaleString('en')} ${unit})`);
    },
    progressEnd() {
      if (tty) stream.write('\r\x1b[K');
    },
  };
}
