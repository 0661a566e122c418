/**
 * One call queue held in memory: the waiting line, callers, members, counters and the change log.
 * Every mutation validates everything first, then changes state, then announces exactly one change
 * through the store's feed fan-out (synchronously, so listeners see changes in seq order). The Redis scripts in
 * redis/lua/call-*.lua implement the same rules; both pass test/integration/calls-*.test.ts.
 */
import { HoldlineError } from '../../errors.js';
import {
  CALLER_TRANSITIONS,
  buildStats,
  memberCounts,
  type CallQueue,
  type CallQueueChange,
  type CallQueuePatch,
  type CallQueueSnapshot,
  type CallQueueStats,
  type Caller,
  type CallerField,
  type CallerPatch,
  type CallerStatus,
  type EstimateLineRead,
  type LeaveReason,
  type LineMove,
  type Member,
  type MemberField,
  type MemberPatch,
  type Mutation,
  type NewCaller,
  type NewMember,
  type QueueField,
  type StatsCounts,
} from '../call-types.js';
import { WallboardBuckets, joinDelta, leaveDelta, type WallboardRead } from '../wallboard.js';
import { copyPlain } from './copy.js';
import { isoTime as iso } from '../iso-time.js';

/** In the order changes list them (the same order as redis/lua/call-queue-update.lua). */
const QUEUE_FIELDS: QueueField[] = ['name', 'description', 'disabled', 'project_id', 'user_id', 'service_level_seconds'];


/** Priority desc, then join order: the same score the Redis line uses (redis/lua/includes/call-line-score.lua). */
export const lineScore = (priority: number, joinSeq: number): number => -priority * 2 ** 32 + joinSeq;

interface CallerRec {
  uuid: string;
  name: string;
  number: string;
  priority: number;
  status: CallerStatus;
  statusMs: number;
  memberUuid: string | null;
  createdMs: number;
  joinSeq: number;
  connectedMs: number | null;
  callback?: { number: string; requestedMs: number };
  /** The estimate given at its join (NewCaller.estimated_wait), returned at its leave. */
  estimatedWait?: number;
}

/** The counts kept as they happen; the others are read from the queue's state when stats are built. */
type Counters = Pick<StatsCounts, 'completed' | 'abandoned' | 'timedOut' | 'transferred' | 'answeredWaitMs' | 'answeredWithin'>;

type ChangeBody = CallQueueChange extends infer C ? (C extends CallQueueChange ? Omit<C, 'queue_id' | 'seq' | 'at'> : never) : never;

export class MemoryCallQueue {
  seq = 0;
  private joinSeq = 0;
  /** Waiting callers sorted by score ascending (= position order). */
  private readonly line: { uuid: string; score: number }[] = [];
  private readonly callers = new Map<string, CallerRec>();
  private readonly members = new Map<string, Member>();
  private readonly counters: Counters = {
    completed: 0, abandoned: 0, timedOut: 0, transferred: 0, answeredWaitMs: 0, answeredWithin: 0,
  };
  /**
   * The last `retention` changes, a ring: change `seq` at `seq % retention` (a change costs one
   * store, where trimming the head of an array moved every retained change, per change).
   */
  private readonly log: CallQueueChange[] = [];
  /** How many changes the ring holds (at most `retention`). */
  private logCount = 0;
  /** Wallboard buckets (wallboard.ts), counted by join and leave like the counters above. */
  private readonly wallboard = new WallboardBuckets();
  /**
   * What stats() reads of the callers and members, kept as they change (setCaller, setMember and
   * their deletes) instead of walking a thousand callers and every member per change. The oldest
   * unanswered join time is kept while it stays the minimum; undefined: walk once to find it.
   */
  private ringing = 0;
  private connected = 0;
  private oldestMs: number | null | undefined = null;
  private readonly memberTotals = { loggedIn: 0, available: 0, paused: 0 };

  constructor(
    public queue: CallQueue,
    private readonly now: () => number,
    private readonly retention: number,
    /** The store's fan-out of this queue's feed (calls.ts), called inside the mutation. */
    private readonly announce: (change: CallQueueChange) => void,
  ) {}

  // --- reads ---

  snapshot(): CallQueueSnapshot {
    const nowMs = this.now();
    const waiting = this.line.map((e, i) => this.callerWire(this.callers.get(e.uuid)!, i));
    const others = [...this.callers.values()]
      .filter((c) => c.status !== 'waiting')
      .sort((a, b) => a.joinSeq - b.joinSeq)
      .map((c) => this.callerWire(c, null));
    return {
      queue: { ...this.queue },
      seq: this.seq,
      callers: [...waiting, ...others],
      members: this.memberList(),
      stats: this.stats(nowMs),
    };
  }

  estimateLine(): EstimateLineRead {
    const ringing: string[] = [];
    for (const c of this.callers.values()) if (c.status === 'ringing' && c.memberUuid !== null) ringing.push(c.memberUuid);
    return {
      nowMs: this.now(),
      waiting: this.line.map((e) => ({ uuid: e.uuid, createdMs: this.callers.get(e.uuid)!.createdMs })),
      members: [...this.members.values()].map((m) => ({ uuid: m.uuid, status: m.status, paused: m.paused, statusAtMs: Date.parse(m.status_at) })),
      ringing,
    };
  }

  memberList(): Member[] {
    return [...this.members.values()]
      .sort((a, b) => (a.created_at === b.created_at ? cmp(a.uuid, b.uuid) : cmp(a.created_at, b.created_at)))
      .map((m) => ({ ...m }));
  }

  getMember(agentUuid: string): Member | null {
    const m = this.members.get(agentUuid);
    return m ? { ...m } : null;
  }

  memberIds(): string[] {
    return [...this.members.keys()];
  }

  getCaller(uuid: string): Caller | null {
    const c = this.callers.get(uuid);
    return c ? this.callerWire(c, this.rank(c)) : null;
  }

  changesSince(seq: number): CallQueueChange[] | null {
    if (seq > this.seq || seq < 0) return null;
    const first = this.seq - this.logCount + 1;
    if (seq + 1 < first) return null;
    const out: CallQueueChange[] = [];
    for (let s = seq + 1; s <= this.seq; s++) out.push(this.log[s % this.retention]!);
    return copyPlain(out);
  }

  stats(nowMs = this.now()): CallQueueStats {
    if (this.oldestMs === undefined) {
      let oldestMs: number | null = null;
      for (const c of this.callers.values()) if (c.status !== 'connected' && (oldestMs === null || c.createdMs < oldestMs)) oldestMs = c.createdMs;
      this.oldestMs = oldestMs;
    }
    const t = this.memberTotals;
    return buildStats({
      waiting: this.line.length, ringing: this.ringing, connected: this.connected, oldestMs: this.oldestMs,
      members: this.members.size, loggedIn: t.loggedIn, available: t.available, paused: t.paused,
      ...this.counters,
      slSeconds: this.queue.service_level_seconds,
      nowMs,
    });
  }

  /** Every write of a caller record goes through here or deleteCaller: they keep stats()'s tallies. */
  private setCaller(uuid: string, rec: CallerRec): void {
    this.untally(this.callers.get(uuid), rec);
    this.callers.set(uuid, rec);
    if (rec.status === 'ringing') this.ringing++;
    if (rec.status === 'connected') this.connected++;
    else if (this.oldestMs !== undefined) this.oldestMs = this.oldestMs === null ? rec.createdMs : Math.min(this.oldestMs, rec.createdMs);
  }

  private deleteCaller(uuid: string): void {
    this.untally(this.callers.get(uuid), undefined);
    this.callers.delete(uuid);
  }

  /** Takes `prev` out of the tallies; the oldest join time is found again when prev held it and `next` does not. */
  private untally(prev: CallerRec | undefined, next: CallerRec | undefined): void {
    if (prev === undefined) return;
    if (prev.status === 'ringing') this.ringing--;
    if (prev.status === 'connected') this.connected--;
    else if (prev.createdMs === this.oldestMs && (next === undefined || next.status === 'connected' || next.createdMs !== prev.createdMs)) this.oldestMs = undefined;
  }

  /** Every write of a member goes through here or deleteMember: they keep the member tallies. */
  private setMember(uuid: string, m: Member): void {
    this.tallyMember(this.members.get(uuid), -1);
    this.members.set(uuid, m);
    this.tallyMember(m, 1);
  }

  private deleteMember(uuid: string): void {
    this.tallyMember(this.members.get(uuid), -1);
    this.members.delete(uuid);
  }

  private tallyMember(m: Member | undefined, sign: 1 | -1): void {
    if (m === undefined) return;
    const n = memberCounts(m);
    this.memberTotals.loggedIn += sign * n.loggedIn;
    this.memberTotals.available += sign * n.available;
    this.memberTotals.paused += sign * n.paused;
  }

  /** What the wallboard reads, at one instant (wallboard.ts). */
  wallboardRead(): WallboardRead {
    const nowMs = this.now();
    const copy = (m: Map<number, number[]>) => new Map([...m].map(([k, v]) => [k, [...v]]));
    return {
      stats: this.stats(nowMs),
      members: [...this.members.values()].map((m) => ({ uuid: m.uuid, status: m.status, paused: m.paused, status_at: m.status_at })),
      buckets: { minutes: copy(this.wallboard.minutes), quarters: copy(this.wallboard.quarters) },
      nowMs,
    };
  }

  // --- queue ---

  update(patch: CallQueuePatch): Mutation<CallQueue> {
    const changed = QUEUE_FIELDS.filter((k) => patch[k] !== undefined && patch[k] !== this.queue[k]);
    if (changed.length === 0) return { value: { ...this.queue }, change: null };
    const nowMs = this.now();
    const next: CallQueue = { ...this.queue, updated_at: iso(nowMs) };
    for (const k of changed) (next as unknown as Record<string, unknown>)[k] = patch[k];
    this.queue = next;
    const change = this.emit(nowMs, { kind: 'queue_updated', queue: { ...next }, changed, stats: this.stats(nowMs) });
    return { value: { ...next }, change };
  }

  /** The final change; the owner drops this object afterwards. */
  deleted(): CallQueueChange {
    return this.emit(this.now(), { kind: 'queue_deleted', queue: { ...this.queue } });
  }

  // --- members ---

  addMember(input: NewMember): Mutation<Member> {
    if (this.members.has(input.agent_uuid)) throw new HoldlineError('member_exists');
    const nowMs = this.now();
    const m: Member = {
      uuid: input.agent_uuid,
      queue_id: this.queue.uuid,
      number: input.number,
      paused: input.paused,
      paused_at: input.paused ? iso(nowMs) : null,
      pause_reason: input.paused ? input.pause_reason : null,
      status: input.status,
      status_at: iso(nowMs),
      created_at: iso(nowMs),
    };
    this.setMember(m.uuid, m);
    const change = this.emit(nowMs, { kind: 'member_added', member: { ...m }, stats: this.stats(nowMs) });
    return { value: { ...m }, change };
  }

  updateMember(agentUuid: string, patch: MemberPatch): Mutation<Member> {
    const cur = this.members.get(agentUuid);
    if (!cur) throw new HoldlineError('member_not_found');
    const nowMs = this.now();
    const next: Member = { ...cur };
    if (patch.number !== undefined) next.number = patch.number;
    if (patch.status !== undefined && patch.status !== cur.status) {
      next.status = patch.status;
      next.status_at = iso(nowMs);
    }
    if (patch.paused !== undefined && patch.paused !== cur.paused) {
      next.paused = patch.paused;
      next.paused_at = patch.paused ? iso(nowMs) : null;
    }
    if (patch.pause_reason !== undefined) next.pause_reason = patch.pause_reason;
    if (!next.paused) next.pause_reason = null;
    const changed = (['number', 'paused', 'pause_reason', 'status'] as MemberField[]).filter((k) => next[k] !== cur[k]);
    if (changed.length === 0) return { value: { ...cur }, change: null };
    this.setMember(agentUuid, next);
    const change = this.emit(nowMs, { kind: 'member_updated', member: { ...next }, changed, stats: this.stats(nowMs) });
    return { value: { ...next }, change };
  }

  removeMember(agentUuid: string): CallQueueChange {
    const m = this.members.get(agentUuid);
    if (!m) throw new HoldlineError('member_not_found');
    this.deleteMember(agentUuid);
    const nowMs = this.now();
    return this.emit(nowMs, { kind: 'member_removed', member: { ...m }, stats: this.stats(nowMs) });
  }

  // --- callers ---

  join(uuid: string, input: NewCaller): Mutation<Caller> {
    if (this.queue.disabled) throw new HoldlineError('queue_disabled');
    const nowMs = this.now();
    const rec: CallerRec = {
      uuid, name: input.name, number: input.number, priority: input.priority,
      status: 'waiting', statusMs: nowMs, memberUuid: null, createdMs: nowMs,
      joinSeq: ++this.joinSeq, connectedMs: null,
      ...(input.estimated_wait === undefined ? {} : { estimatedWait: input.estimated_wait }),
    };
    this.setCaller(uuid, rec);
    const to = this.lineInsert(rec);
    this.wallboard.add(nowMs, joinDelta());
    const caller = this.callerWire(rec, to);
    const line: LineMove = { uuid, from: null, to, length: this.line.length };
    const change = this.emit(nowMs, { kind: 'caller_joined', caller: { ...caller }, line, stats: this.stats(nowMs) });
    return { value: caller, change };
  }

  updateCaller(uuid: string, patch: CallerPatch): Mutation<Caller> {
    const cur = this.callers.get(uuid);
    if (!cur) throw new HoldlineError('caller_not_found');
    const status = patch.status ?? cur.status;
    if (status !== cur.status && !CALLER_TRANSITIONS[cur.status].includes(status)) {
      throw new HoldlineError('invalid_transition', { field: 'status' });
    }
    let memberUuid = patch.member_uuid !== undefined ? patch.member_uuid : cur.memberUuid;
    if (status === 'waiting') {
      if (typeof patch.member_uuid === 'string') throw new HoldlineError('invalid_field', { field: 'member_uuid' });
      memberUuid = null;
    } else {
      if (memberUuid === null) throw new HoldlineError('missing_field', { field: 'member_uuid' });
      if (typeof patch.member_uuid === 'string' && !this.members.has(patch.member_uuid)) {
        throw new HoldlineError('member_not_found', { field: 'member_uuid' });
      }
    }
    const priority = patch.priority ?? cur.priority;
    const changed: CallerField[] = [];
    if (priority !== cur.priority) changed.push('priority');
    if (status !== cur.status) changed.push('status');
    if (memberUuid !== cur.memberUuid) changed.push('member_uuid');
    if (changed.length === 0) return { value: this.callerWire(cur, this.rank(cur)), change: null };

    const nowMs = this.now();
    const from = cur.status === 'waiting' ? this.lineRemove(cur) : null;
    const next: CallerRec = { ...cur, priority, status, memberUuid };
    if (status !== cur.status) {
      next.statusMs = nowMs;
      if (status === 'connected') next.connectedMs = nowMs;
    }
    this.setCaller(uuid, next);
    const to = status === 'waiting' ? this.lineInsert(next) : null;
    const caller = this.callerWire(next, to);
    const body: ChangeBody = { kind: 'caller_updated', caller: { ...caller }, changed, stats: this.stats(nowMs) };
    if (from !== to) body.line = { uuid, from, to, length: this.line.length };
    return { value: caller, change: this.emit(nowMs, body) };
  }

  requestCallback(uuid: string, given: string | null): Mutation<Caller> {
    const cur = this.callers.get(uuid);
    if (!cur) throw new HoldlineError('caller_not_found');
    if (cur.status !== 'waiting') throw new HoldlineError('invalid_transition', { field: 'status' });
    const number = given ?? cur.number;
    if (cur.callback?.number === number) return { value: this.callerWire(cur, this.rank(cur)), change: null };
    const nowMs = this.now();
    const next: CallerRec = { ...cur, callback: { number, requestedMs: nowMs } };
    this.setCaller(uuid, next);
    const caller = this.callerWire(next, this.rank(next));
    const change = this.emit(nowMs, { kind: 'caller_updated', caller: { ...caller }, changed: ['callback'], stats: this.stats(nowMs) });
    return { value: caller, change };
  }

  leave(uuid: string, reason: LeaveReason): CallQueueChange {
    const cur = this.callers.get(uuid);
    if (!cur) throw new HoldlineError('caller_not_found');
    const nowMs = this.now();
    const from = cur.status === 'waiting' ? this.lineRemove(cur) : null;
    this.deleteCaller(uuid);
    const waitMs = (cur.connectedMs ?? nowMs) - cur.createdMs;
    const k = this.counters;
    if (reason === 'answered') {
      k.completed++;
      k.answeredWaitMs += waitMs;
      if (waitMs <= this.queue.service_level_seconds * 1000) k.answeredWithin++;
    } else if (reason === 'abandoned') k.abandoned++;
    else if (reason === 'timeout') k.timedOut++;
    else k.transferred++;
    const handleMs = cur.connectedMs === null ? null : nowMs - cur.connectedMs;
    this.wallboard.add(nowMs, leaveDelta(reason, waitMs, handleMs, this.queue.service_level_seconds));
    const body: ChangeBody = {
      kind: 'caller_left', caller: this.callerWire(cur, null), reason, wait: waitMs / 1000, stats: this.stats(nowMs),
      ...(cur.estimatedWait === undefined ? {} : { estimated_wait: cur.estimatedWait }),
    };
    if (from !== null) body.line = { uuid, from, to: null, length: this.line.length };
    return this.emit(nowMs, body);
  }

  // --- internals ---

  private emit(nowMs: number, body: ChangeBody): CallQueueChange {
    this.seq++;
    const change = { queue_id: this.queue.uuid, seq: this.seq, at: iso(nowMs), ...body } as CallQueueChange;
    if (this.retention > 0) {
      this.log[this.seq % this.retention] = change;
      if (this.logCount < this.retention) this.logCount++;
    }
    this.announce(change);
    return copyPlain(change);
  }

  private callerWire(c: CallerRec, position: number | null): Caller {
    const w: Caller = {
      uuid: c.uuid, queue_id: this.queue.uuid, name: c.name, number: c.number, priority: c.priority,
      position, status: c.status, status_at: iso(c.statusMs), member_uuid: c.memberUuid, created_at: iso(c.createdMs),
    };
    if (c.callback !== undefined) w.callback = { number: c.callback.number, requested_at: iso(c.callback.requestedMs) };
    return w;
  }

  /** Waiting callers of priority >= `priority`: those before the first score of priority - 1. */
  waitingAtOrAbove(priority: number): number {
    return this.lowerBound(lineScore(priority - 1, 0));
  }

  /** Index of the first line entry whose score is >= `score`. */
  private lowerBound(score: number): number {
    let lo = 0;
    let hi = this.line.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.line[mid]!.score < score) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private rank(c: CallerRec): number | null {
    return c.status === 'waiting' ? this.lowerBound(lineScore(c.priority, c.joinSeq)) : null;
  }

  private lineInsert(c: CallerRec): number {
    const score = lineScore(c.priority, c.joinSeq);
    const i = this.lowerBound(score);
    this.line.splice(i, 0, { uuid: c.uuid, score });
    return i;
  }

  private lineRemove(c: CallerRec): number {
    const i = this.lowerBound(lineScore(c.priority, c.joinSeq));
    this.line.splice(i, 1);
    return i;
  }
  // --- routing (protocol/routing.md; memory/calls-routing.ts) ---

  /** Caller uuids waiting, in position order, with their join times and callback numbers (no wire rendering: routing reads this at every decision). */
  waitingLine(): { uuid: string; createdMs: number; callback?: string }[] {
    return this.line.map((e) => {
      const c = this.callers.get(e.uuid)!;
      return c.callback === undefined ? { uuid: e.uuid, createdMs: c.createdMs } : { uuid: e.uuid, createdMs: c.createdMs, callback: c.callback.number };
    });
  }

  /**
   * A waiting caller offered to every agent of a ring_all offer: `ringing` with no member until one
   * accepts (routing.md section 4), which updateCaller's rules (a ringing caller names its member) forbid.
   */
  ringAll(uuid: string): CallQueueChange {
    const cur = this.callers.get(uuid);
    if (cur?.status !== 'waiting') throw new HoldlineError('invalid_transition', { field: 'status' });
    const nowMs = this.now();
    const from = this.lineRemove(cur);
    const next: CallerRec = { ...cur, status: 'ringing', statusMs: nowMs, memberUuid: null };
    this.setCaller(uuid, next);
    return this.emit(nowMs, {
      kind: 'caller_updated', caller: this.callerWire(next, null), changed: ['status'],
      line: { uuid, from, to: null, length: this.line.length }, stats: this.stats(nowMs),
    });
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
