/**
 * Byte helpers that work in Node and in browsers (the SDK shares this codec), without Buffer
 * where a browser has none.
 */

const utf8Encoder = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function toBytes(data: ArrayBuffer | Uint8Array): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/** UTF-8 length of a string (a lone surrogate counts as the three bytes of U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Whether a string's UTF-8 form exceeds `max` bytes; exact, and cheap for short strings. */
export function utf8Exceeds(s: string, max: number): boolean {
  if (s.length > max) return true; // every UTF-16 unit takes at least one byte
  if (s.length * 3 <= max) return false; // and at most three
  return utf8Length(s) > max;
}

/** Null when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return null;
  }
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// Node's Buffer when there is one (fast native base64); browsers use atob/btoa.
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/** Strict standard base64 (padding required); null when malformed. */
export function fromBase64(s: string): Uint8Array | null {
  if (!BASE64_RE.test(s)) return null;
  if (NodeBuffer) {
    const b = NodeBuffer.from(s, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}
