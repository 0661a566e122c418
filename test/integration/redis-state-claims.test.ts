/**
 * Competing consumers (SPEC.md 3.5): eight consumers, four on each of two Holdline nodes sharing
 * one redis-server, claim the messages of one queue over REST with `if_state=none` → processing,
 * each finding candidates with a filtered read (`client_state=none`). The compare-and-set is one
 * script (update-9.lua), so every message is claimed exactly once, whichever node asks.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { freshPrefix } from '../helpers/namespace.js';
import { JSON_CT, startTestServer, type TestServer } from '../helpers/server.js';

const MESSAGES = 200;
const CONSUMERS_PER_NODE = 4;

describe('redis: claims from two nodes', () => {
  let nodes: TestServer[] = [];

  beforeEach(async () => {
    const prefix = freshPrefix('claims');
    const adminKey = 'claims-admin';
    nodes = [];
    for (let i = 0; i < 2; i++) {
      const engine = new RedisEngine({ url: inject('redisUrl'), prefix });
      await engine.start();
      nodes.push(await startTestServer(engine, { adminKey }));
    }
  });

  afterEach(async () => {
    for (const n of nodes) {
      await n.close();
      await n.engine.close();
    }
  });

  // Hundreds of round trips from eight consumers: room for a loaded machine (no figure is asserted).
  it('every message is claimed exactly once', { timeout: 180_000 }, async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const { name, key } = await a.createApp();
    expect((await a.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'jobs', partitions: 2 }) })).status).toBe(201);
    const posted: string[] = [];
    for (let i = 0; i < MESSAGES; i += 100) {
      const res = await b.request(`/${name}/jobs`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ messages: Array.from({ length: 100 }, (_, j) => ({ body: `job ${i + j}` })) }) });
      posted.push(...((await res.json()) as { messages: Array<{ message_id: string }> }).messages.map((m) => m.message_id));
    }

    const claims: Array<{ consumer: string; id: string }> = [];
    let conflicts = 0;
    const consumer = async (node: TestServer, label: string): Promise<void> => {
      for (;;) {
        const res = await node.request(`/${name}/jobs?client_state=none&partitions=1,2&limit=20`, { key });
        const candidates = ((await res.json()) as { messages: Array<{ message_id: string }> }).messages;
        if (candidates.length === 0) return;
        for (const m of candidates) {
          const claim = await node.request(`/${name}/jobs/${m.message_id}/client_state/processing?if_state=none`, { method: 'PUT', key });
          await claim.body?.cancel();
          if (claim.status === 200) claims.push({ consumer: label, id: m.message_id });
          else {
            expect(claim.status).toBe(409);
            conflicts++;
            // Another consumer works this page: read the next candidates.
            break;
          }
        }
      }
    };
    await Promise.all(nodes.flatMap((node, n) => Array.from({ length: CONSUMERS_PER_NODE }, (_, i) => consumer(node, `${n}.${i}`))));

    expect(claims).toHaveLength(MESSAGES);
    expect(new Set(claims.map((c) => c.id)).size).toBe(MESSAGES);
    expect([...new Set(claims.map((c) => c.id))].sort()).toEqual([...posted].sort());
    // Every losing claim was a 409 (checked above): claims + conflicts = attempts. How many lost a
    // race depends on scheduling, so it is not asserted.
    expect(conflicts).toBeGreaterThanOrEqual(0);
    const left = await a.request(`/${name}/jobs?client_state=none&partitions=1,2`, { key });
    expect(((await left.json()) as { messages: unknown[] }).messages).toEqual([]);
  });
});
