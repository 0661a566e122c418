/**
 * parseAppendReply spells each stored message's id from the batch's timestamp and first seq (the
 * parts shared by the batch spelled once); the ids must be exactly encodeMessageId's, and the
 * expiries timestamp-in-ms + ttl, as append.lua computes them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMessageId } from '../../src/engine/ids.js';
import { parseAppendReply, type AppendCall } from '../../src/engine/redis/partition-scripts.js';

describe('append.lua reply parsing', () => {
  it('spells ids as encodeMessageId does and expiries from the timestamp and ttl', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 53 - 1 }),
        fc.integer({ min: 1, max: 2 ** 47 }),
        fc.integer({ min: 1, max: 255 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 2 ** 25 })), { minLength: 1, maxLength: 20 }),
        (timestampUs, firstSeq, partition, messages) => {
          const call: AppendCall = { keys: [], args: [], partition, randoms: messages.map(([r]) => r), ttls: messages.map(([, t]) => t) };
          const reply = parseAppendReply(['5', '1', String(timestampUs), String(firstSeq)], call);
          if ('marker' in reply) throw new Error('marker');
          expect(reply.earliestMs).toBe(5);
          expect(reply.lowered).toBe(true);
          reply.stored.forEach((s, j) => {
            expect(s.id).toBe(encodeMessageId({ timestampUs, seq: firstSeq + j, partition }, messages[j]![0]));
            expect(s.seq).toBe(firstSeq + j);
            expect(s.timestampUs).toBe(timestampUs);
            expect(s.expiresAtMs).toBe(Math.floor(timestampUs / 1000) + messages[j]![1] * 1000);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hands back the marker found instead of a stored batch', () => {
    const call: AppendCall = { keys: [], args: [], partition: 1, randoms: [1], ttls: [60] };
    expect(parseAppendReply('-3', call)).toEqual({ marker: '-3' });
  });
});
