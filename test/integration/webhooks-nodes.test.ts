/**
 * Webhooks with two nodes sharing a real redis-server (protocol/webhooks.md "Several nodes"): each
 * event is delivered, in order, by one node at a time; a node stopped mid-delivery (cleanly, or
 * dying: its lease left to expire, nothing more written) loses nothing, the other node delivering
 * from the stored cursor (the event in flight may come twice: at least once).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freshPrefix } from '../helpers/namespace.js';
import { type EventNode, startEventNode } from '../helpers/event-nodes.js';
import { until } from '../helpers/wait.js';
import { type Receiver, startReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'a-long-shared-secret-1234';
const FAST = { webhookRetryBaseMs: 20, webhookRetryMaxMs: 100, webhookTimeoutMs: 60_000, webhookLeaseMs: 600 };

let nodes: EventNode[] = [];
let receivers: Receiver[] = [];

afterEach(async () => {
  for (const r of receivers) await r.close();
  for (const n of nodes) await n.close().catch(() => undefined);
  nodes = [];
  receivers = [];
});

async function twoNodes(): Promise<[EventNode, EventNode]> {
  const shared = { prefix: freshPrefix('whn'), adminKey: 'admin-key-shared' };
  const a = await startEventNode('redis', FAST, shared);
  const b = await startEventNode('redis', FAST, shared);
  nodes.push(a, b);
  return [a, b];
}

async function register(n: EventNode, key: string, url: string): Promise<string> {
  const res = await n.request('/v1/webhooks', { method: 'POST', key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url, secret: SECRET }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The ids in first-seen order, each once. */
function distinct(ids: string[]): string[] {
  return [...new Set(ids)];
}

describe('webhooks on two nodes sharing Redis', () => {
  it('delivers each event once, in log order, whichever node recorded it', async () => {
    const [a, b] = await twoNodes();
    const { name, key } = await a.createApp();
    const r = await startReceiver({ kind: 'ok' }, SECRET);
    receivers.push(r);
    await register(b, key, r.url);
    for (let i = 0; i < 20; i++) await (i % 2 === 0 ? a : b).tag(key, `t${i}`);
    await a.events(name);
    const ids = (await b.events(name)).filter((e) => e.event.event_type === 'tag.create').map((e) => e.event.message_id);
    expect(ids).toHaveLength(20);
    await until(() => r.accepted().length >= 20, { what: 'twenty deliveries' });
    // Nothing failed, so nothing is repeated: one node delivered each, in the log's order.
    expect(r.accepted()).toEqual(ids);
    expect(r.received.every((h) => h.verified)).toBe(true);
  });

  for (const how of ['stopped cleanly', 'dying'] as const) {
    it(`loses nothing when the delivering node is ${how} mid-delivery`, async () => {
      const [a, b] = await twoNodes();
      const { name, key } = await a.createApp();
      const slow = await startReceiver({ kind: 'slow' }, SECRET);
      receivers.push(slow);
      const id = await register(a, key, slow.url);
      for (let i = 0; i < 5; i++) await a.tag(key, `t${i}`);
      const ids = (await a.events(name)).filter((e) => e.event.event_type === 'tag.create').map((e) => e.event.message_id);
      // One node has the first event in flight (held by the receiver).
      await until(() => slow.held() === 1, { what: 'the first POST to be in flight' });
      const holder = [a, b].find((n) => n.server.webhooks.delivering.some((r) => r.id === id));
      expect(holder).toBeDefined();
      const other = holder === a ? b : a;
      if (how === 'dying') await holder!.server.webhooks.abandon();
      else await holder!.close();
      if (how === 'stopped cleanly') nodes = nodes.filter((n) => n !== holder);
      // The other node takes the endpoint (at once after a clean stop, after the lease expires
      // otherwise) and delivers from the stored cursor: the first event again, then the rest.
      await until(
        () => {
          slow.release();
          return distinct(slow.accepted()).length >= 5;
        },
        { what: 'every event delivered by the other node' },
      );
      expect(distinct(slow.accepted())).toEqual(ids);
      expect(other.server.webhooks.delivering.map((r) => r.id)).toContain(id);
      await until(async () => ((await (await other.request(`/v1/webhooks/${id}`, { key })).json()) as { delivery: { backlog: number } }).delivery.backlog === 0, {
        what: 'the cursor at the end',
      });
    });
  }
});
