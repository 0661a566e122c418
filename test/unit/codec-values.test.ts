/**
 * checkValues (src/codec/values.ts) keeps one path while it walks a frame instead of copying it per
 * value; what it reports must be exactly what the straightforward walk (a fresh path per value,
 * kept here as the reference) reports: the binaries with their paths, and the first bad value with
 * its path, for any mix of JSON values, byte strings and values no frame may hold; and whether a
 * string or key holds U+FFFD when asked (MessagePack frames), never when not (JSON frames).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH } from '../../src/codec/limits.js';
import { checkValues, isPlainObject, type BinarySlot, type Path, type ValueCheck } from '../../src/codec/values.js';

function reference(root: unknown, findReplacement: boolean): ValueCheck {
  const binaries: BinarySlot[] = [];
  let bad: Path | null = null;
  let badValue: unknown;
  const visit = (v: unknown, path: Path, depth: number): boolean => {
    if (typeof v === 'string' || typeof v === 'boolean') return true;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return true;
      badValue = v;
      return false;
    }
    if (typeof v !== 'object') {
      badValue = v;
      return false;
    }
    if (v === null) return true;
    if (depth >= MAX_NESTING_DEPTH) {
      badValue = v;
      return false;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!visit(v[i], [...path, i], depth + 1)) {
          bad ??= [...path, i];
          return false;
        }
      }
      return true;
    }
    if (!isPlainObject(v)) {
      badValue = v;
      return false;
    }
    for (const key of Object.keys(v)) {
      const child = v[key];
      if (child instanceof Uint8Array) {
        binaries.push({ holder: v, key, path: [...path, key] });
        continue;
      }
      if (!visit(child, [...path, key], depth + 1)) {
        bad ??= [...path, key];
        return false;
      }
    }
    return true;
  };
  if (!visit(root, [], 0)) return { ok: false, path: bad ?? [], value: badValue };
  return { ok: true, binaries, replacement: findReplacement && holdsReplacement(root) };
}

/** Whether a string or key anywhere holds U+FFFD (what msgpackr decodes bad UTF-8 to). */
function holdsReplacement(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\uFFFD');
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return false;
  if (Array.isArray(v)) return v.some(holdsReplacement);
  return Object.entries(v).some(([k, child]) => k.includes('\uFFFD') || holdsReplacement(child));
}

const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.uint8Array({ maxLength: 4 }),
  fc.constantFrom<unknown>(Number.NaN, Infinity, undefined, new Date(0), 1n, 'a\uFFFD'),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 4 })),
}));

describe('checkValues', () => {
  it('reports what the copy-per-value walk reports', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(checkValues(v, true)).toEqual(reference(v, true));
        // A JSON frame's values: U+FFFD is not looked for (its text was decoded strictly).
        expect(checkValues(v)).toEqual(reference(v, false));
      }),
      { numRuns: 1000 },
    );
  });

  it('reports the path of a value nested too deep, and of a bad value after binaries', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_NESTING_DEPTH + 5; i++) deep = { a: [deep] };
    const frame = { type: 'x', b: new Uint8Array(1), list: [1, { c: new Uint8Array(2) }, { d: Number.NaN }], deep };
    expect(checkValues(frame, true)).toEqual(reference(frame, true));
    expect(checkValues({ deep }, true)).toEqual(reference({ deep }, true));
  });
});
