/**
 * Message ids: 32 lowercase hex characters whose lexicographic order is the partition's order.
 *
 *   chars  0-13  timestamp, microseconds since the epoch (56 bits)   — never decreases in a partition
 *   chars 14-25  partition sequence number (48 bits), starts at 1     — +1 per message, never reused
 *   chars 26-27  partition number (1-255)                             — ids are unique across partitions
 *   chars 28-31  random (16 bits)                                     — ids are not guessable by counting
 *
 * The engine assigns timestamp = max(clock, previous timestamp) and sequence = previous + 1 in one
 * atomic step per partition, so (timestamp, sequence) strictly increases and string order = time order
 * = sequence order. Because the timestamp leads, a `since` timestamp maps to an id prefix and both
 * kinds of `since` become one range read. The sequence number lets a subscriber check contiguity.
 * Documented in protocol/messages.md.
 */
import { randomFillSync } from 'node:crypto';

export const MESSAGE_ID_RE = /^[0-9a-f]{32}$/;

export interface MessageIdParts {
  timestampUs: number;
  seq: number;
  partition: number;
}

function hex(n: number, width: number): string {
  return Math.floor(n).toString(16).padStart(width, '0');
}

const ZEROS = '0'.repeat(14);

function padded(text: string, width: number): string {
  return text.length >= width ? text : ZEROS.slice(0, width - text.length) + text;
}

export function encodeMessageId(parts: MessageIdParts, random16: number): string {
  const { timestampUs, seq, partition } = parts;
  if (
    !(Number.isInteger(timestampUs) && timestampUs >= 0 && timestampUs < 2 ** 56) ||
    !(Number.isInteger(seq) && seq >= 0 && seq < 2 ** 48) ||
    !(Number.isInteger(partition) && partition >= 0 && partition < 256)
  ) {
    return hex(timestampUs, 14) + hex(seq, 12) + hex(partition, 2) + hex(random16 & 0xffff, 4);
  }
  // Every append: the timestamp and seq in halves of at most 28 bits, which V8 formats as small
  // integers (a double's toString(16) took twice as long). The same digits as hex() above.
  const timestampHigh = Math.floor(timestampUs / 2 ** 28);
  const seqHigh = Math.floor(seq / 2 ** 24);
  return (
    padded(timestampHigh.toString(16), 7) + padded((timestampUs - timestampHigh * 2 ** 28).toString(16), 7) +
    padded(seqHigh.toString(16), 6) + padded((seq - seqHigh * 2 ** 24).toString(16), 6) +
    padded(partition.toString(16), 2) + padded((random16 & 0xffff).toString(16), 4)
  );
}

export function isMessageId(s: string): boolean {
  return MESSAGE_ID_RE.test(s);
}

export function decodeMessageId(id: string): MessageIdParts {
  return {
    timestampUs: parseInt(id.slice(0, 14), 16),
    seq: parseInt(id.slice(14, 26), 16),
    partition: parseInt(id.slice(26, 28), 16),
  };
}

/** The smallest id at or after a timestamp (seconds): the lower bound of an inclusive `since`. */
export function idLowerBoundForTimestamp(seconds: number): string {
  return hex(Math.max(0, Math.ceil(seconds * 1e6 - 1e-3)), 14) + '0'.repeat(18);
}

/** The largest id at or before a timestamp (seconds): the upper bound of an inclusive descending `since`. */
export function idUpperBoundForTimestamp(seconds: number): string {
  return hex(Math.max(0, Math.floor(seconds * 1e6 + 1e-3)), 14) + 'f'.repeat(18);
}

/** Epoch seconds with microsecond precision, as the wire carries them. */
export function timestampSeconds(timestampUs: number): number {
  return timestampUs / 1e6;
}

/**
 * The random part of a new id (16 bits, see the layout above), drawn from the CSPRNG a few thousand
 * at a time: one crypto call per message was a visible share of an append.
 */
const randomPool = new Uint16Array(4096);
let randomNext = randomPool.length;
export function randomIdPart(): number {
  if (randomNext === randomPool.length) {
    randomFillSync(randomPool);
    randomNext = 0;
  }
  return randomPool[randomNext++]!;
}
