/**
 * A follower's picture of one call queue for tests that read a call store or a WebSocket directly:
 * the SDK's own state (src/client/callqueue-state.ts), fed a snapshot and then only changes, so the
 * tests check the server against the one implementation of websocket.md 5.3 that clients run.
 *
 * apply() answers in words a test can assert on: `applied`, `stale` (already had it), `gap` (a seq
 * was skipped), `diverged` (the change does not fit the line it holds: only a bug causes that),
 * `deleted` (the queue's last change).
 */
import { CallQueueState } from '../../src/client/callqueue-state.js';
import type { CallQueueSnapshotFrame, CallQueueUpdateFrame } from '../../src/codec/frames.js';
import type { CallQueue, CallQueueChange, CallQueueSnapshot, CallQueueStats, Caller, Member } from '../../src/engine/call-types.js';

export type ApplyResult = 'applied' | 'stale' | 'gap' | 'diverged' | 'deleted';

export class CallQueueFollower {
  readonly #state: CallQueueState;

  /** From a store snapshot or a `callqueue.snapshot` frame. */
  constructor(snapshot: CallQueueSnapshot | CallQueueSnapshotFrame) {
    this.#state = new CallQueueState(snapshot.queue.uuid);
    this.#state.applySnapshot({ type: 'callqueue.snapshot', queue_id: snapshot.queue.uuid, ...snapshot });
  }

  /** A store change or a `callqueue.update` frame. */
  apply(change: CallQueueChange | CallQueueUpdateFrame): ApplyResult {
    const result = this.#state.applyUpdate({ ...change, type: 'callqueue.update' });
    if (result.kind === 'inconsistent') return 'diverged';
    if (result.kind === 'applied' && change.kind === 'queue_deleted') return 'deleted';
    return result.kind;
  }

  get seq(): number {
    return this.#state.seq as number;
  }

  get queue(): CallQueue {
    return this.#state.queue as CallQueue;
  }

  get stats(): CallQueueStats {
    return this.#state.stats as CallQueueStats;
  }

  get deleted(): boolean {
    return this.#state.deleted;
  }

  /** A waiting caller's 0-based position, else null. */
  position(uuid: string): number | null {
    return this.#state.caller(uuid)?.position ?? null;
  }

  waitingLine(): string[] {
    return [...this.#state.line];
  }

  /** Waiting callers in position order (with current positions), then the others in join order. */
  orderedCallers(): Caller[] {
    return [...this.#state.callers];
  }

  /**
   * Members in the snapshot's order: by join time, then uuid. (The SDK keeps the order it learnt
   * them in, new members last; two members added in the same millisecond may differ by uuid.)
   */
  memberList(): Member[] {
    return [...this.#state.members].sort((a, b) => cmp(a.created_at, b.created_at) || cmp(a.uuid, b.uuid));
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
