/**
 * The call-queue storage contract (SPEC.md 2, 3.2, 3.3; protocol/calls.md). Two implementations,
 * memory/calls.ts and redis/calls.ts, pass one test suite (test/integration/calls-*.test.ts).
 *
 * Everything is scoped by application. Inputs are validated by src/domain/calls before they reach
 * a store; what a store checks itself is what must be checked atomically with the change: the
 * existence of the queue, member, caller, agent or tag, a disabled queue, a caller's status
 * transition. Those failures reject with a HoldlineError whose code is in src/errors.ts.
 * Reads of one missing thing resolve null; mutations of a missing thing reject.
 *
 * Values returned are the wire shapes: times are ISO-8601 UTC strings with milliseconds.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FeedEvent, FeedListener, Unsubscribe } from './feed.js';
import { isoTime } from './iso-time.js';

export type CallerStatus = 'waiting' | 'ringing' | 'connected';
export type LeaveReason = 'answered' | 'abandoned' | 'timeout' | 'transferred';
export type MemberStatus = 'available' | 'busy' | 'wrapup' | 'logged_out';

export const CALLER_STATUSES: readonly CallerStatus[] = ['waiting', 'ringing', 'connected'];
export const LEAVE_REASONS: readonly LeaveReason[] = ['answered', 'abandoned', 'timeout', 'transferred'];
export const MEMBER_STATUSES: readonly MemberStatus[] = ['available', 'busy', 'wrapup', 'logged_out'];

/**
 * Allowed caller status changes; setting the current status again is not a change. `connected` is
 * final until the caller leaves. Mirrored in redis/lua/call-caller-update.lua.
 */
export const CALLER_TRANSITIONS: Readonly<Record<CallerStatus, readonly CallerStatus[]>> = {
  waiting: ['ringing', 'connected'],
  ringing: ['waiting', 'connected'],
  connected: [],
};

/** Priorities are integers in this range; the ordering score relies on it (redis/lua/includes/call-line-score.lua). */
export const PRIORITY_MIN = -1_000_000;
export const PRIORITY_MAX = 1_000_000;

export interface Agent {
  uuid: string;
  name: string;
  project_id: string | null;
  user_id: string | null;
  /** Tag names, sorted. */
  tags: string[];
  created_at: string;
  updated_at: string;
}

/** A call queue: what it was created with (NewCallQueue, as changed since), plus identity and times. */
export interface CallQueue extends NewCallQueue {
  uuid: string;
  created_at: string;
  updated_at: string;
}

export interface Member {
  /** The agent's uuid. */
  uuid: string;
  queue_id: string;
  number: string;
  paused: boolean;
  paused_at: string | null;
  /** Null whenever `paused` is false. */
  pause_reason: string | null;
  status: MemberStatus;
  status_at: string;
  created_at: string;
}

export interface Caller {
  uuid: string;
  queue_id: string;
  name: string;
  number: string;
  priority: number;
  /** 0-based rank among waiting callers (priority desc, then join order); null unless waiting. */
  position: number | null;
  status: CallerStatus;
  status_at: string;
  /** The member the caller is offered to (ringing) or connected with; null while waiting. */
  member_uuid: string | null;
  created_at: string;
  /** Present once the caller asked to be called back (protocol/calls.md section 3.1): it keeps its place. */
  callback?: CallbackRequest;
}

/** A waiting caller turned into a callback: the number to call back and when it was asked. */
export interface CallbackRequest {
  number: string;
  requested_at: string;
}

export interface Tag {
  id: number;
  tag: string;
}

export interface TagDetail extends Tag {
  /** Agent uuids, sorted. */
  agents: string[];
}

/** Definitions: protocol/calls.md "Stats". */
export interface CallQueueStats {
  callers: number;
  callers_waiting: number;
  callers_ringing: number;
  callers_connected: number;
  /** Seconds the longest-waiting unanswered (waiting or ringing) caller has waited, at `at`. */
  longest_wait: number;
  /** Join time of that caller, so a client can keep `longest_wait` ticking; null when none. */
  oldest_wait_since: string | null;
  members: number;
  members_logged_in: number;
  members_available: number;
  members_paused: number;
  completed: number;
  abandoned: number;
  timed_out: number;
  transferred: number;
  /** Mean wait of the callers that left `answered`, seconds; null before the first. */
  average_wait: number | null;
  /** answered within threshold / (answered + abandoned + timeout); null before the first. */
  service_level: number | null;
  service_level_seconds: number;
  /** When these figures were taken. */
  at: string;
}

/**
 * How the waiting line moved: `uuid` left index `from` (null: was not in line) and now sits at
 * index `to` (null: no longer in line); `length` is the line's length afterwards. Callers between
 * the two indexes shift by one; nobody else moves. Applying every change in seq order to the line of
 * a snapshot gives the exact line (src/domain/calls/view.ts).
 */
export interface LineMove {
  uuid: string;
  from: number | null;
  to: number | null;
  length: number;
}

interface ChangeBase {
  queue_id: string;
  /** Per-queue sequence number: +1 per change, no gaps. */
  seq: number;
  at: string;
}

export type CallerField = 'priority' | 'status' | 'member_uuid' | 'callback';
export type QueueField = 'name' | 'description' | 'disabled' | 'project_id' | 'user_id' | 'service_level_seconds';
export type MemberField = 'number' | 'paused' | 'pause_reason' | 'status';

export type CallQueueChange =
  | (ChangeBase & { kind: 'queue_updated'; queue: CallQueue; changed: QueueField[]; stats: CallQueueStats })
  | (ChangeBase & { kind: 'queue_deleted'; queue: CallQueue })
  | (ChangeBase & { kind: 'member_added'; member: Member; stats: CallQueueStats })
  | (ChangeBase & { kind: 'member_updated'; member: Member; changed: MemberField[]; stats: CallQueueStats })
  | (ChangeBase & { kind: 'member_removed'; member: Member; stats: CallQueueStats })
  | (ChangeBase & { kind: 'caller_joined'; caller: Caller; line: LineMove; stats: CallQueueStats })
  | (ChangeBase & {
      kind: 'caller_updated';
      caller: Caller;
      changed: CallerField[];
      /** Absent when nobody's position changed. */
      line?: LineMove;
      stats: CallQueueStats;
    })
  | (ChangeBase & {
      kind: 'caller_left';
      /** The caller as it was when it left (position null). */
      caller: Caller;
      reason: LeaveReason;
      /** Seconds from joining to being connected (or to leaving, if never connected). */
      wait: number;
      /** The estimated wait given at its join (routing.md section 9), seconds; absent when there was none. */
      estimated_wait?: number;
      /** Absent when the caller was not waiting in line (ringing or connected). */
      line?: LineMove;
      stats: CallQueueStats;
    });

export type CallQueueChangeKind = CallQueueChange['kind'];

/** What a call-queue subscription announces: a feed (feed.ts) of changes in seq order, or a possible gap. */
export type CallQueueEvent = FeedEvent<'change', CallQueueChange>;
export type CallQueueListener = FeedListener<'change', CallQueueChange>;

export interface CallQueueSnapshot {
  queue: CallQueue;
  seq: number;
  /** Waiting callers in position order, then ringing and connected callers in join order. */
  callers: Caller[];
  /** By join time (created_at), then uuid. */
  members: Member[];
  stats: CallQueueStats;
  /**
   * Estimated wait of each waiting caller by uuid (protocol/routing.md section 9): added by the
   * domain (CallService.feeds) to the snapshots live followers get; a store's own snapshot has none.
   */
  estimates?: Record<string, number | null>;
}

/**
 * Routing's idleness right after a change (RoutingStore.routingIdle): set by a store that reads it
 * in the same atomic step as the change (the Redis store's caller, member and queue changes that
 * routing follows: one script call fewer per change), so the domain hands it to routing, which then
 * skips its own read. Absent: not read with the change (the router reads it).
 */
export interface RoutingIdleAfter {
  routingIdle?: boolean;
}

/** A mutation's result and the one change it made; `change` is null when nothing changed. */
export interface Mutation<T> extends RoutingIdleAfter {
  value: T;
  change: CallQueueChange | null;
}

/** A change that returns no value of its own (a caller's leave, a member's removal): the change made. */
export interface Changed extends RoutingIdleAfter {
  change: CallQueueChange;
}

// --- validated inputs ---

export interface NewAgent {
  name: string;
  project_id: string | null;
  user_id: string | null;
}
export type AgentPatch = Partial<NewAgent>;

export interface NewCallQueue {
  name: string;
  description: string;
  disabled: boolean;
  project_id: string | null;
  user_id: string | null;
  /** Service-level threshold: an answered caller counts as "within" when its wait was at most this. */
  service_level_seconds: number;
}
export type CallQueuePatch = Partial<NewCallQueue>;

export interface NewMember {
  agent_uuid: string;
  number: string;
  paused: boolean;
  pause_reason: string | null;
  status: MemberStatus;
}
export type MemberPatch = Partial<Omit<NewMember, 'agent_uuid'>>;

export interface NewCaller {
  name: string;
  number: string;
  priority: number;
  /** Skills the agent must hold for this caller (protocol/routing.md); absent or empty: none. */
  required_tags?: string[];
  /**
   * The estimated wait the node computed for this caller as it joined (protocol/routing.md section 9),
   * kept with the caller and given back on its caller_left change (and leave event); absent: none.
   */
  estimated_wait?: number;
}
/**
 * A joining caller's estimates for the places `lo`, `lo + 1`, … (estimates[i] is place lo + i's,
 * seconds; null: no estimate): CallStore.joinCallerInWindow.
 */
export interface JoinWindow {
  lo: number;
  estimates: readonly (number | null)[];
}

export interface CallerPatch {
  priority?: number;
  status?: CallerStatus;
  member_uuid?: string | null;
}

export interface TagPut {
  /** New name; absent keeps the current one (or the reference, when creating). */
  tag?: string;
  /** Replaces the tagged agents when present. */
  agents?: string[];
}

export interface AgentTokenGrant {
  token: string;
  agent_uuid: string;
  expires_at: string;
}

export type AgentTokenCheck =
  | { valid: true; app: string; agent_uuid: string; expires_at: string }
  /** `unknown` covers never issued, revoked, the agent deleted, and expired beyond the grace period. */
  | { valid: false; reason: 'unknown' | 'expired' };

export interface CallStore {
  close(): Promise<void>;
  /**
   * Removes all of an application's call data: each queue (announcing queue_deleted), each agent
   * (so its tokens stop verifying), each tag. For the deletion of the application itself.
   */
  deleteApplication(app: string): Promise<void>;

  // --- agents ---
  createAgent(app: string, input: NewAgent): Promise<Agent>;
  getAgent(app: string, uuid: string): Promise<Agent | null>;
  /** In creation order. */
  listAgents(app: string): Promise<Agent[]>;
  updateAgent(app: string, uuid: string, patch: AgentPatch): Promise<Agent>;
  /** Removes its tag relations, its memberships (each a member_removed change) and its tokens. */
  deleteAgent(app: string, uuid: string): Promise<void>;

  // --- tags (a tag reference is its id in decimal or its name; names are never all digits) ---
  createTag(app: string, name: string): Promise<{ tag: Tag; created: boolean }>;
  getTag(app: string, ref: string): Promise<TagDetail | null>;
  /** By id. */
  listTags(app: string): Promise<TagDetail[]>;
  /** PUT semantics (protocol/calls.md "Tags"). */
  putTag(app: string, ref: string, input: TagPut): Promise<{ tag: TagDetail; created: boolean }>;
  /** True when a tag was deleted; its relations go with it. */
  deleteTag(app: string, ref: string): Promise<boolean>;
  tagAgent(app: string, ref: string, agentUuid: string): Promise<{ tag: Tag; created: boolean }>;
  /** True when the relation existed. */
  untagAgent(app: string, ref: string, agentUuid: string): Promise<boolean>;
  /** In creation order. */
  agentsByTag(app: string, ref: string): Promise<Agent[]>;

  // --- call queues ---
  createCallQueue(app: string, input: NewCallQueue): Promise<CallQueue>;
  getCallQueue(app: string, queueId: string): Promise<CallQueue | null>;
  /** In creation order. */
  listCallQueues(app: string): Promise<CallQueue[]>;
  updateCallQueue(app: string, queueId: string, patch: CallQueuePatch): Promise<Mutation<CallQueue>>;
  /** Removes members and callers; announces queue_deleted. */
  deleteCallQueue(app: string, queueId: string): Promise<CallQueueChange>;

  // --- members ---
  addMember(app: string, queueId: string, input: NewMember): Promise<Mutation<Member>>;
  getMember(app: string, queueId: string, agentUuid: string): Promise<Member | null>;
  listMembers(app: string, queueId: string): Promise<Member[]>;
  updateMember(app: string, queueId: string, agentUuid: string, patch: MemberPatch): Promise<Mutation<Member>>;
  removeMember(app: string, queueId: string, agentUuid: string): Promise<Changed>;

  // --- callers ---
  joinCaller(app: string, queueId: string, input: NewCaller): Promise<Mutation<Caller>>;
  /**
   * joinCaller without the node counting the line first (waitingAtOrAbove): the store gives the
   * caller the estimate `window` holds for the place it takes, found in the join's atomic step
   * before anything is written; a place outside the window joins nothing and answers null (the
   * node then counts and joins as before). For a store where that count is a round trip of its own
   * (Redis). Only where the estimate is a function of the place alone (routing.md section 9).
   * Absent: the node counts first.
   */
  joinCallerInWindow?(app: string, queueId: string, input: NewCaller, window: JoinWindow): Promise<Mutation<Caller> | null>;
  getCaller(app: string, queueId: string, callerUuid: string): Promise<Caller | null>;
  updateCaller(app: string, queueId: string, callerUuid: string, patch: CallerPatch): Promise<Mutation<Caller>>;
  leaveCaller(app: string, queueId: string, callerUuid: string, reason: LeaveReason): Promise<Changed>;
  /**
   * A waiting caller becomes a callback to `number` (null: its own number; protocol/calls.md 3.1): it stays in the
   * line at its place (no line move). The same number again changes nothing. Rejects
   * call_queue_not_found, caller_not_found, invalid_transition (status: the caller is not waiting).
   */
  requestCallback(app: string, queueId: string, callerUuid: string, number: string | null): Promise<Mutation<Caller>>;
  /**
   * How many callers wait with a priority of at least `priority`: the place a caller joining with it
   * would take (calls.md section 2). For the estimate given at a join (routing.md section 9), without
   * reading the line. A missing queue: 0.
   */
  waitingAtOrAbove(app: string, queueId: string, priority: number): Promise<number>;

  // --- reads for subscribers ---
  /** Callers, members, stats and seq read atomically; rejects call_queue_not_found. */
  snapshot(app: string, queueId: string): Promise<CallQueueSnapshot>;
  getStats(app: string, queueId: string): Promise<CallQueueStats | null>;
  /** Stats, members' states and wallboard buckets at one instant (wallboard.ts); null: no such queue. */
  readWallboard(app: string, queueId: string): Promise<WallboardRead | null>;
  /**
   * What the estimated wait reads of the queue (protocol/routing.md section 9), read as atomically
   * as a snapshot but without building each caller's record. Rejects call_queue_not_found.
   */
  readEstimateLine(app: string, queueId: string): Promise<EstimateLineRead>;
  /**
   * The retained changes with seq > `seq`, in order; [] when `seq` is current; null when `seq` is
   * older than the retention or newer than the queue (the client takes a fresh snapshot).
   * Rejects call_queue_not_found.
   */
  changesSince(app: string, queueId: string, seq: number): Promise<CallQueueChange[] | null>;
  /**
   * Resolves once active: every change made after that reaches the listener, in seq order (so
   * subscribe-then-snapshot misses nothing). Does not check that the queue exists. Listeners must
   * not throw, and must not mutate what they receive (one object may go to several listeners).
   */
  subscribeQueue(app: string, queueId: string, listener: CallQueueListener): Promise<Unsubscribe>;

  // --- agent tokens ---
  /** Rejects agent_not_found. */
  issueAgentToken(app: string, agentUuid: string, ttlSeconds: number): Promise<AgentTokenGrant>;
  verifyAgentToken(token: string): Promise<AgentTokenCheck>;
  /** Only a token of `app` can be revoked by it; true when one was. */
  revokeAgentToken(app: string, token: string): Promise<boolean>;
}

/**
 * What a store reads atomically for the wallboard (src/engine/wallboard.ts derives the figures):
 * the stats, the members' states, and the minute / quarter-hour buckets (number since the epoch →
 * vector of WALLBOARD_FIELDS).
 */
export interface WallboardRead {
  stats: CallQueueStats;
  members: readonly Pick<Member, 'uuid' | 'status' | 'paused' | 'status_at'>[];
  buckets: { minutes: Map<number, number[]>; quarters: Map<number, number[]> };
  nowMs: number;
}

/**
 * A queue's waiting line, members and ringing callers' members at one instant: what the estimated
 * wait (src/domain/calls/estimate.ts) takes from a snapshot, times in ms.
 */
export interface EstimateLineRead {
  nowMs: number;
  /** Waiting callers in position order. */
  waiting: { uuid: string; createdMs: number }[];
  members: { uuid: string; status: MemberStatus; paused: boolean; statusAtMs: number }[];
  /** The members that ringing callers name (on their way to a call). */
  ringing: string[];
}

/** The raw counts both engines keep; buildStats is the one definition of the derived figures. */
export interface StatsCounts {
  waiting: number;
  ringing: number;
  connected: number;
  /** Join time (ms) of the longest-waiting unanswered caller, or null. */
  oldestMs: number | null;
  members: number;
  loggedIn: number;
  available: number;
  paused: number;
  completed: number;
  abandoned: number;
  timedOut: number;
  transferred: number;
  answeredWaitMs: number;
  answeredWithin: number;
  slSeconds: number;
  nowMs: number;
}

export function buildStats(c: StatsCounts): CallQueueStats {
  const offered = c.completed + c.abandoned + c.timedOut;
  return {
    callers: c.waiting + c.ringing + c.connected,
    callers_waiting: c.waiting,
    callers_ringing: c.ringing,
    callers_connected: c.connected,
    longest_wait: c.oldestMs === null ? 0 : Math.max(0, c.nowMs - c.oldestMs) / 1000,
    oldest_wait_since: c.oldestMs === null ? null : isoTime(c.oldestMs),
    members: c.members,
    members_logged_in: c.loggedIn,
    members_available: c.available,
    members_paused: c.paused,
    completed: c.completed,
    abandoned: c.abandoned,
    timed_out: c.timedOut,
    transferred: c.transferred,
    average_wait: c.completed === 0 ? null : Math.round(c.answeredWaitMs / c.completed) / 1000,
    service_level: offered === 0 ? null : c.answeredWithin / offered,
    service_level_seconds: c.slSeconds,
    at: isoTime(c.nowMs),
  };
}

/** How one member counts in the stats (protocol/calls.md "Stats"). */
export function memberCounts(m: { status: MemberStatus; paused: boolean }): {
  loggedIn: number;
  available: number;
  paused: number;
} {
  const loggedIn = m.status !== 'logged_out';
  return {
    loggedIn: loggedIn ? 1 : 0,
    available: loggedIn && m.status === 'available' && !m.paused ? 1 : 0,
    paused: loggedIn && m.paused ? 1 : 0,
  };
}

/**
 * Agent tokens: 32 random bytes, base64url, prefixed so they are recognisable in logs and never
 * confused with application keys. Stores keep only the SHA-256; an expired token is remembered for
 * this grace period so it is refused as `expired` (token_expired) rather than `unknown`.
 */
export const TOKEN_GRACE_MS = 24 * 3600 * 1000;
export const TOKEN_PREFIX = 'hlt_';

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
