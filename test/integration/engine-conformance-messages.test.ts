/**
 * Engine conformance, messages: order, `since`, `limit`, partitions, deletes, updates, counts, bodies.
 * Runs against every engine in test/helpers/engines.ts, each case in a fresh namespace. Nothing here
 * assumes one node or one Redis: a Redis Cluster run must pass the same cases.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessageId, isMessageId, timestampSeconds } from '../../src/domain/ids.js';
import type { StoredMessage } from '../../src/engine/types.js';
import { appendSequentially, engineFactories, freshQueue, ids, msg, ref, siblingId, useEngine } from '../helpers/engines.js';

const all = { limit: 1000, order: 'ascending' } as const;

describe.each(engineFactories)('engine conformance: messages ($name)', (factory) => {
  const engine = useEngine(factory);

  it('orders concurrent appends to one partition strictly, the same way on every read', async () => {
    const queue = await freshQueue(engine());
    const singles = Array.from({ length: 120 }, (_, i) => engine().append(queue, [msg(`s${i}`)]));
    const batches = Array.from({ length: 8 }, (_, b) =>
      engine().append(queue, Array.from({ length: 5 }, (_, i) => msg(`b${b}-${i}`))),
    );
    const appended = (await Promise.all([...singles, ...batches])).flat();
    expect(appended).toHaveLength(160);
    expect(new Set(ids(appended)).size).toBe(160);

    const first = await engine().read(ref(queue), all);
    const second = await engine().read(ref(queue), all);
    expect(ids(first)).toEqual(ids(second));
    expect(ids(first)).toEqual([...ids(appended)].sort());
    for (let i = 1; i < first.length; i++) {
      expect(first[i]!.id > first[i - 1]!.id).toBe(true);
      expect(first[i]!.timestampUs).toBeGreaterThanOrEqual(first[i - 1]!.timestampUs);
    }
    // The sequence number is +1 per message: a subscriber can check contiguity.
    expect(first.map((m) => m.seq)).toEqual(Array.from({ length: 160 }, (_, i) => i + 1));
    for (const m of first) {
      expect(isMessageId(m.id)).toBe(true);
      expect(decodeMessageId(m.id)).toEqual({ timestampUs: m.timestampUs, seq: m.seq, partition: 1 });
    }
    // A batch keeps its input order.
    for (const batch of (await Promise.all(batches)).map(ids)) expect(batch).toEqual([...batch].sort());

    const descending = await engine().read(ref(queue), { limit: 1000, order: 'descending' });
    expect(ids(descending)).toEqual(ids(first).reverse());
  });

  it('returns a batch in input order with every field it was given', async () => {
    const queue = await freshQueue(engine(), 3);
    const out = await engine().append(queue, [
      msg('one', 2, 60),
      msg('two', 1, 120, { contentType: 'text/plain; charset=utf-8' }),
      msg('three', 2, 30, { inReplyTo: 'f'.repeat(32) }),
    ]);
    expect(out.map((m) => [m.body, m.partition, m.ttl])).toEqual([
      ['one', 2, 60],
      ['two', 1, 120],
      ['three', 2, 30],
    ]);
    expect(out[1]!.contentType).toBe('text/plain; charset=utf-8');
    expect(out[2]!.inReplyTo).toBe('f'.repeat(32));
    expect(out[0]!.updatedAtUs).toBeUndefined();
    const got = await engine().getMessage(ref(queue, 2), out[2]!.id);
    expect(got).toEqual(out[2]);
  });

  it('reads `since` an id inclusively in both orders', async () => {
    const queue = await freshQueue(engine());
    const m = await appendSequentially(engine(), queue, 10);
    const sinceId = { kind: 'id', id: m[4]!.id } as const;
    expect(ids(await engine().read(ref(queue), { since: sinceId, limit: 100, order: 'ascending' }))).toEqual(ids(m.slice(4)));
    expect(ids(await engine().read(ref(queue), { since: sinceId, limit: 100, order: 'descending' }))).toEqual(
      ids(m.slice(0, 5)).reverse(),
    );
    expect(ids(await engine().read(ref(queue), { since: sinceId, limit: 2, order: 'ascending' }))).toEqual(ids(m.slice(4, 6)));
    expect(ids(await engine().read(ref(queue), { since: sinceId, limit: 2, order: 'descending' }))).toEqual(
      [m[4]!.id, m[3]!.id],
    );
    // An id that is not stored (deleted) still positions the read.
    expect(await engine().deleteMessages(ref(queue), [m[4]!.id])).toBe(1);
    expect(ids(await engine().read(ref(queue), { since: sinceId, limit: 100, order: 'ascending' }))).toEqual(ids(m.slice(5)));
    expect(ids(await engine().read(ref(queue), { since: sinceId, limit: 100, order: 'descending' }))).toEqual(
      ids(m.slice(0, 4)).reverse(),
    );
  });

  it('reads `since` a timestamp inclusively in both orders', async () => {
    const queue = await freshQueue(engine());
    const m = await appendSequentially(engine(), queue, 12);
    const byTs = (pred: (x: StoredMessage) => boolean) => ids(m.filter(pred));
    for (const pivot of [m[0]!, m[5]!, m[11]!]) {
      const since = { kind: 'timestamp', seconds: timestampSeconds(pivot.timestampUs) } as const;
      const asc = await engine().read(ref(queue), { since, limit: 100, order: 'ascending' });
      const desc = await engine().read(ref(queue), { since, limit: 100, order: 'descending' });
      expect(ids(asc)).toEqual(byTs((x) => x.timestampUs >= pivot.timestampUs));
      expect(ids(desc)).toEqual(byTs((x) => x.timestampUs <= pivot.timestampUs).reverse());
      expect(ids(asc)).toContain(pivot.id);
      expect(ids(desc)).toContain(pivot.id);
    }
    const before = { kind: 'timestamp', seconds: timestampSeconds(m[0]!.timestampUs) - 10 } as const;
    const after = { kind: 'timestamp', seconds: timestampSeconds(m[11]!.timestampUs) + 10 } as const;
    expect(ids(await engine().read(ref(queue), { since: before, limit: 100, order: 'ascending' }))).toEqual(ids(m));
    expect(await engine().read(ref(queue), { since: before, limit: 100, order: 'descending' })).toEqual([]);
    expect(await engine().read(ref(queue), { since: after, limit: 100, order: 'ascending' })).toEqual([]);
    expect(ids(await engine().read(ref(queue), { since: after, limit: 100, order: 'descending' }))).toEqual(ids(m).reverse());
  });

  it('bounds reads by limit', async () => {
    const queue = await freshQueue(engine());
    const batch = Array.from({ length: 1005 }, (_, i) => msg(`m${i}`));
    const m = await engine().append(queue, batch);
    expect(ids(await engine().read(ref(queue), { limit: 1, order: 'ascending' }))).toEqual([m[0]!.id]);
    expect(ids(await engine().read(ref(queue), { limit: 1, order: 'descending' }))).toEqual([m[1004]!.id]);
    expect(ids(await engine().read(ref(queue), { limit: 7, order: 'ascending' }))).toEqual(ids(m.slice(0, 7)));
    expect(ids(await engine().read(ref(queue), { limit: 1000, order: 'ascending' }))).toEqual(ids(m.slice(0, 1000)));
    expect(ids(await engine().read(ref(queue), { limit: 1000, order: 'descending' }))).toEqual(ids(m.slice(5)).reverse());
    const since = { kind: 'id', id: m[1000]!.id } as const;
    expect(ids(await engine().read(ref(queue), { since, limit: 1000, order: 'ascending' }))).toEqual(ids(m.slice(1000)));
  });

  it('keeps partitions apart: a read returns only its own partition, each in order', async () => {
    const queue = await freshQueue(engine(), 4);
    const plan = [1, 3, 1, 2, 3, 3, 1, 4, 2, 1];
    const out = await engine().append(queue, plan.map((p, i) => msg(`m${i}`, p)));
    expect(out.map((m) => m.partition)).toEqual(plan);
    // Ids are unique across partitions too (the partition number is inside the id).
    expect(new Set(ids(out)).size).toBe(plan.length);
    for (const p of [1, 2, 3, 4]) {
      const read = await engine().read(ref(queue, p), all);
      expect(ids(read)).toEqual(ids(out.filter((m) => m.partition === p)));
      expect(read.map((m) => m.seq)).toEqual(read.map((_, i) => i + 1));
      expect(await engine().count(ref(queue, p))).toBe(read.length);
    }
    // The same partition number of another queue is another partition.
    const other = await freshQueue(engine(), 4, { application: queue.application });
    expect(await engine().read(ref(other, 1), all)).toEqual([]);
    expect(await engine().getMessage(ref(queue, 2), out[0]!.id)).toBeNull();
  });

  it('serves a 200-partition queue', async () => {
    const queue = await freshQueue(engine(), 200);
    const partitions = Array.from({ length: 200 }, (_, i) => i + 1);
    const first = await engine().append(queue, partitions.map((p) => msg(`a${p}`, p)));
    const second = await engine().append(queue, [...partitions].reverse().map((p) => msg(`b${p}`, p)));
    for (const p of partitions) {
      const read = await engine().read(ref(queue, p), all);
      expect(read.map((m) => m.body)).toEqual([`a${p}`, `b${p}`]);
      expect(read[0]!.id).toBe(first[p - 1]!.id);
      expect(read[1]!.id).toBe(second[200 - p]!.id);
      expect(decodeMessageId(read[0]!.id).partition).toBe(p);
    }
    expect(await engine().count(ref(queue, 200))).toBe(2);
    expect(await engine().count(ref(queue, 1))).toBe(2);
  });

  it('deletes single, many and unknown ids, counting only those that existed', async () => {
    const queue = await freshQueue(engine(), 2);
    const m = await appendSequentially(engine(), queue, 6);
    const [inOther] = await engine().append(queue, [msg('other', 2)]);
    const unknown = siblingId(m[0]!.id);
    expect(await engine().deleteMessages(ref(queue), [m[1]!.id])).toBe(1);
    expect(await engine().deleteMessages(ref(queue), [m[2]!.id, m[4]!.id, unknown, m[1]!.id])).toBe(2);
    expect(await engine().deleteMessages(ref(queue), [unknown])).toBe(0);
    expect(await engine().deleteMessages(ref(queue), [m[5]!.id, m[5]!.id])).toBe(1);
    // An id of partition 2 is not in partition 1.
    expect(await engine().deleteMessages(ref(queue), [inOther!.id])).toBe(0);
    expect(ids(await engine().read(ref(queue), all))).toEqual([m[0]!.id, m[3]!.id]);
    expect(await engine().getMessage(ref(queue), m[2]!.id)).toBeNull();
    expect(await engine().count(ref(queue))).toBe(2);
    expect(await engine().count(ref(queue, 2))).toBe(1);
    // Deletion never reuses a sequence number.
    const [next] = await engine().append(queue, [msg('next')]);
    expect(next!.seq).toBe(7);
  });

  it('updates body, ttl and processing fields, keeping id, timestamp and order', async () => {
    const queue = await freshQueue(engine());
    const m = await appendSequentially(engine(), queue, 3);
    const target = m[1]!;
    const before = Date.now();
    const updated = await engine().updateMessage(ref(queue), target.id, {
      body: 'new body',
      ttl: 7200,
      contentType: 'application/json',
      clientState: 'done',
      clientJson: { agent: 'a1', tags: [1, 'x', null, { deep: true }] },
    });
    const after = Date.now();
    expect(updated).not.toBeNull();
    const got = await engine().getMessage(ref(queue), target.id);
    expect(got).toEqual(updated);
    expect(got).toMatchObject({
      id: target.id,
      seq: target.seq,
      timestampUs: target.timestampUs,
      partition: 1,
      body: 'new body',
      ttl: 7200,
      contentType: 'application/json',
      clientState: 'done',
      clientJson: { agent: 'a1', tags: [1, 'x', null, { deep: true }] },
    });
    // A new ttl counts from the update (clocks of engine and test agree to within a second).
    expect(got!.expiresAtMs).toBeGreaterThanOrEqual(before + 7200 * 1000 - 1000);
    expect(got!.expiresAtMs).toBeLessThanOrEqual(after + 7200 * 1000 + 1000);
    expect(got!.updatedAtUs).toBeGreaterThanOrEqual(target.timestampUs);
    expect(ids(await engine().read(ref(queue), all))).toEqual(ids(m));

    const cleared = await engine().updateMessage(ref(queue), target.id, { contentType: null, clientState: null, clientJson: null });
    expect(cleared!.contentType).toBeUndefined();
    expect(cleared!.clientState).toBeUndefined();
    expect(cleared!.clientJson).toBeUndefined();
    expect(cleared!.body).toBe('new body');
    const reread = await engine().getMessage(ref(queue), target.id);
    expect(reread).toEqual(cleared);
    expect(reread!.updatedAtUs).toBeGreaterThanOrEqual(got!.updatedAtUs!);

    // Only the patched fields change; other messages are untouched.
    const state = await engine().updateMessage(ref(queue), m[0]!.id, { clientState: 'seen' });
    expect(state).toMatchObject({ body: 'm0', ttl: 3600, clientState: 'seen', expiresAtMs: m[0]!.expiresAtMs });
    expect(await engine().getMessage(ref(queue), m[2]!.id)).toEqual(m[2]);

    expect(await engine().updateMessage(ref(queue), siblingId(m[0]!.id), { body: 'x' })).toBeNull();
    expect(await engine().count(ref(queue))).toBe(3);
  });

  // updatedAtUs versions a message's encodings (server/message-encoding.ts): no two contents may share one.
  it('advances updatedAtUs on every update, even several within one microsecond', async () => {
    const queue = await freshQueue(engine());
    const [m] = await appendSequentially(engine(), queue, 1);
    const updates = await Promise.all(Array.from({ length: 20 }, (_, i) => engine().updateMessage(ref(queue), m!.id, { clientState: `s${i}` })));
    const times = updates.map((u) => u!.updatedAtUs!);
    expect(new Set(times).size).toBe(times.length);
    for (const t of times) expect(t).toBeGreaterThanOrEqual(m!.timestampUs);
    const last = await engine().getMessage(ref(queue), m!.id);
    expect(last!.updatedAtUs).toBe(Math.max(...times));
  });

  it('counts live messages per partition', async () => {
    const queue = await freshQueue(engine(), 2);
    expect(await engine().count(ref(queue, 1))).toBe(0);
    expect(await engine().count(ref(queue, 2))).toBe(0);
    await engine().append(queue, [msg('a', 1), msg('b', 1), msg('c', 2)]);
    await appendSequentially(engine(), queue, 4, 2);
    expect(await engine().count(ref(queue, 1))).toBe(2);
    expect(await engine().count(ref(queue, 2))).toBe(5);
  });

  it('keeps binary bodies byte-exact and strings as strings', async () => {
    const queue = await freshQueue(engine());
    const bytes = new Uint8Array(512);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) % 256;
    bytes.set([0, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80], 0); // NUL and invalid UTF-8 sequences
    const input = new Uint8Array(bytes);
    const text = 'héllo 🌍 \u0000 "quoted" \\ end';
    const [bin, str] = await engine().append(queue, [msg(input, 1, 3600, { contentType: 'application/octet-stream' }), msg(text)]);
    input.fill(0); // the engine must have kept its own copy

    const read = await engine().read(ref(queue), all);
    expect(read[0]!.body).toBeInstanceOf(Uint8Array);
    expect(Array.from(read[0]!.body as Uint8Array)).toEqual(Array.from(bytes));
    expect(read[0]!.contentType).toBe('application/octet-stream');
    expect(read[1]!.body).toBe(text);
    const got = await engine().getMessage(ref(queue), bin!.id);
    expect(Array.from(got!.body as Uint8Array)).toEqual(Array.from(bytes));
    expect((await engine().getMessage(ref(queue), str!.id))!.body).toBe(text);

    const replacement = new Uint8Array([1, 2, 3, 0, 255]);
    await engine().updateMessage(ref(queue), str!.id, { body: replacement });
    replacement.fill(9);
    const updated = await engine().getMessage(ref(queue), str!.id);
    expect(updated!.body).toBeInstanceOf(Uint8Array);
    expect(Array.from(updated!.body as Uint8Array)).toEqual([1, 2, 3, 0, 255]);
  });
});
