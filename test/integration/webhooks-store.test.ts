/**
 * The webhook store contract (src/engine/webhook-types.ts) on both engines: endpoints, the limit,
 * the delivery state, and the lease that fences every state write (one node at a time per
 * endpoint; a lease that expired or went to another holder writes nothing).
 */
import { inject, describe, expect, it, afterEach } from 'vitest';
import { HoldlineError } from '../../src/errors.js';
import { MemoryWebhookStore } from '../../src/engine/memory/webhooks.js';
import { RedisWebhookStore } from '../../src/engine/redis/webhooks.js';
import { initialState, type Webhook, type WebhookStore } from '../../src/engine/webhook-types.js';
import { freshPrefix } from '../helpers/namespace.js';
import { until } from '../helpers/wait.js';

const factories: Array<{ name: string; create(): Promise<WebhookStore> }> = [
  { name: 'memory', create: async () => new MemoryWebhookStore() },
  { name: 'redis', create: () => RedisWebhookStore.open({ url: inject('redisUrl'), prefix: freshPrefix('wh') }) },
];

function hook(id: string, created = 1): Webhook {
  return { id, url: 'http://127.0.0.1:9/x', event_types: ['*'], secret: 'sixteen-chars-secret', description: '', created };
}

describe.each(factories)('webhook store: $name', ({ create }) => {
  let store: WebhookStore;
  afterEach(async () => store?.close());

  it('stores endpoints per application, lists them oldest first, deletes them', async () => {
    store = await create();
    await store.create('a', hook('00000000000000b2', 2), 7, 10);
    await store.create('a', hook('00000000000000a1', 1), 7, 10);
    await store.create('b', hook('00000000000000c3', 1), 0, 10);
    expect((await store.list('a')).map((w) => w.id)).toEqual(['00000000000000a1', '00000000000000b2']);
    expect(await store.get('b', '00000000000000a1')).toBeNull();
    expect(await store.state('a', '00000000000000a1')).toEqual(initialState(7));
    expect((await store.scan()).filter((r) => ['a', 'b'].includes(r.app))).toHaveLength(3);
    expect(await store.delete('a', '00000000000000a1')).toBe(true);
    expect(await store.delete('a', '00000000000000a1')).toBe(false);
    expect(await store.state('a', '00000000000000a1')).toBeNull();
    await store.deleteApplication('a');
    expect(await store.list('a')).toEqual([]);
    expect((await store.scan()).filter((r) => r.app === 'a')).toEqual([]);
    expect(await store.list('b')).toHaveLength(1);
  });

  it('refuses an endpoint past the limit (webhook_limit) and stores nothing', async () => {
    store = await create();
    await store.create('a', hook('0000000000000001'), 0, 1);
    const err = await store.create('a', hook('0000000000000002'), 0, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HoldlineError);
    expect((err as HoldlineError).code).toBe('webhook_limit');
    expect(await store.list('a')).toHaveLength(1);
  });

  it('gives the lease to one holder at a time; only the holder saves; a released or expired lease moves', async () => {
    store = await create();
    const ref = { app: 'a', id: '0000000000000001' };
    await store.create('a', hook(ref.id), 0, 10);
    expect(await store.acquire(ref, 'n1', 60_000)).toBe(true);
    expect(await store.acquire(ref, 'n2', 60_000)).toBe(false);
    expect(await store.acquire(ref, 'n1', 60_000)).toBe(true); // renewal
    const next = { ...initialState(0), cursor: 5 };
    expect(await store.save(ref, 'n2', next)).toBe(false);
    expect((await store.state('a', ref.id))!.cursor).toBe(0);
    expect(await store.save(ref, 'n1', next)).toBe(true);
    expect((await store.state('a', ref.id))!.cursor).toBe(5);
    await store.release(ref, 'n2'); // not the holder: nothing
    expect(await store.acquire(ref, 'n2', 60_000)).toBe(false);
    await store.release(ref, 'n1');
    expect(await store.acquire(ref, 'n2', 100)).toBe(true);
    // n2 stops renewing: its lease expires and n1 may take it; n2 can no longer save.
    await until(async () => store.acquire(ref, 'n1', 60_000), { what: 'the lease to expire' });
    expect(await store.save(ref, 'n2', { ...next, cursor: 9 })).toBe(false);
    expect((await store.state('a', ref.id))!.cursor).toBe(5);
  });

  it('has no lease and no save for an endpoint that is gone', async () => {
    store = await create();
    const ref = { app: 'a', id: '0000000000000001' };
    expect(await store.acquire(ref, 'n1', 60_000)).toBe(false);
    await store.create('a', hook(ref.id), 0, 10);
    expect(await store.acquire(ref, 'n1', 60_000)).toBe(true);
    await store.delete('a', ref.id);
    expect(await store.save(ref, 'n1', initialState(3))).toBe(false);
    expect(await store.acquire(ref, 'n1', 60_000)).toBe(false);
  });
});
