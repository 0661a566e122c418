/**
 * Chooses the webhook store the configuration names, next to the message engine and the call store:
 * the same HOLDLINE_ENGINE, Redis URL and key prefix (its own command connection).
 */
import type { HoldlineConfig } from '../config.js';
import { MemoryWebhookStore } from './memory/webhooks.js';
import { RedisWebhookStore } from './redis/webhooks.js';
import type { WebhookStore } from './webhook-types.js';

/** Resolves once the store can take commands (Redis: connected; engine_unavailable otherwise). */
export async function createWebhookStore(config: HoldlineConfig): Promise<WebhookStore> {
  switch (config.engine) {
    case 'memory':
      return new MemoryWebhookStore();
    case 'redis':
      return RedisWebhookStore.open({ url: config.redisUrl, prefix: config.redisPrefix });
  }
}
