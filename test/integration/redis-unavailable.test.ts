/**
 * Redis going away (issue 6, SPEC.md 3.6): every engine call rejects at once with
 * HoldlineError('engine_unavailable') instead of hanging, ready() turns false; when Redis comes
 * back the engine recovers by itself, and a listener subscribed before the outage is told to resync
 * (it may have missed messages) and then receives live messages again.
 *
 * "At once" is enforced by the test timeouts, well below the engine's command timeout (5 s): a call
 * that waited for Redis instead of failing would time the test out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { PartitionEvent, QueueMeta } from '../../src/engine/types.js';
import { isHoldlineError } from '../../src/errors.js';
import { freshQueue, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];

async function rejectsUnavailable(call: Promise<unknown>): Promise<void> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isHoldlineError(err) ? err.code : err).toBe('engine_unavailable');
}

describe('redis engine: Redis unavailable', () => {
  let dir: string;
  let server: RedisServerHandle;
  let engine: RedisEngine;
  let queue: QueueMeta;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'holdline-down-'));
    server = await startRedisServer({ args: AOF, dir });
    engine = new RedisEngine({ url: server.url, prefix: freshPrefix('down') });
    await engine.start();
    queue = await freshQueue(engine, 2);
  });
  afterEach(async () => {
    await engine.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects every call with engine_unavailable while Redis is down, and ready() is false', { timeout: 3000 }, async () => {
    await engine.append(queue, [msg('before')]);
    await server.kill();
    expect(await engine.ready()).toBe(false);
    await rejectsUnavailable(engine.append(queue, [msg('during')]));
    await rejectsUnavailable(engine.append({ ...queue, consistency: 'strong' }, [msg('during', 2)]));
    await rejectsUnavailable(engine.read(ref(queue), { limit: 10, order: 'ascending' }));
    await rejectsUnavailable(engine.getMessage(ref(queue), '0'.repeat(32)));
    await rejectsUnavailable(engine.count(ref(queue)));
    await rejectsUnavailable(engine.deleteMessages(ref(queue), ['0'.repeat(32)]));
    await rejectsUnavailable(engine.updateMessage(ref(queue), '0'.repeat(32), { clientState: 'x' }));
    // Queue metadata already known keeps answering during an outage of the registry (meta-cache.ts
    // "Registry outage"), but nothing that needs Redis itself does.
    expect(await engine.getQueue(queue.application, queue.name)).toEqual(queue);
    await rejectsUnavailable(engine.getQueue(queue.application, 'never-seen'));
    await rejectsUnavailable(engine.listQueues(queue.application, { limit: 10 }));
    await rejectsUnavailable(engine.createApp('new-app'));
    await rejectsUnavailable(engine.appForKey('some-key'));
    await rejectsUnavailable(engine.subscribe(ref(queue), () => undefined));
    await rejectsUnavailable(engine.sweep());
  });

  it('fails to start with engine_unavailable when Redis is not there', { timeout: 5000 }, async () => {
    await server.kill();
    const other = new RedisEngine({ url: server.url, prefix: freshPrefix('down') });
    await rejectsUnavailable(other.start());
    expect(await other.ready()).toBe(false);
    await other.close();
  });

  it('recovers when Redis returns: listeners get a resync, then live messages again', async () => {
    const events: PartitionEvent[] = [];
    await engine.subscribe(ref(queue), (e) => events.push(e));
    const [before] = await engine.append(queue, [msg('before')]);
    await until(() => events.length === 1);

    await server.stop();
    await rejectsUnavailable(engine.append(queue, [msg('during')]));
    server = await startRedisServer({ args: AOF, dir, port: server.port });

    await until(() => engine.ready());
    await until(() => events.some((e) => e.type === 'resync'));
    const [after] = await engine.append(queue, [msg('after')]);
    await until(() => events.length === 3);
    expect(events).toEqual([{ type: 'message', message: before }, { type: 'resync' }, { type: 'message', message: after }]);
    expect(after!.seq).toBe(2);
  });
});
