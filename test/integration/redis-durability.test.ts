/**
 * Restart durability (issue 2): with AOF fsynced on every write, every message the Redis engine
 * acknowledged is found after redis-server stops (SIGTERM, and a SIGKILL crash) and restarts on the
 * same directory and port. The engine that was connected across the restart recovers by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { StoredMessage } from '../../src/engine/types.js';
import { freshQueue, ids, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];
const all = { limit: 1000, order: 'ascending' } as const;

describe('redis engine: restart durability', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  for (const how of ['stop', 'kill'] as const) {
    it(`finds every acknowledged message after redis-server ${how === 'stop' ? 'stops (SIGTERM)' : 'crashes (SIGKILL)'} and restarts`, async () => {
      // Our own directory: the helper removes the directories it creates when the server stops.
      const dir = mkdtempSync(path.join(os.tmpdir(), 'holdline-aof-'));
      cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
      let server: RedisServerHandle = await startRedisServer({ args: AOF, dir });
      const { port, url } = server;
      cleanup.push(async () => {
        await server.stop();
      });
      const prefix = freshPrefix('dur');
      const engine = new RedisEngine({ url, prefix });
      cleanup.push(() => engine.close());
      await engine.start();

      const queue = await freshQueue(engine, 3);
      const acknowledged: StoredMessage[] = [];
      for (let i = 0; i < 20; i++) acknowledged.push(...(await engine.append(queue, [msg(`one-${i}`, 1 + (i % 3))])));
      acknowledged.push(...(await engine.append(queue, [msg('b1', 1), msg(new Uint8Array([0, 1, 254, 255]), 2), msg('b3', 3)])));
      const concurrent = await Promise.all(Array.from({ length: 30 }, (_, i) => engine.append(queue, [msg(`c-${i}`, 1 + (i % 3))])));
      acknowledged.push(...concurrent.flat());

      if (how === 'stop') await server.stop();
      else await server.kill();
      expect(await engine.ready()).toBe(false);
      server = await startRedisServer({ args: AOF, dir, port });

      const fresh = new RedisEngine({ url, prefix });
      cleanup.push(() => fresh.close());
      await fresh.start();
      expect(await fresh.getQueue(queue.application, queue.name)).toEqual(queue);
      for (const p of [1, 2, 3]) {
        const expected = acknowledged.filter((m) => m.partition === p).sort((a, b) => (a.id < b.id ? -1 : 1));
        expect(await fresh.read(ref(queue, p), all)).toEqual(expected);
      }

      // The engine connected across the restart reconnects by itself, and ids keep increasing.
      await until(() => engine.ready());
      const [after] = await engine.append(queue, [msg('after', 1)]);
      const p1 = await fresh.read(ref(queue, 1), all);
      expect(ids(p1).at(-1)).toBe(after!.id);
      expect(after!.seq).toBe(p1.length);
    });
  }
});
