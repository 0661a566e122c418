/**
 * The live payload append.lua publishes (record.ts decodePayload): its messages must be exactly
 * the stored ones — the id, seq, timestamp, ttl and expiry subscribers spell from the batch header
 * and each head equal what the script wrote into the record, and the body and fields are the same
 * bytes — for text, binary and empty bodies, every append-time field, and ttls that change within
 * one call (several expiry runs). Checked against real Redis: the payloads are captured on the
 * partition's shard channel by a plain subscriber, and the records read from the msg hash.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { decodePayload, decodeRecord } from '../../src/engine/redis/record.js';
import type { NewMessage, StoredMessage } from '../../src/engine/types.js';
import { freshQueue, msg, ref } from '../helpers/engines.js';
import { freshPrefix } from '../helpers/namespace.js';
import { until } from '../helpers/wait.js';

describe('redis engine: live payload', () => {
  let prefix: string;
  let engine: RedisEngine;
  let sub: Redis;
  let redis: Redis;

  beforeEach(async () => {
    prefix = freshPrefix();
    engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000 });
    await engine.start();
    sub = new Redis(inject('redisUrl'));
    redis = new Redis(inject('redisUrl'));
  });
  afterEach(async () => {
    sub.disconnect();
    redis.disconnect();
    await engine.close();
  });

  it('carries each message exactly as its stored record decodes, in append order', async () => {
    const queue = await freshQueue(engine);
    const k = new RedisKeys(prefix).partition(ref(queue));
    const payloads: Buffer[] = [];
    sub.on('smessageBuffer', (_channel: Buffer, payload: Buffer) => payloads.push(payload));
    await sub.ssubscribe(k.channel);

    const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
    const calls: NewMessage[][] = [
      [msg('plain')],
      [msg(binary, 1, 60), msg('', 1, 60), msg('é 日本 "q"', 1, 7200, { contentType: 'text/plain; charset=utf-8', inReplyTo: 'ab'.repeat(16) })],
      // ttls changing within one call: three expiry runs, one of them a single message
      [msg('a', 1, 30), msg('b', 1, 30), msg(new Uint8Array(0), 1, 90), msg('c'.repeat(70_000), 1, 30)],
    ];
    // Concurrent appends to one partition are combined into one script call (appender.ts): the
    // payload then holds several calls' messages.
    const results = await Promise.all(calls.map((c) => engine.append(queue, c)));
    const appended = results.flat();
    await until(() => payloads.reduce((n, p) => n + decodePayload(p).length, 0) === appended.length, { what: 'every appended message on the live channel' });

    const live: StoredMessage[] = payloads.flatMap((p) => decodePayload(p));
    expect(live.map((m) => m.id)).toEqual(appended.map((m) => m.id));
    const records = await redis.hmgetBuffer(k.msg, ...appended.map((m) => m.id));
    live.forEach((m, j) => {
      expect(m).toEqual(decodeRecord(records[j]!));
      expect(m).toEqual(appended[j]);
    });
    expect(live.map((m) => m.seq)).toEqual(appended.map((_, j) => j + 1));
    expect(live[1]!.body).toEqual(binary);
    expect(live[3]!.contentType).toBe('text/plain; charset=utf-8');
  });

  it('refuses a payload of another format rather than misreading it', () => {
    // The format before issue 18's cut: records, each after its uint32 length.
    const record = Buffer.from('i\0\0\0\x20' + '0'.repeat(32) + 'l\0\0\0\x0260' + 'e\0\0\0\x011' + 't\0\0\0\x01x', 'latin1');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(record.length);
    expect(() => decodePayload(Buffer.concat([len, record]))).toThrow(/live payload/);
    expect(() => decodePayload(Buffer.alloc(0))).toThrow(/live payload/);
  });
});
