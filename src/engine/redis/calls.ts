/**
 * The Redis call store. Every change of a call queue is one Lua script in the queue's slot
 * (lua/call-*.lua) that checks the rules, updates the line, bumps the seq, appends to the change
 * log and publishes, so positions are exact under concurrent changes from several nodes.
 *
 * Agents and tags live in the application's slot. Three operations span both slots and so are a
 * short sequence of scripts, each atomic, ordered so that any interleaving converges (protocol/
 * calls.md "Consistency"): adding a member (link the agent, add, re-check the agent), deleting an
 * agent (delete it, then remove each membership), deleting a queue (delete it, then unlink agents).
 *
 * Replication (issue 6): Redis replicates asynchronously, so a write acknowledged by a primary that
 * crashes a moment later may never reach the replica promoted in its place. Every write script (and
 * the queue listing) is therefore followed, when its primary has a replica, by `WAIT 1` on the same
 * connection, and answered only once a replica has it (else `not_confirmed`), as message queues at
 * `strong` are (replicas.ts). Without it a failover could lose an acknowledged caller, or a whole
 * new queue, and the queue's seq would step back under its followers (protocol/calls.md section 4).
 */
import { randomUUID } from 'node:crypto';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { HoldlineError, isHoldlineError } from '../../errors.js';
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
  type JoinWindow,
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
import type { Unsubscribe } from '../feed.js';
import {
  agentFromRaw,
  callerFromRaw,
  estimateLineFromRaw,
  parseCaller,
  parseChange,
  parseMember,
  parseQueue,
  parseRawCaller,
  parseStats,
  type RawAgent,
} from './calls-codec.js';
import { defineCallScripts, queueCallScript, runCallScript, toCallError, type CallReplies, type CallScript } from './calls-scripts.js';
import { baseOptions, createCommandClient, guarded, isRedirection, parseRedisUrl } from './connection.js';
import { RedisKeys } from './keys.js';
import { parseBucketFields, type WallboardRead } from '../wallboard.js';
import { RedisEventLog } from './events.js';
import { RedisRouting } from './calls-routing.js';
import { ReplicaMonitor } from './replicas.js';
import { disableEventRecording, recordingOf, type RedisClient } from './scripts.js';
import { clientTopology, clusterTopology, FeedSubscriber, singleServerTopology, type FeedCodec } from './subscriber.js';

export interface RedisCallStoreOptions {
  /** Key prefix shared with the rest of the deployment (config.redisPrefix). */
  prefix: string;
  /** The store opens (and closes) its own connections to this URL... */
  url?: string;
  /** ...or uses this connected command client (not closed by close()); subscriptions use a duplicate. */
  client?: Redis;
  /**
   * The node's live subscriber to follow queues on (RedisEngine.feeds), shared with the message
   * partitions so the node keeps one sharded subscription per primary for every kind of feed; not
   * closed by close(). Absent: the store opens its own (connections named holdline-calls-sub).
   */
  feeds?: FeedSubscriber;
  /** Changes kept per queue for changesSince (default 1000). */
  changeRetention?: number;
  /**
   * The event log to relay recorded events through (RedisEngine.events), not stopped by close().
   * Absent: a relay of the store's own on its connection (its sweep runs while the store is open).
   */
  events?: RedisEventLog;
  /** false: the store's scripts record no event (config.ts `events`; scripts.ts disableEventRecording). Default true. */
  recordEvents?: boolean;
  commandTimeoutMs?: number;
  /** How long a write waits for a replica to confirm it, ms (default 1000; see the header). */
  waitTimeoutMs?: number;
  /** How often each primary's replica count is re-read, ms (default 5000). */
  replicaRefreshMs?: number;
  /**
   * Test seam: awaited between the steps of addMember, so tests can run another node's deletion
   * at exactly that point (test/integration/calls-redis.test.ts). Never set in production.
   */
  interleave?: { afterAgentLink?: () => Promise<void>; afterMemberAdd?: () => Promise<void> };
}

/** Join windows as the join script reads them (encodeJoinWindow), per window: a burst of joins shares one. */
const encodedWindows = new WeakMap<JoinWindow, string>();

/**
 * A join's window as lua/includes/call-join-window.lua reads it: `lo w ` then one entry per place,
 * each padded with spaces to w characters (the script reads place p's at a fixed offset), `null`
 * for no estimate. String(x) of a value in tenths is text that Lua's tonumber reads back as the
 * very double and cjson writes back as the same text (14 significant digits are plenty).
 */
export function encodeJoinWindow(window: JoinWindow): string {
  let out = encodedWindows.get(window);
  if (out === undefined) {
    const texts = window.estimates.map((e) => (e === null ? 'null' : String(e)));
    const w = Math.max(1, ...texts.map((t) => t.length));
    out = `${window.lo} ${w} ${texts.map((t) => t.padEnd(w)).join('')}`;
    encodedWindows.set(window, out);
  }
  return out;
}

function agentFromRow(row: string[]): Agent {
  const [json, ...tags] = row;
  return agentFromRaw(JSON.parse(json!) as RawAgent, tags);
}

/** Agents in creation order (their creation number), as the memory store lists them. */
function agentsInOrder(rows: string[][]): Agent[] {
  return rows
    .map((row) => ({ n: (JSON.parse(row[0]!) as RawAgent).n, agent: agentFromRow(row) }))
    .sort((a, b) => a.n - b.n)
    .map((x) => x.agent);
}

function byCreated<T extends { created_at: string; uuid: string }>(a: T, b: T): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

function mutation<T>(reply: [string] | [string, string], parse: (json: string) => T): Mutation<T> {
  return { value: parse(reply[0]), change: reply[1] === undefined ? null : parseChange(reply[1]) };
}

/** Scripts that only read: they need no replica's confirmation. */
const READ_SCRIPTS: ReadonlySet<CallScript> = new Set<CallScript>([
  'hlCallCallerGet',
  'hlCallSnapshot',
  'hlCallStats',
  'hlCallChanges',
  'hlCallAgentRead',
  'hlCallTagRead',
]);

/** Runs a follow-up step whose target may legitimately be gone already. */
async function ignoring(codes: string[], step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (err) {
    if (!(isHoldlineError(err) && codes.includes(err.code))) throw err;
  }
}

/** A call queue's feed: its channel carries one change (JSON) per message, published by the call scripts. */
const CALL_QUEUE_FEED: FeedCodec<'change', CallQueueChange> = { type: 'change', decode: (payload) => [parseChange(payload.toString('utf8'))] };

/** A join's change and caller (the caller as the change has it, with its position: the script encodes it once). */
function joined(json: string, idle: number): Mutation<Caller> {
  const change = parseChange(json) as Extract<CallQueueChange, { kind: 'caller_joined' }>;
  return { value: { ...change.caller }, change, routingIdle: idle === 1 };
}

export class RedisCallStore implements CallStore {
  private readonly keys: RedisKeys;
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly retention: number;
  private readonly subscriber: FeedSubscriber;
  private readonly ownsSubscriber: boolean;
  private readonly interleave: NonNullable<RedisCallStoreOptions['interleave']>;
  private readonly replicas: ReplicaMonitor;
  private readonly cluster: boolean;
  private readonly waitTimeoutMs: number;
  /** Every write script records its event in its slot's outbox; this relays it (events.ts). */
  readonly events: RedisEventLog;
  /** Routing (protocol/routing.md) over this store's queues and agents. */
  readonly routing: RedisRouting;
  private readonly ownsEvents: boolean;
  /** The write scripts that record events write them straight into the log (single Redis). */
  readonly direct: boolean;

  /** Use open(): with a URL, the connections must be established before the first command. */
  private constructor(opts: RedisCallStoreOptions) {
    this.keys = new RedisKeys(opts.prefix);
    this.retention = opts.changeRetention ?? 1000;
    this.interleave = opts.interleave ?? {};
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 1000;
    const tuning = { commandTimeoutMs: opts.commandTimeoutMs ?? 5000 };
    const subOptions = baseOptions(tuning, 'holdline-calls-sub');
    if (opts.client) {
      this.client = opts.client;
      this.ownsClient = false;
      this.subscriber = opts.feeds ?? new FeedSubscriber(clientTopology(opts.client, subOptions));
      this.cluster = false;
    } else if (opts.url) {
      const target = parseRedisUrl(opts.url);
      const client = createCommandClient(target, tuning, 'holdline-calls');
      // Connection trouble is reported by the commands that fail (engine_unavailable), not as an
      // unhandled 'error' event.
      client.on('error', () => undefined);
      this.client = client;
      this.ownsClient = true;
      if (opts.feeds !== undefined) this.subscriber = opts.feeds;
      else {
        this.subscriber = new FeedSubscriber(target.cluster ? clusterTopology(client as Cluster, subOptions) : singleServerTopology(target.url, subOptions));
        // A failover or slot move seen by the command client: channels follow their slot's new owner.
        if (target.cluster) client.on('refresh', () => this.subscriber.reconcile());
      }
      this.cluster = target.cluster;
    } else {
      throw new Error('RedisCallStore needs a url or a client');
    }
    this.ownsSubscriber = opts.feeds === undefined;
    if (opts.recordEvents === false) disableEventRecording(this.client);
    // On one Redis the change scripts write their events into the log themselves (scripts.ts
    // RecordingMode 'direct'): no outbox, no relay. A cluster keeps the log in its own slot: there
    // each change records into its slot's outbox and the relay copies it (events.ts).
    this.direct = opts.recordEvents !== false && !this.client.isCluster;
    defineCallScripts(this.client, this.direct);
    this.ownsEvents = opts.events === undefined;
    this.events =
      opts.events ??
      new RedisEventLog(this.client, this.keys, this.subscriber, { replicasFor: (key) => this.replicas.replicasFor(key), recording: opts.recordEvents !== false });
    this.replicas = new ReplicaMonitor(this.client, this.cluster, opts.replicaRefreshMs ?? 5000, undefined);
    this.routing = new RedisRouting({
      client: this.client, keys: this.keys, retention: this.retention, events: this.events, subscriber: this.subscriber, direct: this.direct,
      confirmed: (key, direct, queue) => this.confirmed(key, direct, queue),
    });
  }

  static async open(opts: RedisCallStoreOptions): Promise<RedisCallStore> {
    const store = new RedisCallStore(opts);
    if (store.ownsClient) await guarded(() => store.client.connect());
    // Counts replicas now (a failure counts none for now: writes are then not waited for).
    await store.replicas.start();
    if (store.ownsEvents) store.events.start();
    return store;
  }

  async close(): Promise<void> {
    this.replicas.stop();
    if (this.ownsEvents) await this.events.stop();
    if (this.ownsSubscriber) await this.subscriber.close();
    if (this.ownsClient) this.client.disconnect();
  }

  async deleteApplication(app: string): Promise<void> {
    for (const q of await this.listCallQueues(app)) {
      await ignoring(['call_queue_not_found'], () => this.deleteCallQueue(app, q.uuid));
    }
    for (const a of await this.listAgents(app)) await ignoring(['agent_not_found'], () => this.deleteAgent(app, a.uuid));
    for (const t of await this.listTags(app)) await this.deleteTag(app, String(t.id));
    const k = this.keys.callApp(app);
    await guarded(() => this.client.del(...k.scripts, k.queues, k.queueSeq));
  }

  /**
   * A write script records its events (if it records any) straight into the log on one Redis, or
   * into its slot's outbox, the ninth of its keys, registered before (so a sweep finds it should this
   * node die) and relayed after (events.ts recorded).
   */
  private async run<N extends CallScript>(name: N, app: string, keys: readonly string[], args: readonly (string | number)[]): Promise<CallReplies[N]> {
    if (READ_SCRIPTS.has(name)) return runCallScript(this.client, name, keys, args);
    // The ninth key of a queue's scripts and of an application's (keys.ts); routing's keys follow it.
    return this.events.recorded(app, keys[8]!, recordingOf(this.client, name), keys, args, async (k, a) =>
      (await this.confirmed(k[0]!, () => runCallScript(this.client, name, k, a), (pipeline) => queueCallScript(pipeline, name, k, a))) as CallReplies[N],
    );
  }

  /**
   * A write, answered once one replica has it when the primary owning `key` has any (see the
   * header): the write and `WAIT 1` go in one pipeline, so both reach that primary on one connection
   * and WAIT covers the write. ioredis does not follow a redirection inside such a pipeline (its two
   * commands get different answers); a redirected write did not run, so it is sent once more after
   * the slots are re-read. Without a replica, the write runs alone.
   */
  private async confirmed(key: string, direct: () => Promise<unknown>, queue: (pipeline: ChainableCommander) => void): Promise<unknown> {
    if (this.replicas.replicasFor(key) === 0) return direct();
    for (let attempt = 0; ; attempt++) {
      const pipeline = this.client.pipeline();
      queue(pipeline);
      pipeline.wait(1, this.waitTimeoutMs);
      let results: [Error | null, unknown][];
      try {
        results = (await pipeline.exec()) ?? [];
      } catch (err) {
        throw toCallError(err);
      }
      const [err, value] = results[0] ?? [new Error('call store: no reply'), null];
      if (err !== null) {
        if (attempt === 0 && this.cluster && isRedirection(err)) {
          const cluster = this.client as Cluster;
          await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
          continue;
        }
        throw toCallError(err);
      }
      const wait = results[1];
      const acked = wait !== undefined && wait[0] === null ? Number(wait[1]) : 0;
      // Done, and maybe already seen by followers, but not known to survive a failover.
      if (acked < 1) throw new HoldlineError('not_confirmed');
      return value;
    }
  }

  private appRun<N extends CallScript>(name: N, app: string, args: readonly (string | number)[]): Promise<CallReplies[N]> {
    return this.run(name, app, this.keys.callApp(app).scripts, args);
  }

  /**
   * Forgets that agents are members of a call queue (call-agent-link.lua unlink): a clean-up after
   * the membership or the queue is gone, sent without waiting for a replica, as it always was.
   */
  private async unlink(app: string, queueId: string, agents: readonly string[]): Promise<void> {
    if (agents.length === 0) return;
    await runCallScript(this.client, 'hlCallAgentLink', this.keys.callApp(app).scripts, ['unlink', queueId, ...agents]);
  }

  private queueRun<N extends CallScript>(name: N, app: string, queueId: string, args: readonly (string | number)[]): Promise<CallReplies[N]> {
    return this.run(name, app, this.keys.callQueue(app, queueId), args);
  }

  /** A caller script that also reads routing's idleness after its change: the queue's keys and its routing keys (KEYS[10..12]). */
  private routedRun<N extends CallScript>(name: N, app: string, queueId: string, args: readonly (string | number)[]): Promise<CallReplies[N]> {
    return this.run(name, app, [...this.keys.callQueue(app, queueId), ...this.keys.routingQueue(app, queueId)], args);
  }

  // --- agents ---

  async createAgent(app: string, input: NewAgent): Promise<Agent> {
    const json = await this.appRun('hlCallAgentCreate', app, [JSON.stringify({ uuid: randomUUID(), ...input })]);
    return agentFromRow([json]);
  }

  async getAgent(app: string, uuid: string): Promise<Agent | null> {
    const rows = await this.appRun('hlCallAgentRead', app, ['one', uuid]);
    return rows[0] ? agentFromRow(rows[0]) : null;
  }

  async listAgents(app: string): Promise<Agent[]> {
    return agentsInOrder(await this.appRun('hlCallAgentRead', app, ['all', '']));
  }

  async updateAgent(app: string, uuid: string, patch: AgentPatch): Promise<Agent> {
    return agentFromRow(await this.appRun('hlCallAgentUpdate', app, [uuid, JSON.stringify(patch)]));
  }

  async deleteAgent(app: string, uuid: string): Promise<void> {
    const queues = await this.appRun('hlCallAgentDelete', app, [uuid]);
    for (const queueId of queues) {
      await ignoring(['call_queue_not_found', 'member_not_found'], () =>
        this.routedRun('hlCallMemberRemove', app, queueId, [this.retention, uuid]),
      );
    }
  }

  // --- tags ---

  async createTag(app: string, name: string): Promise<{ tag: Tag; created: boolean }> {
    const [id, created] = await this.appRun('hlCallTagCreate', app, [name]);
    return { tag: { id: Number(id), tag: name }, created: Number(created) === 1 };
  }

  async getTag(app: string, ref: string): Promise<TagDetail | null> {
    const rows = await this.appRun('hlCallTagRead', app, [ref]);
    return rows[0] ? tagFromRow(rows[0]) : null;
  }

  async listTags(app: string): Promise<TagDetail[]> {
    const rows = await this.appRun('hlCallTagRead', app, ['']);
    return rows.map(tagFromRow).sort((a, b) => a.id - b.id);
  }

  async putTag(app: string, ref: string, input: TagPut): Promise<{ tag: TagDetail; created: boolean }> {
    const [id, name, created, ...agents] = await this.appRun('hlCallTagPut', app, [
      ref,
      input.tag ?? '',
      input.agents ? JSON.stringify(input.agents) : '',
    ]);
    return { tag: tagFromRow([id, name, ...agents]), created: Number(created) === 1 };
  }

  async deleteTag(app: string, ref: string): Promise<boolean> {
    return Number(await this.appRun('hlCallTagDelete', app, [ref])) === 1;
  }

  async tagAgent(app: string, ref: string, agentUuid: string): Promise<{ tag: Tag; created: boolean }> {
    const [id, name, changed] = await this.appRun('hlCallTagRelate', app, [ref, agentUuid, 'add']);
    return { tag: { id: Number(id), tag: name }, created: Number(changed) === 1 };
  }

  async untagAgent(app: string, ref: string, agentUuid: string): Promise<boolean> {
    const [, , changed] = await this.appRun('hlCallTagRelate', app, [ref, agentUuid, 'remove']);
    return Number(changed) === 1;
  }

  async agentsByTag(app: string, ref: string): Promise<Agent[]> {
    return agentsInOrder(await this.appRun('hlCallAgentRead', app, ['tag', ref]));
  }

  // --- call queues ---

  async createCallQueue(app: string, input: NewCallQueue): Promise<CallQueue> {
    const uuid = randomUUID();
    const json = await this.queueRun('hlCallQueueCreate', app, uuid, [JSON.stringify({ uuid, ...input })]);
    const k = this.keys.callApp(app);
    const n = await guarded(() => this.client.incr(k.queueSeq));
    // Confirmed too (a replica that has the ZADD has the INCR before it): a queue lost from the
    // listing would exist unlisted.
    await this.confirmed(
      k.queues,
      () => guarded(() => this.client.zadd(k.queues, n, uuid)),
      (pipeline) => void pipeline.zadd(k.queues, n, uuid),
    );
    return parseQueue(json);
  }

  async getCallQueue(app: string, queueId: string): Promise<CallQueue | null> {
    const json = await guarded(() => this.client.hget(this.keys.callQueue(app, queueId)[0], 'q'));
    return json === null ? null : parseQueue(json);
  }

  async listCallQueues(app: string): Promise<CallQueue[]> {
    const ids = await guarded(() => this.client.zrange(this.keys.callApp(app).queues, 0, -1));
    // One read per queue: each lives in its own slot. A uuid whose queue is gone (a deletion that
    // has not unlisted it yet) is skipped.
    const found = await Promise.all(ids.map((id) => this.getCallQueue(app, id)));
    return found.filter((q): q is CallQueue => q !== null);
  }

  async updateCallQueue(app: string, queueId: string, patch: CallQueuePatch): Promise<Mutation<CallQueue>> {
    return this.routedMutation(await this.routedRun('hlCallQueueUpdate', app, queueId, [this.retention, JSON.stringify(patch)]), parseQueue);
  }

  async deleteCallQueue(app: string, queueId: string): Promise<CallQueueChange> {
    const keys = [...this.keys.callQueue(app, queueId), ...this.keys.routingQueue(app, queueId)];
    const [change, ...agents] = await this.run('hlCallQueueDelete', app, keys, []);
    await guarded(() => this.client.zrem(this.keys.callApp(app).queues, queueId));
    await this.unlink(app, queueId, agents);
    return parseChange(change);
  }

  // --- members ---

  async addMember(app: string, queueId: string, input: NewMember): Promise<Mutation<Member>> {
    // The queue is checked first, as the memory store does (the add re-checks it atomically).
    if ((await this.getCallQueue(app, queueId)) === null) throw new HoldlineError('call_queue_not_found');
    const linked = Number(await this.appRun('hlCallAgentLink', app, ['link', queueId, input.agent_uuid])) === 1;
    await this.interleave.afterAgentLink?.();
    const { agent_uuid, ...rest } = input;
    let reply: CallReplies['hlCallMemberAdd'];
    try {
      reply = await this.routedRun('hlCallMemberAdd', app, queueId, [this.retention, JSON.stringify({ uuid: agent_uuid, ...rest })]);
    } catch (err) {
      if (linked && isHoldlineError(err) && err.code === 'call_queue_not_found') {
        await this.unlink(app, queueId, [agent_uuid]);
      }
      throw err;
    }
    await this.interleave.afterMemberAdd?.();
    // The agent may have been deleted between the link and the add; its deletion removed only the
    // memberships that existed then, so this one is undone here.
    const stillThere = await guarded(() => this.client.hexists(this.keys.callApp(app).scripts[0], agent_uuid));
    if (stillThere === 0) {
      await ignoring(['call_queue_not_found', 'member_not_found'], () => this.removeMember(app, queueId, agent_uuid));
      throw new HoldlineError('agent_not_found', { field: 'agent_id' });
    }
    return this.routedMutation(reply, parseMember);
  }

  async getMember(app: string, queueId: string, agentUuid: string): Promise<Member | null> {
    const json = await guarded(() => this.client.hget(this.keys.callQueue(app, queueId)[5], agentUuid));
    return json === null ? null : parseMember(json);
  }

  async listMembers(app: string, queueId: string): Promise<Member[]> {
    return (await this.snapshot(app, queueId)).members;
  }

  async updateMember(app: string, queueId: string, agentUuid: string, patch: MemberPatch): Promise<Mutation<Member>> {
    return this.routedMutation(
      await this.routedRun('hlCallMemberUpdate', app, queueId, [this.retention, agentUuid, JSON.stringify(patch)]),
      parseMember,
    );
  }

  async removeMember(app: string, queueId: string, agentUuid: string): Promise<Changed> {
    const [json, idle] = await this.routedRun('hlCallMemberRemove', app, queueId, [this.retention, agentUuid]);
    await this.unlink(app, queueId, [agentUuid]);
    return { change: parseChange(json), routingIdle: idle === 1 };
  }

  // --- callers ---

  async joinCaller(app: string, queueId: string, input: NewCaller): Promise<Mutation<Caller>> {
    const [json, idle] = await this.join(app, queueId, input, '');
    // Only a window (joinCallerInWindow) can leave the caller out: without one the script always joins.
    if (json === null) throw new Error('call-caller-join answered "outside the window" to a join without one');
    return joined(json, idle);
  }

  /** The script counts the callers ahead before its first write and picks the window's estimate there (lua/call-caller-join-12.lua). */
  async joinCallerInWindow(app: string, queueId: string, input: NewCaller, window: JoinWindow): Promise<Mutation<Caller> | null> {
    // The estimate is the window's: none of the node's rides along.
    const { estimated_wait: _, ...rest } = input;
    const [json, idle] = await this.join(app, queueId, rest, encodeJoinWindow(window));
    return json === null ? null : joined(json, idle);
  }

  private join(app: string, queueId: string, input: NewCaller, window: string): Promise<CallReplies['hlCallCallerJoin']> {
    const caller = { uuid: randomUUID(), queue_id: queueId, ...input };
    return this.routedRun('hlCallCallerJoin', app, queueId, [this.retention, JSON.stringify(caller), window]);
  }

  async getCaller(app: string, queueId: string, callerUuid: string): Promise<Caller | null> {
    const json = await this.queueRun('hlCallCallerGet', app, queueId, [callerUuid]);
    return json === null ? null : parseCaller(json);
  }

  async updateCaller(app: string, queueId: string, callerUuid: string, patch: CallerPatch): Promise<Mutation<Caller>> {
    return this.routedMutation(
      await this.routedRun('hlCallCallerUpdate', app, queueId, [this.retention, callerUuid, JSON.stringify(patch)]),
      parseCaller,
    );
  }

  async leaveCaller(app: string, queueId: string, callerUuid: string, reason: LeaveReason): Promise<Changed> {
    const [json, idle] = await this.routedRun('hlCallCallerLeave', app, queueId, [this.retention, callerUuid, reason]);
    return { change: parseChange(json), routingIdle: idle === 1 };
  }

  /** A routed script's reply as a Mutation with routing's idleness after it (call-types.ts RoutingIdleAfter). */
  private routedMutation<T>(reply: [string] | [string, string, number], parse: (json: string) => T): Mutation<T> {
    if (reply.length === 1) return mutation(reply, parse);
    return { value: parse(reply[0]), change: parseChange(reply[1]), routingIdle: reply[2] === 1 };
  }

  async requestCallback(app: string, queueId: string, callerUuid: string, number: string | null): Promise<Mutation<Caller>> {
    return mutation(await this.queueRun('hlCallCallerCallback', app, queueId, [this.retention, callerUuid, number ?? '']), parseCaller);
  }

  /**
   * One ZCOUNT of the line (CallQueueKeys[3]). A score is -priority * 2^32 + join_seq
   * (lua/includes/call-line-score.lua), so priority >= p is exactly score < -(p - 1) * 2^32.
   */
  async waitingAtOrAbove(app: string, queueId: string, priority: number): Promise<number> {
    const line = this.keys.callQueue(app, queueId)[3];
    return guarded(() => this.client.zcount(line, '-inf', `(${-(priority - 1) * 2 ** 32}`));
  }

  // --- reads for subscribers ---

  async snapshot(app: string, queueId: string): Promise<CallQueueSnapshot> {
    const [queue, seq, line, callers, members, stats] = await this.queueRun('hlCallSnapshot', app, queueId, []);
    const raw = new Map(callers.map((json) => {
      const c = parseRawCaller(json);
      return [c.uuid, c] as const;
    }));
    const waiting = line.map((uuid, position) => callerFromRaw({ ...raw.get(uuid)!, position }));
    const others = [...raw.values()]
      .filter((c) => c.status !== 'waiting')
      .sort((a, b) => a.join_seq - b.join_seq)
      .map((c) => callerFromRaw({ ...c, position: null }));
    return {
      queue: parseQueue(queue),
      seq: Number(seq),
      callers: [...waiting, ...others],
      members: members.map(parseMember).sort(byCreated),
      stats: parseStats(stats),
    };
  }

  /** The snapshot's script, decoded for the estimate alone (no caller's record built). */
  async readEstimateLine(app: string, queueId: string): Promise<EstimateLineRead> {
    const [, , line, callers, members, stats] = await this.queueRun('hlCallSnapshot', app, queueId, []);
    return estimateLineFromRaw(line, callers, members, stats);
  }

  async readWallboard(app: string, queueId: string): Promise<WallboardRead | null> {
    try {
      const [stats, members, buckets] = await this.queueRun('hlCallWallboard', app, queueId, []);
      const read = parseStats(stats);
      return { stats: read, members: members.map(parseMember), buckets: parseBucketFields(buckets), nowMs: Date.parse(read.at) };
    } catch (err) {
      if (isHoldlineError(err) && err.code === 'call_queue_not_found') return null;
      throw err;
    }
  }

  async getStats(app: string, queueId: string): Promise<CallQueueStats | null> {
    try {
      return parseStats(await this.queueRun('hlCallStats', app, queueId, []));
    } catch (err) {
      if (isHoldlineError(err) && err.code === 'call_queue_not_found') return null;
      throw err;
    }
  }

  async changesSince(app: string, queueId: string, seq: number): Promise<CallQueueChange[] | null> {
    const changes = await this.queueRun('hlCallChanges', app, queueId, [seq]);
    return changes === null ? null : changes.map(parseChange);
  }

  subscribeQueue(app: string, queueId: string, listener: CallQueueListener): Promise<Unsubscribe> {
    return this.subscriber.subscribe(this.keys.callQueue(app, queueId)[7], CALL_QUEUE_FEED, listener);
  }

  // --- agent tokens ---

  async issueAgentToken(app: string, agentUuid: string, ttlSeconds: number): Promise<AgentTokenGrant> {
    const exists = await guarded(() => this.client.hexists(this.keys.callApp(app).scripts[0], agentUuid));
    if (exists === 0) throw new HoldlineError('agent_not_found');
    const token = newToken();
    const expMs = Date.now() + ttlSeconds * 1000;
    const record = JSON.stringify({ app, agent: agentUuid, exp_ms: expMs });
    await guarded(() => this.client.set(this.keys.agentToken(hashToken(token)), record, 'PX', ttlSeconds * 1000 + TOKEN_GRACE_MS));
    return { token, agent_uuid: agentUuid, expires_at: new Date(expMs).toISOString() };
  }

  async verifyAgentToken(token: string): Promise<AgentTokenCheck> {
    const json = await guarded(() => this.client.get(this.keys.agentToken(hashToken(token))));
    if (json === null) return { valid: false, reason: 'unknown' };
    const t = JSON.parse(json) as { app: string; agent: string; exp_ms: number };
    const exists = await guarded(() => this.client.hexists(this.keys.callApp(t.app).scripts[0], t.agent));
    if (exists === 0) return { valid: false, reason: 'unknown' };
    if (t.exp_ms <= Date.now()) return { valid: false, reason: 'expired' };
    return { valid: true, app: t.app, agent_uuid: t.agent, expires_at: new Date(t.exp_ms).toISOString() };
  }

  async revokeAgentToken(app: string, token: string): Promise<boolean> {
    const key = this.keys.agentToken(hashToken(token));
    const json = await guarded(() => this.client.get(key));
    if (json === null || (JSON.parse(json) as { app: string }).app !== app) return false;
    return (await guarded(() => this.client.del(key))) === 1;
  }
}

function tagFromRow(row: [number, string, ...string[]] | (string | number)[]): TagDetail {
  const [id, name, ...agents] = row;
  return { id: Number(id), tag: String(name), agents: agents.map(String).sort() };
}
