/**
 * Two Holdline nodes on one Redis (issue 2): two RedisEngine instances sharing a prefix see each
 * other's messages live, and concurrent appends from both to one partition get strictly increasing
 * ids with contiguous sequence numbers (the order is made by the append script, not by a node).
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { QueueMeta } from '../../src/engine/types.js';
import { freshQueue, ids, msg, Recorder, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';

const all = { limit: 1000, order: 'ascending' } as const;

describe('redis engine: two nodes on one Redis', () => {
  let a: RedisEngine;
  let b: RedisEngine;
  let queue: QueueMeta;

  beforeEach(async () => {
    const prefix = freshPrefix('nodes');
    a = new RedisEngine({ url: inject('redisUrl'), prefix });
    b = new RedisEngine({ url: inject('redisUrl'), prefix });
    await a.start();
    await b.start();
    queue = await freshQueue(a, 2);
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('delivers a message appended on one node to a subscriber on the other, in order', async () => {
    expect(await b.getQueue(queue.application, queue.name)).toEqual(queue);
    const onB = new Recorder();
    const onA = new Recorder();
    await b.subscribe(ref(queue, 1), onB.listener);
    await a.subscribe(ref(queue, 1), onA.listener);
    const fromA = await a.append(queue, [msg('from a'), msg('other partition', 2), msg(new Uint8Array([7, 0, 200]))]);
    const fromB = await b.append(queue, [msg('from b')]);
    await onB.waitFor(3);
    await onA.waitFor(3);
    const expected = [fromA[0]!, fromA[2]!, fromB[0]!];
    expect(onB.messages).toEqual(expected);
    expect(onA.messages).toEqual(expected);
  });

  it('orders concurrent appends from both nodes to one partition strictly', async () => {
    const live = new Recorder();
    await b.subscribe(ref(queue, 1), live.listener);
    const writes = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).append(queue, [msg(`m${i}`)]));
    const acked = (await Promise.all(writes)).flat();
    const history = await a.read(ref(queue, 1), all);
    expect(history).toHaveLength(100);
    expect(ids(history)).toEqual([...ids(acked)].sort());
    for (let i = 1; i < history.length; i++) {
      expect(history[i]!.id > history[i - 1]!.id).toBe(true);
      expect(history[i]!.timestampUs).toBeGreaterThanOrEqual(history[i - 1]!.timestampUs);
    }
    expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
    expect(await b.read(ref(queue, 1), all)).toEqual(history);
    // The live feed on the other node is the history, in the same order.
    await live.waitFor(100);
    expect(live.ids()).toEqual(ids(history));
  });
});
