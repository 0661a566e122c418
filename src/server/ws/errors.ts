/**
 * Failures of a request as the `error` frame that answers it (protocol/websocket.md 3.1). The
 * domain speaks REST's language in two places the WebSocket protocol words differently:
 *   - `auth_required` (REST: no Authorization header) is `forbidden` here: the connection has a
 *     principal, anonymous or agent, that may not do this;
 *   - `app_not_found` is `queue_not_found`: frames name a queue, and the WebSocket protocol lists
 *     only that code (an unknown application has no queues).
 */
import type { ErrorFrame, RequestId } from '../../codec/index.js';
import { ERRORS, isHoldlineError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';

const RENAMED: Partial<Record<ErrorCode, ErrorCode>> = {
  auth_required: 'forbidden',
  app_not_found: 'queue_not_found',
};

export function errorFrame(code: ErrorCode, opts: { id?: RequestId | undefined; op?: string; message?: string; field?: string | undefined }): ErrorFrame {
  const frame: ErrorFrame = { type: 'error', error: { code, message: opts.message ?? ERRORS[code].message.replace('{field}', opts.field ?? '').replace('{max}', '') } };
  if (opts.field !== undefined) frame.error.field = opts.field;
  if (opts.id !== undefined) frame.id = opts.id;
  if (opts.op !== undefined) frame.op = opts.op;
  return frame;
}

/** The error frame for whatever a handler threw; unexpected errors are logged and reported as `internal`. */
export function errorFrameFor(err: unknown, request: { type: string; id?: RequestId | undefined }, logger: Logger): ErrorFrame {
  if (isHoldlineError(err)) {
    const renamed = RENAMED[err.code];
    if (renamed !== undefined) return errorFrame(renamed, { id: request.id, op: request.type });
    if (err.status >= 500) logger.warn({ code: err.code, op: request.type }, 'ws request failed');
    const frame = errorFrame(err.code, { id: request.id, op: request.type, message: err.message, field: err.field });
    if (err.currentState !== undefined) frame.error.current_state = err.currentState;
    return frame;
  }
  logger.error({ err, op: request.type }, 'ws request failed unexpectedly');
  return errorFrame('internal', { id: request.id, op: request.type });
}

/** Runs a check; its HoldlineError then names `field` (the domain's rule, src/domain/queues/message-rules.ts). */
export { atField } from '../../domain/queues/message-rules.js';

/** `{ id }` when the request had one: replies echo it (websocket.md 3.1). */
export function replyId(id: RequestId | undefined): { id?: RequestId } {
  return id === undefined ? {} : { id };
}
