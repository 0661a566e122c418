/**
 * Bulk deletes and the request-head limit (protocol/rest.md "Connections" and "delete messages"):
 * uWS drops a request head over 4096 bytes unless it arrives in one read, so the URL form of
 * `DELETE /{app}/{queue}/{ids}` is capped at 50 ids and `POST /{app}/{queue}/delete` carries up to
 * 1000 ids in its body. Error messages echo at most 100 characters of what was sent.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ECHOED_FIELD } from '../../src/errors.js';
import { engineFactories } from '../helpers/engines.js';
import { head, rawConnect } from '../helpers/raw-http.js';
import { FORM, JSON_CT, errorCode, snapshot, useServer, type TestServer } from '../helpers/server.js';

const memory = engineFactories.find((f) => f.name === 'memory')!;

interface Fixture {
  app: string;
  key: string;
  path: string;
  /** `p:id` of every stored message. */
  ids: string[];
}

async function queueWith(s: TestServer, count: number, partitions = 3): Promise<Fixture> {
  const { name, key } = await s.createApp();
  const created = await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q', partitions }) });
  expect(created.status).toBe(201);
  const path = `/${name}/q`;
  const messages = Array.from({ length: count }, (_, i) => ({ body: `m${i}`, partition: 1 + (i % partitions) }));
  const posted = await s.request(path, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ messages }) });
  expect(posted.status).toBe(201);
  const acks = ((await posted.json()) as { messages: Array<{ key: string; partition: number }> }).messages;
  return { app: name, key, path, ids: acks.map((m) => `${m.partition}:${m.key}`) };
}

async function remaining(s: TestServer, f: Fixture): Promise<number> {
  const res = await s.request(`${f.path}?partitions=1,2,3&limit=1000`, { key: f.key });
  return ((await res.json()) as { messages: unknown[] }).messages.length;
}

describe('POST /{app}/{queue}/delete: ids in the body', () => {
  const srv = useServer(memory);

  it('deletes 1000 ids given as a JSON list (a 38 KB id list no URL could carry)', async () => {
    const s = srv();
    const f = await queueWith(s, 1000);
    const res = await s.request(`${f.path}/delete`, { method: 'POST', key: f.key, headers: JSON_CT, body: JSON.stringify({ ids: f.ids }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', deleted: 1000 });
    expect(await remaining(s, f)).toBe(0);
  });

  it('takes a comma-separated form field, ids with or without their partition', async () => {
    const s = srv();
    const f = await queueWith(s, 4);
    const bare = f.ids[1]!.split(':')[1]!;
    const res = await s.request(`${f.path}/delete`, { method: 'POST', key: f.key, headers: FORM, body: `ids=${encodeURIComponent([f.ids[0], bare, f.ids[0]].join(','))}` });
    expect(await res.json()).toEqual({ status: 'ok', deleted: 2 });
    expect(await remaining(s, f)).toBe(2);
  });

  it('refuses bad input with nothing deleted', async () => {
    const s = srv();
    const f = await queueWith(s, 3);
    const before = await snapshot(s.engine, [f.app]);
    const post = (body: string, headers: Record<string, string> = JSON_CT, key = f.key) =>
      s.request(`${f.path}/delete`, { method: 'POST', key, headers, body });
    const cases: Array<[Response, number, string]> = [
      [await post('{}'), 400, 'missing_field'],
      [await post(JSON.stringify({ ids: [] })), 400, 'invalid_field'],
      [await post(JSON.stringify({ ids: Array.from({ length: 1001 }, () => f.ids[0]) })), 400, 'invalid_field'],
      [await post(JSON.stringify({ ids: [f.ids[0], 'nope'] })), 400, 'invalid_message_id'],
      [await post(JSON.stringify({ ids: [f.ids[0]], also: 1 })), 400, 'invalid_field'],
      [await post('ids=', FORM), 400, 'invalid_field'],
      [await post(JSON.stringify({ ids: [f.ids[0]] }), JSON_CT, 'not-a-key'), 401, 'auth_invalid'],
    ];
    for (const [res, status, code] of cases) {
      expect(res.status).toBe(status);
      expect(await errorCode(res)).toBe(code);
    }
    const wrongMethod = await s.request(`${f.path}/delete`, { method: 'GET', key: f.key });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(await snapshot(s.engine, [f.app])).toEqual(before);
  });
});

describe('DELETE /{app}/{queue}/{ids}: the URL form', () => {
  const srv = useServer(memory);

  it('takes up to 50 ids and refuses 51, pointing to POST …/delete', async () => {
    const s = srv();
    const f = await queueWith(s, 51);
    const url = (ids: string[]) => `${f.path}/${ids.map(encodeURIComponent).join(',')}`;
    const refused = await s.request(url(f.ids), { method: 'DELETE', key: f.key });
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as { error: { code: string; field: string; message: string } };
    expect(body.error).toMatchObject({ code: 'invalid_field', field: 'ids' });
    expect(body.error.message).toContain(`POST ${f.path}/delete`);
    expect(await remaining(s, f)).toBe(51);
    const ok = await s.request(url(f.ids.slice(0, 50)), { method: 'DELETE', key: f.key });
    expect(await ok.json()).toEqual({ status: 'ok', deleted: 50 });
  });

  it('echoes at most 100 characters of a malformed 33 KB id', async () => {
    const s = srv();
    const f = await queueWith(s, 1);
    const junk = 'z'.repeat(33_000);
    for (const res of [
      await s.request(`${f.path}/delete`, { method: 'POST', key: f.key, headers: JSON_CT, body: JSON.stringify({ ids: [junk] }) }),
      await s.request(`${f.path}/${junk}`, { method: 'DELETE', key: f.key }),
    ]) {
      const text = await res.text();
      expect(res.status).toBe(400);
      expect(text.length).toBeLessThan(600);
      const { error } = JSON.parse(text) as { error: { code: string; field: string; message: string } };
      expect(error.code).toBe('invalid_message_id');
      expect(error.field).toBe(`${'z'.repeat(MAX_ECHOED_FIELD - 1)}…`);
    }
  });
});

describe('the request-head limit of uWS (4096 bytes across reads)', () => {
  const srv = useServer(memory);

  it('a head of 4096 bytes written in 1460-byte pieces is answered', async () => {
    const s = srv();
    const start = head('GET /healthz', { 'X-Pad': '' });
    const padded = start.replace('X-Pad: ', `X-Pad: ${'p'.repeat(4096 - start.length)}`);
    expect(padded.length).toBe(4096);
    const c = await rawConnect(s.port);
    for (let i = 0; i < padded.length; i += 1460) await c.write(padded.slice(i, i + 1460));
    const [res] = await c.responses(1);
    expect(res!.status).toBe(200);
    c.destroy();
  });

  it('a head not complete within its first 4096 bytes gets no answer: the connection is closed', async () => {
    const s = srv();
    const f = await queueWith(s, 1);
    // 4097 bytes of a longer DELETE head; however they are split into reads, uWS gives up here.
    const c = await rawConnect(s.port);
    await c.write(`DELETE ${f.path}/${f.ids[0]},${'0'.repeat(4097)}`.slice(0, 4097));
    const closed = await c.closed;
    expect(closed.received).toBe('');
    expect(await remaining(s, f)).toBe(1);
  });
});
