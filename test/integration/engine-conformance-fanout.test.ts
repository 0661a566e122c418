/**
 * Engine conformance, live fan-out: after subscribe() resolves, every message appended to that
 * partition is delivered exactly once, in append order, to that partition's listeners only.
 * Delivery may be asynchronous (Redis pub/sub), so "nothing else arrived" is proven with a sentinel:
 * a later message on the same partition; once it is delivered, everything before it has been.
 */
import { describe, expect, it } from 'vitest';
import { engineFactories, freshQueue, ids, msg, Recorder, ref, useEngine } from '../helpers/engines.js';

const all = { limit: 1000, order: 'ascending' } as const;

describe.each(engineFactories)('engine conformance: fan-out ($name)', (factory) => {
  const engine = useEngine(factory);

  it('delivers each appended message once, in append order, matching history', async () => {
    const queue = await freshQueue(engine(), 2);
    const rec = new Recorder();
    await engine().subscribe(ref(queue, 1), rec.listener);
    const concurrent = await Promise.all(
      Array.from({ length: 50 }, (_, i) => engine().append(queue, [msg(`c${i}`), msg(`c${i}-2`, 2)])),
    );
    const batch = await engine().append(queue, Array.from({ length: 20 }, (_, i) => msg(`b${i}`)));
    const expected = concurrent.length * 1 + batch.length;
    await rec.waitFor(expected);
    const [sentinel] = await engine().append(queue, [msg('sentinel')]);
    await rec.waitFor(expected + 1);

    const history = await engine().read(ref(queue, 1), all);
    expect(rec.ids()).toEqual(ids(history));
    expect(history[history.length - 1]!.id).toBe(sentinel!.id);
    expect(rec.messages.every((m) => m.partition === 1)).toBe(true);
    expect(rec.messages.map((m) => m.seq)).toEqual(rec.messages.map((_, i) => i + 1));
    expect(rec.messages.slice(50, 70).map((m) => m.body)).toEqual(batch.map((m) => m.body));
    expect(rec.messages[0]).toEqual(history[0]);
  });

  it('isolates partitions, queues and applications', async () => {
    const queue = await freshQueue(engine(), 3);
    const sameApp = await freshQueue(engine(), 3, { application: queue.application });
    const otherApp = await freshQueue(engine(), 3, { name: queue.name });
    const p1 = new Recorder();
    const p2 = new Recorder();
    await engine().subscribe(ref(queue, 1), p1.listener);
    await engine().subscribe(ref(queue, 2), p2.listener);

    const out = await engine().append(queue, [msg('x', 1), msg('y', 2), msg('z', 3), msg('w', 1)]);
    await engine().append(sameApp, [msg('s1', 1), msg('s2', 2)]);
    await engine().append(otherApp, [msg('o1', 1), msg('o2', 2)]);
    const [s1] = await engine().append(queue, [msg('sentinel-1', 1)]);
    const [s2] = await engine().append(queue, [msg('sentinel-2', 2)]);
    await p1.waitFor(3);
    await p2.waitFor(2);
    expect(p1.ids()).toEqual([out[0]!.id, out[3]!.id, s1!.id]);
    expect(p2.ids()).toEqual([out[1]!.id, s2!.id]);
  });

  it('stops delivering to an unsubscribed listener only', async () => {
    const queue = await freshQueue(engine());
    const leaving = new Recorder();
    const staying = new Recorder();
    const unsubscribe = await engine().subscribe(ref(queue), leaving.listener);
    await engine().subscribe(ref(queue), staying.listener);
    // The same function subscribed twice is two subscriptions; removing one keeps the other.
    const twice = new Recorder();
    const unsubscribeTwiceA = await engine().subscribe(ref(queue), twice.listener);
    await engine().subscribe(ref(queue), twice.listener);

    const [first] = await engine().append(queue, [msg('first')]);
    await leaving.waitFor(1);
    await staying.waitFor(1);
    await twice.waitFor(2);
    await unsubscribe();
    await unsubscribeTwiceA();
    await unsubscribe(); // idempotent
    const [second] = await engine().append(queue, [msg('second')]);
    const [third] = await engine().append(queue, [msg('third')]);
    await staying.waitFor(3);
    await twice.waitFor(4);
    expect(leaving.ids()).toEqual([first!.id]);
    expect(staying.ids()).toEqual([first!.id, second!.id, third!.id]);
    expect(twice.ids()).toEqual([first!.id, first!.id, second!.id, third!.id]);
  });

  it('survives a throwing listener: the append succeeds and other listeners still receive', async () => {
    const queue = await freshQueue(engine());
    await engine().subscribe(ref(queue), () => {
      throw new Error('listener bug');
    });
    const rec = new Recorder();
    await engine().subscribe(ref(queue), rec.listener);
    const out = await engine().append(queue, [msg('a'), msg('b')]);
    const [c] = await engine().append(queue, [msg('c')]);
    await rec.waitFor(3);
    expect(rec.ids()).toEqual([...ids(out), c!.id]);
    expect(await engine().count(ref(queue))).toBe(3);
  });

  it('delivers binary bodies byte-exact', async () => {
    const queue = await freshQueue(engine());
    const rec = new Recorder();
    await engine().subscribe(ref(queue), rec.listener);
    const bytes = new Uint8Array([0, 1, 0xfe, 0xff, 0xc3, 0x28, 10, 13]);
    await engine().append(queue, [msg(bytes, 1, 3600, { contentType: 'application/octet-stream' }), msg('text')]);
    await rec.waitFor(2);
    expect(rec.messages[0]!.body).toBeInstanceOf(Uint8Array);
    expect(Array.from(rec.messages[0]!.body as Uint8Array)).toEqual(Array.from(bytes));
    expect(rec.messages[0]!.contentType).toBe('application/octet-stream');
    expect(rec.messages[1]!.body).toBe('text');
  });
});
