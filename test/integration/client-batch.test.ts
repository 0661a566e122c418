/**
 * The SDK's batched delivery against a real server (both engines, both formats): by default it
 * subscribes with `batch: true` and the server sends `messages` frames, yet the application sees
 * exactly what a per-message subscription (`batch: false`) sees — one event per message, in order,
 * the cursor advancing per message — also across a reconnect.
 */
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HoldlineClient, type MessageFrame } from '../../src/client/index.js';
import type { WebSocketConstructor } from '../../src/client/transport.js';
import { decodeServerFrame } from '../../src/codec/index.js';
import type { WireFormat } from '../../src/codec/limits.js';
import type { Engine } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { JSON_CT } from '../helpers/server.js';
import { startWsServer, type WsServer } from '../helpers/ws-client.js';

/** A `ws` WebSocket that also records the type of every frame the server sends. */
function spyingWebSocket(format: WireFormat, types: string[], sockets: WebSocket[]): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
      this.on('message', (data: Buffer, isBinary: boolean) => {
        const decoded = decodeServerFrame(isBinary ? new Uint8Array(data) : data.toString('utf8'), format);
        types.push(decoded.ok ? decoded.frame.type : 'undecodable');
      });
    }
  };
}

const cases = engineFactories.flatMap((factory) => (['json', 'msgpack'] as const).map((format) => ({ factory, format, name: `${factory.name}, ${format}` })));

describe.each(cases)('client SDK, batched delivery ($name)', ({ factory, format }) => {
  let engine: Engine;
  let s: WsServer;
  const clients: HoldlineClient[] = [];

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.close();
    await engine.close();
  });

  const url = (): string => `${s.url.replace(/^http/, 'ws')}/v1/ws`;

  it('batch (default) and per-message clients deliver the same messages one by one; only the frames differ', async () => {
    const { name, key } = await s.server.createApp();
    const res = await s.server.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ partitions: 2 }) });
    const queue = ((await res.json()) as { queue_name: string }).queue_name;

    const batchTypes: string[] = [];
    const plainTypes: string[] = [];
    const batchSockets: WebSocket[] = [];
    const mk = (types: string[], sockets: WebSocket[], batch?: boolean): HoldlineClient => {
      const c = new HoldlineClient({
        urls: url(), key, format, backoff: { baseMs: 20, maxMs: 200 },
        WebSocket: spyingWebSocket(format, types, sockets), ...(batch === undefined ? {} : { batch }),
      });
      clients.push(c);
      return c;
    };
    const batched = mk(batchTypes, batchSockets);
    const plain = mk(plainTypes, [], false);
    const producer = mk([], []);

    const got = { batched: [] as MessageFrame[], plain: [] as MessageFrame[] };
    const subB = batched.subscribe(name, queue, { partitions: [1, 2] });
    const subP = plain.subscribe(name, queue, { partitions: [1, 2] });
    const cursorOk: boolean[] = [];
    subB.on('message', (m) => {
      got.batched.push(m);
      cursorOk.push(subB.lastMessageIds()[m.partition] === m.message_id);
    });
    subP.on('message', (m) => got.plain.push(m));
    await Promise.all([subB.ready, subP.ready]);

    const acks = await producer.publish(name, queue, Array.from({ length: 300 }, (_, i) => ({ body: i % 3 === 0 ? new Uint8Array([i % 256, 7]) : `b${i}`, partition: (i % 2) + 1 })));
    const until = async (n: number): Promise<void> => {
      for (let i = 0; i < 1000 && (got.batched.length < n || got.plain.length < n); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(300);
    expect(got.batched).toEqual(got.plain);
    const perPartition = (ms: Array<{ partition: number; message_id: string }>, p: number) => ms.filter((m) => m.partition === p).map((m) => m.message_id);
    for (const p of [1, 2]) expect(perPartition(got.batched, p)).toEqual(perPartition(acks, p));
    expect(cursorOk.every(Boolean)).toBe(true);
    expect(batchTypes).toContain('messages');
    expect(batchTypes).not.toContain('message');
    expect(plainTypes).toContain('message');
    expect(plainTypes).not.toContain('messages');
    // Fewer frames than messages: that is the point.
    expect(batchTypes.filter((t) => t === 'messages').length).toBeLessThan(300);

    // A dropped link: the batch client resumes after its last message, nothing lost or repeated.
    batchSockets.at(-1)!.terminate();
    const more = await producer.publish(name, queue, Array.from({ length: 50 }, (_, i) => ({ body: `c${i}`, partition: (i % 2) + 1 })));
    await until(350);
    for (const p of [1, 2]) expect(perPartition(got.batched, p)).toEqual(perPartition([...acks, ...more], p));
    expect(got.batched).toEqual(got.plain);
    expect(subB.droppedFrames).toBe(0);
  });
});
