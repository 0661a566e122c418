/**
 * The two kinds of failure a request can meet. Branch on `code` / `kind`, never on `message`.
 *
 * - HoldlineRequestError: the server answered with an `error` frame (protocol/errors.md), or the
 *   SDK refused the request before sending for a reason the catalogue names (`frame_too_large`).
 *   The request changed nothing on the server.
 * - HoldlineClientError: no answer. `timeout` and `disconnected` leave the outcome unknown (a
 *   publish may or may not have been stored); `closed` means the client was closed first.
 */
import type { ErrorCode } from '../errors.js';
import type { WireError } from '../codec/frames.js';

export class HoldlineRequestError extends Error {
  /** A catalogue code; a newer server may send one this SDK does not know. */
  readonly code: ErrorCode | (string & {});
  readonly field: string | undefined;
  /** The request type that failed, when known. */
  readonly op: string | undefined;
  /** `state_conflict`: the message's client_state now (null: unset); undefined for other errors. */
  readonly currentState: string | null | undefined;

  constructor(error: WireError, op?: string) {
    super(error.message);
    this.name = 'HoldlineRequestError';
    this.code = error.code;
    this.field = error.field;
    this.op = op;
    this.currentState = error.current_state;
  }
}

export type ClientErrorKind =
  /** No reply within requestTimeoutMs. */
  | 'timeout'
  /** The connection was lost before the reply. */
  | 'disconnected'
  /** close() was called, or the client stopped for good (see the `closed` event). */
  | 'closed'
  /** The server sent something this SDK cannot read. */
  | 'protocol';

export class HoldlineClientError extends Error {
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'HoldlineClientError';
  }
}
