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
import fc from 'fast-check';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import type { WireFormat } from '../../src/codec/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { startHoldlineProcess, type HoldlineProcess } from '../helpers/holdline-process.js';
import { freshPrefix } from '../helpers/namespace.js';
import { runResumePlan } from '../helpers/resume-plan.js';

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
  /** Producer i publishes on node i % 2. */
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
  const nodes: HoldlineProcess[] = [];
  /** The test's own view of the same Redis namespace: applications, queues, seeds. */
  let engine: RedisEngine;

  beforeAll(async () => {
    const prefix = freshPrefix('wsprop');
    engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000 });
    await engine.start();
    const env = { HOLDLINE_ENGINE: 'redis', HOLDLINE_REDIS_URL: inject('redisUrl'), HOLDLINE_REDIS_PREFIX: prefix };
    nodes.push(...(await Promise.all([startHoldlineProcess(env), startHoldlineProcess(env)])));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    await engine?.close();
  });

  const runPlan = (plan: Plan): Promise<void> =>
    runResumePlan(
      { engine, urls: nodes.map((n) => n.url), partitions: PARTITIONS },
      { ...plan, producers: plan.producers.map((ops, i) => ({ node: i % 2, ops })) },
    );

  it('a resuming subscriber processes every published message exactly once, in order', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(planArb, runPlan), { numRuns: 12 });
  });
});
