/**
 * Consistency levels on a real replica (issue 6, policy in src/engine/redis/replicas.ts):
 * strong and very_strong appends are acknowledged only once the replica has the write (checked on
 * the replica itself), a write the replica cannot confirm in time (replica frozen with SIGSTOP)
 * rejects with not_confirmed while weak writes still succeed, and without any replica the levels
 * are reported unenforced and writes are acknowledged as weak.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { isHoldlineError } from '../../src/errors.js';
import { freshQueue, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

describe('redis engine: consistency levels', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('waits for the replica at strong and very_strong, and reports not_confirmed when it cannot', async () => {
    // No diskless-sync delay: the replica's first full sync would otherwise wait 5 s.
    const primary = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
    cleanup.push(() => primary.stop());
    const replica: RedisServerHandle = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    let frozen = false;
    cleanup.push(async () => {
      if (frozen) process.kill(replica.pid, 'SIGCONT');
      await replica.stop();
    });
    const onReplica = new Redis(replica.url);
    cleanup.push(async () => onReplica.disconnect());
    await until(async () => /master_link_status:up/.test(await onReplica.info('replication')));

    const prefix = freshPrefix('cons');
    // Writes that must be confirmed get a patient engine, so a busy machine cannot fail them; only the
    // frozen-replica case, which can never be confirmed, uses a short timeout (a second node, same prefix).
    const engine = new RedisEngine({ url: primary.url, prefix, waitTimeoutMs: 10_000, replicaRefreshMs: 100 });
    cleanup.push(() => engine.close());
    await engine.start();
    expect(engine.capabilities.consistency).toEqual({ weak: true, strong: true, very_strong: true });
    const impatient = new RedisEngine({ url: primary.url, prefix, waitTimeoutMs: 300, replicaRefreshMs: 100 });
    cleanup.push(() => impatient.close());
    await impatient.start();
    await until(() => impatient.capabilities.consistency.strong);

    const keys = new RedisKeys(prefix);
    for (const consistency of ['strong', 'very_strong'] as const) {
      const queue = await freshQueue(engine, 1, { consistency });
      const [m] = await engine.append(queue, [msg(`at ${consistency}`)]);
      // Acknowledged means the replica has it now, not eventually.
      expect(await onReplica.zscore(keys.partition(ref(queue)).ids, m!.id)).toBe('0');
    }

    const strong = await freshQueue(engine, 1, { consistency: 'strong' });
    const weak = await freshQueue(engine, 1, { application: strong.application, consistency: 'weak' });
    process.kill(replica.pid, 'SIGSTOP');
    frozen = true;
    const err = await impatient.append(strong, [msg('unconfirmed')]).catch((e: unknown) => e);
    expect(isHoldlineError(err) ? err.code : err).toBe('not_confirmed');
    const err2 = await impatient.append({ ...strong, consistency: 'very_strong' }, [msg('unconfirmed')]).catch((e: unknown) => e);
    expect(isHoldlineError(err2) ? err2.code : err2).toBe('not_confirmed');
    expect(await engine.append(weak, [msg('weak is fine')])).toHaveLength(1);

    process.kill(replica.pid, 'SIGCONT');
    frozen = false;
    const [later] = await engine.append(strong, [msg('confirmed again')]);
    expect(await onReplica.zscore(keys.partition(ref(strong)).ids, later!.id)).toBe('0');
  });

  it('without a replica, reports strong/very_strong unenforced and acknowledges them as weak', async () => {
    const engine = new RedisEngine({ url: inject('redisUrl'), prefix: freshPrefix('cons'), waitTimeoutMs: 300 });
    cleanup.push(() => engine.close());
    await engine.start();
    expect(engine.capabilities).toEqual({ persistence: true, multiNode: true, consistency: { weak: true, strong: false, very_strong: false } });
    const queue = await freshQueue(engine, 1, { consistency: 'very_strong' });
    const stored = await engine.append(queue, [msg('a'), msg('b')]);
    expect(await engine.read(ref(queue), { limit: 10, order: 'ascending' })).toEqual(stored);
  });
});
