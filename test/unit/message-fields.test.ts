/**
 * The one message field table (src/message-fields.ts) and what it drives: the Redis record's tags
 * (record.ts, recordEncode.lua), the wire names (server/ws/wire.ts), and the engines' copies.
 */
import { describe, expect, it } from 'vitest';
import { decodeRecord, fieldText } from '../../src/engine/redis/record.js';
import { loadLua } from '../../src/engine/redis/scripts.js';
import type { StoredMessage } from '../../src/engine/types.js';
import { APPEND_FIELDS, MESSAGE_FIELDS, PATCH_FIELDS, appendFields, appendFieldsFromWire, patchFields, type MessageField } from '../../src/message-fields.js';
import { wireMessage } from '../../src/server/ws/wire.js';

/** A value of each field's kind. */
const SAMPLE: Record<MessageField['kind'], unknown> = {
  text: 'é 日本 "q"',
  latin1: 'ab'.repeat(16),
  json: { a: [1, 'x', null, { deep: true }] },
  time: 1_763_800_000_123_456,
};

function field(tag: string, text: string, encoding: BufferEncoding): Buffer {
  const value = Buffer.from(text, encoding);
  const head = Buffer.alloc(5);
  head.write(tag, 0, 'latin1');
  head.writeUInt32BE(value.length, 1);
  return Buffer.concat([head, value]);
}

const ID = '000643c1b7e2a0000000000001' + '01' + 'beef';

describe('message field table', () => {
  it('gives every field its own one-byte record tag, apart from the fixed fields, and its own wire name', () => {
    const tags = MESSAGE_FIELDS.map((f) => f.tag);
    expect(new Set(tags).size).toBe(tags.length);
    for (const t of tags) {
      expect(t).toMatch(/^[a-z]$/);
      expect(['i', 'l', 'e', 't', 'b']).not.toContain(t);
    }
    const wire = MESSAGE_FIELDS.map((f) => f.wire);
    expect(new Set(wire).size).toBe(wire.length);
  });

  it('orders the record tags recordEncode.lua writes from the table', () => {
    const list = MESSAGE_FIELDS.map((f) => `'${f.tag}'`).join(', ');
    expect(loadLua('update-3')).toContain(`local RECORD_TAGS = { 'i', 'l', 'e', 't', 'b', ${list} }`);
  });

  it('decodes every field of a record under its key, and renders it under its wire name', () => {
    const parts = [field('i', ID, 'latin1'), field('l', '60', 'latin1'), field('e', '1763800060000', 'latin1'), field('t', 'body', 'utf8')];
    for (const f of MESSAGE_FIELDS) {
      const { text, encoding } = fieldText(f, SAMPLE[f.kind]);
      parts.push(field(f.tag, text, encoding));
    }
    const m = decodeRecord(Buffer.concat(parts));
    const wire = wireMessage(m) as unknown as Record<string, unknown>;
    for (const f of MESSAGE_FIELDS) {
      expect((m as unknown as Record<string, unknown>)[f.key]).toEqual(SAMPLE[f.kind]);
      expect(wire[f.wire]).toEqual(f.kind === 'time' ? (SAMPLE.time as number) / 1e6 : SAMPLE[f.kind]);
    }
    // Wire objects list the optional fields in the table's order, after the fixed ones.
    expect(Object.keys(wire).slice(-MESSAGE_FIELDS.length)).toEqual(MESSAGE_FIELDS.map((f) => f.wire));
  });

  it('copies the append fields and applies the patch fields, null clearing', () => {
    const input: Record<string, unknown> = {};
    for (const f of APPEND_FIELDS) input[f.key] = SAMPLE[f.kind];
    const stored: Partial<StoredMessage> = {};
    appendFields(input, stored);
    expect(stored).toEqual(input);
    // From a publish frame's names to the engine's: the same values.
    expect(appendFieldsFromWire(Object.fromEntries(APPEND_FIELDS.map((f) => [f.wire, SAMPLE[f.kind]])))).toEqual(input);
    const patch: Record<string, unknown> = {};
    for (const f of PATCH_FIELDS) patch[f.key] = SAMPLE[f.kind];
    const json = { copied: true };
    patchFields(patch, stored, () => json);
    for (const f of PATCH_FIELDS) expect((stored as Record<string, unknown>)[f.key]).toEqual(f.kind === 'json' ? json : SAMPLE[f.kind]);
    patchFields(Object.fromEntries(PATCH_FIELDS.map((f) => [f.key, null])), stored, (v) => v);
    for (const f of PATCH_FIELDS) expect(f.key in stored).toBe(false);
  });
});
