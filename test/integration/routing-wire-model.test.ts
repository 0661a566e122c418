/**
 * Routing over the wire on two Holdline nodes sharing one redis-server (issue 15: "positions and
 * offers consistent between REST, WebSocket and the model"). routing-model.test.ts drives the
 * domain and reads the store; this one goes through what a contact centre sees: real servers, real
 * sockets. Four agents each run the SDK's AgentSession on one node or the other; each node has an
 * application's CallQueueView of the queue. fast-check draws joins and leaves (REST, either node),
 * answers (the agent over its WebSocket, or a PBX over REST on either node), pauses and
 * availability (the agent's token, REST). After every step the test waits for quiescence (two
 * samples in a row, several sweeps apart, equal) and then asserts:
 *   (a) offers: the offers each agent's WebSocket holds open (`offer` frames minus `offer.revoked`
 *       and its own answers) are the REST open offers naming it (`GET /v1/queues/{id}/offers` and
 *       `GET /v1/agents/{id}/offer`, both nodes); no agent holds two, no caller is in two (ring_all
 *       lists every agent in one offer); every offer's caller is one the model has waiting or
 *       ringing, and names only agents the model has available, unpaused and not on a call;
 *   (b) positions: both nodes' views' lines equal REST's waiting callers in position order (both
 *       nodes) and the model's line: the callers present, in join order, less those offered or
 *       connected.
 * Strict invariants (no double offer in REST) are checked on every sample, not only the stable one.
 * A `timeout` step waits until every offer open at its start has been revoked on the desks: it found
 * offers that never timed out (a sweep settling a queue with no deadline while another node's
 * decision committed an offer: Router.changed now marks the deadline it knows), and then, with
 * ring_all (one offer, so one deadline), two sweeps of the queue on both nodes at once (a mark let
 * the second claim it) settling in the wrong order: the one that read the queue before the other
 * committed its offer removed the queue from the due index. A settle now counts only for the
 * latest claim (routing-due-index.test.ts drives that interleaving).
 * fast-check's seed is printed on failure; HOLDLINE_TEST_SEED=<seed> replays the same runs.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { AgentSession, HoldlineClient, HoldlineRequestError, type CallQueueView, type Offer } from '../../src/client/index.js';
import { startEventNode, type EventNode } from '../helpers/event-nodes.js';
import { freshPrefix } from '../helpers/namespace.js';

const STRATEGIES = ['longest_idle', 'round_robin', 'ring_all'] as const;
const AGENTS = 4;
/** Long enough for most offers to live until a later step answers them; `timeout` steps wait it out. */
const OFFER_TIMEOUT_S = 3;

type Op =
  | { kind: 'join'; node: number }
  | { kind: 'leave'; node: number; pick: number }
  | { kind: 'ws-answer'; pick: number; answer: 'accept' | 'reject' }
  | { kind: 'rest-answer'; node: number; pick: number; answer: 'accept' | 'reject' }
  | { kind: 'pause'; agent: number; paused: boolean }
  | { kind: 'status'; agent: number; available: boolean }
  | { kind: 'timeout' };

const node = fc.integer({ min: 0, max: 1 });
const agent = fc.integer({ min: 0, max: AGENTS - 1 });
const pick = fc.nat({ max: 20 });
const answer = fc.constantFrom('accept' as const, 'reject' as const);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('join' as const), node }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), node, pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('ws-answer' as const), pick, answer }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rest-answer' as const), node, pick, answer }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pause' as const), agent, paused: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('status' as const), agent, available: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('timeout' as const) }) },
);

interface Desk {
  uuid: string;
  node: number;
  client: HoldlineClient;
  session: AgentSession;
  /** Offers this desktop holds open: `offer` frames less `offer.revoked` and its own answers. */
  held: Map<string, Offer>;
  paused: boolean;
  available: boolean;
}

interface World {
  nodes: [EventNode, EventNode];
  key: string;
  queue: string;
  strategy: string;
  desks: Desk[];
  views: CallQueueView[];
  viewClients: HoldlineClient[];
  /** Callers present (joined, not left), in join order; `agent` once the model saw it connected. */
  callers: { uuid: string; agent: string | null }[];
}

async function rest(n: EventNode, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await n.request(path, {
    method,
    key,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

async function ok(p: Promise<{ status: number; body: any }>): Promise<any> {
  const r = await p;
  if (r.status >= 300) throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const wsUrl = (n: EventNode) => `${n.url.replace(/^http/, 'ws')}/v1/ws`;

async function setUp(strategy: string): Promise<World> {
  const prefix = freshPrefix('routing-wire');
  const adminKey = randomBytes(12).toString('hex');
  const cfg = { routingSweepMs: 50 };
  const nodes: [EventNode, EventNode] = [
    await startEventNode('redis', cfg, { prefix, adminKey }),
    await startEventNode('redis', cfg, { prefix, adminKey }),
  ];
  const [n0] = nodes;
  const { key } = await n0.createApp();
  const queue = (await ok(rest(n0, key, 'POST', '/v1/queues', { name: 'support' }))).uuid as string;
  const w: World = { nodes, key, queue, strategy, desks: [], views: [], viewClients: [], callers: [] };
  for (let i = 0; i < AGENTS; i++) {
    const uuid = (await ok(rest(n0, key, 'POST', '/v1/agents', { name: `agent ${i}` }))).uuid as string;
    await ok(rest(n0, key, 'POST', `/v1/queues/${queue}/members`, { agent_id: uuid, number: `100${i}` }));
    const token = (await ok(rest(n0, key, 'POST', `/v1/agents/${uuid}/tokens`, {}))).token as string;
    const n = nodes[i % 2]!;
    const client = new HoldlineClient({ urls: wsUrl(n), token });
    const session = new AgentSession(client, { httpUrl: n.url, token });
    const held = new Map<string, Offer>();
    session.on('offer', (o) => held.set(o.offer_id, o));
    session.on('revoked', (f) => held.delete(f.offer_id));
    await client.connect();
    w.desks.push({ uuid, node: i % 2, client, session, held, paused: false, available: true });
  }
  for (const n of nodes) {
    const client = new HoldlineClient({ urls: wsUrl(n), key });
    await client.connect();
    const view = client.callQueue(queue);
    await view.ready;
    w.viewClients.push(client);
    w.views.push(view);
  }
  // Routing on last: every offer is made while the desks are listening.
  await ok(rest(n0, key, 'PUT', `/v1/queues/${queue}/routing`, { strategy, offer_timeout_seconds: OFFER_TIMEOUT_S }));
  return w;
}

async function tearDown(w: World): Promise<void> {
  for (const d of w.desks) {
    d.session.close();
    await d.client.close();
  }
  for (const c of w.viewClients) await c.close();
  for (const n of w.nodes) await n.close();
}

/** An answer refused for a documented reason (the offer ended meanwhile) is an answer, not a failure. */
const RACING = new Set(['offer_not_found', 'offer_expired', 'offer_not_yours']);

async function step(w: World, op: Op): Promise<void> {
  const q = w.queue;
  switch (op.kind) {
    case 'join': {
      const c = await ok(rest(w.nodes[op.node]!, w.key, 'POST', `/v1/queues/${q}/callers`, { number: `6135550${w.callers.length}` }));
      w.callers.push({ uuid: c.uuid, agent: null });
      return;
    }
    case 'leave': {
      if (w.callers.length === 0) return;
      const [c] = w.callers.splice(op.pick % w.callers.length, 1);
      const r = await rest(w.nodes[op.node]!, w.key, 'DELETE', `/v1/queues/${q}/callers/${c!.uuid}?reason=answered`);
      expect(r.status).toBe(204);
      return;
    }
    case 'ws-answer': {
      // One of the desks holding an offer answers it.
      const holders = w.desks.filter((x) => x.held.size > 0);
      if (holders.length === 0) return;
      const d = holders[op.pick % holders.length]!;
      const o = [...d.held.values()][0]!;
      try {
        const done = await (op.answer === 'accept' ? d.session.accept(o) : d.session.reject(o));
        if (op.answer === 'accept') connect(w, done.caller_id, d.uuid);
      } catch (err) {
        if (!(err instanceof HoldlineRequestError) || !RACING.has(err.code)) throw err;
      }
      d.held.delete(o.offer_id);
      return;
    }
    case 'rest-answer': {
      // A PBX answers for the agent with the application's key, on either node.
      const n = w.nodes[op.node]!;
      const open = (await ok(rest(n, w.key, 'GET', `/v1/queues/${q}/offers`))) as Offer[];
      const parts = open.flatMap((o) => o.agents.map((a) => ({ o, d: w.desks.find((x) => x.uuid === a)! })));
      if (parts.length === 0) return;
      const { o, d } = parts[op.pick % parts.length]!;
      const r = await rest(n, w.key, 'POST', `/v1/queues/${q}/offers/${o.offer_id}/${op.answer}`, { agent_id: d.uuid });
      if (r.status === 200) {
        if (op.answer === 'accept') connect(w, o.caller_id, d.uuid);
        // The desk answered (through its PBX): it no longer holds the offer. No frame tells the
        // desktop so (routing.md 7: `offer.revoked` is for parts ended without this agent's
        // answer); its call-queue view and REST show it.
        d.held.delete(o.offer_id);
      } else expect(RACING.has(r.body?.error?.code), JSON.stringify(r.body)).toBe(true);
      return;
    }
    case 'pause': {
      const d = w.desks[op.agent]!;
      await (op.paused ? d.session.pause(q) : d.session.unpause(q));
      d.paused = op.paused;
      return;
    }
    case 'status': {
      const d = w.desks[op.agent]!;
      // Available/logged out is not the desk's to change while it is on a call (busy).
      if (w.callers.some((c) => c.agent === d.uuid)) return;
      await d.session.setAvailable(q, op.available);
      d.available = op.available;
      return;
    }
    case 'timeout': {
      // Wait out the open offers: every one expires unanswered and its revocation reaches the desks.
      const open = new Set(w.desks.flatMap((d) => [...d.held.keys()]));
      await vi.waitFor(
        () => {
          for (const d of w.desks) for (const id of d.held.keys()) if (open.has(id)) throw new Error(`offer ${id} still held: its timeout never fired`);
        },
        { timeout: 15_000, interval: 50 },
      );
    }
  }
}

function connect(w: World, caller: string, agent: string): void {
  const c = w.callers.find((x) => x.uuid === caller);
  if (c !== undefined) c.agent = agent;
}

interface Sample {
  /** Per desk: offer ids held over the WebSocket; REST offers naming it (queue list, agent route), per node. */
  ws: string[][];
  restQueue: string[][][];
  restAgent: (string | null)[][];
  /** REST waiting line, per node; each view's line. */
  restLine: string[][];
  viewLine: string[][];
  /** Caller statuses, REST per node and per view: "uuid status member". */
  restCallers: string[][];
  viewCallers: string[][];
  offers: Offer[];
}

async function sample(w: World): Promise<Sample> {
  const q = w.queue;
  const perNode = await Promise.all(
    w.nodes.map(async (n) => {
      const offers = (await ok(rest(n, w.key, 'GET', `/v1/queues/${q}/offers`))) as Offer[];
      const callers = (await ok(rest(n, w.key, 'GET', `/v1/queues/${q}/callers`))) as { uuid: string; status: string; member_uuid: string | null; position: number | null }[];
      const agentOffers = await Promise.all(w.desks.map(async (d) => ((await ok(rest(n, w.key, 'GET', `/v1/agents/${d.uuid}/offer`))) as Offer | null)?.offer_id ?? null));
      return { offers, callers, agentOffers };
    }),
  );
  const line = (cs: { uuid: string; status: string }[]) => cs.filter((c) => c.status === 'waiting').map((c) => c.uuid);
  const statuses = (cs: readonly { uuid: string; status: string; member_uuid: string | null }[]) =>
    cs.map((c) => `${c.uuid} ${c.status} ${c.member_uuid}`).sort();
  return {
    ws: w.desks.map((d) => [...d.held.keys()].sort()),
    restQueue: w.desks.map((d) => perNode.map((p) => p.offers.filter((o) => o.agents.includes(d.uuid)).map((o) => o.offer_id).sort())),
    restAgent: w.desks.map((_, i) => perNode.map((p) => p.agentOffers[i]!)),
    restLine: perNode.map((p) => line(p.callers)),
    viewLine: w.views.map((v) => v.waiting.map((c) => c.uuid)),
    restCallers: perNode.map((p) => statuses(p.callers)),
    viewCallers: w.views.map((v) => statuses(v.callers)),
    offers: perNode[0]!.offers,
  };
}

/** What must hold at any instant, read from one node's REST: no double offer. */
function strict(w: World, s: Sample, violations: string[]): void {
  const byAgent = new Map<string, string>();
  const byCaller = new Set<string>();
  for (const o of s.offers) {
    if (byCaller.has(o.caller_id)) violations.push(`caller ${o.caller_id} in two offers`);
    byCaller.add(o.caller_id);
    if (w.strategy !== 'ring_all' && o.agents.length > 1) violations.push(`offer ${o.offer_id} to ${o.agents.length} agents (${w.strategy})`);
    for (const a of o.agents) {
      if (byAgent.has(a)) violations.push(`agent ${a} in offers ${byAgent.get(a)} and ${o.offer_id}`);
      byAgent.set(a, o.offer_id);
    }
  }
}

/** WebSocket, REST (both nodes) and the model agree; throws (to retry) while they do not. */
function agree(w: World, s: Sample): void {
  s.ws.forEach((ws, i) => {
    expect(ws.length, `desk ${i} holds ${ws.length} offers`).toBeLessThanOrEqual(1);
    for (const r of s.restQueue[i]!) expect(r, `desk ${i}: REST queue offers vs WebSocket`).toEqual(ws);
    for (const r of s.restAgent[i]!) expect(r, `desk ${i}: REST agent offer vs WebSocket`).toBe(ws[0] ?? null);
  });
  const modelOffered = new Set(s.offers.map((o) => o.caller_id));
  const modelLine = w.callers.filter((c) => c.agent === null && !modelOffered.has(c.uuid)).map((c) => c.uuid);
  for (const l of [...s.restLine, ...s.viewLine]) expect(l, 'line (REST node 0, 1, view node 0, 1) vs the model').toEqual(modelLine);
  for (const c of [...s.restCallers.slice(1), ...s.viewCallers]) expect(c, 'callers: REST node 1, views vs REST node 0').toEqual(s.restCallers[0]);
  // Every offer is of a caller the model has present and not connected, to agents it has free.
  const present = new Map(w.callers.map((c) => [c.uuid, c]));
  for (const o of s.offers) {
    expect(present.get(o.caller_id)?.agent, `offer ${o.offer_id}'s caller`).toBeNull();
    for (const a of o.agents) {
      const d = w.desks.find((x) => x.uuid === a)!;
      expect({ paused: d.paused, available: d.available, onCall: w.callers.some((c) => c.agent === a) }, `offered agent ${a}`).toEqual({
        paused: false, available: true, onCall: false,
      });
    }
  }
  // The model's connected callers are connected to its agent in REST.
  for (const c of w.callers) if (c.agent !== null) expect(s.restCallers[0]).toContain(`${c.uuid} connected ${c.agent}`);
}

/** Waits until two samples in a row, several sweeps apart, are equal and agree; checks strict ones on each. */
async function quiesce(w: World, violations: string[]): Promise<void> {
  let last: string | null = null;
  await vi.waitFor(
    async () => {
      const s = await sample(w);
      strict(w, s, violations);
      const now = JSON.stringify(s);
      const stable = now === last;
      last = now;
      if (!stable) throw new Error('not yet stable');
      agree(w, s);
    },
    { timeout: 10_000, interval: 150 },
  );
}

describe('routing over the wire: two nodes on one redis-server, agents on WebSockets', () => {
  it('keeps offers and positions equal between WebSocket, REST and the model', async ({ onTestFailed }) => {
    // Chosen here (not by fast-check) and printed on any failure, a timeout of the whole test included.
    const seed = Number(process.env.HOLDLINE_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    onTestFailed(() => console.error(`routing-wire-model: failed with fast-check seed ${seed} (replay: HOLDLINE_TEST_SEED=${seed})`));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...STRATEGIES), fc.array(opArb, { minLength: 5, maxLength: 15 }), async (strategy, ops) => {
        const w = await setUp(strategy);
        const violations: string[] = [];
        try {
          await quiesce(w, violations);
          for (const op of ops) {
            await step(w, op);
            await quiesce(w, violations);
            expect(violations).toEqual([]);
          }
        } finally {
          await tearDown(w);
        }
      }),
      { numRuns: 8, endOnFailure: true, seed },
    );
  }, 180_000);
});
