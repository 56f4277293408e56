/** Errors the CLI reports as one clear line (no stack trace) with a specific exit code. */
export class HindsightError extends Error {
  constructor(message: string, readonly exitCode: number = 2) {
    super(message);
    this.name = 'HindsightError';
  }
}

/** Unusable input: a missing or malformed file, a bad option. Exit code 2. */
export class InputError extends HindsightError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'InputError';
  }
}
