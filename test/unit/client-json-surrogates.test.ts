/**
 * client_json's unpaired-surrogate check reads the JSON text the size check makes
 * (message-rules.ts stringifiedHoldsUnpairedSurrogate) instead of walking the value: it must say
 * what a walk of every string and key says, whatever backslashes surround a surrogate.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringifiedHoldsUnpairedSurrogate } from '../../src/domain/queues/message-rules.js';

/** The reference: a walk of every string and key (`u` flag: a surrogate class matches unpaired ones only). */
function walkFinds(value: unknown): boolean {
  if (typeof value === 'string') return /[\uD800-\uDFFF]/u.test(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(walkFinds);
  return Object.entries(value).some(([key, child]) => /[\uD800-\uDFFF]/u.test(key) || walkFinds(child));
}

describe('client_json unpaired surrogates, from its JSON text', () => {
  it.each([
    ['a lone high surrogate', '\uD800', true],
    ['a lone low surrogate', '\uDC00', true],
    ['a pair', '\uD83D\uDE00', false],
    ['the text \\ud800 (a backslash, then letters)', '\\ud800', false],
    ['a backslash, then a lone surrogate', '\\\uD800', true],
    ['two backslashes, then the text ud800', '\\\\ud800', false],
    ['a low then a high surrogate (no pair)', '\uDC00\uD800', true],
  ])('%s', (_name, text, unpaired) => {
    for (const value of [text, { [text]: 1 }, [1, { a: [text] }]]) {
      expect(stringifiedHoldsUnpairedSurrogate(JSON.stringify(value))).toBe(unpaired);
      expect(walkFinds(value)).toBe(unpaired);
    }
  });

  it('agrees with a walk of the value on any JSON built from backslashes, letters and surrogates', () => {
    const piece = fc.constantFrom('\\', 'u', 'd', '8', '0', 'a', '"', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D\uDE00', 'x');
    const text = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(text, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(fc.property(value, (v) => stringifiedHoldsUnpairedSurrogate(JSON.stringify(v)) === walkFinds(v)), { numRuns: 3000 });
  });
});
