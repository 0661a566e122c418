/**
 * What the reconnect loop does after a close code: protocol/websocket.md section 9.
 * `isRetryableClose` (src/codec/limits.ts) answers retry-or-stop; this adds why, so the SDK can tell
 * an application "get new credentials" apart from "this is a bug in the client".
 */
import { isRetryableClose } from '../codec/limits.js';

export type CloseDecision =
  | { action: 'retry'; code: number; reason: string }
  | { action: 'stop'; code: number; reason: string; why: StopCause };

/**
 * - `normal`: 1000, the side that closed meant it;
 * - `auth`: 4401, the credentials are bad, revoked or expired (retry only with new ones);
 * - `client_bug`: 1003/1007, this client sent frames the server cannot read;
 * - `final`: an unknown code in 4000–4499, final by the protocol's rule for codes added later.
 */
export type StopCause = 'normal' | 'auth' | 'client_bug' | 'final';

export function classifyClose(code: number, reason = ''): CloseDecision {
  if (isRetryableClose(code)) return { action: 'retry', code, reason };
  return { action: 'stop', code, reason, why: stopCause(code) };
}

function stopCause(code: number): StopCause {
  switch (code) {
    case 1000:
      return 'normal';
    case 4401:
      return 'auth';
    case 1003:
    case 1007:
      return 'client_bug';
    default:
      return 'final';
  }
}
