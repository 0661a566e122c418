/**
 * The registry-outage rules of src/engine/redis/meta-cache.ts (issue 10 §1), with the channel's
 * liveness and the clock under the test's control: while the channel is down, entries trusted when
 * it broke keep answering for `outageMs`, nothing else does, nothing new is stored, and a
 * resubscription (clear) drops everything.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetaCache, type KeyOwner } from '../../src/engine/redis/meta-cache.js';

const TTL = 5000;
const OUTAGE = 30_000;

describe('MetaCache during a registry outage', () => {
  let live = true;
  let cache: MetaCache<string>;
  let fetches = 0;
  const registry = new Map<string, KeyOwner>();
  const fetchKey = (hash: string) => async (): Promise<KeyOwner | null> => {
    fetches++;
    if (!live) throw new Error('registry unreachable');
    return registry.get(hash) ?? null;
  };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    live = true;
    fetches = 0;
    registry.clear();
    registry.set('h1', { app: 'shop', expiresMs: null });
    registry.set('h2', { app: 'shop', expiresMs: null });
    cache = new MetaCache<string>(() => live, TTL, OUTAGE);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers known keys and queues for outageMs after the channel broke, then asks the registry again', async () => {
    expect(await cache.appForKeyHash('h1', fetchKey('h1'))).toEqual({ app: 'shop', expiresMs: null });
    expect(await cache.queue('shop', 'q', async () => 'meta-q')).toBe('meta-q');
    fetches = 0;

    live = false;
    vi.setSystemTime(1_000_000 + TTL - 1);
    expect(cache.inOutage()).toBe(true);
    // Past the entries' TTL, inside the outage bound: still answered, without asking.
    vi.setSystemTime(1_000_000 + TTL + OUTAGE - 2);
    expect(await cache.appForKeyHash('h1', fetchKey('h1'))).toEqual({ app: 'shop', expiresMs: null });
    expect(cache.peekQueue('shop', 'q')).toBe('meta-q');
    expect(fetches).toBe(0);
    // Not known before the outage: the registry is asked (and fails), nothing is stored.
    await expect(cache.appForKeyHash('h2', fetchKey('h2'))).rejects.toThrow('registry unreachable');
    expect(fetches).toBe(1);

    // The bound is over: the cache is bypassed.
    vi.setSystemTime(1_000_000 + TTL - 1 + OUTAGE);
    expect(cache.inOutage()).toBe(false);
    expect(cache.peekQueue('shop', 'q')).toBeUndefined();
    await expect(cache.appForKeyHash('h1', fetchKey('h1'))).rejects.toThrow('registry unreachable');
  });

  it('serves only entries still trusted when the channel broke', async () => {
    await cache.appForKeyHash('h1', fetchKey('h1'));
    vi.setSystemTime(1_000_000 + TTL + 1);
    live = false;
    // h1's entry had expired before the outage was noticed: not served.
    await expect(cache.appForKeyHash('h1', fetchKey('h1'))).rejects.toThrow('registry unreachable');
  });

  it('a revocation announced before the outage is not undone by it; the resubscription drops everything', async () => {
    await cache.appForKeyHash('h1', fetchKey('h1'));
    await cache.appForKeyHash('h2', fetchKey('h2'));
    // h2 revoked and announced, then the registry goes away.
    registry.delete('h2');
    cache.onAnnouncement(Buffer.from(JSON.stringify({ app: 'shop', key: 'h2' })));
    live = false;
    await expect(cache.appForKeyHash('h2', fetchKey('h2'))).rejects.toThrow('registry unreachable');
    expect(await cache.appForKeyHash('h1', fetchKey('h1'))).toEqual({ app: 'shop', expiresMs: null });

    // Revoked during the outage (announcement missed): honoured until the channel is back...
    registry.delete('h1');
    live = true;
    // ...where the resubscription empties the cache (FeedSubscriber resync -> clear()).
    cache.clear();
    expect(await cache.appForKeyHash('h1', fetchKey('h1'))).toBeNull();
  });

  it('with outageMs 0 the cache is bypassed as soon as the channel is down', async () => {
    cache = new MetaCache<string>(() => live, TTL, 0);
    await cache.appForKeyHash('h1', fetchKey('h1'));
    live = false;
    expect(cache.inOutage()).toBe(false);
    await expect(cache.appForKeyHash('h1', fetchKey('h1'))).rejects.toThrow('registry unreachable');
  });

  it('an engine whose channel never was live has nothing to serve', async () => {
    live = false;
    cache = new MetaCache<string>(() => live, TTL, OUTAGE);
    expect(cache.inOutage()).toBe(false);
    await expect(cache.appForKeyHash('h1', fetchKey('h1'))).rejects.toThrow('registry unreachable');
  });
});
