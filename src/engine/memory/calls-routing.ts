/**
 * Routing on the memory engine (protocol/routing.md): the same steps as the Redis scripts
 * (redis/lua/route-*.lua), each one synchronous call, so each is atomic as a script is. Queue
 * changes go through the queue's own mutations (calls-queue.ts), which announce them in seq order.
 */
import { HoldlineError } from '../../errors.js';
import type { CallQueueChange } from '../call-types.js';
import {
  DEFAULT_ROUTING,
  type AgentRouting,
  type DueClaim,
  type EngagementUpdate,
  type MemberRouting,
  type Offer,
  type OfferAnswer,
  type OfferEnd,
  type RoutingOutcome,
  type RoutingNotice,
  type RoutingRead,
  type RoutingEventType,
  type RoutingSettings,
  type RoutingStore,
} from '../routing-types.js';
import type { MemoryCallQueue } from './calls-queue.js';
import { isoTime as iso } from '../iso-time.js';

/** What the call store lends routing: its queues and agents, read in the same synchronous step. */
export interface MemoryRoutingHost {
  now: () => number;
  queue(app: string, queueId: string): MemoryCallQueue | undefined;
  agentTags(app: string, agent: string): string[];
  agentQueues(app: string, agent: string): string[];
  /** Records a routing event in the process's event log, in the caller's synchronous step. */
  record(app: string, type: RoutingEventType, values: Record<string, string>): void;
}

interface MemberState {
  penalty: number;
  callsTaken: number;
  missed: number;
  idleSinceMs: number;
  wrapupUntilMs: number | null;
  offerId: string | null;
  /** The caller of the routed call it is on, until the call's end is seen, and that call's offer. */
  callCaller: string | null;
  callOfferId: string | null;
}

interface OfferRec {
  offer: Offer;
  expiresMs: number;
  /** Agents whose part has not ended. */
  remaining: Set<string>;
}

interface QueueRouting {
  settings: RoutingSettings;
  members: Map<string, MemberState>;
  callerTags: Map<string, string[]>;
  offers: Map<string, OfferRec>;
  lastOffered: string | null;
}

interface Engagement {
  offerId: string;
  queueId: string;
  untilMs: number;
}

let lastApp = '';
let lastQueueId = '';
let lastKey = JSON.stringify(['', '']);
/**
 * A queue's key in the maps below (parsed back by claimDue). Every join and leave asks for it
 * (routingIdle), mostly for the queue asked last: that one's key is kept.
 */
function key(app: string, queueId: string): string {
  if (app !== lastApp || queueId !== lastQueueId) {
    lastApp = app;
    lastQueueId = queueId;
    lastKey = JSON.stringify([app, queueId]);
  }
  return lastKey;
}
/** The due index's mark (a lease is never this). */
const MARKED = 'marked';

export class MemoryRouting implements RoutingStore {
  private readonly queues = new Map<string, QueueRouting>();
  private readonly engaged = new Map<string, Map<string, Engagement>>();
  private readonly due = new Map<string, number>();
  /**
   * Per queue: MARKED when marked since its last claim, else the lease of its latest claim while that
   * claim is unsettled (route-due-2.lua's dirty hash): a settle counts only for that claim.
   */
  private readonly dirty = new Map<string, string>();
  private leases = 0;
  private readonly noticeListeners = new Set<(n: RoutingNotice) => void>();

  constructor(private readonly host: MemoryRoutingHost) {}

  private q(app: string, queueId: string): { queue: MemoryCallQueue; r: QueueRouting } {
    const queue = this.host.queue(app, queueId);
    if (!queue) throw new HoldlineError('call_queue_not_found');
    const k = key(app, queueId);
    let r = this.queues.get(k);
    if (!r) {
      r = { settings: { ...DEFAULT_ROUTING, required_tags: [] }, members: new Map(), callerTags: new Map(), offers: new Map(), lastOffered: null };
      this.queues.set(k, r);
    }
    return { queue, r };
  }

  private member(queue: MemoryCallQueue, r: QueueRouting, agent: string): MemberState | null {
    const m = queue.getMember(agent);
    // A removed member's state stays until the tick, which releases what it held.
    if (!m) return null;
    let st = r.members.get(agent);
    if (!st) {
      st = { penalty: 0, callsTaken: 0, missed: 0, idleSinceMs: Date.parse(m.created_at), wrapupUntilMs: null, offerId: null, callCaller: null, callOfferId: null };
      r.members.set(agent, st);
    }
    return st;
  }

  private memberWire(queueId: string, agent: string, st: MemberState): MemberRouting {
    return {
      uuid: agent, queue_id: queueId, penalty: st.penalty, calls_taken: st.callsTaken, missed_offers: st.missed,
      idle_since: iso(st.idleSinceMs), wrapup_until: st.wrapupUntilMs === null ? null : iso(st.wrapupUntilMs), offer_id: st.offerId,
    };
  }

  /** Forgets the state of a deleted queue (its uuid is never reused). */
  forgetQueue(app: string, queueId: string): void {
    this.queues.delete(key(app, queueId));
  }

  /** Called in the same synchronous step as the join (calls.ts), so no decision sees the caller without its tags. */
  setCallerTagsNow(app: string, queueId: string, caller: string, tags: string[]): void {
    if (tags.length > 0) this.q(app, queueId).r.callerTags.set(caller, [...tags]);
  }

  // --- settings ---

  async getRoutingSettings(app: string, queueId: string): Promise<RoutingSettings> {
    return structuredClone(this.q(app, queueId).r.settings);
  }

  async setRoutingSettings(app: string, queueId: string, patch: Partial<RoutingSettings>): Promise<RoutingSettings> {
    const { r } = this.q(app, queueId);
    r.settings = { ...r.settings, ...structuredClone(patch) };
    return structuredClone(r.settings);
  }

  async getMemberRouting(app: string, queueId: string, agent: string): Promise<MemberRouting | null> {
    const { queue, r } = this.q(app, queueId);
    const st = this.member(queue, r, agent);
    return st ? this.memberWire(queueId, agent, st) : null;
  }

  async setMemberPenalty(app: string, queueId: string, agent: string, penalty: number): Promise<MemberRouting> {
    const { queue, r } = this.q(app, queueId);
    const st = this.member(queue, r, agent);
    if (!st) throw new HoldlineError('member_not_found');
    st.penalty = penalty;
    return this.memberWire(queueId, agent, st);
  }

  async setCallerTags(app: string, queueId: string, caller: string, tags: string[]): Promise<void> {
    const { queue, r } = this.q(app, queueId);
    if (!queue.getCaller(caller)) throw new HoldlineError('caller_not_found');
    r.callerTags.set(caller, [...tags]);
  }

  async routingIdle(app: string, queueId: string): Promise<boolean> {
    const { queue, r } = this.q(app, queueId);
    if (r.settings.strategy !== 'manual' || r.offers.size > 0) return false;
    for (const [agent, st] of r.members) {
      if (st.offerId !== null || st.callCaller !== null || st.wrapupUntilMs !== null || !queue.getMember(agent)) return false;
    }
    return true;
  }

  // --- the decision's steps ---

  async readRouting(app: string, queueId: string): Promise<RoutingRead> {
    const { queue, r } = this.q(app, queueId);
    const nowMs = this.host.now();
    // A manual queue makes no offers (routing.md): the router stops at its settings, so a queue of
    // many waiting callers does not pay for a full read at every change (route-read-12.lua alike).
    if (r.settings.strategy === 'manual') {
      return { settings: structuredClone(r.settings), seq: queue.seq, nowMs, waiting: [], members: [], offers: [], lastOffered: r.lastOffered };
    }
    const members = queue.memberList().map((m) => {
      const st = this.member(queue, r, m.uuid)!;
      return {
        uuid: m.uuid,
        createdMs: Date.parse(m.created_at),
        available: m.status === 'available' && !m.paused && st.offerId === null && st.callCaller === null && st.wrapupUntilMs === null,
        penalty: st.penalty,
        callsTaken: st.callsTaken,
        idleSinceMs: st.idleSinceMs,
      };
    });
    return {
      settings: structuredClone(r.settings),
      seq: queue.seq,
      nowMs,
      waiting: queue.waitingLine().map((c) => ({ ...c, requiredTags: [...(r.callerTags.get(c.uuid) ?? [])] })),
      members,
      offers: [...r.offers.values()].map((o) => this.offerWire(o)),
      lastOffered: r.lastOffered,
    };
  }

  async readAgents(app: string, agents: readonly string[]): Promise<Map<string, AgentRouting>> {
    const eng = this.engaged.get(app);
    return new Map(agents.map((a) => [a, { tags: this.host.agentTags(app, a), engagedUntilMs: eng?.get(a)?.untilMs ?? null }] as const));
  }

  async engage(app: string, offerId: string, queueId: string, agents: readonly string[], untilMs: number): Promise<string[]> {
    const nowMs = this.host.now();
    let eng = this.engaged.get(app);
    if (!eng) {
      eng = new Map();
      this.engaged.set(app, eng);
    }
    const got: string[] = [];
    for (const a of agents) {
      const cur = eng.get(a);
      if (cur && (cur.untilMs === 0 || cur.untilMs > nowMs)) continue;
      eng.set(a, { offerId, queueId, untilMs });
      got.push(a);
    }
    return got;
  }

  async follow(app: string, updates: readonly EngagementUpdate[]): Promise<void> {
    const eng = this.engaged.get(app);
    if (!eng) return;
    for (const u of updates) {
      const cur = eng.get(u.agent);
      if (cur?.offerId !== u.offer_id) continue;
      if (u.untilMs === null) eng.delete(u.agent);
      else cur.untilMs = u.untilMs;
    }
  }

  async commitOffers(app: string, queueId: string, seq: number, offers: readonly Offer[]): Promise<RoutingOutcome | null> {
    const { queue, r } = this.q(app, queueId);
    if (queue.seq !== seq) return null;
    const changes: CallQueueChange[] = [];
    for (const offer of offers) {
      const ringAll = offer.strategy === 'ring_all';
      changes.push(
        ringAll ? queue.ringAll(offer.caller_id) : queue.updateCaller(offer.caller_id, { status: 'ringing', member_uuid: offer.agents[0]! }).change!,
      );
      for (const a of offer.agents) this.member(queue, r, a)!.offerId = offer.offer_id;
      r.offers.set(offer.offer_id, { offer: structuredClone(offer), expiresMs: Date.parse(offer.expires_at), remaining: new Set(offer.agents) });
      this.host.record(app, 'queue.caller.offer', {
        queue_id: queueId, caller_id: offer.caller_id, offer_id: offer.offer_id, agents: offer.agents.join(','), strategy: offer.strategy, expires_at: offer.expires_at,
      });
      if (!ringAll) r.lastOffered = offer.agents[0]!;
    }
    return { changes, ended: [], engagements: [], nextDeadlineMs: this.nextDeadline(r) };
  }

  async answerOffer(app: string, queueId: string, offerId: string, agent: string, answer: OfferAnswer): Promise<RoutingOutcome> {
    const { queue, r } = this.q(app, queueId);
    const rec = r.offers.get(offerId);
    const caller = rec ? queue.getCaller(rec.offer.caller_id) : null;
    // An offer whose caller left or was moved by the PBX is over (the next tick tidies it up).
    if (!rec || caller?.status !== 'ringing') throw new HoldlineError('offer_not_found');
    if (!rec.remaining.has(agent)) throw new HoldlineError('offer_not_yours');
    if (!queue.getMember(agent)) throw new HoldlineError('offer_not_found');
    const nowMs = this.host.now();
    if (rec.expiresMs <= nowMs) throw new HoldlineError('offer_expired');
    const out = this.outcome();
    const st = this.member(queue, r, agent)!;
    st.offerId = null;
    const ids = { queue_id: queueId, caller_id: rec.offer.caller_id, offer_id: offerId };
    this.host.record(app, answer === 'accept' ? 'queue.caller.offer.accept' : 'queue.caller.offer.reject', { ...ids, agent_id: agent });
    if (answer === 'accept') {
      out.changes.push(queue.updateCaller(rec.offer.caller_id, { status: 'connected', member_uuid: agent }).change!);
      st.callsTaken++;
      st.missed = 0;
      st.callCaller = rec.offer.caller_id;
      st.callOfferId = offerId;
      const busy = queue.updateMember(agent, { status: 'busy' }).change;
      if (busy) out.changes.push(busy);
      const ended: OfferEnd = { offer: structuredClone(rec.offer), agents: [{ agent, reason: 'accepted' }] };
      out.engagements.push({ agent, offer_id: offerId, untilMs: 0 });
      for (const other of rec.remaining) {
        if (other === agent) continue;
        const o = r.members.get(other);
        if (o) o.offerId = null;
        ended.agents.push({ agent: other, reason: 'accepted_elsewhere' });
        this.host.record(app, 'queue.caller.offer.revoke', { ...ids, agent_id: other, reason: 'accepted_elsewhere' });
        out.engagements.push({ agent: other, offer_id: offerId, untilMs: null });
      }
      out.ended.push(ended);
      r.offers.delete(offerId);
    } else {
      st.idleSinceMs = nowMs;
      rec.remaining.delete(agent);
      out.ended.push({ offer: structuredClone(rec.offer), agents: [{ agent, reason: 'rejected' }] });
      out.engagements.push({ agent, offer_id: offerId, untilMs: null });
      if (rec.remaining.size === 0) {
        r.offers.delete(offerId);
        out.changes.push(queue.updateCaller(rec.offer.caller_id, { status: 'waiting' }).change!);
      }
    }
    out.nextDeadlineMs = this.nextDeadline(r);
    return out;
  }

  async tick(app: string, queueId: string): Promise<RoutingOutcome> {
    const { queue, r } = this.q(app, queueId);
    const nowMs = this.host.now();
    const out = this.outcome();
    for (const [id, rec] of [...r.offers]) {
      const caller = queue.getCaller(rec.offer.caller_id);
      const stillRinging = caller?.status === 'ringing' && (caller.member_uuid === null || rec.remaining.has(caller.member_uuid));
      const ended: OfferEnd = { offer: structuredClone(rec.offer), agents: [] };
      for (const a of [...rec.remaining]) {
        const st = this.member(queue, r, a);
        let reason: OfferEnd['agents'][number]['reason'] | null = null;
        if (!stillRinging) reason = caller ? 'revoked' : 'caller_left';
        else if (!st) reason = 'revoked';
        else if (rec.expiresMs <= nowMs) reason = 'expired';
        if (reason === null) continue;
        rec.remaining.delete(a);
        ended.agents.push({ agent: a, reason });
        const ids = { queue_id: queueId, caller_id: rec.offer.caller_id, offer_id: id, agent_id: a };
        if (reason === 'expired') this.host.record(app, 'queue.caller.offer.timeout', ids);
        else this.host.record(app, 'queue.caller.offer.revoke', { ...ids, reason });
        out.engagements.push({ agent: a, offer_id: id, untilMs: null });
        if (!st) continue;
        st.offerId = null;
        if (reason === 'expired') {
          st.missed++;
          const limit = r.settings.autopause_after_missed;
          if (limit > 0 && st.missed >= limit) {
            st.missed = 0;
            const paused = queue.updateMember(a, { paused: true, pause_reason: 'autopause' }).change;
            if (paused) out.changes.push(paused);
          }
        }
      }
      if (ended.agents.length > 0) out.ended.push(ended);
      if (rec.remaining.size === 0) {
        r.offers.delete(id);
        if (stillRinging) out.changes.push(queue.updateCaller(rec.offer.caller_id, { status: 'waiting' }).change!);
      }
    }
    for (const [agent, st] of [...r.members]) {
      const m = queue.getMember(agent);
      if (!m) {
        // Removed: what it was engaged for in this queue (a call, a wrap-up) ends with it.
        r.members.delete(agent);
        if (st.callOfferId !== null) out.engagements.push({ agent, offer_id: st.callOfferId, untilMs: null });
        continue;
      }
      if (st.callCaller !== null) {
        const c = queue.getCaller(st.callCaller);
        if (c?.status === 'connected' && c.member_uuid === agent) continue;
        // The routed call ended (the caller left, or the PBX moved it): wrap-up, then available.
        const offerId = st.callOfferId ?? '';
        st.callCaller = null;
        st.callOfferId = null;
        const wrapMs = r.settings.wrapup_seconds * 1000;
        if (m.status === 'busy' && wrapMs > 0) {
          st.wrapupUntilMs = nowMs + wrapMs;
          const ch = queue.updateMember(agent, { status: 'wrapup' }).change;
          if (ch) out.changes.push(ch);
          out.engagements.push({ agent, offer_id: offerId, untilMs: st.wrapupUntilMs });
        } else {
          st.idleSinceMs = nowMs;
          if (m.status === 'busy') {
            const ch = queue.updateMember(agent, { status: 'available' }).change;
            if (ch) out.changes.push(ch);
          }
          out.engagements.push({ agent, offer_id: offerId, untilMs: null });
        }
      } else if (st.wrapupUntilMs !== null && st.wrapupUntilMs <= nowMs) {
        st.wrapupUntilMs = null;
        st.idleSinceMs = nowMs;
        if (m.status === 'wrapup') {
          const ch = queue.updateMember(agent, { status: 'available' }).change;
          if (ch) out.changes.push(ch);
        }
      }
    }
    out.nextDeadlineMs = this.nextDeadline(r);
    return out;
  }

  async listOffers(app: string, queueId: string): Promise<Offer[]> {
    return [...this.q(app, queueId).r.offers.values()].map((o) => this.offerWire(o));
  }

  async agentOffer(app: string, agent: string): Promise<Offer | null> {
    const e = this.engaged.get(app)?.get(agent);
    if (!e) return null;
    const rec = this.queues.get(key(app, e.queueId))?.offers.get(e.offerId);
    return rec?.remaining.has(agent) ? this.offerWire(rec) : null;
  }

  async agentQueues(app: string, agent: string): Promise<string[]> {
    return this.host.agentQueues(app, agent);
  }

  // --- notices ---

  async publishNotice(notice: RoutingNotice): Promise<void> {
    for (const l of this.noticeListeners) l(structuredClone(notice));
  }

  async subscribeNotices(listener: (n: RoutingNotice) => void): Promise<() => Promise<void>> {
    this.noticeListeners.add(listener);
    return async () => void this.noticeListeners.delete(listener);
  }

  // --- the due index ---

  async markDue(app: string, queueId: string, atMs: number): Promise<void> {
    const k = key(app, queueId);
    const cur = this.due.get(k);
    if (cur === undefined || atMs < cur) this.due.set(k, atMs);
    this.dirty.set(k, MARKED);
  }

  async claimDue(limit: number, leaseMs: number): Promise<DueClaim[]> {
    const nowMs = this.host.now();
    const lease = `claim ${++this.leases}`;
    const ready = [...this.due].filter(([, at]) => at <= nowMs).sort((a, b) => a[1] - b[1]).slice(0, limit);
    return ready.map(([k]) => {
      this.due.set(k, nowMs + leaseMs);
      this.dirty.set(k, lease);
      const [app, queueId] = JSON.parse(k) as [string, string];
      return { app, queueId, lease };
    });
  }

  async settleDue(claim: DueClaim, nextMs: number | null): Promise<void> {
    const k = key(claim.app, claim.queueId);
    if (this.dirty.get(k) === claim.lease) {
      this.dirty.delete(k);
      if (nextMs === null) this.due.delete(k);
      else this.due.set(k, nextMs);
      return;
    }
    // Marked since the claim, or claimed again (by another Router): due now, for a fresh read.
    const nowMs = this.host.now();
    const cur = this.due.get(k);
    if (cur === undefined || nowMs < cur) this.due.set(k, nowMs);
    this.dirty.set(k, MARKED);
  }

  /** `agents`: those whose part is still open (a ring_all offer loses its rejecters), in offer order. */
  private offerWire(rec: OfferRec): Offer {
    return { ...structuredClone(rec.offer), agents: rec.offer.agents.filter((a) => rec.remaining.has(a)) };
  }

  private outcome(): RoutingOutcome {
    return { changes: [], ended: [], engagements: [], nextDeadlineMs: null };
  }

  private nextDeadline(r: QueueRouting): number | null {
    let next: number | null = null;
    const min = (v: number): void => {
      if (next === null || v < next) next = v;
    };
    for (const o of r.offers.values()) min(o.expiresMs);
    for (const st of r.members.values()) if (st.wrapupUntilMs !== null) min(st.wrapupUntilMs);
    return next;
  }
}
