/**
 * The `messages` frame (protocol/websocket.md 4.2, subscriptions with `batch`): its exact bytes in
 * both formats, and how the server splits a run of messages into frames (src/server/ws/wire.ts).
 */
import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeServerFrame, encodeServerFrame } from '../../src/codec/index.js';
import type { MessagesFrame } from '../../src/codec/index.js';
import type { StoredMessage } from '../../src/engine/types.js';
import { MAX_BATCH_MESSAGES, encodeBatches, messageFrame } from '../../src/server/ws/wire.js';

const ID1 = '06442f588e1a40000000000007020a3f';
const ID2 = '06442f588e1a6d00000000000c0177c1';

function stored(seq: number, body: string | Uint8Array, extra: Partial<StoredMessage> = {}): StoredMessage {
  const id = seq.toString(16).padStart(32, '0');
  return { id, partition: 2, seq, timestampUs: 1_763_820_000_000_000 + seq * 500_000, body, ttl: 60, expiresAtMs: 0, ...extra };
}

const ref = { app: 'shop', queue: 'orders', partition: 2 };

describe('messages frame: exact bytes', () => {
  const frame: MessagesFrame = {
    type: 'messages',
    application: 'shop',
    queue: 'orders',
    partition: 2,
    messages: [
      { message_id: ID1, seq: 7, timestamp: 1.5, body: 'hi' },
      { message_id: ID2, seq: 8, timestamp: 2, body: new Uint8Array([0, 255]), content_type: 'x' },
    ],
  };

  it('JSON: one object, messages in order, bytes as base64 with body_encoding', () => {
    expect(encodeServerFrame(frame, 'json')).toBe(
      '{"type":"messages","application":"shop","queue":"orders","partition":2,"messages":[' +
        `{"message_id":"${ID1}","seq":7,"timestamp":1.5,"body":"hi"},` +
        `{"message_id":"${ID2}","seq":8,"timestamp":2,"body":"AP8=","content_type":"x","body_encoding":"base64"}]}`,
    );
  });

  it('MessagePack: a plain map, a str body and a bin body', () => {
    const hex = Buffer.from(encodeServerFrame(frame, 'msgpack')).toString('hex');
    const str = (s: string): string => (0xa0 + s.length).toString(16) + Buffer.from(s).toString('hex');
    const expected =
      '85' + str('type') + str('messages') + str('application') + str('shop') + str('queue') + str('orders') +
      str('partition') + '02' + str('messages') + '92' +
      '84' + str('message_id') + 'd920' + Buffer.from(ID1).toString('hex') + str('seq') + '07' + str('timestamp') + 'cb3ff8000000000000' + str('body') + str('hi') +
      '85' + str('message_id') + 'd920' + Buffer.from(ID2).toString('hex') + str('seq') + '08' + str('timestamp') + '02' + str('body') + 'c40200ff' + str('content_type') + str('x');
    expect(hex).toBe(expected);
  });

  it('decodes back to the frame in both formats; the JSON form passes the schema', () => {
    for (const format of ['json', 'msgpack'] as const) {
      expect(decodeServerFrame(encodeServerFrame(frame, format), format)).toEqual({ ok: true, frame });
    }
  });

  it('accepts items that also carry partition (unknown fields), refuses an empty batch', () => {
    const withPartition = JSON.stringify({ ...frame, messages: [{ message_id: ID1, partition: 2, seq: 7, timestamp: 1.5, body: 'hi' }] });
    // Items are open objects (clients ignore unknown fields), but partition is the frame's: allowed, not required.
    expect(decodeServerFrame(withPartition, 'json').ok).toBe(true);
    const empty = JSON.stringify({ ...frame, messages: [] });
    expect(decodeServerFrame(empty, 'json')).toMatchObject({ ok: false, error: { code: 'invalid_field' } });
  });

  it('subscribe: batch must be a boolean', () => {
    const ok = decodeClientFrame('{"type":"subscribe","application":"a","queue":"q","batch":true}', 'json');
    expect(ok).toEqual({ ok: true, frame: { type: 'subscribe', application: 'a', queue: 'q', batch: true } });
    for (const bad of ['1', '"yes"', 'null', '{}']) {
      const r = decodeClientFrame(`{"type":"subscribe","id":3,"application":"a","queue":"q","batch":${bad}}`, 'json');
      expect(r, bad).toMatchObject({ ok: false, error: { code: 'invalid_field', field: 'batch', id: 3 } });
    }
  });
});

describe('message frame (per-message subscriptions): exact bytes, unchanged by batching', () => {
  it('required fields, then the optional ones in the protocol order', () => {
    const m = stored(7, 'hi', { contentType: 'text/plain', inReplyTo: ID1, clientState: 'done', clientJson: { a: 1 }, updatedAtUs: 2_000_000 });
    expect(encodeServerFrame(messageFrame('shop', 'orders', m), 'json')).toBe(
      `{"type":"message","application":"shop","queue":"orders","message_id":"${m.id}","partition":2,"seq":7,"timestamp":1763820003.5,` +
        `"body":"hi","content_type":"text/plain","in_reply_to":"${ID1}","client_state":"done","client_json":{"a":1},"updated_at":2}`,
    );
  });
});

describe('encodeBatches (server)', () => {
  it('one frame per run when it fits; items are the message objects without partition', () => {
    const run = [stored(1, 'a'), stored(2, new Uint8Array([1, 2])), stored(3, 'c', { contentType: 'text/plain', clientState: 'done' })];
    for (const format of ['json', 'msgpack'] as const) {
      const out = [...encodeBatches(ref, run, format, 1 << 20)];
      expect(out).toHaveLength(1);
      expect(out[0]!.last).toBe(run[2]);
      const decoded = decodeServerFrame(out[0]!.data, format);
      expect(decoded.ok).toBe(true);
      const frame = (decoded as { frame: MessagesFrame }).frame;
      expect(frame).toMatchObject({ type: 'messages', application: 'shop', queue: 'orders', partition: 2 });
      // Each item is exactly the per-message frame's message, minus partition.
      frame.messages.forEach((item, i) => {
        const { type: _t, application: _a, queue: _q, partition: _p, ...single } = messageFrame('shop', 'orders', run[i]!);
        expect(item).toEqual(single);
      });
    }
  });

  it('splits by encoded size, in order, each frame within the bound', () => {
    const run = Array.from({ length: 40 }, (_, i) => stored(i + 1, 'x'.repeat(300)));
    for (const format of ['json', 'msgpack'] as const) {
      const out = [...encodeBatches(ref, run, format, 4096)];
      expect(out.length).toBeGreaterThan(3);
      const seqs: number[] = [];
      for (const { data, last } of out) {
        expect(typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength).toBeLessThanOrEqual(4096);
        const f = (decodeServerFrame(data, format) as { frame: MessagesFrame }).frame;
        expect(f.messages.at(-1)!.seq).toBe(last.seq);
        seqs.push(...f.messages.map((m) => m.seq));
      }
      expect(seqs).toEqual(run.map((m) => m.seq));
    }
  });

  it('checks the encoded size, not the estimate (escaped text), and sends an oversized message alone', () => {
    // Control characters take 6 bytes each in JSON: far over the estimate.
    const run = Array.from({ length: 10 }, (_, i) => stored(i + 1, '\u0001'.repeat(200)));
    const out = [...encodeBatches(ref, run, 'json', 2500)];
    for (const { data } of out) expect(Buffer.byteLength(data as string)).toBeLessThanOrEqual(2500);
    const big = [stored(1, 'a'), stored(2, 'y'.repeat(5000)), stored(3, 'b')];
    const parts = [...encodeBatches(ref, big, 'json', 1000)].map(({ data }) => (decodeServerFrame(data, 'json') as { frame: MessagesFrame }).frame.messages.map((m) => m.seq));
    expect(parts).toEqual([[1], [2], [3]]);
  });

  it(`holds at most ${MAX_BATCH_MESSAGES} messages per frame`, () => {
    const run = Array.from({ length: MAX_BATCH_MESSAGES + 5 }, (_, i) => stored(i + 1, 'm'));
    const out = [...encodeBatches(ref, run, 'msgpack', 1 << 30)];
    expect(out.map(({ data }) => (decodeServerFrame(data, 'msgpack') as { frame: MessagesFrame }).frame.messages.length)).toEqual([MAX_BATCH_MESSAGES, 5]);
  });
});
