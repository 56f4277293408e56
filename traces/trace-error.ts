import { HindsightError } from '../src/errors.js';

/** A trace file that cannot be read or written: one clear sentence, exit code 2. */
export class TraceError extends HindsightError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'TraceError';
  }
}
