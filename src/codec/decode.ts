/**
 * Bytes → typed frames, in both directions (server: decodeClientFrame; SDK: decodeServerFrame).
 * Pure and total: every input, however broken, gives a typed frame or a FrameError with the
 * catalogue code and field of websocket.md section 8; nothing here throws.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { bodyHolders } from './bodies.js';
import { decodeUtf8, fromBase64, toBytes, utf8Exceeds } from './bytes.js';
import { fieldError } from './field-errors.js';
import { frameError } from './frame-error.js';
import type { FrameError } from './frame-error.js';
import type { ClientFrame, RequestId, ServerFrame } from './frames.js';
import { DEFAULT_MAX_FRAME_BYTES, MAX_NESTING_DEPTH, MAX_REQUEST_ID_LENGTH } from './limits.js';
import type { WireFormat } from './limits.js';
import { isReservedByte, unpackFrame } from './msgpack.js';
import { findTooDeep, hasBadUtf8 } from './msgpack-depth.js';
import { VALIDATORS } from './schemas.js';
import { checkValues, formatPath, isPlainObject } from './values.js';

export type FrameData = ArrayBuffer | Uint8Array | string;
export type DecodeResult<F> = { ok: true; frame: F } | { ok: false; error: FrameError };

export interface DecodeOptions {
  /** Encoded size limit; client frames default to DEFAULT_MAX_FRAME_BYTES, server frames to none. */
  maxFrameBytes?: number;
}

function fail(err: FrameError): { ok: false; error: FrameError } {
  return { ok: false, error: err };
}

function validId(v: unknown): RequestId | undefined {
  if (typeof v === 'string') return v.length >= 1 && v.length <= MAX_REQUEST_ID_LENGTH ? v : undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  return undefined;
}

/**
 * A MessagePack frame msgpackr could not decode because it nests too deep (its decoder recurses):
 * `invalid_field` at the first value deeper than MAX_NESTING_DEPTH, as for a shallower excess that
 * msgpackr decodes and checkValues finds, with the request's id and type when they can be read.
 */
function tooDeep(bytes: Uint8Array, validators: ReadonlyMap<string, ValidateFunction>): FrameError | null {
  const deep = findTooDeep(bytes, MAX_NESTING_DEPTH);
  if (deep === null) return null;
  const read = (b: Uint8Array | undefined): unknown => {
    if (b === undefined) return undefined;
    try {
      return unpackFrame(b);
    } catch {
      return undefined;
    }
  };
  // The checks before the value check come first, in decode()'s order (websocket.md 8).
  if (!deep.map) return frameError('invalid_frame');
  const id = validId(read(deep.id));
  const type = read(deep.type);
  if (deep.type === undefined) return frameError('missing_field', { field: 'type', id });
  if (typeof type !== 'string') return frameError('invalid_field', { field: 'type', id });
  if (!validators.has(type)) return frameError('unknown_frame_type', { field: 'type', id });
  return frameError('invalid_field', { field: formatPath(deep.path), id, op: type });
}

function parse(data: FrameData, format: WireFormat): { ok: true; value: unknown } | { ok: false; error: FrameError } {
  if (format === 'json') {
    const text = typeof data === 'string' ? data : decodeUtf8(toBytes(data));
    if (text === null) return fail(frameError('invalid_utf8'));
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      return fail(frameError('invalid_json'));
    }
  }
  if (typeof data === 'string') return fail(frameError('wrong_frame_kind'));
  try {
    return { ok: true, value: unpackFrame(toBytes(data)) };
  } catch {
    // Truncated, trailing bytes, reserved codes, non-string map keys, stack exhaustion on deep nesting.
    return fail(frameError('invalid_msgpack'));
  }
}

function decode(
  data: FrameData,
  format: WireFormat,
  validators: ReadonlyMap<string, ValidateFunction>,
  maxFrameBytes: number,
): DecodeResult<unknown> {
  const tooLarge = typeof data === 'string' ? utf8Exceeds(data, maxFrameBytes) : data.byteLength > maxFrameBytes;
  if (tooLarge) return fail(frameError('frame_too_large', { max: maxFrameBytes }));

  const parsed = parse(data, format);
  if (!parsed.ok) {
    if (parsed.error.code !== 'invalid_msgpack' || typeof data === 'string') return parsed;
    return fail(tooDeep(toBytes(data), validators) ?? parsed.error);
  }
  const value = parsed.value;
  if (isReservedByte(value)) return fail(frameError('invalid_msgpack'));
  if (typeof value !== 'object' || value === null || !isPlainObject(value)) return fail(frameError('invalid_frame'));
  const frame = value;

  const id = validId(frame.id);
  if (!Object.hasOwn(frame, 'type')) return fail(frameError('missing_field', { field: 'type', id }));
  const type = frame.type;
  if (typeof type !== 'string') return fail(frameError('invalid_field', { field: 'type', id }));
  const validate = validators.get(type);
  if (validate === undefined) return fail(frameError('unknown_frame_type', { field: 'type', id }));
  const op = type;

  const values = checkValues(frame, format === 'msgpack');
  if (!values.ok) {
    if (isReservedByte(values.value)) return fail(frameError('invalid_msgpack', { id, op }));
    return fail(frameError('invalid_field', { field: formatPath(values.path), id, op }));
  }
  if (values.replacement && typeof data !== 'string' && hasBadUtf8(toBytes(data))) {
    // The bad str may be the id itself: one decoded with U+FFFD is not what the client sent.
    return fail(frameError('invalid_utf8', { id: typeof id === 'string' && id.includes('\uFFFD') ? undefined : id, op }));
  }

  // Bytes are allowed only as bodies; the schema, written for JSON, sees a string in their place.
  const holders = bodyHolders(frame);
  const bytesBodies: Array<{ holder: Record<string, unknown>; bytes: Uint8Array }> = [];
  for (const slot of values.binaries) {
    if (slot.key !== 'body' || !holders.some((h) => h.holder === slot.holder)) {
      return fail(frameError('invalid_field', { field: formatPath(slot.path), id, op }));
    }
    const b = slot.holder.body as Uint8Array;
    bytesBodies.push({ holder: slot.holder, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) });
    slot.holder.body = '';
  }

  if (!validate(frame)) {
    const first = validate.errors?.[0];
    if (first === undefined) return fail(frameError('invalid_frame', { id, op }));
    const fe = fieldError(first, frame, type);
    return fail(frameError(fe.code, { field: fe.field, max: fe.max, id, op }));
  }

  for (const { holder, bytes } of bytesBodies) holder.body = bytes;
  for (const { holder, path } of holders) {
    if (!Object.hasOwn(holder, 'body_encoding')) continue;
    if (typeof holder.body !== 'string') {
      return fail(frameError('invalid_field', { field: formatPath([...path, 'body_encoding']), id, op }));
    }
    const bytes = fromBase64(holder.body);
    if (bytes === null) return fail(frameError('invalid_field', { field: formatPath([...path, 'body']), id, op }));
    holder.body = bytes;
    delete holder.body_encoding;
  }
  return { ok: true, frame };
}

/** Server side: a frame received from a client, checked against protocol/schemas/ws/client/. */
export function decodeClientFrame(data: FrameData, format: WireFormat, opts: DecodeOptions = {}): DecodeResult<ClientFrame> {
  return decode(data, format, VALIDATORS.client, opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES) as DecodeResult<ClientFrame>;
}

/**
 * SDK side: a frame received from the server. `unknown_frame_type` means a newer server's frame,
 * which a client ignores (protocol/README.md, "Versioning").
 */
export function decodeServerFrame(data: FrameData, format: WireFormat, opts: DecodeOptions = {}): DecodeResult<ServerFrame> {
  return decode(data, format, VALIDATORS.server, opts.maxFrameBytes ?? Infinity) as DecodeResult<ServerFrame>;
}
