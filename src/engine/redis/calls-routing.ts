/**
 * Routing on the Redis engine (protocol/routing.md): each step one Lua script in one slot —
 * route-*-12.lua in the call queue's slot (its nine keys plus routing's three), route-engage-1.lua
 * and route-agents-3.lua in the application's, route-due-2.lua in the due index's. Queue writes are
 * confirmed by a replica like every call write (RedisCallStore.confirmed) and their changes' events
 * go through the queue's outbox (events.ts).
 */
import { randomUUID } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { parseChange } from './calls-codec.js';
import { toCallError } from './calls-scripts.js';
import type { RedisEventLog } from './events.js';
import type { RedisKeys } from './keys.js';
import type { FeedCodec, FeedSubscriber } from './subscriber.js';
import { defineScripts, recordingOf, scriptCall, type RedisClient } from './scripts.js';
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
  type RoutingSettings,
  type RoutingStore,
} from '../routing-types.js';

const SCRIPTS = {
  hlRouteRead: 'route-read-12',
  hlRouteCommit: 'route-commit-12',
  hlRouteAnswer: 'route-answer-12',
  hlRouteTick: 'route-tick-12',
  hlRouteConfig: 'route-config-12',
  hlRouteEngage: 'route-engage-1',
  hlRouteAgents: 'route-agents-3',
  hlRouteDue: 'route-due-2',
} as const;
type RouteScript = keyof typeof SCRIPTS;

/** What the call store lends routing. */
export interface RedisRoutingHost {
  client: RedisClient;
  keys: RedisKeys;
  retention: number;
  events: RedisEventLog;
  /** The node's live subscriber (notices to every node). */
  subscriber: FeedSubscriber;
  /** Write scripts record their events straight into the log (scripts.ts RecordingMode 'direct'). */
  direct: boolean;
  /** A write confirmed by a replica when the key's primary has one (RedisCallStore.confirmed). */
  confirmed(key: string, direct: () => Promise<unknown>, queue: (pipeline: ChainableCommander) => void): Promise<unknown>;
}

interface RawState {
  penalty: number;
  calls: number;
  missed: number;
  idle_ms: number;
  wrapup_ms: number | null;
  offer: string | null;
  call_caller: string | null;
}

interface RawOffer extends Offer {
  expires_ms: number;
  remaining: string[] | Record<string, never>;
}

const NOTICES: FeedCodec<'notice', RoutingNotice> = { type: 'notice', decode: (payload) => [JSON.parse(payload.toString('utf8')) as RoutingNotice] };

const iso = (ms: number): string => new Date(ms).toISOString();
/** cjson spells an empty array as {}. */
const arr = <T>(v: T[] | Record<string, never> | undefined | null): T[] => (Array.isArray(v) ? v : []);

/** `agents`: those whose part is still open (a ring_all offer loses its rejecters). */
function offerFromRaw(r: RawOffer): Offer {
  const open = Array.isArray(r.remaining) ? r.remaining : arr(r.agents);
  const offer: Offer = {
    offer_id: r.offer_id, queue_id: r.queue_id, caller_id: r.caller_id, agents: open, strategy: r.strategy,
    created_at: r.created_at, expires_at: r.expires_at,
  };
  if (r.callback?.number !== undefined) offer.callback = { number: r.callback.number };
  return offer;
}

function settingsFrom(raw: string): RoutingSettings {
  if (raw === '') return { ...DEFAULT_ROUTING, required_tags: [] };
  const s = { ...DEFAULT_ROUTING, ...(JSON.parse(raw) as Partial<RoutingSettings>) };
  // Lua's cjson writes an empty list as {} when route-config merges the settings.
  return { ...s, required_tags: arr(s.required_tags) };
}

function outcome(reply: string[], endedIsList: boolean): RoutingOutcome {
  const [next, endedJson, engagementsJson, ...changes] = reply;
  const endedRaw = JSON.parse(endedJson!) as unknown;
  const ended = (endedIsList ? arr(endedRaw as { offer: RawOffer; agents: OfferEnd['agents'] }[]) : [endedRaw as { offer: RawOffer; agents: OfferEnd['agents'] }]).map(
    (e) => ({ offer: offerFromRaw(e.offer), agents: arr(e.agents) }),
  );
  const engagements = arr(JSON.parse(engagementsJson!) as { agent: string; offer_id: string; until_ms: number }[]).map(
    (e): EngagementUpdate => ({ agent: e.agent, offer_id: e.offer_id, untilMs: e.until_ms === -1 ? null : e.until_ms }),
  );
  return { changes: changes.map(parseChange), ended, engagements, nextDeadlineMs: next === '' ? null : Number(next) };
}

export class RedisRouting implements RoutingStore {
  constructor(private readonly host: RedisRoutingHost) {
    defineScripts(host.client, SCRIPTS, host.direct);
  }

  private async call<T>(name: RouteScript, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    try {
      return (await scriptCall(this.host.client, name, false, keys, args)) as T;
    } catch (err) {
      throw toCallError(err);
    }
  }

  private queueKeys(app: string, queueId: string): string[] {
    return [...this.host.keys.callQueue(app, queueId), ...this.host.keys.routingQueue(app, queueId)];
  }

  /** A queue-slot write that records its events (events.ts recorded), confirmed by a replica. */
  private async write<T>(name: RouteScript, app: string, queueId: string, args: readonly (string | number)[]): Promise<T> {
    const keys = this.queueKeys(app, queueId);
    return this.host.events.recorded(app, keys[8]!, recordingOf(this.host.client, name), keys, args, async (k, a) => {
      try {
        return (await this.host.confirmed(k[0]!, () => this.call(name, k, a), (pipeline) => void scriptCall(pipeline, name, false, k, a))) as T;
      } catch (err) {
        throw toCallError(err);
      }
    });
  }

  private appKeys(app: string): { tags: string; agentTags: string; agentQueues: string; engaged: string } {
    const s = this.host.keys.callApp(app).scripts;
    return { tags: s[1], agentTags: s[5], agentQueues: s[7], engaged: this.host.keys.callEngaged(app) };
  }

  // --- settings ---

  async getRoutingSettings(app: string, queueId: string): Promise<RoutingSettings> {
    return settingsFrom(await this.call<string>('hlRouteConfig', this.queueKeys(app, queueId), ['get']));
  }

  async setRoutingSettings(app: string, queueId: string, patch: Partial<RoutingSettings>): Promise<RoutingSettings> {
    return settingsFrom(await this.write<string>('hlRouteConfig', app, queueId, ['set', JSON.stringify(patch)]));
  }

  private memberRouting(queueId: string, agent: string, reply: [string, string]): MemberRouting {
    const st = JSON.parse(reply[1]) as RawState;
    return {
      uuid: agent, queue_id: queueId, penalty: st.penalty, calls_taken: st.calls, missed_offers: st.missed, idle_since: iso(st.idle_ms),
      wrapup_until: st.wrapup_ms === null ? null : iso(st.wrapup_ms), offer_id: st.offer,
    };
  }

  async getMemberRouting(app: string, queueId: string, agent: string): Promise<MemberRouting | null> {
    try {
      return this.memberRouting(queueId, agent, await this.call<[string, string]>('hlRouteConfig', this.queueKeys(app, queueId), ['member', agent]));
    } catch (err) {
      if ((err as { code?: string }).code === 'member_not_found') return null;
      throw err;
    }
  }

  async setMemberPenalty(app: string, queueId: string, agent: string, penalty: number): Promise<MemberRouting> {
    return this.memberRouting(queueId, agent, await this.write<[string, string]>('hlRouteConfig', app, queueId, ['penalty', agent, penalty]));
  }

  async routingIdle(app: string, queueId: string): Promise<boolean> {
    return (await this.call<number>('hlRouteConfig', this.queueKeys(app, queueId), ['idle'])) === 1;
  }

  /** Caller tags go in with the join (call-caller-join stores the caller JSON as given). */
  async setCallerTags(): Promise<void> {
    throw new Error('Redis routing: a caller gets its required_tags when it joins');
  }

  // --- the decision's steps ---

  async readRouting(app: string, queueId: string): Promise<RoutingRead> {
    const [settings, seq, nowMs, waiting, members, states, offers, rr] = await this.call<
      [string, number, number, string[], string[], string[], string[], string]
    >('hlRouteRead', this.queueKeys(app, queueId), []);
    const state = new Map<string, RawState>();
    for (let i = 0; i < states.length; i += 2) state.set(states[i]!.slice(2), JSON.parse(states[i + 1]!) as RawState);
    return {
      settings: settingsFrom(settings),
      seq: Number(seq),
      nowMs: Number(nowMs),
      waiting: waiting.map((json) => {
        const c = JSON.parse(json) as { uuid: string; created_ms: number; required_tags?: string[] | Record<string, never>; callback?: { number: string } };
        const entry = { uuid: c.uuid, createdMs: c.created_ms, requiredTags: arr(c.required_tags) };
        return c.callback?.number === undefined ? entry : { ...entry, callback: c.callback.number };
      }),
      members: members.map((json) => {
        const m = JSON.parse(json) as { uuid: string; created_ms: number; status: string; paused: boolean };
        const st = state.get(m.uuid);
        const free = st === undefined || (st.offer === null && st.call_caller === null && st.wrapup_ms === null);
        return {
          uuid: m.uuid,
          createdMs: m.created_ms,
          available: m.status === 'available' && !m.paused && free,
          penalty: st?.penalty ?? 0,
          callsTaken: st?.calls ?? 0,
          idleSinceMs: st?.idle_ms ?? m.created_ms,
        };
      }),
      offers: offers.map((json) => offerFromRaw(JSON.parse(json) as RawOffer)),
      lastOffered: rr === '' ? null : rr,
    };
  }

  async readAgents(app: string, agents: readonly string[]): Promise<Map<string, AgentRouting>> {
    if (agents.length === 0) return new Map();
    const k = this.appKeys(app);
    const tags = await this.call<string[]>('hlRouteAgents', [k.tags, k.agentTags, k.agentQueues], ['tags', ...agents]);
    const eng = await this.call<string[]>('hlRouteEngage', [k.engaged], ['read', ...agents]);
    return new Map(
      agents.map((a, i) => {
        const e = eng[i] === '' ? null : (JSON.parse(eng[i]!) as { until_ms: number });
        return [a, { tags: arr(JSON.parse(tags[i]!) as string[]), engagedUntilMs: e === null ? null : e.until_ms }] as const;
      }),
    );
  }

  async engage(app: string, offerId: string, queueId: string, agents: readonly string[], untilMs: number): Promise<string[]> {
    if (agents.length === 0) return [];
    return this.call<string[]>('hlRouteEngage', [this.appKeys(app).engaged], ['engage', offerId, queueId, untilMs, ...agents]);
  }

  async follow(app: string, updates: readonly EngagementUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const json = JSON.stringify(updates.map((u) => ({ agent: u.agent, offer_id: u.offer_id, until_ms: u.untilMs ?? -1 })));
    await this.call('hlRouteEngage', [this.appKeys(app).engaged], ['follow', json]);
  }

  async commitOffers(app: string, queueId: string, seq: number, offers: readonly Offer[]): Promise<RoutingOutcome | null> {
    const json = JSON.stringify(offers.map((o) => ({ ...o, expires_ms: Date.parse(o.expires_at) })));
    const reply = await this.write<string[]>('hlRouteCommit', app, queueId, [this.host.retention, seq, json]);
    if (reply[0] === 'stale') return null;
    const changes: CallQueueChange[] = reply.slice(2).map(parseChange);
    return { changes, ended: [], engagements: [], nextDeadlineMs: reply[1] === '' ? null : Number(reply[1]) };
  }

  async answerOffer(app: string, queueId: string, offerId: string, agent: string, answer: OfferAnswer): Promise<RoutingOutcome> {
    return outcome(await this.write<string[]>('hlRouteAnswer', app, queueId, [this.host.retention, offerId, agent, answer]), false);
  }

  async tick(app: string, queueId: string): Promise<RoutingOutcome> {
    return outcome(await this.write<string[]>('hlRouteTick', app, queueId, [this.host.retention]), true);
  }

  async listOffers(app: string, queueId: string): Promise<Offer[]> {
    const raw = await this.call<string[]>('hlRouteConfig', this.queueKeys(app, queueId), ['offers']);
    return raw.map((json) => offerFromRaw(JSON.parse(json) as RawOffer));
  }

  async agentOffer(app: string, agent: string): Promise<Offer | null> {
    const [raw] = await this.call<string[]>('hlRouteEngage', [this.appKeys(app).engaged], ['read', agent]);
    if (raw === undefined || raw === '') return null;
    const e = JSON.parse(raw) as { offer: string; queue: string };
    const open = await this.call<string[]>('hlRouteConfig', this.queueKeys(app, e.queue), ['offers']).catch(() => [] as string[]);
    const rec = open.map((j) => JSON.parse(j) as RawOffer).find((o) => o.offer_id === e.offer);
    // Only while the agent's part is open: the queue's record says so.
    return rec !== undefined && arr(rec.remaining).includes(agent) ? offerFromRaw(rec) : null;
  }

  async agentQueues(app: string, agent: string): Promise<string[]> {
    const k = this.appKeys(app);
    const raw = await this.call<string>('hlRouteAgents', [k.tags, k.agentTags, k.agentQueues], ['queues', agent]);
    return raw === '' ? [] : arr(JSON.parse(raw) as string[]);
  }

  // --- notices (one shard channel in the due index's slot, every node subscribed) ---

  async publishNotice(notice: RoutingNotice): Promise<void> {
    await this.host.client.spublish(this.host.keys.routingNotices(), JSON.stringify(notice));
  }

  subscribeNotices(listener: (n: RoutingNotice) => void): Promise<() => Promise<void>> {
    return this.host.subscriber.subscribe(this.host.keys.routingNotices(), NOTICES, (e) => {
      if (e.type === 'notice') listener(e.notice);
    });
  }

  // --- the due index ---

  private dueKeys(): string[] {
    const d = this.host.keys.routingDue();
    return [d.due, d.dirty];
  }

  async markDue(app: string, queueId: string, atMs: number): Promise<void> {
    await this.call('hlRouteDue', this.dueKeys(), ['add', JSON.stringify([app, queueId]), atMs]);
  }

  async claimDue(limit: number, leaseMs: number): Promise<DueClaim[]> {
    // One lease per claim: unique across nodes, so a settle can tell its claim from a later one.
    const lease = randomUUID();
    const refs = await this.call<string[]>('hlRouteDue', this.dueKeys(), ['claim', limit, leaseMs, lease]);
    return refs.map((r) => {
      const [app, queueId] = JSON.parse(r) as [string, string];
      return { app, queueId, lease };
    });
  }

  async settleDue(claim: DueClaim, nextMs: number | null): Promise<void> {
    await this.call('hlRouteDue', this.dueKeys(), ['settle', JSON.stringify([claim.app, claim.queueId]), nextMs === null ? '' : nextMs, claim.lease]);
  }
}
