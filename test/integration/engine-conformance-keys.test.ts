/**
 * Engine conformance, several keys per application (issue 11 item 3): list, add, rotate with a grace
 * period, revoke one key; an application always keeps a key that does not expire. Each case runs in
 * a fresh namespace. (Also run on a Redis Cluster by test/cluster/engine-conformance-cluster.test.ts.)
 */
import { describe, expect, it, vi } from 'vitest';
import type { MetaEvent } from '../../src/engine/types.js';
import { isHoldlineError } from '../../src/errors.js';
import { engineFactories, randomName, useEngine } from '../helpers/engines.js';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isHoldlineError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

describe.each(engineFactories)('engine conformance: keys of an application ($name)', (factory) => {
  const engine = useEngine(factory);

  async function freshApp(): Promise<{ name: string; key: string; keyId: string; created: number }> {
    const name = randomName('app');
    const created = await engine().createApp(name);
    expect(created).not.toBeNull();
    return { name, key: created!.key, keyId: created!.keyId, created: created!.app.created };
  }

  it('lists the first key by its id, never the secret', async () => {
    const app = await freshApp();
    expect(app.keyId).toMatch(/^[0-9a-f]{16}$/);
    const keys = await engine().listKeys(app.name);
    expect(keys).toEqual([{ id: app.keyId, created: app.created, expires: null }]);
    expect(JSON.stringify(keys)).not.toContain(app.key);
  });

  it('adds keys that all resolve to the application, and revokes one at once', async () => {
    const app = await freshApp();
    const second = await engine().addKey(app.name);
    const third = await engine().addKey(app.name);
    expect(second.key).not.toBe(app.key);
    expect(second.record.expires).toBeNull();
    for (const key of [app.key, second.key, third.key]) expect(await engine().appForKey(key)).toBe(app.name);
    expect((await engine().listKeys(app.name)).map((k) => k.id).sort()).toEqual([app.keyId, second.record.id, third.record.id].sort());

    await engine().deleteKey(app.name, second.record.id);
    expect(await engine().appForKey(second.key)).toBeNull();
    expect(await engine().appForKey(app.key)).toBe(app.name);
    expect(await engine().appForKey(third.key)).toBe(app.name);
    expect((await engine().listKeys(app.name)).map((k) => k.id).sort()).toEqual([app.keyId, third.record.id].sort());
    expect(await codeOf(engine().deleteKey(app.name, second.record.id))).toBe('key_not_found');
  });

  it('refuses to revoke the last key that does not expire', async () => {
    const app = await freshApp();
    expect(await codeOf(engine().deleteKey(app.name, app.keyId))).toBe('last_key');
    expect(await engine().appForKey(app.key)).toBe(app.name);
    // A rotation's new key does not expire: then the old (expiring) one may go, the new one may not.
    const rotated = await engine().rotateKey(app.name, app.keyId, 3600);
    expect(await codeOf(engine().deleteKey(app.name, rotated.record.id))).toBe('last_key');
    await engine().deleteKey(app.name, app.keyId);
    expect(await engine().appForKey(app.key)).toBeNull();
    expect(await engine().appForKey(rotated.key)).toBe(app.name);
  });

  it('rotates: a new key, the old one valid until its expiry', async () => {
    const app = await freshApp();
    const before = Math.floor(Date.now() / 1000);
    const rotated = await engine().rotateKey(app.name, app.keyId, 600);
    expect(rotated.replaced.id).toBe(app.keyId);
    expect(rotated.replaced.expires).toBeGreaterThanOrEqual(before + 600);
    expect(rotated.replaced.expires).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
    expect(await engine().appForKey(app.key)).toBe(app.name);
    expect(await engine().appForKey(rotated.key)).toBe(app.name);
    const keys = await engine().listKeys(app.name);
    expect(keys.find((k) => k.id === app.keyId)?.expires).toBe(rotated.replaced.expires);
    expect(keys.find((k) => k.id === rotated.record.id)?.expires).toBeNull();

    // Rotating it again cannot push its expiry later.
    const again = await engine().rotateKey(app.name, app.keyId, 3600);
    expect(again.replaced.expires).toBe(rotated.replaced.expires);
  });

  it('rotates with no grace: the old key is refused at once and no longer listed', async () => {
    const app = await freshApp();
    const rotated = await engine().rotateKey(app.name, app.keyId, 0);
    expect(await engine().appForKey(app.key)).toBeNull();
    expect(await engine().appForKey(rotated.key)).toBe(app.name);
    expect((await engine().listKeys(app.name)).map((k) => k.id)).toEqual([rotated.record.id]);
    expect(await codeOf(engine().rotateKey(app.name, app.keyId, 0))).toBe('key_not_found');
  });

  it('refuses the old key once its grace period is over, and tells the metadata listeners', async () => {
    const app = await freshApp();
    // The engine has seen the key in use (as a live connection would have): its expiry is armed.
    expect(await engine().appForKey(app.key)).toBe(app.name);
    const events: MetaEvent[] = [];
    const stop = engine().watchMeta((e) => events.push(e));
    try {
      const rotated = await engine().rotateKey(app.name, app.keyId, 2);
      // Still valid (the grace is at least one whole second), and now known to expire.
      expect(await engine().appForKey(app.key)).toBe(app.name);
      await vi.waitFor(async () => expect(await engine().appForKey(app.key)).toBeNull(), { timeout: 6000, interval: 50 });
      expect(Date.now()).toBeGreaterThanOrEqual(rotated.replaced.expires * 1000);
      // Two announcements: the rotation, then the expiry itself (connections using the key re-check then).
      const appEvents = (): number => events.filter((e) => e.kind === 'app' && e.app === app.name).length;
      await vi.waitFor(() => expect(appEvents()).toBe(2), { timeout: 5000, interval: 50 });
      expect((await engine().listKeys(app.name)).map((k) => k.id)).toEqual([rotated.record.id]);
    } finally {
      stop();
    }
  });

  it('answers app_not_found and key_not_found', async () => {
    const app = await freshApp();
    const none = randomName('none');
    expect(await codeOf(engine().listKeys(none))).toBe('app_not_found');
    expect(await codeOf(engine().addKey(none))).toBe('app_not_found');
    expect(await codeOf(engine().rotateKey(none, app.keyId, 10))).toBe('app_not_found');
    expect(await codeOf(engine().deleteKey(none, app.keyId))).toBe('app_not_found');
    expect(await codeOf(engine().rotateKey(app.name, '0123456789abcdef', 10))).toBe('key_not_found');
    expect(await codeOf(engine().deleteKey(app.name, '0123456789abcdef'))).toBe('key_not_found');
    // Nothing changed.
    expect(await engine().listKeys(app.name)).toEqual([{ id: app.keyId, created: app.created, expires: null }]);
  });

  it('revokes every key with the application', async () => {
    const app = await freshApp();
    const second = await engine().addKey(app.name);
    await engine().rotateKey(app.name, app.keyId, 600);
    expect(await engine().deleteApp(app.name)).toBe(true);
    expect(await engine().appForKey(app.key)).toBeNull();
    expect(await engine().appForKey(second.key)).toBeNull();
    const again = await engine().createApp(app.name);
    expect((await engine().listKeys(app.name)).map((k) => k.id)).toEqual([again!.keyId]);
  });
});
