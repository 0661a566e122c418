/**
 * The SDK against a real Holdline server (in-process, port 0, real sockets), on both engines and
 * both wire formats: publish, history, ping, subscribe with and without a resume point, bodies,
 * errors and authentication.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HoldlineClient, HoldlineRequestError, type StopReason } from '../../src/client/index.js';
import type { WireFormat } from '../../src/codec/limits.js';
import { engineFactories } from '../helpers/engines.js';
import { byPartition, record } from '../helpers/sdk.js';
import { JSON_CT, type TestServer } from '../helpers/server.js';
import { startWsServer, useWsServer } from '../helpers/ws-client.js';

const clients: HoldlineClient[] = [];

function wsUrl(s: TestServer): string {
  return `${s.url.replace(/^http/, 'ws')}/v1/ws`;
}

function client(s: TestServer, key: string | undefined, format: WireFormat, extra: Partial<ConstructorParameters<typeof HoldlineClient>[0]> = {}): HoldlineClient {
  const c = new HoldlineClient({ urls: wsUrl(s), key, format, backoff: { baseMs: 20, maxMs: 200 }, ...extra });
  clients.push(c);
  return c;
}

async function createQueue(s: TestServer, app: string, key: string, partitions: number): Promise<string> {
  const res = await s.request(`/${app}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ partitions }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { queue_name: string }).queue_name;
}

const cases = engineFactories.flatMap((factory) => (['json', 'msgpack'] as const).map((format) => ({ factory, format, name: `${factory.name}, ${format}` })));

describe.each(cases)('client SDK against a real server ($name)', ({ factory, format }) => {
  const srv = useWsServer(factory);
  // Registered after the server's hooks, so it runs before them: clients close before their server.
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('publish acks in input order; history and ping answer', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const queue = await createQueue(s, name, key, 2);
    const c = client(s, key, format);
    await c.connect();
    expect(c.state).toMatchObject({ status: 'connected', principal: { kind: 'application', application: name } });
    const acks = await c.publish(name, queue, [{ body: 'one', partition: 1 }, { body: 'two', partition: 2 }, { body: 'three', partition: 1 }]);
    expect(acks.map((a) => a.partition)).toEqual([1, 2, 1]);
    expect(acks[2]!.seq).toBe(acks[0]!.seq + 1);
    const h = await c.history(name, queue, { partitions: [1] });
    expect(h.messages.map((m) => [m.message_id, m.body])).toEqual([[acks[0]!.message_id, 'one'], [acks[2]!.message_id, 'three']]);
    expect(h.truncated).toBe(false);
    const pong = await c.ping();
    expect(Math.abs(pong.time - Date.now() / 1000)).toBeLessThan(60);
  });

  it('"only new" delivers exactly what is published after subscribe(), in order', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const queue = await createQueue(s, name, key, 2);
    const c = client(s, key, format);
    await c.publish(name, queue, [{ body: 'old', partition: 1 }]);
    const sub = c.subscribe(name, queue, { partitions: [1, 2] });
    const got = record(sub);
    const recovered = await sub.ready;
    expect(recovered.map((r) => [r.partition, r.recovered, r.cause]).sort()).toEqual([[1, true, 'subscribe'], [2, true, 'subscribe']]);
    const acks = await c.publish(name, queue, Array.from({ length: 20 }, (_, i) => ({ body: `n${i}`, partition: (i % 2) + 1 })));
    await got.until(20);
    expect(byPartition(got.messages)).toEqual(byPartition(acks));
    expect(got.messages.some((m) => m.body === 'old')).toBe(false);
  });

  it('a second client resumes exactly after the first one’s last messages (after), recovered', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const queue = await createQueue(s, name, key, 3);
    const producer = client(s, key, format);
    const first = await producer.publish(name, queue, Array.from({ length: 30 }, (_, i) => ({ body: `a${i}`, partition: (i % 3) + 1 })));

    const a = client(s, key, format);
    const subA = a.subscribe(name, queue, { partitions: [1, 2, 3], since: 0 });
    const gotA = record(subA);
    await gotA.until(30);
    expect(byPartition(gotA.messages)).toEqual(byPartition(first));
    const resumeFrom = subA.lastMessageIds();
    await a.close();

    const second = await producer.publish(name, queue, Array.from({ length: 30 }, (_, i) => ({ body: `b${i}`, partition: (i % 3) + 1 })));
    const b = client(s, key, format);
    const subB = b.subscribe(name, queue, { partitions: [1, 2, 3], after: resumeFrom });
    const gotB = record(subB);
    expect((await subB.ready).every((r) => r.recovered)).toBe(true);
    await gotB.until(30);
    const third = await producer.publish(name, queue, [{ body: 'live', partition: 2 }]);
    await gotB.until(31);
    expect(byPartition(gotB.messages)).toEqual(byPartition([...second, ...third]));
    expect(subB.droppedFrames).toBe(0);
  });

  it('without `partitions`, the protocol\'s default: every partition with `since`, those `after` names, otherwise partition 1 only', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const queue = await createQueue(s, name, key, 3);
    const producer = client(s, key, format);
    const old = await producer.publish(name, queue, [1, 2, 3].map((p) => ({ body: `old${p}`, partition: p })));

    const owner = client(s, key, format);
    const everyPartition = owner.subscribe(name, queue, { since: 0 });
    const afterTwo = client(s, key, format).subscribe(name, queue, { after: { 2: old[1]!.message_id } });
    const onlyNew = client(s, key, format).subscribe(name, queue, {});
    const [all, two, one] = [record(everyPartition), record(afterTwo), record(onlyNew)];
    const partitionsOf = async (sub: typeof everyPartition): Promise<number[]> => (await sub.ready).map((r) => r.partition).sort();
    expect(await Promise.all([partitionsOf(everyPartition), partitionsOf(afterTwo), partitionsOf(onlyNew)])).toEqual([[1, 2, 3], [2], [1]]);
    expect([everyPartition.partitions, afterTwo.partitions, onlyNew.partitions]).toEqual([[1, 2, 3], [2], [1]]);

    const live = await producer.publish(name, queue, [1, 2, 3].map((p) => ({ body: `live${p}`, partition: p })));
    await Promise.all([all.until(6), two.until(1), one.until(1)]);
    expect(byPartition(all.messages)).toEqual(byPartition([...old, ...live]));
    expect([two.messages.map((m) => m.body), one.messages.map((m) => m.body)]).toEqual([['live2'], ['live1']]);
    // The client that follows every partition follows each one: a second subscription to one is refused at once.
    expect(() => owner.subscribe(name, queue, { partitions: [2] })).toThrow(HoldlineRequestError);
  });

  it('more requests at once than the server lets wait (max_pending_frames): all answered on one connection', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const queue = await createQueue(s, name, key, 1);
    const c = client(s, key, format);
    await c.publish(name, queue, [{ body: 'x' }]);
    const drops: number[] = [];
    c.on('disconnected', (d) => drops.push(d.code));
    const replies = await Promise.all(Array.from({ length: 2500 }, () => c.history(name, queue, { limit: 1 })));
    expect(replies.every((r) => r.messages.length === 1)).toBe(true);
    expect(drops).toEqual([]);
  });

  it('a server that lets fewer requests wait: the SDK keeps to the max_pending_frames its welcome announces', async () => {
    const engine = await factory.create();
    const small = await startWsServer(engine, { maxPendingFrames: 20 });
    try {
      const { name, key } = await small.server.createApp();
      const queue = await createQueue(small.server, name, key, 1);
      const c = client(small.server, key, format);
      await c.publish(name, queue, [{ body: 'x' }]);
      const drops: number[] = [];
      c.on('disconnected', (d) => drops.push(d.code));
      const replies = await Promise.all(Array.from({ length: 300 }, () => c.history(name, queue, { limit: 1 })));
      expect(replies.every((r) => r.messages.length === 1)).toBe(true);
      expect(drops).toEqual([]);
      await c.close();
    } finally {
      await small.close();
      await engine.close();
    }
  });

  it('text and binary bodies round-trip', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const queue = await createQueue(s, name, key, 1);
    const c = client(s, key, format);
    const sub = c.subscribe(name, queue, {});
    const got = record(sub);
    await sub.ready;
    const bytes = new Uint8Array([0, 1, 2, 250, 255, 10, 13]);
    await c.publish(name, queue, [{ body: 'héllo ✓' }, { body: bytes, content_type: 'application/octet-stream' }]);
    await got.until(2);
    expect(got.messages[0]!.body).toBe('héllo ✓');
    expect(got.messages[1]!.body).toBeInstanceOf(Uint8Array);
    expect([...(got.messages[1]!.body as Uint8Array)]).toEqual([...bytes]);
    expect(got.messages[1]!.content_type).toBe('application/octet-stream');
  });

  it('errors: a failed request rejects with the catalogue code; a refused subscription ends; the link stays up', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const c = client(s, key, format);
    await expect(c.publish(name, 'nope', [{ body: 'x' }])).rejects.toMatchObject({ name: 'HoldlineRequestError', code: 'queue_not_found' });
    const sub = c.subscribe(name, 'nope', { partitions: [1], since: 0 });
    const ended = new Promise((resolve) => sub.on('ended', resolve));
    await expect(sub.ready).rejects.toBeInstanceOf(HoldlineRequestError);
    expect(await ended).toMatchObject({ reason: 'error', error: { code: 'queue_not_found' } });
    // A frame over the server's max_frame_bytes is refused before sending: no 1009 close.
    const queue = await createQueue(s, name, key, 1);
    const huge = 'x'.repeat(1024 * 1024 + 1);
    await expect(c.publish(name, queue, [{ body: huge }])).rejects.toMatchObject({ code: 'frame_too_large' });
    expect((await c.ping()).roundTripMs).toBeGreaterThanOrEqual(0);
    expect(c.state.status).toBe('connected');
  });

  it('bad credentials stop the client for good, in the first frame and in the URL', async () => {
    const s = srv();
    await s.createApp();
    const inFrame = client(s, 'not-a-key', format);
    const frameStop = new Promise<StopReason>((resolve) => inFrame.on('closed', resolve));
    await expect(inFrame.connect()).rejects.toMatchObject({ kind: 'closed' });
    expect(await frameStop).toMatchObject({ by: 'auth', code: 'auth_invalid' });

    const inUrl = client(s, 'not-a-key', format, { credentialsIn: 'url' });
    await expect(inUrl.connect()).rejects.toMatchObject({ kind: 'closed' });
    expect(inUrl.state).toMatchObject({ status: 'closed', reason: { by: 'server', code: 4401, why: 'auth' } });
    await expect(inUrl.ping()).rejects.toMatchObject({ kind: 'closed' });
  });
});
