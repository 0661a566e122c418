/**
 * Typed frames → bytes. JSON gives a string (send it as a text frame), MessagePack a Uint8Array
 * (a binary frame). Byte bodies become base64 with `body_encoding` in JSON and `bin` in MessagePack
 * (websocket.md 3.3). Frames are trusted here: they are built by typed code, not received.
 */
import { bodyHolders } from './bodies.js';
import { toBase64 } from './bytes.js';
import type { ClientFrame, ServerFrame, WireMessage } from './frames.js';
import type { WireFormat } from './limits.js';
import { packFrame } from './msgpack.js';

/** A byte body in JSON: base64, with `body_encoding` after the message's own fields. */
function base64Holder(holder: { body: Uint8Array }): object {
  return { ...holder, body: toBase64(holder.body), body_encoding: 'base64' };
}

function toJson(frame: ClientFrame | ServerFrame): string {
  const binary = new Set<object>();
  for (const { holder } of bodyHolders(frame as unknown as Record<string, unknown>)) {
    if (holder.body instanceof Uint8Array) binary.add(holder);
  }
  if (binary.size === 0) return JSON.stringify(frame);
  return JSON.stringify(frame, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && binary.has(value)) return base64Holder(value as { body: Uint8Array });
    return value;
  });
}

function encode(frame: ClientFrame | ServerFrame, format: WireFormat): string | Uint8Array {
  return format === 'json' ? toJson(frame) : packFrame(frame);
}

export function encodeServerFrame(frame: ServerFrame, format: 'json'): string;
export function encodeServerFrame(frame: ServerFrame, format: 'msgpack'): Uint8Array;
export function encodeServerFrame(frame: ServerFrame, format: WireFormat): string | Uint8Array;
export function encodeServerFrame(frame: ServerFrame, format: WireFormat): string | Uint8Array {
  return encode(frame, format);
}

export function encodeClientFrame(frame: ClientFrame, format: 'json'): string;
export function encodeClientFrame(frame: ClientFrame, format: 'msgpack'): Uint8Array;
export function encodeClientFrame(frame: ClientFrame, format: WireFormat): string | Uint8Array;
export function encodeClientFrame(frame: ClientFrame, format: WireFormat): string | Uint8Array {
  return encode(frame, format);
}

/**
 * One message object alone, exactly as it appears inside a frame that carries it (`messages` of
 * history.result, a `message` frame's fields): JSON.stringify and msgpackr write a nested object
 * as they write it alone. codec/fragments.ts builds frames from these.
 */
export function encodeMessageObject(m: WireMessage, format: WireFormat): string | Uint8Array {
  if (format === 'msgpack') return packFrame(m);
  return JSON.stringify(m.body instanceof Uint8Array ? base64Holder(m as { body: Uint8Array }) : m);
}
