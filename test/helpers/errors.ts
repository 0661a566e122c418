/** Catalogue errors (src/errors.ts) in unit tests of synchronous rules. */
import { HoldlineError } from '../../src/errors.js';

/** The code of the HoldlineError `fn` throws, or 'no error'; any other exception propagates. */
export function thrownCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof HoldlineError) return e.code;
    throw e;
  }
  return 'no error';
}
