/**
 * The no-gap, no-duplicate guarantee (protocol/websocket.md 4.2) as a property, on two Holdline
 * processes (`holdline serve`) sharing one Redis: random publishes from several producers spread
 * over both nodes, while a subscriber disconnects at random points (cleanly or by dropping TCP) and
 * resumes on a random node with `after` = the last message it processed per partition. Whatever
 * the interleaving, what it processed per partition is exactly the published sequence: every acked
 * message once, in order.
 *
 * The servers run in their own processes, as in production (issue 3: "two Holdline processes
 * sharing one Redis"). This property is what showed that upgrading asynchronously after the key
 * lookup lost about one connection in a few hundred (src/server/ws/upgrade.ts).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { WireFormat } from '../../src/codec/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { QueueMeta } from '../../src/engine/types.js';
import { freshPrefix } from '../helpers/namespace.js';
import { freePort } from '../helpers/redis-server.js';
import { WsTestClient, appWithKey, queueOf } from '../helpers/ws-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Node {
  url: string;
  stop(): Promise<void>;
}

/** `holdline serve` on the Redis engine, in its own process; resolves once it listens. */
async function startNode(redisUrl: string, prefix: string): Promise<Node> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOLDLINE_ENGINE: 'redis',
      HOLDLINE_REDIS_URL: redisUrl,
      HOLDLINE_REDIS_PREFIX: prefix,
      HOLDLINE_PORT: String(port),
      HOLDLINE_HOST: '127.0.0.1',
      HOLDLINE_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = proc.pid;
  if (pid === undefined) throw new Error('could not start holdline');
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"listening"')) resolve();
    });
    void exited.then(() => reject(new Error(`holdline exited before listening: ${stderr}`)));
  });
  proc.stdout.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGTERM');
      await exited;
    },
  };
}

const PARTITIONS = [1, 2] as const;

interface Publish {
  partition: number;
  count: number;
}

interface Reconnect {
  /** Disconnect once this many messages (of all partitions) have been processed in total. */
  at: number;
  node: number;
  /** Drop TCP instead of a clean close. */
  drop: boolean;
}

interface Plan {
  producers: Publish[][];
  reconnects: Reconnect[];
  firstNode: number;
  format: WireFormat;
}

const publishArb = fc.record({ partition: fc.constantFrom(...PARTITIONS), count: fc.integer({ min: 1, max: 15 }) });
const planArb: fc.Arbitrary<Plan> = fc.record({
  producers: fc.array(fc.array(publishArb, { minLength: 1, maxLength: 10 }), { minLength: 2, maxLength: 3 }),
  reconnects: fc.array(
    fc.record({ at: fc.integer({ min: 0, max: 300 }), node: fc.integer({ min: 0, max: 1 }), drop: fc.boolean() }),
    { maxLength: 6 },
  ),
  firstNode: fc.integer({ min: 0, max: 1 }),
  format: fc.constantFrom<WireFormat>('json', 'msgpack'),
});

describe('ws resume property: two nodes, one Redis', () => {
  const nodes: Node[] = [];
  /** The test's own view of the same Redis namespace: applications, queues, seeds. */
  let engine: RedisEngine;

  beforeAll(async () => {
    const prefix = freshPrefix('wsprop');
    engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000 });
    await engine.start();
    nodes.push(...(await Promise.all([startNode(inject('redisUrl'), prefix), startNode(inject('redisUrl'), prefix)])));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await engine?.close();
  });

  async function runPlan(plan: Plan): Promise<void> {
    const shop = await appWithKey(engine);
    const q: QueueMeta = await queueOf(engine, shop.name, { partitions: PARTITIONS.length });
    // A first message per partition, which the subscriber "already has": every resume uses `after`.
    const seeds = await engine.append(q, PARTITIONS.map((partition) => ({ body: 'seed', ttl: 3600, partition })));
    const acked = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
    const processed = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
    const last = new Map<number, string>(seeds.map((m) => [m.partition, m.id]));

    const producers = await Promise.all(plan.producers.map((_, i) => WsTestClient.open(nodes[i % 2]!.url, { key: shop.key })));
    const produce = Promise.all(
      plan.producers.map(async (ops, i) => {
        for (const op of ops) {
          const reply = await producers[i]!.request({
            type: 'publish',
            application: shop.name,
            queue: q.name,
            messages: Array.from({ length: op.count }, (_, k) => ({ body: `p${i}-${k}`, partition: op.partition })),
          });
          if (reply.type !== 'published') throw new Error(`publish failed: ${JSON.stringify(reply)}`);
          for (const m of reply.messages) acked.get(m.partition)!.push(m.message_id);
        }
      }),
    );

    /** Takes what a connection delivered (from frame index `from`) as processed; returns the new index. */
    const absorb = (c: WsTestClient, from: number): number => {
      const frames = c.frames.slice(from);
      for (const f of frames) {
        if (f.type !== 'message' || f.queue !== q.name) continue;
        processed.get(f.partition)!.push(f.message_id);
        last.set(f.partition, f.message_id);
      }
      return from + frames.length;
    };
    const total = (): number => [...processed.values()].reduce((n, l) => n + l.length, 0);

    const connect = async (node: number): Promise<WsTestClient> => {
      const c = await WsTestClient.open(nodes[node]!.url, { key: shop.key, format: plan.format });
      const reply = await c.request({
        type: 'subscribe',
        application: shop.name,
        queue: q.name,
        after: Object.fromEntries([...last].map(([p, id]) => [String(p), id])),
      });
      if (reply.type !== 'subscribed') throw new Error(`subscribe failed: ${JSON.stringify(reply)}`);
      expect(reply.partitions.every((p) => p.recovered)).toBe(true);
      return c;
    };

    let sub = await connect(plan.firstNode);
    let producing = true;
    const stopped = (): void => {
      producing = false;
      sub.poke();
    };
    void produce.then(stopped, stopped);
    let seen = 0;
    for (const r of [...plan.reconnects].sort((a, b) => a.at - b.at)) {
      // Wait for the point (or for production to end, when fewer messages exist than `at`).
      await sub.until(() => {
        seen = absorb(sub, seen);
        return total() >= r.at || !producing;
      }, `${r.at} messages processed`, 20_000);
      seen = absorb(sub, seen);
      if (r.drop) sub.terminate();
      else await sub.close();
      sub = await connect(r.node);
      seen = 0;
    }
    await produce;
    const done = (): boolean => PARTITIONS.every((p) => acked.get(p)!.length === 0 || last.get(p) === acked.get(p)!.reduce((a, b) => (a > b ? a : b)));
    await sub.until(() => {
      seen = absorb(sub, seen);
      return done();
    }, 'every published message', 20_000);
    seen = absorb(sub, seen);

    for (const p of PARTITIONS) {
      expect(processed.get(p), `partition ${p}`).toEqual([...acked.get(p)!].sort());
    }
    expect(sub.undecodable).toEqual([]);
    await sub.close();
    for (const c of producers) await c.close();
  }

  it('a resuming subscriber processes every published message exactly once, in order', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(planArb, runPlan), { numRuns: 12 });
  });
});
