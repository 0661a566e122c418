/**
 * The Redis call store's records, as the Lua scripts write them (times in ms, internal fields such
 * as join_seq), and their conversion to the wire shapes of call-types.ts. The only place that knows
 * both; every script reply passes through here.
 */
import {
  buildStats,
  type Agent,
  type CallQueue,
  type CallQueueChange,
  type CallQueueStats,
  type Caller,
  type CallerField,
  type CallerStatus,
  type EstimateLineRead,
  type LeaveReason,
  type LineMove,
  type Member,
  type MemberField,
  type MemberStatus,
  type QueueField,
} from '../call-types.js';
import { isoTime } from '../iso-time.js';

// isoTime: the same text as toISOString, without its cost for the few instants a reply repeats
// (every change carries its time, its caller's or member's and its stats').
const iso = isoTime;
const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms));

export interface RawQueue {
  uuid: string;
  name: string;
  description: string;
  disabled: boolean;
  project_id: string | null;
  user_id: string | null;
  service_level_seconds: number;
  created_ms: number;
  updated_ms: number;
}

export interface RawMember {
  uuid: string;
  queue_id: string;
  number: string;
  paused: boolean;
  paused_ms: number | null;
  pause_reason: string | null;
  status: MemberStatus;
  status_ms: number;
  created_ms: number;
}

export interface RawCaller {
  uuid: string;
  queue_id: string;
  name: string;
  number: string;
  priority: number;
  status: CallerStatus;
  status_ms: number;
  member_uuid: string | null;
  created_ms: number;
  join_seq: number;
  connected_ms: number | null;
  position?: number | null;
  /** The estimate given at its join: NewCaller.estimated_wait, stored as given by call-caller-join.lua. */
  estimated_wait?: number;
  /** Set by call-caller-callback.lua. */
  callback?: { number: string; requested_ms: number };
}

export interface RawAgent {
  uuid: string;
  /** Creation number: listings are in creation order. */
  n: number;
  name: string;
  project_id: string | null;
  user_id: string | null;
  created_ms: number;
  updated_ms: number;
}

interface RawStats {
  waiting: number;
  ringing: number;
  connected: number;
  oldest_ms: number | null;
  members: number;
  logged_in: number;
  available: number;
  paused: number;
  completed: number;
  abandoned: number;
  timed_out: number;
  transferred: number;
  answered_wait_ms: number;
  answered_within: number;
  sl_seconds: number;
  now_ms: number;
}

interface RawChange {
  queue_id: string;
  seq: number;
  at_ms: number;
  kind: CallQueueChange['kind'];
  queue?: RawQueue;
  member?: RawMember;
  caller?: RawCaller;
  changed?: string[];
  line?: LineMove;
  reason?: LeaveReason;
  wait_ms?: number;
  stats?: RawStats;
}

export function queueFromRaw(r: RawQueue): CallQueue {
  return {
    uuid: r.uuid, name: r.name, description: r.description, disabled: r.disabled,
    project_id: r.project_id, user_id: r.user_id, service_level_seconds: r.service_level_seconds,
    created_at: iso(r.created_ms), updated_at: iso(r.updated_ms),
  };
}

export function memberFromRaw(r: RawMember): Member {
  return {
    uuid: r.uuid, queue_id: r.queue_id, number: r.number, paused: r.paused, paused_at: isoOrNull(r.paused_ms),
    pause_reason: r.pause_reason, status: r.status, status_at: iso(r.status_ms), created_at: iso(r.created_ms),
  };
}

export function callerFromRaw(r: RawCaller): Caller {
  const c: Caller = {
    uuid: r.uuid, queue_id: r.queue_id, name: r.name, number: r.number, priority: r.priority,
    position: r.position ?? null, status: r.status, status_at: iso(r.status_ms), member_uuid: r.member_uuid,
    created_at: iso(r.created_ms),
  };
  if (r.callback !== undefined) c.callback = { number: r.callback.number, requested_at: iso(r.callback.requested_ms) };
  return c;
}

export function agentFromRaw(r: RawAgent, tags: string[]): Agent {
  return {
    uuid: r.uuid, name: r.name, project_id: r.project_id, user_id: r.user_id, tags: [...tags].sort(),
    created_at: iso(r.created_ms), updated_at: iso(r.updated_ms),
  };
}

function statsFromRaw(s: RawStats): CallQueueStats {
  return buildStats({
    waiting: s.waiting, ringing: s.ringing, connected: s.connected, oldestMs: s.oldest_ms,
    members: s.members, loggedIn: s.logged_in, available: s.available, paused: s.paused,
    completed: s.completed, abandoned: s.abandoned, timedOut: s.timed_out, transferred: s.transferred,
    answeredWaitMs: s.answered_wait_ms, answeredWithin: s.answered_within,
    slSeconds: s.sl_seconds, nowMs: s.now_ms,
  });
}

/**
 * The raw stats given to a change stored without them: an event record's change (call-emit.lua
 * stores it so), whose event's values (events.ts changeEventValues) read none of them.
 */
const NO_STATS: RawStats = {
  waiting: 0, ringing: 0, connected: 0, oldest_ms: null, members: 0, logged_in: 0, available: 0, paused: 0,
  completed: 0, abandoned: 0, timed_out: 0, transferred: 0, answered_wait_ms: 0, answered_within: 0, sl_seconds: 0, now_ms: 0,
};

/** The change an event record stores (`c`, parsed), for its event's values: with zero stats when it has none. */
export function changeOfEventRecord(raw: unknown): CallQueueChange {
  const r = raw as RawChange;
  if (r.stats === undefined && r.kind !== 'queue_deleted') r.stats = NO_STATS;
  return changeFromRaw(r);
}

export const parseStats = (json: string): CallQueueStats => statsFromRaw(JSON.parse(json) as RawStats);
export const parseQueue = (json: string): CallQueue => queueFromRaw(JSON.parse(json) as RawQueue);
export const parseMember = (json: string): Member => memberFromRaw(JSON.parse(json) as RawMember);
export const parseCaller = (json: string): Caller => callerFromRaw(JSON.parse(json) as RawCaller);
export const parseRawCaller = (json: string): RawCaller => JSON.parse(json) as RawCaller;

/**
 * The estimate's part of a snapshot reply (call-snapshot-9.lua): the line's join times, the
 * members' states and the ringing callers' members, read from the raw records without building
 * wire callers (no ISO dates), per push of the wallboard's estimates.
 */
export function estimateLineFromRaw(line: readonly string[], callers: readonly string[], members: readonly string[], stats: string): EstimateLineRead {
  const created = new Map<string, number>();
  const ringing: string[] = [];
  for (const json of callers) {
    const c = parseRawCaller(json);
    if (c.status === 'waiting') created.set(c.uuid, c.created_ms);
    else if (c.status === 'ringing' && c.member_uuid !== null) ringing.push(c.member_uuid);
  }
  return {
    nowMs: (JSON.parse(stats) as RawStats).now_ms,
    waiting: line.map((uuid) => ({ uuid, createdMs: created.get(uuid)! })),
    members: members.map((json) => {
      const m = JSON.parse(json) as RawMember;
      return { uuid: m.uuid, status: m.status, paused: m.paused, statusAtMs: m.status_ms };
    }),
    ringing,
  };
}

/** cjson cannot tell an empty array from an empty object; every list here is non-empty or absent. */
function list<T extends string>(v: string[] | undefined): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

export function parseChange(json: string): CallQueueChange {
  return changeFromRaw(JSON.parse(json));
}

/** A change as its script encoded it, already parsed from JSON (an event record's `c`: events.ts toLogged). */
export function changeFromRaw(raw: unknown): CallQueueChange {
  const r = raw as RawChange;
  const base = { queue_id: r.queue_id, seq: r.seq, at: iso(r.at_ms) };
  const stats = (): CallQueueStats => statsFromRaw(r.stats!);
  switch (r.kind) {
    case 'queue_updated':
      return { ...base, kind: r.kind, queue: queueFromRaw(r.queue!), changed: list<QueueField>(r.changed), stats: stats() };
    case 'queue_deleted':
      return { ...base, kind: r.kind, queue: queueFromRaw(r.queue!) };
    case 'member_added':
    case 'member_removed':
      return { ...base, kind: r.kind, member: memberFromRaw(r.member!), stats: stats() };
    case 'member_updated':
      return { ...base, kind: r.kind, member: memberFromRaw(r.member!), changed: list<MemberField>(r.changed), stats: stats() };
    case 'caller_joined':
      return { ...base, kind: r.kind, caller: callerFromRaw(r.caller!), line: r.line!, stats: stats() };
    case 'caller_updated': {
      const c = { ...base, kind: r.kind, caller: callerFromRaw(r.caller!), changed: list<CallerField>(r.changed), stats: stats() };
      return r.line ? { ...c, line: r.line } : c;
    }
    case 'caller_left': {
      const est = r.caller!.estimated_wait;
      const c = {
        ...base, kind: r.kind, caller: callerFromRaw(r.caller!), reason: r.reason!, wait: r.wait_ms! / 1000, stats: stats(),
        ...(typeof est === 'number' ? { estimated_wait: est } : {}),
      };
      return r.line ? { ...c, line: r.line } : c;
    }
  }
}
