/**
 * The SDK's coalesced publishes against a real server (both engines, both formats): the publishes
 * of one turn leave as one `publish` frame per queue (at most max_publish_messages each), yet every
 * call gets its own results, in its own order; a call whose message the server refuses fails alone,
 * with the field named as if it had been sent alone; calls that together would exceed
 * max_frame_bytes are split; `coalescePublishes: false` sends one frame per call.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { HoldlineClient, HoldlineRequestError, type PublishMessage } from '../../src/client/index.js';
import type { WebSocketConstructor } from '../../src/client/transport.js';
import { decodeClientFrame } from '../../src/codec/index.js';
import type { WireFormat } from '../../src/codec/limits.js';
import { engineFactories } from '../helpers/engines.js';
import { JSON_CT, type TestServer } from '../helpers/server.js';
import { startWsServer, type WsServer } from '../helpers/ws-client.js';

/** A `ws` WebSocket that records the message count of every `publish` frame the SDK sends. */
function spyingWebSocket(format: WireFormat, publishFrames: number[]): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      const send = this.send.bind(this) as (data: string | Uint8Array) => void;
      this.send = ((data: string | Uint8Array) => {
        const decoded = decodeClientFrame(data, format);
        if (decoded.ok && decoded.frame.type === 'publish') publishFrames.push(decoded.frame.messages.length);
        send(data);
      }) as WebSocket['send'];
    }
  };
}

const cases = engineFactories.flatMap((factory) => (['json', 'msgpack'] as const).map((format) => ({ factory, format, name: `${factory.name}, ${format}` })));

describe.each(cases)('client SDK, coalesced publishes ($name)', ({ factory, format }) => {
  const clients: HoldlineClient[] = [];
  const closers: Array<() => Promise<void>> = [];

  async function server(limits: { maxFrameBytes?: number } = {}): Promise<WsServer> {
    const engine = await factory.create();
    const s = await startWsServer(engine, limits);
    closers.push(async () => {
      await s.close();
      await engine.close();
    });
    return s;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const close of closers.splice(0)) await close();
  });

  function client(s: TestServer, key: string, frames: number[], coalescePublishes?: boolean): HoldlineClient {
    const c = new HoldlineClient({
      urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, key, format, backoff: { baseMs: 20, maxMs: 200 },
      WebSocket: spyingWebSocket(format, frames), ...(coalescePublishes === undefined ? {} : { coalescePublishes }),
    });
    clients.push(c);
    return c;
  }

  async function createQueue(s: TestServer, app: string, key: string): Promise<string> {
    const res = await s.request(`/${app}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ partitions: 2 }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { queue_name: string }).queue_name;
  }

  /** A server, an application with one queue of 2 partitions, and a connected client spying on its publish frames. */
  async function connected(limits: { maxFrameBytes?: number } = {}): Promise<{ c: HoldlineClient; name: string; queue: string; frames: number[] }> {
    const { server: s } = await server(limits);
    const { name, key } = await s.createApp();
    const queue = await createQueue(s, name, key);
    const frames: number[] = [];
    const c = client(s, key, frames);
    await c.connect();
    return { c, name, queue, frames };
  }

  async function bodies(c: HoldlineClient, app: string, queue: string, partition: number): Promise<unknown[]> {
    return (await c.history(app, queue, { partitions: [partition], limit: 1000 })).messages.map((m) => m.body);
  }

  it('one frame per queue for the publishes of one turn; each call resolves with its own results, in call order', async () => {
    const { server: s } = await server();
    const { name, key } = await s.createApp();
    const [q1, q2] = [await createQueue(s, name, key), await createQueue(s, name, key)];
    const frames: number[] = [];
    const c = client(s, key, frames);
    await c.connect();

    const calls: Array<{ queue: string; messages: PublishMessage[] }> = [];
    for (let i = 0; i < 40; i++) calls.push({ queue: q1, messages: [{ body: `a${i}`, partition: (i % 2) + 1 }] });
    for (let i = 0; i < 10; i++) calls.push({ queue: q2, messages: [{ body: `b${i}x`, partition: 1 }, { body: `b${i}y`, partition: 2 }] });
    const results = await Promise.all(calls.map((call) => c.publish(name, call.queue, call.messages)));

    expect(frames).toEqual([40, 20]);
    for (const [i, acks] of results.entries()) expect(acks.map((a) => a.partition)).toEqual(calls[i]!.messages.map((m) => m.partition));
    const h1 = (await c.history(name, q1, { partitions: [1], limit: 100 })).messages;
    expect(h1.map((m) => m.body)).toEqual(Array.from({ length: 20 }, (_, i) => `a${2 * i}`));
    expect(h1.map((m) => m.message_id)).toEqual(results.filter((_, i) => i < 40 && i % 2 === 0).map((acks) => acks[0]!.message_id));
    expect(await bodies(c, name, q2, 2)).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}y`));

    // Opted out: one frame per call, same results.
    const plainFrames: number[] = [];
    const plain = client(s, key, plainFrames, false);
    await plain.connect();
    const plainResults = await Promise.all(Array.from({ length: 8 }, (_, i) => plain.publish(name, q1, { body: `p${i}`, partition: 1 })));
    expect(plainFrames).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(plainResults.map((acks) => acks.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('a call with a bad message fails alone, its field counted from its own first message; the others are stored', async () => {
    const { c, name, queue, frames } = await connected();

    const settled = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        c.publish(name, queue, i === 4 ? [{ body: 'fine', partition: 1 }, { body: 'bad', partition: 9 }] : [{ body: `m${i}`, partition: 1 }]),
      ),
    );
    const bad = settled[4]!;
    expect(bad.status).toBe('rejected');
    const err = (bad as PromiseRejectedResult).reason as HoldlineRequestError;
    expect(err).toBeInstanceOf(HoldlineRequestError);
    expect(err.code).toBe('partition_out_of_range');
    expect(err.field).toBe('messages[1].partition');
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(9);
    expect(await bodies(c, name, queue, 1)).toEqual(['m0', 'm1', 'm2', 'm3', 'm5', 'm6', 'm7', 'm8', 'm9']);
    // The first attempt carried every call; refused, each call went again alone, in order.
    expect(frames).toEqual([11, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1]);
  });

  it('calls that together exceed max_frame_bytes are split into frames that fit; all are stored', async () => {
    const { c, name, queue, frames } = await connected({ maxFrameBytes: 4096 });

    const body = (i: number): string => `${i}`.padEnd(1000, 'x');
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => c.publish(name, queue, { body: body(i), partition: 1 })));
    expect(results.map((acks) => acks.length)).toEqual(Array.from({ length: 12 }, () => 1));
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.length).toBeLessThan(12);
    expect(frames.reduce((a, b) => a + b, 0)).toBe(12);
    expect(await bodies(c, name, queue, 1)).toEqual(Array.from({ length: 12 }, (_, i) => body(i)));
  });

  it('at most max_publish_messages (1000) per frame', async () => {
    const { c, name, queue, frames } = await connected();
    const results = await Promise.all(Array.from({ length: 1500 }, (_, i) => c.publish(name, queue, { body: `n${i}`, partition: 2 })));
    expect(frames).toEqual([1000, 500]);
    const seqs = results.map((acks) => acks[0]!.seq);
    expect(seqs).toEqual(Array.from({ length: 1500 }, (_, i) => seqs[0]! + i));
  });
});
