/**
 * Chooses the call store the configuration names, next to the message engine (createEngine): the
 * same HOLDLINE_ENGINE, Redis URL and key prefix, so a Redis deployment keeps its call queues in
 * the same Redis, under the same prefix, as its message queues. The store is a separate object
 * from the Engine (its own command connections, its own close()), so the Engine contract stays as
 * it is; given the Redis engine, it follows its queues' feeds on the engine's live subscriber
 * (one sharded subscription per primary and node for every kind of feed).
 */
import type { HoldlineConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { CallStore } from './call-types.js';
import type { Engine } from './types.js';
import { RedisEngine } from './redis/index.js';
import { MemoryCallStore } from './memory/calls.js';
import { MemoryEngine } from './memory/index.js';
import { RedisCallStore } from './redis/calls.js';

/** Resolves once the store can take commands (Redis: connected; engine_unavailable otherwise). */
export async function createCallStore(config: HoldlineConfig, logger: Logger, engine?: Engine): Promise<CallStore> {
  switch (config.engine) {
    case 'memory':
      // The engine's event log, so the process keeps one log (events.ts).
      return new MemoryCallStore({
        changeRetention: config.callQueueResumeWindow,
        ...(engine instanceof MemoryEngine ? { events: engine.events } : {}),
      });
    case 'redis': {
      const feeds = engine instanceof RedisEngine ? engine.feeds : undefined;
      const events = engine instanceof RedisEngine ? engine.events : undefined;
      const store = await RedisCallStore.open({
        url: config.redisUrl, prefix: config.redisPrefix, changeRetention: config.callQueueResumeWindow, feeds, recordEvents: config.events === 'on',
        ...(events === undefined ? {} : { events }),
      });
      logger.debug({ engine: 'redis' }, 'call store connected');
      return store;
    }
  }
}

/**
 * A readiness probe that needs nothing from the CallStore contract: reading a call queue of an
 * application that cannot exist (`readyz` is a reserved name) is one cheap read that resolves
 * null when the store answers and rejects (engine_unavailable) when it does not.
 */
const PROBE_QUEUE = '00000000-0000-4000-8000-000000000000';

export async function callStoreReady(store: CallStore): Promise<boolean> {
  try {
    await store.getCallQueue('readyz', PROBE_QUEUE);
    return true;
  } catch {
    return false;
  }
}
