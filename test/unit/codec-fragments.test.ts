/**
 * history.result frames assembled from per-message fragments (src/codec/fragments.ts) are the very
 * bytes encodeServerFrame writes for the same frame, in both formats, for any messages (unicode,
 * escapes, lone surrogates, byte bodies, every optional field) and any request id; cut to a byte
 * limit, they hold the longest prefix that fits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assembleHistoryResult, encodeMessageFragment } from '../../src/codec/fragments.js';
import { decodeServerFrame, encodeServerFrame } from '../../src/codec/index.js';
import type { HistoryResultFrame, JsonValue, RequestId, WireFormat, WireMessage } from '../../src/codec/index.js';

const FORMATS: WireFormat[] = ['json', 'msgpack'];

function bytes(encoded: string | Uint8Array): Uint8Array {
  return typeof encoded === 'string' ? new TextEncoder().encode(encoded) : encoded;
}

function frame(id: RequestId | undefined, messages: WireMessage[], truncated: boolean): HistoryResultFrame {
  return { type: 'history.result', ...(id === undefined ? {} : { id }), messages, truncated };
}

function assemble(id: RequestId | undefined, messages: WireMessage[], format: WireFormat, max?: number) {
  return assembleHistoryResult(id, messages.map((m) => encodeMessageFragment(m, format)), format, max);
}

const hex32 = fc.stringMatching(/^[0-9a-f]{32}$/);
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates included
  fc.constantFrom('"quoted" \\ back\\slash', 'tab\there\nnew line\u0000nul\u001f', 'line\u2028sep\u2029', 'é日本語🎉', '\ud800 lone'),
);
const json: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>;
const message: fc.Arbitrary<WireMessage> = fc
  .record(
    {
      message_id: hex32,
      partition: fc.integer({ min: 1, max: 255 }),
      seq: fc.integer({ min: 1, max: 2 ** 40 }),
      timestamp: fc.integer({ min: 1e15, max: 2e15 }).map((us) => us / 1e6),
      body: fc.oneof(text.filter((s) => s.length > 0), fc.uint8Array({ minLength: 1, maxLength: 40 })),
      content_type: fc.constantFrom('text/plain', 'application/json; charset=utf-8', 'x/ü'),
      in_reply_to: hex32,
      client_state: text,
      client_json: json,
      updated_at: fc.integer({ min: 1e15, max: 2e15 }).map((us) => us / 1e6),
    },
    { requiredKeys: ['message_id', 'partition', 'seq', 'timestamp', 'body'] },
  );
const requestId = fc.option(fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), text), { nil: undefined });

describe.each(FORMATS)('history.result from fragments (%s)', (format) => {
  it('is byte for byte what encodeServerFrame writes', () => {
    fc.assert(
      fc.property(requestId, fc.array(message, { maxLength: 20 }), (id, messages) => {
        const a = assemble(id, messages, format);
        expect(a.truncated).toBe(false);
        expect(a.count).toBe(messages.length);
        expect(Buffer.from(a.bytes).equals(Buffer.from(bytes(encodeServerFrame(frame(id, messages, false), format))))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it.each([0, 1, 15, 16, 17, 255, 1000])('holds %i messages (array header sizes)', (n) => {
    const messages = Array.from({ length: n }, (_, i): WireMessage => ({ message_id: 'ab'.repeat(16), partition: 1, seq: i + 1, timestamp: 1.7e9 + i / 1e6, body: i % 3 === 0 ? Uint8Array.of(i & 255, 0, 255) : `m${i} "ü"` }));
    for (const id of [undefined, 7, 'req-ü']) {
      const a = assemble(id, messages, format);
      expect(Buffer.from(a.bytes).equals(Buffer.from(bytes(encodeServerFrame(frame(id, messages, false), format))))).toBe(true);
      const back = decodeServerFrame(format === 'json' ? new TextDecoder().decode(a.bytes) : a.bytes, format);
      expect(back.ok && back.frame.type === 'history.result' && back.frame.messages.length).toBe(n);
    }
  });

  it('cut to a byte limit: the longest prefix that fits, with truncated: true', () => {
    fc.assert(
      fc.property(requestId, fc.array(message, { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 3000 }), (id, messages, max) => {
        const a = assemble(id, messages, format, max);
        const whole = bytes(encodeServerFrame(frame(id, messages, false), format)).byteLength;
        if (whole <= max) {
          expect(a.truncated).toBe(false);
          expect(a.count).toBe(messages.length);
          return;
        }
        expect(a.truncated).toBe(true);
        expect(a.count).toBeLessThan(messages.length);
        const expected = bytes(encodeServerFrame(frame(id, messages.slice(0, a.count), true), format));
        expect(Buffer.from(a.bytes).equals(Buffer.from(expected))).toBe(true);
        // Fits, unless even no message does (then it is the empty frame).
        if (a.count > 0) expect(a.bytes.byteLength).toBeLessThanOrEqual(max);
        // One more would not fit (all of them may, with "true" one byte shorter than "false": never sent as truncated).
        if (a.count + 1 < messages.length) {
          const oneMore = bytes(encodeServerFrame(frame(id, messages.slice(0, a.count + 1), true), format));
          expect(oneMore.byteLength).toBeGreaterThan(max);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('one byte short of the whole frame: one message fewer (JSON "true" is shorter than "false")', () => {
    const messages = Array.from({ length: 5 }, (_, i): WireMessage => ({ message_id: 'ef'.repeat(16), partition: 1, seq: i + 1, timestamp: 1.7e9, body: `b${i}` }));
    const whole = bytes(encodeServerFrame(frame(1, messages, false), format)).byteLength;
    const a = assemble(1, messages, format, whole - 1);
    expect(a.truncated).toBe(true);
    expect(a.count).toBe(4);
    expect(assemble(1, messages, format, whole).truncated).toBe(false);
  });

  it('a fragment kept for later is not changed by later encoding', () => {
    const m: WireMessage = { message_id: 'cd'.repeat(16), partition: 2, seq: 9, timestamp: 1.7e9, body: Uint8Array.of(1, 2, 3) };
    const f = encodeMessageFragment(m, format);
    const copy = f.slice();
    for (let i = 0; i < 2000; i++) encodeMessageFragment({ ...m, seq: i, body: 'x'.repeat(i % 50 + 1) }, format);
    expect(Buffer.from(f).equals(Buffer.from(copy))).toBe(true);
  });
});
