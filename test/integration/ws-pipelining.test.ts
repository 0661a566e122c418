/**
 * One connection sending publish frames without waiting for replies (protocol/websocket.md 3.1
 * "Order"): the server pipelines them (dispatch.ts), and the partition still holds them in the
 * order sent, including when frames that fail sit between them.
 */
import { describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import { engineFactories } from '../helpers/engines.js';
import { useQueueClient } from '../helpers/ws-client.js';

const redis = engineFactories.find((f) => f.name === 'redis')!;
const N = 500;

describe('ws publish pipelining (redis)', () => {
  const fixture = useQueueClient(redis, 2);

  it('500 publishes sent back to back are all answered and stored in the order sent', async () => {
    const { app: shop, queue: q, client: c } = fixture();
    for (let i = 0; i < N; i++) {
      // Every 50th frame fails before reaching the engine; it must not let later frames overtake.
      if (i % 50 === 25) c.send({ type: 'publish', id: `bad${i}`, application: shop.name, queue: 'no-such-queue', messages: [{ body: 'x', partition: 1 }] });
      c.send({ type: 'publish', id: `p${i}`, application: shop.name, queue: q.name, messages: [{ body: `m${i}`, partition: 1 }] });
    }
    const replied = (f: ServerFrame): boolean => 'id' in f && typeof f.id === 'string';
    await c.until(() => c.frames.filter(replied).length === N + N / 50, 'every reply');
    const byId = new Map(c.frames.filter(replied).map((f) => [(f as { id: string }).id, f]));
    for (let i = 0; i < N; i++) {
      const reply = byId.get(`p${i}`);
      expect(reply?.type).toBe('published');
      if (reply?.type === 'published') expect(reply.messages[0]!.seq).toBe(i + 1);
    }
    for (let i = 25; i < N; i += 50) expect(byId.get(`bad${i}`)).toMatchObject({ type: 'error', error: { code: 'queue_not_found' } });

    const bodies: unknown[] = [];
    let since: string | undefined;
    // `since` a message id includes that message (websocket.md 4.5): each later page repeats it.
    for (;;) {
      const page = await c.request({ type: 'history', application: shop.name, queue: q.name, partitions: [1], limit: 100, ...(since === undefined ? {} : { since }) });
      if (page.type !== 'history.result') throw new Error(JSON.stringify(page));
      const fresh = since === undefined ? page.messages : page.messages.slice(1);
      if (fresh.length === 0) break;
      bodies.push(...fresh.map((m) => m.body));
      since = page.messages.at(-1)!.message_id;
    }
    expect(bodies).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
  });
});
