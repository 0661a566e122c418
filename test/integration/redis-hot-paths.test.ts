/**
 * The Redis engine's hot paths kept to as few round trips as correctness allows (index.ts header):
 * reads skip expired-but-unreclaimed messages whether there are few (looked up from one list) or
 * many (asked per candidate); records decode byte-exact with every optional field.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { StoredMessage } from '../../src/engine/types.js';
import { freshQueue, ids, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';

async function outlive(messages: StoredMessage[]): Promise<void> {
  const until = Math.max(...messages.map((m) => m.expiresAtMs)) + 100;
  await sleep(Math.max(0, until - Date.now()));
}

describe('redis engine: hot paths', () => {
  const engines: RedisEngine[] = [];
  let prefix: string;

  async function engine(): Promise<RedisEngine> {
    const e = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000 });
    engines.push(e);
    await e.start();
    return e;
  }

  beforeEach(() => {
    prefix = freshPrefix('hot');
  });
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
  });

  it.each([
    ['a few', 5],
    ['more than the read script lists at once', 300],
  ])('reads around %s expired, unreclaimed messages in both orders and every limit', async (_label, expiring) => {
    const e = await engine();
    const queue = await freshQueue(e, 1);
    // Expiring and lasting messages interleaved, so every page has to skip some.
    const batch = Array.from({ length: expiring * 2 }, (_, i) => msg(`m${i}`, 1, i % 2 === 0 ? 1 : 3600));
    const stored = await e.append(queue, batch);
    await outlive(stored.filter((m) => m.ttl === 1));
    const live = stored.filter((m) => m.ttl === 3600).map((m) => m.id);
    for (const limit of [1, 7, 100, 1000]) {
      expect(ids(await e.read(ref(queue), { limit, order: 'ascending' }))).toEqual(live.slice(0, limit));
      expect(ids(await e.read(ref(queue), { limit, order: 'descending' }))).toEqual([...live].reverse().slice(0, limit));
    }
    const since = { kind: 'id', id: stored[2]!.id } as const;
    expect(ids(await e.read(ref(queue), { since, limit: 3, order: 'ascending' }))).toEqual(live.slice(1, 4));
  });

  it('decodes every field of a record as stored, text and binary bodies alike', async () => {
    const e = await engine();
    const queue = await freshQueue(e, 2);
    const binary = Uint8Array.from([0, 255, 1, 254, 0x69, 0, 0, 0, 9]);
    const [text, bin] = await e.append(queue, [
      msg('héllo ✓ \u0000 end', 1, 77, { contentType: 'text/plain; charset=utf-8' }),
      msg(binary, 2, 3600, { inReplyTo: '0'.repeat(32) }),
    ]);
    const updated = await e.updateMessage(ref(queue, 1), text!.id, { clientState: 'seen', clientJson: { a: [1, 'x', null] }, ttl: 120 });
    expect(updated).toMatchObject({ body: 'héllo ✓ \u0000 end', ttl: 120, clientState: 'seen', clientJson: { a: [1, 'x', null] } });
    expect(updated!.updatedAtUs).toBeGreaterThanOrEqual(text!.timestampUs);
    expect(await e.read(ref(queue, 1), { limit: 10, order: 'ascending' })).toEqual([updated]);
    const [readBin] = await e.read(ref(queue, 2), { limit: 10, order: 'ascending' });
    expect(readBin).toEqual(bin);
    expect(Buffer.from(readBin!.body as Uint8Array).equals(Buffer.from(binary))).toBe(true);
  });
});
