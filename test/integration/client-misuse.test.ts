/**
 * The SDK when the application gets it wrong, against a real server: every mistake is a clear
 * error, never a hang, a crashed process or silently dropped messages. Arguments a TypeScript
 * caller could not pass are passed with casts, as plain JavaScript would pass them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HoldlineClient, HoldlineClientError, HoldlineRequestError, type MessageFrame } from '../../src/client/index.js';
import type { Engine } from '../../src/engine/types.js';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { appWithKey, queueOf, startWsServer, type WsServer } from '../helpers/ws-client.js';

describe('client SDK misuse (memory engine)', () => {
  let engine: Engine;
  let s: WsServer;
  let app: { name: string; key: string };
  let queue: string;
  const clients: HoldlineClient[] = [];

  beforeEach(async () => {
    engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
    await engine.start();
    s = await startWsServer(engine);
    app = await appWithKey(engine);
    queue = (await queueOf(engine, app.name, { partitions: 2 })).name;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await s.close();
    await engine.close();
  });

  function client(key = app.key): HoldlineClient {
    const c = new HoldlineClient({ urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, key, backoff: { baseMs: 20, maxMs: 200 } });
    clients.push(c);
    return c;
  }

  it('close() ends every subscription, view and tail: ready rejects, state says ended, `ended` carries the closed error', async () => {
    const c = client();
    const sub = c.subscribe(app.name, queue);
    await sub.ready;
    const view = c.callQueue('00000000-0000-4000-8000-000000000000');
    const tail = c.events();
    await tail.ready;
    const ends: unknown[] = [];
    sub.on('ended', (e) => ends.push(e));
    tail.on('ended', (e) => ends.push(e));
    await c.close();
    expect(ends).toEqual([
      { reason: 'error', error: expect.objectContaining({ kind: 'closed' }) },
      { reason: 'error', error: expect.objectContaining({ kind: 'closed' }) },
    ]);
    expect(sub.state).toMatchObject({ status: 'ended', end: { reason: 'error' } });
    expect(view.state.status).toBe('ended');
    // The view ends either way: by the server's call_queue_not_found, or by the close.
    await expect(view.ready).rejects.toBeInstanceOf(Error);
  });

  it('a client stopped by the server (refused credentials) ends its subscriptions instead of leaving them pending', async () => {
    const c = client('not-a-key');
    const sub = c.subscribe(app.name, queue);
    await expect(c.connect()).rejects.toMatchObject({ kind: 'closed' });
    await expect(sub.ready).rejects.toMatchObject({ kind: 'closed' });
    expect(sub.state.status).toBe('ended');
  });

  it('subscribe, callQueue and events on a stopped client throw the closed error at once', async () => {
    const c = client();
    await c.connect();
    await c.close();
    expect(() => c.subscribe(app.name, queue)).toThrow(HoldlineClientError);
    expect(() => c.callQueue('00000000-0000-4000-8000-000000000000')).toThrow(HoldlineClientError);
    expect(() => c.events()).toThrow(HoldlineClientError);
  });

  it('publish with malformed arguments rejects with the server error, without crashing the coalesced frame or its neighbours', async () => {
    const c = client();
    await c.connect();
    const good = c.publish(app.name, queue, { body: 'fine', partition: 1 });
    const results = await Promise.allSettled([
      c.publish(app.name, queue, 'hello' as never),
      c.publish(app.name, queue, { partition: 1 } as never),
      c.publish(undefined as never, queue, { body: 'x' }),
      good,
    ]);
    for (const r of results.slice(0, 3)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(HoldlineRequestError);
    }
    expect(results[3]).toMatchObject({ status: 'fulfilled', value: [{ partition: 1, seq: 1 }] });
  });

  it('subscribe(app, queue, onMessage) is refused instead of following partition 1 without a listener', () => {
    const c = client();
    expect(() => c.subscribe(app.name, queue, ((m: MessageFrame) => m) as never)).toThrow(/options must be an object/);
    expect(() => c.subscribe(app.name, queue, {}, 'not a function' as never)).toThrow(/onMessage must be a function/);
  });

  it('an `after` key spelled "01" resumes partition 1 after that id, as the key "1" does', async () => {
    const c = client();
    const [first] = await c.publish(app.name, queue, { body: 'one', partition: 1 });
    await c.publish(app.name, queue, { body: 'two', partition: 1 });
    const got: string[] = [];
    const sub = c.subscribe(app.name, queue, { partitions: [1], after: { '01': first!.message_id } }, (m) => got.push(m.body as string));
    await sub.ready;
    await expect.poll(() => got).toEqual(['two']);
  });

  it('a URL no WebSocket can open is refused by the constructor instead of being retried forever', () => {
    expect(() => new HoldlineClient({ urls: 'ftp://127.0.0.1:7700/v1/ws' })).toThrow(/not a ws:, wss:, http: or https: URL/);
    expect(() => new HoldlineClient({ urls: ['ws://127.0.0.1:7700', 'localhost:7700'] })).toThrow(/localhost:7700 is not a ws:/);
  });

  it('claim with a malformed message id names the id, not a partition the caller never gave', async () => {
    const c = client();
    await expect(c.claim(app.name, queue, 'not-an-id')).rejects.toMatchObject({ code: 'invalid_message_id', field: 'message_id' });
  });
});
