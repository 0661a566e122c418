/**
 * The SDK's processing-state calls against a real server, on both engines and both wire formats:
 * setState with if_state (state_conflict carries the current state), claim (null when lost),
 * replies, and filtered history.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HoldlineClient, HoldlineRequestError } from '../../src/client/index.js';
import { engineFactories } from '../helpers/engines.js';
import { JSON_CT } from '../helpers/server.js';
import { useWsServer } from '../helpers/ws-client.js';

const clients: HoldlineClient[] = [];
const cases = engineFactories.flatMap((factory) => (['json', 'msgpack'] as const).map((format) => ({ factory, format, name: `${factory.name}, ${format}` })));

describe.each(cases)('client SDK: processing state ($name)', ({ factory, format }) => {
  const srv = useWsServer(factory);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('setState, claim, replies and filtered history', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    expect((await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'jobs', partitions: 2 }) })).status).toBe(201);
    const c = new HoldlineClient({ urls: `${s.url.replace(/^http/, 'ws')}/v1/ws`, key, format });
    clients.push(c);
    const [a, b] = await c.publish(name, 'jobs', [{ body: 'a', partition: 1 }, { body: 'b', partition: 2 }]);

    const claimed = await c.claim(name, 'jobs', b!.message_id, { client_json: { worker: 1 } });
    expect(claimed).toMatchObject({ message_id: b!.message_id, client_state: 'processing', client_json: { worker: 1 } });
    expect(await c.claim(name, 'jobs', b!.message_id)).toBeNull();
    const err = await c.setState(name, 'jobs', 2, b!.message_id, { client_state: 'done', if_state: 'none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HoldlineRequestError);
    expect(err).toMatchObject({ code: 'state_conflict', currentState: 'processing' });
    const done = await c.setState(name, 'jobs', 2, b!.message_id, { client_state: 'done', if_state: 'processing' });
    expect(done.client_state).toBe('done');
    expect(done.updated_at).toBeGreaterThanOrEqual(claimed!.updated_at!);
    // claim reports only lost races as null; an unknown message still rejects.
    await expect(c.claim(name, 'jobs', `${a!.message_id.slice(0, 28)}ffff`)).rejects.toMatchObject({ code: 'message_not_found' });

    const [r1, r2] = await c.publish(name, 'jobs', [{ body: 're 1', partition: 2, in_reply_to: b!.message_id }, { body: 're 2', partition: 1, in_reply_to: b!.message_id }]);
    // Merged message order (protocol/rest.md): timestamp, then partition, then seq.
    const inOrder = [r1!, r2!].sort((x, y) => x.timestamp - y.timestamp || x.partition - y.partition).map((r) => r.message_id);
    const replies = await c.replies(name, 'jobs', b!.message_id);
    expect(replies.messages.map((m) => m.message_id)).toEqual(inOrder);
    expect((await c.replies(name, 'jobs', b!.message_id, { limit: 1, order: 'descending' })).messages.map((m) => m.message_id)).toEqual([inOrder[1]]);

    const open = await c.history(name, 'jobs', { partitions: [1, 2], client_state: ['none'] });
    expect(open.messages.map((m) => m.message_id)).toEqual([a!.message_id, ...inOrder]);
    const changed = await c.history(name, 'jobs', { partitions: [1, 2], updated_since: done.updated_at! });
    expect(changed.messages.map((m) => m.message_id)).toEqual([b!.message_id]);
  });
});
