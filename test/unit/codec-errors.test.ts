/**
 * Broken input, byte by byte (STYLE.md example 4): truncated, oversized, garbage, wrong-type,
 * unknown-type and missing-field frames in both formats give the documented code and field
 * (protocol/websocket.md section 8) — and the decoder never throws.
 */
import { Packr } from 'msgpackr';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  toErrorFrame,
} from '../../src/codec/index.js';
import type { DecodeResult, FrameData, WireFormat } from '../../src/codec/index.js';

const ID = '06442f588e1a40000000000007020a3f';
const mp = (v: unknown): Uint8Array => new Packr({ useRecords: false }).pack(v);
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const text = (v: unknown): string => JSON.stringify(v);

function err(r: DecodeResult<unknown>): { code: string; field?: string; id?: unknown; op?: string } {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('decoded');
  const { code, field, id, op } = r.error;
  return Object.fromEntries(Object.entries({ code, field, id, op }).filter(([, v]) => v !== undefined)) as {
    code: string;
  };
}

/** The same frame through both formats: JSON text and MessagePack bytes. */
function both(frame: unknown): Array<[WireFormat, FrameData]> {
  return [
    ['json', text(frame)],
    ['msgpack', mp(frame)],
  ];
}

const publish = (messages: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'publish', id: 7, application: 'shop', queue: 'orders', messages, ...extra,
});

describe('decodeClientFrame: what is not a frame', () => {
  it('truncated JSON at every length', () => {
    const whole = text(publish([{ body: 'hello', ttl: 5 }]));
    for (let n = 0; n < whole.length; n++) {
      expect(err(decodeClientFrame(whole.slice(0, n), 'json')).code).toBe('invalid_json');
    }
  });

  it('truncated MessagePack at every length', () => {
    const whole = mp(publish([{ body: new Uint8Array([1, 2, 3]), ttl: 5 }]));
    for (let n = 0; n < whole.length; n++) {
      expect(err(decodeClientFrame(whole.subarray(0, n), 'msgpack')).code).toBe('invalid_msgpack');
    }
  });

  it('trailing bytes after one MessagePack value', () => {
    const ping = mp({ type: 'ping' });
    const extra = new Uint8Array([...ping, 0xc0]);
    expect(err(decodeClientFrame(extra, 'msgpack')).code).toBe('invalid_msgpack');
    expect(decodeClientFrame(ping, 'msgpack').ok).toBe(true);
  });

  it('the reserved byte 0xc1, at the top and nested', () => {
    expect(err(decodeClientFrame(hex('c1'), 'msgpack')).code).toBe('invalid_msgpack');
    // {"type":"ping","id":0xc1}
    expect(err(decodeClientFrame(hex('82 a4 74797065 a4 70696e67 a2 6964 c1'), 'msgpack')).code).toBe('invalid_msgpack');
  });

  it('MessagePack extension values: timestamp, undefined, records', () => {
    // {"type":"ping","id":<timestamp32 ext -1>}
    expect(err(decodeClientFrame(hex('82 a4 74797065 a4 70696e67 a2 6964 d6ff00000001'), 'msgpack'))).toEqual({
      code: 'invalid_field', field: 'id', op: 'ping',
    });
    // {"type":"ping","id":<fixext1 type 0: msgpackr's undefined>}
    expect(err(decodeClientFrame(hex('82 a4 74797065 a4 70696e67 a2 6964 d40000'), 'msgpack')).field).toBe('id');
    // msgpackr's record extension decodes to a plain object, so it is harmless; its structure
    // definition must not outlive the frame, or 0x40-0x7f would stop meaning integers for everyone.
    const withRecords = new Packr({ useRecords: true }).pack({ type: 'ping', id: 1 });
    expect(decodeClientFrame(withRecords, 'msgpack')).toEqual({ ok: true, frame: { type: 'ping', id: 1 } });
    expect(decodeClientFrame(mp({ type: 'ping', id: 64 }), 'msgpack')).toEqual({ ok: true, frame: { type: 'ping', id: 64 } });
  });

  it('integers beyond 2^53 and non-finite floats', () => {
    // {"type":"ping","id":uint64 max}
    expect(err(decodeClientFrame(hex('82 a4 74797065 a4 70696e67 a2 6964 cfffffffffffffffff'), 'msgpack')).field).toBe('id');
    // {"type":"ping","id":NaN as float64}
    expect(err(decodeClientFrame(hex('82 a4 74797065 a4 70696e67 a2 6964 cb7ff8000000000000'), 'msgpack')).field).toBe('id');
  });

  it('invalid UTF-8 in a JSON payload given as bytes', () => {
    const bytes = new Uint8Array([...Buffer.from('{"type":"ping","id":"'), 0xc3, 0x28, ...Buffer.from('"}')]);
    expect(err(decodeClientFrame(bytes, 'json')).code).toBe('invalid_utf8');
    expect(decodeClientFrame(Buffer.from('{"type":"ping","id":"é"}'), 'json')).toEqual({ ok: true, frame: { type: 'ping', id: 'é' } });
    // A real U+FFFD in valid UTF-8 JSON is what the client sent, as bytes or as text.
    expect(decodeClientFrame(Buffer.from('{"type":"ping","id":"a\uFFFDb"}'), 'json')).toEqual({ ok: true, frame: { type: 'ping', id: 'a\uFFFDb' } });
    expect(decodeClientFrame('{"type":"ping","id":"a\uFFFDb"}', 'json')).toEqual({ ok: true, frame: { type: 'ping', id: 'a\uFFFDb' } });
  });

  it('a text frame on the MessagePack subprotocol', () => {
    expect(err(decodeClientFrame('{"type":"ping"}', 'msgpack')).code).toBe('wrong_frame_kind');
    expect(ERRORS.wrong_frame_kind.close).toBe(1003);
  });

  it('values that are not objects', () => {
    for (const v of [[], [1], 'ping', 42, null, true]) {
      for (const [format, data] of both(v)) expect(err(decodeClientFrame(data, format)).code).toBe('invalid_frame');
    }
  });

  it('garbage bytes never throw and give a catalogue code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.constantFrom('json' as const, 'msgpack' as const), (bytes, format) => {
        const r = decodeClientFrame(bytes, format);
        if (!r.ok) expect(r.error.code in ERRORS).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('random JSON values never throw', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        for (const [format, data] of both(v)) {
          const r = decodeClientFrame(data, format);
          if (!r.ok) expect(r.error.code in ERRORS).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('nesting deeper than the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    const frame = { type: 'state.set', application: 'a', queue: 'q', partition: 1, message_id: ID, client_json: deep };
    for (const [format, data] of both(frame)) {
      const e = err(decodeClientFrame(data, format));
      expect(e.code).toBe('invalid_field');
      expect(e.field?.startsWith('client_json[0][0]')).toBe(true);
    }
    let allowed: unknown = 1;
    for (let i = 0; i < 60; i++) allowed = [allowed];
    for (const [format, data] of both({ ...frame, client_json: allowed })) expect(decodeClientFrame(data, format).ok).toBe(true);
    // 100 000 nested arrays: the parsers' own recursion limits must not escape as exceptions.
    const huge = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(err(decodeClientFrame(huge, 'json')).code).toMatch(/^(invalid_json|invalid_frame)$/);
    expect(err(decodeClientFrame(new Uint8Array(100_000).fill(0x91), 'msgpack')).code).toBe('invalid_msgpack');
  });

  it('MessagePack nested deeper than msgpackr can decode: invalid_field at the value, with the request id', () => {
    // 5000 levels: msgpackr runs out of stack; the frame is still one well-formed value.
    /** `fields` with a last field (`key`) whose value is `levels` nested one-item arrays around 1. */
    const nested = (fields: object, key: string, levels: number): Uint8Array =>
      Buffer.concat([Buffer.from(mp({ ...fields, [key]: 0 })).subarray(0, -1), Buffer.alloc(levels, 0x91), Buffer.from([0x01])]);
    const frame = (levels: number): Uint8Array =>
      nested({ type: 'state.set', id: 'r-7', application: 'a', queue: 'q', partition: 1, message_id: ID }, 'client_json', levels);
    const e = err(decodeClientFrame(frame(5000), 'msgpack'));
    // Paths longer than 100 characters are echoed as their first 99 and `…` (errors.md).
    const cut = (path: string): string => `${path.slice(0, 99)}…`;
    expect(e).toEqual({ code: 'invalid_field', field: cut(`client_json${'[0]'.repeat(63)}`), id: 'r-7', op: 'state.set' });
    // The same answer as for a shallower excess that msgpackr decodes (checkValues).
    expect(err(decodeClientFrame(frame(200), 'msgpack'))).toEqual(e);
    // The checks that come before the value check still come first; an invalid id is not echoed.
    expect(err(decodeClientFrame(nested({ type: 'nope', id: 3 }, 'x', 5000), 'msgpack'))).toEqual({ code: 'unknown_frame_type', field: 'type', id: 3 });
    expect(err(decodeClientFrame(nested({ id: 3 }, 'x', 5000), 'msgpack'))).toEqual({ code: 'missing_field', field: 'type', id: 3 });
    expect(err(decodeClientFrame(nested({ type: 'ping', id: -1 }, 'x', 5000), 'msgpack'))).toEqual({ code: 'invalid_field', field: cut(`x${'[0]'.repeat(63)}`), op: 'ping' });
    expect(err(decodeClientFrame(Buffer.concat([Buffer.from([0x92, 0x01]), Buffer.alloc(5000, 0x91), Buffer.from([0x01])]), 'msgpack'))).toEqual({ code: 'invalid_frame' });
    // Deep but truncated, or followed by trailing bytes: not one MessagePack value.
    const whole = frame(5000);
    expect(err(decodeClientFrame(whole.subarray(0, -1), 'msgpack')).code).toBe('invalid_msgpack');
    expect(err(decodeClientFrame(Buffer.concat([whole, Buffer.from([0x01])]), 'msgpack')).code).toBe('invalid_msgpack');
  });
});

describe('decodeClientFrame: frame size', () => {
  const padded = (n: number): string => {
    const base = '{"type":"ping","id":""}';
    return base.replace('""', `"${'a'.repeat(n - base.length)}"`);
  };

  it('accepts a frame of exactly the limit and refuses one byte more, in both formats', () => {
    const max = 64;
    const exact = padded(max);
    expect(exact.length).toBe(max);
    expect(decodeClientFrame(exact, 'json', { maxFrameBytes: max }).ok).toBe(true);
    expect(err(decodeClientFrame(exact + ' ', 'json', { maxFrameBytes: max }))).toEqual({ code: 'frame_too_large' });
    const bytes = mp({ type: 'ping' });
    expect(decodeClientFrame(bytes, 'msgpack', { maxFrameBytes: bytes.length }).ok).toBe(true);
    expect(err(decodeClientFrame(bytes, 'msgpack', { maxFrameBytes: bytes.length - 1 })).code).toBe('frame_too_large');
  });

  it('counts UTF-8 bytes, not characters, of a text frame', () => {
    const frame = `{"type":"ping","id":"${'é'.repeat(20)}"}`; // 20 characters, 40 bytes
    const bytes = Buffer.byteLength(frame);
    expect(decodeClientFrame(frame, 'json', { maxFrameBytes: bytes }).ok).toBe(true);
    expect(err(decodeClientFrame(frame, 'json', { maxFrameBytes: bytes - 1 })).code).toBe('frame_too_large');
    const astral = `{"type":"ping","id":"${'😀'.repeat(10)}"}`; // surrogate pairs: 4 bytes each
    expect(err(decodeClientFrame(astral, 'json', { maxFrameBytes: Buffer.byteLength(astral) - 1 })).code).toBe('frame_too_large');
  });

  it('refuses an oversized frame before parsing it, with the close code 1009', () => {
    const big = '{' + ' '.repeat(DEFAULT_MAX_FRAME_BYTES) + '}';
    const e = decodeClientFrame(big, 'json');
    expect(e.ok ? null : e.error).toEqual({ code: 'frame_too_large', message: `The frame exceeds ${DEFAULT_MAX_FRAME_BYTES} bytes` });
    expect(ERRORS.frame_too_large.close).toBe(1009);
    const bigBinary = new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1);
    expect(err(decodeClientFrame(bigBinary, 'msgpack')).code).toBe('frame_too_large');
    expect(err(decodeClientFrame(bigBinary.buffer, 'msgpack')).code).toBe('frame_too_large');
  });

  it('server frames have no size limit unless asked', () => {
    const body = 'x'.repeat(DEFAULT_MAX_FRAME_BYTES * 2);
    const frame = { type: 'message', application: 'a', queue: 'q', message_id: ID, partition: 1, seq: 1, timestamp: 1, body };
    expect(decodeServerFrame(text(frame), 'json').ok).toBe(true);
    expect(err(decodeServerFrame(text(frame), 'json', { maxFrameBytes: 1000 })).code).toBe('frame_too_large');
  });
});

describe('decodeClientFrame: frames with bad fields', () => {
  const cases: Array<[string, unknown, Record<string, unknown>]> = [
    ['no type', { id: 1 }, { code: 'missing_field', field: 'type', id: 1 }],
    ['type not a string', { type: 5, id: 'a' }, { code: 'invalid_field', field: 'type', id: 'a' }],
    ['unknown type', { type: 'publsh', id: 2 }, { code: 'unknown_frame_type', field: 'type', id: 2 }],
    ['server frame type sent by a client', { type: 'message', id: 2 }, { code: 'unknown_frame_type', field: 'type', id: 2 }],
    ['unknown field', { type: 'ping', id: 3, extra: 1 }, { code: 'invalid_field', field: 'extra', id: 3, op: 'ping' }],
    ['id too long: not echoed', { type: 'ping', id: 'x'.repeat(65) }, { code: 'invalid_field', field: 'id', op: 'ping' }],
    ['negative id', { type: 'ping', id: -1 }, { code: 'invalid_field', field: 'id', op: 'ping' }],
    ['fractional id', { type: 'ping', id: 1.5 }, { code: 'invalid_field', field: 'id', op: 'ping' }],
    ['publish without messages', { type: 'publish', id: 1, application: 'a', queue: 'q' }, { code: 'missing_field', field: 'messages', id: 1, op: 'publish' }],
    ['publish with no message', publish([]), { code: 'invalid_field', field: 'messages', id: 7, op: 'publish' }],
    ['publish with 1001 messages', publish(Array.from({ length: 1001 }, () => ({ body: 'x' }))), { code: 'invalid_field', field: 'messages', id: 7, op: 'publish' }],
    ['message without body', publish([{ body: 'a' }, { ttl: 5 }]), { code: 'missing_field', field: 'messages[1].body', id: 7, op: 'publish' }],
    ['body a number', publish([{ body: 5 }]), { code: 'invalid_field', field: 'messages[0].body', id: 7, op: 'publish' }],
    ['ttl zero', publish([{ body: 'a', ttl: 0 }]), { code: 'invalid_ttl', field: 'messages[0].ttl', id: 7, op: 'publish' }],
    ['ttl too long', publish([{ body: 'a', ttl: 2 ** 25 + 1 }]), { code: 'invalid_ttl', field: 'messages[0].ttl', id: 7, op: 'publish' }],
    ['ttl a string', publish([{ body: 'a', ttl: '5' }]), { code: 'invalid_ttl', field: 'messages[0].ttl', id: 7, op: 'publish' }],
    ['partition 0', publish([{ body: 'a', partition: 0 }]), { code: 'partition_out_of_range', field: 'messages[0].partition', id: 7, op: 'publish' }],
    ['partition 201', publish([{ body: 'a', partition: 201 }]), { code: 'partition_out_of_range', field: 'messages[0].partition', id: 7, op: 'publish' }],
    ['partition 1.5', publish([{ body: 'a', partition: 1.5 }]), { code: 'invalid_field', field: 'messages[0].partition', id: 7, op: 'publish' }],
    ['in_reply_to malformed', publish([{ body: 'a', in_reply_to: 'x' }]), { code: 'invalid_message_id', field: 'messages[0].in_reply_to', id: 7, op: 'publish' }],
    ['unknown message field', publish([{ body: 'a', priority: 1 }]), { code: 'invalid_field', field: 'messages[0].priority', id: 7, op: 'publish' }],
    ['bad application name', publish([{ body: 'a' }], { application: 'a/b' }), { code: 'invalid_name', field: 'application', id: 7, op: 'publish' }],
    ['queue name too long', publish([{ body: 'a' }], { queue: 'q'.repeat(101) }), { code: 'invalid_name', field: 'queue', id: 7, op: 'publish' }],
    ['subscribe: after and since', { type: 'subscribe', application: 'a', queue: 'q', after: { '1': ID }, since: 5 }, { code: 'invalid_field', field: 'after', op: 'subscribe' }],
    ['subscribe: after key not a partition', { type: 'subscribe', application: 'a', queue: 'q', after: { x: ID } }, { code: 'invalid_partitions', field: 'after.x', op: 'subscribe' }],
    ['subscribe: after value not an id', { type: 'subscribe', application: 'a', queue: 'q', after: { '3': ID.toUpperCase() } }, { code: 'invalid_message_id', field: 'after.3', op: 'subscribe' }],
    ['subscribe: partitions repeated', { type: 'subscribe', application: 'a', queue: 'q', partitions: [1, 1] }, { code: 'invalid_partitions', field: 'partitions', op: 'subscribe' }],
    ['subscribe: partitions empty', { type: 'subscribe', application: 'a', queue: 'q', partitions: [] }, { code: 'invalid_partitions', field: 'partitions', op: 'subscribe' }],
    ['subscribe: a partition out of range', { type: 'subscribe', application: 'a', queue: 'q', partitions: [1, 500] }, { code: 'invalid_partitions', field: 'partitions[1]', op: 'subscribe' }],
    ['subscribe: since negative', { type: 'subscribe', application: 'a', queue: 'q', since: -1 }, { code: 'invalid_since', field: 'since', op: 'subscribe' }],
    ['history: limit 0', { type: 'history', application: 'a', queue: 'q', limit: 0 }, { code: 'invalid_limit', field: 'limit', op: 'history' }],
    ['history: limit 1001', { type: 'history', application: 'a', queue: 'q', limit: 1001 }, { code: 'invalid_limit', field: 'limit', op: 'history' }],
    ['history: order', { type: 'history', application: 'a', queue: 'q', order: 'up' }, { code: 'invalid_order', field: 'order', op: 'history' }],
    ['history: since garbage', { type: 'history', application: 'a', queue: 'q', since: 'yesterday' }, { code: 'invalid_since', field: 'since', op: 'history' }],
    ['history: since a boolean', { type: 'history', application: 'a', queue: 'q', since: true }, { code: 'invalid_since', field: 'since', op: 'history' }],
    ['state.set: neither field', { type: 'state.set', application: 'a', queue: 'q', partition: 1, message_id: ID }, { code: 'missing_field', field: 'client_state', op: 'state.set' }],
    ['state.set: client_state too long', { type: 'state.set', application: 'a', queue: 'q', partition: 1, message_id: ID, client_state: 's'.repeat(65) }, { code: 'invalid_field', field: 'client_state', op: 'state.set' }],
    ['state.set: bad message id', { type: 'state.set', application: 'a', queue: 'q', partition: 1, message_id: 'nope', client_state: 'x' }, { code: 'invalid_message_id', field: 'message_id', op: 'state.set' }],
    ['auth: neither key nor token', { type: 'auth', id: 1 }, { code: 'missing_field', field: 'key', id: 1, op: 'auth' }],
    ['auth: both', { type: 'auth', id: 1, key: 'k', token: 't' }, { code: 'invalid_field', field: 'token', id: 1, op: 'auth' }],
    ['auth: key not a string', { type: 'auth', key: 5 }, { code: 'invalid_field', field: 'key', op: 'auth' }],
    ['callqueue.subscribe: no queue_id', { type: 'callqueue.subscribe', id: 1 }, { code: 'missing_field', field: 'queue_id', id: 1, op: 'callqueue.subscribe' }],
    ['callqueue.subscribe: since_seq negative', { type: 'callqueue.subscribe', queue_id: 'q', since_seq: -1 }, { code: 'invalid_field', field: 'since_seq', op: 'callqueue.subscribe' }],
  ];

  for (const [name, frame, expected] of cases) {
    it(name, () => {
      for (const [format, data] of both(frame)) expect(err(decodeClientFrame(data, format)), format).toEqual(expected);
    });
  }

  it('an own __proto__ key is an unknown field, not a prototype', () => {
    const json = '{"type":"ping","__proto__":{"polluted":1}}';
    expect(err(decodeClientFrame(json, 'json'))).toEqual({ code: 'invalid_field', field: '__proto__', op: 'ping' });
    // msgpackr renames the key, and the frame is refused as well.
    const packed = hex('82 a4 74797065 a4 70696e67 a9 5f5f70726f746f5f5f 81 a8 706f6c6c75746564 01');
    expect(err(decodeClientFrame(packed, 'msgpack')).code).toBe('invalid_field');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('error messages come from the catalogue, with field and limit filled in', () => {
    const r = decodeClientFrame(text(publish([{ body: 'a', ttl: 0 }])), 'json');
    expect(r.ok ? null : toErrorFrame(r.error)).toEqual({
      type: 'error', id: 7, op: 'publish',
      error: { code: 'invalid_ttl', message: 'ttl must be an integer number of seconds from 1 to 33554432', field: 'messages[0].ttl' },
    });
  });
});

describe('decodeClientFrame: bodies', () => {
  it('accepts binary bodies in MessagePack as Uint8Array', () => {
    const body = new Uint8Array([0, 159, 146, 150, 255]);
    const r = decodeClientFrame(mp(publish([{ body }, { body: 'text' }])), 'msgpack');
    expect(r).toEqual({ ok: true, frame: publish([{ body }, { body: 'text' }]) });
    if (r.ok && r.frame.type === 'publish') {
      expect(Object.getPrototypeOf(r.frame.messages[0]!.body)).toBe(Uint8Array.prototype);
    }
  });

  it('copies binary bodies out of the transport buffer', () => {
    const data = mp(publish([{ body: new Uint8Array([1, 2, 3]) }]));
    const r = decodeClientFrame(data, 'msgpack');
    data.fill(0); // what uWS does to its buffer once the handler returns, in effect
    expect(r.ok && r.frame.type === 'publish' ? r.frame.messages[0]!.body : null).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses bytes anywhere but a body', () => {
    const bin = new Uint8Array([1]);
    expect(err(decodeClientFrame(mp(publish([{ body: 'a' }], { queue: bin })), 'msgpack'))).toEqual({
      code: 'invalid_field', field: 'queue', id: 7, op: 'publish',
    });
    expect(err(decodeClientFrame(mp(publish([{ body: 'a', content_type: bin }])), 'msgpack')).field).toBe('messages[0].content_type');
    const state = { type: 'state.set', application: 'a', queue: 'q', partition: 1, message_id: ID, client_json: { x: [bin] } };
    expect(err(decodeClientFrame(mp(state), 'msgpack')).field).toBe('client_json.x[0]');
    const state2 = { ...state, client_json: { body: bin } };
    expect(err(decodeClientFrame(mp(state2), 'msgpack')).field).toBe('client_json.body');
  });

  it('decodes base64 bodies, in JSON and in MessagePack', () => {
    const frame = publish([{ body: 'AP8=', body_encoding: 'base64' }]);
    for (const [format, data] of both(frame)) {
      expect(decodeClientFrame(data, format), format).toEqual({ ok: true, frame: publish([{ body: new Uint8Array([0, 255]) }]) });
    }
    expect(decodeClientFrame(text(publish([{ body: '', body_encoding: 'base64' }])), 'json')).toEqual({
      ok: true, frame: publish([{ body: new Uint8Array(0) }]),
    });
  });

  it('refuses bad base64 and body_encoding on a bin body', () => {
    for (const bad of ['AP8', 'AP8=x', '!!!!', 'AP 8=', 'A===']) {
      const frame = publish([{ body: 'ok' }, { body: bad, body_encoding: 'base64' }]);
      for (const [format, data] of both(frame)) {
        expect(err(decodeClientFrame(data, format)), `${format} ${bad}`).toEqual({ code: 'invalid_field', field: 'messages[1].body', id: 7, op: 'publish' });
      }
    }
    const binAndEncoding = publish([{ body: new Uint8Array([1]), body_encoding: 'base64' }]);
    expect(err(decodeClientFrame(mp(binAndEncoding), 'msgpack'))).toEqual({
      code: 'invalid_field', field: 'messages[0].body_encoding', id: 7, op: 'publish',
    });
    expect(err(decodeClientFrame(text(publish([{ body: 'AA==', body_encoding: 'hex' }])), 'json')).field).toBe('messages[0].body_encoding');
  });

  it('encodes what it decodes: binary bodies survive JSON → bytes → MessagePack', () => {
    const r = decodeClientFrame(text(publish([{ body: 'AP8=', body_encoding: 'base64' }])), 'json');
    if (!r.ok) throw new Error('decode failed');
    const again = decodeClientFrame(encodeClientFrame(r.frame, 'msgpack'), 'msgpack');
    expect(again).toEqual(r);
  });
});

describe('decodeServerFrame', () => {
  it('reports a newer server frame type as unknown_frame_type, which clients ignore', () => {
    expect(err(decodeServerFrame(text({ type: 'presence', who: 1 }), 'json'))).toEqual({ code: 'unknown_frame_type', field: 'type' });
  });

  it('accepts unknown fields from a newer server', () => {
    const r = decodeServerFrame(text({ type: 'heartbeat', time: 1, load: 0.5 }), 'json');
    expect(r).toEqual({ ok: true, frame: { type: 'heartbeat', time: 1, load: 0.5 } });
  });

  it('refuses server frames that break the schema', () => {
    expect(err(decodeServerFrame(text({ type: 'pong', id: 1 }), 'json'))).toEqual({ code: 'missing_field', field: 'time', id: 1, op: 'pong' });
    const update = { type: 'callqueue.update', queue_id: 'q', seq: 1, at: 'now', kind: 'caller_exploded' };
    expect(err(decodeServerFrame(mp(update), 'msgpack')).code).toBe('invalid_field');
    const line = { uuid: 'u', from: 0, to: null, length: -1 };
    const left = { type: 'callqueue.update', queue_id: 'q', seq: 1, at: 'now', kind: 'caller_left', line };
    expect(err(decodeServerFrame(text(left), 'json')).code).toMatch(/^(missing_field|invalid_field)$/);
  });
});
