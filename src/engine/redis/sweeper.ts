/**
 * Reclaims expired messages without scanning the keyspace (issue 2): an expiry index, one ZSET per
 * deployment (keys.ts `expiryIndex`), maps each partition holding messages to a score at or before
 * the earliest expiry among them. Every engine sweeps every `sweepIntervalMs`: it takes the due
 * partitions (score <= now) from the index and runs sweep.lua on each. Sweeps are idempotent, so
 * several Holdline nodes sweeping the same partition only repeat work.
 *
 * Invariant: once an append has been acknowledged, the index holds its partition at a score <= the
 * earliest expiry of that partition's messages. The index lives in another slot than the partition,
 * so no script can update both; the protocol keeps the invariant anyway:
 *   - append: the script stores the messages and reports the partition's earliest expiry after it,
 *     and whether that went down (or the partition was empty). Only then does the engine send
 *     `ZADD index LT <earliest>` (LT only lowers a score, and adds a missing member), and it
 *     acknowledges after that. An append that did not lower the earliest expiry sends nothing: its
 *     messages expire no sooner than one already stored, which the index already covers. That is
 *     what keeps the index off the append's round trips in steady state.
 *   - sweep: (1) sweep.lua reclaims and returns the earliest expiry left; (2) the index is set to it,
 *     or the member removed when the partition is empty; (3) the partition's earliest expiry is
 *     read again and re-added with ZADD LT.
 *   - queue deletion: partition-drop.lua empties the partition, then steps (2) and (3) as a sweep.
 *   Only step (2) ever raises a score or removes a member, and each step (2) is followed by its own
 *   step (3), which sees every message stored before its read. Step (2) may overwrite an append's
 *   lower score, or remove its member, when the append's script ran after (1); but that script then
 *   ran before (3)'s read, so (3) restores the score. An append whose script runs after (3)'s read
 *   either lowers the earliest expiry, and sends its ZADD after (3) and (2) were applied, so
 *   nothing overwrites it; or it does not, and a message with an expiry no later than its own was
 *   in the partition when (3) read it. The same holds between concurrent sweepers: whatever one
 *   sweeper's step (2) removes was written before its own step (3) read.
 *   An append waits for its ZADD at most INDEX_WAIT_MS (afterAppend): when the index's shard is
 *   failing over (its primary dead, a replica not yet promoted) the ZADD goes on in the background
 *   and the append is acknowledged without it, so appends on healthy shards are not held up by
 *   ~1 s each (issue 10 §1); while such an update is still out, later appends do not wait for
 *   theirs at all. The ZADD is still sent after the script, so the argument above holds,
 *   and one that fails is retried by the partition's next append (as below).
 *   Not covered: a Holdline process dying between a lowering append's script and its index update
 *   (or between a sweep's steps (2) and (3) while an append races it). As a safety net, each node
 *   also sends the ZADD LT on its first append to a partition and then at most every REASSERT_MS
 *   per partition, so such a partition is indexed again by the next append made after that; until
 *   then its expired messages stay invisible but unreclaimed.
 *
 * Reclamation bound: a message that expires at E is reclaimed by E + sweepIntervalMs + the time the
 * sweep itself takes, as long as at least one Holdline node runs; plus the clock difference between
 * the Holdline host (which decides which partitions are due) and the Redis server (whose clock sets
 * expiries). A partition with more than SWEEP_BATCH expired messages is swept again, batch after
 * batch, in the same round until it is clean.
 */
import type { Logger } from 'pino';
import type { PartitionRef } from '../types.js';
import { guarded } from './connection.js';
import type { RedisKeys } from './keys.js';
import { sweepPartitionStep } from './partition-scripts.js';
import type { RedisClient } from './scripts.js';

/** Messages looked at per script call: bounds how long one call blocks its shard. */
const SWEEP_BATCH = 1000;
/** Partitions taken from the index per step. */
const DUE_BATCH = 100;
/** Steps per round at most, so one round cannot run forever under a flood of expiries. */
const MAX_STEPS = 100;
/** A node re-asserts the index entry of a partition it appends to at most this often (header; default). */
export const REASSERT_MS = 1000;
/** Longest an append's acknowledgement waits for its index update (header); normally it takes well under 1 ms. */
const INDEX_WAIT_MS = 250;
/** Partitions remembered for REASSERT_MS; beyond this the memory is dropped (only costing extra ZADDs). */
const ASSERTED_MAX = 10_000;

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  /** Index updates still running after their append stopped waiting for them (afterAppend). */
  private overdue = 0;
  /** Partition member -> when this node last sent its index entry. */
  private readonly asserted = new Map<string, number>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly intervalMs: number,
    private readonly logger: Logger | undefined,
    private readonly reassertMs = REASSERT_MS,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Lowers (or sets) a partition's score in the index: called after every append or ttl change. */
  async noteExpiry(ref: PartitionRef, earliestMs: number): Promise<void> {
    await guarded(() => this.client.zadd(this.keys.expiryIndex, 'LT', earliestMs, this.keys.partitionMember(ref)));
  }

  /**
   * The index's part of an append (header): resolves once the acknowledgement may be sent (the
   * update is done, or INDEX_WAIT_MS passed and it goes on in the background). Never rejects: the messages are stored whatever happens here, and failing to index them only delays
   * their reclamation (the next append retries), so the append is not failed for it.
   */
  async afterAppend(ref: PartitionRef, earliestMs: number, lowered: boolean): Promise<void> {
    const member = this.keys.partitionMember(ref);
    const now = Date.now();
    if (!lowered) {
      const last = this.asserted.get(member);
      if (last !== undefined && now - last < this.reassertMs) return;
    }
    if (this.asserted.size >= ASSERTED_MAX) this.asserted.clear();
    this.asserted.set(member, now);
    const update = this.noteExpiry(ref, earliestMs).catch((err: unknown) => {
      this.asserted.delete(member);
      this.logger?.warn({ err, partition: ref }, 'redis engine: expiry index update failed; retried by the next append');
    });
    // While an earlier update is still out after its wait, the index's shard is evidently not
    // answering: later appends do not wait for theirs at all.
    if (this.overdue > 0) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), INDEX_WAIT_MS);
    });
    const done = await Promise.race([update.then(() => true), waited]);
    clearTimeout(timer);
    if (done) return;
    this.overdue++;
    void update.finally(() => this.overdue--);
  }

  /** One sweep round over every due partition; returns how many messages it reclaimed. */
  sweep(): Promise<number> {
    if (this.running === undefined) {
      this.running = this.sweepRound().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((err: unknown) => this.logger?.warn({ err }, 'redis engine: expiry sweep failed, retrying next round'))
        .finally(() => this.schedule());
    }, this.intervalMs);
    // The sweeper alone must not keep the process alive.
    this.timer.unref();
  }

  private async sweepRound(): Promise<number> {
    let reclaimed = 0;
    for (let step = 0; step < MAX_STEPS && !this.stopped; step++) {
      const due = await guarded(() => this.client.zrangebyscore(this.keys.expiryIndex, '-inf', Date.now(), 'LIMIT', 0, DUE_BATCH));
      const counts = await Promise.all(due.map((member) => this.sweepMember(member)));
      for (const n of counts) reclaimed += n;
      if (due.length < DUE_BATCH) break;
    }
    return reclaimed;
  }

  private async sweepMember(member: string): Promise<number> {
    const ref = this.keys.parsePartitionMember(member);
    if (ref === null) {
      await guarded(() => this.client.zrem(this.keys.expiryIndex, member));
      return 0;
    }
    const k = this.keys.partition(ref);
    let reclaimed = 0;
    let earliestMs: number;
    for (;;) {
      const swept = await guarded(() => sweepPartitionStep(this.client, k, SWEEP_BATCH));
      reclaimed += swept.reclaimed;
      earliestMs = swept.earliestMs;
      // More due than one call looks at. Each call is short, so other clients interleave between them.
      if (!swept.more || this.stopped) break;
    }
    await this.reindex(ref, earliestMs);
    return reclaimed;
  }

  /**
   * Steps (2) and (3) of the protocol in the header comment, after sweep.lua reported the earliest
   * expiry left in the partition (-1: empty). Separate so a test can interleave an append between
   * step (1) and these.
   */
  async reindex(ref: PartitionRef, earliestMs: number): Promise<void> {
    const index = this.keys.expiryIndex;
    const member = this.keys.partitionMember(ref);
    if (earliestMs >= 0) await guarded(() => this.client.zadd(index, earliestMs, member));
    else await guarded(() => this.client.zrem(index, member));
    const first = await guarded(() => this.client.zrange(this.keys.partition(ref).exp, 0, 0, 'WITHSCORES'));
    if (first.length === 2) await guarded(() => this.client.zadd(index, 'LT', Number(first[1]), member));
  }
}
