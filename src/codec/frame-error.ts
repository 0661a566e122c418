/** The error a frame produces, and the `error` frame that reports it (websocket.md 3.1). */
import { errorText } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { ErrorFrame, RequestId } from './frames.js';

export interface FrameError {
  code: ErrorCode;
  message: string;
  field?: string;
  /** The request's id, when it could be read and was valid: the reply must carry it. */
  id?: RequestId;
  /** The request's type, when it is a known one. */
  op?: string;
}

export function frameError(
  code: ErrorCode,
  opts: { field?: string | undefined; max?: number | undefined; id?: RequestId | undefined; op?: string | undefined } = {},
): FrameError {
  // Bounded as every error is (errors.md): an unknown field may be a 1 MB key.
  const { field, message } = errorText(code, { field: opts.field, max: opts.max });
  const err: FrameError = { code, message };
  if (field !== undefined) err.field = field;
  if (opts.id !== undefined) err.id = opts.id;
  if (opts.op !== undefined) err.op = opts.op;
  return err;
}

export function toErrorFrame(err: FrameError): ErrorFrame {
  const frame: ErrorFrame = { type: 'error', error: { code: err.code, message: err.message } };
  if (err.field !== undefined) frame.error.field = err.field;
  if (err.id !== undefined) frame.id = err.id;
  if (err.op !== undefined) frame.op = err.op;
  return frame;
}
