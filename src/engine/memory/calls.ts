/**
 * The embedded call store: agents, tags, call queues and agent tokens in process memory. Nothing
 * survives a restart. Per-queue rules live in calls-queue.ts; this file routes by application and
 * keeps the cross-queue relations (tags, memberships) consistent.
 */
import type { WallboardRead } from '../wallboard.js';
import { randomUUID } from 'node:crypto';
import { HoldlineError } from '../../errors.js';
import {
  TOKEN_GRACE_MS,
  hashToken,
  newToken,
  type Agent,
  type AgentPatch,
  type AgentTokenCheck,
  type AgentTokenGrant,
  type CallQueue,
  type CallQueueChange,
  type Changed,
  type CallQueueListener,
  type CallQueuePatch,
  type CallQueueSnapshot,
  type CallQueueStats,
  type CallStore,
  type Caller,
  type CallerPatch,
  type EstimateLineRead,
  type LeaveReason,
  type Member,
  type MemberPatch,
  type Mutation,
  type NewAgent,
  type NewCallQueue,
  type NewCaller,
  type NewMember,
  type Tag,
  type TagDetail,
  type TagPut,
} from '../call-types.js';
import { FeedFanOut, type Unsubscribe } from '../feed.js';
import { MemoryCallQueue } from './calls-queue.js';
import { MemoryRouting } from './calls-routing.js';
import { MemoryEventLog } from './events.js';
import { copyPlain } from './copy.js';

export interface MemoryCallStoreOptions {
  /** Changes kept per queue for changesSince (default 1000). */
  changeRetention?: number;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
  /**
   * The event log to record into: the MemoryEngine's (`engine.events`), so one process has one log.
   * Absent: a log of the store's own (tests of the store alone).
   */
  events?: MemoryEventLog;
}

interface AgentRec {
  uuid: string;
  name: string;
  project_id: string | null;
  user_id: string | null;
  createdMs: number;
  updatedMs: number;
}

class AppCalls {
  readonly agents = new Map<string, AgentRec>();
  readonly tagNames = new Map<number, string>();
  readonly tagIds = new Map<string, number>();
  tagSeq = 0;
  readonly tagAgents = new Map<number, Set<string>>();
  readonly agentTags = new Map<string, Set<number>>();
  readonly queues = new Map<string, MemoryCallQueue>();

  resolveTag(ref: string): number | null {
    if (/^\d+$/.test(ref)) {
      const id = Number(ref);
      return this.tagNames.has(id) && String(id) === ref ? id : null;
    }
    return this.tagIds.get(ref) ?? null;
  }

  tagDetail(id: number): TagDetail {
    return { id, tag: this.tagNames.get(id)!, agents: [...(this.tagAgents.get(id) ?? [])].sort() };
  }

  link(id: number, agent: string): boolean {
    const set = this.tagAgents.get(id) ?? new Set<string>();
    this.tagAgents.set(id, set);
    if (set.has(agent)) return false;
    set.add(agent);
    const tags = this.agentTags.get(agent) ?? new Set<number>();
    this.agentTags.set(agent, tags);
    tags.add(id);
    return true;
  }

  unlink(id: number, agent: string): boolean {
    const had = this.tagAgents.get(id)?.delete(agent) ?? false;
    this.agentTags.get(agent)?.delete(id);
    return had;
  }
}

function agentValues(r: AgentRec): Record<string, string | null> {
  return { agent_id: r.uuid, name: r.name, user_id: r.user_id, owner_project_id: r.project_id };
}

function callQueueValues(q: CallQueue): Record<string, string | number | boolean | null> {
  return {
    queue_id: q.uuid, name: q.name, disabled: q.disabled, service_level_seconds: q.service_level_seconds,
    user_id: q.user_id, owner_project_id: q.project_id,
  };
}

/** A call queue's feed key; queue uuids are never reused, so a deleted queue's key stays silent. */
function feedKey(app: string, queueId: string): string {
  return `${app}\u0000${queueId}`;
}

export class MemoryCallStore implements CallStore {
  /** Live changes per queue, announced inside each mutation (so in seq order). */
  private readonly feeds = new FeedFanOut<'change', CallQueueChange>('change');
  private readonly apps = new Map<string, AppCalls>();
  private readonly tokens = new Map<string, { app: string; agent: string; expMs: number }>();
  private readonly now: () => number;
  private readonly retention: number;
  /** Every change records its event here, in the same synchronous call (src/engine/events.ts). */
  readonly events: MemoryEventLog;
  private readonly ownsEvents: boolean;

  /** Routing (protocol/routing.md) over this store's queues and agents. */
  readonly routing: MemoryRouting;

  constructor(opts: MemoryCallStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.retention = opts.changeRetention ?? 1000;
    this.events = opts.events ?? new MemoryEventLog({ now: this.now });
    this.ownsEvents = opts.events === undefined;
    this.routing = new MemoryRouting({
      now: () => this.now(),
      queue: (app, queueId) => this.apps.get(app)?.queues.get(queueId),
      agentTags: (app, agent) => {
        const a = this.apps.get(app);
        return [...(a?.agentTags.get(agent) ?? [])].map((id) => a!.tagNames.get(id)!);
      },
      agentQueues: (app, agent) => [...(this.apps.get(app)?.queues.values() ?? [])].filter((q) => q.getMember(agent)).map((q) => q.queue.uuid),
      record: (app, type, values) => void this.events.record(app, type, values),
    });
  }

  async close(): Promise<void> {
    this.feeds.clear();
    if (this.ownsEvents) this.events.close();
  }

  async deleteApplication(app: string): Promise<void> {
    const a = this.apps.get(app);
    if (!a) return;
    for (const id of [...a.queues.keys()]) await this.deleteCallQueue(app, id);
    // As the Redis store does it: each agent and tag deleted, each with its event.
    for (const uuid of [...a.agents.keys()]) await this.deleteAgent(app, uuid);
    for (const id of [...a.tagNames.keys()].sort((x, y) => x - y)) await this.deleteTag(app, String(id));
    this.apps.delete(app);
    for (const [h, t] of this.tokens) if (t.app === app) this.tokens.delete(h);
  }

  private app(app: string): AppCalls {
    let a = this.apps.get(app);
    if (!a) {
      a = new AppCalls();
      this.apps.set(app, a);
    }
    return a;
  }

  private queue(app: string, queueId: string): MemoryCallQueue {
    const q = this.apps.get(app)?.queues.get(queueId);
    if (!q) throw new HoldlineError('call_queue_not_found');
    return q;
  }

  private agentWire(a: AppCalls, r: AgentRec): Agent {
    const tags = [...(a.agentTags.get(r.uuid) ?? [])].map((id) => a.tagNames.get(id)!).sort();
    return {
      uuid: r.uuid, name: r.name, project_id: r.project_id, user_id: r.user_id, tags,
      created_at: new Date(r.createdMs).toISOString(), updated_at: new Date(r.updatedMs).toISOString(),
    };
  }

  // --- agents ---

  async createAgent(app: string, input: NewAgent): Promise<Agent> {
    const a = this.app(app);
    const nowMs = this.now();
    const rec: AgentRec = { uuid: randomUUID(), ...input, createdMs: nowMs, updatedMs: nowMs };
    a.agents.set(rec.uuid, rec);
    this.events.record(app, 'agent.create', agentValues(rec));
    return this.agentWire(a, rec);
  }

  async getAgent(app: string, uuid: string): Promise<Agent | null> {
    const a = this.apps.get(app);
    const r = a?.agents.get(uuid);
    return a && r ? this.agentWire(a, r) : null;
  }

  async listAgents(app: string): Promise<Agent[]> {
    const a = this.apps.get(app);
    if (!a) return [];
    return [...a.agents.values()].map((r) => this.agentWire(a, r));
  }

  async updateAgent(app: string, uuid: string, patch: AgentPatch): Promise<Agent> {
    const a = this.apps.get(app);
    const r = a?.agents.get(uuid);
    if (!a || !r) throw new HoldlineError('agent_not_found');
    const next: AgentRec = { ...r, updatedMs: this.now() };
    if (patch.name !== undefined) next.name = patch.name;
    if (patch.project_id !== undefined) next.project_id = patch.project_id;
    if (patch.user_id !== undefined) next.user_id = patch.user_id;
    a.agents.set(uuid, next);
    this.events.record(app, 'agent.update', agentValues(next));
    return this.agentWire(a, next);
  }

  async deleteAgent(app: string, uuid: string): Promise<void> {
    const a = this.apps.get(app);
    if (!a?.agents.delete(uuid)) throw new HoldlineError('agent_not_found');
    this.events.record(app, 'agent.delete', { agent_id: uuid });
    for (const id of a.agentTags.get(uuid) ?? []) a.tagAgents.get(id)?.delete(uuid);
    a.agentTags.delete(uuid);
    for (const q of a.queues.values()) if (q.getMember(uuid)) q.removeMember(uuid);
  }

  // --- tags ---

  async createTag(app: string, name: string): Promise<{ tag: Tag; created: boolean }> {
    const a = this.app(app);
    const existing = a.tagIds.get(name);
    if (existing !== undefined) return { tag: { id: existing, tag: name }, created: false };
    const id = ++a.tagSeq;
    a.tagNames.set(id, name);
    a.tagIds.set(name, id);
    this.events.record(app, 'tag.create', { tag_id: id, tag: name });
    return { tag: { id, tag: name }, created: true };
  }

  async getTag(app: string, ref: string): Promise<TagDetail | null> {
    const a = this.apps.get(app);
    const id = a?.resolveTag(ref) ?? null;
    return a && id !== null ? a.tagDetail(id) : null;
  }

  async listTags(app: string): Promise<TagDetail[]> {
    const a = this.apps.get(app);
    if (!a) return [];
    return [...a.tagNames.keys()].sort((x, y) => x - y).map((id) => a.tagDetail(id));
  }

  async putTag(app: string, ref: string, input: TagPut): Promise<{ tag: TagDetail; created: boolean }> {
    const a = this.app(app);
    let id = a.resolveTag(ref);
    if (id === null && /^\d+$/.test(ref)) throw new HoldlineError('tag_not_found');
    const name = input.tag ?? (id === null ? ref : a.tagNames.get(id)!);
    const holder = a.tagIds.get(name);
    if (holder !== undefined && holder !== id) throw new HoldlineError('tag_exists', { field: 'tag' });
    for (const agent of input.agents ?? []) {
      if (!a.agents.has(agent)) throw new HoldlineError('agent_not_found', { field: 'agents' });
    }
    const created = id === null;
    if (id === null) id = ++a.tagSeq;
    else a.tagIds.delete(a.tagNames.get(id)!);
    a.tagNames.set(id, name);
    a.tagIds.set(name, id);
    if (input.agents) {
      for (const agent of [...(a.tagAgents.get(id) ?? [])]) a.unlink(id, agent);
      for (const agent of input.agents) a.link(id, agent);
    }
    const detail = a.tagDetail(id);
    this.events.record(app, created ? 'tag.create' : 'tag.update', { tag_id: id, tag: name, agents: detail.agents.length });
    return { tag: detail, created };
  }

  async deleteTag(app: string, ref: string): Promise<boolean> {
    const a = this.apps.get(app);
    const id = a?.resolveTag(ref) ?? null;
    if (!a || id === null) return false;
    for (const agent of a.tagAgents.get(id) ?? []) a.agentTags.get(agent)?.delete(id);
    a.tagAgents.delete(id);
    const name = a.tagNames.get(id)!;
    a.tagIds.delete(name);
    a.tagNames.delete(id);
    this.events.record(app, 'tag.delete', { tag_id: id, tag: name });
    return true;
  }

  private tagAndAgent(app: string, ref: string, agent: string): { a: AppCalls; id: number } {
    const a = this.apps.get(app);
    const id = a?.resolveTag(ref) ?? null;
    if (!a || id === null) throw new HoldlineError('tag_not_found');
    if (!a.agents.has(agent)) throw new HoldlineError('agent_not_found', { field: 'agent_id' });
    return { a, id };
  }

  async tagAgent(app: string, ref: string, agentUuid: string): Promise<{ tag: Tag; created: boolean }> {
    const { a, id } = this.tagAndAgent(app, ref, agentUuid);
    const tag = a.tagNames.get(id)!;
    const created = a.link(id, agentUuid);
    if (created) this.events.record(app, 'tag.agent.add', { tag_id: id, tag, agent_id: agentUuid });
    return { tag: { id, tag }, created };
  }

  async untagAgent(app: string, ref: string, agentUuid: string): Promise<boolean> {
    const { a, id } = this.tagAndAgent(app, ref, agentUuid);
    const had = a.unlink(id, agentUuid);
    if (had) this.events.record(app, 'tag.agent.remove', { tag_id: id, tag: a.tagNames.get(id)!, agent_id: agentUuid });
    return had;
  }

  async agentsByTag(app: string, ref: string): Promise<Agent[]> {
    const a = this.apps.get(app);
    const id = a?.resolveTag(ref) ?? null;
    if (!a || id === null) throw new HoldlineError('tag_not_found');
    const tagged = a.tagAgents.get(id) ?? new Set<string>();
    return [...a.agents.values()].filter((r) => tagged.has(r.uuid)).map((r) => this.agentWire(a, r));
  }

  // --- call queues ---

  async createCallQueue(app: string, input: NewCallQueue): Promise<CallQueue> {
    const nowMs = this.now();
    const queue: CallQueue = {
      uuid: randomUUID(), ...input, created_at: new Date(nowMs).toISOString(), updated_at: new Date(nowMs).toISOString(),
    };
    this.app(app).queues.set(queue.uuid, new MemoryCallQueue(queue, this.now, this.retention, (change) => {
      // Each change's event, recorded inside the mutation that made it.
      this.events.recordChange(app, change);
      // One copy per listener (feed.ts): a listener cannot alter what another sees or what is kept.
      this.feeds.announce(feedKey(app, queue.uuid), change, copyPlain);
    }));
    this.events.record(app, 'queue.create', callQueueValues(queue));
    return { ...queue };
  }

  async getCallQueue(app: string, queueId: string): Promise<CallQueue | null> {
    const q = this.apps.get(app)?.queues.get(queueId);
    return q ? { ...q.queue } : null;
  }

  async listCallQueues(app: string): Promise<CallQueue[]> {
    return [...(this.apps.get(app)?.queues.values() ?? [])].map((q) => ({ ...q.queue }));
  }

  async updateCallQueue(app: string, queueId: string, patch: CallQueuePatch): Promise<Mutation<CallQueue>> {
    return this.queue(app, queueId).update(patch);
  }

  async deleteCallQueue(app: string, queueId: string): Promise<CallQueueChange> {
    const q = this.queue(app, queueId);
    const change = q.deleted();
    this.apps.get(app)!.queues.delete(queueId);
    this.routing.forgetQueue(app, queueId);
    return change;
  }

  // --- members ---

  async addMember(app: string, queueId: string, input: NewMember): Promise<Mutation<Member>> {
    const q = this.queue(app, queueId);
    if (!this.apps.get(app)!.agents.has(input.agent_uuid)) throw new HoldlineError('agent_not_found', { field: 'agent_id' });
    return q.addMember(input);
  }

  async getMember(app: string, queueId: string, agentUuid: string): Promise<Member | null> {
    return this.apps.get(app)?.queues.get(queueId)?.getMember(agentUuid) ?? null;
  }

  async listMembers(app: string, queueId: string): Promise<Member[]> {
    return this.queue(app, queueId).memberList();
  }

  async updateMember(app: string, queueId: string, agentUuid: string, patch: MemberPatch): Promise<Mutation<Member>> {
    return this.queue(app, queueId).updateMember(agentUuid, patch);
  }

  async removeMember(app: string, queueId: string, agentUuid: string): Promise<Changed> {
    return { change: this.queue(app, queueId).removeMember(agentUuid) };
  }

  // --- callers ---

  async joinCaller(app: string, queueId: string, input: NewCaller): Promise<Mutation<Caller>> {
    const { required_tags: tags, ...caller } = input;
    const joined = this.queue(app, queueId).join(randomUUID(), caller);
    this.routing.setCallerTagsNow(app, queueId, joined.value.uuid, tags ?? []);
    return joined;
  }

  async getCaller(app: string, queueId: string, callerUuid: string): Promise<Caller | null> {
    return this.apps.get(app)?.queues.get(queueId)?.getCaller(callerUuid) ?? null;
  }

  async updateCaller(app: string, queueId: string, callerUuid: string, patch: CallerPatch): Promise<Mutation<Caller>> {
    return this.queue(app, queueId).updateCaller(callerUuid, patch);
  }

  async leaveCaller(app: string, queueId: string, callerUuid: string, reason: LeaveReason): Promise<Changed> {
    return { change: this.queue(app, queueId).leave(callerUuid, reason) };
  }

  async requestCallback(app: string, queueId: string, callerUuid: string, number: string | null): Promise<Mutation<Caller>> {
    return this.queue(app, queueId).requestCallback(callerUuid, number);
  }

  async waitingAtOrAbove(app: string, queueId: string, priority: number): Promise<number> {
    return this.apps.get(app)?.queues.get(queueId)?.waitingAtOrAbove(priority) ?? 0;
  }

  // --- reads for subscribers ---

  async snapshot(app: string, queueId: string): Promise<CallQueueSnapshot> {
    return this.queue(app, queueId).snapshot();
  }

  async readEstimateLine(app: string, queueId: string): Promise<EstimateLineRead> {
    return this.queue(app, queueId).estimateLine();
  }

  async readWallboard(app: string, queueId: string): Promise<WallboardRead | null> {
    return this.apps.get(app)?.queues.get(queueId)?.wallboardRead() ?? null;
  }

  async getStats(app: string, queueId: string): Promise<CallQueueStats | null> {
    return this.apps.get(app)?.queues.get(queueId)?.stats() ?? null;
  }

  async changesSince(app: string, queueId: string, seq: number): Promise<CallQueueChange[] | null> {
    return this.queue(app, queueId).changesSince(seq);
  }

  async subscribeQueue(app: string, queueId: string, listener: CallQueueListener): Promise<Unsubscribe> {
    const remove = this.feeds.add(feedKey(app, queueId), listener);
    return async () => remove();
  }

  // --- agent tokens ---

  async issueAgentToken(app: string, agentUuid: string, ttlSeconds: number): Promise<AgentTokenGrant> {
    if (!this.apps.get(app)?.agents.has(agentUuid)) throw new HoldlineError('agent_not_found');
    const nowMs = this.now();
    for (const [h, t] of this.tokens) if (t.expMs + TOKEN_GRACE_MS < nowMs) this.tokens.delete(h);
    const token = newToken();
    const expMs = nowMs + ttlSeconds * 1000;
    this.tokens.set(hashToken(token), { app, agent: agentUuid, expMs });
    return { token, agent_uuid: agentUuid, expires_at: new Date(expMs).toISOString() };
  }

  async verifyAgentToken(token: string): Promise<AgentTokenCheck> {
    const t = this.tokens.get(hashToken(token));
    const nowMs = this.now();
    if (!t || t.expMs + TOKEN_GRACE_MS < nowMs) return { valid: false, reason: 'unknown' };
    if (!this.apps.get(t.app)?.agents.has(t.agent)) return { valid: false, reason: 'unknown' };
    if (t.expMs <= nowMs) return { valid: false, reason: 'expired' };
    return { valid: true, app: t.app, agent_uuid: t.agent, expires_at: new Date(t.expMs).toISOString() };
  }

  async revokeAgentToken(app: string, token: string): Promise<boolean> {
    const h = hashToken(token);
    const t = this.tokens.get(h);
    if (!t || t.app !== app) return false;
    this.tokens.delete(h);
    return true;
  }
}
