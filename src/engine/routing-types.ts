/**
 * The routing storage contract (protocol/routing.md). The decision itself is made once, in
 * src/domain/calls/routing/strategy.ts, from one consistent read; a store only reads, engages
 * agents (application slot), and commits or ends offers atomically (queue slot). Memory and Redis
 * implement it (memory/calls-routing.ts, redis/calls-routing.ts) and pass the same tests.
 */
import type { CallQueueChange } from './call-types.js';
import type { EventType } from './events.js';

/**
 * Routing's own events (protocol/events.md section 3; their traits are in events.ts EVENT_TYPES),
 * recorded in the same step as the decision (memory: the same synchronous call; Redis: the same
 * script). Caller and member changes an offer makes are recorded as usual too (queue.caller.status:
 * ringing, connected, back to waiting; queue.member.status: busy, wrapup, available;
 * queue.member.pause: autopause, with pause_reason `autopause`).
 */
export type RoutingEventType = Extract<EventType, `queue.caller.offer${string}`>;

export type Strategy = 'manual' | 'longest_idle' | 'round_robin' | 'fewest_calls' | 'random' | 'linear' | 'ring_all';
export const STRATEGIES: readonly Strategy[] = ['manual', 'longest_idle', 'round_robin', 'fewest_calls', 'random', 'linear', 'ring_all'];

export interface RoutingSettings {
  strategy: Strategy;
  offer_timeout_seconds: number;
  wrapup_seconds: number;
  autopause_after_missed: number;
  required_tags: string[];
  relax_after_seconds: number;
}

export const DEFAULT_ROUTING: Readonly<RoutingSettings> = {
  strategy: 'manual',
  offer_timeout_seconds: 15,
  wrapup_seconds: 0,
  autopause_after_missed: 0,
  required_tags: [],
  relax_after_seconds: 0,
};

/** A member's routing fields (protocol/routing.md section 1), as REST shows them. */
export interface MemberRouting {
  uuid: string;
  queue_id: string;
  penalty: number;
  calls_taken: number;
  missed_offers: number;
  idle_since: string;
  wrapup_until: string | null;
  offer_id: string | null;
}

export interface Offer {
  offer_id: string;
  queue_id: string;
  caller_id: string;
  /** The agents it is offered to (one, or every eligible member for ring_all). */
  agents: string[];
  strategy: Strategy;
  created_at: string;
  expires_at: string;
  /** Present when the caller is a callback (protocol/calls.md 3.1): dial this number. */
  callback?: { number: string };
}

/** What a decision reads from the queue's slot, at one instant. */
export interface RoutingRead {
  settings: RoutingSettings;
  seq: number;
  nowMs: number;
  /** Waiting callers in position order. */
  waiting: { uuid: string; createdMs: number; requiredTags: string[]; /** callback number (calls.md 3.1) */ callback?: string }[];
  members: {
    uuid: string;
    createdMs: number;
    available: boolean;
    penalty: number;
    callsTaken: number;
    idleSinceMs: number;
  }[];
  offers: Offer[];
  /** The agent last offered by round_robin, or null. */
  lastOffered: string | null;
}

/** An agent's state in the application slot: its tags and, when engaged, until when (0: on a call). */
export interface AgentRouting {
  tags: string[];
  engagedUntilMs: number | null;
}

/** What ended an agent's part in an offer, for offer.revoked and the engagement that follows. */
export type OfferEndReason = 'accepted' | 'rejected' | 'expired' | 'accepted_elsewhere' | 'caller_left' | 'revoked';

export interface OfferEnd {
  offer: Offer;
  /** Each agent of the offer whose part ended, and how. */
  agents: { agent: string; reason: OfferEndReason }[];
}

/** How the engagement of agents follows an answer or a tick (application slot). */
export interface EngagementUpdate {
  agent: string;
  offer_id: string;
  /** null: released; 0: on a call; else until this time (wrap-up). */
  untilMs: number | null;
}

/** The result of an answer, a tick or a commit: the changes made, offers ended, engagements to follow. */
export interface RoutingOutcome {
  changes: CallQueueChange[];
  ended: OfferEnd[];
  engagements: EngagementUpdate[];
  /** The queue's next deadline (ms), or null. */
  nextDeadlineMs: number | null;
}

export type OfferAnswer = 'accept' | 'reject';

/** What routing tells every node (the agents' connections may be on any): offers made and ended. */
export type RoutingNotice = { type: 'offer'; app: string; offer: Offer } | { type: 'offer.ended'; app: string; end: OfferEnd };

export interface RoutingStore {
  getRoutingSettings(app: string, queueId: string): Promise<RoutingSettings>;
  /**
   * Sets the fields given over the stored ones in one atomic step (a PUT takes any subset, and two
   * concurrent PUTs of different fields both hold); answers the settings after. Rejects call_queue_not_found.
   */
  setRoutingSettings(app: string, queueId: string, patch: Partial<RoutingSettings>): Promise<RoutingSettings>;
  getMemberRouting(app: string, queueId: string, agent: string): Promise<MemberRouting | null>;
  /** Rejects call_queue_not_found, member_not_found. */
  setMemberPenalty(app: string, queueId: string, agent: string, penalty: number): Promise<MemberRouting>;
  /** Sets a waiting or new caller's own required tags (kept with the caller). Rejects caller_not_found. */
  setCallerTags(app: string, queueId: string, caller: string, tags: string[]): Promise<void>;

  /**
   * True when a change of the queue leaves routing nothing to do (queue slot, one read): its strategy
   * is `manual` and routing holds nothing in it (no open offer, no deadline, no member on an offer,
   * a routed call or a wrap-up, no state of a removed member), so a tick would fire nothing and a
   * decision offer nothing. Rejects call_queue_not_found.
   */
  routingIdle(app: string, queueId: string): Promise<boolean>;
  /** Step 1 (queue slot). Rejects call_queue_not_found. */
  readRouting(app: string, queueId: string): Promise<RoutingRead>;
  /** Step 1 (application slot): tags and engagement of these agents (unknown agents: no tags). */
  readAgents(app: string, agents: readonly string[]): Promise<Map<string, AgentRouting>>;
  /** Step 3: engages each free agent for this offer until `untilMs`; answers those engaged. */
  engage(app: string, offerId: string, queueId: string, agents: readonly string[], untilMs: number): Promise<string[]>;
  /** Step 5 and what follows answers: compare-and-set of each agent's engagement by offer id. */
  follow(app: string, updates: readonly EngagementUpdate[]): Promise<void>;
  /** Step 4: makes the offers (one script) only if the queue's seq is still `seq`; null when it moved. */
  commitOffers(app: string, queueId: string, seq: number, offers: readonly Offer[]): Promise<RoutingOutcome | null>;
  /** Rejects offer_not_found, offer_not_yours, offer_expired. */
  answerOffer(app: string, queueId: string, offerId: string, agent: string, answer: OfferAnswer): Promise<RoutingOutcome>;
  /** Fires the queue's due deadlines, ends offers whose caller or member went away, ends calls that ended. */
  tick(app: string, queueId: string): Promise<RoutingOutcome>;
  listOffers(app: string, queueId: string): Promise<Offer[]>;
  /** The agent's open offer in any queue, through its engagement. */
  agentOffer(app: string, agent: string): Promise<Offer | null>;
  /** The queues the agent is a member of (to decide again when it is released). */
  agentQueues(app: string, agent: string): Promise<string[]>;

  // --- notices to every node (section 7) ---
  publishNotice(notice: RoutingNotice): Promise<void>;
  /** Resolves once subscribed; every notice published after reaches the listener. */
  subscribeNotices(listener: (notice: RoutingNotice) => void): Promise<() => Promise<void>>;

  // --- the due index (section 6) ---
  /** Due at `atMs` at the latest, and marked: the settle of any claim made before this is due-now. */
  markDue(app: string, queueId: string, atMs: number): Promise<void>;
  /** Up to `limit` queues due now, leased for `leaseMs`, each named by this claim's lease. */
  claimDue(limit: number, leaseMs: number): Promise<DueClaim[]>;
  /**
   * Due at `nextMs` (null: not due) when `claim` is still the queue's latest claim and nothing marked
   * it since; otherwise due now (and marked, so that the later claim's settle is due-now too).
   */
  settleDue(claim: DueClaim, nextMs: number | null): Promise<void>;
}

/**
 * A queue claimed from the due index. `lease` names the claim: a mark lets another node claim a
 * queue still being processed, and of two sweeps settling it the one that read it first would
 * otherwise replace the other's deadline with its older view (routing.md section 6).
 */
export interface DueClaim {
  app: string;
  queueId: string;
  lease: string;
}
