/**
 * SPEC.md 3.1 "Bad input": every route, every kind of bad input → the documented 4xx with the error
 * shape, never 500, and nothing stored changes (a snapshot of everything stored before and after).
 */
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { FORM, JSON_CT, errorCode, snapshot, useSharedServer, type TestServer } from '../helpers/server.js';

const MAX_MESSAGE = 1024;
const MAX_REQUEST = 16 * 1024;

interface Fixture {
  s: TestServer;
  app: string;
  key: string;
  otherKey: string;
  /** Ids of stored messages, partition 1..3 of queue q. */
  ids: string[];
}

interface Case {
  name: string;
  method: string;
  path: (f: Fixture) => string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  /** Which key to send: the owner's (default), another application's, or none. */
  as?: 'owner' | 'other' | 'none';
  status: number;
  code: string;
  /** The error's `field`, when the case pins it: it names the offending input (errors.md). */
  field?: string;
}

const INVALID_UTF8 = new Uint8Array([0x62, 0x6f, 0x64, 0x79, 0x3d, 0xc3, 0x28]); // "body=" + a broken 2-byte sequence
const idInPartition = (p: number) => `${'0'.repeat(26)}${p.toString(16).padStart(2, '0')}${'0'.repeat(4)}`;

const q = (f: Fixture) => `/${f.app}/q`;
const cases: Case[] = [
  // --- routing and paths ---
  { name: 'unknown route', method: 'GET', path: () => '/a/b/c/d', status: 404, code: 'not_found' },
  { name: 'wrong method', method: 'PATCH', path: q, status: 405, code: 'method_not_allowed' },
  { name: 'malformed path encoding', method: 'GET', path: (f) => `/${f.app}/%zz`, status: 400, code: 'bad_request' },
  { name: 'unknown application', method: 'GET', path: () => '/nobody/q', status: 404, code: 'app_not_found' },
  { name: 'unknown queue', method: 'GET', path: (f) => `/${f.app}/nope`, status: 404, code: 'queue_not_found' },
  { name: 'malformed query encoding', method: 'GET', path: (f) => `${q(f)}?limit=%zz`, status: 400, code: 'bad_request' },
  { name: 'repeated query parameter', method: 'GET', path: (f) => `${q(f)}?limit=1&limit=2`, status: 400, code: 'bad_request' },
  // --- list queues ---
  { name: 'list: limit 0', method: 'GET', path: (f) => `/${f.app}?limit=0`, status: 400, code: 'invalid_limit' },
  { name: 'list: limit text', method: 'GET', path: (f) => `/${f.app}?limit=ten`, status: 400, code: 'invalid_limit' },
  { name: 'list: bad details flag', method: 'GET', path: (f) => `/${f.app}?details=maybe`, status: 400, code: 'invalid_field' },
  { name: 'list: bad offset', method: 'GET', path: (f) => `/${f.app}?offset=a%20b`, status: 400, code: 'invalid_field' },
  { name: 'list: other key', method: 'GET', path: (f) => `/${f.app}`, as: 'other', status: 403, code: 'forbidden' },
  { name: 'list: unknown query field', method: 'GET', path: (f) => `/${f.app}?detail=1`, status: 400, code: 'invalid_field' },
  // --- create queue ---
  { name: 'create: partitions 0', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'partitions=0', status: 400, code: 'invalid_field' },
  { name: 'create: partitions 201', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'partitions=201', status: 400, code: 'invalid_field' },
  { name: 'create: partitions text', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'partitions=many', status: 400, code: 'invalid_field' },
  { name: 'create: partitions as JSON string', method: 'POST', path: (f) => `/${f.app}`, headers: JSON_CT, body: '{"partitions":"3"}', status: 400, code: 'invalid_field' },
  { name: 'create: form partitions with an exponent', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'partitions=1e1', status: 400, code: 'invalid_field' },
  { name: 'create: form partitions in hex', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'partitions=0x10', status: 400, code: 'invalid_field' },
  { name: 'create: form partitions with a fraction', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'partitions=2.0', status: 400, code: 'invalid_field' },
  { name: 'create: form partitions with a sign', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'partitions=+3', status: 400, code: 'invalid_field' },
  { name: 'create: bad type', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'type=secret', status: 400, code: 'invalid_field' },
  { name: 'create: bad consistency', method: 'POST', path: (f) => `/${f.app}`, headers: JSON_CT, body: '{"consistency":"eventual"}', status: 400, code: 'invalid_field' },
  { name: 'create: bad principle', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'principles=bob%40example.com', status: 400, code: 'invalid_field' },
  { name: 'create: bad principle in list', method: 'POST', path: (f) => `/${f.app}`, headers: JSON_CT, body: '{"principles":["app:ok","nope"]}', status: 400, code: 'invalid_field', field: 'principles.1' },
  { name: 'create: 101 principles in a form', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: `principles=${Array.from({ length: 101 }, (_, i) => `app:a${i}`).join(',')}`, status: 400, code: 'invalid_field', field: 'principles' },
  { name: 'update: 101 principles in a JSON string', method: 'PUT', path: q, headers: JSON_CT, body: JSON.stringify({ principles: Array.from({ length: 101 }, (_, i) => `app:a${i}`).join(',') }), status: 400, code: 'invalid_field', field: 'principles' },
  { name: 'create: bad queue name', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'queue_name=a+b', status: 400, code: 'invalid_name' },
  { name: 'create: long queue name', method: 'POST', path: (f) => `/${f.app}`, headers: JSON_CT, body: JSON.stringify({ queue_name: 'x'.repeat(101) }), status: 400, code: 'invalid_name' },
  { name: 'create: existing queue', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'queue_name=q', status: 409, code: 'queue_exists' },
  { name: 'create: unknown field', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'partition=2', status: 400, code: 'invalid_field' },
  { name: 'create: a field in the query', method: 'POST', path: (f) => `/${f.app}?queue_name=q2`, status: 400, code: 'invalid_field' },
  { name: 'create: malformed JSON', method: 'POST', path: (f) => `/${f.app}`, headers: JSON_CT, body: '{"queue_name":', status: 400, code: 'invalid_json' },
  { name: 'create: JSON not an object', method: 'POST', path: (f) => `/${f.app}`, headers: JSON_CT, body: '["q2"]', status: 400, code: 'bad_request' },
  { name: 'create: malformed form', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'queue_name=%z1', status: 400, code: 'invalid_form' },
  { name: 'create: repeated form field', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'queue_name=a&queue_name=b', status: 400, code: 'invalid_form' },
  { name: 'create: invalid UTF-8 in JSON', method: 'POST', path: (f) => `/${f.app}`, headers: JSON_CT, body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), status: 400, code: 'invalid_utf8' },
  { name: 'create: invalid UTF-8 percent-encoded', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'queue_name=%ff', status: 400, code: 'invalid_utf8' },
  { name: 'create: unsupported media type', method: 'POST', path: (f) => `/${f.app}`, headers: { 'content-type': 'text/plain' }, body: 'q2', status: 415, code: 'unsupported_media_type' },
  { name: 'create: body over the request limit', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: `queue_name=${'x'.repeat(MAX_REQUEST)}`, status: 413, code: 'body_too_large' },
  { name: 'create: no key', method: 'POST', path: (f) => `/${f.app}`, headers: FORM, body: 'queue_name=q2', as: 'none', status: 401, code: 'auth_required' },
  // --- update / delete queue ---
  { name: 'update: fewer partitions', method: 'PUT', path: q, headers: FORM, body: 'partitions=2', status: 400, code: 'partitions_decrease' },
  { name: 'update: partitions 0', method: 'PUT', path: q, headers: JSON_CT, body: '{"partitions":0}', status: 400, code: 'invalid_field' },
  { name: 'update: bad type', method: 'PUT', path: q, headers: FORM, body: 'type=x', status: 400, code: 'invalid_field' },
  { name: 'update: cannot rename', method: 'PUT', path: q, headers: FORM, body: 'queue_name=r', status: 400, code: 'invalid_field' },
  { name: 'update: malformed JSON', method: 'PUT', path: q, headers: JSON_CT, body: '{', status: 400, code: 'invalid_json' },
  { name: 'update: unknown queue', method: 'PUT', path: (f) => `/${f.app}/nope`, headers: FORM, body: 'partitions=5', status: 404, code: 'queue_not_found' },
  { name: 'update: other key', method: 'PUT', path: q, headers: FORM, body: 'partitions=5', as: 'other', status: 403, code: 'forbidden' },
  { name: 'update: a field in the query', method: 'PUT', path: (f) => `${q(f)}?partitions=5`, status: 400, code: 'invalid_field' },
  { name: 'delete queue: a query field', method: 'DELETE', path: (f) => `${q(f)}?force=1`, status: 400, code: 'invalid_field' },
  // The router refuses a query field the route does not take before the route reads credentials.
  { name: 'delete queue: a query field, no key', method: 'DELETE', path: (f) => `${q(f)}?force=1`, as: 'none', status: 400, code: 'invalid_field', field: 'force' },
  { name: 'delete queue: unknown', method: 'DELETE', path: (f) => `/${f.app}/nope`, status: 404, code: 'queue_not_found' },
  { name: 'delete queue: other key', method: 'DELETE', path: q, as: 'other', status: 403, code: 'forbidden' },
  // --- post messages ---
  { name: 'post: empty body', method: 'POST', path: q, headers: FORM, body: '', status: 400, code: 'empty_body' },
  { name: 'post: empty body field', method: 'POST', path: q, headers: FORM, body: 'body=', status: 400, code: 'empty_body' },
  { name: 'post: no body field', method: 'POST', path: q, headers: FORM, body: 'ttl=5', status: 400, code: 'missing_field' },
  { name: 'post: empty JSON body', method: 'POST', path: q, headers: JSON_CT, body: '{"body":""}', status: 400, code: 'empty_body' },
  { name: 'post: empty raw body', method: 'POST', path: q, headers: { 'content-type': 'text/plain' }, body: '', status: 400, code: 'empty_body' },
  { name: 'post: partition out of range', method: 'POST', path: q, headers: FORM, body: 'body=x&partition=4', status: 400, code: 'partition_out_of_range', field: 'partition' },
  { name: 'post: partition 0', method: 'POST', path: q, headers: JSON_CT, body: '{"body":"x","partition":0}', status: 400, code: 'partition_out_of_range' },
  { name: 'post: partition text', method: 'POST', path: q, headers: FORM, body: 'body=x&partition=two', status: 400, code: 'invalid_field' },
  { name: 'post: ttl 0', method: 'POST', path: q, headers: FORM, body: 'body=x&ttl=0', status: 400, code: 'invalid_ttl' },
  { name: 'post: ttl over 2^25', method: 'POST', path: q, headers: FORM, body: 'body=x&ttl=33554433', status: 400, code: 'invalid_ttl' },
  { name: 'post: ttl fraction', method: 'POST', path: q, headers: JSON_CT, body: '{"body":"x","ttl":1.5}', status: 400, code: 'invalid_ttl' },
  { name: 'post: ttl text', method: 'POST', path: q, headers: FORM, body: 'body=x&ttl=soon', status: 400, code: 'invalid_ttl' },
  { name: 'post: form ttl with an exponent', method: 'POST', path: q, headers: FORM, body: 'body=x&ttl=1e3', status: 400, code: 'invalid_ttl' },
  { name: 'post: form batch partition with a fraction', method: 'POST', path: q, headers: FORM, body: 'message.0.body=x&message.0.partition=1.0', status: 400, code: 'invalid_field' },
  { name: 'post: body not a string', method: 'POST', path: q, headers: JSON_CT, body: '{"body":{"a":1}}', status: 400, code: 'invalid_field' },
  { name: 'post: unknown JSON field', method: 'POST', path: q, headers: JSON_CT, body: '{"body":"x","priority":1}', status: 400, code: 'invalid_field' },
  { name: 'post: message over the limit', method: 'POST', path: q, headers: FORM, body: `body=${'é'.repeat(MAX_MESSAGE / 2 + 1)}`, status: 413, code: 'message_too_large' },
  { name: 'post: raw message over the limit', method: 'POST', path: q, headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(MAX_MESSAGE + 1), status: 413, code: 'message_too_large' },
  { name: 'post: request over the limit', method: 'POST', path: q, headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(MAX_REQUEST + 1), status: 413, code: 'body_too_large' },
  { name: 'post: malformed JSON', method: 'POST', path: q, headers: JSON_CT, body: '{"body": "x"', status: 400, code: 'invalid_json' },
  { name: 'post: malformed form', method: 'POST', path: q, headers: FORM, body: 'body=50%', status: 400, code: 'invalid_form' },
  { name: 'post: invalid UTF-8 form', method: 'POST', path: q, headers: FORM, body: INVALID_UTF8, status: 400, code: 'invalid_utf8' },
  { name: 'post: invalid UTF-8 raw', method: 'POST', path: q, headers: { 'content-type': 'text/plain' }, body: new Uint8Array([0x61, 0xff]), status: 400, code: 'invalid_utf8' },
  { name: 'post: JSON body with an unpaired surrogate', method: 'POST', path: q, headers: JSON_CT, body: '{"body":"a\\ud800b"}', status: 400, code: 'invalid_utf8' },
  { name: 'post: JSON batch, one unpaired surrogate', method: 'POST', path: q, headers: JSON_CT, body: '{"messages":[{"body":"ok"},{"body":"\\udc00"}]}', status: 400, code: 'invalid_utf8', field: 'messages.1.body' },
  { name: 'post: no Content-Type', method: 'POST', path: q, headers: { 'content-type': '' }, body: 'body=x', status: 415, code: 'unsupported_media_type' },
  { name: 'post: raw partition out of range', method: 'POST', path: (f) => `${q(f)}?partition=9`, headers: { 'content-type': 'text/plain' }, body: 'x', status: 400, code: 'partition_out_of_range', field: 'partition' },
  { name: 'post: raw ttl 0', method: 'POST', path: (f) => `${q(f)}?ttl=0`, headers: { 'content-type': 'text/plain' }, body: 'x', status: 400, code: 'invalid_ttl' },
  { name: 'post: raw unknown query field', method: 'POST', path: (f) => `${q(f)}?partitions=2`, headers: { 'content-type': 'text/plain' }, body: 'x', status: 400, code: 'invalid_field' },
  { name: 'post: form with partition in the query', method: 'POST', path: (f) => `${q(f)}?partition=2`, headers: FORM, body: 'body=x', status: 400, code: 'invalid_field' },
  { name: 'post: JSON with ttl in the query', method: 'POST', path: (f) => `${q(f)}?ttl=5`, headers: JSON_CT, body: '{"body":"x"}', status: 400, code: 'invalid_field' },
  { name: 'post: body and batch fields mixed', method: 'POST', path: q, headers: FORM, body: 'body=x&message.0.body=y', status: 400, code: 'invalid_form' },
  { name: 'post: unknown batch field', method: 'POST', path: q, headers: FORM, body: 'message.0.body=y&message.0.colour=red', status: 400, code: 'invalid_field' },
  { name: 'post: batch field __proto__', method: 'POST', path: q, headers: FORM, body: 'message.0.body=y&message.0.__proto__=x', status: 400, code: 'invalid_field' },
  { name: 'post: batch index with a leading zero, as a second spelling of one message', method: 'POST', path: q, headers: FORM, body: 'message.1.body=a&message.01.body=b', status: 400, code: 'invalid_form' },
  { name: 'post: batch index over 9999', method: 'POST', path: q, headers: FORM, body: 'message.10000.body=a', status: 400, code: 'invalid_form' },
  { name: 'post: form batch, one bad ttl', method: 'POST', path: q, headers: FORM, body: 'message.0.body=ok&message.1.body=bad&message.1.ttl=0', status: 400, code: 'invalid_ttl' },
  { name: 'post: form batch, one bad partition', method: 'POST', path: q, headers: FORM, body: 'message.0.body=ok&message.3.body=bad&message.3.partition=4', status: 400, code: 'partition_out_of_range', field: 'message.3.partition' },
  { name: 'post: JSON batch, one bad partition', method: 'POST', path: q, headers: JSON_CT, body: '{"messages":[{"body":"ok","partition":1},{"body":"bad","partition":9}]}', status: 400, code: 'partition_out_of_range', field: 'messages.1.partition' },
  { name: 'post: JSON batch, one empty body', method: 'POST', path: q, headers: JSON_CT, body: '{"messages":[{"body":"ok"},{"body":""}]}', status: 400, code: 'empty_body' },
  { name: 'post: empty JSON batch', method: 'POST', path: q, headers: JSON_CT, body: '{"messages":[]}', status: 400, code: 'invalid_field' },
  { name: 'post: batch over 1000', method: 'POST', path: q, headers: JSON_CT, body: JSON.stringify({ messages: Array.from({ length: 1001 }, () => ({ body: 'x' })) }), status: 400, code: 'invalid_field' },
  { name: 'post: unknown queue', method: 'POST', path: (f) => `/${f.app}/nope`, headers: FORM, body: 'body=x', status: 404, code: 'queue_not_found' },
  // --- read messages ---
  { name: 'read: limit 0', method: 'GET', path: (f) => `${q(f)}?limit=0`, status: 400, code: 'invalid_limit' },
  { name: 'read: limit 1001', method: 'GET', path: (f) => `${q(f)}?limit=1001`, status: 400, code: 'invalid_limit' },
  { name: 'read: limit negative', method: 'GET', path: (f) => `${q(f)}?limit=-1`, status: 400, code: 'invalid_limit' },
  { name: 'read: limit fraction', method: 'GET', path: (f) => `${q(f)}?limit=2.5`, status: 400, code: 'invalid_limit' },
  { name: 'read: bad order', method: 'GET', path: (f) => `${q(f)}?order=newest`, status: 400, code: 'invalid_order' },
  { name: 'read: partition 0', method: 'GET', path: (f) => `${q(f)}?partitions=0`, status: 400, code: 'partition_out_of_range' },
  { name: 'read: partition out of range', method: 'GET', path: (f) => `${q(f)}?partitions=1,4`, status: 400, code: 'partition_out_of_range', field: 'partitions' },
  { name: 'read: partitions text', method: 'GET', path: (f) => `${q(f)}?partitions=one`, status: 400, code: 'invalid_partitions' },
  { name: 'read: partitions empty item', method: 'GET', path: (f) => `${q(f)}?partitions=1,,2`, status: 400, code: 'invalid_partitions' },
  { name: 'read: partitions empty', method: 'GET', path: (f) => `${q(f)}?partitions=`, status: 400, code: 'invalid_partitions' },
  { name: 'read: since text', method: 'GET', path: (f) => `${q(f)}?since=yesterday`, status: 400, code: 'invalid_since' },
  { name: 'read: since negative', method: 'GET', path: (f) => `${q(f)}?since=-5`, status: 400, code: 'invalid_since' },
  { name: 'read: since exponent', method: 'GET', path: (f) => `${q(f)}?since=1e9`, status: 400, code: 'invalid_since' },
  { name: 'read: since with 7 fraction digits', method: 'GET', path: (f) => `${q(f)}?since=1795360231.5111451`, status: 400, code: 'invalid_since' },
  { name: 'read: since past what an id holds', method: 'GET', path: (f) => `${q(f)}?since=72057594038`, status: 400, code: 'invalid_since' },
  { name: 'read: since 31 hex', method: 'GET', path: (f) => `${q(f)}?since=${'a'.repeat(31)}`, status: 400, code: 'invalid_since' },
  { name: 'read: since empty', method: 'GET', path: (f) => `${q(f)}?since=`, status: 400, code: 'invalid_since' },
  { name: 'read: unknown query field', method: 'GET', path: (f) => `${q(f)}?partition=2`, status: 400, code: 'invalid_field' },
  { name: 'read: updated_since on a day that does not exist', method: 'GET', path: (f) => `${q(f)}?updated_since=2026-02-30T10:00:00Z`, status: 400, code: 'invalid_field' },
  { name: 'read: updated_until at hour 24', method: 'GET', path: (f) => `${q(f)}?updated_until=2026-02-01T24:00:00Z`, status: 400, code: 'invalid_field' },
  { name: 'read: other key', method: 'GET', path: q, as: 'other', status: 403, code: 'forbidden' },
  { name: 'read: no key', method: 'GET', path: q, as: 'none', status: 401, code: 'auth_required' },
  // --- info ---
  { name: 'info: bad include_count', method: 'GET', path: (f) => `${q(f)}/info?include_count=lots`, status: 400, code: 'invalid_field' },
  { name: 'info: unknown query field', method: 'GET', path: (f) => `${q(f)}/info?details`, status: 400, code: 'invalid_field' },
  { name: 'info: wrong method', method: 'POST', path: (f) => `${q(f)}/info`, headers: FORM, body: 'body=x', status: 405, code: 'method_not_allowed' },
  // --- one message ---
  { name: 'get: malformed id', method: 'GET', path: (f) => `${q(f)}/xyz`, status: 400, code: 'invalid_message_id' },
  { name: 'get: id of a partition the queue lacks', method: 'GET', path: (f) => `${q(f)}/${idInPartition(9)}`, status: 404, code: 'message_not_found' },
  { name: 'get: unknown id', method: 'GET', path: (f) => `${q(f)}/${idInPartition(1)}`, status: 404, code: 'message_not_found' },
  { name: 'get: a query field', method: 'GET', path: (f) => `${q(f)}/${f.ids[0]}?partition=1`, status: 400, code: 'invalid_field' },
  { name: 'put: malformed id', method: 'PUT', path: (f) => `${q(f)}/${'g'.repeat(32)}`, headers: FORM, body: 'body=x', status: 400, code: 'invalid_message_id' },
  { name: 'put: empty body', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: FORM, body: '', status: 400, code: 'empty_body' },
  { name: 'put: empty body field', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: JSON_CT, body: '{"body":""}', status: 400, code: 'empty_body' },
  { name: 'put: missing body field', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: FORM, body: 'ttl=5', status: 400, code: 'missing_field' },
  { name: 'put: ttl 0', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: FORM, body: 'body=x&ttl=0', status: 400, code: 'invalid_ttl' },
  { name: 'put: raw ttl text', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}?ttl=x`, headers: { 'content-type': 'text/plain' }, body: 'x', status: 400, code: 'invalid_ttl' },
  { name: 'put: raw partition in the query', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}?partition=2`, headers: { 'content-type': 'text/plain' }, body: 'x', status: 400, code: 'invalid_field' },
  { name: 'put: form with ttl in the query', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}?ttl=5`, headers: FORM, body: 'body=x', status: 400, code: 'invalid_field' },
  { name: 'put: message over the limit', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: { 'content-type': 'text/plain' }, body: 'y'.repeat(MAX_MESSAGE + 1), status: 413, code: 'message_too_large' },
  { name: 'put: malformed JSON', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: JSON_CT, body: 'nope', status: 400, code: 'invalid_json' },
  { name: 'put: invalid UTF-8', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: FORM, body: INVALID_UTF8, status: 400, code: 'invalid_utf8' },
  { name: 'put: JSON body with an unpaired surrogate', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: JSON_CT, body: '{"body":"\\ud83d"}', status: 400, code: 'invalid_utf8' },
  { name: 'put: other key', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: FORM, body: 'body=x', as: 'other', status: 403, code: 'forbidden' },
  { name: 'put: no key', method: 'PUT', path: (f) => `${q(f)}/${f.ids[0]}`, headers: FORM, body: 'body=x', as: 'none', status: 401, code: 'auth_required' },
  // --- delete messages ---
  { name: 'delete: malformed id', method: 'DELETE', path: (f) => `${q(f)}/nothex`, status: 400, code: 'invalid_message_id' },
  { name: 'delete: good id then malformed', method: 'DELETE', path: (f) => `${q(f)}/${f.ids[0]},nothex`, status: 400, code: 'invalid_message_id' },
  { name: 'delete: trailing comma', method: 'DELETE', path: (f) => `${q(f)}/${f.ids[0]},`, status: 400, code: 'invalid_message_id' },
  { name: 'delete: prefix disagrees with id', method: 'DELETE', path: (f) => `${q(f)}/${f.ids[0]},3:${f.ids[1]}`, status: 400, code: 'invalid_message_id' },
  { name: 'delete: id of a partition the queue lacks', method: 'DELETE', path: (f) => `${q(f)}/${f.ids[0]},${idInPartition(7)}`, status: 400, code: 'partition_out_of_range', field: idInPartition(7) },
  { name: 'delete: other key', method: 'DELETE', path: (f) => `${q(f)}/${f.ids[0]}`, as: 'other', status: 403, code: 'forbidden' },
  { name: 'delete: a query field', method: 'DELETE', path: (f) => `${q(f)}/${f.ids[0]}?partition=1`, status: 400, code: 'invalid_field' },
  { name: 'bulk delete: a query field', method: 'POST', path: (f) => `${q(f)}/delete?ids=${f.ids[0]}`, headers: JSON_CT, body: `{"ids":["${'0'.repeat(26)}010000"]}`, status: 400, code: 'invalid_field' },
  { name: 'delete: no key', method: 'DELETE', path: (f) => `${q(f)}/${f.ids[0]}`, as: 'none', status: 401, code: 'auth_required' },
  { name: 'delete: bad key', method: 'DELETE', path: (f) => `${q(f)}/${f.ids[0]}`, headers: { authorization: 'Application nope' }, as: 'none', status: 401, code: 'auth_invalid' },
  // --- applications (admin) ---
  { name: 'apps: invalid name', method: 'POST', path: () => '/v1/apps', headers: { ...JSON_CT, authorization: 'ADMIN' }, body: '{"name":"no spaces"}', status: 400, code: 'invalid_name' },
  { name: 'apps: reserved name', method: 'POST', path: () => '/v1/apps', headers: { ...JSON_CT, authorization: 'ADMIN' }, body: '{"name":"Metrics"}', status: 400, code: 'invalid_name' },
  { name: 'apps: existing name', method: 'POST', path: () => '/v1/apps', headers: { ...FORM, authorization: 'ADMIN' }, body: 'name=APP', status: 409, code: 'app_exists' },
  { name: 'apps: missing name', method: 'POST', path: () => '/v1/apps', headers: { ...JSON_CT, authorization: 'ADMIN' }, body: '{}', status: 400, code: 'missing_field' },
  { name: 'apps: malformed JSON', method: 'POST', path: () => '/v1/apps', headers: { ...JSON_CT, authorization: 'ADMIN' }, body: '{"name"', status: 400, code: 'invalid_json' },
  { name: 'apps: no header', method: 'POST', path: () => '/v1/apps', headers: JSON_CT, body: '{"name":"x1"}', as: 'none', status: 401, code: 'auth_required' },
  { name: 'apps: wrong admin key', method: 'POST', path: () => '/v1/apps', headers: { ...JSON_CT, authorization: 'Admin wrong' }, body: '{"name":"x1"}', as: 'none', status: 401, code: 'auth_invalid' },
  { name: 'apps: application key', method: 'GET', path: () => '/v1/apps', status: 401, code: 'auth_malformed' },
  { name: 'apps: revoke unknown', method: 'DELETE', path: () => '/v1/apps/nobody', headers: { authorization: 'ADMIN' }, as: 'none', status: 404, code: 'app_not_found' },
  { name: 'apps: wrong method', method: 'PUT', path: () => '/v1/apps', status: 405, code: 'method_not_allowed' },
  { name: 'apps: a field in the query', method: 'POST', path: () => '/v1/apps?name=x2', headers: { ...JSON_CT, authorization: 'ADMIN' }, body: '{"name":"x3"}', as: 'none', status: 400, code: 'invalid_field' },
  { name: 'apps: delete with a query field', method: 'DELETE', path: (f) => `/v1/apps/${f.app}?force=1`, headers: { authorization: 'ADMIN' }, as: 'none', status: 400, code: 'invalid_field' },
  { name: 'apps: new key with a query field', method: 'POST', path: (f) => `/v1/apps/${f.app}/keys?expires=60`, headers: { authorization: 'ADMIN' }, as: 'none', status: 400, code: 'invalid_field' },
];

describe.each(engineFactories)('REST bad input ($name)', (factory) => {
  // One server and one fixture for every case of an engine: each case checks that it changed
  // nothing stored, so the next case starts from the same state as on a fresh fixture.
  const srv = useSharedServer(factory, { maxMessageBytes: MAX_MESSAGE, maxRequestBytes: MAX_REQUEST });
  let shared: Promise<Fixture> | undefined;
  const sharedFixture = (): Promise<Fixture> => (shared ??= fixture());

  async function fixture(): Promise<Fixture> {
    const s = srv();
    const owner = await s.createApp();
    const other = await s.createApp();
    const create = await s.request(`/${owner.name}`, { method: 'POST', key: owner.key, headers: FORM, body: 'queue_name=q&partitions=3' });
    expect(create.status).toBe(201);
    const post = await s.request(`/${owner.name}/q`, {
      method: 'POST', key: owner.key, headers: JSON_CT,
      body: JSON.stringify({ messages: [1, 2, 3, 1].map((p, i) => ({ body: `m${i}`, partition: p })) }),
    });
    const ids = ((await post.json()) as { messages: Array<{ key: string }> }).messages.map((m) => m.key);
    return { s, app: owner.name, key: owner.key, otherKey: other.key, ids };
  }

  it.each(cases)('$name → $status $code', async (c) => {
    const f = await sharedFixture();
    const apps = [f.app, (await f.s.engine.appForKey(f.otherKey))!];
    const before = await snapshot(f.s.engine, apps);
    const headers = new Headers();
    for (const [k, v] of Object.entries(c.headers ?? {})) {
      headers.set(k, v.replace(/^ADMIN$/, `Admin ${f.s.adminKey}`).replace('APP', f.app));
    }
    const as = c.as ?? 'owner';
    if (!headers.has('authorization') && as !== 'none') headers.set('authorization', `Application ${as === 'owner' ? f.key : f.otherKey}`);
    const body = typeof c.body === 'string' ? c.body.replace(/^name=APP$/, `name=${f.app}`) : c.body;
    const res = await f.s.request(c.path(f), { method: c.method, headers, ...(body === undefined ? {} : { body }) });
    if (c.field !== undefined) {
      const { error } = (await res.clone().json()) as { error?: { field?: string } };
      expect(error?.field).toBe(c.field);
    }
    expect({ status: res.status, code: await errorCode(res) }).toEqual({ status: c.status, code: c.code });
    if (c.status === 405) expect(res.headers.get('allow')).toMatch(/^[A-Z, ]+$/);
    expect(await snapshot(f.s.engine, apps)).toEqual(before);
  });
});
