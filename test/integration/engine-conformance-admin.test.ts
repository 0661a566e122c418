/**
 * Engine conformance, applications, keys and queues (SPEC.md sections 2 and 6), and the engine's
 * lifecycle. Each case runs in a fresh namespace, so listings contain only what the case created.
 */
import { describe, expect, it } from 'vitest';
import type { QueueMeta } from '../../src/engine/types.js';
import { engineFactories, freshQueue, msg, randomName, ref, useEngine } from '../helpers/engines.js';

const all = { limit: 1000, order: 'ascending' } as const;

describe.each(engineFactories)('engine conformance: apps and queues ($name)', (factory) => {
  const engine = useEngine(factory);

  it('creates an application once, with a key that resolves to it', async () => {
    const name = randomName('app');
    const before = Math.floor(Date.now() / 1000);
    const created = await engine().createApp(name);
    expect(created).not.toBeNull();
    expect(created!.app.name).toBe(name);
    expect(created!.app.created).toBeGreaterThanOrEqual(before - 1);
    expect(created!.app.created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
    expect(created!.key.length).toBeGreaterThanOrEqual(32);
    expect(await engine().createApp(name)).toBeNull();
    expect(await engine().appForKey(created!.key)).toBe(name);
    expect(await engine().appForKey(created!.key + 'x')).toBeNull();
    expect(await engine().appForKey('')).toBeNull();
    expect(await engine().getApp(name)).toEqual(created!.app);
    expect(await engine().getApp(randomName('none'))).toBeNull();

    const other = await engine().createApp(randomName('app'));
    expect(other!.key).not.toBe(created!.key);
    expect(await engine().appForKey(other!.key)).toBe(other!.app.name);
    const names = [name, other!.app.name].sort();
    expect((await engine().listApps()).map((a) => a.name)).toEqual(names);
  });

  it('deletes an application: keys revoked, queues and messages gone', async () => {
    const queue = await freshQueue(engine(), 2);
    const created = await engine().createApp(randomName('keep'));
    const kept = await freshQueue(engine(), 1, { application: created!.app.name });
    await engine().append(queue, [msg('a', 1), msg('b', 2)]);
    await engine().append(kept, [msg('kept')]);
    expect((await engine().listApps()).map((a) => a.name)).toContain(queue.application);

    expect(await engine().deleteApp(queue.application)).toBe(true);
    expect(await engine().deleteApp(queue.application)).toBe(false);
    expect(await engine().getApp(queue.application)).toBeNull();
    expect(await engine().getQueue(queue.application, queue.name)).toBeNull();
    expect((await engine().listApps()).map((a) => a.name)).toEqual([created!.app.name]);

    // Recreated under the same name: a new key, no trace of the old queues or messages.
    const again = await engine().createApp(queue.application);
    expect(again).not.toBeNull();
    expect(await engine().listQueues(queue.application, { limit: 100 })).toEqual([]);
    expect(await engine().createQueue(queue)).toBe(true);
    expect(await engine().read(ref(queue, 1), all)).toEqual([]);
    expect(await engine().count(ref(queue, 2))).toBe(0);
    // The other application is untouched.
    expect((await engine().read(ref(kept), all)).map((m) => m.body)).toEqual(['kept']);
    expect(await engine().appForKey(created!.key)).toBe(created!.app.name);
  });

  it('revokes the keys of a deleted application', async () => {
    const name = randomName('app');
    const created = await engine().createApp(name);
    await engine().deleteApp(name);
    expect(await engine().appForKey(created!.key)).toBeNull();
    const again = await engine().createApp(name);
    expect(await engine().appForKey(created!.key)).toBeNull();
    expect(await engine().appForKey(again!.key)).toBe(name);
  });

  it('creates a queue once and returns its metadata', async () => {
    const queue = await freshQueue(engine(), 5, {
      type: 'public',
      consistency: 'strong',
      principles: ['app:reader-1', 'app:reader-2'],
    });
    expect(await engine().createQueue(queue)).toBe(false);
    expect(await engine().createQueue({ ...queue, partitions: 9 })).toBe(false);
    expect(await engine().getQueue(queue.application, queue.name)).toEqual(queue);
    expect(await engine().getQueue(queue.application, randomName('none'))).toBeNull();
    // The same queue name in another application is another queue.
    const other = await freshQueue(engine(), 1, { name: queue.name });
    expect(await engine().getQueue(other.application, queue.name)).toEqual(other);
    expect(await engine().getQueue(queue.application, queue.name)).toEqual(queue);
  });

  it('lists queues sorted by name, paged by inclusive offset and limit', async () => {
    const first = await freshQueue(engine(), 1, { name: 'q-c' });
    const app = first.application;
    for (const name of ['q-e', 'q-a', 'q-d', 'q-b']) await freshQueue(engine(), 2, { application: app, name });
    await freshQueue(engine(), 1, { name: 'q-b0' }); // another application's queue

    const names = (list: QueueMeta[]) => list.map((q) => q.name);
    expect(names(await engine().listQueues(app, { limit: 100 }))).toEqual(['q-a', 'q-b', 'q-c', 'q-d', 'q-e']);
    expect(names(await engine().listQueues(app, { limit: 2 }))).toEqual(['q-a', 'q-b']);
    expect(names(await engine().listQueues(app, { offset: 'q-c', limit: 2 }))).toEqual(['q-c', 'q-d']);
    expect(names(await engine().listQueues(app, { offset: 'q-b0', limit: 10 }))).toEqual(['q-c', 'q-d', 'q-e']);
    expect(names(await engine().listQueues(app, { offset: 'q-e', limit: 10 }))).toEqual(['q-e']);
    expect(await engine().listQueues(app, { offset: 'q-f', limit: 10 })).toEqual([]);
    const listed = await engine().listQueues(app, { offset: 'q-c', limit: 1 });
    expect(listed).toEqual([first]);
  });

  it('updates a queue and keeps its messages', async () => {
    const queue = await freshQueue(engine(), 1);
    const [m] = await engine().append(queue, [msg('stays')]);
    const updated: QueueMeta = { ...queue, partitions: 3, type: 'public', consistency: 'very_strong', principles: ['app:x'] };
    await engine().updateQueue(updated);
    expect(await engine().getQueue(queue.application, queue.name)).toEqual(updated);
    expect((await engine().read(ref(queue), all)).map((x) => x.id)).toEqual([m!.id]);
    const [grown] = await engine().append(updated, [msg('new partition', 3)]);
    expect((await engine().read(ref(queue, 3), all)).map((x) => x.id)).toEqual([grown!.id]);
  });

  it('deletes a queue with every message of every partition', async () => {
    const queue = await freshQueue(engine(), 3);
    const sibling = await freshQueue(engine(), 1, { application: queue.application });
    await engine().append(queue, [msg('a', 1), msg('b', 2), msg('c', 3)]);
    await engine().append(sibling, [msg('sibling')]);
    expect(await engine().deleteQueue(queue.application, queue.name)).toBe(true);
    expect(await engine().deleteQueue(queue.application, queue.name)).toBe(false);
    expect(await engine().getQueue(queue.application, queue.name)).toBeNull();
    expect((await engine().listQueues(queue.application, { limit: 10 })).map((q) => q.name)).toEqual([sibling.name]);

    expect(await engine().createQueue(queue)).toBe(true);
    for (const p of [1, 2, 3]) {
      expect(await engine().read(ref(queue, p), all)).toEqual([]);
      expect(await engine().count(ref(queue, p))).toBe(0);
    }
    expect(await engine().count(ref(sibling))).toBe(1);
  });

  it('reports ready, and closes idempotently', async () => {
    expect(await engine().ready()).toBe(true);
    expect(engine().kind).toBe(factory.name);
    expect(engine().capabilities.consistency.weak).toBe(true);
    await engine().close();
    await engine().close();
    expect(await engine().ready()).toBe(false);
  });
});
