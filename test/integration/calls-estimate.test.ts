/**
 * The estimated wait where the issue asks for it (protocol/routing.md section 9), on the memory
 * engine and on Redis: in snapshots (websocket.md 5.2) and the SDK's CallQueueView; kept with the
 * caller from its join and given back at its leave (the caller_left change and the
 * queue.caller.leave event: `estimated_wait` next to `wait`); and with routing's skills, counting
 * only the members that may take each caller. Values are chosen so that time passing does not move
 * them (available or busy members, no call ended: H = 180 s; a busy member's call ends at a rate,
 * whatever it has lasted).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, describe, expect, it } from 'vitest';
import { HoldlineClient } from '../../src/client/index.js';
import type { CallQueueSnapshotFrame, CallQueueUpdateFrame, ServerFrame } from '../../src/codec/index.js';
import { traitOf, type HoldlineEvent } from '../../src/engine/events.js';
import { type EventNode, type EventNodeKind, startEventNode } from '../helpers/event-nodes.js';
import { WsTestClient } from '../helpers/ws-client.js';

const ajv = new Ajv2020({ strict: false });
for (const f of ['common.json', 'server/callqueue.snapshot.json', 'server/callqueue.update.json']) {
  ajv.addSchema(JSON.parse(readFileSync(`protocol/schemas/ws/${f}`, 'utf8')) as object);
}
const validSnapshot = ajv.getSchema('https://holdline.dev/schemas/ws/server/callqueue.snapshot.json')!;
const validUpdate = ajv.getSchema('https://holdline.dev/schemas/ws/server/callqueue.update.json')!;

async function rest(node: EventNode, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await node.request(path, {
    method, key, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

describe.each(['memory', 'redis'] as EventNodeKind[])('estimated wait (%s)', (kind) => {
  const nodes: EventNode[] = [];
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const n of nodes.splice(0)) await n.close();
  });

  async function world(): Promise<{ node: EventNode; key: string; app: string; q: string; agent: string }> {
    const node = await startEventNode(kind);
    nodes.push(node);
    const { name: app, key } = await node.createApp();
    const q = (await rest(node, key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const agent = (await rest(node, key, 'POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    return { node, key, app, q, agent };
  }

  it('is kept from the join and recorded at the leave next to the actual wait', async () => {
    const { node, key, app, q, agent } = await world();
    const follower = await WsTestClient.open(node.url, { key });
    clients.push(follower);
    expect((await follower.request({ type: 'callqueue.subscribe', queue_id: q })).type).toBe('callqueue.subscribed');

    // No member yet: no estimate to keep.
    const lonely = (await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: '100' })).body.uuid as string;
    expect((await rest(node, key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001' })).status).toBe(201);
    // One available member: the first in line is offered now (0), the next at the median of one
    // call's end (⅔ of 180 s: routing.md section 9).
    const second = (await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: '200' })).body.uuid as string;
    const third = (await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: '300', priority: 5 })).body.uuid as string;
    for (const [c, reason] of [[lonely, 'abandoned'], [second, 'timeout'], [third, 'transferred']] as const) {
      expect((await rest(node, key, 'DELETE', `/v1/queues/${q}/callers/${c}?reason=${reason}`)).status).toBe(204);
    }

    const left = (await Promise.all(
      [lonely, second, third].map((c) =>
        follower.waitFor((f: ServerFrame) => f.type === 'callqueue.update' && f.kind === 'caller_left' && f.caller.uuid === c, `left ${c}`),
      ),
    )) as CallQueueUpdateFrame[];
    // Valid frames: the kept estimate is the change's, never a field of the caller object.
    for (const f of left) expect(validUpdate(f), JSON.stringify(validUpdate.errors)).toBe(true);
    for (const f of left) expect(f.kind === 'caller_left' && f.caller).not.toHaveProperty('estimated_wait');
    // lonely: none; second joined behind lonely (one member free now: lonely 0, second 120);
    // third jumped ahead of both with priority 5: offered at once.
    expect(left.map((f) => (f.kind === 'caller_left' ? f.estimated_wait : 'no'))).toEqual([undefined, 120, 0]);

    const leaves = (await node.events(app)).map((e) => e.event).filter((e: HoldlineEvent) => e.event_type === 'queue.caller.leave');
    const byCaller = new Map(leaves.map((e) => [traitOf(e, 'caller_id')?.value, e]));
    expect(traitOf(byCaller.get(lonely)!, 'estimated_wait')).toBeUndefined();
    expect(traitOf(byCaller.get(second)!, 'estimated_wait')).toEqual({ name: 'estimated_wait', type: 'float', value: 120 });
    expect(traitOf(byCaller.get(third)!, 'estimated_wait')).toEqual({ name: 'estimated_wait', type: 'float', value: 0 });
    expect(traitOf(byCaller.get(second)!, 'wait')?.type).toBe('float');
    // Queryable as any float trait (events.md section 5).
    const over = await rest(node, key, 'GET', `/v1/events?q.field=estimated_wait&q.op=gt&q.type=float&q.value=60`);
    expect(over.body.map((e: HoldlineEvent) => traitOf(e, 'caller_id')?.value)).toEqual([second]);
  });

  it('the join estimate is for the place the priority gives (the callers of its priority or higher ahead)', async () => {
    const { node, key, app, q, agent } = await world();
    await rest(node, key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001' });
    for (const priority of [2, 0, 0, -1]) await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: '100', priority });
    // One member free now, 180 s per call: place n ≥ 1 is offered at (n − ⅓) × 180.
    const joined: Record<string, string> = {};
    for (const [name, priority] of [['p1', 1], ['p0', 0], ['low', -7], ['top', 9]] as const) {
      joined[name] = (await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: '200', priority })).body.uuid as string;
    }
    for (const c of Object.values(joined)) await rest(node, key, 'DELETE', `/v1/queues/${q}/callers/${c}?reason=abandoned`);
    const leaves = (await node.events(app)).map((e) => e.event).filter((e) => e.event_type === 'queue.caller.leave');
    const given = Object.fromEntries(Object.entries(joined).map(([name, c]) => {
      const e = leaves.find((l) => traitOf(l, 'caller_id')?.value === c)!;
      return [name, traitOf(e, 'estimated_wait')?.value];
    }));
    // p1: behind the priority-2 caller; p0: behind 2, 0, 0 and p1; low: behind all six; top: first.
    expect(given).toEqual({ p1: 120, p0: 660, low: 1020, top: 0 });
  });

  it('snapshots carry every waiting caller\'s estimate, and the SDK view exposes it', async () => {
    const { node, key, q, agent } = await world();
    await rest(node, key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001' });
    const callers: string[] = [];
    for (const n of ['100', '200', '300']) callers.push((await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: n })).body.uuid as string);

    const raw = await WsTestClient.open(node.url, { key, format: 'msgpack' });
    clients.push(raw);
    await raw.request({ type: 'callqueue.subscribe', queue_id: q });
    const snap = (await raw.waitFor((f: ServerFrame) => f.type === 'callqueue.snapshot', 'snapshot')) as CallQueueSnapshotFrame;
    expect(validSnapshot(snap), JSON.stringify(validSnapshot.errors)).toBe(true);
    // One member free now: 0, then (n − ⅓) calls of 180 s.
    expect(snap.estimates).toEqual({ [callers[0]!]: 0, [callers[1]!]: 120, [callers[2]!]: 300 });
    const listed = (await rest(node, key, 'GET', `/v1/queues/${q}/callers`)).body as { uuid: string; estimated_wait: number }[];
    expect(Object.fromEntries(listed.map((c) => [c.uuid, c.estimated_wait]))).toEqual(snap.estimates);

    const client = new HoldlineClient({ urls: `${node.url.replace(/^http/, 'ws')}/v1/ws`, key });
    try {
      const view = client.callQueue(q);
      await view.ready;
      expect(view.estimates.get(callers[1]!)).toBe(120);
      // Counted down from when it arrived, never below 0.
      expect(view.estimate(callers[1]!, Date.now() + 60_000)).toBeLessThanOrEqual(60);
      expect(view.estimate(callers[1]!, Date.now() + 60_000)).toBeGreaterThan(40);
      expect(view.estimate(callers[2]!, Date.now() + 3_600_000)).toBe(0);
      expect(view.estimate('00000000-0000-4000-8000-000000000000')).toBeUndefined();
      await rest(node, key, 'DELETE', `/v1/queues/${q}/callers/${callers[1]}?reason=abandoned`);
      await expect.poll(() => view.caller(callers[1]!)).toBeUndefined();
      expect(view.estimate(callers[1]!)).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  it("counts only the members a caller's skills allow (routing's required tags)", async () => {
    const { node, key, q, agent } = await world();
    const bob = (await rest(node, key, 'POST', '/v1/agents', { name: 'Bob' })).body.uuid as string;
    await node.tag(key, 'fr');
    expect((await rest(node, key, 'POST', '/v1/tags/fr/agents', { agent_id: agent })).status).toBe(201);
    expect((await rest(node, key, 'PUT', `/v1/queues/${q}/routing`, { strategy: 'longest_idle' })).status).toBe(200);
    // Both on a call: each ends it at a rate of one per 180 s, however long it has lasted.
    for (const [a, n] of [[agent, '1001'], [bob, '1002']] as const) {
      expect((await rest(node, key, 'POST', `/v1/queues/${q}/members`, { agent_id: a, number: n, status: 'busy' })).status).toBe(201);
    }
    const fr1 = (await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: '100', required_tags: ['fr'] })).body.uuid as string;
    const any = (await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: '200' })).body.uuid as string;
    const fr2 = (await rest(node, key, 'POST', `/v1/queues/${q}/callers`, { number: '300', required_tags: ['fr'] })).body.uuid as string;
    const listed = (await rest(node, key, 'GET', `/v1/queues/${q}/callers`)).body as { uuid: string; estimated_wait: number }[];
    const est = new Map(listed.map((c) => [c.uuid, c.estimated_wait]));
    // fr1 has Alice only: ⅔ of her call (120 s). `any` has both, with fr1 ahead (it may take
    // Alice): 2t/180 reaches 1⅔ at 150 s. fr2 has only Alice, and both callers ahead may take her:
    // t/180 reaches 2⅔ at 480 s, where a queue without skills would give it 2t/180 = 2⅔ (240 s).
    expect([est.get(fr1), est.get(any), est.get(fr2)]).toEqual([120, 150, 480]);
  });
  it('counts a member engaged by another queue, when it is the only one, as on a call (an offer there, then a call)', async () => {
    const { node, key, agent } = await world();
    const qa = (await rest(node, key, 'POST', '/v1/queues', { name: 'sales' })).body.uuid as string;
    const qb = (await rest(node, key, 'POST', '/v1/queues', { name: 'billing' })).body.uuid as string;
    for (const q of [qa, qb]) {
      expect((await rest(node, key, 'PUT', `/v1/queues/${q}/routing`, { strategy: 'longest_idle', offer_timeout_seconds: 60 })).status).toBe(200);
      expect((await rest(node, key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001', status: 'available' })).status).toBe(201);
    }
    // A caller of A is offered to Alice: she is engaged by A (on her way to a call there).
    await rest(node, key, 'POST', `/v1/queues/${qa}/callers`, { number: '100' });
    const offer = (await rest(node, key, 'GET', `/v1/agents/${agent}/offer`)).body as { offer_id: string; queue_id: string } | null;
    expect(offer?.queue_id).toBe(qa);
    const b = (await rest(node, key, 'POST', `/v1/queues/${qb}/callers`, { number: '200' })).body.uuid as string;
    const estimate = async (): Promise<number> => (await rest(node, key, 'GET', `/v1/queues/${qb}/callers/${b}`)).body.estimated_wait as number;
    // Available in B, yet engaged by A, and B has no other member: counted as on a call (⅔ of
    // H = 180 s), rather than free now or no estimate at all.
    expect(await estimate()).toBe(120);
    // Accepted in A: on a call there, the same.
    expect((await rest(node, key, 'POST', `/v1/queues/${qa}/offers/${offer!.offer_id}/accept`, { agent_id: agent })).status).toBe(200);
    expect(await estimate()).toBe(120);
    // A second member of B, free: Alice, engaged by A, is left out (A takes her first when her call ends).
    const bob = (await rest(node, key, 'POST', '/v1/agents', { name: 'Bob' })).body.uuid as string;
    expect((await rest(node, key, 'POST', `/v1/queues/${qb}/members`, { agent_id: bob, number: '1002', status: 'busy' })).status).toBe(201);
    expect(await estimate()).toBe(120);
  });
});
