/**
 * Finds, without recursion, a MessagePack container nested too deep (websocket.md 8: deeper than
 * MAX_NESTING_DEPTH is `invalid_field` at that value). msgpackr decodes recursively and runs out of
 * stack on a frame nested a few thousand levels deep; the frame is then not "not MessagePack" but
 * a frame with a value too deep, and the error must say where, with the request's id when it can be
 * read. Used only after msgpackr failed, so well-formed frames pay nothing for it.
 */
import type { Path } from './values.js';

export interface TooDeep {
  /** Where the first container at depth MAX_NESTING_DEPTH starts (as checkValues reports it). */
  path: Path;
  /** The frame is a map (else the answer is `invalid_frame`, as for any frame that is not an object). */
  map: boolean;
  /** The encoded top-level `id` and `type` values, when the frame is a map that has them. */
  id: Uint8Array | undefined;
  type: Uint8Array | undefined;
}

type Header =
  | { kind: 'scalar'; next: number }
  | { kind: 'str'; start: number; next: number }
  | { kind: 'array' | 'map'; count: number; next: number };

function uint(bytes: Uint8Array, at: number, size: number): number | null {
  if (at + size > bytes.length) return null;
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + bytes[at + i]!;
  return n;
}

/** The item starting at `at`: a scalar (skipped whole), a string, or a container header. null: malformed. */
function header(bytes: Uint8Array, at: number): Header | null {
  const b = bytes[at];
  if (b === undefined) return null;
  const sized = (lenBytes: number, extra: number, kind: 'scalar' | 'str'): Header | null => {
    const len = uint(bytes, at + 1, lenBytes);
    if (len === null) return null;
    const start = at + 1 + lenBytes + extra;
    const next = start + len;
    if (next > bytes.length) return null;
    return kind === 'str' ? { kind, start, next } : { kind, next };
  };
  const fixed = (size: number): Header | null => (at + size > bytes.length ? null : { kind: 'scalar', next: at + size });
  const container = (kind: 'array' | 'map', lenBytes: number): Header | null => {
    const count = uint(bytes, at + 1, lenBytes);
    return count === null ? null : { kind, count, next: at + 1 + lenBytes };
  };
  if (b <= 0x7f || b >= 0xe0) return fixed(1);
  if (b <= 0x8f) return { kind: 'map', count: b & 0x0f, next: at + 1 };
  if (b <= 0x9f) return { kind: 'array', count: b & 0x0f, next: at + 1 };
  if (b <= 0xbf) {
    const next = at + 1 + (b & 0x1f);
    return next > bytes.length ? null : { kind: 'str', start: at + 1, next };
  }
  switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return fixed(1);
    case 0xc4: return sized(1, 0, 'scalar');
    case 0xc5: return sized(2, 0, 'scalar');
    case 0xc6: return sized(4, 0, 'scalar');
    case 0xc7: return sized(1, 1, 'scalar');
    case 0xc8: return sized(2, 1, 'scalar');
    case 0xc9: return sized(4, 1, 'scalar');
    case 0xca: return fixed(5);
    case 0xcb: return fixed(9);
    case 0xcc: case 0xd0: return fixed(2);
    case 0xcd: case 0xd1: return fixed(3);
    case 0xce: case 0xd2: return fixed(5);
    case 0xcf: case 0xd3: return fixed(9);
    case 0xd4: return fixed(3);
    case 0xd5: return fixed(4);
    case 0xd6: return fixed(6);
    case 0xd7: return fixed(10);
    case 0xd8: return fixed(18);
    case 0xd9: return sized(1, 0, 'str');
    case 0xda: return sized(2, 0, 'str');
    case 0xdb: return sized(4, 0, 'str');
    case 0xdc: return container('array', 2);
    case 0xdd: return container('array', 4);
    case 0xde: return container('map', 2);
    case 0xdf: return container('map', 4);
    default: return null; // 0xc1, reserved
  }
}

interface Open {
  map: boolean;
  /** Items still to read (a map counts keys and values). */
  left: number;
  /** Array: index of the next item; map: the key of the value being read. */
  segment: string | number;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * The first container at depth >= maxDepth (0 = the frame itself), or null when there is none —
 * or when the bytes are not exactly one well-formed value (that is `invalid_msgpack`, however deep).
 */
export function findTooDeep(bytes: Uint8Array, maxDepth: number): TooDeep | null {
  const stack: Open[] = [];
  let id: Uint8Array | undefined;
  let type: Uint8Array | undefined;
  let deep: Path | null = null;
  const map = bytes[0] !== undefined && ((bytes[0] >= 0x80 && bytes[0] <= 0x8f) || bytes[0] === 0xde || bytes[0] === 0xdf);
  let at = 0;
  for (;;) {
    while (stack.length > 0 && stack[stack.length - 1]!.left === 0) stack.pop();
    const top = stack[stack.length - 1];
    if (top === undefined && at > 0) return deep === null || at !== bytes.length ? null : { path: deep, map, id, type };
    const item = header(bytes, at);
    if (item === null) return null;
    if (top !== undefined) top.left--;
    // A map key: remember it as the segment of the value that follows.
    if (top?.map && top.left % 2 === 1) {
      top.segment = item.kind === 'str' ? utf8.decode(bytes.subarray(item.start, item.next)) : '?';
      if (item.kind === 'array' || item.kind === 'map') return null; // msgpackr refuses such keys too
      at = item.next;
      continue;
    }
    if (top !== undefined && !top.map) top.segment = (top.segment as number) + 1;
    if (item.kind === 'array' || item.kind === 'map') {
      if (stack.length >= maxDepth && deep === null) deep = stack.map((s) => s.segment);
      stack.push({ map: item.kind === 'map', left: item.kind === 'map' ? item.count * 2 : item.count, segment: item.kind === 'map' ? '' : -1 });
      at = item.next;
      continue;
    }
    if (stack.length === 1 && top!.map && (top!.segment === 'id' || top!.segment === 'type')) {
      if (top!.segment === 'id') id = bytes.subarray(at, item.next);
      else type = bytes.subarray(at, item.next);
    }
    at = item.next;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Whether some `str` of a well-formed MessagePack value is not UTF-8. msgpackr decodes such bytes
 * to U+FFFD instead of failing, which would change what the client sent without a word; decode.ts
 * asks only when a decoded string holds U+FFFD, so other frames pay nothing. Items are walked in
 * encoding order: a container's header is followed by its items, so nesting needs no stack.
 */
export function hasBadUtf8(bytes: Uint8Array): boolean {
  let at = 0;
  while (at < bytes.length) {
    const item = header(bytes, at);
    if (item === null) return false;
    if (item.kind === 'str') {
      try {
        strictUtf8.decode(bytes.subarray(item.start, item.next));
      } catch {
        return true;
      }
    }
    at = item.next;
  }
  return false;
}
