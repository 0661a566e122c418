/**
 * Subscription bookkeeping without a network: a recording host stands in for the client's
 * connection and answers requests by hand, so every frame sequence is exact.
 */
import { describe, expect, it } from 'vitest';
import type { MessageFrame, MessagesFrame, ServerFrame } from '../../src/codec/frames.js';
import { PartitionCursor, onlyNewOrigin, resumeRequests } from '../../src/client/cursor.js';
import { HoldlineClientError, HoldlineRequestError } from '../../src/client/errors.js';
import { Subscription, type PartitionRecovery } from '../../src/client/subscription.js';
import { encodeMessageId } from '../../src/engine/ids.js';
import { RecordingHost } from '../helpers/client-host.js';

const APP = 'shop';
const QUEUE = 'orders';

function id(partition: number, seq: number): string {
  return encodeMessageId({ timestampUs: 1_763_820_000_000_000 + seq, seq, partition }, 0xbeef);
}

function msg(partition: number, seq: number): MessageFrame {
  return { type: 'message', application: APP, queue: QUEUE, message_id: id(partition, seq), partition, seq, timestamp: 1763820000 + seq / 1e6, body: `m${seq}` };
}

/** Lets promise continuations run: deterministic, no timing involved. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A `subscribed` reply; each partition's position is its [partition, recovered, last seq] (absent: none). */
function subscribed(partitions: Array<[number, boolean, number?]>): ServerFrame {
  return {
    type: 'subscribed',
    application: APP,
    queue: QUEUE,
    partitions: partitions.map(([partition, recovered, seq]) => ({
      partition,
      recovered,
      last_message_id: seq === undefined ? null : id(partition, seq),
      last_seq: seq ?? null,
    })),
  };
}

function watch(sub: Subscription): { delivered: number[]; recoveries: PartitionRecovery[] } {
  const out = { delivered: [] as number[], recoveries: [] as PartitionRecovery[] };
  sub.on('message', (m) => out.delivered.push(m.seq));
  sub.on('recovery', (r) => out.recoveries.push(r));
  return out;
}

/** A live subscription on partition 1 that started after message seq 4. */
async function liveAfter4(host: RecordingHost): Promise<{ sub: Subscription; seen: ReturnType<typeof watch> }> {
  const sub = new Subscription(host, APP, QUEUE, [1], { after: { 1: id(1, 4) } });
  const seen = watch(sub);
  void sub.activate(1);
  await settle();
  expect(host.sent[0]?.frame).toEqual({ type: 'subscribe', application: APP, queue: QUEUE, partitions: [1], after: { '1': id(1, 4) } });
  host.reply(0, subscribed([[1, true]]));
  await settle();
  return { sub, seen };
}

describe('PartitionCursor', () => {
  it('drops duplicates and out-of-order frames by id, and flags seq gaps inside a run', () => {
    const c = new PartitionCursor(1, { kind: 'since', time: 0 });
    c.startRun();
    expect(c.accept({ message_id: id(1, 3), seq: 3 })).toBe('deliver'); // first of a run: any seq
    expect(c.accept({ message_id: id(1, 4), seq: 4 })).toBe('deliver');
    expect(c.accept({ message_id: id(1, 4), seq: 4 })).toBe('stale');
    expect(c.accept({ message_id: id(1, 2), seq: 2 })).toBe('stale');
    expect(c.accept({ message_id: id(1, 6), seq: 6 })).toBe('gap');
    expect(c.lastId).toBe(id(1, 4)); // a gap does not advance
    c.startRun(); // the resubscribe from lastId starts a new run: a real gap (expired, deleted) is accepted
    expect(c.accept({ message_id: id(1, 6), seq: 6 })).toBe('deliver');
    expect(c.staleDropped).toBe(2);
    expect(c.resumePoint()).toEqual({ kind: 'after', messageId: id(1, 6) });
  });

  it('resumes from its origin until a message is delivered', () => {
    expect(new PartitionCursor(1, { kind: 'since', time: 12.5 }).resumePoint()).toEqual({ kind: 'since', time: 12.5 });
    const after = new PartitionCursor(2, { kind: 'after', messageId: id(2, 9) });
    expect(after.resumePoint()).toEqual({ kind: 'after', messageId: id(2, 9) });
    after.startRun();
    expect(after.accept({ message_id: id(2, 9), seq: 9 })).toBe('stale'); // the `after` point itself
    expect(onlyNewOrigin(null)).toEqual({ kind: 'since', time: 0 });
    expect(onlyNewOrigin(id(1, 1))).toEqual({ kind: 'after', messageId: id(1, 1) });
  });

  it('resumeRequests: one frame for every `after` point, one per `since` time', () => {
    const a = new PartitionCursor(3, { kind: 'after', messageId: id(3, 1) });
    const b = new PartitionCursor(1, { kind: 'since', time: 0 });
    const c = new PartitionCursor(2, { kind: 'after', messageId: id(2, 5) });
    const d = new PartitionCursor(4, { kind: 'since', time: 0 });
    expect(resumeRequests([a, b, c, d])).toEqual([
      { partitions: [2, 3], after: { '2': id(2, 5), '3': id(3, 1) } },
      { partitions: [1, 4], since: 0 },
    ]);
    expect(resumeRequests([])).toEqual([]);
  });
});

describe('Subscription', () => {
  it('"only new": one plain subscribe; each partition resumes from the position its `subscribed` entry names (since 0 when null)', async () => {
    const host = new RecordingHost();
    const sub = new Subscription(host, APP, QUEUE, [1, 2], {});
    const seen = watch(sub);
    void sub.activate(1);
    await settle();
    expect(host.sent.map((s) => s.frame)).toEqual([{ type: 'subscribe', application: APP, queue: QUEUE, partitions: [1, 2] }]);
    host.reply(0, subscribed([[1, true, 7], [2, true]]));
    sub.onMessage(msg(1, 8), 1); // right behind the reply: the partition has its cursor already
    await expect(sub.ready).resolves.toHaveLength(2);
    expect(seen.recoveries.map((r) => [r.partition, r.recovered, r.cause])).toEqual([[1, true, 'subscribe'], [2, true, 'subscribe']]);
    expect(seen.delivered).toEqual([8]);
    expect(sub.state).toEqual({ status: 'live' });
    // A reconnect before partition 2 got a message: after the last delivered id, and since 0.
    sub.onDisconnect();
    host.generation = 2;
    void sub.activate(2);
    await settle();
    expect(host.sent.slice(1).map((s) => s.frame)).toEqual([
      { type: 'subscribe', application: APP, queue: QUEUE, partitions: [1], after: { '1': id(1, 8) } },
      { type: 'subscribe', application: APP, queue: QUEUE, partitions: [2], since: 0 },
    ]);
    expect(host.frames()).not.toContain('history');
  });

  it('every partition (`since` without partitions): the server names them in its reply; they resume one by one, and unsubscribe names them', async () => {
    const host = new RecordingHost();
    const sub = new Subscription(host, APP, QUEUE, null, { since: 5 });
    const seen = watch(sub);
    expect([sub.partitions, sub.state]).toEqual([[], { status: 'pending' }]);
    void sub.activate(1);
    await settle();
    expect(host.sent.map((s) => s.frame)).toEqual([{ type: 'subscribe', application: APP, queue: QUEUE, since: 5 }]);
    host.reply(0, subscribed([[1, true], [2, true], [3, true]]));
    sub.onMessage(msg(2, 1), 1); // right behind the reply: the learnt partition is live already
    await expect(sub.ready).resolves.toHaveLength(3);
    expect([sub.partitions, host.claimed, seen.delivered, sub.state]).toEqual([[1, 2, 3], [1, 2, 3], [1], { status: 'live' }]);
    sub.onDisconnect();
    host.generation = 2;
    void sub.activate(2);
    await settle();
    expect(host.sent.slice(1).map((s) => s.frame)).toEqual([
      { type: 'subscribe', application: APP, queue: QUEUE, partitions: [2], after: { '2': id(2, 1) } },
      { type: 'subscribe', application: APP, queue: QUEUE, partitions: [1, 3], since: 5 },
    ]);
    host.reply(1, subscribed([[2, true]]));
    host.reply(2, subscribed([[1, true], [3, true]]));
    await settle();
    void sub.unsubscribe();
    expect(host.sent[3]?.frame).toEqual({ type: 'unsubscribe', application: APP, queue: QUEUE, partitions: [1, 2, 3] });
    expect(host.forgotten).toEqual([1, 2, 3]);
  });

  it('every partition, stopped before the server named them: unsubscribes the queue and gives up its claim on it', async () => {
    const host = new RecordingHost();
    const sub = new Subscription(host, APP, QUEUE, null, { since: 0 });
    void sub.activate(1);
    await settle();
    void sub.unsubscribe();
    expect(host.sent.map((s) => s.frame.type)).toEqual(['subscribe', 'unsubscribe']);
    expect(host.sent[1]?.frame).toEqual({ type: 'unsubscribe', application: APP, queue: QUEUE });
    host.reply(0, subscribed([[1, true], [2, true]]));
    await settle();
    expect([sub.partitions, host.claimed, host.forgotten]).toEqual([[], [], [0]]);
    await expect(sub.ready).rejects.toThrow('subscription ended: requested');
  });

  it('messages before `subscribed` are dropped; the reply makes the partition live synchronously', async () => {
    const host = new RecordingHost();
    const sub = new Subscription(host, APP, QUEUE, [1], { since: 0 });
    const seen = watch(sub);
    void sub.activate(1);
    await settle();
    sub.onMessage(msg(1, 1), 1);
    host.reply(0, subscribed([[1, true]]));
    sub.onMessage(msg(1, 2), 1); // right behind the reply, before any promise continuation
    expect(seen.delivered).toEqual([2]);
    expect(sub.droppedFrames).toBe(1);
  });

  it('delivers in order and drops duplicates and out-of-order frames', async () => {
    const host = new RecordingHost();
    const { sub, seen } = await liveAfter4(host);
    for (const seq of [4, 5, 6, 6, 5, 7]) sub.onMessage(msg(1, seq), 1);
    expect(seen.delivered).toEqual([5, 6, 7]);
    expect(sub.droppedFrames).toBe(3);
    expect(sub.lastMessageIds()).toEqual({ 1: id(1, 7) });
  });

  it('a seq jump in live delivery resubscribes from the last delivered id; nothing is skipped or repeated', async () => {
    const host = new RecordingHost();
    const { sub, seen } = await liveAfter4(host);
    sub.onMessage(msg(1, 5), 1);
    sub.onMessage(msg(1, 7), 1); // 6 is missing
    await settle();
    expect(host.sent[1]?.frame).toEqual({ type: 'unsubscribe', application: APP, queue: QUEUE, partitions: [1] });
    sub.onMessage(msg(1, 8), 1); // still in flight from the old run: dropped
    host.reply(1, { type: 'unsubscribed', application: APP, queue: QUEUE, partitions: [1], reason: 'requested' });
    await settle();
    expect(host.sent[2]?.frame).toEqual({ type: 'subscribe', application: APP, queue: QUEUE, partitions: [1], after: { '1': id(1, 5) } });
    host.reply(2, subscribed([[1, true]]));
    for (const seq of [6, 7, 8]) sub.onMessage(msg(1, seq), 1);
    expect(seen.delivered).toEqual([5, 6, 7, 8]);
    expect(seen.recoveries.at(-1)).toMatchObject({ partition: 1, recovered: true, cause: 'gap' });
  });

  it('after a reconnect it resubscribes with after = the last delivered ids and reports recovery', async () => {
    const host = new RecordingHost();
    const { sub, seen } = await liveAfter4(host);
    sub.onMessage(msg(1, 5), 1);
    host.connected = false;
    sub.onDisconnect();
    expect(sub.state).toEqual({ status: 'pending' });
    sub.onMessage(msg(1, 6), 1); // a late frame of the dead connection
    host.connected = true;
    host.generation = 2;
    void sub.activate(2);
    await settle();
    expect(host.sent[1]?.frame).toEqual({ type: 'subscribe', application: APP, queue: QUEUE, partitions: [1], after: { '1': id(1, 5) } });
    host.reply(1, subscribed([[1, false]]));
    sub.onMessage(msg(1, 9), 2); // the first of a run may jump: 6–8 expired (recovered false says so)
    expect(seen.delivered).toEqual([5, 9]);
    expect(seen.recoveries.at(-1)).toEqual({ application: APP, queue: QUEUE, partition: 1, recovered: false, cause: 'reconnect' });
  });

  it('a server resync starts a new run and is reported', async () => {
    const host = new RecordingHost();
    const { sub, seen } = await liveAfter4(host);
    const resyncs: number[] = [];
    sub.on('resync', (r) => resyncs.push(r.partition));
    sub.onMessage(msg(1, 5), 1);
    sub.onResync({ type: 'resync', application: APP, queue: QUEUE, partition: 1, reason: 'slow_consumer', recovered: true });
    sub.onMessage(msg(1, 8), 1);
    expect(seen.delivered).toEqual([5, 8]);
    expect(resyncs).toEqual([1]);
    expect(seen.recoveries.at(-1)).toMatchObject({ partition: 1, recovered: true, cause: 'resync' });
    expect(host.sent).toHaveLength(1);
  });

  it('server-sent unsubscribed removes partitions and ends the subscription when none remain', async () => {
    const host = new RecordingHost();
    const sub = new Subscription(host, APP, QUEUE, [1, 2], { since: 0 });
    void sub.activate(1);
    await settle();
    host.reply(0, subscribed([[1, true], [2, true]]));
    const ends: string[] = [];
    sub.on('ended', (e) => ends.push(e.reason));
    sub.onServerUnsubscribed({ type: 'unsubscribed', application: APP, queue: QUEUE, partitions: [2], reason: 'access_revoked' });
    expect(sub.partitions).toEqual([1]);
    expect(ends).toEqual([]);
    sub.onServerUnsubscribed({ type: 'unsubscribed', application: APP, queue: QUEUE, partitions: [1], reason: 'queue_deleted' });
    expect(ends).toEqual(['queue_deleted']);
    expect(sub.state).toEqual({ status: 'ended', end: { reason: 'queue_deleted' } });
    expect(host.forgotten.sort()).toEqual([1, 2]);
  });

  it('a 4xx refusal ends the subscription; a 5xx or a timeout recycles the connection', async () => {
    const refused = new RecordingHost();
    const sub = new Subscription(refused, APP, QUEUE, [1], { since: 0 });
    void sub.activate(1);
    await settle();
    refused.sent[0]?.reject(new HoldlineRequestError({ code: 'queue_not_found', message: 'No such queue' }, 'subscribe'));
    await expect(sub.ready).rejects.toMatchObject({ code: 'queue_not_found' });
    expect(sub.state.status).toBe('ended');

    const older = new RecordingHost(); // a server without the feature: a 501 that retrying cannot cure
    const sub501 = new Subscription(older, APP, QUEUE, [1], { since: 0 });
    void sub501.activate(1);
    await settle();
    older.sent[0]?.reject(new HoldlineRequestError({ code: 'not_implemented', message: 'Not implemented by this server' }, 'subscribe'));
    await expect(sub501.ready).rejects.toMatchObject({ code: 'not_implemented' });
    expect(older.recycled).toEqual([]);

    for (const err of [
      new HoldlineRequestError({ code: 'engine_unavailable', message: 'down' }, 'subscribe'),
      new HoldlineClientError('timeout', 'slow'),
    ]) {
      const host = new RecordingHost();
      const s = new Subscription(host, APP, QUEUE, [1], { since: 0 });
      void s.activate(1);
      await settle();
      host.sent[0]?.reject(err);
      await settle();
      expect(host.recycled).toEqual(['resubscribe_failed']);
      expect(s.state.status).toBe('pending');
    }
  });
});

describe('Subscription with batch (`messages` frames)', () => {
  function batchOf(partition: number, seqs: number[]): MessagesFrame {
    return {
      type: 'messages',
      application: APP,
      queue: QUEUE,
      partition,
      messages: seqs.map((seq) => {
        const { type: _t, application: _a, queue: _q, partition: _p, ...item } = msg(partition, seq);
        return item;
      }),
    };
  }

  async function liveBatchAfter4(host: RecordingHost): Promise<{ sub: Subscription; seen: ReturnType<typeof watch>; events: MessageFrame[] }> {
    const sub = new Subscription(host, APP, QUEUE, [1], { after: { 1: id(1, 4) } }, true);
    const seen = watch(sub);
    const events: MessageFrame[] = [];
    sub.on('message', (m) => events.push(m));
    void sub.activate(1);
    await settle();
    expect(host.sent[0]?.frame).toEqual({ type: 'subscribe', application: APP, queue: QUEUE, partitions: [1], after: { '1': id(1, 4) }, batch: true });
    host.reply(0, subscribed([[1, true]]));
    await settle();
    return { sub, seen, events };
  }

  it('asks for batches; each item is delivered as the `message` frame it stands for, the cursor advancing per message', async () => {
    const host = new RecordingHost();
    const { sub, events } = await liveBatchAfter4(host);
    const cursorAtEvent: string[] = [];
    sub.on('message', () => cursorAtEvent.push(sub.lastMessageIds()[1]!));
    sub.onMessages(batchOf(1, [5, 6, 7]), 1);
    expect(events).toEqual([msg(1, 5), msg(1, 6), msg(1, 7)]);
    expect(cursorAtEvent).toEqual([id(1, 5), id(1, 6), id(1, 7)]);
    expect(sub.lastMessageIds()).toEqual({ 1: id(1, 7) });
  });

  it('drops duplicates inside and across batches, as for single frames', async () => {
    const host = new RecordingHost();
    const { sub, seen } = await liveBatchAfter4(host);
    sub.onMessages(batchOf(1, [3, 4, 5, 6]), 1);
    sub.onMessages(batchOf(1, [6, 7]), 1);
    expect(seen.delivered).toEqual([5, 6, 7]);
    expect(sub.droppedFrames).toBe(3);
  });

  it('a seq jump inside a batch resubscribes after the last delivered message; the rest of the batch is dropped', async () => {
    const host = new RecordingHost();
    const { sub, seen } = await liveBatchAfter4(host);
    sub.onMessages(batchOf(1, [5, 6, 8, 9]), 1); // 7 missing
    await settle();
    expect(host.sent[1]?.frame).toEqual({ type: 'unsubscribe', application: APP, queue: QUEUE, partitions: [1] });
    host.reply(1, { type: 'unsubscribed', application: APP, queue: QUEUE, partitions: [1], reason: 'requested' });
    await settle();
    expect(host.sent[2]?.frame).toEqual({ type: 'subscribe', application: APP, queue: QUEUE, partitions: [1], after: { '1': id(1, 6) }, batch: true });
    host.reply(2, subscribed([[1, true]]));
    sub.onMessages(batchOf(1, [7, 8, 9]), 1);
    expect(seen.delivered).toEqual([5, 6, 7, 8, 9]);
  });

  it('a server without batching refuses the field: the SDK subscribes again without it and stays per-message', async () => {
    const host = new RecordingHost();
    const sub = new Subscription(host, APP, QUEUE, [1], { after: { 1: id(1, 4) } }, true);
    const seen = watch(sub);
    void sub.activate(1);
    await settle();
    host.sent[0]?.reject(new HoldlineRequestError({ code: 'invalid_field', message: 'Unknown field', field: 'batch' }, 'subscribe'));
    await settle();
    expect(host.sent[1]?.frame).toEqual({ type: 'subscribe', application: APP, queue: QUEUE, partitions: [1], after: { '1': id(1, 4) } });
    host.reply(1, subscribed([[1, true]]));
    await expect(sub.ready).resolves.toHaveLength(1);
    sub.onMessage(msg(1, 5), 1);
    expect(seen.delivered).toEqual([5]);
    // Another invalid_field is not about batching: it ends the subscription as before.
    const other = new RecordingHost();
    const sub2 = new Subscription(other, APP, QUEUE, [1], { since: 0 }, true);
    void sub2.activate(1);
    await settle();
    other.sent[0]?.reject(new HoldlineRequestError({ code: 'invalid_field', message: 'bad', field: 'since' }, 'subscribe'));
    await expect(sub2.ready).rejects.toMatchObject({ code: 'invalid_field' });
    expect(other.sent).toHaveLength(1);
  });

  it('batches before `subscribed` are dropped whole', async () => {
    const host = new RecordingHost();
    const sub = new Subscription(host, APP, QUEUE, [1], { since: 0 }, true);
    const seen = watch(sub);
    void sub.activate(1);
    await settle();
    sub.onMessages(batchOf(1, [1, 2]), 1);
    host.reply(0, subscribed([[1, true]]));
    sub.onMessages(batchOf(1, [3]), 1);
    expect(seen.delivered).toEqual([3]);
    expect(sub.droppedFrames).toBe(2);
  });
});
