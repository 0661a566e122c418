/**
 * Replies assembled from kept message fragments (src/server/message-encoding.ts) are the bytes the
 * plain encoders write, on the first read and on every later one, and a message whose content
 * changed under the same id (state.set, PUT: a new updatedAtUs) is never answered from the cache.
 * Entries are versioned by (id, seq, updatedAtUs), whatever fields a message has.
 */
import { describe, expect, it } from 'vitest';
import { encodeServerFrame } from '../../src/codec/index.js';
import type { WireFormat } from '../../src/codec/index.js';
import { wireMessage as restWireMessage } from '../../src/domain/queues/render.js';
import type { StoredMessage } from '../../src/engine/types.js';
import { historyResult, messageCacheStats, restMessagesBody } from '../../src/server/message-encoding.js';
import { wireMessage } from '../../src/server/ws/wire.js';

let next = 0;
function stored(over: Partial<StoredMessage> = {}): StoredMessage {
  next++;
  const timestampUs = 1_763_800_000_000_000 + next;
  const id = timestampUs.toString(16).padStart(14, '0') + next.toString(16).padStart(12, '0') + '01' + 'beef';
  return { id, partition: 1, seq: next, timestampUs, body: `body ${next}`, ttl: 60, expiresAtMs: Date.now() + 60_000, ...over };
}

function expectedHistory(id: number | undefined, messages: StoredMessage[], format: WireFormat): Buffer {
  const frame = { type: 'history.result' as const, ...(id === undefined ? {} : { id }), messages: messages.map(wireMessage), truncated: false };
  const encoded = encodeServerFrame(frame, format);
  return Buffer.from(typeof encoded === 'string' ? new TextEncoder().encode(encoded) : encoded);
}

function history(messages: StoredMessage[], format: WireFormat, id?: number): Buffer {
  return Buffer.from(historyResult(id, messages, format, Infinity).bytes);
}

function rest(messages: StoredMessage[]): string {
  return restMessagesBody(messages).toString('utf8');
}

describe.each(['json', 'msgpack'] as WireFormat[])('history replies from kept fragments (%s)', (format) => {
  it('are the plain encoding, on the first read and the next ones', () => {
    const messages = [
      stored(),
      stored({ body: 'unicode é日本🎉, "quotes", back\\slash, \u0000 control, \u2028, \ud800 lone' }),
      stored({ body: Uint8Array.of(0, 1, 2, 0xfe, 0xff), contentType: 'application/octet-stream' }),
      stored({ clientState: 'processing', clientJson: { worker: 'w1', n: [1, 2, { deep: null }] }, updatedAtUs: 1_763_800_000_123_456 }),
      stored({ inReplyTo: 'ab'.repeat(16) }),
    ];
    const expected = expectedHistory(3, messages, format);
    expect(history(messages, format, 3).equals(expected)).toBe(true);
    expect(history(messages, format, 3).equals(expected)).toBe(true);
    // Copies of the same messages (what an engine returns on every read) use the same fragments.
    const copies = messages.map((m) => ({ ...m, body: typeof m.body === 'string' ? `${m.body}` : m.body.slice(), ...(m.clientJson === undefined ? {} : { clientJson: structuredClone(m.clientJson) }) }));
    expect(history(copies, format, 3).equals(expected)).toBe(true);
    expect(history([], format).equals(expectedHistory(undefined, [], format))).toBe(true);
  });

  it('a message changed under the same id is encoded again, never served stale', () => {
    const m = stored({ body: 'first' });
    expect(history([m], format).equals(expectedHistory(undefined, [m], format))).toBe(true);
    // Every change comes with a new updatedAtUs, as the engines give it (engine-conformance-messages).
    const changes: Partial<StoredMessage>[] = [
      { clientState: 'processing' },
      { clientState: 'done' },
      { clientJson: { a: 1 } },
      { clientJson: { a: 2 } },
      { clientJson: { b: 2, a: 1 } },
      { body: 'second' },
      { body: Uint8Array.of(1, 2, 3) },
      { body: Uint8Array.of(1, 2, 4) },
      { contentType: 'text/plain' },
      { inReplyTo: 'cd'.repeat(16) },
    ];
    let current = m;
    for (const [i, change] of changes.entries()) {
      current = { ...current, ...change, updatedAtUs: m.timestampUs + 1 + i };
      const expected = expectedHistory(undefined, [current], format);
      expect(history([current], format).equals(expected)).toBe(true);
      expect(history([current], format).equals(expected)).toBe(true);
    }
  });

  it('answers by version: (id, seq, updatedAtUs), never by comparing fields', () => {
    const m = stored({ body: 'v1', clientState: 'a' });
    const v1 = expectedHistory(undefined, [m], format);
    expect(history([m], format).equals(v1)).toBe(true);
    // The same version is, by the engines' contract, the same content: answered from the cache.
    expect(history([{ ...m, body: 'not what the engine stored' }], format).equals(v1)).toBe(true);
    // A new update time or seq is a new version.
    const updated = { ...m, body: 'v2', updatedAtUs: m.timestampUs + 5 };
    expect(history([updated], format).equals(expectedHistory(undefined, [updated], format))).toBe(true);
    const reused = { ...updated, seq: updated.seq + 1, body: 'v3' };
    expect(history([reused], format).equals(expectedHistory(undefined, [reused], format))).toBe(true);
  });

  it('cuts to max_reply_bytes with truncated: true', () => {
    const messages = Array.from({ length: 10 }, () => stored({ body: 'x'.repeat(100) }));
    const whole = expectedHistory(1, messages, format).byteLength;
    const cut = historyResult(1, messages, format, whole - 1);
    expect(cut.truncated).toBe(true);
    expect(cut.count).toBe(9);
    const frame = { type: 'history.result' as const, id: 1, messages: messages.slice(0, 9).map(wireMessage), truncated: true };
    const encoded = encodeServerFrame(frame, format);
    expect(Buffer.from(cut.bytes).equals(Buffer.from(typeof encoded === 'string' ? new TextEncoder().encode(encoded) : encoded))).toBe(true);
  });
});

describe('REST reply bodies from kept fragments', () => {
  it('are JSON.stringify of the Queuey shape, on every read and after a change', () => {
    const messages = [stored(), stored({ body: 'ü "q" \\ \n' }), stored({ body: Uint8Array.of(0x68, 0x69, 0xff) })];
    const expected = JSON.stringify({ status: 'ok', messages: messages.map(restWireMessage) });
    expect(rest(messages)).toBe(expected);
    expect(rest(messages)).toBe(expected);
    expect(rest([])).toBe(JSON.stringify({ status: 'ok', messages: [] }));
    const changed = [{ ...messages[0]!, body: 'replaced by PUT', updatedAtUs: messages[0]!.timestampUs + 1 }, ...messages.slice(1)];
    expect(rest(changed)).toBe(JSON.stringify({ status: 'ok', messages: changed.map(restWireMessage) }));
  });
});

describe('reply buffers', () => {
  it('a reply is never overwritten by later ones (slabs are not reused)', () => {
    const messages = Array.from({ length: 20 }, () => stored({ body: 'w'.repeat(500) }));
    const first = historyResult(1, messages, 'json', Infinity).bytes;
    const copy = Buffer.from(first);
    const firstRest = restMessagesBody(messages);
    const restCopy = Buffer.from(firstRest);
    for (let i = 0; i < 500; i++) {
      historyResult(i, [stored({ body: String(i).repeat(300) })], 'json', Infinity);
      restMessagesBody([stored({ body: String(i).repeat(300) })]);
    }
    expect(Buffer.from(first).equals(copy)).toBe(true);
    expect(firstRest.equals(restCopy)).toBe(true);
  });
});

describe('the fragment cache', () => {
  it('stays within its byte budget', () => {
    for (let i = 0; i < 3000; i++) history([stored({ body: 'y'.repeat(10_000) })], 'json');
    const { bytes } = messageCacheStats();
    expect(bytes).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(bytes).toBeGreaterThan(0);
  });

  it('does not keep a very large message', () => {
    const before = messageCacheStats().entries;
    const big = stored({ body: 'z'.repeat(200_000) });
    expect(history([big], 'json').equals(expectedHistory(undefined, [big], 'json'))).toBe(true);
    expect(messageCacheStats().entries).toBeLessThanOrEqual(before);
  });
});
