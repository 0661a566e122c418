/**
 * Replies to pipelined frames (publish, ping) are held to the end of the loop turn and written
 * corked per connection (src/server/ws/send.ts sendReply). What must survive the batching, on both
 * engines: every frame still gets exactly one reply; a failing frame affects no other frame's
 * reply; replies to publishes of one partition arrive in the order sent; and a barrier frame's
 * reply arrives after the replies of every frame sent before it (held replies are written first).
 */
import { describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import { engineFactories } from '../helpers/engines.js';
import { useQueueClient } from '../helpers/ws-client.js';

const N = 300;

function idOf(f: ServerFrame): string | undefined {
  return 'id' in f && typeof f.id === 'string' ? f.id : undefined;
}

describe.each(engineFactories)('ws reply batching ($name)', (factory) => {
  const fixture = useQueueClient(factory, 3);

  it('a burst of publishes and pings with failing frames among them: one reply each, failures only where sent, partition order kept', async () => {
    const { app: shop, queue: q, client: c } = fixture();
    const expected = new Map<string, string>();
    for (let i = 0; i < N; i++) {
      const partition = 1 + (i % 3);
      c.send({ type: 'publish', id: `p${i}`, application: shop.name, queue: q.name, messages: [{ body: `m${i}`, partition }] });
      expected.set(`p${i}`, 'published');
      switch (i % 20) {
        case 3:
          c.send({ type: 'publish', id: `nq${i}`, application: shop.name, queue: 'no-such-queue', messages: [{ body: 'x', partition: 1 }] });
          expected.set(`nq${i}`, 'queue_not_found');
          break;
        case 7:
          c.send({ type: 'publish', id: `np${i}`, application: shop.name, queue: q.name, messages: [{ body: 'x', partition: 9 }] });
          expected.set(`np${i}`, 'partition_out_of_range');
          break;
        case 11:
          c.send({ type: 'ping', id: `ping${i}` });
          expected.set(`ping${i}`, 'pong');
          break;
        case 13:
          // Not even a frame: answered with an error without an id, and nothing else changes.
          c.sendRaw('{"type":"publish",');
          break;
      }
    }
    const malformed = Math.floor((N - 14) / 20) + 1;
    await c.until(() => c.frames.filter((f) => idOf(f) !== undefined).length === expected.size, 'every reply with an id');
    await c.until(() => c.frames.filter((f) => f.type === 'error' && idOf(f) === undefined).length === malformed, 'every malformed-frame error');

    const replies = c.frames.filter((f) => idOf(f) !== undefined);
    expect(new Set(replies.map(idOf)).size).toBe(replies.length);
    for (const f of replies) {
      const want = expected.get(idOf(f)!)!;
      if (f.type === 'error') expect(f.error.code).toBe(want);
      else expect(f.type).toBe(want);
    }
    // Per partition: replies in the order sent, seq 1, 2, 3, ... (every failing frame stored nothing).
    for (let p = 1; p <= 3; p++) {
      const published = replies.filter((f) => f.type === 'published' && f.messages[0]!.partition === p);
      const sent = Array.from({ length: N }, (_, i) => i).filter((i) => 1 + (i % 3) === p);
      expect(published.map(idOf)).toEqual(sent.map((i) => `p${i}`));
      expect(published.map((f) => (f.type === 'published' ? f.messages[0]!.seq : -1))).toEqual(sent.map((_, j) => j + 1));
    }
    expect(c.closeEvent).toBeNull();
  });

  it("a barrier frame's reply comes after the replies of every frame sent before it", async () => {
    const { app: shop, queue: q, client: c } = fixture();
    for (let i = 0; i < N; i++) c.send({ type: 'publish', id: `p${i}`, application: shop.name, queue: q.name, messages: [{ body: `m${i}`, partition: 1 }] });
    c.send({ type: 'ping', id: 'ping' });
    c.send({ type: 'history', id: 'h', application: shop.name, queue: q.name, partitions: [1], limit: 1000 });
    const history = await c.waitFor((f) => idOf(f) === 'h', 'history reply');
    const at = c.frames.indexOf(history);
    const before = c.frames.slice(0, at).map(idOf);
    for (let i = 0; i < N; i++) expect(before).toContain(`p${i}`);
    expect(before).toContain('ping');
    if (history.type !== 'history.result') throw new Error(JSON.stringify(history));
    expect(history.messages.map((m) => m.body)).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
  });
});
