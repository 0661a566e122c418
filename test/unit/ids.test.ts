import { describe, expect, it } from 'vitest';
import {
  decodeMessageId,
  encodeMessageId,
  idLowerBoundForTimestamp,
  idUpperBoundForTimestamp,
  isMessageId,
} from '../../src/engine/ids.js';

describe('message ids', () => {
  it('round-trips its parts and is 32 lowercase hex', () => {
    const parts = { timestampUs: 1_763_820_000_123_456, seq: 42, partition: 200 };
    const id = encodeMessageId(parts, 0xbeef);
    expect(isMessageId(id)).toBe(true);
    expect(id.endsWith('c8beef')).toBe(true);
    expect(decodeMessageId(id)).toEqual(parts);
  });

  it('writes each part as fixed-width hex, on both sides of every 28- and 24-bit boundary and at the widths\' ends', () => {
    const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
    const timestamps = [0, 1, 2 ** 28 - 1, 2 ** 28, 2 ** 28 + 1, 1_763_820_000_123_456, Number.MAX_SAFE_INTEGER, 2 ** 56 - 2 ** 28, 2 ** 56 - 2 ** 4];
    const seqs = [1, 2 ** 24 - 1, 2 ** 24, 2 ** 24 + 1, 2 ** 47 + 5, 2 ** 48 - 1];
    for (const timestampUs of timestamps) {
      for (const seq of seqs) {
        for (const [partition, random] of [[1, 0], [16, 0xbeef], [255, 0x1ffff]] as const) {
          const id = encodeMessageId({ timestampUs, seq, partition }, random);
          expect(id).toBe(hex(timestampUs, 14) + hex(seq, 12) + hex(partition, 2) + hex(random & 0xffff, 4));
          // Past 2^53 a double cannot hold every integer, so parseInt's read-back is not exact there.
          if (timestampUs <= Number.MAX_SAFE_INTEGER) expect(decodeMessageId(id)).toEqual({ timestampUs, seq, partition });
        }
      }
    }
  });

  it('sorts as strings in (timestamp, sequence) order', () => {
    const a = encodeMessageId({ timestampUs: 1_000_000, seq: 9, partition: 3 }, 0xffff);
    const b = encodeMessageId({ timestampUs: 1_000_000, seq: 10, partition: 1 }, 0);
    const c = encodeMessageId({ timestampUs: 1_000_001, seq: 11, partition: 1 }, 0);
    expect([c, b, a].sort()).toEqual([a, b, c]);
  });

  it('maps a timestamp to inclusive id bounds', () => {
    const id = encodeMessageId({ timestampUs: 1_500_000_000_250_000, seq: 1, partition: 1 }, 7);
    expect(idLowerBoundForTimestamp(1_500_000_000.25) <= id).toBe(true);
    expect(idUpperBoundForTimestamp(1_500_000_000.25) >= id).toBe(true);
    expect(idLowerBoundForTimestamp(1_500_000_000.250001) > id).toBe(true);
    expect(idUpperBoundForTimestamp(1_500_000_000.249999) < id).toBe(true);
  });

  it('rejects what is not an id', () => {
    for (const s of ['', 'ABCDEF0123456789abcdef0123456789', 'g'.repeat(32), 'a'.repeat(31), 'a'.repeat(33)]) {
      expect(isMessageId(s)).toBe(false);
    }
  });
});
