/**
 * Engine conformance, TTL (SPEC.md 3.1): a message is invisible to every read, get, count, update and
 * delete from the moment its ttl passes, even before the engine reclaims it, and nothing else
 * disappears. Waits real time for a 1-second ttl to pass (the one wait this suite allows itself).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../src/engine/types.js';
import { engineFactories, freshQueue, ids, msg, ref, useEngine } from '../helpers/engines.js';

const all = { limit: 1000, order: 'ascending' } as const;

/** Waits until every given message's expiry instant is 200 ms in the past. */
async function outlive(messages: StoredMessage[]): Promise<void> {
  const until = Math.max(...messages.map((m) => m.expiresAtMs)) + 200;
  await sleep(Math.max(0, until - Date.now()));
}

describe.each(engineFactories)('engine conformance: ttl ($name)', (factory) => {
  const engine = useEngine(factory);

  it('hides a message once its 1-second ttl has passed, and only that message', async () => {
    const queue = await freshQueue(engine(), 2);
    const before = Date.now();
    const out = await engine().append(queue, [
      msg('short-1', 1, 1),
      msg('long-1', 1, 3600),
      msg('short-2', 1, 1),
      msg('long-2', 1, 3600),
      msg('long-other', 2, 3600),
      msg('short-other', 2, 1),
    ]);
    const after = Date.now();
    // expiresAt = append time + ttl (clocks of engine and test agree to within a second).
    expect(out[0]!.expiresAtMs).toBeGreaterThanOrEqual(before);
    expect(out[0]!.expiresAtMs).toBeLessThanOrEqual(after + 2000);
    const short = out.filter((m) => m.ttl === 1);
    const long = out.filter((m) => m.ttl === 3600);

    // Re-timed before expiry: extended one survives, shortened one goes.
    const [extended] = await engine().append(queue, [msg('extended', 1, 1)]);
    const [shortened] = await engine().append(queue, [msg('shortened', 1, 3600)]);
    expect(await engine().updateMessage(ref(queue), extended!.id, { ttl: 3600 })).not.toBeNull();
    const shortenedNow = await engine().updateMessage(ref(queue), shortened!.id, { ttl: 1 });
    expect(await engine().count(ref(queue, 1))).toBe(6);

    await outlive([...short, extended!, shortenedNow!]);

    const survivors1 = [out[1]!.id, out[3]!.id, extended!.id];
    expect(ids(await engine().read(ref(queue, 1), all))).toEqual(survivors1);
    expect(ids(await engine().read(ref(queue, 1), { limit: 1000, order: 'descending' }))).toEqual([...survivors1].reverse());
    expect(ids(await engine().read(ref(queue, 2), all))).toEqual([out[4]!.id]);
    for (const m of [...short, shortened!]) {
      expect(await engine().getMessage(ref(queue, m.partition), m.id)).toBeNull();
      expect(await engine().updateMessage(ref(queue, m.partition), m.id, { clientState: 'late' })).toBeNull();
      expect(await engine().deleteMessages(ref(queue, m.partition), [m.id])).toBe(0);
    }
    // `since` an expired id still positions the read without returning it.
    const since = { kind: 'id', id: out[0]!.id } as const;
    expect(ids(await engine().read(ref(queue, 1), { since, limit: 1, order: 'ascending' }))).toEqual([out[1]!.id]);
    for (const m of long) expect((await engine().getMessage(ref(queue, m.partition), m.id))!.body).toBe(m.body);
    expect((await engine().getMessage(ref(queue, 1), extended!.id))!.ttl).toBe(3600);
    expect(await engine().count(ref(queue, 1))).toBe(3);
    expect(await engine().count(ref(queue, 2))).toBe(1);
  });
});
