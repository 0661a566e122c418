/**
 * A Holdline node dies (issue 6, faults): two `holdline serve` processes on one redis-server, an
 * SDK subscriber given both URLs and connected to the first. The first is killed (SIGKILL, no
 * goodbye) while a producer keeps publishing on the survivor; the subscriber moves to the survivor
 * by itself and resumes every partition with no gap and no duplicate.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HoldlineClient, type MessageFrame, type PartitionRecovery } from '../../src/client/index.js';
import { startHoldlineProcess, type HoldlineProcess } from '../helpers/holdline-process.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { JSON_CT } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

describe('a Holdline node dies under its clients', () => {
  let redis: RedisServerHandle;
  const nodes: HoldlineProcess[] = [];
  const adminKey = randomBytes(12).toString('hex');

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = { HOLDLINE_ENGINE: 'redis', HOLDLINE_REDIS_URL: redis.url, HOLDLINE_REDIS_PREFIX: freshPrefix('death'), HOLDLINE_ADMIN_KEY: adminKey };
    nodes.push(...(await Promise.all([startHoldlineProcess(env), startHoldlineProcess(env)])));
  }, 30_000);
  afterAll(async () => {
    for (const n of nodes) await n.kill('SIGKILL');
    await redis?.stop();
  });

  it('the SDK moves to the surviving node and resumes with no gap and no duplicate', { timeout: 60_000 }, async () => {
    const [doomed, survivor] = nodes as [HoldlineProcess, HoldlineProcess];
    const rest = (port: number, path: string, init: RequestInit): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`, init);
    const app = `death-${randomBytes(4).toString('hex')}`;
    const created = await rest(survivor.port, '/v1/apps', { method: 'POST', headers: { ...JSON_CT, authorization: `Admin ${adminKey}` }, body: JSON.stringify({ name: app }) });
    const { key } = (await created.json()) as { key: string };
    const auth = { ...JSON_CT, authorization: `Application ${key}` };
    const q = await rest(survivor.port, `/${app}`, { method: 'POST', headers: auth, body: JSON.stringify({ partitions: 3 }) });
    const queue = ((await q.json()) as { queue_name: string }).queue_name;

    const urls = [doomed, survivor].map((n) => `ws://127.0.0.1:${n.port}/v1/ws`);
    const client = new HoldlineClient({ urls, key, backoff: { baseMs: 20, maxMs: 200 } });
    try {
      const got: MessageFrame[] = [];
      const sub = client.subscribe(app, queue, { partitions: [1, 2, 3] }, (m) => got.push(m));
      await sub.ready;
      expect(client.state).toMatchObject({ status: 'connected', url: urls[0] });
      const recoveries: PartitionRecovery[] = [];
      sub.on('recovery', (r) => recoveries.push(r));

      // A producer on the survivor, publishing all along (REST: it has nothing to do with the subscriber's link).
      const acked: { partition: number; message_id: string }[] = [];
      let producing = true;
      const producer = (async () => {
        for (let i = 0; producing; i++) {
          const partition = 1 + (i % 3);
          const res = await rest(survivor.port, `/${app}/${queue}`, { method: 'POST', headers: auth, body: JSON.stringify({ body: `m${i}`, partition }) });
          expect(res.status).toBe(201);
          acked.push({ partition, message_id: ((await res.json()) as { messages: { key: string }[] }).messages[0]!.key });
          await new Promise((r) => setTimeout(r, 2));
        }
      })();

      try {
        await until(() => got.length >= 30);
        await doomed.kill('SIGKILL');
        await until(() => client.state.status === 'connected' && recoveries.length === 3);
        const countAtMove = acked.length;
        await until(() => acked.length >= countAtMove + 30);
      } finally {
        producing = false;
        await producer;
      }
      expect(client.state).toMatchObject({ status: 'connected', url: urls[1] });
      expect(recoveries.map((r) => [r.partition, r.recovered, r.cause]).sort()).toEqual([
        [1, true, 'reconnect'],
        [2, true, 'reconnect'],
        [3, true, 'reconnect'],
      ]);
      await until(() => got.length >= acked.length);
      const byPartition = (ms: { partition: number; message_id: string }[]): Record<number, string[]> => {
        const out: Record<number, string[]> = { 1: [], 2: [], 3: [] };
        for (const m of ms) out[m.partition]!.push(m.message_id);
        return out;
      };
      expect(byPartition(got)).toEqual(byPartition(acked));
      expect(got).toHaveLength(acked.length);
    } finally {
      await client.close();
    }
  });
});
