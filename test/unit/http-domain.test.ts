/** Transport-independent message-queue rules (src/domain): names, read queries, ids, multi-partition order. */
import { describe, expect, it } from 'vitest';
import type { QueueMeta } from '../../src/engine/types.js';
import { encodeMessageId } from '../../src/engine/ids.js';
import { isValidAppName, newQueueName } from '../../src/domain/names.js';
import { checkBody, parseIdList, toNewMessages } from '../../src/domain/queues/message-rules.js';
import { normalizePrinciples, updatedQueueMeta } from '../../src/domain/queues/queue-rules.js';
import { parseLimit, parsePartitionList, parseSince } from '../../src/domain/queues/read.js';
import { assertAdmin, canRead, parseAuthorization } from '../../src/domain/auth.js';
import { thrownCode } from '../helpers/errors.js';

const queue: QueueMeta = { application: 'a', name: 'q', partitions: 3, type: 'user', consistency: 'strong', principles: ['app:r'], created: 0 };

describe('names', () => {
  it('accepts the SPEC pattern and refuses reserved first segments in any case', () => {
    expect(isValidAppName('a_b-C9')).toBe(true);
    expect(isValidAppName('x'.repeat(50))).toBe(true);
    expect(isValidAppName('x'.repeat(51))).toBe(false);
    for (const r of ['v1', 'V2', 'api', 'ws', 'metrics', 'healthz', 'readyz', 'console', 'openapi.json']) expect(isValidAppName(r)).toBe(false);
    expect(newQueueName()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('read query', () => {
  it('parses since as an id (32 hex) or epoch seconds', () => {
    const id = encodeMessageId({ timestampUs: 1_700_000_000_123_456, seq: 7, partition: 2 }, 0xabc);
    expect(parseSince(id.toUpperCase())).toEqual({ kind: 'id', id, timestampUs: 1_700_000_000_123_456, seq: 7, partition: 2 });
    expect(parseSince('1700000000.5')).toEqual({ kind: 'timestamp', seconds: 1700000000.5 });
    expect(parseSince('0')).toEqual({ kind: 'timestamp', seconds: 0 });
    for (const bad of ['', '-1', '1e9', 'NaN', 'Infinity', '1.', '.5', ' 1', 'a'.repeat(33)]) expect(thrownCode(() => parseSince(bad))).toBe('invalid_since');
  });

  it('bounds limit to 1..1000', () => {
    expect(parseLimit(undefined)).toBe(100);
    expect(parseLimit('1000')).toBe(1000);
    for (const bad of ['0', '1001', '', '+5', '5.0', '0x10']) expect(thrownCode(() => parseLimit(bad))).toBe('invalid_limit');
  });

  it('parses partition lists, sorted and de-duplicated, within the queue', () => {
    expect(parsePartitionList(undefined, queue)).toEqual([1]);
    expect(parsePartitionList('3,1,3', queue)).toEqual([1, 3]);
    expect(thrownCode(() => parsePartitionList('4', queue))).toBe('partition_out_of_range');
    expect(thrownCode(() => parsePartitionList('1,', queue))).toBe('invalid_partitions');
    expect(thrownCode(() => parsePartitionList(' 1', queue))).toBe('invalid_partitions');
  });
});

describe('message rules', () => {
  it('checks body size in UTF-8 bytes, not characters', () => {
    expect(checkBody('é'.repeat(5), 'body', 10)).toBe('é'.repeat(5));
    expect(thrownCode(() => checkBody('é'.repeat(6), 'body', 10))).toBe('message_too_large');
    expect(thrownCode(() => checkBody('😀😀😀', 'body', 11))).toBe('message_too_large');
    expect(thrownCode(() => checkBody('', 'body', 10))).toBe('empty_body');
  });

  it('fills defaults and picks partitions within the queue', () => {
    const out = toNewMessages(queue, Array.from({ length: 50 }, () => ({ body: 'x' })), { maxMessageBytes: 10, defaultTtl: 99 });
    expect(out.every((m) => m.ttl === 99 && m.partition >= 1 && m.partition <= 3)).toBe(true);
    expect(thrownCode(() => toNewMessages(queue, [], { maxMessageBytes: 10, defaultTtl: 99 }))).toBe('empty_body');
  });

  it('groups ids by the partition they carry; a prefix must agree', () => {
    const p2 = encodeMessageId({ timestampUs: 1, seq: 1, partition: 2 }, 1);
    const p3 = encodeMessageId({ timestampUs: 1, seq: 1, partition: 3 }, 1);
    expect(parseIdList(`${p2},3:${p3.toUpperCase()}`, queue)).toEqual(new Map([[2, [p2]], [3, [p3]]]));
    expect(parseIdList(`${p2},${p2}`, queue)).toEqual(new Map([[2, [p2]]]));
    expect(thrownCode(() => parseIdList(`1:${p2}`, queue))).toBe('invalid_message_id');
    expect(thrownCode(() => parseIdList(encodeMessageId({ timestampUs: 1, seq: 1, partition: 4 }, 1), queue))).toBe('partition_out_of_range');
  });
});

describe('queue rules', () => {
  it('normalizes principles and refuses non-application ones', () => {
    expect(normalizePrinciples(' app:a , app:b,app:a,')).toEqual(['app:a', 'app:b']);
    expect(thrownCode(() => normalizePrinciples(['user@example.com']))).toBe('invalid_field');
  });

  it('grows partitions only', () => {
    expect(updatedQueueMeta(queue, { partitions: 5 }).partitions).toBe(5);
    expect(thrownCode(() => updatedQueueMeta(queue, { partitions: 2 }))).toBe('partitions_decrease');
    expect(thrownCode(() => updatedQueueMeta(queue, { partitions: 201 }))).toBe('invalid_field');
  });
});

describe('auth', () => {
  it('parses headers and tells missing from malformed', () => {
    expect(parseAuthorization(undefined)).toBeNull();
    expect(parseAuthorization('  ')).toBeNull();
    expect(parseAuthorization('Application k1')).toEqual({ scheme: 'Application', credential: 'k1' });
    expect(thrownCode(() => parseAuthorization('Application'))).toBe('auth_malformed');
    expect(thrownCode(() => parseAuthorization('Application a b'))).toBe('auth_malformed');
  });

  it('reads: public to anyone, user queues to the owner and principles', () => {
    expect(canRead('a', queue)).toBe(true);
    expect(canRead('r', queue)).toBe(true);
    expect(canRead('x', queue)).toBe(false);
    expect(canRead(null, queue)).toBe(false);
    expect(canRead(null, { ...queue, type: 'public' })).toBe(true);
  });

  it('checks the admin key: off when unset, 401 otherwise', () => {
    expect(thrownCode(() => assertAdmin(undefined, 'Admin x'))).toBe('admin_disabled');
    expect(thrownCode(() => assertAdmin('s', undefined))).toBe('auth_required');
    expect(thrownCode(() => assertAdmin('s', 'Application s'))).toBe('auth_malformed');
    expect(thrownCode(() => assertAdmin('s', 'Admin t'))).toBe('auth_invalid');
    expect(thrownCode(() => assertAdmin('s', 'admin s'))).toBe('no error');
  });
});
