/** SPEC.md 3.1 queue management and access rules over real HTTP, on every engine. */
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { FORM, JSON_CT, errorCode, useServer, type TestServer } from '../helpers/server.js';

interface QueueBody {
  status: string;
  application_name: string;
  queue_name: string;
  partitions: number;
  type: string;
  consistency: string;
  principles: string[];
  created: number;
  count?: number;
}

async function createQueue(s: TestServer, app: string, key: string, fields: Record<string, unknown> = {}): Promise<QueueBody> {
  const res = await s.request(`/${app}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify(fields) });
  expect(res.status).toBe(201);
  return (await res.json()) as QueueBody;
}

describe.each(engineFactories)('REST queues ($name)', (factory) => {
  const srv = useServer(factory);

  it('creates a queue with Queuey defaults from an empty form', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const res = await s.request(`/${name}`, { method: 'POST', key });
    expect(res.status).toBe(201);
    const body = (await res.json()) as QueueBody;
    expect(body).toMatchObject({ status: 'ok', application_name: name, partitions: 1, type: 'user', consistency: 'strong', principles: [] });
    expect(body.queue_name).toMatch(/^[0-9a-f]{32}$/);
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(600);
  });

  it('creates a queue from form fields and from JSON, with every setting', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const form = await s.request(`/${name}`, {
      method: 'POST', key, headers: FORM,
      body: 'queue_name=from-form&partitions=4&type=public&consistency=weak&principles=app%3Aother%2Capp%3Athird',
    });
    expect(form.status).toBe(201);
    expect(await form.json()).toMatchObject({ queue_name: 'from-form', partitions: 4, type: 'public', consistency: 'weak', principles: ['app:other', 'app:third'] });
    const json = await createQueue(s, name, key, { queue_name: 'from_json', partitions: 200, consistency: 'very_strong', principles: ['app:x'] });
    expect(json).toMatchObject({ queue_name: 'from_json', partitions: 200, type: 'user', consistency: 'very_strong', principles: ['app:x'] });
  });

  it('refuses a second queue of the same name with 409 and keeps the first', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    await createQueue(s, name, key, { queue_name: 'q', partitions: 2 });
    const res = await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q', partitions: 5 }) });
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe('queue_exists');
    const info = await s.request(`/${name}/q/info`, { key });
    expect(((await info.json()) as QueueBody).partitions).toBe(2);
  });

  it('lists queues by name with limit, offset, details and include_count', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    for (const q of ['c', 'a', 'd', 'b']) await createQueue(s, name, key, { queue_name: q, partitions: 2 });
    await s.request(`/${name}/b`, { method: 'POST', key, headers: FORM, body: 'body=one&partition=1' });
    await s.request(`/${name}/b`, { method: 'POST', key, headers: FORM, body: 'body=two&partition=2' });

    const all = await s.request(`/${name}`, { key });
    expect(await all.json()).toEqual({ status: 'ok', queues: ['a', 'b', 'c', 'd'] });
    const page = await s.request(`/${name}?limit=2&offset=b`, { key });
    expect(await page.json()).toEqual({ status: 'ok', queues: ['b', 'c'] });
    const details = (await (await s.request(`/${name}?details=true&limit=1`, { key })).json()) as { queues: QueueBody[] };
    expect(details.queues).toEqual([expect.objectContaining({ queue_name: 'a', partitions: 2, type: 'user' })]);
    expect(details.queues[0]!.count).toBeUndefined();
    const counted = (await (await s.request(`/${name}?include_count&offset=b&limit=1`, { key })).json()) as { queues: QueueBody[] };
    expect(counted.queues).toEqual([expect.objectContaining({ queue_name: 'b', count: 2 })]);
  });

  it('updates settings, grows partitions, replaces principles, and refuses to shrink', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    await createQueue(s, name, key, { queue_name: 'q', partitions: 2, principles: ['app:a'] });
    const up = await s.request(`/${name}/q`, { method: 'PUT', key, headers: FORM, body: 'partitions=5&type=public&principles=app%3Ab' });
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ status: 'ok', queue_name: 'q', partitions: 5, type: 'public', consistency: 'strong', principles: ['app:b'] });

    const down = await s.request(`/${name}/q`, { method: 'PUT', key, headers: JSON_CT, body: JSON.stringify({ partitions: 4, type: 'user' }) });
    expect(down.status).toBe(400);
    expect(await errorCode(down)).toBe('partitions_decrease');
    const info = (await (await s.request(`/${name}/q/info`, { key })).json()) as QueueBody;
    expect(info).toMatchObject({ partitions: 5, type: 'public', principles: ['app:b'] });

    // Partitions that grew can be written to.
    const post = await s.request(`/${name}/q`, { method: 'POST', key, headers: FORM, body: 'body=x&partition=5' });
    expect(post.status).toBe(201);
  });

  it('deletes a queue with its messages', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    await createQueue(s, name, key, { queue_name: 'q' });
    await s.request(`/${name}/q`, { method: 'POST', key, headers: FORM, body: 'body=old' });
    const del = await s.request(`/${name}/q`, { method: 'DELETE', key });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ status: 'ok' });
    const gone = await s.request(`/${name}/q`, { key });
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('queue_not_found');
    const again = await s.request(`/${name}/q`, { method: 'DELETE', key });
    expect(await errorCode(again)).toBe('queue_not_found');
    await createQueue(s, name, key, { queue_name: 'q' });
    expect(await (await s.request(`/${name}/q`, { key })).json()).toEqual({ status: 'ok', messages: [] });
  });

  it('reports info, with a count across partitions on request', async () => {
    const s = srv();
    const { name, key } = await s.createApp();
    const created = await createQueue(s, name, key, { queue_name: 'q', partitions: 3 });
    for (const p of [1, 2, 3, 3]) await s.request(`/${name}/q`, { method: 'POST', key, headers: FORM, body: `body=m&partition=${p}` });
    const plain = await (await s.request(`/${name}/q/info`, { key })).json();
    expect(plain).toEqual({
      status: 'ok', application_name: name, queue_name: 'q', partitions: 3, type: 'user',
      consistency: 'strong', principles: [], created: created.created,
    });
    expect(await (await s.request(`/${name}/q/info?include_count=1`, { key })).json()).toMatchObject({ count: 4 });
    expect(await (await s.request(`/${name}/q/info?include_count=false`, { key })).json()).not.toHaveProperty('count');
  });
});

describe.each(engineFactories)('REST access rules ($name)', (factory) => {
  const srv = useServer(factory);

  async function setup(s: TestServer) {
    const owner = await s.createApp();
    const other = await s.createApp();
    const reader = await s.createApp();
    await createQueue(s, owner.name, owner.key, { queue_name: 'private' });
    await createQueue(s, owner.name, owner.key, { queue_name: 'shared', principles: [`app:${reader.name}`] });
    await createQueue(s, owner.name, owner.key, { queue_name: 'open', type: 'public' });
    for (const q of ['private', 'shared', 'open']) {
      const r = await s.request(`/${owner.name}/${q}`, { method: 'POST', key: owner.key, headers: FORM, body: 'body=hello' });
      expect(r.status).toBe(201);
    }
    return { owner, other, reader };
  }

  it('needs a key for management and writes: 401 without, 403 with another application\'s', async () => {
    const s = srv();
    const { owner, other } = await setup(s);
    const calls: Array<[string, string, string | undefined]> = [
      ['GET', `/${owner.name}`, undefined],
      ['POST', `/${owner.name}`, 'queue_name=new'],
      ['PUT', `/${owner.name}/open`, 'partitions=2'],
      ['DELETE', `/${owner.name}/open`, undefined],
      ['POST', `/${owner.name}/open`, 'body=intruder'],
      ['PUT', `/${owner.name}/open/${'0'.repeat(26)}01${'0'.repeat(4)}`, 'body=intruder'],
      ['DELETE', `/${owner.name}/open/${'0'.repeat(26)}01${'0'.repeat(4)}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const anonymous = await s.request(path, { method, headers: FORM, ...(body === undefined ? {} : { body }) });
      expect([method, path, anonymous.status, await errorCode(anonymous)]).toEqual([method, path, 401, 'auth_required']);
      const foreign = await s.request(path, { method, key: other.key, headers: FORM, ...(body === undefined ? {} : { body }) });
      expect([method, path, foreign.status, await errorCode(foreign)]).toEqual([method, path, 403, 'forbidden']);
    }
    // Nothing changed: the public queue still has exactly its one message and one partition.
    const read = (await (await s.request(`/${owner.name}/open`)).json()) as { messages: unknown[] };
    expect(read.messages).toHaveLength(1);
    expect(await (await s.request(`/${owner.name}/open/info`)).json()).toMatchObject({ partitions: 1 });
  });

  it('tells a malformed header from an unknown key (both 401)', async () => {
    const s = srv();
    const { owner } = await setup(s);
    for (const header of ['Application', 'Bearer abc', 'Application a b', 'Admin x', 'key']) {
      const res = await s.request(`/${owner.name}/private`, { headers: { authorization: header } });
      expect([header, res.status, await errorCode(res)]).toEqual([header, 401, 'auth_malformed']);
    }
    const bad = await s.request(`/${owner.name}/private`, { key: 'not-a-key' });
    expect([bad.status, await errorCode(bad)]).toEqual([401, 'auth_invalid']);
    // Presented credentials are checked even where none are needed.
    const badOnPublic = await s.request(`/${owner.name}/open`, { key: 'not-a-key' });
    expect([badOnPublic.status, await errorCode(badOnPublic)]).toEqual([401, 'auth_invalid']);
  });

  it('lets the owner, listed principles and (for public queues) anyone read', async () => {
    const s = srv();
    const { owner, other, reader } = await setup(s);
    const cases: Array<[string, string | undefined, number]> = [
      ['private', owner.key, 200], ['private', reader.key, 403], ['private', other.key, 403], ['private', undefined, 401],
      ['shared', owner.key, 200], ['shared', reader.key, 200], ['shared', other.key, 403], ['shared', undefined, 401],
      ['open', owner.key, 200], ['open', reader.key, 200], ['open', other.key, 200], ['open', undefined, 200],
    ];
    for (const [queue, key, status] of cases) {
      for (const suffix of ['', '/info']) {
        const res = await s.request(`/${owner.name}/${queue}${suffix}`, key === undefined ? {} : { key });
        expect([queue, suffix, key === undefined ? 'none' : key.slice(0, 4), res.status]).toEqual([queue, suffix, key === undefined ? 'none' : key.slice(0, 4), status]);
      }
    }
    // A reader may read but never write, even when listed.
    const write = await s.request(`/${owner.name}/shared`, { method: 'POST', key: reader.key, headers: FORM, body: 'body=x' });
    expect([write.status, await errorCode(write)]).toEqual([403, 'forbidden']);
  });

  it('answers 404 for unknown applications and queues', async () => {
    const s = srv();
    const { owner } = await setup(s);
    const noApp = await s.request('/no-such-app/q', {});
    expect([noApp.status, await errorCode(noApp)]).toEqual([404, 'app_not_found']);
    const noQueue = await s.request(`/${owner.name}/nope`, { key: owner.key });
    expect([noQueue.status, await errorCode(noQueue)]).toEqual([404, 'queue_not_found']);
    const noQueueInfo = await s.request(`/${owner.name}/nope/info`, { key: owner.key });
    expect([noQueueInfo.status, await errorCode(noQueueInfo)]).toEqual([404, 'queue_not_found']);
    const badName = await s.request(`/${owner.name}/${'x'.repeat(101)}`, { key: owner.key });
    expect([badName.status, await errorCode(badName)]).toEqual([404, 'queue_not_found']);
  });

  it('refuses a revoked application\'s key', async () => {
    const s = srv();
    const { owner } = await setup(s);
    const del = await s.request(`/v1/apps/${owner.name}`, { method: 'DELETE', headers: { authorization: `Admin ${s.adminKey}` } });
    expect(del.status).toBe(200);
    const res = await s.request(`/${owner.name}/private`, { key: owner.key });
    expect([res.status, await errorCode(res)]).toEqual([401, 'auth_invalid']);
    const open = await s.request(`/${owner.name}/open`);
    expect([open.status, await errorCode(open)]).toEqual([404, 'app_not_found']);
  });
});
