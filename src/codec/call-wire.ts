/**
 * Call-queue objects as the wire carries them (protocol/calls.md, websocket.md section 5): the
 * wire's own types, so the call store (src/engine/call-types.ts) can change how it stores things
 * without changing the protocol or the SDK's public types. Today the store's values have exactly
 * these shapes and the server passes them through; test/unit/call-wire-types.test.ts checks the
 * two still agree, and a store that drifts must map its values here instead.
 */

export type CallerStatus = 'waiting' | 'ringing' | 'connected';
export type LeaveReason = 'answered' | 'abandoned' | 'timeout' | 'transferred';
export type MemberStatus = 'available' | 'busy' | 'wrapup' | 'logged_out';

export interface WireCallQueue {
  uuid: string;
  name: string;
  description: string;
  disabled: boolean;
  project_id: string | null;
  user_id: string | null;
  /** Service-level threshold: an answered caller counts as "within" when its wait was at most this. */
  service_level_seconds: number;
  created_at: string;
  updated_at: string;
}

export interface WireMember {
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

export interface WireCaller {
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
  /** Present once the caller asked to be called back (calls.md section 3.1); it keeps its place. */
  callback?: WireCallbackRequest;
}

export interface WireCallbackRequest {
  number: string;
  requested_at: string;
}

/** One wallboard window's figures (protocol/calls.md section 5.1). */
export interface WireWindowFigures {
  window: '15m' | '1h' | 'today';
  start: string;
  offered: number;
  answered: number;
  abandoned: number;
  timed_out: number;
  transferred: number;
  answered_within: number;
  abandoned_within: number;
  abandon_rate: number | null;
  service_level: number | null;
  average_speed_of_answer: number | null;
  average_handle_time: number | null;
  handled: number;
}

/** Members by status; `paused`: logged-in members that are paused (protocol/calls.md section 5.1). */
export interface WireMembersByState {
  available: number;
  busy: number;
  wrapup: number;
  logged_out: number;
  paused: number;
}

/** Definitions: protocol/calls.md "Stats". */
export interface WireCallQueueStats {
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

/** websocket.md 5.3: remove `uuid` at `from` (if not null), insert it at `to` (if not null). */
export interface WireLineMove {
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

export type WireCallerField = 'priority' | 'status' | 'member_uuid' | 'callback';
export type WireQueueField = 'name' | 'description' | 'disabled' | 'project_id' | 'user_id' | 'service_level_seconds';
export type WireMemberField = 'number' | 'paused' | 'pause_reason' | 'status';

/** One call-queue change (websocket.md section 5), one variant per kind. */
export type WireCallQueueChange =
  | (ChangeBase & { kind: 'queue_updated'; queue: WireCallQueue; changed: WireQueueField[]; stats: WireCallQueueStats })
  | (ChangeBase & { kind: 'queue_deleted'; queue: WireCallQueue })
  | (ChangeBase & { kind: 'member_added'; member: WireMember; stats: WireCallQueueStats })
  | (ChangeBase & { kind: 'member_updated'; member: WireMember; changed: WireMemberField[]; stats: WireCallQueueStats })
  | (ChangeBase & { kind: 'member_removed'; member: WireMember; stats: WireCallQueueStats })
  | (ChangeBase & { kind: 'caller_joined'; caller: WireCaller; line: WireLineMove; stats: WireCallQueueStats })
  | (ChangeBase & {
      kind: 'caller_updated';
      caller: WireCaller;
      changed: WireCallerField[];
      /** Absent when nobody's position changed. */
      line?: WireLineMove;
      stats: WireCallQueueStats;
    })
  | (ChangeBase & {
      kind: 'caller_left';
      /** The caller as it was when it left (position null). */
      caller: WireCaller;
      reason: LeaveReason;
      /** Seconds from joining to being connected (or to leaving, if never connected). */
      wait: number;
      /** The estimated wait given at its join (routing.md section 9), seconds; absent when there was none. */
      estimated_wait?: number;
      /** Absent when the caller was not waiting in line (ringing or connected). */
      line?: WireLineMove;
      stats: WireCallQueueStats;
    });

/** A call queue's state at one `seq` (websocket.md 5.1). */
export interface WireCallQueueSnapshot {
  queue: WireCallQueue;
  seq: number;
  /** Waiting callers in position order, then ringing and connected callers in join order. */
  callers: WireCaller[];
  /** By join time (created_at), then uuid. */
  members: WireMember[];
  stats: WireCallQueueStats;
  /** Estimated wait of each waiting caller by uuid, as of the snapshot (routing.md section 9); null: no member can serve. */
  estimates?: Record<string, number | null>;
}
