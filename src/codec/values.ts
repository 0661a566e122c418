/**
 * Checks that a decoded frame holds only JSON-like values (plain objects, arrays, strings, finite
 * numbers, booleans, null) nested at most MAX_NESTING_DEPTH deep, and finds the byte strings a
 * MessagePack frame may carry. Whatever JSON.parse or msgpackr hand back, later code (schemas,
 * the engine, JSON.stringify) then only ever sees plain data of bounded depth.
 */
import { MAX_NESTING_DEPTH } from './limits.js';

export type Path = Array<string | number>;

/** A Uint8Array found as the value of `holder[key]`. */
export interface BinarySlot {
  holder: Record<string, unknown>;
  key: string;
  path: Path;
}

export type ValueCheck =
  | {
      ok: true;
      binaries: BinarySlot[];
      /**
       * A string or key holds U+FFFD, which msgpackr also decodes bad UTF-8 to (decode.ts checks the
       * bytes); looked for only when asked.
       */
      replacement: boolean;
    }
  | { ok: false; path: Path; value: unknown };

export function isPlainObject(v: object): v is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * `findReplacement`: look for U+FFFD too. Only a MessagePack frame needs it: JSON text is decoded
 * strictly (bad UTF-8 is invalid_utf8 before parsing), so there a U+FFFD is what the client sent.
 */
export function checkValues(root: unknown, findReplacement = false): ValueCheck {
  const binaries: BinarySlot[] = [];
  // One path, grown and shrunk on the way (copied only for a binary or the bad value): every
  // client frame goes through here, and a copy per visited value was most of decoding's garbage.
  const path: Path = [];
  let bad: Path | null = null;
  let badValue: unknown;
  let replacement = false;

  const visit = (v: unknown, depth: number): boolean => {
    switch (typeof v) {
      case 'string':
        if (findReplacement && !replacement && v.includes('\uFFFD')) replacement = true;
        return true;
      case 'boolean':
        return true;
      case 'number':
        if (Number.isFinite(v)) return true;
        badValue = v;
        return false;
      case 'object':
        break;
      default:
        badValue = v; // undefined, bigint, function, symbol
        return false;
    }
    if (v === null) return true;
    if (depth >= MAX_NESTING_DEPTH) {
      badValue = v;
      return false;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        if (!visit(v[i], depth + 1)) {
          bad ??= [...path];
          return false;
        }
        path.pop();
      }
      return true;
    }
    if (!isPlainObject(v)) {
      badValue = v; // Date, msgpackr's C1 marker, typed arrays inside arrays
      return false;
    }
    for (const key of Object.keys(v)) {
      if (findReplacement && !replacement && key.includes('\uFFFD')) replacement = true;
      const child = v[key];
      if (child instanceof Uint8Array) {
        binaries.push({ holder: v, key, path: [...path, key] });
        continue;
      }
      path.push(key);
      if (!visit(child, depth + 1)) {
        bad ??= [...path];
        return false;
      }
      path.pop();
    }
    return true;
  };

  if (!visit(root, 0)) return { ok: false, path: bad ?? [], value: badValue };
  return { ok: true, binaries, replacement };
}

/** `messages[2].ttl`, `after.3`: the `field` of an error object. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}
