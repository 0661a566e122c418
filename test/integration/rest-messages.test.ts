/** SPEC.md 3.1 messages over real HTTP, on every engine: post, read, since/limit/order/partitions, get/put/delete. */
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { FORM, JSON_CT, errorCode, useServer, type TestServer } from '../helpers/server.js';

interface Ack { key: string; message_id: string; timestamp: number; partition: number; seq: number }
interface Msg { message_id: string; timestamp: number; body: string; partition: number; seq: number }

async function queue(s: TestServer, partitions = 1, fields: Record<string, unknown> = {}) {
  const { name, key } = await s.createApp();
  const res = await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q', partitions, ...fields }) });
  expect(res.status).toBe(201);
  return { app: name, key, path: `/${name}/q` };
}

async function post(s: TestServer, path: string, key: string, body: string, headers: Record<string, string> = FORM): Promise<Ack[]> {
  const res = await s.request(path, { method: 'POST', key, headers, body });
  expect(res.status, await res.clone().text()).toBe(201);
  const json = (await res.json()) as { status: string; messages: Ack[] };
  expect(json.status).toBe('ok');
  return json.messages;
}

async function read(s: TestServer, path: string, key: string, query = ''): Promise<Msg[]> {
  const res = await s.request(`${path}${query}`, { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { messages: Msg[] }).messages;
}

/** Posts bodies one request at a time to the given partitions. */
async function postEach(s: TestServer, path: string, key: string, items: Array<[string, number]>): Promise<Ack[]> {
  const out: Ack[] = [];
  for (const [body, partition] of items) out.push(...(await post(s, path, key, `body=${body}&partition=${partition}`)));
  return out;
}

describe.each(engineFactories)('REST messages ($name)', (factory) => {
  const srv = useServer(factory);

  it('posts one message and reads it back with Queuey fields', async () => {
    const s = srv();
    const q = await queue(s);
    const [ack] = await post(s, q.path, q.key, 'body=hello+world%21&ttl=3600');
    expect(ack!.key).toMatch(/^[0-9a-f]{32}$/);
    expect(ack!.partition).toBe(1);
    expect(Math.abs(ack!.timestamp - Date.now() / 1000)).toBeLessThan(600);
    // Queuey's `key` and the name every read and WebSocket frame uses, with the partition's seq.
    expect(ack!.message_id).toBe(ack!.key);
    expect(ack!.seq).toBe(1);
    expect(await read(s, q.path, q.key)).toEqual([{ message_id: ack!.key, timestamp: ack!.timestamp, body: 'hello world!', partition: 1, seq: 1 }]);
    const [second] = await post(s, q.path, q.key, 'body=again');
    expect(second).toMatchObject({ message_id: second!.key, seq: 2 });
    expect((await read(s, q.path, q.key)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('posts form batches in message.N order and JSON batches in array order', async () => {
    const s = srv();
    const q = await queue(s, 3);
    const form = await post(s, q.path, q.key, 'message.10.body=third&message.10.partition=2&message.2.body=second&message.2.partition=3&message.0.body=first&message.0.ttl=60&message.0.partition=1');
    expect(form.map((a) => a.partition)).toEqual([1, 3, 2]);
    const json = await post(s, q.path, q.key, JSON.stringify({ messages: [{ body: 'j1', partition: 2 }, { body: 'j2', partition: 2, ttl: 5 }] }), JSON_CT);
    expect(json.map((a) => a.partition)).toEqual([2, 2]);
    const all = await read(s, q.path, q.key, '?partitions=1,2,3');
    const byId = new Map(all.map((m) => [m.message_id, m.body]));
    expect([...form, ...json].map((a) => byId.get(a.key))).toEqual(['first', 'second', 'third', 'j1', 'j2']);
    const single = await post(s, q.path, q.key, JSON.stringify({ body: 'one', partition: 3 }), JSON_CT);
    expect(single).toHaveLength(1);
  });

  it('orders concurrent posts to one partition strictly, the same on every read', async () => {
    const s = srv();
    const q = await queue(s);
    const acks = (await Promise.all(Array.from({ length: 40 }, (_, i) => post(s, q.path, q.key, `body=c${i}`)))).flat();
    const first = await read(s, q.path, q.key, '?limit=1000');
    const ids = first.map((m) => m.message_id);
    expect(new Set(ids)).toEqual(new Set(acks.map((a) => a.key)));
    expect(ids).toEqual([...ids].sort());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(first.map((m) => m.timestamp)).toEqual([...first.map((m) => m.timestamp)].sort((a, b) => a - b));
    expect(await read(s, q.path, q.key, '?limit=1000')).toEqual(first);
    expect(await read(s, q.path, q.key, '?limit=1000&order=descending')).toEqual([...first].reverse());
  });

  it('serves a 200-partition queue, reading all partitions at once', async () => {
    const s = srv();
    const q = await queue(s, 200);
    const all = Array.from({ length: 200 }, (_, i) => i + 1);
    const acks = await post(s, q.path, q.key, JSON.stringify({ messages: all.map((p) => ({ body: `p${p}`, partition: p })) }), JSON_CT);
    expect(acks.map((a) => a.partition)).toEqual(all);
    const merged = await read(s, q.path, q.key, `?partitions=${all.join(',')}&limit=1000`);
    expect(merged.map((m) => m.partition).sort((a, b) => a - b)).toEqual(all);
    expect((await read(s, q.path, q.key, '?partitions=200'))[0]!.body).toBe('p200');
    expect(await (await s.request(`${q.path}/info?include_count`, { key: q.key })).json()).toMatchObject({ count: 200 });
  });

  it('puts a message without a partition on a random existing one', async () => {
    const s = srv();
    const q = await queue(s, 4);
    const acks = await post(s, q.path, q.key, JSON.stringify({ messages: Array.from({ length: 60 }, (_, i) => ({ body: `m${i}` })) }), JSON_CT);
    const used = new Set(acks.map((a) => a.partition));
    for (const p of used) {
      expect(p).toBeGreaterThanOrEqual(1);
      expect(p).toBeLessThanOrEqual(4);
    }
    // 60 draws from 4 partitions all landing on one: probability 4 * (1/4)^60.
    expect(used.size).toBeGreaterThan(1);
  });

  it('stores a raw body with its Content-Type and returns it raw', async () => {
    const s = srv();
    const q = await queue(s, 2);
    const xml = '<call id="7">naïve ✓</call>';
    const [ack] = await post(s, `${q.path}?partition=2&ttl=120`, q.key, xml, { 'content-type': 'application/xml; charset=utf-8' });
    expect(ack!.partition).toBe(2);
    const one = await s.request(`${q.path}/${ack!.key}`, { key: q.key });
    expect(one.status).toBe(200);
    expect(one.headers.get('content-type')).toBe('application/xml; charset=utf-8');
    expect(await one.text()).toBe(xml);
    expect((await read(s, q.path, q.key, '?partitions=2'))[0]!.body).toBe(xml);
  });

  it('returns one message without a recorded Content-Type as JSON', async () => {
    const s = srv();
    const q = await queue(s);
    const [ack] = await post(s, q.path, q.key, 'body=plain');
    const res = await s.request(`${q.path}/${ack!.key}`, { key: q.key });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ status: 'ok', message: { message_id: ack!.key, timestamp: ack!.timestamp, body: 'plain', partition: 1, seq: 1 } });
    const upper = await s.request(`${q.path}/${ack!.key.toUpperCase()}`, { key: q.key });
    expect(upper.status).toBe(200);
  });

  it('reads with limit, order and since (inclusive, by id and by timestamp)', async () => {
    const s = srv();
    const q = await queue(s);
    const acks = await postEach(s, q.path, q.key, ['a', 'b', 'c', 'd', 'e'].map((b) => [b, 1] as [string, number]));
    const bodies = (ms: Msg[]) => ms.map((m) => m.body).join('');
    expect(bodies(await read(s, q.path, q.key))).toBe('abcde');
    expect(bodies(await read(s, q.path, q.key, '?limit=2'))).toBe('ab');
    expect(bodies(await read(s, q.path, q.key, '?order=descending&limit=2'))).toBe('ed');
    expect(bodies(await read(s, q.path, q.key, `?since=${acks[2]!.key}`))).toBe('cde');
    expect(bodies(await read(s, q.path, q.key, `?since=${acks[2]!.key}&order=descending`))).toBe('cba');
    expect(bodies(await read(s, q.path, q.key, `?since=${acks[2]!.key}&limit=1`))).toBe('c');
    // Timestamps: >= since ascending, <= since descending.
    const ts = acks[2]!.timestamp;
    const asc = await read(s, q.path, q.key, `?since=${ts}`);
    expect(asc.every((m) => m.timestamp >= ts)).toBe(true);
    expect(asc.map((m) => m.message_id)).toContain(acks[2]!.key);
    expect(acks.filter((a) => a.timestamp >= ts).map((a) => a.key)).toEqual(asc.map((m) => m.message_id));
    const desc = await read(s, q.path, q.key, `?since=${ts}&order=descending`);
    expect(acks.filter((a) => a.timestamp <= ts).map((a) => a.key).reverse()).toEqual(desc.map((m) => m.message_id));
    expect(await read(s, q.path, q.key, `?since=${Math.floor(acks[4]!.timestamp) + 10}`)).toEqual([]);
    expect(bodies(await read(s, q.path, q.key, '?since=0'))).toBe('abcde');
  });

  it('reads partition 1 by default and merges several by timestamp, then partition', async () => {
    const s = srv();
    const q = await queue(s, 3);
    // One JSON batch: messages of one append may share a timestamp across partitions.
    const acks = await post(s, q.path, q.key, JSON.stringify({ messages: [3, 1, 2, 3, 1, 2, 2].map((p, i) => ({ body: `m${i}`, partition: p })) }), JSON_CT);
    acks.push(...(await postEach(s, q.path, q.key, [['x', 3], ['y', 1], ['z', 2]])));
    expect((await read(s, q.path, q.key)).every((m) => m.partition === 1)).toBe(true);

    const merged = await read(s, q.path, q.key, '?partitions=3,1,2');
    expect(merged).toHaveLength(acks.length);
    const key = (m: Msg) => [m.timestamp, m.partition, m.message_id] as const;
    const sorted = [...merged].sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1] || (key(a)[2] < key(b)[2] ? -1 : 1));
    expect(merged).toEqual(sorted);
    const desc = await read(s, q.path, q.key, '?partitions=1,2,3&order=descending');
    expect(desc).toEqual([...merged].reverse());
    expect(await read(s, q.path, q.key, '?partitions=1,3&limit=3')).toEqual(merged.filter((m) => m.partition !== 2).slice(0, 3));
    // Each partition alone is that partition's order.
    for (const p of [1, 2, 3]) {
      expect(await read(s, q.path, q.key, `?partitions=${p}`)).toEqual(merged.filter((m) => m.partition === p));
    }
  });

  it('pages a multi-partition read with since=<last id> without gaps or repeats', async () => {
    const s = srv();
    const q = await queue(s, 3);
    await post(s, q.path, q.key, JSON.stringify({ messages: Array.from({ length: 30 }, (_, i) => ({ body: `b${i}`, partition: (i % 3) + 1 })) }), JSON_CT);
    await postEach(s, q.path, q.key, [['p', 2], ['q', 1], ['r', 3], ['s', 2]]);
    for (const order of ['ascending', 'descending']) {
      const everything = await read(s, q.path, q.key, `?partitions=1,2,3&order=${order}`);
      expect(everything).toHaveLength(34);
      const seen: Msg[] = [];
      let page = await read(s, q.path, q.key, `?partitions=1,2,3&order=${order}&limit=4`);
      seen.push(...page);
      for (let guard = 0; guard < 40 && page.length > 0; guard++) {
        const last = page[page.length - 1]!.message_id;
        page = await read(s, q.path, q.key, `?partitions=1,2,3&order=${order}&limit=4&since=${last}`);
        // Inclusive: every page after the first starts with the message it was asked from.
        expect(page[0]!.message_id).toBe(last);
        page = page.slice(1);
        seen.push(...page);
        if (page.length === 0) break;
      }
      expect(seen).toEqual(everything);
    }
  });

  it('replaces a message body and ttl, keeping its id and timestamp', async () => {
    const s = srv();
    const q = await queue(s, 2);
    const [ack] = await post(s, q.path, q.key, 'body=before&partition=2');
    // Read first, so the reply after the PUT cannot come from what this read encoded.
    expect(await read(s, q.path, q.key, '?partitions=2')).toEqual([{ message_id: ack!.key, timestamp: ack!.timestamp, body: 'before', partition: 2, seq: ack!.seq }]);
    const put = await s.request(`${q.path}/${ack!.key}`, { method: 'PUT', key: q.key, headers: JSON_CT, body: JSON.stringify({ body: 'after', ttl: 30 }) });
    expect(put.status).toBe(200);
    // A change sets updated_at (rest.md "Processing state"), the same in the answer and in reads.
    const changed = (await put.json()) as { status: string; message: { updated_at: number } };
    expect(changed.message.updated_at).toBeGreaterThanOrEqual(ack!.timestamp);
    const updated_at = changed.message.updated_at;
    expect(changed).toEqual({ status: 'ok', message: { message_id: ack!.key, timestamp: ack!.timestamp, body: 'after', partition: 2, seq: ack!.seq, updated_at } });
    expect(await read(s, q.path, q.key, '?partitions=2')).toEqual([{ message_id: ack!.key, timestamp: ack!.timestamp, body: 'after', partition: 2, seq: ack!.seq, updated_at }]);

    const raw = await s.request(`${q.path}/${ack!.key}`, { method: 'PUT', key: q.key, headers: { 'content-type': 'text/csv' }, body: 'a,b' });
    expect(raw.status).toBe(200);
    const got = await s.request(`${q.path}/${ack!.key}`, { key: q.key });
    expect([got.headers.get('content-type'), await got.text()]).toEqual(['text/csv', 'a,b']);
    // A field PUT makes it plain text again.
    await s.request(`${q.path}/${ack!.key}`, { method: 'PUT', key: q.key, headers: FORM, body: 'body=text' });
    const plain = await s.request(`${q.path}/${ack!.key}`, { key: q.key });
    expect(plain.headers.get('content-type')).toBe('application/json');

    const missing = await s.request(`${q.path}/${'0'.repeat(26)}01${'0'.repeat(4)}`, { method: 'PUT', key: q.key, headers: FORM, body: 'body=x' });
    expect([missing.status, await errorCode(missing)]).toEqual([404, 'message_not_found']);
  });

  it('deletes one message, or many with optional partition prefixes', async () => {
    const s = srv();
    const q = await queue(s, 3);
    const acks = await postEach(s, q.path, q.key, [['a', 1], ['b', 2], ['c', 3], ['d', 2], ['e', 1]]);
    const one = await s.request(`${q.path}/${acks[0]!.key}`, { method: 'DELETE', key: q.key });
    expect(await one.json()).toEqual({ status: 'ok', deleted: 1 });
    // Prefixed (the seed's %3A-encoded colon), bare, and an unknown id (not an error).
    const unknown = `${'0'.repeat(26)}02${'0'.repeat(4)}`;
    const many = await s.request(`${q.path}/2%3A${acks[1]!.key},${acks[2]!.key},3:${acks[2]!.key},${unknown}`, { method: 'DELETE', key: q.key });
    expect(await many.json()).toEqual({ status: 'ok', deleted: 2 });
    const left = await read(s, q.path, q.key, '?partitions=1,2,3');
    expect(left.map((m) => m.body)).toEqual(['d', 'e']);
    const gone = await s.request(`${q.path}/${acks[0]!.key}`, { key: q.key });
    expect([gone.status, await errorCode(gone)]).toEqual([404, 'message_not_found']);
  });

  it('never returns a message whose ttl has passed, and keeps the others', async () => {
    const s = srv();
    const q = await queue(s);
    await post(s, q.path, q.key, JSON.stringify({ messages: [{ body: 'short', ttl: 1 }, { body: 'long', ttl: 3600 }] }), JSON_CT);
    expect((await read(s, q.path, q.key)).map((m) => m.body)).toEqual(['short', 'long']);
    await new Promise((r) => setTimeout(r, 1200)); // waiting for a TTL to pass (allowed by the test rules)
    expect((await read(s, q.path, q.key)).map((m) => m.body)).toEqual(['long']);
    expect(await (await s.request(`${q.path}/info?include_count`, { key: q.key })).json()).toMatchObject({ count: 1 });
  });
});
