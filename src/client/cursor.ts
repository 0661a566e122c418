/**
 * Per-partition delivery bookkeeping of a subscription: where to resume, and whether a `message`
 * frame continues the partition (protocol/websocket.md 4.2, 4.3; messages.md "seq and gaps").
 *
 * Invariants:
 * - `lastId` is the id of the last message handed to the application (or the `after` point the
 *   subscription started from). A frame whose id is not above it is stale — a duplicate or out of
 *   order — and is dropped: ids sort in partition order.
 * - Within one delivery run (from a `subscribed` reply or a `resync` on), live messages arrive
 *   contiguously by `seq`; a gap is legitimate only where messages expired or were deleted before
 *   the server read them from storage (messages.md). The SDK cannot tell the two apart from one
 *   frame, so it checks: a jump after the first message of a run resubscribes from `lastId`, and
 *   the first message of the new run is accepted whatever its seq (the server has just read storage:
 *   a jump that persists is real). Each check delivers at least one message, so it always progresses.
 */
export type ResumePoint = { kind: 'after'; messageId: string } | { kind: 'since'; time: number };

export type Verdict = 'deliver' | 'stale' | 'gap';

export class PartitionCursor {
  #lastId: string | null;
  #lastSeq: number | null = null;
  #checkSeq = false;
  #stale = 0;

  constructor(
    readonly partition: number,
    private readonly origin: ResumePoint,
  ) {
    this.#lastId = origin.kind === 'after' ? origin.messageId : null;
  }

  get lastId(): string | null {
    return this.#lastId;
  }

  /** Frames dropped as duplicates or out of order. */
  get staleDropped(): number {
    return this.#stale;
  }

  /** Where a new subscription must start so that nothing delivered repeats and nothing is skipped. */
  resumePoint(): ResumePoint {
    return this.#lastId === null ? this.origin : { kind: 'after', messageId: this.#lastId };
  }

  /** A new delivery run begins (subscribed, or the server's resync). */
  startRun(): void {
    this.#checkSeq = false;
  }

  accept(message: { message_id: string; seq: number }): Verdict {
    if (this.#lastId !== null && message.message_id <= this.#lastId) {
      this.#stale++;
      return 'stale';
    }
    if (this.#checkSeq && this.#lastSeq !== null && message.seq !== this.#lastSeq + 1) return 'gap';
    this.#lastId = message.message_id;
    this.#lastSeq = message.seq;
    this.#checkSeq = true;
    return 'deliver';
  }
}

/** The `subscribe` frames (fields after `type`, `application`, `queue`) that resume these cursors. */
export interface ResumeRequest {
  partitions: number[];
  after?: Record<string, string>;
  since?: number;
}

/**
 * `after` and `since` cannot share a frame (websocket.md 4.2), so cursors are grouped: one request
 * for every `after` point, one per distinct `since` time. Partitions keep ascending order.
 */
export function resumeRequests(cursors: Iterable<PartitionCursor>): ResumeRequest[] {
  const sorted = [...cursors].sort((a, b) => a.partition - b.partition);
  const afterIds: Record<string, string> = {};
  const afterPartitions: number[] = [];
  const bySince = new Map<number, ResumeRequest>();
  for (const c of sorted) {
    const point = c.resumePoint();
    if (point.kind === 'after') {
      afterPartitions.push(c.partition);
      afterIds[String(c.partition)] = point.messageId;
    } else {
      let req = bySince.get(point.time);
      if (req === undefined) {
        req = { partitions: [], since: point.time };
        bySince.set(point.time, req);
      }
      req.partitions.push(c.partition);
    }
  }
  const out: ResumeRequest[] = afterPartitions.length > 0 ? [{ partitions: afterPartitions, after: afterIds }] : [];
  return [...out, ...bySince.values()];
}

/**
 * "Only new" made resumable: the `subscribed` reply names each partition's newest stored message
 * when the subscription became active (`last_message_id`, websocket.md 4.2), and the cursor resumes
 * after it; an empty partition (null) resumes at `since: 0`, i.e. everything it held since. Either
 * way every message appended after the subscription became active is delivered, also across
 * reconnects that happen before the first message arrives.
 */
export function onlyNewOrigin(newestId: string | null): ResumePoint {
  return newestId === null ? { kind: 'since', time: 0 } : { kind: 'after', messageId: newestId };
}
