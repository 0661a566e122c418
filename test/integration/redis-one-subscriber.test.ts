/**
 * One live subscriber per node for every kind of feed (src/engine/feed.ts, redis/subscriber.ts): a
 * node built as `holdline serve` builds it (createEngine, then createCallStore given the engine)
 * follows message partitions and call queues on the engine's subscriber connection, so a dropped
 * connection resyncs both kinds at once, and closing the call store leaves the engine's feeds alone.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS, type HoldlineConfig } from '../../src/config.js';
import type { CallQueueEvent, NewCallQueue } from '../../src/engine/call-types.js';
import { createCallStore } from '../../src/engine/calls-factory.js';
import { createEngine } from '../../src/engine/index.js';
import type { PartitionEvent } from '../../src/engine/types.js';
import { createLogger } from '../../src/logger.js';
import { freshQueue, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

const QUEUE: NewCallQueue = { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 };

describe('redis: one subscriber connection per node for partitions and call queues', () => {
  // Its own server: connections are counted and killed here.
  let server: RedisServerHandle | undefined;
  let admin: Redis | undefined;
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  async function named(name: string): Promise<number> {
    const list = (await admin!.client('LIST')) as string;
    return list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
  }

  it('follows both kinds on the engine\'s connection; a drop resyncs both; the store closes without it', async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
    const config: HoldlineConfig = { ...DEFAULTS, engine: 'redis', redisUrl: server.url, redisPrefix: freshPrefix('one-sub'), logLevel: 'silent' };
    const logger = createLogger('silent');
    const engine = createEngine(config, logger);
    await engine.start();
    const store = await createCallStore(config, logger, engine);
    try {
      const queue = await freshQueue(engine);
      const callQueue = (await store.createCallQueue('acme', QUEUE)).uuid;
      const partitionEvents: PartitionEvent[] = [];
      const callEvents: CallQueueEvent[] = [];
      await engine.subscribe(ref(queue), (e) => partitionEvents.push(e));
      await store.subscribeQueue('acme', callQueue, (e) => callEvents.push(e));

      expect(await named('holdline-sub')).toBe(1);
      expect(await named('holdline-calls-sub')).toBe(0);

      await engine.append(queue, [msg('one')]);
      await store.joinCaller('acme', callQueue, { name: 'a', number: '1', priority: 0 });
      await expect.poll(() => partitionEvents.map((e) => e.type)).toEqual(['message']);
      await expect.poll(() => callEvents.map((e) => e.type)).toEqual(['change']);

      await admin.client('KILL', 'TYPE', 'pubsub');
      await expect.poll(() => partitionEvents.at(-1)?.type, { timeout: 10_000 }).toBe('resync');
      await expect.poll(() => callEvents.at(-1)?.type, { timeout: 10_000 }).toBe('resync');

      // The store does not own the engine's subscriber: the partition stays followed.
      await store.close();
      await engine.append(queue, [msg('two')]);
      await expect.poll(() => partitionEvents.at(-1)).toMatchObject({ type: 'message', message: { body: 'two' } });
    } finally {
      await store.close();
      await engine.close();
    }
  });
});
