/**
 * Bad input on a real socket (protocol/websocket.md section 8), in both wire formats: every bad
 * frame gets exactly one documented error frame (its id echoed when readable) or the documented
 * close code; nothing stored changes; the server goes on serving the other connections.
 */
import { pack } from 'msgpackr';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientFrame, ServerFrame, WireFormat } from '../../src/codec/index.js';
import type { Engine, QueueMeta } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { snapshot } from '../helpers/server.js';
import { WsTestClient, appWithKey, maskedFrame, queueOf, readServerFrames, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

const MAX_FRAME = 64 * 1024;

/**
 * A WebSocket over raw TCP: the handshake, then whatever the test writes; untilClosed() resolves
 * with the opcodes of the frames the server sent (8 = close) once the TCP connection is closed.
 */
async function rawSocket(port: number, query: string, format: WireFormat): Promise<{ socket: net.Socket; untilClosed(): Promise<number[]> }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `GET /v1/ws?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: holdline.v1.${format}\r\n\r\n`,
  );
  // The 101 and the welcome frame: the connection is open and authenticated.
  await vi.waitFor(() => {
    const data = Buffer.concat(chunks);
    const head = data.indexOf('\r\n\r\n');
    expect(head).toBeGreaterThan(0);
    expect(data.length).toBeGreaterThan(head + 4);
  });
  return {
    socket,
    async untilClosed() {
      await closed;
      return readServerFrames(Buffer.concat(chunks)).opcodes;
    },
  };
}

describe.each(['json', 'msgpack'] as WireFormat[])('ws bad input (%s)', (format) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  let q: QueueMeta;
  let c: WsTestClient;

  beforeEach(async () => {
    engine = await engineFactories[0]!.create();
    s = await startWsServer(engine, { maxFrameBytes: MAX_FRAME, maxClientJsonBytes: 100 }, { maxMessageBytes: 32 * 1024 });
    shop = await appWithKey(engine);
    q = await queueOf(engine, shop.name, { partitions: 2 });
    await engine.append(q, [{ body: 'kept', ttl: 3600, partition: 1 }]);
    c = await WsTestClient.open(s.url, { key: shop.key, format });
  });
  afterEach(async () => {
    await c.close();
    await s.close();
    await engine.close();
  });

  /** Encodes a value the way this format's client would, without the codec's typing. */
  const encode = (value: unknown): string | Uint8Array => (format === 'json' ? JSON.stringify(value) : new Uint8Array(pack(value)));
  const garbage = (): string | Uint8Array => (format === 'json' ? '{"type":"ping",' : new Uint8Array([0x82, 0xa4, 0x74]));

  async function replyTo(data: string | Uint8Array): Promise<ServerFrame> {
    const from = c.frames.length;
    c.sendRaw(data, format === 'msgpack');
    return c.waitFor((f) => f.type !== 'heartbeat', 'a reply', from);
  }

  const cases: Array<[string, () => unknown, string, string | undefined, boolean]> = [
    // name, frame, code, field, id echoed
    ['not an object', () => [1, 2], 'invalid_frame', undefined, false],
    ['no type', () => ({ id: 3 }), 'missing_field', 'type', true],
    ['type not a string', () => ({ type: 5, id: 3 }), 'invalid_field', 'type', true],
    ['unknown type', () => ({ type: 'teleport', id: 3 }), 'unknown_frame_type', 'type', true],
    ['unknown field', () => ({ type: 'ping', id: 3, extra: 1 }), 'invalid_field', 'extra', true],
    ['unknown field with a 1000-character name', () => ({ type: 'ping', id: 3, ['k'.repeat(1000)]: 1 }), 'invalid_field', `${'k'.repeat(99)}…`, true],
    ['wrong field type', () => ({ type: 'history', id: 3, application: shop.name, queue: q.name, limit: 'ten' }), 'invalid_limit', 'limit', true],
    ['bad id', () => ({ type: 'ping', id: -1 }), 'invalid_field', 'id', false],
    ['missing field', () => ({ type: 'publish', id: 3, application: shop.name, queue: q.name }), 'missing_field', 'messages', true],
    ['bad ttl', () => ({ type: 'publish', id: 3, application: shop.name, queue: q.name, messages: [{ body: 'a' }, { body: 'b', ttl: 0 }] }), 'invalid_ttl', 'messages[1].ttl', true],
    ['partition over the queue', () => ({ type: 'publish', id: 3, application: shop.name, queue: q.name, messages: [{ body: 'a', partition: 3 }] }), 'partition_out_of_range', 'messages[0].partition', true],
    ['empty body', () => ({ type: 'publish', id: 3, application: shop.name, queue: q.name, messages: [{ body: '' }] }), 'empty_body', 'messages[0].body', true],
    ['content_type with a line break', () => ({ type: 'publish', id: 3, application: shop.name, queue: q.name, messages: [{ body: 'a', content_type: 'text/plain\r\nX-Injected: 1' }] }), 'invalid_field', 'messages[0].content_type', true],
    ['content_type not a media type', () => ({ type: 'publish', id: 3, application: shop.name, queue: q.name, messages: [{ body: 'a', content_type: 'plain' }] }), 'invalid_field', 'messages[0].content_type', true],
    ['body too large', () => ({ type: 'publish', id: 3, application: shop.name, queue: q.name, messages: [{ body: 'x'.repeat(40_000) }] }), 'message_too_large', 'messages[0].body', true],
    ['unknown queue', () => ({ type: 'publish', id: 3, application: shop.name, queue: 'nope', messages: [{ body: 'a' }] }), 'queue_not_found', undefined, true],
    ['unknown application', () => ({ type: 'history', id: 3, application: 'nobody-here', queue: 'nope' }), 'queue_not_found', undefined, true],
    ['bad since', () => ({ type: 'history', id: 3, application: shop.name, queue: q.name, since: 'yesterday' }), 'invalid_since', 'since', true],
    ['history partition over the queue', () => ({ type: 'history', id: 3, application: shop.name, queue: q.name, partitions: [1, 9] }), 'partition_out_of_range', 'partitions[1]', true],
    ['after not in partitions', () => ({ type: 'subscribe', id: 3, application: shop.name, queue: q.name, partitions: [1], after: { '2': '0'.repeat(26) + '02' + '0000' } }), 'invalid_field', 'after.2', true],
    ['after id of another partition', () => ({ type: 'subscribe', id: 3, application: shop.name, queue: q.name, after: { '1': '0'.repeat(26) + '02' + '0000' } }), 'invalid_message_id', 'after.1', true],
    ['after id with seq 0', () => ({ type: 'subscribe', id: 3, application: shop.name, queue: q.name, after: { '1': '0'.repeat(26) + '01' + '0000' } }), 'invalid_message_id', 'after.1', true],
    ['after and since', () => ({ type: 'subscribe', id: 3, application: shop.name, queue: q.name, after: { '1': '0'.repeat(26) + '01' + '0000' }, since: 1 }), 'invalid_field', 'after', true],
    ['client_json too large', () => ({ type: 'state.set', id: 3, application: shop.name, queue: q.name, partition: 1, message_id: '0'.repeat(26) + '01' + '0000', client_json: { x: 'y'.repeat(200) } }), 'invalid_field', 'client_json', true],
    ['nesting too deep', () => ({ type: 'state.set', id: 3, application: shop.name, queue: q.name, partition: 1, message_id: '0'.repeat(32), client_json: JSON.parse('['.repeat(80) + ']'.repeat(80)) as unknown }), 'invalid_field', undefined, true],
  ];

  it.each(cases)('%s → %s', async (_name, frame, code, field, echoed) => {
    const before = await snapshot(engine, [shop.name]);
    const reply = await replyTo(encode(frame()));
    expect(reply.type).toBe('error');
    if (reply.type !== 'error') return;
    expect(reply.error.code).toBe(code);
    if (field !== undefined) expect(reply.error.field).toBe(field);
    expect(typeof reply.error.message).toBe('string');
    if (echoed) expect(reply.id).toBe(3);
    else expect(reply.id).toBeUndefined();
    expect(await snapshot(engine, [shop.name])).toEqual(before);
    // The connection goes on.
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
  });

  // JSON's \ud800 escape: valid UTF-8 text that decodes to text with no UTF-8 form (MessagePack cannot send it).
  it.runIf(format === 'json')('a body or client_json with an unpaired surrogate → invalid_utf8, nothing stored', async () => {
    const before = await snapshot(engine, [shop.name]);
    const frame = { type: 'publish', id: 3, application: shop.name, queue: q.name, messages: [{ body: 'ok' }, { body: 'a\ud800b' }] };
    const reply = await replyTo(JSON.stringify(frame));
    expect(reply).toMatchObject({ type: 'error', id: 3, op: 'publish', error: { code: 'invalid_utf8', field: 'messages[1].body' } });
    const [kept] = await engine.read({ app: shop.name, queue: q.name, partition: 1 }, { limit: 1, order: 'ascending' });
    const state = { type: 'state.set', id: 4, application: shop.name, queue: q.name, partition: 1, message_id: kept!.id, client_json: { note: ['x', '\udc00'] } };
    expect(await replyTo(JSON.stringify(state))).toMatchObject({ type: 'error', id: 4, op: 'state.set', error: { code: 'invalid_utf8', field: 'client_json' } });
    expect(await snapshot(engine, [shop.name])).toEqual(before);
  });

  // msgpackr decodes a `str` that is not UTF-8 to U+FFFD; stored, it would not be what was sent.
  it.runIf(format === 'msgpack')('a str that is not UTF-8 → invalid_utf8, nothing stored; a real U+FFFD is kept', async () => {
    const before = await snapshot(engine, [shop.name]);
    const bytes = Buffer.from(pack({ type: 'publish', id: 3, application: shop.name, queue: q.name, messages: [{ body: 'zzz', partition: 1 }] }));
    const at = bytes.indexOf(Buffer.from([0xa3, 0x7a, 0x7a, 0x7a]));
    Buffer.from([0xa3, 0xed, 0xa0, 0x80]).copy(bytes, at); // a surrogate, which UTF-8 cannot hold
    expect(await replyTo(new Uint8Array(bytes))).toMatchObject({ type: 'error', id: 3, op: 'publish', error: { code: 'invalid_utf8' } });
    // A bad id is not echoed (it would come back as U+FFFD, which the client never sent).
    const badId = Buffer.from(pack({ type: 'ping', id: 'zzz' }));
    Buffer.from([0xa3, 0xed, 0xa0, 0x80]).copy(badId, badId.indexOf(Buffer.from([0xa3, 0x7a, 0x7a, 0x7a])));
    const noId = await replyTo(new Uint8Array(badId));
    expect(noId).toMatchObject({ type: 'error', op: 'ping', error: { code: 'invalid_utf8' } });
    expect(noId).not.toHaveProperty('id');
    expect(await snapshot(engine, [shop.name])).toEqual(before);
    const kept = await c.request({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: 'a\uFFFDb', partition: 2 }] });
    expect(kept.type).toBe('published');
    const read = await c.request({ type: 'history', application: shop.name, queue: q.name, partitions: [2] });
    expect(read.type === 'history.result' && read.messages.map((m) => m.body)).toEqual(['a\uFFFDb']);
  });

  it(`garbage → ${format === 'json' ? 'invalid_json' : 'invalid_msgpack'}, and every bad frame gets exactly one reply`, async () => {
    const reply = await replyTo(garbage());
    expect(reply).toMatchObject({ type: 'error', error: { code: format === 'json' ? 'invalid_json' : 'invalid_msgpack' } });
    const from = c.frames.length;
    for (let i = 0; i < 20; i++) c.sendRaw(i % 2 === 0 ? garbage() : encode({ type: 'nope', id: i }), format === 'msgpack');
    const last = await c.request({ type: 'ping', id: 'last' });
    expect(last.type).toBe('pong');
    const replies = c.frames.slice(from).filter((f) => f.type !== 'heartbeat');
    expect(replies).toHaveLength(21);
    expect(replies.slice(0, 20).every((f) => f.type === 'error')).toBe(true);
  });

  it('a frame over max_frame_bytes closes with 1009 frame_too_large; the server serves others', async () => {
    const other = await WsTestClient.open(s.url, { key: shop.key, format });
    const frame: ClientFrame = { type: 'publish', application: shop.name, queue: q.name, messages: [{ body: 'x'.repeat(MAX_FRAME + 10) }] };
    c.send(frame);
    expect(await c.closed).toEqual({ code: 1009, reason: 'frame_too_large' });
    expect((await other.request({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: 'fine' }] })).type).toBe('published');
    await other.close();
  });

  it('a frame over twice max_frame_bytes: the transport drops the connection (1006)', async () => {
    c.sendRaw(encode({ type: 'ping', pad: 'x'.repeat(2 * MAX_FRAME + 10) }), format === 'msgpack');
    expect((await c.closed).code).toBe(1006);
    const other = await WsTestClient.open(s.url, { key: shop.key, format });
    expect((await other.request({ type: 'ping' })).type).toBe('pong');
    await other.close();
  });

  it('a value nested 5000 levels deep: invalid_field at the 64th level, with the request id', async () => {
    const head = { type: 'state.set', id: 'deep-1', application: shop.name, queue: q.name, partition: 1, message_id: '0'.repeat(32), client_json: 0 };
    const data =
      format === 'json'
        ? JSON.stringify(head).replace('"client_json":0', `"client_json":${'['.repeat(5000)}1${']'.repeat(5000)}`)
        : new Uint8Array(Buffer.concat([Buffer.from(pack(head)).subarray(0, -1), Buffer.alloc(5000, 0x91), Buffer.from([0x01])]));
    const reply = await replyTo(data);
    // The path to the 64th level is 200 characters: echoed as its first 99 and `…` (errors.md).
    expect(reply).toMatchObject({ type: 'error', id: 'deep-1', op: 'state.set', error: { code: 'invalid_field', field: `${`client_json${'[0]'.repeat(63)}`.slice(0, 99)}…` } });
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
  });

  it('a text frame that is not UTF-8: the transport drops the connection without a close frame (1006)', async () => {
    // A raw socket: `ws` would refuse to send such a frame. uWebSockets.js checks UTF-8 before
    // Holdline sees the frame and closes the TCP connection without a close frame (websocket.md 8, 9).
    const raw = await rawSocket(s.server.port, `key=${shop.key}`, format);
    raw.socket.write(maskedFrame(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), false));
    const opcodes = await raw.untilClosed();
    expect(opcodes[0]).toBe(format === 'json' ? 1 : 2); // welcome
    expect(opcodes).not.toContain(8); // no close frame
    await vi.waitFor(() => expect(s.endpoint.stats().closed.map((x) => x.code)).toContain(1006));
    const other = await WsTestClient.open(s.url, { key: shop.key, format });
    expect((await other.request({ type: 'ping' })).type).toBe('pong');
    await other.close();
  });

  it('the wrong frame kind for the subprotocol closes with 1003 wrong_frame_kind', async () => {
    const wrong = format === 'json' ? new TextEncoder().encode('{"type":"ping"}') : '{"type":"ping"}';
    c.sendRaw(wrong, format === 'json');
    expect(await c.closed).toEqual({ code: 1003, reason: 'wrong_frame_kind' });
  });

  it('subscribe twice to a partition: already_subscribed, and nothing changes', async () => {
    expect((await c.request({ type: 'subscribe', application: shop.name, queue: q.name, partitions: [1] })).type).toBe('subscribed');
    const again = await c.request({ type: 'subscribe', application: shop.name, queue: q.name, partitions: [2, 1] });
    // field: where the frame names the partition, as every error's field (errors.md).
    expect(again).toMatchObject({ type: 'error', error: { code: 'already_subscribed', field: 'partitions[1]' } });
    const byAfter = await c.request({ type: 'subscribe', application: shop.name, queue: q.name, after: { '1': '0'.repeat(25) + '1' + '01' + '0000' } });
    expect(byAfter).toMatchObject({ type: 'error', error: { code: 'already_subscribed', field: 'after.1' } });
    const byDefault = await c.request({ type: 'subscribe', application: shop.name, queue: q.name });
    expect(byDefault).toMatchObject({ type: 'error', error: { code: 'already_subscribed', field: 'partitions' } });
    expect(s.endpoint.stats().connections.find((x) => x.subscriptions.length > 0)?.subscriptions.map((x) => x.partition)).toEqual([1]);
  });
});

describe('ws limits', () => {
  it('too_many_subscriptions counts partitions and the event tail; the limit is per connection', async () => {
    const engine = await engineFactories[0]!.create();
    const s = await startWsServer(engine, { maxSubscriptions: 3 });
    const shop = await appWithKey(engine);
    const q = await queueOf(engine, shop.name, { partitions: 5 });
    const c = await WsTestClient.open(s.url, { key: shop.key });
    expect((await c.request({ type: 'subscribe', application: shop.name, queue: q.name, partitions: [1, 2] })).type).toBe('subscribed');
    expect(await c.request({ type: 'subscribe', application: shop.name, queue: q.name, partitions: [3, 4] })).toMatchObject({
      type: 'error',
      error: { code: 'too_many_subscriptions' },
    });
    expect((await c.request({ type: 'subscribe', application: shop.name, queue: q.name, partitions: [3] })).type).toBe('subscribed');
    const d = await WsTestClient.open(s.url, { key: shop.key });
    expect((await d.request({ type: 'subscribe', application: shop.name, queue: q.name, partitions: [1, 2, 3] })).type).toBe('subscribed');
    // The event tail counts as one (websocket.md 10).
    const e = await WsTestClient.open(s.url, { key: shop.key });
    expect((await e.request({ type: 'events.subscribe' })).type).toBe('events.subscribed');
    expect(await e.request({ type: 'subscribe', application: shop.name, queue: q.name, partitions: [1, 2, 3] })).toMatchObject({ error: { code: 'too_many_subscriptions' } });
    await e.close();
    await c.close();
    await d.close();
    await s.close();
    await engine.close();
  });

  it('a client that keeps sending without waiting for replies is closed with 4429 past max_pending_frames', async () => {
    // Redis: each read waits for the network, so frames pile up behind it (the memory engine
    // answers within the same turn, before uWS hands over the next frame).
    const engine = await engineFactories[1]!.create();
    const s = await startWsServer(engine, { maxPendingFrames: 5 });
    const shop = await appWithKey(engine);
    const q = await queueOf(engine, shop.name);
    const c = await WsTestClient.open(s.url, { key: shop.key });
    // Frames queue behind a history read; sent in one burst, more than 5 wait at once.
    for (let i = 0; i < 50; i++) c.send({ type: 'history', application: shop.name, queue: q.name, limit: 1000 });
    expect(await c.closed).toMatchObject({ code: 4429, reason: 'slow_consumer' });
    await s.close();
    await engine.close();
  });
});
