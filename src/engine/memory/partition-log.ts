/**
 * One partition of one queue: its messages sorted by id, plus the (timestamp, sequence) state that
 * makes ids strictly increasing (src/engine/ids.ts). Because timestamp and sequence never go back,
 * every append lands at the end of the array, and every `since` read is a binary search.
 *
 * Expiry filtering happens here (a message is invisible from expiresAtMs on, whether or not it has
 * been reclaimed yet); reclamation is driven by the engine's expiry index.
 */
import { encodeMessageId, idLowerBoundForTimestamp, idUpperBoundForTimestamp } from '../ids.js';
import { matchesFilter } from '../filter.js';
import type { ReadOptions, StoredMessage } from '../types.js';

/** Above this many removals at once, one filtering pass beats repeated splices. */
const SPLICE_LIMIT = 16;

export class PartitionLog {
  private messages: StoredMessage[] = [];
  private lastTimestampUs = 0;
  private lastSeq = 0;
  /** Set when the queue is deleted: expiry entries still pointing here are then ignored. */
  dropped = false;

  constructor(readonly partition: number) {}

  get size(): number {
    return this.messages.length;
  }

  /** Assigns timestamp, sequence and id, and stores the message at the end. */
  append(nowUs: number, random16: number, fields: Omit<StoredMessage, 'id' | 'seq' | 'timestampUs' | 'partition'>): StoredMessage {
    const timestampUs = Math.max(nowUs, this.lastTimestampUs);
    const seq = this.lastSeq + 1;
    this.lastTimestampUs = timestampUs;
    this.lastSeq = seq;
    const id = encodeMessageId({ timestampUs, seq, partition: this.partition }, random16);
    const message: StoredMessage = { id, partition: this.partition, seq, timestampUs, ...fields };
    this.messages.push(message);
    return message;
  }

  /** The stored message, expired or not; callers decide visibility. */
  find(id: string): StoredMessage | undefined {
    const i = this.indexOf(id);
    return i < 0 ? undefined : this.messages[i];
  }

  /** Replaces a stored message by one with the same id (an update). */
  replace(message: StoredMessage): boolean {
    const i = this.indexOf(message.id);
    if (i < 0) return false;
    this.messages[i] = message;
    return true;
  }

  read(opts: ReadOptions, nowMs: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    const messages = this.messages;
    const { since, limit, filter } = opts;
    // A filtered read walks the partition from the cursor (memory is one process: no index kept).
    const visible = (m: StoredMessage): boolean => m.expiresAtMs > nowMs && (filter === undefined || matchesFilter(m, filter));
    if (opts.order === 'ascending') {
      const from = since === undefined ? '' : since.kind === 'id' ? since.id : idLowerBoundForTimestamp(since.seconds);
      for (let i = this.lowerBound(from); i < messages.length && out.length < limit; i++) {
        const m = messages[i]!;
        if (visible(m)) out.push(m);
      }
    } else {
      const to = since === undefined ? undefined : since.kind === 'id' ? since.id : idUpperBoundForTimestamp(since.seconds);
      const start = to === undefined ? messages.length - 1 : this.upperBound(to) - 1;
      for (let i = start; i >= 0 && out.length < limit; i--) {
        const m = messages[i]!;
        if (visible(m)) out.push(m);
      }
    }
    return out;
  }

  /** Removes the listed ids that exist and satisfy `accept`; returns how many were removed. */
  remove(ids: Iterable<string>, accept: (m: StoredMessage) => boolean): number {
    const indexes = new Set<number>();
    for (const id of ids) {
      const i = this.indexOf(id);
      if (i >= 0 && accept(this.messages[i]!)) indexes.add(i);
    }
    if (indexes.size === 0) return 0;
    if (indexes.size <= SPLICE_LIMIT) {
      for (const i of [...indexes].sort((a, b) => b - a)) this.messages.splice(i, 1);
    } else {
      this.messages = this.messages.filter((_, i) => !indexes.has(i));
    }
    return indexes.size;
  }

  private indexOf(id: string): number {
    const i = this.lowerBound(id);
    return i < this.messages.length && this.messages[i]!.id === id ? i : -1;
  }

  /** First index whose id is >= `id`. */
  private lowerBound(id: string): number {
    let lo = 0;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.messages[mid]!.id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose id is > `id`. */
  private upperBound(id: string): number {
    let lo = 0;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.messages[mid]!.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
