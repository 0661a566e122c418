/**
 * Processing state over real HTTP and WebSocket, on every engine (SPEC.md 3.5, protocol/rest.md
 * "Processing state", "Replies", "Filtered reads"; websocket.md 4.5, 4.6): set and clear,
 * compare-and-set with 409 state_conflict, replies, filtered reads; and bad input on every new
 * route and frame field: a documented 4xx, and nothing stored changes.
 */
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { FORM, JSON_CT, snapshot, type TestServer } from '../helpers/server.js';
import { useWsServer, WsTestClient } from '../helpers/ws-client.js';

interface Msg {
  message_id: string;
  timestamp: number;
  body: string;
  partition: number;
  seq: number;
  in_reply_to?: string;
  client_state?: string;
  client_json?: unknown;
  updated_at?: number;
}

async function setup(s: TestServer, partitions = 1) {
  const { name, key } = await s.createApp();
  const res = await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q', partitions }) });
  expect(res.status).toBe(201);
  const path = `/${name}/q`;
  const post = async (body: Record<string, unknown>): Promise<string> => {
    const r = await s.request(path, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify(body) });
    expect(r.status, await r.clone().text()).toBe(201);
    return ((await r.json()) as { messages: Array<{ message_id: string }> }).messages[0]!.message_id;
  };
  const send = async (method: string, sub: string, init: RequestInit = {}): Promise<{ status: number; json: Record<string, unknown> }> => {
    const r = await s.request(`${path}${sub}`, { method, key, ...init });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  const read = async (query: string): Promise<Msg[]> => {
    const r = await send('GET', query);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return r.json.messages as Msg[];
  };
  return { app: name, key, path, post, send, read };
}

describe.each(engineFactories)('REST and WebSocket processing state ($name)', (factory) => {
  const srv = useWsServer(factory);

  it('sets and clears client_state and client_json, answering the message with updated_at', async () => {
    const q = await setup(srv());
    const id = await q.post({ body: 'job' });
    const set = await q.send('PUT', `/${id}/client_state/processing`);
    expect(set.status).toBe(200);
    const m1 = set.json.message as Msg;
    expect(m1).toMatchObject({ message_id: id, body: 'job', client_state: 'processing' });
    expect(m1.updated_at).toBeGreaterThanOrEqual(m1.timestamp);
    const json = await q.send('PUT', `/${id}/client_json`, { headers: JSON_CT, body: JSON.stringify({ worker: 'w1', tries: [1] }) });
    expect(json.json.message).toMatchObject({ client_state: 'processing', client_json: { worker: 'w1', tries: [1] } });
    expect((json.json.message as Msg).updated_at).toBeGreaterThan(m1.updated_at!);
    // A JSON string is a value like any other (AMIE: "any serializable object or a string of JSON").
    expect((await q.send('PUT', `/${id}/client_json`, { headers: JSON_CT, body: '"text"' })).json.message).toMatchObject({ client_json: 'text' });
    const cleared = await q.send('DELETE', `/${id}/client_state`);
    expect(cleared.json.message).not.toHaveProperty('client_state');
    expect((await q.send('DELETE', `/${id}/client_json`)).json.message).not.toHaveProperty('client_json');
    const [read] = await q.read('');
    expect(read).toMatchObject({ message_id: id });
    expect(read).not.toHaveProperty('client_state');
    expect(read!.updated_at).toBeGreaterThan(m1.updated_at!);
    expect(((await q.send('GET', `/${id}`)).json.message as Msg).updated_at).toBe(read!.updated_at);
  });

  it('compare-and-set on REST and WebSocket: 409 state_conflict with the current state, nothing changed', async () => {
    const s = srv();
    const q = await setup(s);
    const id = await q.post({ body: 'job' });
    expect((await q.send('PUT', `/${id}/client_state/processing?if_state=none`)).status).toBe(200);
    const before = await snapshot(s.engine, [q.app]);
    const lost = await q.send('PUT', `/${id}/client_state/processing?if_state=none`);
    expect(lost.status).toBe(409);
    expect(lost.json.error).toMatchObject({ code: 'state_conflict', field: 'if_state', current_state: 'processing' });
    expect((await q.send('DELETE', `/${id}/client_json?if_state=done`)).json.error).toMatchObject({ code: 'state_conflict', current_state: 'processing' });
    const c = await WsTestClient.open(s.url, { key: q.key });
    const frame = await c.request({ type: 'state.set', id: 7, application: q.app, queue: 'q', partition: 1, message_id: id, client_state: 'x', if_state: 'none' });
    expect(frame).toMatchObject({ type: 'error', id: 7, op: 'state.set', error: { code: 'state_conflict', current_state: 'processing' } });
    expect(await snapshot(s.engine, [q.app])).toEqual(before);
    const won = await c.request({ type: 'state.set', application: q.app, queue: 'q', partition: 1, message_id: id, client_state: 'done', client_json: { ok: true }, if_state: 'processing' });
    expect(won).toMatchObject({ type: 'state.updated', message: { client_state: 'done', client_json: { ok: true } } });
    const cleared = await q.send('DELETE', `/${id}/client_state?if_state=done`);
    expect(cleared.status).toBe(200);
    expect((await q.send('DELETE', `/${id}/client_state?if_state=done`)).json.error).toMatchObject({ code: 'state_conflict', current_state: null });
    await c.close();
  });

  it('replies: in_reply_to must name a message of the queue; GET …/replies lists them in order, paged', async () => {
    const s = srv();
    const q = await setup(s, 2);
    const parent = await q.post({ body: 'request', partition: 1 });
    const r1 = await q.post({ body: 'reply 1', in_reply_to: parent, partition: 2 });
    const form = await s.request(q.path, { method: 'POST', key: q.key, headers: FORM, body: `body=reply+2&partition=1&in_reply_to=${parent}` });
    expect(form.status).toBe(201);
    const r2 = ((await form.json()) as { messages: Array<{ message_id: string }> }).messages[0]!.message_id;
    const c = await WsTestClient.open(s.url, { key: q.key });
    const pub = await c.request({ type: 'publish', application: q.app, queue: 'q', messages: [{ body: 'reply 3', partition: 2, in_reply_to: parent }] });
    const r3 = pub.type === 'published' ? pub.messages[0]!.message_id : '';
    const all = (await q.send('GET', `/${parent}/replies`)).json.messages as Msg[];
    expect(all.map((m) => m.message_id)).toEqual([r1, r2, r3]);
    expect(all.every((m) => m.in_reply_to === parent)).toBe(true);
    const page1 = (await q.send('GET', `/${parent}/replies?limit=2`)).json.messages as Msg[];
    expect(page1.map((m) => m.message_id)).toEqual([r1, r2]);
    const page2 = (await q.send('GET', `/${parent}/replies?limit=2&since=${r2}`)).json.messages as Msg[];
    expect(page2.map((m) => m.message_id)).toEqual([r2, r3]);
    expect(((await q.send('GET', `/${parent}/replies?order=descending&limit=1`)).json.messages as Msg[]).map((m) => m.message_id)).toEqual([r3]);
    expect((await q.send('GET', `/${r1}/replies`)).json.messages).toEqual([]);

    // Unknown (or another queue's) message: 404, nothing stored.
    const before = await snapshot(s.engine, [q.app]);
    const unknown = '0'.repeat(30) + '01';
    const bad = await s.request(q.path, { method: 'POST', key: q.key, headers: JSON_CT, body: JSON.stringify({ messages: [{ body: 'ok' }, { body: 'x', in_reply_to: unknown }] }) });
    expect(bad.status).toBe(404);
    expect(((await bad.json()) as { error: unknown }).error).toMatchObject({ code: 'message_not_found', field: 'in_reply_to' });
    const badForm = await s.request(q.path, { method: 'POST', key: q.key, headers: FORM, body: `body=x&in_reply_to=${unknown}` });
    expect(badForm.status).toBe(404);
    const badWs = await c.request({ type: 'publish', application: q.app, queue: 'q', messages: [{ body: 'x', in_reply_to: unknown }] });
    expect(badWs).toMatchObject({ type: 'error', error: { code: 'message_not_found', field: 'in_reply_to' } });
    const other = await setup(s);
    const foreign = await other.post({ body: 'elsewhere' });
    expect((await s.request(q.path, { method: 'POST', key: q.key, headers: JSON_CT, body: JSON.stringify({ body: 'x', in_reply_to: foreign }) })).status).toBe(404);
    expect(await snapshot(s.engine, [q.app])).toEqual(before);
    expect((await q.send('GET', `/${unknown}/replies`)).status).toBe(404);
    await c.close();
  });

  it('filtered reads on REST and the history frame: states, none, update window, with since, limit, order, partitions', async () => {
    const s = srv();
    const q = await setup(s, 2);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await q.post({ body: `m${i}`, partition: 1 + (i % 2) }));
    const at = async (i: number, state: string) => (await q.send('PUT', `/${ids[i]}/client_state/${state}`)).json.message as Msg;
    await at(0, 'done');
    await at(1, 'done');
    const mid = await at(2, 'processing');
    // The ISO bound below has millisecond precision: the next change must fall in a later millisecond
    // than mid's, whatever the machine's speed (same clock as the server's).
    while (Date.now() <= Math.floor(mid.updated_at! * 1000) + 1) await new Promise((r) => setTimeout(r, 2));
    await at(5, 'done');
    const byId = (ms: Msg[]) => ms.map((m) => ids.indexOf(m.message_id));
    expect(byId(await q.read('?client_state=done&partitions=1,2'))).toEqual([0, 1, 5]);
    expect(byId(await q.read('?client_state=done'))).toEqual([0]);
    expect(byId(await q.read('?client_state=none&partitions=1,2'))).toEqual([3, 4, 6, 7]);
    expect(byId(await q.read('?client_state=none,processing&partitions=1,2&order=descending&limit=3'))).toEqual([7, 6, 4]);
    expect(byId(await q.read(`?client_state=none&partitions=1,2&since=${ids[4]}`))).toEqual([4, 6, 7]);
    expect(byId(await q.read(`?partitions=1,2&updated_since=${mid.updated_at}`))).toEqual([2, 5]);
    const iso = new Date(Math.floor(mid.updated_at! * 1000) + 1).toISOString();
    expect(byId(await q.read(`?partitions=1,2&updated_until=${encodeURIComponent(iso)}`))).toEqual([0, 1, 2]);
    expect(byId(await q.read(`?partitions=1,2&client_state=done&updated_since=${mid.updated_at}`))).toEqual([5]);
    const c = await WsTestClient.open(s.url, { key: q.key });
    const h = await c.request({ type: 'history', application: q.app, queue: 'q', partitions: [1, 2], client_state: ['none'], limit: 2 });
    expect(h.type === 'history.result' ? h.messages.map((m) => ids.indexOf(m.message_id)) : h).toEqual([3, 4]);
    const h2 = await c.request({ type: 'history', application: q.app, queue: 'q', partitions: [1, 2], client_state: ['done'], updated_until: iso });
    expect(h2.type === 'history.result' ? h2.messages.map((m) => ids.indexOf(m.message_id)) : h2).toEqual([0, 1]);
    await c.close();
  });

  it('bad input on every new route and field: documented 4xx, nothing changed', async () => {
    const s = srv();
    const q = await setup(s);
    const id = await q.post({ body: 'job' });
    await q.send('PUT', `/${id}/client_state/processing`);
    const before = await snapshot(s.engine, [q.app]);
    const unknown = `${id.slice(0, 28)}ffff`;
    const big = JSON.stringify({ blob: 'x'.repeat(64 * 1024) });
    const cases: Array<[string, string, RequestInit, number, string]> = [
      ['PUT', `/${unknown}/client_state/done`, {}, 404, 'message_not_found'],
      ['PUT', '/nothex/client_state/done', {}, 400, 'invalid_message_id'],
      ['PUT', `/${id}/client_state/${'s'.repeat(65)}`, {}, 400, 'invalid_field'],
      ['PUT', `/${id}/client_state/a%20b`, {}, 400, 'invalid_field'],
      ['PUT', `/${id}/client_state/%C3%A9t%C3%A9`, {}, 400, 'invalid_field'],
      ['PUT', `/${id}/client_state/none`, {}, 400, 'invalid_field'],
      ['PUT', `/${id}/client_state/done?if_state=a%2Cb`, {}, 400, 'invalid_field'],
      ['PUT', `/${id}/client_state/done?if_state=${'s'.repeat(65)}`, {}, 400, 'invalid_field'],
      ['PUT', `/${id}/client_state/done?if=none`, {}, 400, 'invalid_field'],
      ['DELETE', `/${unknown}/client_state`, {}, 404, 'message_not_found'],
      ['DELETE', `/${id}/client_state?if_state=`, {}, 400, 'invalid_field'],
      ['PUT', `/${unknown}/client_json`, { headers: JSON_CT, body: '{}' }, 404, 'message_not_found'],
      ['PUT', `/${id}/client_json`, { headers: JSON_CT, body: '{"a": ' }, 400, 'invalid_json'],
      ['PUT', `/${id}/client_json`, { headers: JSON_CT, body: '' }, 400, 'invalid_json'],
      ['PUT', `/${id}/client_json`, { headers: FORM, body: 'a=1' }, 415, 'unsupported_media_type'],
      ['PUT', `/${id}/client_json`, { headers: JSON_CT, body: big }, 400, 'invalid_field'],
      // One level deeper than a WebSocket state.set allows (websocket.md "Limits": 64 levels, the
      // frame counted), then far deeper: a 400, never a 500 from JSON.stringify.
      ['PUT', `/${id}/client_json`, { headers: JSON_CT, body: `${'['.repeat(64)}${']'.repeat(64)}` }, 400, 'invalid_field'],
      ['PUT', `/${id}/client_json`, { headers: JSON_CT, body: `${'['.repeat(30000)}${']'.repeat(30000)}` }, 400, 'invalid_field'],
      ['PUT', `/${id}/client_json`, { headers: JSON_CT, body: '{"n":1e999}' }, 400, 'invalid_field'],
      ['PUT', `/${id}/client_json?if_state=%20`, { headers: JSON_CT, body: '{}' }, 400, 'invalid_field'],
      ['DELETE', `/${unknown}/client_json`, {}, 404, 'message_not_found'],
      ['DELETE', `/${id}/client_json?if_state=a%20b`, {}, 400, 'invalid_field'],
      ['GET', `/${unknown}/replies`, {}, 404, 'message_not_found'],
      ['GET', `/${id}/replies?limit=0`, {}, 400, 'invalid_limit'],
      ['GET', `/${id}/replies?since=yesterday`, {}, 400, 'invalid_since'],
      ['GET', `/${id}/replies?order=up`, {}, 400, 'invalid_order'],
      ['GET', `/${id}/replies?partitions=1`, {}, 400, 'invalid_field'],
      ['GET', '?client_state=a%20b', {}, 400, 'invalid_field'],
      ['GET', '?client_state=', {}, 400, 'invalid_field'],
      ['GET', `?client_state=${Array.from({ length: 17 }, (_, i) => `s${i}`).join(',')}`, {}, 400, 'invalid_field'],
      ['GET', '?updated_since=yesterday', {}, 400, 'invalid_field'],
      ['GET', '?updated_since=-5', {}, 400, 'invalid_field'],
      ['GET', '?updated_until=2026-13-45T99:00:00Z', {}, 400, 'invalid_field'],
      ['GET', '?updated_until=2026-12-06T23:00:00', {}, 400, 'invalid_field'],
    ];
    for (const [method, sub, init, status, code] of cases) {
      const r = await q.send(method, sub, init);
      expect([r.status, (r.json.error as { code: string } | undefined)?.code], `${method} ${sub}`).toEqual([status, code]);
    }
    // Without a key / with another application's key.
    const other = await s.createApp();
    expect((await s.request(`${q.path}/${id}/client_state/done`, { method: 'PUT' })).status).toBe(401);
    expect((await s.request(`${q.path}/${id}/client_state/done`, { method: 'PUT', key: other.key })).status).toBe(403);
    // WebSocket: the same rules on state.set and history.
    const c = await WsTestClient.open(s.url, { key: q.key });
    const base = { type: 'state.set', application: q.app, queue: 'q', partition: 1, message_id: id } as const;
    const frames: Array<[Record<string, unknown>, string]> = [
      [{ ...base, client_state: 'a b' }, 'invalid_field'],
      [{ ...base, client_state: 'none' }, 'invalid_field'],
      [{ ...base, client_state: 's'.repeat(65) }, 'invalid_field'],
      [{ ...base, client_state: 'done', if_state: 'a,b' }, 'invalid_field'],
      [{ ...base, message_id: unknown, client_state: 'done' }, 'message_not_found'],
      [{ ...base, client_json: { blob: 'x'.repeat(64 * 1024) } }, 'invalid_field'],
      [{ type: 'history', application: q.app, queue: 'q', client_state: ['a b'] }, 'invalid_field'],
      [{ type: 'history', application: q.app, queue: 'q', client_state: [] }, 'invalid_field'],
      [{ type: 'history', application: q.app, queue: 'q', updated_since: 'yesterday' }, 'invalid_field'],
      [{ type: 'history', application: q.app, queue: 'q', updated_until: -1 }, 'invalid_field'],
    ];
    for (const [frame, code] of frames) {
      const reply = await c.request(frame as never);
      expect(reply.type === 'error' ? reply.error.code : reply.type, JSON.stringify(frame).slice(0, 120)).toBe(code);
    }
    await c.close();
    expect(await snapshot(s.engine, [q.app])).toEqual(before);
    // As deep as state.set allows is accepted on REST too.
    const deepest = `${'['.repeat(63)}${']'.repeat(63)}`;
    expect((await q.send('PUT', `/${id}/client_json`, { headers: JSON_CT, body: deepest })).status).toBe(200);
  });
});
