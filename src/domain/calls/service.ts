/**
 * The call-queue rules between the transports (REST routes, WebSocket frames) and the store: every
 * input is validated (validate.ts) before the store is touched, so a rejected request changes
 * nothing; what must be checked atomically with the change (existence, a disabled queue, a status
 * transition) the store checks and rejects with the same catalogue codes. Reads of a missing thing
 * become its not-found error here, so transports only map HoldlineError to a status or frame.
 * Every method is async, so a rejected input is a rejected promise, never a synchronous throw.
 */
import { HoldlineError, isHoldlineError } from '../../errors.js';
import type {
  Agent,
  AgentTokenGrant,
  CallQueue,
  CallQueueChange,
  CallQueueListener,
  CallQueueSnapshot,
  CallQueueStats,
  CallStore,
  Caller,
  EstimateLineRead,
  JoinWindow,
  Member,
  NewCaller,
  Mutation,
  RoutingIdleAfter,
  Tag,
  TagDetail,
  WallboardRead,
} from '../../engine/call-types.js';
import type { Unsubscribe } from '../../engine/types.js';
import {
  DEFAULT_HANDLE_SECONDS,
  estimateBehind,
  estimateLine,
  giveUpRateFrom,
  handleSecondsFrom,
  joinTimesMatter,
  movesWithTime,
  type EstimateCaller,
  type EstimateInput,
  type EstimateMember,
} from './estimate.js';
import { NO_ROUTING, type EstimateContext } from './estimate-context.js';
import type { CallFeeds } from './feeds.js';
import { buildWallboard, buildWallboardFrame, windowFigures, type WallboardFrame, type WallboardStats, type WallboardWindow } from '../../engine/wallboard.js';
import {
  LIMITS,
  parseAgentPatch,
  parseCallQueuePatch,
  parseCallerPatch,
  parseLeaveReason,
  parseMemberPatch,
  parseNewAgent,
  parseNewCallQueue,
  parseNewCaller,
  parseNewMember,
  parseNewTag,
  parsePathId,
  parseCallbackRequest,
  parseSeq,
  parseStatsQuery,
  parseTagAgent,
  parseTagPut,
  parseTagRef,
  parseTokenRequest,
  parseTokenRevoke,
} from './validate.js';

/** How long a join's estimate reuses its queue's inputs (CallService.joinInputs). */
const JOIN_INPUTS_MS = 1000;
/** At most this many queues' inputs are kept (then all are dropped and read again). */
const JOIN_INPUTS_QUEUES = 10_000;
/** A join's window of estimates (CallService.joinWindow) spans the last join's place ± this. */
const JOIN_WINDOW_REACH = 32;

export interface CallServiceOptions {
  /** service_level_seconds of a queue created without one. */
  defaultServiceLevelSeconds?: number;
  /** The IANA zone of the wallboard's `today` window (config wallboardTimeZone); default UTC. */
  wallboardTimeZone?: string;
  /**
   * Routing's part of the estimated wait (estimate-context.ts: wrap-up, skills, tiers); absent: no
   * wrap-up, every member takes every caller.
   */
  estimateContext?: (app: string, queueId: string) => Promise<EstimateContext>;
  /**
   * Tells every node's live connections that an agent lost credentials (Engine.announceAgentChange):
   * the message engine carries the news, the call store keeps the agents. Absent: nothing to tell.
   */
  announceAgentChange?: (app: string, agent: string) => Promise<void>;
  /**
   * Routing's turn after a change (routing.md section 3): a queue changed, or an agent's skills.
   * Awaited, so an offer a change allows exists when the request is answered; a failure here is the
   * hook's to report (the change itself is made, and the due index finishes the decision).
   */
  routing?: { queueChanged(app: string, queueId: string, idle?: boolean): Promise<void>; agentChanged(app: string, agent: string): Promise<void> };
}

/** Who is asking: an application key (supervisor, wallboard, producer) or an agent token. */
export type CallPrincipal = { kind: 'application'; app: string } | { kind: 'agent'; app: string; agent: string };

export class CallService {
  private readonly defaultServiceLevel: number;
  private readonly timeZone: string;
  private readonly estimateContext: (app: string, queueId: string) => Promise<EstimateContext>;
  private readonly announce: (app: string, agent: string) => Promise<void>;
  private readonly routing: NonNullable<CallServiceOptions['routing']> | null;
  /** Per queue (`app\nqueue`): the inputs of a join's estimate, read at `atMs` (joinInputs). */
  private readonly joinInputCache = new Map<string, { atMs: number; inputs: Promise<JoinInputs | null> }>();
  /** Per queue (`app\nqueue`): the place the last join through this node took (joinWindow's hint). */
  private readonly joinPlaces = new Map<string, number>();

  constructor(
    private readonly store: CallStore,
    opts: CallServiceOptions = {},
  ) {
    this.defaultServiceLevel = opts.defaultServiceLevelSeconds ?? LIMITS.defaultServiceLevel;
    this.timeZone = opts.wallboardTimeZone ?? 'UTC';
    this.estimateContext = opts.estimateContext ?? (() => Promise.resolve(NO_ROUTING));
    this.announce = opts.announceAgentChange ?? (() => Promise.resolve());
    this.routing = opts.routing ?? null;
  }

  /**
   * Passes a queue change on to routing, with routing's idleness after it when the store read it
   * with the change (RoutingIdleAfter), then answers what the change answered. Read idle: routing
   * is not called at all, as Router.changed would return at once (nothing to do, now or later).
   */
  private async routed<T extends RoutingIdleAfter>(app: string, queueId: string, result: T): Promise<T> {
    if (result.routingIdle !== true) await this.routing?.queueChanged(app, queueId, result.routingIdle);
    return result;
  }

  /**
   * A change of the queue's members or settings: a join's estimate reads its inputs again (they are
   * otherwise reused for up to JOIN_INPUTS_MS), then routing is told.
   */
  private async reshaped<T extends RoutingIdleAfter>(app: string, queueId: string, change: () => Promise<T>): Promise<T> {
    this.joinInputCache.delete(`${app}\n${queueId}`);
    return this.routed(app, queueId, await change());
  }

  private async agentRouted<T>(app: string, agent: string, result: T): Promise<T> {
    this.joinInputCache.clear();
    await this.routing?.agentChanged(app, agent);
    return result;
  }

  // --- agents ---

  async createAgent(app: string, body: unknown): Promise<Agent> {
    return this.store.createAgent(app, parseNewAgent(body));
  }

  async getAgent(app: string, id: string): Promise<Agent> {
    return found(await this.store.getAgent(app, parsePathId(id, 'agent_not_found')), 'agent_not_found');
  }

  async listAgents(app: string): Promise<Agent[]> {
    return this.store.listAgents(app);
  }

  async updateAgent(app: string, id: string, body: unknown): Promise<Agent> {
    const uuid = parsePathId(id, 'agent_not_found');
    return this.store.updateAgent(app, uuid, parseAgentPatch(body));
  }

  /**
   * Deletes the agent; its tokens stop working, so live WebSocket connections using one close
   * (websocket.md 2). Already gone: announced again all the same (then agent_not_found), so that a
   * retry after a failed announcement still closes them (an agent that never existed matches nothing).
   */
  async deleteAgent(app: string, id: string): Promise<void> {
    const uuid = parsePathId(id, 'agent_not_found');
    this.joinInputCache.clear();
    try {
      await this.store.deleteAgent(app, uuid);
    } catch (err) {
      if (isHoldlineError(err) && err.code === 'agent_not_found') await this.announce(app, id);
      throw err;
    }
    await this.announce(app, id);
  }

  // --- tags ---

  async createTag(app: string, body: unknown): Promise<{ tag: Tag; created: boolean }> {
    return this.store.createTag(app, parseNewTag(body));
  }

  async getTag(app: string, ref: string): Promise<TagDetail> {
    return found(await this.store.getTag(app, parseTagRef(ref)), 'tag_not_found');
  }

  async listTags(app: string): Promise<TagDetail[]> {
    return this.store.listTags(app);
  }

  /** A reference that is neither an id nor a valid name cannot be created: invalid tag. */
  async putTag(app: string, ref: string, body: unknown): Promise<{ tag: TagDetail; created: boolean }> {
    const input = parseTagPut(body);
    let tagRef: string;
    try {
      tagRef = parseTagRef(ref);
    } catch {
      throw new HoldlineError('invalid_field', { field: 'tag' });
    }
    return this.store.putTag(app, tagRef, input);
  }

  /** False when there was no such tag (PyFarm: deleting a missing tag is not an error). */
  async deleteTag(app: string, ref: string): Promise<boolean> {
    try {
      return await this.store.deleteTag(app, parseTagRef(ref));
    } catch (err) {
      if (err instanceof HoldlineError && err.code === 'tag_not_found') return false;
      throw err;
    }
  }

  async tagAgent(app: string, ref: string, body: unknown): Promise<{ tag: Tag; created: boolean }> {
    const tagRef = parseTagRef(ref);
    const agent = parseTagAgent(body);
    return this.agentRouted(app, agent, await this.store.tagAgent(app, tagRef, agent));
  }

  async untagAgent(app: string, ref: string, agentId: string): Promise<boolean> {
    const tagRef = parseTagRef(ref);
    const agent = parsePathId(agentId, 'agent_not_found');
    return this.agentRouted(app, agent, await this.store.untagAgent(app, tagRef, agent));
  }

  async agentsByTag(app: string, ref: string): Promise<Agent[]> {
    return this.store.agentsByTag(app, parseTagRef(ref));
  }

  // --- call queues ---

  async createQueue(app: string, body: unknown): Promise<CallQueue> {
    return this.store.createCallQueue(app, parseNewCallQueue(body, this.defaultServiceLevel));
  }

  async getQueue(app: string, id: string): Promise<CallQueue> {
    return found(await this.store.getCallQueue(app, queueId(id)), 'call_queue_not_found');
  }

  async listQueues(app: string): Promise<CallQueue[]> {
    return this.store.listCallQueues(app);
  }

  async updateQueue(app: string, id: string, body: unknown): Promise<Mutation<CallQueue>> {
    const q = queueId(id);
    return this.reshaped(app, q, () => this.store.updateCallQueue(app, q, parseCallQueuePatch(body)));
  }

  async deleteQueue(app: string, id: string): Promise<CallQueueChange> {
    return this.store.deleteCallQueue(app, queueId(id));
  }

  // --- members ---

  async addMember(app: string, id: string, body: unknown): Promise<Mutation<Member>> {
    const q = queueId(id);
    return this.reshaped(app, q, () => this.store.addMember(app, q, parseNewMember(body)));
  }

  async getMember(app: string, id: string, agentId: string): Promise<Member> {
    const q = await this.existingQueue(app, id);
    const member = await this.store.getMember(app, q, parsePathId(agentId, 'member_not_found'));
    return found(member, 'member_not_found');
  }

  async listMembers(app: string, id: string): Promise<Member[]> {
    return this.store.listMembers(app, queueId(id));
  }

  async updateMember(app: string, id: string, agentId: string, body: unknown): Promise<Mutation<Member>> {
    const q = queueId(id);
    const agent = parsePathId(agentId, 'member_not_found');
    return this.reshaped(app, q, () => this.store.updateMember(app, q, agent, parseMemberPatch(body)));
  }

  async removeMember(app: string, id: string, agentId: string): Promise<CallQueueChange> {
    const q = queueId(id);
    return (await this.reshaped(app, q, () => this.store.removeMember(app, q, parsePathId(agentId, 'member_not_found')))).change;
  }

  // --- callers ---

  async joinCaller(app: string, id: string, body: unknown): Promise<Mutation<Caller>> {
    const q = queueId(id);
    const input = parseNewCaller(body);
    // Only a store that can join in a window keeps a hint (the memory store counts for free).
    if (this.store.joinCallerInWindow === undefined) {
      return await this.routed(app, q, await this.store.joinCaller(app, q, await this.withJoinEstimate(app, q, input)));
    }
    const key = `${app}\n${q}`;
    const joined = (await this.joinInWindow(app, q, key, input)) ?? (await this.store.joinCaller(app, q, await this.withJoinEstimate(app, q, input)));
    const place = joined.value.position;
    if (place !== null) {
      if (this.joinPlaces.size >= JOIN_INPUTS_QUEUES) this.joinPlaces.clear();
      this.joinPlaces.set(key, place);
    }
    return await this.routed(app, q, joined);
  }

  /**
   * The join in one round trip where the store can pick the estimate at the place it gives
   * (CallStore.joinCallerInWindow: Redis) and the estimate is a function of the place alone
   * (joinWindow). Null: not joined here (no such store, no window, or the caller's place fell
   * outside it); the node counts the line and joins as before (withJoinEstimate).
   */
  private async joinInWindow(app: string, queueId: string, key: string, input: NewCaller): Promise<Mutation<Caller> | null> {
    if (this.store.joinCallerInWindow === undefined) return null;
    const hint = this.joinPlaces.get(key);
    if (hint === undefined) return null;
    let window: JoinWindow | null;
    try {
      window = await this.joinWindow(app, queueId, input, hint);
    } catch {
      return null;
    }
    return window === null ? null : this.store.joinCallerInWindow(app, queueId, input, window);
  }

  /**
   * withJoinEstimate's values for the places `hint` ± JOIN_WINDOW_REACH, when they are a function
   * of the place alone: the caller requires no tag of its own, no waiting caller in routing's read
   * requires one, and when callers joined does not matter (no tiers relax: estimate.ts
   * joinTimesMatter; every caller in routing's read joined by now). Then place k's estimate is
   * estimateLine's for the k-th of k + 1 plain callers, equal to estimateBehind's for k callers ahead
   * (Line.reaches; test/unit/estimate-join-window.test.ts). Null: not so, or no inputs (the queue is
   * gone): withJoinEstimate's path. The line's figures are kept per basis when they do not move with
   * time (estimate.ts movesWithTime), so a burst of joins does not estimate the line again.
   */
  private async joinWindow(app: string, queueId: string, input: NewCaller, hint: number): Promise<JoinWindow | null> {
    if (input.required_tags !== undefined && input.required_tags.length > 0) return null;
    const entry = this.joinInputs(app, queueId);
    const inputs = await entry.inputs;
    if (inputs === null) return null;
    const { basis } = inputs;
    const nowMs = inputs.nowMs + (Date.now() - entry.atMs);
    let memo = joinWindows.get(basis);
    if (memo === undefined) {
      let plain = true;
      let joinedBy = -Infinity;
      for (const tags of basis.ctx.callerTags.values()) if (tags.length > 0) plain = false;
      for (const ms of basis.ctx.callerJoinedMs.values()) joinedBy = Math.max(joinedBy, ms);
      // What does not change with the instant (estimate.ts: both read the members and settings only).
      const fixed = estimateInput(basis, basis.ctx.offered, nowMs);
      memo = { plain, joinedBy, timesMatter: joinTimesMatter(fixed), moves: movesWithTime(fixed), line: null, windows: new Map() };
      joinWindows.set(basis, memo);
    }
    if (!memo.plain) return null;
    // A caller ahead that joined after nowMs (a clock read apart) would hold its tiers closed.
    if (memo.timesMatter || ((basis.ctx.relaxAfterSeconds ?? 0) > 0 && memo.joinedBy > nowMs)) return null;
    const lo = Math.max(0, hint - JOIN_WINDOW_REACH);
    const hi = hint + JOIN_WINDOW_REACH;
    const plainLine = (n: number) => estimateLine(Array.from({ length: n }, () => ({})), estimateInput(basis, basis.ctx.offered, nowMs));
    if (memo.moves) return windowOf(lo, plainLine(hi + 1).slice(lo));
    // By the hint, not by lo: near the front lo is 0 for several hints, each with its own hi.
    let window = memo.windows.get(hint);
    if (window === undefined) {
      // Room for the places the next joins take (each one further back, until some leave).
      if (memo.line === null || memo.line.length <= hi) {
        memo.line = plainLine(hi + 1 + 2 * JOIN_WINDOW_REACH);
        memo.windows.clear();
      }
      const cut = windowOf(lo, memo.line.slice(lo, hi + 1));
      if (cut === null) return null;
      memo.windows.set(hint, cut);
      window = cut;
    }
    return window;
  }

  async getCaller(app: string, id: string, callerId: string): Promise<Caller & { estimated_wait?: number | null }> {
    const q = await this.existingQueue(app, id);
    const caller = found(await this.store.getCaller(app, q, parsePathId(callerId, 'caller_not_found')), 'caller_not_found');
    if (caller.status !== 'waiting') return caller;
    const line = await this.store.readEstimateLine(app, q);
    const est = await this.lineEstimates(app, q, line);
    const i = line.waiting.findIndex((c) => c.uuid === caller.uuid);
    return i === -1 ? caller : { ...caller, estimated_wait: est[i] ?? null };
  }

  /**
   * Estimated wait of each waiting caller, seconds (protocol/routing.md section 9), from one
   * snapshot: members and their states, ringing callers' members, routing's skills and tiers, and the
   * queue's averages (handle time: the last hour's, else today's, else DEFAULT_HANDLE_SECONDS;
   * wrap-up: routing's setting).
   */
  async estimates(app: string, queueId: string, snap: CallQueueSnapshot): Promise<Map<string, number | null>> {
    const line = snapshotLine(snap);
    const est = await this.lineEstimates(app, queueId, line);
    return new Map(line.waiting.map((c, i) => [c.uuid, est[i] ?? null]));
  }

  /**
   * The estimates of a line read's waiting callers, in its order. `known`: the queue's wallboard
   * read if the caller already holds one (its averages), else it is read here.
   */
  private async lineEstimates(app: string, queueId: string, line: EstimateLineRead, known?: WallboardRead | null): Promise<(number | null)[]> {
    const [read, ctx] = await Promise.all([known === undefined ? this.store.readWallboard(app, queueId) : known, this.estimateContext(app, queueId)]);
    const callers = line.waiting.map((c): EstimateCaller => ({ createdMs: c.createdMs, requiredTags: ctx.callerTags.get(c.uuid) ?? [] }));
    return estimateLine(callers, estimateInput(this.estimateBasis(read, ctx, line.members), new Set(line.ringing), line.nowMs));
  }

  /** The slow-moving part of an estimate's input: the averages, routing's context, the members. */
  private estimateBasis(read: WallboardRead | null, ctx: EstimateContext, members: EstimateLineRead['members']): EstimateBasis {
    return { ...(read === null ? { handle: DEFAULT_HANDLE_SECONDS, giveUp: undefined } : this.averages(read, members)), ctx, members };
  }

  /**
   * The averages the estimate uses, each from the last hour's figures, else today's, else its
   * default: H, the handle time, with the calls in progress at the read (estimate.ts
   * handleSecondsFrom; default DEFAULT_HANDLE_SECONDS), and θ, the rate at which a waiting caller
   * gives up (giveUpRateFrom; none: every caller ahead counted whole).
   */
  private averages(read: WallboardRead, members: EstimateLineRead['members']): { handle: number; giveUp: number | undefined } {
    const running = members.flatMap((m) => (m.status === 'busy' ? [(read.nowMs - m.statusAtMs) / 1000] : []));
    let handle: number | null = null;
    let giveUp: number | null = null;
    for (const window of ['1h', 'today'] as const) {
      if (handle !== null && giveUp !== null) break;
      const f = windowFigures(window, read.buckets, read.nowMs, this.timeZone);
      handle ??= handleSecondsFrom(f.average_handle_time, f.handled, running);
      giveUp ??= giveUpRateFrom(f.answered, f.abandoned + f.timed_out, f.average_speed_of_answer);
    }
    return { handle: handle ?? DEFAULT_HANDLE_SECONDS, giveUp: giveUp ?? undefined };
  }

  /**
   * The estimate a joining caller is given, kept with it and recorded at its leave next to its
   * actual wait (routing.md section 9): computed just before the join, for the place it takes
   * (behind the `waitingAtOrAbove` callers of its priority or higher), from reads that do not walk
   * the line (the wallboard read's members, a count of the line; routing's read on routed queues).
   * Only this caller is estimated: the callers ahead are counted by pool, not estimated.
   * Best effort: a failed read leaves the caller without an estimate, the join goes on.
   */
  private async withJoinEstimate(app: string, queueId: string, input: NewCaller): Promise<NewCaller> {
    try {
      const entry = this.joinInputs(app, queueId);
      const [inputs, ahead] = await Promise.all([entry.inputs, this.store.waitingAtOrAbove(app, queueId, input.priority)]);
      if (inputs === null) return input;
      const nowMs = inputs.nowMs + (Date.now() - entry.atMs);
      const { ctx } = inputs.basis;
      // Routed queues: the callers ahead with their own skills (routing's read is in position order).
      const est = estimateBehind(
        { count: ahead, requiredTags: ctx.callerTags.values(), createdMs: ctx.callerJoinedMs.values() },
        { requiredTags: input.required_tags ?? [], createdMs: nowMs },
        estimateInput(inputs.basis, ctx.offered, nowMs),
      );
      return typeof est === 'number' ? { ...input, estimated_wait: est } : input;
    } catch {
      return input;
    }
  }

  /**
   * The inputs of a join's estimate besides the line's count (the wallboard read's members and
   * averages, routing's read), and when they were read (Date.now() ms); null: the queue is gone.
   * Reused for up to JOIN_INPUTS_MS per queue: joins come in bursts (hundreds a second on a busy
   * queue) and these inputs move slowly, so a burst costs one read a second, not three reads and a
   * wallboard's figures per join. A member or skill change made through this node reads them again
   * at once; one made elsewhere (another node, an offer) is seen within JOIN_INPUTS_MS (routing.md section 9).
   */
  private joinInputs(app: string, queueId: string): { atMs: number; inputs: Promise<JoinInputs | null> } {
    const key = `${app}\n${queueId}`;
    const now = Date.now();
    let hit = this.joinInputCache.get(key);
    if (hit === undefined || now - hit.atMs >= JOIN_INPUTS_MS) {
      if (this.joinInputCache.size >= JOIN_INPUTS_QUEUES) this.joinInputCache.clear();
      const inputs = Promise.all([this.store.readWallboard(app, queueId), this.estimateContext(app, queueId)]).then(([read, ctx]) =>
        read === null ? null : { nowMs: read.nowMs, basis: this.estimateBasis(read, ctx, read.members.map(memberTimes)) },
      );
      const entry = { atMs: now, inputs };
      // A failed read is not kept: the next join reads again.
      inputs.catch(() => {
        if (this.joinInputCache.get(key) === entry) this.joinInputCache.delete(key);
      });
      this.joinInputCache.set(key, entry);
      hit = entry;
    }
    return hit;
  }

  /**
   * What live followers read (the WebSocket server's CallFeeds): the store's, with each snapshot
   * carrying its waiting callers' estimates (websocket.md 5.2).
   */
  feeds(): CallFeeds {
    const store = this.store;
    return {
      subscribeQueue: (app, q, listener) => store.subscribeQueue(app, q, listener),
      changesSince: (app, q, seq) => store.changesSince(app, q, seq),
      snapshot: async (app, q) => {
        const snap = await store.snapshot(app, q);
        return { ...snap, estimates: Object.fromEntries(await this.estimates(app, q, snap)) };
      },
    };
  }

  /**
   * In position order, then ringing and connected callers in join order; with the queue's `seq`
   * read in the same atomic step, so a reader can continue from it with WebSocket updates.
   */
  async listCallers(app: string, id: string): Promise<{ callers: Caller[]; seq: number }> {
    const q = queueId(id);
    const snap = await this.store.snapshot(app, q);
    const estimates = await this.estimates(app, q, snap);
    const callers = snap.callers.map((c) => (estimates.has(c.uuid) ? { ...c, estimated_wait: estimates.get(c.uuid)! } : c));
    return { callers, seq: snap.seq };
  }

  async updateCaller(app: string, id: string, callerId: string, body: unknown): Promise<Mutation<Caller>> {
    const q = queueId(id);
    const caller = parsePathId(callerId, 'caller_not_found');
    return this.routed(app, q, await this.store.updateCaller(app, q, caller, parseCallerPatch(body)));
  }

  /**
   * A waiting caller becomes a callback (protocol/calls.md 3.1), REST and WebSocket alike: it keeps
   * its place in line and is offered like any caller when its turn comes (the offer says so).
   */
  async requestCallback(app: string, id: string, callerId: string, body: unknown): Promise<Mutation<Caller>> {
    const q = queueId(id);
    const caller = parsePathId(callerId, 'caller_not_found');
    const number = parseCallbackRequest(body);
    return this.store.requestCallback(app, q, caller, number);
  }

  async leaveCaller(app: string, id: string, callerId: string, reason: unknown): Promise<CallQueueChange> {
    const q = queueId(id);
    const caller = parsePathId(callerId, 'caller_not_found');
    return (await this.routed(app, q, await this.store.leaveCaller(app, q, caller, parseLeaveReason(reason)))).change;
  }

  async getStats(app: string, id: string): Promise<CallQueueStats> {
    return found(await this.store.getStats(app, queueId(id)), 'call_queue_not_found');
  }

  /** GET /v1/queues/{id}/stats: the statistics, or with `window` in the query the wallboard's. */
  async statsFor(app: string, id: string, query: Record<string, string>): Promise<CallQueueStats | WallboardStats> {
    const q = queueId(id);
    const window = parseStatsQuery(query);
    return window === null ? this.getStats(app, q) : this.getWallboard(app, q, window);
  }

  /** The live statistics plus one wallboard window (protocol/calls.md section 5.1). */
  async getWallboard(app: string, id: string, window: WallboardWindow): Promise<WallboardStats> {
    const read = found(await this.store.readWallboard(app, queueId(id)), 'call_queue_not_found');
    return buildWallboard(read, window, this.timeZone);
  }

  /** Every window at one instant, for the callqueue.stats frame; null when the queue is gone. */
  async wallboardFrame(app: string, id: string): Promise<WallboardFrame | null> {
    const q = queueId(id);
    const read = await this.store.readWallboard(app, q);
    if (read === null) return null;
    const estimates: Record<string, number | null> = {};
    try {
      // The line read, not a snapshot: the estimate needs no caller's record (pushed every second per followed queue).
      const line = await this.store.readEstimateLine(app, q);
      const est = await this.lineEstimates(app, q, line, read);
      line.waiting.forEach((c, i) => {
        estimates[c.uuid] = est[i] ?? null;
      });
    } catch (err) {
      if (isHoldlineError(err) && err.code === 'call_queue_not_found') return null;
      throw err;
    }
    return { ...buildWallboardFrame(q, read, this.timeZone), estimates };
  }

  // --- following a queue (the WebSocket server's path) ---

  /** Application keys follow any call queue of their application; agents only their queues. */
  async authorizeFollow(who: CallPrincipal, id: string): Promise<string> {
    const q = await this.existingQueue(who.app, id);
    if (who.kind === 'agent' && (await this.store.getMember(who.app, q, who.agent)) === null) {
      throw new HoldlineError('forbidden');
    }
    return q;
  }

  /**
   * The membership re-check of an agent's follow once its changes are captured (a removal between
   * authorizeFollow and the capture would otherwise slip through); `queueId` as authorizeFollow returned it.
   */
  async stillAllowed(who: CallPrincipal, queueId: string): Promise<boolean> {
    return who.kind !== 'agent' || (await this.store.getMember(who.app, queueId, who.agent)) !== null;
  }

  async snapshot(app: string, id: string): Promise<CallQueueSnapshot> {
    return this.store.snapshot(app, queueId(id));
  }

  /** Null: `seq` is too old or newer than the queue's; the client takes a snapshot. */
  async changesSince(app: string, id: string, seq: unknown): Promise<CallQueueChange[] | null> {
    const q = queueId(id);
    return this.store.changesSince(app, q, parseSeq(seq));
  }

  async subscribe(app: string, id: string, listener: CallQueueListener): Promise<Unsubscribe> {
    return this.store.subscribeQueue(app, queueId(id), listener);
  }

  // --- agent tokens ---

  async issueToken(app: string, agentId: string, body: unknown): Promise<AgentTokenGrant> {
    const agent = parsePathId(agentId, 'agent_not_found');
    return this.store.issueAgentToken(app, agent, parseTokenRequest(body).ttl);
  }

  /** The agent a token stands for, or auth_invalid / token_expired. */
  async authenticateToken(token: string): Promise<{ app: string; agent: string }> {
    const { app, agent } = await this.tokenIdentity(token);
    return { app, agent };
  }

  /** authenticateToken, with the token's expiry (epoch ms): a WebSocket closes at that instant. */
  async tokenIdentity(token: string): Promise<{ app: string; agent: string; expiresAtMs: number }> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 200) throw new HoldlineError('auth_invalid');
    const check = await this.store.verifyAgentToken(token);
    if (!check.valid) throw new HoldlineError(check.reason === 'expired' ? 'token_expired' : 'auth_invalid');
    return { app: check.app, agent: check.agent_uuid, expiresAtMs: Date.parse(check.expires_at) };
  }

  /**
   * Revokes one token of this agent (404 when the agent is not there). Only a live token of this
   * very agent: a token of another agent named under this one is left alone (the store itself
   * checks only the application). Announced whether or not this call revoked it: a retry after a
   * failed announcement (503) finds the token already revoked, and must still close the
   * connections that use it.
   */
  /** Revokes a token of the application, whoever's it is; true when it was live. */
  async revokeToken(app: string, token: string): Promise<boolean> {
    return this.store.revokeAgentToken(app, token);
  }

  async revokeAgentToken(app: string, agentId: string, body: unknown): Promise<void> {
    const uuid = parsePathId(agentId, 'agent_not_found');
    const token = parseTokenRevoke(body);
    const agent = await this.getAgent(app, uuid);
    const check = await this.store.verifyAgentToken(token);
    if (check.valid && check.app === app && check.agent_uuid === agent.uuid) await this.store.revokeAgentToken(app, token);
    await this.announce(app, agent.uuid);
  }

  private async existingQueue(app: string, id: string): Promise<string> {
    const q = queueId(id);
    if ((await this.store.getCallQueue(app, q)) === null) throw new HoldlineError('call_queue_not_found');
    return q;
  }
}

function queueId(id: string): string {
  return parsePathId(id, 'call_queue_not_found');
}

function found<T>(value: T | null, code: 'agent_not_found' | 'tag_not_found' | 'call_queue_not_found' | 'member_not_found' | 'caller_not_found'): T {
  if (value === null) throw new HoldlineError(code);
  return value;
}

/** What an estimate needs besides the line, the instant and the members on their way to a call (CallService.estimateBasis). */
interface EstimateBasis {
  /** Average handle time, seconds. */
  handle: number;
  /** θ, the rate at which a waiting caller gives up, per second; undefined: none. */
  giveUp: number | undefined;
  ctx: EstimateContext;
  members: EstimateLineRead['members'];
}

function memberTimes(m: Pick<Member, 'uuid' | 'status' | 'paused' | 'status_at'>): EstimateLineRead['members'][number] {
  return { uuid: m.uuid, status: m.status, paused: m.paused, statusAtMs: Date.parse(m.status_at) };
}

/** A snapshot's line, members and ringing callers' members, as the estimate reads them (CallStore.readEstimateLine). */
function snapshotLine(snap: CallQueueSnapshot): EstimateLineRead {
  return {
    nowMs: Date.parse(snap.stats.at),
    waiting: snap.callers.flatMap((c) => (c.status === 'waiting' ? [{ uuid: c.uuid, createdMs: Date.parse(c.created_at) }] : [])),
    members: snap.members.map(memberTimes),
    ringing: snap.callers.flatMap((c) => (c.status === 'ringing' && c.member_uuid !== null ? [c.member_uuid] : [])),
  };
}

/** A join's estimate inputs: the basis from the wallboard read and routing's, and the read's instant (ms). */
interface JoinInputs {
  nowMs: number;
  basis: EstimateBasis;
}

/**
 * Per basis (CallService.joinWindow): whether no waiting caller in routing's read requires a tag,
 * the latest of their join times, whether join times matter and whether the estimates move with
 * time (estimate.ts; asked once per basis, not per join), and, when they do not move, a plain line's
 * estimates and the windows cut from it, by the hint they are cut around.
 */
const joinWindows = new WeakMap<
  EstimateBasis,
  { plain: boolean; joinedBy: number; timesMatter: boolean; moves: boolean; line: (number | null)[] | null; windows: Map<number, JoinWindow> }
>();

/** A window of estimates from place `lo`; null when one is not a finite number (withJoinEstimate would store JSON's null, not an absent estimate). */
function windowOf(lo: number, estimates: (number | null)[]): JoinWindow | null {
  return estimates.every((e) => e === null || Number.isFinite(e)) ? { lo, estimates } : null;
}

/**
 * An estimate's members, by basis and offered set: a join reuses its queue's basis for up to
 * JOIN_INPUTS_MS (joinInputs), so a burst of joins maps the members once, not once per join (the
 * estimate only reads them).
 */
const inputMembers = new WeakMap<EstimateBasis, { offered: ReadonlySet<string>; members: readonly EstimateMember[] }>();

function estimateInput(basis: EstimateBasis, offered: ReadonlySet<string>, nowMs: number): EstimateInput {
  const { handle, ctx } = basis;
  let memo = inputMembers.get(basis);
  if (memo === undefined || memo.offered !== offered) {
    const members = basis.members.map((m) => {
      const member: EstimateMember = {
        status: m.status, paused: m.paused, statusAtMs: m.statusAtMs, offered: offered.has(m.uuid),
        tags: ctx.agentTags.get(m.uuid) ?? [], penalty: ctx.penalties.get(m.uuid) ?? 0,
      };
      // Available here, named by no offer here, yet engaged: another queue's offer, call or
      // wrap-up holds its agent.
      if (m.status === 'available' && !member.offered && ctx.engaged.has(m.uuid)) member.engagedElsewhere = true;
      return member;
    });
    memo = { offered, members };
    inputMembers.set(basis, memo);
  }
  return {
    nowMs, handleSeconds: handle, wrapupSeconds: ctx.wrapupSeconds, requiredTags: ctx.requiredTags, relaxAfterSeconds: ctx.relaxAfterSeconds,
    ...(basis.giveUp === undefined ? {} : { giveUpRate: basis.giveUp }),
    members: memo.members,
  };
}
