/**
 * Engine conformance, processing state (SPEC.md 3.5): set and clear, compare-and-set, updatedAtUs,
 * filtered reads (states, `none`, update window, replies; alone and combined with cursor, order
 * and limit), and that a deleted or expired message leaves every filter. The same cases on both
 * engines; on Redis they read through the per-partition indexes (read-filtered-8.lua).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Engine, MessageFilter, QueueMeta, ReadOptions, StoredMessage } from '../../src/engine/types.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { engineFactories, freshQueue, ids, msg, ref, useEngine } from '../helpers/engines.js';

function filtered(filter: MessageFilter, extra: Partial<ReadOptions> = {}): ReadOptions {
  return { limit: 1000, order: 'ascending', filter, ...extra };
}

async function setState(engine: Engine, queue: QueueMeta, m: StoredMessage, state: string | null, ifState?: string | null): Promise<StoredMessage> {
  const r = await engine.changeState(ref(queue, m.partition), m.id, ifState === undefined ? { clientState: state } : { clientState: state, ifState });
  if (r.kind !== 'updated') throw new Error(`expected an update, got ${r.kind}`);
  return r.message;
}

describe.each(engineFactories)('engine conformance: processing state ($name)', (factory) => {
  const engine = useEngine(factory);

  it('sets and clears client_state and client_json, advancing updatedAtUs every time', async () => {
    const queue = await freshQueue(engine());
    const [m] = await engine().append(queue, [msg('a')]);
    expect(m!.updatedAtUs).toBeUndefined();
    const r1 = await engine().changeState(ref(queue), m!.id, { clientState: 'processing', clientJson: { worker: 'w1' } });
    expect(r1.kind).toBe('updated');
    const s1 = (r1 as { message: StoredMessage }).message;
    expect(s1).toMatchObject({ id: m!.id, body: 'a', clientState: 'processing', clientJson: { worker: 'w1' } });
    expect(s1.updatedAtUs).toBeGreaterThanOrEqual(m!.timestampUs);
    const s2 = await setState(engine(), queue, m!, null);
    expect(s2.clientState).toBeUndefined();
    expect(s2.clientJson).toEqual({ worker: 'w1' });
    expect(s2.updatedAtUs).toBeGreaterThan(s1.updatedAtUs!);
    const r3 = await engine().changeState(ref(queue), m!.id, { clientJson: null });
    expect((r3 as { message: StoredMessage }).message.clientJson).toBeUndefined();
    expect(await engine().getMessage(ref(queue), m!.id)).toMatchObject({ body: 'a', updatedAtUs: (r3 as { message: StoredMessage }).message.updatedAtUs });
  });

  it('compare-and-set: changes only from the expected state, else reports the current one and changes nothing', async () => {
    const queue = await freshQueue(engine());
    const [m] = await engine().append(queue, [msg('a')]);
    expect(await engine().changeState(ref(queue), m!.id, { clientState: 'processing', ifState: 'done' })).toEqual({ kind: 'conflict', current: null });
    const claimed = await setState(engine(), queue, m!, 'processing', null);
    expect(claimed.clientState).toBe('processing');
    expect(await engine().changeState(ref(queue), m!.id, { clientState: 'processing', ifState: null })).toEqual({ kind: 'conflict', current: 'processing' });
    expect(await engine().changeState(ref(queue), m!.id, { clientJson: { x: 1 }, ifState: 'other' })).toEqual({ kind: 'conflict', current: 'processing' });
    expect((await engine().getMessage(ref(queue), m!.id))!.updatedAtUs).toBe(claimed.updatedAtUs);
    expect((await setState(engine(), queue, m!, 'done', 'processing')).clientState).toBe('done');
    expect(await engine().changeState(ref(queue), '0'.repeat(32), { clientState: 'x' })).toEqual({ kind: 'not_found' });
  });

  it('each state change records one message.state event with the states before and after; a failed compare-and-set none', async () => {
    const queue = await freshQueue(engine());
    const [m] = await engine().append(queue, [msg('a')]);
    await engine().changeState(ref(queue), m!.id, { clientState: 'processing', ifState: null });
    await engine().changeState(ref(queue), m!.id, { clientState: 'x', ifState: null });
    await engine().changeState(ref(queue), m!.id, { clientState: 'done', clientJson: { ok: 1 } });
    await engine().changeState(ref(queue), m!.id, { clientState: null });
    await engine().events.flush();
    const events = ((await engine().events.readSince(queue.application, 0, 1000)) ?? []).filter((e) => e.event.event_type === 'message.state');
    const traits = events.map((e) => Object.fromEntries(e.event.traits.map((t) => [t.name, t.value])));
    const common = { project_id: queue.application, queue_name: queue.name, partition: 1, msg_id: m!.id };
    expect(traits).toEqual([
      { ...common, fields: 'client_state', client_state: 'processing' },
      { ...common, fields: 'client_json,client_state', client_state: 'done', previous_state: 'processing' },
      { ...common, fields: 'client_state', previous_state: 'done' },
    ]);
  });

  it('racing claims of one message: exactly one wins', async () => {
    const queue = await freshQueue(engine());
    const [m] = await engine().append(queue, [msg('a')]);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => engine().changeState(ref(queue), m!.id, { clientState: 'processing', clientJson: { worker: i }, ifState: null })),
    );
    expect(results.filter((r) => r.kind === 'updated')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'conflict')).toHaveLength(9);
  });

  it('filters by state, none, update window and replies, alone and combined, with cursor, order and limit', async () => {
    const queue = await freshQueue(engine());
    const ms = await engine().append(queue, Array.from({ length: 10 }, (_, i) => msg(`m${i}`)));
    const [p0, p1, p2, p3, p4, p5, p6, p7, p8, p9] = ms as [StoredMessage, ...StoredMessage[]] as StoredMessage[];
    await setState(engine(), queue, p1!, 'done');
    await setState(engine(), queue, p3!, 'processing');
    await setState(engine(), queue, p5!, 'done');
    const windowStart = (await setState(engine(), queue, p7!, 'failed')).updatedAtUs!;
    const p2u = await engine().changeState(ref(queue), p2!.id, { clientJson: { note: 1 } });
    await setState(engine(), queue, p9!, 'done');
    const windowEnd = (await engine().getMessage(ref(queue), p9!.id))!.updatedAtUs!;
    const r = ref(queue);

    expect(ids(await engine().read(r, filtered({ states: ['done'] })))).toEqual(ids([p1!, p5!, p9!]));
    expect(ids(await engine().read(r, filtered({ states: ['done', 'failed'] })))).toEqual(ids([p1!, p5!, p7!, p9!]));
    expect(ids(await engine().read(r, filtered({ states: [null] })))).toEqual(ids([p0!, p2!, p4!, p6!, p8!]));
    expect(ids(await engine().read(r, filtered({ states: [null, 'processing'] })))).toEqual(ids([p0!, p2!, p3!, p4!, p6!, p8!]));
    expect(ids(await engine().read(r, filtered({ states: ['done'] }, { order: 'descending', limit: 2 })))).toEqual(ids([p9!, p5!]));
    expect(ids(await engine().read(r, filtered({ states: ['done'] }, { since: { kind: 'id', id: p5!.id }, limit: 1 })))).toEqual(ids([p5!]));
    expect(ids(await engine().read(r, filtered({ states: [null] }, { since: { kind: 'id', id: p3!.id } })))).toEqual(ids([p4!, p6!, p8!]));
    expect(ids(await engine().read(r, filtered({ states: [null] }, { since: { kind: 'id', id: p5!.id }, order: 'descending' })))).toEqual(ids([p4!, p2!, p0!]));
    // An update window: p7, p2 (client_json only) and p9 changed in it.
    expect(ids(await engine().read(r, filtered({ updatedSinceUs: windowStart })))).toEqual(ids([p2!, p7!, p9!]));
    expect(ids(await engine().read(r, filtered({ updatedSinceUs: windowStart, updatedUntilUs: windowEnd - 1 })))).toEqual(ids([p2!, p7!]));
    expect(ids(await engine().read(r, filtered({ updatedUntilUs: windowStart - 1 })))).toEqual(ids([p1!, p3!, p5!]));
    expect(ids(await engine().read(r, filtered({ updatedSinceUs: windowStart, states: ['done'] })))).toEqual(ids([p9!]));
    expect(ids(await engine().read(r, filtered({ updatedSinceUs: windowStart, states: [null] })))).toEqual(ids([p2!]));
    expect(ids(await engine().read(r, filtered({ updatedSinceUs: windowStart }, { order: 'descending', limit: 2 })))).toEqual(ids([p9!, p7!]));
    expect(ids(await engine().read(r, filtered({ states: ['nothing-here'] })))).toEqual([]);
    expect(p2u.kind).toBe('updated');
    expect(p6).toBeDefined();
  });

  it('lists replies of a message, in order, filtered and paged', async () => {
    const queue = await freshQueue(engine(), 2);
    const [parent, other] = await engine().append(queue, [msg('parent'), msg('other')]);
    const replies = await engine().append(queue, [
      msg('r1', 1, 3600, { inReplyTo: parent!.id }),
      msg('r-other', 1, 3600, { inReplyTo: other!.id }),
      msg('r2', 1, 3600, { inReplyTo: parent!.id }),
      msg('r3', 1, 3600, { inReplyTo: parent!.id }),
    ]);
    const [inOther] = await engine().append(queue, [msg('r4', 2, 3600, { inReplyTo: parent!.id })]);
    const [r1, , r2, r3] = replies;
    expect(ids(await engine().read(ref(queue), filtered({ inReplyTo: parent!.id })))).toEqual(ids([r1!, r2!, r3!]));
    expect(ids(await engine().read(ref(queue, 2), filtered({ inReplyTo: parent!.id })))).toEqual(ids([inOther!]));
    expect(ids(await engine().read(ref(queue), filtered({ inReplyTo: parent!.id }, { since: { kind: 'id', id: r2!.id }, limit: 1 })))).toEqual(ids([r2!]));
    expect(ids(await engine().read(ref(queue), filtered({ inReplyTo: parent!.id }, { order: 'descending', limit: 2 })))).toEqual(ids([r3!, r2!]));
    await setState(engine(), queue, r2!, 'seen');
    expect(ids(await engine().read(ref(queue), filtered({ inReplyTo: parent!.id, states: ['seen'] })))).toEqual(ids([r2!]));
    expect(ids(await engine().read(ref(queue), filtered({ inReplyTo: parent!.id, states: [null] })))).toEqual(ids([r1!, r3!]));
    // A reply appended after a read is listed by the next one.
    const [r5] = await engine().append(queue, [msg('r5', 1, 3600, { inReplyTo: parent!.id })]);
    expect(ids(await engine().read(ref(queue), filtered({ inReplyTo: parent!.id })))).toEqual(ids([r1!, r2!, r3!, r5!]));
  });

  it('a deleted message leaves every filter at once', async () => {
    const queue = await freshQueue(engine());
    const [parent, a, b, c] = await engine().append(queue, [msg('p'), msg('a'), msg('b'), msg('c')]);
    const [reply] = await engine().append(queue, [msg('r', 1, 3600, { inReplyTo: parent!.id })]);
    await setState(engine(), queue, a!, 'done');
    await setState(engine(), queue, reply!, 'done');
    await engine().changeState(ref(queue), b!.id, { clientJson: 1 });
    expect(await engine().deleteMessages(ref(queue), [a!.id, b!.id, reply!.id])).toBe(3);
    const r = ref(queue);
    expect(ids(await engine().read(r, filtered({ states: ['done'] })))).toEqual([]);
    expect(ids(await engine().read(r, filtered({ states: [null] })))).toEqual(ids([parent!, c!]));
    expect(ids(await engine().read(r, filtered({ updatedSinceUs: 0 })))).toEqual([]);
    expect(ids(await engine().read(r, filtered({ inReplyTo: parent!.id })))).toEqual([]);
    if (engine() instanceof RedisEngine) {
      const redis = (engine() as unknown as { client: { zcard(k: string): Promise<number> } }).client;
      const k = (engine() as unknown as { keys: { partition(r: unknown): Record<string, string> } }).keys.partition(r);
      expect(await redis.zcard(k.stated!)).toBe(0);
      expect(await redis.zcard(k.updated!)).toBe(0);
      expect(await redis.zcard(k.replies!)).toBe(0);
    }
  });

  it('an expired message leaves every filter from its expiry (reclaimed with the sweep)', async () => {
    const queue = await freshQueue(engine());
    const [parent] = await engine().append(queue, [msg('p')]);
    const [short, shortReply] = await engine().append(queue, [msg('s', 1, 1), msg('sr', 1, 1, { inReplyTo: parent!.id })]);
    await setState(engine(), queue, short!, 'done');
    await setState(engine(), queue, shortReply!, 'done');
    await sleep(Math.max(0, short!.expiresAtMs + 200 - Date.now()));
    const r = ref(queue);
    expect(ids(await engine().read(r, filtered({ states: ['done'] })))).toEqual([]);
    expect(ids(await engine().read(r, filtered({ states: [null] })))).toEqual(ids([parent!]));
    expect(ids(await engine().read(r, filtered({ updatedSinceUs: 0 })))).toEqual([]);
    expect(ids(await engine().read(r, filtered({ inReplyTo: parent!.id })))).toEqual([]);
    expect(await engine().changeState(r, short!.id, { clientState: 'again' })).toEqual({ kind: 'not_found' });
    const e = engine() as unknown as { sweep(): number | Promise<number> };
    expect(await e.sweep()).toBe(2);
    if (engine() instanceof RedisEngine) {
      const redis = (engine() as unknown as { client: { zcard(k: string): Promise<number> } }).client;
      const k = (engine() as unknown as { keys: { partition(r: unknown): Record<string, string> } }).keys.partition(r);
      for (const key of [k.stated!, k.updated!, k.replies!]) expect(await redis.zcard(key)).toBe(0);
      expect(await redis.zcard(k.unset!)).toBe(1);
    }
  });
});
