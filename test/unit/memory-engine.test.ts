/**
 * What the conformance suite cannot see from outside: the memory engine's reclamation (the sweeper
 * and its expiry index), driven by a controllable clock, and its copy-on-input/output isolation.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isHoldlineError } from '../../src/errors.js';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import type { Clock } from '../../src/engine/memory/clock.js';
import type { QueueMeta } from '../../src/engine/types.js';

class FakeClock implements Clock {
  ms = 1_700_000_000_000;
  nowMs(): number {
    return this.ms;
  }
  nowUs(): number {
    return this.ms * 1000;
  }
}

const engines: MemoryEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function setup(sweepIntervalMs = 3_600_000) {
  const clock = new FakeClock();
  const engine = new MemoryEngine({ sweepIntervalMs, clock });
  engines.push(engine);
  await engine.start();
  await engine.createApp('app');
  const queue: QueueMeta = { application: 'app', name: 'q', partitions: 2, type: 'user', consistency: 'strong', principles: [], created: 0 };
  await engine.createQueue(queue);
  return { clock, engine, queue, p1: { app: 'app', queue: 'q', partition: 1 } };
}

const all = { limit: 1000, order: 'ascending' } as const;

describe('memory engine', () => {
  it('declares what it enforces', () => {
    const engine = new MemoryEngine();
    expect(engine.kind).toBe('memory');
    expect(engine.capabilities).toEqual({ persistence: false, multiNode: false, consistency: { weak: true, strong: false, very_strong: false } });
  });

  it('hides an expired message at once and reclaims it only when swept', async () => {
    const { clock, engine, queue, p1 } = await setup();
    const [short, long] = await engine.append(queue, [
      { body: 'short', ttl: 1, partition: 1 },
      { body: 'long', ttl: 10, partition: 1 },
    ]);
    clock.ms += 999;
    expect((await engine.read(p1, all)).length).toBe(2);
    clock.ms += 1; // exactly expiresAtMs: invisible from this instant on
    expect((await engine.read(p1, all)).map((m) => m.id)).toEqual([long!.id]);
    expect(await engine.getMessage(p1, short!.id)).toBeNull();
    expect(engine.stats().storedMessages).toBe(2);

    expect(engine.sweep()).toBe(1);
    expect(engine.stats()).toEqual({ storedMessages: 1, expiryEntries: 1 });
    clock.ms += 9_000;
    expect(await engine.count(p1)).toBe(0); // count reclaims what is due, so it is exact
    expect(engine.stats()).toEqual({ storedMessages: 0, expiryEntries: 0 });
  });

  it('reclaims on its timer without any access', async () => {
    const { clock, engine, queue } = await setup(10);
    await engine.append(queue, [{ body: 'x', ttl: 1, partition: 2 }]);
    clock.ms += 1000;
    await vi.waitFor(() => expect(engine.stats().storedMessages).toBe(0), { timeout: 5000, interval: 5 });
  });

  it('honours a ttl changed by an update when sweeping', async () => {
    const { clock, engine, queue, p1 } = await setup();
    const [a, b] = await engine.append(queue, [
      { body: 'extended', ttl: 1, partition: 1 },
      { body: 'shortened', ttl: 100, partition: 1 },
    ]);
    await engine.updateMessage(p1, a!.id, { ttl: 100 });
    await engine.updateMessage(p1, b!.id, { ttl: 1 });
    clock.ms += 1000;
    expect(engine.sweep()).toBe(1); // the stale entry of `a` is skipped, the new one of `b` is due
    expect((await engine.read(p1, all)).map((m) => m.body)).toEqual(['extended']);
    clock.ms += 99_000;
    expect(engine.sweep()).toBe(1);
    expect(engine.stats()).toEqual({ storedMessages: 0, expiryEntries: 0 });
  });

  it('keeps the expiry index proportional to stored messages despite deletes and updates', async () => {
    const { engine, queue, p1 } = await setup();
    for (let round = 0; round < 20; round++) {
      const out = await engine.append(queue, Array.from({ length: 500 }, () => ({ body: 'x', ttl: 3600, partition: 1 })));
      for (const m of out.slice(0, 100)) await engine.updateMessage(p1, m.id, { ttl: 7200 });
      await engine.deleteMessages(p1, out.slice(50).map((m) => m.id));
    }
    const { storedMessages, expiryEntries } = engine.stats();
    expect(storedMessages).toBe(1000);
    expect(expiryEntries).toBeLessThanOrEqual(Math.max(2 * storedMessages, 1024) + 500);
  });

  it('forgets the messages of a deleted queue in its index', async () => {
    const { clock, engine, queue } = await setup();
    await engine.append(queue, [{ body: 'x', ttl: 1, partition: 1 }]);
    await engine.deleteQueue('app', 'q');
    expect(engine.stats().storedMessages).toBe(0);
    await engine.createQueue(queue);
    const [fresh] = await engine.append(queue, [{ body: 'y', ttl: 5, partition: 1 }]);
    clock.ms += 1000;
    expect(engine.sweep()).toBe(0);
    expect((await engine.getMessage({ app: 'app', queue: 'q', partition: 1 }, fresh!.id))!.body).toBe('y');
  });

  it('refuses to append to or create in what does not exist', async () => {
    const { engine, queue } = await setup();
    await expect(engine.append({ ...queue, name: 'gone' }, [{ body: 'x', ttl: 1, partition: 1 }])).rejects.toSatisfy(
      (e) => isHoldlineError(e) && e.code === 'queue_not_found',
    );
    await expect(engine.createQueue({ ...queue, application: 'nobody' })).rejects.toSatisfy(
      (e) => isHoldlineError(e) && e.code === 'app_not_found',
    );
    expect(engine.stats().storedMessages).toBe(0);
  });

  it('hands out copies: mutating a result changes nothing stored', async () => {
    const { engine, queue, p1 } = await setup();
    const [m] = await engine.append(queue, [{ body: new Uint8Array([1, 2, 3]), ttl: 60, partition: 1 }]);
    await engine.updateMessage(p1, m!.id, { clientJson: { list: [1] } });
    const first = (await engine.getMessage(p1, m!.id))!;
    (first.body as Uint8Array)[0] = 99;
    (first.clientJson as { list: number[] }).list.push(2);
    first.ttl = 1;
    const second = (await engine.getMessage(p1, m!.id))!;
    expect(Array.from(second.body as Uint8Array)).toEqual([1, 2, 3]);
    expect(second.clientJson).toEqual({ list: [1] });
    expect(second.ttl).toBe(60);
    const meta = (await engine.getQueue('app', 'q'))!;
    meta.principles.push('app:intruder');
    expect((await engine.getQueue('app', 'q'))!.principles).toEqual([]);
  });

  it('stores keys only as hashes', async () => {
    const engine = new MemoryEngine();
    engines.push(engine);
    const created = (await engine.createApp('app'))!;
    expect(created.key).toMatch(/^[0-9a-f]{32}$/);
    const seen = new Set<unknown>();
    const strings: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') strings.push(v);
      if (typeof v !== 'object' || v === null || seen.has(v)) return;
      seen.add(v);
      if (v instanceof Map) {
        for (const [k, x] of v) {
          walk(k);
          walk(x);
        }
      } else if (v instanceof Set) for (const x of v) walk(x);
      else for (const x of Object.values(v)) walk(x);
    };
    walk(engine);
    expect(strings.length).toBeGreaterThan(0);
    expect(strings.some((s) => s.includes(created.key))).toBe(false);
  });

  it('starts a listener subscribed during a delivery with the next message', async () => {
    const { engine, queue, p1 } = await setup();
    const late: string[] = [];
    let added = false;
    await engine.subscribe(p1, () => {
      if (added) return;
      added = true;
      void engine.subscribe(p1, (e) => {
        if (e.type === 'message') late.push(e.message.body as string);
      });
    });
    await engine.append(queue, [{ body: 'a', ttl: 60, partition: 1 }]);
    await engine.append(queue, [{ body: 'b', ttl: 60, partition: 1 }]);
    expect(late).toEqual(['b']);
  });

  // updatedAtUs versions a message's encodings (server/message-encoding.ts): updates within one
  // microsecond must still get distinct times.
  it('every update advances updatedAtUs, also within one microsecond', async () => {
    const { engine, queue, p1 } = await setup();
    const [m] = await engine.append(queue, [{ body: 'x', ttl: 60, partition: 1 }]);
    const first = await engine.updateMessage(p1, m!.id, { clientState: 'a' });
    const second = await engine.updateMessage(p1, m!.id, { clientState: 'b' });
    expect(first!.updatedAtUs).toBeGreaterThanOrEqual(m!.timestampUs);
    expect(second!.updatedAtUs).toBeGreaterThan(first!.updatedAtUs!);
  });
});
