/**
 * The live event tail on two nodes sharing a real redis-server: a tail on node A follows changes
 * made through node B (the log's live feed crosses nodes); when A stops, the SDK reconnects to B and
 * resumes after its last event: every event once, in log order, nothing lost while it moved.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HoldlineClient } from '../../src/client/index.js';
import { freshPrefix } from '../helpers/namespace.js';
import { type EventNode, followTagCreates, startEventNode } from '../helpers/event-nodes.js';
import { until } from '../helpers/wait.js';

let nodes: EventNode[] = [];
let clients: HoldlineClient[] = [];

afterEach(async () => {
  for (const c of clients) await c.close();
  for (const n of nodes) await n.close().catch(() => undefined);
  nodes = [];
  clients = [];
});

const ws = (n: EventNode): string => `${n.url.replace('http', 'ws')}/v1/ws`;

describe('event tail on two nodes sharing Redis', () => {
  it('follows changes made on the other node, and resumes on it when its own node stops', async () => {
    const shared = { prefix: freshPrefix('evn'), adminKey: 'admin-key-shared' };
    const a = await startEventNode('redis', {}, shared);
    const b = await startEventNode('redis', {}, shared);
    nodes.push(a, b);
    const { name, key } = await b.createApp();
    const client = new HoldlineClient({ urls: [ws(a), ws(b)], key, backoff: { baseMs: 10, maxMs: 50 } });
    clients.push(client);
    const { tail, got, subscribed } = followTagCreates(client);
    await tail.ready;
    for (let i = 0; i < 10; i++) await b.tag(key, `first${i}`);
    await until(() => got.length >= 10, { what: "node B's changes on node A's tail" });
    await a.close();
    nodes = nodes.filter((n) => n !== a);
    for (let i = 0; i < 10; i++) await b.tag(key, `second${i}`);
    await until(() => got.length >= 20, { what: 'the tail resumed on node B' });
    const created = (await b.events(name)).filter((e) => e.event.event_type === 'tag.create').map((e) => e.event.message_id);
    expect(got).toEqual(created);
    expect(subscribed.length).toBeGreaterThanOrEqual(2);
    expect(subscribed.every((r) => r)).toBe(true);
  });
});
