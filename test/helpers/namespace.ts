import { randomBytes } from 'node:crypto';

/** A fresh Redis key prefix for one test case. */
export function freshPrefix(label = 't'): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}
