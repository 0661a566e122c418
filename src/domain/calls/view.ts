/**
 * A follower's picture of one call queue, built from a snapshot and then only from changes
 * (protocol/websocket.md 5.3): the exact waiting line, callers, members, stats and seq. Pure, no
 * transport: the SDK's call-queue view, the console and the tests all use it.
 *
 * apply() refuses a change it cannot place exactly: a seq that is not the next one (`gap`), or a
 * line move that does not match the line it holds (`diverged`, which only a bug can cause). Either
 * way the holder resumes with changesSince or takes a fresh snapshot.
 */
import type { CallQueue, CallQueueChange, CallQueueSnapshot, CallQueueStats, Caller, Member } from '../../engine/call-types.js';

export type ApplyResult = 'applied' | 'stale' | 'gap' | 'diverged' | 'deleted';

export class CallQueueView {
  queue: CallQueue;
  seq: number;
  stats: CallQueueStats;
  deleted = false;
  /** Waiting callers' uuids in position order. */
  private line: string[];
  /** Every caller, in join order (Map keeps first-insertion order through updates). */
  private readonly callers = new Map<string, Caller>();
  private readonly members = new Map<string, Member>();

  constructor(snapshot: CallQueueSnapshot) {
    this.queue = snapshot.queue;
    this.seq = snapshot.seq;
    this.stats = snapshot.stats;
    this.line = snapshot.callers.filter((c) => c.position !== null).map((c) => c.uuid);
    // The snapshot lists waiting callers first; re-key the rest by join time so the Map holds join order.
    for (const c of [...snapshot.callers].sort(byJoin)) this.callers.set(c.uuid, c);
    for (const m of snapshot.members) this.members.set(m.uuid, m);
  }

  apply(change: CallQueueChange): ApplyResult {
    if (change.seq <= this.seq) return 'stale';
    if (change.seq !== this.seq + 1) return 'gap';
    if ('line' in change && change.line !== undefined) {
      const { uuid, from, to, length } = change.line;
      const line = [...this.line];
      if (from !== null) {
        if (line[from] !== uuid) return 'diverged';
        line.splice(from, 1);
      }
      if (to !== null) {
        if (to > line.length) return 'diverged';
        line.splice(to, 0, uuid);
      }
      if (line.length !== length) return 'diverged';
      this.line = line;
    }
    switch (change.kind) {
      case 'caller_joined':
      case 'caller_updated':
        this.callers.set(change.caller.uuid, change.caller);
        break;
      case 'caller_left':
        this.callers.delete(change.caller.uuid);
        break;
      case 'member_added':
      case 'member_updated':
        this.members.set(change.member.uuid, change.member);
        break;
      case 'member_removed':
        this.members.delete(change.member.uuid);
        break;
      case 'queue_updated':
        this.queue = change.queue;
        break;
      case 'queue_deleted':
        this.deleted = true;
        break;
    }
    if ('stats' in change) this.stats = change.stats;
    this.seq = change.seq;
    return change.kind === 'queue_deleted' ? 'deleted' : 'applied';
  }

  /** A waiting caller's 0-based position, else null. */
  position(uuid: string): number | null {
    const i = this.line.indexOf(uuid);
    return i < 0 ? null : i;
  }

  waitingLine(): string[] {
    return [...this.line];
  }

  /** Waiting callers in position order (with current positions), then the others in join order. */
  orderedCallers(): Caller[] {
    const waiting = this.line.map((uuid, position) => ({ ...this.callers.get(uuid)!, position }));
    const others = [...this.callers.values()].filter((c) => c.status !== 'waiting').map((c) => ({ ...c, position: null }));
    return [...waiting, ...others];
  }

  /** By join time, then uuid: the snapshot's order. */
  memberList(): Member[] {
    return [...this.members.values()].sort((a, b) => byJoin(a, b) || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
  }
}

function byJoin<T extends { created_at: string }>(a: T, b: T): number {
  return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0;
}
