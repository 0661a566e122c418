/**
 * Valid frames of every type survive encode → decode in both formats, byte for byte where the
 * encoding is fixed, and the MessagePack they produce is plain MessagePack that an independent
 * reader (below, written from the MessagePack spec) decodes to the same value as the JSON form.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { AnySchemaObject } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_TYPES,
  SERVER_FRAME_TYPES,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
} from '../../src/codec/index.js';
import type {
  ClientFrame,
  ServerFrame,
  WireCaller,
  WireCallQueue,
  WireCallQueueStats,
  WireMember,
} from '../../src/codec/index.js';

const ID1 = '06442f588e1a40000000000007020a3f';
const ID2 = '06442f588e1a6d00000000000c0177c1';
const T = '2026-11-22T14:59:05.123Z';
const QID = 'cc096e0b-0c96-4b8b-b812-ef456f361ee3';

const queue: WireCallQueue = {
  uuid: QID, name: 'support', description: '', disabled: false, project_id: null, user_id: null,
  service_level_seconds: 20, created_at: T, updated_at: T,
};
const caller: WireCaller = {
  uuid: 'e5814fee-6e8a-4771-8edd-ea413eff57f1', queue_id: QID, name: 'Paul Belanger', number: '6135551234',
  priority: 0, position: 0, status: 'waiting', status_at: T, member_uuid: null, created_at: T,
};
const member: WireMember = {
  uuid: 'b1775ea3f7fb451a97ef669d1ccf8e64', queue_id: QID, number: '1001@example.org', paused: true,
  paused_at: T, pause_reason: 'lunch', status: 'available', status_at: T, created_at: T,
};
const stats: WireCallQueueStats = {
  callers: 1, callers_waiting: 1, callers_ringing: 0, callers_connected: 0, longest_wait: 12.5,
  oldest_wait_since: T, members: 1, members_logged_in: 1, members_available: 0, members_paused: 1,
  completed: 3, abandoned: 1, timed_out: 0, transferred: 0, average_wait: 8.25, service_level: 0.75,
  service_level_seconds: 20, at: T,
};

const CLIENT_FIXTURES: ClientFrame[] = [
  { type: 'auth', id: 1, key: 'k3y' },
  { type: 'auth', token: 't0ken' },
  {
    type: 'publish', id: 'p-1', application: 'shop', queue: 'orders',
    messages: [
      { body: 'héllo ✓', partition: 2, ttl: 3600, content_type: 'text/plain', in_reply_to: ID1 },
      { body: new Uint8Array([0, 1, 2, 253, 254, 255]) },
    ],
  },
  { type: 'subscribe', id: 2, application: 'shop', queue: 'orders', partitions: [1, 2], after: { '1': ID1 } },
  { type: 'subscribe', application: 'shop', queue: 'orders', since: 1763820000.123456 },
  { type: 'subscribe', application: 'shop', queue: 'orders', partitions: [3], batch: true },
  { type: 'unsubscribe', id: 3, application: 'shop', queue: 'orders', partitions: [2] },
  { type: 'history', id: 4, application: 'shop', queue: 'orders', since: ID2, limit: 50, order: 'descending', partitions: [1, 3] },
  { type: 'history', application: 'shop', queue: 'orders', since: 0 },
  {
    type: 'state.set', id: 5, application: 'shop', queue: 'orders', partition: 1, message_id: ID1,
    client_state: 'processing', client_json: { worker: 'w1', tries: [1, 2.5, null, true] },
  },
  { type: 'state.set', application: 'shop', queue: 'orders', partition: 1, message_id: ID1, client_state: null },
  { type: 'callqueue.subscribe', id: 6, queue_id: QID, since_seq: 41 },
  { type: 'callqueue.unsubscribe', id: 7, queue_id: QID },
  { type: 'events.subscribe', id: 9, q: [{ field: 'event_type', value: 'queue.caller.leave' }, { field: 'wait', op: 'eq', type: 'float', value: '12.5' }], since: '019af0c2-5d1e-7a3b-8c4d-0e1f2a3b4c5d' },
  { type: 'events.unsubscribe', id: 10 },
  { type: 'callqueue.refresh', id: 9, queue_id: QID },
  { type: 'caller.callback', id: 11, queue_id: QID, caller_id: QID, number: '6135550001' },
  { type: 'offer.accept', id: 10, queue_id: QID, offer_id: QID },
  { type: 'offer.reject', queue_id: QID, offer_id: QID },
  { type: 'ping', id: 9007199254740991 },
];

const SERVER_FIXTURES: ServerFrame[] = [
  {
    type: 'welcome', protocol: 1, server: 'holdline/0.1.0', connection_id: 'c1', heartbeat_ms: 25000,
    principal: { kind: 'application', application: 'shop' },
    limits: { max_frame_bytes: 1048576, max_message_bytes: 262144, max_publish_messages: 1000, max_subscriptions: 1000,
              max_reply_bytes: 4194304, max_pending_frames: 1000, buffer_limit_bytes: 1048576, max_buffer_bytes: 16777216, drain_timeout_ms: 30000, callqueue_resume_window: 1000 },
  },
  { type: 'authenticated', id: 1, principal: { kind: 'agent', application: 'shop', agent_uuid: member.uuid } },
  { type: 'published', id: 'p-1', messages: [{ message_id: ID1, partition: 2, seq: 7, timestamp: 1763820000.123456 }] },
  { type: 'subscribed', id: 2, application: 'shop', queue: 'orders', partitions: [{ partition: 1, recovered: false, last_message_id: ID1, last_seq: 7 }, { partition: 2, recovered: true, last_message_id: null, last_seq: null }] },
  { type: 'unsubscribed', application: 'shop', queue: 'orders', partitions: [1, 2], reason: 'queue_deleted' },
  {
    type: 'message', application: 'shop', queue: 'orders', message_id: ID1, partition: 2, seq: 7,
    timestamp: 1763820000.123456, body: 'hello', content_type: 'text/plain', in_reply_to: ID2,
  },
  { type: 'message', application: 'shop', queue: 'orders', message_id: ID2, partition: 1, seq: 12, timestamp: 1763820000.123501, body: new Uint8Array([255, 0, 7]) },
  {
    type: 'messages', application: 'shop', queue: 'orders', partition: 2,
    messages: [
      { message_id: ID1, seq: 7, timestamp: 1763820000.123456, body: 'hello', content_type: 'text/plain' },
      { message_id: ID2, seq: 8, timestamp: 1763820000.123501, body: new Uint8Array([255, 0, 7]), in_reply_to: ID1 },
    ],
  },
  { type: 'resync', application: 'shop', queue: 'orders', partition: 1, reason: 'slow_consumer', recovered: true },
  {
    type: 'history.result', id: 4, truncated: false,
    messages: [
      { message_id: ID1, partition: 2, seq: 7, timestamp: 1763820000.123456, body: new Uint8Array([1]) },
      { message_id: ID2, partition: 1, seq: 12, timestamp: 1763820000.123501, body: 'two', client_state: 'done', client_json: [1, { a: 'b' }], updated_at: 1763820001.5 },
    ],
  },
  { type: 'state.updated', id: 5, message: { message_id: ID1, partition: 1, seq: 1, timestamp: 1.5, body: 'x', client_state: 'processing', updated_at: 2 } },
  { type: 'pong', id: 9, time: 1763820000.5 },
  { type: 'heartbeat', time: 1763820000.5 },
  { type: 'error', id: 7, op: 'publish', error: { code: 'queue_not_found', message: 'No such queue', field: 'queue' } },
  { type: 'error', error: { code: 'invalid_json', message: 'The body is not valid JSON' } },
  { type: 'callqueue.subscribed', id: 6, queue_id: QID, seq: 41, recovered: true },
  { type: 'callqueue.snapshot', queue_id: QID, seq: 57, queue, callers: [caller], members: [member], stats },
  { type: 'callqueue.update', queue_id: QID, seq: 58, at: T, kind: 'caller_joined', caller, line: { uuid: caller.uuid, from: null, to: 0, length: 1 }, stats },
  { type: 'callqueue.update', queue_id: QID, seq: 59, at: T, kind: 'caller_updated', caller: { ...caller, priority: 5 }, changed: ['priority'], stats },
  {
    type: 'callqueue.update', queue_id: QID, seq: 60, at: T, kind: 'caller_left', caller: { ...caller, position: null },
    reason: 'abandoned', wait: 42.5, line: { uuid: caller.uuid, from: 0, to: null, length: 0 }, stats,
  },
  { type: 'callqueue.update', queue_id: QID, seq: 61, at: T, kind: 'member_added', member, stats },
  { type: 'callqueue.update', queue_id: QID, seq: 62, at: T, kind: 'member_updated', member, changed: ['paused', 'pause_reason'], stats },
  { type: 'callqueue.update', queue_id: QID, seq: 63, at: T, kind: 'member_removed', member, stats },
  { type: 'callqueue.update', queue_id: QID, seq: 64, at: T, kind: 'queue_updated', queue: { ...queue, disabled: true }, changed: ['disabled'], stats },
  { type: 'callqueue.update', queue_id: QID, seq: 65, at: T, kind: 'queue_deleted', queue },
  { type: 'callqueue.unsubscribed', id: 8, queue_id: QID, reason: 'requested' },
  { type: 'events.subscribed', id: 9, seq: 41, recovered: false },
  {
    type: 'event',
    seq: 42,
    event: {
      message_id: '019af0c2-5d1e-7a3b-8c4d-0e1f2a3b4c5d',
      event_type: 'queue.caller.leave',
      generated: '2026-12-06T23:41:02.123456Z',
      traits: [{ name: 'project_id', type: 'string', value: 'demo' }, { name: 'wait', type: 'float', value: 12.5 }],
      raw: {},
    },
  },
  { type: 'events.unsubscribed', reason: 'events_lost' },
  { type: 'callqueue.refreshed', id: 9, queue_id: QID },
  { type: 'caller.callback.set', id: 11, caller: { ...caller, callback: { number: '6135550001', requested_at: T } } },
  {
    type: 'callqueue.stats', queue_id: QID, stats, members_by_state: { available: 1, busy: 0, wrapup: 0, logged_out: 0, paused: 0 },
    windows: (['15m', '1h', 'today'] as const).map((window) => ({
      window, start: T, offered: 3, answered: 1, abandoned: 1, timed_out: 0, transferred: 0, answered_within: 1, abandoned_within: 0,
      abandon_rate: 0.5, service_level: 0.5, average_speed_of_answer: 4.2, average_handle_time: null, handled: 0,
    })),
    estimates: { [caller.uuid]: 12.5 },
  },
  { type: 'offer', offer: { offer_id: QID, queue_id: QID, caller_id: QID, agents: [QID], strategy: 'ring_all', created_at: T, expires_at: T } },
  { type: 'offer.accepted', id: 10, offer: { offer_id: QID, queue_id: QID, caller_id: QID, agents: [QID], strategy: 'linear', created_at: T, expires_at: T } },
  { type: 'offer.rejected', offer: { offer_id: QID, queue_id: QID, caller_id: QID, agents: [], strategy: 'linear', created_at: T, expires_at: T } },
  { type: 'offer.revoked', offer_id: QID, queue_id: QID, reason: 'accepted_elsewhere' },
];

// ---------- an independent MessagePack reader: standard types only, extensions refused ----------

function readMsgpack(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number): number => {
    if (pos + n > bytes.length) throw new Error('truncated');
    const at = pos;
    pos += n;
    return at;
  };
  const str = (n: number): string => new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(need(n), pos));
  const bin = (n: number): Uint8Array => bytes.slice(need(n), pos);
  const arr = (n: number): unknown[] => Array.from({ length: n }, () => read());
  const map = (n: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = read();
      if (typeof k !== 'string') throw new Error('non-string key');
      o[k] = read();
    }
    return o;
  };
  const read = (): unknown => {
    const b = view.getUint8(need(1));
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return map(b & 0x0f);
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f);
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return bin(view.getUint8(need(1)));
      case 0xc5: return bin(view.getUint16(need(2)));
      case 0xc6: return bin(view.getUint32(need(4)));
      case 0xca: return view.getFloat32(need(4));
      case 0xcb: return view.getFloat64(need(8));
      case 0xcc: return view.getUint8(need(1));
      case 0xcd: return view.getUint16(need(2));
      case 0xce: return view.getUint32(need(4));
      case 0xcf: return Number(view.getBigUint64(need(8)));
      case 0xd0: return view.getInt8(need(1));
      case 0xd1: return view.getInt16(need(2));
      case 0xd2: return view.getInt32(need(4));
      case 0xd3: return Number(view.getBigInt64(need(8)));
      case 0xd9: return str(view.getUint8(need(1)));
      case 0xda: return str(view.getUint16(need(2)));
      case 0xdb: return str(view.getUint32(need(4)));
      case 0xdc: return arr(view.getUint16(need(2)));
      case 0xdd: return arr(view.getUint32(need(4)));
      case 0xde: return map(view.getUint16(need(2)));
      case 0xdf: return map(view.getUint32(need(4)));
      default: throw new Error(`byte 0x${b.toString(16)} is an extension or reserved`);
    }
  };
  const v = read();
  if (pos !== bytes.length) throw new Error('trailing bytes');
  return v;
}

/** The JSON form of a frame with bytes as base64 (what the JSON subprotocol carries). */
function jsonForm(encoded: string): unknown {
  return JSON.parse(encoded);
}

function bytesToBase64Deep(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(bytesToBase64Deep);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = bytesToBase64Deep(x);
    if (v && 'body' in v && (v as { body: unknown }).body instanceof Uint8Array) out.body_encoding = 'base64';
    return out;
  }
  return v;
}

function unionValidator(file: string): (v: unknown) => boolean {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, discriminator: true });
  const dir = new URL('../../protocol/schemas/ws/', import.meta.url);
  const load = (f: string): AnySchemaObject => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as AnySchemaObject;
  ajv.addSchema(load('common.json'));
  for (const side of ['client', 'server']) for (const f of readdirSync(new URL(side, dir))) ajv.addSchema(load(`${side}/${f}`));
  const v = ajv.compile(load(file));
  return (x) => v(x) === true;
}

describe('codec round trip', () => {
  it('has a fixture for every frame type', () => {
    expect(new Set(CLIENT_FIXTURES.map((f) => f.type))).toEqual(new Set(CLIENT_FRAME_TYPES));
    expect(new Set(SERVER_FIXTURES.map((f) => f.type))).toEqual(new Set(SERVER_FRAME_TYPES));
  });

  for (const format of ['json', 'msgpack'] as const) {
    it.each(CLIENT_FIXTURES.map((f, i) => [i, f.type, f] as const))(`client frame %i (%s) in ${format}`, (_i, _t, frame) => {
      const wire = encodeClientFrame(frame, format);
      expect(typeof wire === 'string').toBe(format === 'json');
      const back = decodeClientFrame(wire, format);
      expect(back).toEqual({ ok: true, frame });
    });

    it.each(SERVER_FIXTURES.map((f, i) => [i, f.type, f] as const))(`server frame %i (%s) in ${format}`, (_i, _t, frame) => {
      const wire = encodeServerFrame(frame, format);
      const back = decodeServerFrame(wire, format);
      expect(back).toEqual({ ok: true, frame });
    });
  }

  it('encodes every fixture as plain MessagePack equal to its JSON form', () => {
    for (const frame of [...CLIENT_FIXTURES, ...SERVER_FIXTURES]) {
      const packed = 'messages' in frame || 'body' in frame || 'message' in frame;
      const mp = readMsgpack(
        CLIENT_FRAME_TYPES.includes(frame.type as ClientFrame['type'])
          ? encodeClientFrame(frame as ClientFrame, 'msgpack')
          : encodeServerFrame(frame as ServerFrame, 'msgpack'),
      );
      const json = jsonForm(
        CLIENT_FRAME_TYPES.includes(frame.type as ClientFrame['type'])
          ? encodeClientFrame(frame as ClientFrame, 'json')
          : encodeServerFrame(frame as ServerFrame, 'json'),
      );
      // Bodies: bin in MessagePack, base64 + body_encoding in JSON; everything else identical.
      expect(packed ? bytesToBase64Deep(mp) : mp).toEqual(json);
    }
  });

  it('produces frames that the union schemas accept', () => {
    const client = unionValidator('client-frame.json');
    const server = unionValidator('server-frame.json');
    for (const f of CLIENT_FIXTURES) expect(client(JSON.parse(encodeClientFrame(f, 'json')))).toBe(true);
    for (const f of SERVER_FIXTURES) expect(server(JSON.parse(encodeServerFrame(f, 'json')))).toBe(true);
  });

  it('writes exact bytes for a small frame', () => {
    const ping = { type: 'ping', id: 1 } as const;
    expect(encodeClientFrame(ping, 'json')).toBe('{"type":"ping","id":1}');
    // fixmap(2) "type" "ping" "id" 1 — no records, no extension types.
    expect(Buffer.from(encodeClientFrame(ping, 'msgpack')).toString('hex')).toBe('82a474797065a470696e67a2696401');
    const msg = encodeServerFrame(
      { type: 'message', application: 'a', queue: 'q', message_id: ID1, partition: 1, seq: 1, timestamp: 1.5, body: new Uint8Array([0xff]) },
      'msgpack',
    );
    const hex = Buffer.from(msg).toString('hex');
    expect(hex).toContain('a4626f6479c401ff'); // "body": bin8 of 1 byte
    expect(hex).toContain('a974696d657374616d70cb3ff8000000000000'); // "timestamp": float64 1.5
  });

  it('omits undefined optional fields in both formats', () => {
    const frame: ClientFrame = { type: 'ping', id: undefined };
    expect(encodeClientFrame(frame, 'json')).toBe('{"type":"ping"}');
    expect(Buffer.from(encodeClientFrame(frame, 'msgpack')).toString('hex')).toBe('81a474797065a470696e67');
  });

  it('carries binary bodies as base64 in JSON', () => {
    const wire = encodeClientFrame(
      { type: 'publish', application: 'a', queue: 'q', messages: [{ body: new Uint8Array([0, 255]) }] },
      'json',
    );
    expect(wire).toBe('{"type":"publish","application":"a","queue":"q","messages":[{"body":"AP8=","body_encoding":"base64"}]}');
  });

  it('round-trips arbitrary publish frames', () => {
    const body = fc.oneof(fc.string({ minLength: 1, unit: 'grapheme' }), fc.uint8Array({ minLength: 0, maxLength: 64 }));
    const msg = fc.record(
      { body, partition: fc.integer({ min: 1, max: 200 }), ttl: fc.integer({ min: 1, max: 2 ** 25 }) },
      { requiredKeys: ['body'] },
    );
    const frame = fc.record({
      type: fc.constant('publish' as const),
      id: fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.nat()),
      application: fc.stringMatching(/^[A-Za-z0-9_-]{1,50}$/),
      queue: fc.stringMatching(/^[A-Za-z0-9_-]{1,100}$/),
      messages: fc.array(msg, { minLength: 1, maxLength: 5 }),
    });
    fc.assert(
      fc.property(frame, fc.constantFrom('json' as const, 'msgpack' as const), (f, format) => {
        const back = decodeClientFrame(encodeClientFrame(f, format), format);
        expect(back).toEqual({ ok: true, frame: f });
      }),
      { numRuns: 300 },
    );
  });
});
