/**
 * The `published` reply is spelled directly in JSON on the publish path (handlers/messages.ts
 * publishedJson); it must be byte-for-byte what the codec gives for the same frame.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeServerFrame } from '../../src/codec/index.js';
import type { PublishedFrame } from '../../src/codec/index.js';
import { publishedJson } from '../../src/server/ws/handlers/messages.js';

const message = fc.record({
  message_id: fc.stringMatching(/^[0-9a-f]{32}$/),
  partition: fc.integer({ min: 1, max: 255 }),
  seq: fc.integer({ min: 1, max: 2 ** 48 - 1 }),
  timestamp: fc.integer({ min: 0, max: 2 ** 53 - 1 }).map((us) => us / 1e6),
});

const id = fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 64, unit: 'binary' }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), { nil: undefined });

describe('published reply in JSON', () => {
  it('is what encodeServerFrame gives, for any ids and messages', () => {
    fc.assert(
      fc.property(id, fc.array(message, { maxLength: 5 }), (rid, messages) => {
        const reply: PublishedFrame = rid === undefined ? { type: 'published', messages } : { type: 'published', id: rid, messages };
        expect(publishedJson(reply)).toBe(encodeServerFrame(reply, 'json'));
      }),
      { numRuns: 500 },
    );
  });

  it('escapes a string id as JSON does', () => {
    const reply: PublishedFrame = { type: 'published', id: 'a"b\\c\u0001é', messages: [{ message_id: '0'.repeat(32), partition: 1, seq: 1, timestamp: 1.5 }] };
    expect(JSON.parse(publishedJson(reply))).toEqual(reply);
  });
});
