/**
 * The server-wide default service-level threshold (HOLDLINE_SERVICE_LEVEL_SECONDS, config
 * defaultServiceLevelSeconds) over REST on both engines: a call queue created without
 * service_level_seconds gets it, in the queue and in its stats; one created with a value keeps its
 * own; and an answered caller is judged against the queue's threshold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

describe.each(engineFactories)('default service level from the configuration ($name)', (factory) => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      await s.close();
      await s.engine.close();
    }
  });

  async function serverWith(defaultServiceLevelSeconds?: number): Promise<{ s: TestServer; key: string }> {
    const s = await startTestServer(await factory.create(), defaultServiceLevelSeconds === undefined ? {} : { defaultServiceLevelSeconds });
    servers.push(s);
    return { s, key: (await s.createApp()).key };
  }

  it('a queue created without service_level_seconds takes the configured default, in the queue and its stats', async () => {
    const { s, key } = await serverWith(45);
    const created = await call(s, key, 'POST', '/v1/queues', { name: 'support' });
    expect(created.status).toBe(201);
    expect(created.body.service_level_seconds).toBe(45);
    const stats = await call(s, key, 'GET', `/v1/queues/${created.body.uuid}/stats`);
    expect(stats).toMatchObject({ status: 200, body: { service_level_seconds: 45 } });
  });

  it('a queue given service_level_seconds keeps its own', async () => {
    const { s, key } = await serverWith(45);
    const created = await call(s, key, 'POST', '/v1/queues', { name: 'support', service_level_seconds: 5 });
    expect(created.body.service_level_seconds).toBe(5);
  });

  it('without the setting the default is 20 seconds', async () => {
    const { s, key } = await serverWith();
    const created = await call(s, key, 'POST', '/v1/queues', { name: 'support' });
    expect(created.body.service_level_seconds).toBe(20);
  });

  it('an answered caller is judged against the configured threshold', async () => {
    // Each caller waits at least 5 ms by the clock (joined, then answered after that), so it is
    // outside a 0 s threshold and inside a 86 400 s one: no assumption about the machine's speed.
    for (const [threshold, serviceLevel] of [[0, 0], [86_400, 1]] as const) {
      const { s, key } = await serverWith(threshold);
      const q = (await call(s, key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
      const caller = (await call(s, key, 'POST', `/v1/queues/${q}/callers`, { name: 'c', number: '6135550000' })).body.uuid as string;
      const joinedAt = Date.now();
      while (Date.now() - joinedAt < 5) await new Promise((r) => setTimeout(r, 5));
      expect((await call(s, key, 'DELETE', `/v1/queues/${q}/callers/${caller}?reason=answered`)).status).toBe(204);
      const stats = (await call(s, key, 'GET', `/v1/queues/${q}/stats`)).body;
      expect(stats, `threshold ${threshold}`).toMatchObject({ completed: 1, service_level: serviceLevel, service_level_seconds: threshold });
    }
  });
});
