/**
 * Chooses the engine the configuration names (SPEC.md section 6: HOLDLINE_ENGINE=memory|redis).
 * The engine is returned unstarted: the caller starts it (and reports a Redis it cannot reach).
 */
import type { HoldlineConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { MemoryEngine } from './memory/index.js';
import { RedisEngine } from './redis/index.js';
import type { Engine } from './types.js';
import type { EventRetention } from './events.js';

export type { Engine } from './types.js';

function eventRetention(config: HoldlineConfig): EventRetention {
  return { maxAgeMs: config.eventRetentionSeconds * 1000, maxEvents: config.eventMaxPerApp };
}

export function createEngine(config: HoldlineConfig, logger: Logger): Engine {
  switch (config.engine) {
    case 'memory':
      return new MemoryEngine({ sweepIntervalMs: config.sweepIntervalMs, eventRetention: eventRetention(config), recordEvents: config.events === 'on' });
    case 'redis':
      return new RedisEngine({
        url: config.redisUrl,
        prefix: config.redisPrefix,
        sweepIntervalMs: config.sweepIntervalMs,
        registryOutageMs: config.registryOutageMs,
        eventRetention: eventRetention(config),
        recordEvents: config.events === 'on',
        historyCacheBytes: config.historyCacheBytes,
        maxPendingMessages: config.maxPendingMessages,
        logger: logger.child({ engine: 'redis' }),
      });
  }
}
