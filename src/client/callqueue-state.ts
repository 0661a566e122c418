/**
 * The state of one call queue as an agent sees it, rebuilt from `callqueue.snapshot` and
 * `callqueue.update` frames exactly as protocol/websocket.md section 5 says. Pure: no I/O, no
 * timers; the CallQueueView feeds it frames and acts on its answers.
 *
 * Invariants, checked on every update before anything changes (an update either applies whole or
 * not at all):
 * - `seq` of an applied update is the previous seq + 1 (5.3); lower is a repeat, higher a gap.
 * - The line (waiting callers' uuids in position order) changes only through `line` moves: remove
 *   at `from`, insert at `to`, then the length must equal `length`. `from` must hold that uuid.
 * - A caller is in the line exactly when its status is `waiting`.
 * A violated invariant means this view and the server disagree: the only cure is a fresh snapshot.
 */
import type {
  CallQueueSnapshotFrame,
  CallQueueUpdateFrame,
  WireCallQueue,
  WireCallQueueStats,
  WireCaller,
  WireLineMove,
  WireMember,
} from '../codec/frames.js';

export type ApplyResult =
  /** Applied; seq advanced by one. */
  | { kind: 'applied' }
  /** seq at or below the view's: already applied, ignored. */
  | { kind: 'stale' }
  /** Updates were missed: resubscribe with since_seq = `sinceSeq` (5.3). */
  | { kind: 'gap'; sinceSeq: number }
  /** The update does not fit this view: resubscribe without since_seq, for a fresh snapshot. */
  | { kind: 'inconsistent'; detail: string };

export class CallQueueState {
  #seq: number | null = null;
  #queue: WireCallQueue | null = null;
  #stats: WireCallQueueStats | null = null;
  /** Every caller of the queue: waiting, ringing and connected. */
  #callers = new Map<string, WireCaller>();
  #line: string[] = [];
  #members = new Map<string, WireMember>();
  #deleted = false;
  #waiting: readonly WireCaller[] | null = null;
  #all: readonly WireCaller[] | null = null;

  constructor(readonly queueId: string) {}

  /** The seq of the last applied snapshot or update; null before the first snapshot. */
  get seq(): number | null {
    return this.#seq;
  }

  get queue(): WireCallQueue | null {
    return this.#queue;
  }

  get stats(): WireCallQueueStats | null {
    return this.#stats;
  }

  /** Set by a `queue_deleted` update. */
  get deleted(): boolean {
    return this.#deleted;
  }

  /** Waiting callers' uuids in position order: index = position. */
  get line(): readonly string[] {
    return this.#line;
  }

  /** Waiting callers in position order, each with `position` = its index in the line. */
  get waiting(): readonly WireCaller[] {
    this.#waiting ??= Object.freeze(
      this.#line.map((uuid, position) => ({ ...(this.#callers.get(uuid) as WireCaller), position })),
    );
    return this.#waiting;
  }

  /**
   * Every caller as a snapshot lists them: waiting ones in position order, then ringing and
   * connected ones in join order (`created_at`, the join time; position null).
   */
  get callers(): readonly WireCaller[] {
    if (this.#all === null) {
      const others = [...this.#callers.values()]
        .filter((c) => c.status !== 'waiting')
        .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0))
        .map((c) => ({ ...c, position: null }));
      this.#all = Object.freeze([...this.waiting, ...others]);
    }
    return this.#all;
  }

  /** Members by join time, as the snapshot lists them; new members last. */
  get members(): readonly WireMember[] {
    return [...this.#members.values()];
  }

  caller(uuid: string): WireCaller | undefined {
    const c = this.#callers.get(uuid);
    if (c === undefined) return undefined;
    const position = c.status === 'waiting' ? this.#line.indexOf(uuid) : null;
    return { ...c, position };
  }

  /** Replaces the whole view (5.2). */
  applySnapshot(frame: CallQueueSnapshotFrame): void {
    this.#seq = frame.seq;
    this.#queue = frame.queue;
    this.#stats = frame.stats;
    this.#callers = new Map(frame.callers.map((c) => [c.uuid, c]));
    this.#line = frame.callers.filter((c) => c.status === 'waiting').map((c) => c.uuid);
    this.#members = new Map(frame.members.map((m) => [m.uuid, m]));
    this.#deleted = false;
    this.#changed();
  }

  applyUpdate(frame: CallQueueUpdateFrame): ApplyResult {
    if (frame.queue_id !== this.queueId) return inconsistent(`update for queue ${frame.queue_id}`);
    if (this.#seq === null) return inconsistent('update before any snapshot');
    if (frame.seq <= this.#seq) return { kind: 'stale' };
    if (frame.seq !== this.#seq + 1) return { kind: 'gap', sinceSeq: this.#seq };

    switch (frame.kind) {
      case 'caller_joined':
      case 'caller_updated':
      case 'caller_left': {
        const { caller } = frame;
        let line = this.#line;
        if (frame.line !== undefined) {
          if (frame.line.uuid !== caller.uuid) return inconsistent(`line moves ${frame.line.uuid}, not caller ${caller.uuid}`);
          const moved = moveInLine(this.#line, frame.line);
          if (typeof moved === 'string') return inconsistent(moved);
          line = moved;
        }
        const shouldWait = frame.kind !== 'caller_left' && caller.status === 'waiting';
        if (line.includes(caller.uuid) !== shouldWait) {
          return inconsistent(`caller ${caller.uuid} ${shouldWait ? 'missing from' : 'still in'} the line after ${frame.kind}`);
        }
        if (frame.kind === 'caller_joined' && this.#callers.has(caller.uuid)) {
          return inconsistent(`caller ${caller.uuid} joined twice`);
        }
        if (frame.kind !== 'caller_joined' && !this.#callers.has(caller.uuid)) {
          return inconsistent(`unknown caller ${caller.uuid}`);
        }
        this.#line = line;
        if (frame.kind === 'caller_left') this.#callers.delete(caller.uuid);
        else this.#callers.set(caller.uuid, caller);
        this.#stats = frame.stats;
        break;
      }
      case 'member_added':
      case 'member_updated':
        this.#members.set(frame.member.uuid, frame.member);
        this.#stats = frame.stats;
        break;
      case 'member_removed':
        this.#members.delete(frame.member.uuid);
        this.#stats = frame.stats;
        break;
      case 'queue_updated':
        this.#queue = frame.queue;
        this.#stats = frame.stats;
        break;
      case 'queue_deleted':
        this.#queue = frame.queue;
        this.#deleted = true;
        break;
      default:
        // A kind added within v1 (README "Versioning"): this view cannot apply it, so it cannot
        // know what changed — a fresh snapshot is the safe answer.
        return inconsistent(`unknown update kind ${(frame as { kind: string }).kind}`);
    }
    this.#seq = frame.seq;
    this.#changed();
    return { kind: 'applied' };
  }

  #changed(): void {
    this.#waiting = null;
    this.#all = null;
  }
}

function inconsistent(detail: string): ApplyResult {
  return { kind: 'inconsistent', detail };
}

/**
 * websocket.md 5.3: remove `uuid` at `from` (if not null), insert it at `to` (if not null), check
 * the length. Returns the new line, or why the move does not fit this line.
 */
export function moveInLine(line: readonly string[], move: WireLineMove): string[] | string {
  const next = [...line];
  if (move.from !== null) {
    if (next[move.from] !== move.uuid) return `line: ${move.uuid} is not at index ${move.from}`;
    next.splice(move.from, 1);
  } else if (next.includes(move.uuid)) {
    return `line: ${move.uuid} enters the line but is already in it`;
  }
  if (move.to !== null) {
    if (!Number.isInteger(move.to) || move.to < 0 || move.to > next.length) return `line: index ${move.to} out of range`;
    next.splice(move.to, 0, move.uuid);
  }
  if (next.length !== move.length) return `line: length ${next.length}, update says ${move.length}`;
  return next;
}
