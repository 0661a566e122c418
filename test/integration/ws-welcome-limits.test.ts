/**
 * `welcome` announces every limit a client must respect (protocol/websocket.md 10), with the values
 * the server really applies: the endpoint's limits and the configuration, including the call-queue
 * resume window (HOLDLINE_CALLQUEUE_RESUME_WINDOW), which decides whether `since_seq` resumes or
 * gets a snapshot (5.1).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, configFromEnv } from '../../src/config.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { engineFactories } from '../helpers/engines.js';
import { call, startTestServer } from '../helpers/server.js';
import { WsTestClient } from '../helpers/ws-client.js';

describe('HOLDLINE_CALLQUEUE_RESUME_WINDOW', () => {
  it('is read from the environment (default 1000)', () => {
    expect(DEFAULTS.callQueueResumeWindow).toBe(1000);
    expect(configFromEnv({}).callQueueResumeWindow).toBe(1000);
    expect(configFromEnv({ HOLDLINE_CALLQUEUE_RESUME_WINDOW: '25' }).callQueueResumeWindow).toBe(25);
    expect(() => configFromEnv({ HOLDLINE_CALLQUEUE_RESUME_WINDOW: 'many' })).toThrow(/HOLDLINE_CALLQUEUE_RESUME_WINDOW/);
  });
});

describe.each(engineFactories)('welcome limits ($name)', (factory) => {
  it('announces the applied limits; since_seq resumes within the configured window and gets a snapshot beyond it', async () => {
    const engine = await factory.create();
    const endpoint = createWebSocketEndpoint({ limits: { maxReplyBytes: 200_000, maxPendingFrames: 77, bufferLimitBytes: 300_000, maxBufferBytes: 900_000, drainTimeoutMs: 4_000 } });
    const s = await startTestServer(engine, { callQueueResumeWindow: 3 }, { mounts: [endpoint.mount] });
    try {
      const app = await s.createApp();
      const c = await WsTestClient.connect(s.url, { key: app.key });
      const welcome = await c.next('welcome');
      expect(welcome.limits).toEqual({
        max_frame_bytes: endpoint.limits.maxFrameBytes,
        max_message_bytes: s.config.maxMessageBytes,
        max_publish_messages: 1000,
        max_subscriptions: endpoint.limits.maxSubscriptions,
        max_reply_bytes: 200_000,
        max_pending_frames: 77,
        buffer_limit_bytes: 300_000,
        max_buffer_bytes: 900_000,
        drain_timeout_ms: 4_000,
        callqueue_resume_window: 3,
      });

      const q = (await call(s, app.key, 'POST', '/v1/queues', { name: 'support', description: 'd' })).body.uuid as string;
      for (let i = 0; i < 6; i++) expect((await call(s, app.key, 'POST', `/v1/queues/${q}/callers`, { name: 'c', number: '6135550000' })).status).toBe(201);
      // seq is 6: the window keeps changes 4–6, so 3 resumes and 2 does not.
      expect(await c.request({ type: 'callqueue.subscribe', queue_id: q, since_seq: 3 })).toMatchObject({ seq: 3, recovered: true });
      await c.request({ type: 'callqueue.unsubscribe', queue_id: q });
      expect(await c.request({ type: 'callqueue.subscribe', queue_id: q, since_seq: 2 })).toMatchObject({ seq: 6, recovered: false });
      await c.close();
    } finally {
      await s.close();
      await engine.close();
    }
  });
});
