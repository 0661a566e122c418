/**
 * Bad input and isolation on every call-queue route, both engines (SPEC.md 3.2/3.3, issue 4):
 * each case answers its documented 4xx with the error shape, never 500, and nothing stored changes
 * (every agent, tag, queue with its seq, callers, members and steady stats of both applications,
 * and the agent token, compared before and after). Another application's key gets 404 for every
 * resource: resources are per application, so its uuids and tag names name nothing there
 * (protocol/rest-calls.md).
 */
import { describe, expect, it } from 'vitest';
import { engineFactories } from '../helpers/engines.js';
import { JSON_CT, callSnapshot, call, errorCode, useSharedServer, type TestServer } from '../helpers/server.js';

const MAX_REQUEST = 8 * 1024;
const GHOST = '00000000-0000-4000-8000-000000000000';

interface Fixture {
  s: TestServer;
  app: string;
  key: string;
  other: string;
  otherKey: string;
  /** Queue, disabled queue, the other application's queue. */
  q: string;
  dq: string;
  oq: string;
  /** Agent a serves q; agent b serves nothing. */
  a: string;
  b: string;
  /** Waiting, connected (with a), and already left. */
  c1: string;
  c2: string;
  c3: string;
  tokenA: string;
}

interface Case {
  name: string;
  method: string;
  path: (f: Fixture) => string;
  /** JSON-encoded unless a string or bytes (sent as they are, with `headers`). */
  body?: (f: Fixture) => unknown;
  headers?: Record<string, string>;
  /** Whose credentials: the owner's key (default), another application's, none, a's token, or a raw header. */
  as?: 'owner' | 'other' | 'none' | 'agent' | { header: string };
  status: number;
  /** null: a success without a body (204), for the cases where "no such thing" is not an error. */
  code: string | null;
}

const Q = (f: Fixture) => `/v1/queues/${f.q}`;
const json = (v: unknown) => () => v;

const badInput: Case[] = [
  // --- routing and credentials ---
  { name: 'wrong method on a collection', method: 'PATCH', path: () => '/v1/queues', status: 405, code: 'method_not_allowed' },
  { name: 'wrong method on an agent', method: 'POST', path: (f) => `/v1/agents/${f.a}`, status: 405, code: 'method_not_allowed' },
  { name: 'unknown sub-resource', method: 'GET', path: (f) => `${Q(f)}/nothing`, status: 404, code: 'not_found' },
  { name: 'no Authorization', method: 'GET', path: () => '/v1/agents', as: 'none', status: 401, code: 'auth_required' },
  { name: 'admin scheme', method: 'GET', path: () => '/v1/queues', as: { header: 'Admin whatever' }, status: 401, code: 'auth_malformed' },
  { name: 'header without a credential', method: 'GET', path: () => '/v1/tags', as: { header: 'Application' }, status: 401, code: 'auth_malformed' },
  { name: 'unknown key', method: 'POST', path: () => '/v1/agents', body: json({}), as: { header: 'Application nope' }, status: 401, code: 'auth_invalid' },
  { name: 'unknown agent token', method: 'GET', path: (f) => `${Q(f)}/callers`, as: { header: 'Agent hlt_nope' }, status: 401, code: 'auth_invalid' },
  { name: 'agent token writing', method: 'POST', path: (f) => `${Q(f)}/callers`, body: json({ number: '1' }), as: 'agent', status: 403, code: 'forbidden' },
  { name: 'agent token deleting its queue', method: 'DELETE', path: Q, as: 'agent', status: 403, code: 'forbidden' },
  { name: 'agent token on a queue it does not serve', method: 'GET', path: (f) => `/v1/queues/${f.dq}/callers`, as: 'agent', status: 403, code: 'forbidden' },
  { name: 'agent token setting its status in a queue it does not serve', method: 'PUT', path: (f) => `/v1/queues/${f.dq}/members/${f.a}`, body: json({ status: 'available' }), as: 'agent', status: 403, code: 'forbidden' },
  { name: 'agent token on another application\'s queue', method: 'GET', path: (f) => `/v1/queues/${f.oq}/stats`, as: 'agent', status: 404, code: 'call_queue_not_found' },
  // --- bodies ---
  { name: 'malformed JSON', method: 'POST', path: () => '/v1/agents', body: () => '{"name": ', headers: JSON_CT, status: 400, code: 'invalid_json' },
  { name: 'JSON that is not an object', method: 'POST', path: () => '/v1/queues', body: () => '["support"]', headers: JSON_CT, status: 400, code: 'bad_request' },
  { name: 'invalid UTF-8', method: 'POST', path: () => '/v1/agents', body: () => new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), headers: JSON_CT, status: 400, code: 'invalid_utf8' },
  { name: 'form body', method: 'POST', path: () => '/v1/queues', body: () => 'name=support', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
  { name: 'body without a Content-Type', method: 'POST', path: () => '/v1/agents', body: () => '{}', status: 415, code: 'unsupported_media_type' },
  { name: 'body over the request limit', method: 'POST', path: () => '/v1/agents', body: json({ name: 'x'.repeat(MAX_REQUEST) }), status: 413, code: 'body_too_large' },
  // --- agents ---
  { name: 'agent: malformed id', method: 'GET', path: () => '/v1/agents/nope', status: 404, code: 'agent_not_found' },
  { name: 'agent: unknown', method: 'GET', path: () => `/v1/agents/${GHOST}`, status: 404, code: 'agent_not_found' },
  // A well-formed uuid that names no agent is 404, as a malformed one: not an agent without an offer (null).
  { name: 'agent: offer of an unknown agent', method: 'GET', path: () => `/v1/agents/${GHOST}/offer`, status: 404, code: 'agent_not_found' },
  { name: 'offer: answer a malformed offer id with an unknown field', method: 'POST', path: (f) => `${Q(f)}/offers/nope/accept`, body: (f) => ({ agent_id: f.a, force: true }), status: 404, code: 'offer_not_found' },
  { name: 'agent: name not a string', method: 'POST', path: () => '/v1/agents', body: json({ name: 5 }), status: 400, code: 'invalid_field' },
  { name: 'agent: unknown field', method: 'POST', path: () => '/v1/agents', body: json({ nickname: 'x' }), status: 400, code: 'invalid_field' },
  { name: 'agent: bad project_id', method: 'POST', path: () => '/v1/agents', body: json({ project_id: 'has space' }), status: 400, code: 'invalid_field' },
  { name: 'agent: __proto__ field', method: 'POST', path: () => '/v1/agents', body: () => '{"__proto__": {"name": "x"}}', headers: JSON_CT, status: 400, code: 'invalid_field' },
  { name: 'agent: control character', method: 'PUT', path: (f) => `/v1/agents/${f.a}`, body: json({ name: 'a\u0001' }), status: 400, code: 'invalid_field' },
  { name: 'agent: C1 control character (NEL)', method: 'PUT', path: (f) => `/v1/agents/${f.a}`, body: json({ name: 'a\u0085b' }), status: 400, code: 'invalid_field' },
  { name: 'caller: C1 control character in the name', method: 'POST', path: (f) => `${Q(f)}/callers`, body: json({ number: '1', name: '\u009b[2J' }), status: 400, code: 'invalid_field' },
  { name: 'agent: update unknown', method: 'PUT', path: () => `/v1/agents/${GHOST}`, body: json({ name: 'x' }), status: 404, code: 'agent_not_found' },
  { name: 'agent: delete unknown', method: 'DELETE', path: () => `/v1/agents/${GHOST}`, status: 404, code: 'agent_not_found' },
  // --- tokens ---
  { name: 'token: ttl 0', method: 'POST', path: (f) => `/v1/agents/${f.a}/tokens`, body: json({ ttl: 0 }), status: 400, code: 'invalid_field' },
  { name: 'token: ttl over 30 days', method: 'POST', path: (f) => `/v1/agents/${f.a}/tokens`, body: json({ ttl: 2_592_001 }), status: 400, code: 'invalid_field' },
  { name: 'token: ttl as a string', method: 'POST', path: (f) => `/v1/agents/${f.a}/tokens`, body: json({ ttl: '60' }), status: 400, code: 'invalid_field' },
  { name: 'token: unknown agent', method: 'POST', path: () => `/v1/agents/${GHOST}/tokens`, body: json({}), status: 404, code: 'agent_not_found' },
  { name: 'token: revoke without a token', method: 'DELETE', path: (f) => `/v1/agents/${f.a}/tokens`, body: json({}), status: 400, code: 'missing_field' },
  { name: 'token: revoke a number', method: 'DELETE', path: (f) => `/v1/agents/${f.a}/tokens`, body: json({ token: 5 }), status: 400, code: 'invalid_field' },
  { name: 'token: revoke with an extra field', method: 'DELETE', path: (f) => `/v1/agents/${f.a}/tokens`, body: (f) => ({ token: f.tokenA, all: true }), status: 400, code: 'invalid_field' },
  { name: 'token: revoke under another agent', method: 'DELETE', path: (f) => `/v1/agents/${f.b}/tokens`, body: (f) => ({ token: f.tokenA }), status: 204, code: null },
  // Path ids before the body's fields (rest-calls.md "Order of checks"): a malformed id is 404 whatever the body.
  { name: 'token: revoke under a malformed agent id, without a token', method: 'DELETE', path: () => '/v1/agents/nope/tokens', body: json({}), status: 404, code: 'agent_not_found' },
  // --- call queues ---
  { name: 'queue: no name', method: 'POST', path: () => '/v1/queues', body: json({}), status: 400, code: 'missing_field' },
  { name: 'queue: empty name', method: 'POST', path: () => '/v1/queues', body: json({ name: '' }), status: 400, code: 'invalid_field' },
  { name: 'queue: disabled as a string', method: 'POST', path: () => '/v1/queues', body: json({ name: 'x', disabled: 'yes' }), status: 400, code: 'invalid_field' },
  { name: 'queue: negative service level', method: 'POST', path: () => '/v1/queues', body: json({ name: 'x', service_level_seconds: -1 }), status: 400, code: 'invalid_field' },
  { name: 'queue: malformed id', method: 'GET', path: () => '/v1/queues/nope', status: 404, code: 'call_queue_not_found' },
  { name: 'queue: unknown', method: 'GET', path: () => `/v1/queues/${GHOST}`, status: 404, code: 'call_queue_not_found' },
  { name: 'queue: update with a number for disabled', method: 'PUT', path: Q, body: json({ disabled: 1 }), status: 400, code: 'invalid_field' },
  { name: 'queue: update unknown', method: 'PUT', path: () => `/v1/queues/${GHOST}`, body: json({ name: 'x' }), status: 404, code: 'call_queue_not_found' },
  { name: 'queue: delete unknown', method: 'DELETE', path: () => `/v1/queues/${GHOST}`, status: 404, code: 'call_queue_not_found' },
  { name: 'queue: stats of unknown', method: 'GET', path: () => `/v1/queues/${GHOST}/stats`, status: 404, code: 'call_queue_not_found' },
  { name: 'stats: unknown window', method: 'GET', path: (f) => `${Q(f)}/stats?window=2h`, status: 400, code: 'invalid_field' },
  { name: 'stats: empty window', method: 'GET', path: (f) => `${Q(f)}/stats?window=`, status: 400, code: 'invalid_field' },
  { name: 'stats: window in upper case', method: 'GET', path: (f) => `${Q(f)}/stats?window=TODAY`, status: 400, code: 'invalid_field' },
  { name: 'stats: unknown query field', method: 'GET', path: (f) => `${Q(f)}/stats?windows=15m`, status: 400, code: 'invalid_field' },
  { name: 'stats: window given twice', method: 'GET', path: (f) => `${Q(f)}/stats?window=15m&window=1h`, status: 400, code: 'bad_request' },
  { name: 'stats: window of unknown queue', method: 'GET', path: () => `/v1/queues/${GHOST}/stats?window=1h`, status: 404, code: 'call_queue_not_found' },
  { name: 'stats: bad window of a malformed queue id', method: 'GET', path: () => '/v1/queues/nope/stats?window=2h', status: 404, code: 'call_queue_not_found' },
  // --- members ---
  { name: 'member: no agent', method: 'POST', path: (f) => `${Q(f)}/members`, body: json({ number: '1001' }), status: 400, code: 'missing_field' },
  { name: 'member: no number', method: 'POST', path: (f) => `${Q(f)}/members`, body: (f) => ({ agent_id: f.b }), status: 400, code: 'missing_field' },
  { name: 'member: malformed agent id', method: 'POST', path: (f) => `${Q(f)}/members`, body: json({ agent_id: 'nope', number: '1001' }), status: 400, code: 'invalid_field' },
  { name: 'member: bad number', method: 'POST', path: (f) => `${Q(f)}/members`, body: (f) => ({ agent_id: f.b, number: 'call me' }), status: 400, code: 'invalid_field' },
  { name: 'member: SIP port past 65535', method: 'POST', path: (f) => `${Q(f)}/members`, body: (f) => ({ agent_id: f.b, number: '1002@example.org:65536' }), status: 400, code: 'invalid_field' },
  { name: 'caller: SIP port 0', method: 'POST', path: (f) => `${Q(f)}/callers`, body: json({ number: 'sip:alice@example.org:0' }), status: 400, code: 'invalid_field' },
  { name: 'member: unknown agent', method: 'POST', path: (f) => `${Q(f)}/members`, body: json({ agent_id: GHOST, number: '1001' }), status: 404, code: 'agent_not_found' },
  { name: 'member: unknown queue', method: 'POST', path: () => `/v1/queues/${GHOST}/members`, body: (f) => ({ agent_id: f.b, number: '1001' }), status: 404, code: 'call_queue_not_found' },
  { name: 'member: twice', method: 'POST', path: (f) => `${Q(f)}/members`, body: (f) => ({ agent_id: f.a, number: '1001' }), status: 409, code: 'member_exists' },
  { name: 'member: not a member', method: 'GET', path: (f) => `${Q(f)}/members/${f.b}`, status: 404, code: 'member_not_found' },
  { name: 'member: paused as a string', method: 'PUT', path: (f) => `${Q(f)}/members/${f.a}`, body: json({ paused: 'yes' }), status: 400, code: 'invalid_field' },
  { name: 'member: unknown status', method: 'PUT', path: (f) => `${Q(f)}/members/${f.a}`, body: json({ status: 'sleeping' }), status: 400, code: 'invalid_field' },
  { name: 'member: empty pause reason', method: 'PUT', path: (f) => `${Q(f)}/members/${f.a}`, body: json({ paused: true, pause_reason: '' }), status: 400, code: 'invalid_field' },
  { name: 'member: update a non-member', method: 'PUT', path: (f) => `${Q(f)}/members/${f.b}`, body: json({ paused: true }), status: 404, code: 'member_not_found' },
  { name: 'member: remove a non-member', method: 'DELETE', path: (f) => `${Q(f)}/members/${f.b}`, status: 404, code: 'member_not_found' },
  // --- callers ---
  { name: 'caller: no number', method: 'POST', path: (f) => `${Q(f)}/callers`, body: json({ name: 'x' }), status: 400, code: 'missing_field' },
  { name: 'caller: priority as a string', method: 'POST', path: (f) => `${Q(f)}/callers`, body: json({ number: '1', priority: 'high' }), status: 400, code: 'invalid_field' },
  { name: 'caller: fractional priority', method: 'POST', path: (f) => `${Q(f)}/callers`, body: json({ number: '1', priority: 1.5 }), status: 400, code: 'invalid_field' },
  { name: 'caller: priority out of range', method: 'POST', path: (f) => `${Q(f)}/callers`, body: json({ number: '1', priority: 1_000_001 }), status: 400, code: 'invalid_field' },
  { name: 'caller: join a disabled queue', method: 'POST', path: (f) => `/v1/queues/${f.dq}/callers`, body: json({ number: '1' }), status: 409, code: 'queue_disabled' },
  { name: 'caller: join an unknown queue', method: 'POST', path: () => `/v1/queues/${GHOST}/callers`, body: json({ number: '1' }), status: 404, code: 'call_queue_not_found' },
  { name: 'caller: unknown', method: 'GET', path: (f) => `${Q(f)}/callers/${GHOST}`, status: 404, code: 'caller_not_found' },
  { name: 'caller: one that left', method: 'GET', path: (f) => `${Q(f)}/callers/${f.c3}`, status: 404, code: 'caller_not_found' },
  { name: 'caller: unknown status', method: 'PUT', path: (f) => `${Q(f)}/callers/${f.c1}`, body: json({ status: 'on_hold' }), status: 400, code: 'invalid_field' },
  { name: 'caller: ringing without a member', method: 'PUT', path: (f) => `${Q(f)}/callers/${f.c1}`, body: json({ status: 'ringing' }), status: 400, code: 'missing_field' },
  { name: 'caller: ringing a non-member', method: 'PUT', path: (f) => `${Q(f)}/callers/${f.c1}`, body: (f) => ({ status: 'ringing', member_uuid: f.b }), status: 404, code: 'member_not_found' },
  { name: 'caller: a member while waiting', method: 'PUT', path: (f) => `${Q(f)}/callers/${f.c1}`, body: (f) => ({ member_uuid: f.a }), status: 400, code: 'invalid_field' },
  { name: 'caller: connected back to waiting', method: 'PUT', path: (f) => `${Q(f)}/callers/${f.c2}`, body: json({ status: 'waiting' }), status: 409, code: 'invalid_transition' },
  { name: 'callback: a connected caller', method: 'POST', path: (f) => `${Q(f)}/callers/${f.c2}/callback`, body: json({}), status: 409, code: 'invalid_transition' },
  { name: 'callback: a caller that left', method: 'POST', path: (f) => `${Q(f)}/callers/${f.c3}/callback`, body: json({}), status: 404, code: 'caller_not_found' },
  { name: 'callback: malformed caller id', method: 'POST', path: (f) => `${Q(f)}/callers/nope/callback`, body: json({}), status: 404, code: 'caller_not_found' },
  { name: 'callback: bad number', method: 'POST', path: (f) => `${Q(f)}/callers/${f.c1}/callback`, body: json({ number: 'not a number' }), status: 400, code: 'invalid_field' },
  { name: 'callback: number not a string', method: 'POST', path: (f) => `${Q(f)}/callers/${f.c1}/callback`, body: json({ number: 6135550000 }), status: 400, code: 'invalid_field' },
  { name: 'callback: unknown field', method: 'POST', path: (f) => `${Q(f)}/callers/${f.c1}/callback`, body: json({ numbr: '100' }), status: 400, code: 'invalid_field' },
  { name: 'callback: unknown queue', method: 'POST', path: (f) => `/v1/queues/${GHOST}/callers/${f.c1}/callback`, body: json({}), status: 404, code: 'call_queue_not_found' },
  { name: 'callback: agent token', method: 'POST', path: (f) => `${Q(f)}/callers/${f.c1}/callback`, body: json({}), as: 'agent', status: 403, code: 'forbidden' },
  { name: 'callback: wrong method', method: 'GET', path: (f) => `${Q(f)}/callers/${f.c1}/callback`, status: 405, code: 'method_not_allowed' },
  { name: 'caller: null priority', method: 'PUT', path: (f) => `${Q(f)}/callers/${f.c1}`, body: json({ priority: null }), status: 400, code: 'invalid_field' },
  { name: 'caller: update one that left', method: 'PUT', path: (f) => `${Q(f)}/callers/${f.c3}`, body: json({ priority: 1 }), status: 404, code: 'caller_not_found' },
  { name: 'leave: no reason', method: 'DELETE', path: (f) => `${Q(f)}/callers/${f.c1}`, status: 400, code: 'missing_field' },
  { name: 'leave: unknown reason in the query', method: 'DELETE', path: (f) => `${Q(f)}/callers/${f.c1}?reason=bored`, status: 400, code: 'invalid_field' },
  { name: 'leave: unknown reason in the body', method: 'DELETE', path: (f) => `${Q(f)}/callers/${f.c1}`, body: json({ reason: 'bored' }), status: 400, code: 'invalid_field' },
  { name: 'leave: reason not a string', method: 'DELETE', path: (f) => `${Q(f)}/callers/${f.c1}`, body: json({ reason: 1 }), status: 400, code: 'invalid_field' },
  { name: 'leave: two different reasons', method: 'DELETE', path: (f) => `${Q(f)}/callers/${f.c1}?reason=answered`, body: json({ reason: 'abandoned' }), status: 400, code: 'invalid_field' },
  { name: 'leave: reason repeated in the query', method: 'DELETE', path: (f) => `${Q(f)}/callers/${f.c1}?reason=answered&reason=answered`, status: 400, code: 'bad_request' },
  { name: 'leave: unknown query parameter', method: 'DELETE', path: (f) => `${Q(f)}/callers/${f.c1}?reason=answered&force=1`, status: 400, code: 'invalid_field' },
  { name: 'leave: twice', method: 'DELETE', path: (f) => `${Q(f)}/callers/${f.c3}?reason=answered`, status: 404, code: 'caller_not_found' },
  { name: 'leave: unknown caller', method: 'DELETE', path: (f) => `${Q(f)}/callers/${GHOST}?reason=answered`, status: 404, code: 'caller_not_found' },
  { name: 'leave: unknown queue', method: 'DELETE', path: (f) => `/v1/queues/${GHOST}/callers/${f.c1}?reason=answered`, status: 404, code: 'call_queue_not_found' },
  { name: 'leave: malformed caller id, unknown query parameter', method: 'DELETE', path: (f) => `${Q(f)}/callers/nope?force=1`, status: 404, code: 'caller_not_found' },
  { name: 'leave: malformed queue id, unknown body field', method: 'DELETE', path: (f) => `/v1/queues/nope/callers/${f.c1}`, body: json({ force: true }), status: 404, code: 'call_queue_not_found' },
  // --- tags ---
  { name: 'tag: no name', method: 'POST', path: () => '/v1/tags', body: json({}), status: 400, code: 'missing_field' },
  { name: 'tag: all digits', method: 'POST', path: () => '/v1/tags', body: json({ tag: '123' }), status: 400, code: 'invalid_field' },
  { name: 'tag: a space', method: 'POST', path: () => '/v1/tags', body: json({ tag: 'has space' }), status: 400, code: 'invalid_field' },
  // A URL cannot carry them: /v1/tags/. is /v1/tags/ and /v1/tags/.. is /v1/ to every URL parser.
  { name: 'tag: a dot segment', method: 'POST', path: () => '/v1/tags', body: json({ tag: '.' }), status: 400, code: 'invalid_field' },
  { name: 'tag: two dots', method: 'POST', path: () => '/v1/tags', body: json({ tag: '..' }), status: 400, code: 'invalid_field' },
  { name: 'tag: rename to a dot segment', method: 'PUT', path: () => '/v1/tags/french', body: json({ tag: '..' }), status: 400, code: 'invalid_field' },
  { name: 'tag: unknown', method: 'GET', path: () => '/v1/tags/spanish', status: 404, code: 'tag_not_found' },
  { name: 'tag: rename onto another tag', method: 'PUT', path: () => '/v1/tags/french', body: json({ tag: 'german' }), status: 409, code: 'tag_exists' },
  { name: 'tag: agents not a list', method: 'PUT', path: () => '/v1/tags/french', body: (f) => ({ agents: f.a }), status: 400, code: 'invalid_field' },
  { name: 'tag: unknown agent in the list', method: 'PUT', path: () => '/v1/tags/french', body: (f) => ({ agents: [f.b, GHOST] }), status: 404, code: 'agent_not_found' },
  { name: 'tag: PUT an unknown id', method: 'PUT', path: () => '/v1/tags/99', body: json({ tag: 'x' }), status: 404, code: 'tag_not_found' },
  { name: 'tag: tag an agent, no agent_id', method: 'POST', path: () => '/v1/tags/french/agents', body: json({}), status: 400, code: 'missing_field' },
  { name: 'tag: tag an unknown agent', method: 'POST', path: () => '/v1/tags/french/agents', body: json({ agent_id: GHOST }), status: 404, code: 'agent_not_found' },
  { name: 'tag: tag with an unknown tag', method: 'POST', path: () => '/v1/tags/spanish/agents', body: (f) => ({ agent_id: f.b }), status: 404, code: 'tag_not_found' },
  { name: 'tag: untag with an unknown tag', method: 'DELETE', path: (f) => `/v1/tags/spanish/agents/${f.a}`, status: 404, code: 'tag_not_found' },
  // --- schemas ---
  { name: 'schema: unknown', method: 'GET', path: () => '/v1/schemas/caller', status: 404, code: 'not_found' },
];

/** Every route, named with the owner's resources, called with another application's key. */
const isolation: Case[] = (
  [
    ['GET', (f) => `/v1/agents/${f.a}`, undefined, 'agent_not_found'],
    ['PUT', (f) => `/v1/agents/${f.a}`, json({ name: 'x' }), 'agent_not_found'],
    ['DELETE', (f) => `/v1/agents/${f.a}`, undefined, 'agent_not_found'],
    ['POST', (f) => `/v1/agents/${f.a}/tokens`, json({}), 'agent_not_found'],
    ['DELETE', (f) => `/v1/agents/${f.a}/tokens`, (f) => ({ token: f.tokenA }), 'agent_not_found'],
    ['GET', (f) => `/v1/agents/${f.a}/offer`, undefined, 'agent_not_found'],
    ['GET', Q, undefined, 'call_queue_not_found'],
    ['PUT', Q, json({ disabled: true }), 'call_queue_not_found'],
    ['DELETE', Q, undefined, 'call_queue_not_found'],
    ['GET', (f) => `${Q(f)}/stats`, undefined, 'call_queue_not_found'],
    ['GET', (f) => `${Q(f)}/members`, undefined, 'call_queue_not_found'],
    ['POST', (f) => `${Q(f)}/members`, (f) => ({ agent_id: f.b, number: '1001' }), 'call_queue_not_found'],
    ['GET', (f) => `${Q(f)}/members/${f.a}`, undefined, 'call_queue_not_found'],
    ['PUT', (f) => `${Q(f)}/members/${f.a}`, json({ paused: true }), 'call_queue_not_found'],
    ['DELETE', (f) => `${Q(f)}/members/${f.a}`, undefined, 'call_queue_not_found'],
    ['GET', (f) => `${Q(f)}/callers`, undefined, 'call_queue_not_found'],
    ['POST', (f) => `${Q(f)}/callers`, json({ number: '1' }), 'call_queue_not_found'],
    ['GET', (f) => `${Q(f)}/callers/${f.c1}`, undefined, 'call_queue_not_found'],
    ['PUT', (f) => `${Q(f)}/callers/${f.c1}`, json({ priority: 9 }), 'call_queue_not_found'],
    ['DELETE', (f) => `${Q(f)}/callers/${f.c1}?reason=answered`, undefined, 'call_queue_not_found'],
    ['GET', () => '/v1/tags/french', undefined, 'tag_not_found'],
    ['GET', () => '/v1/tags/1', undefined, 'tag_not_found'],
    ['PUT', () => '/v1/tags/1', json({ tag: 'x' }), 'tag_not_found'],
    // Names no tag of the other application, so it would create one there: the owner's agent is unknown to it.
    ['PUT', () => '/v1/tags/french', (f) => ({ agents: [f.a] }), 'agent_not_found'],
    ['DELETE', () => '/v1/tags/french', undefined, null],
    ['GET', () => '/v1/tags/french/agents', undefined, 'tag_not_found'],
    ['POST', () => '/v1/tags/french/agents', (f) => ({ agent_id: f.a }), 'tag_not_found'],
    ['DELETE', (f) => `/v1/tags/french/agents/${f.a}`, undefined, 'tag_not_found'],
  ] as Array<[string, (f: Fixture) => string, Case['body'], string | null]>
).map(([method, path, body, code]) => ({
  name: `another application: ${method} ${path({ q: '{q}', a: '{a}', c1: '{c}' } as Fixture)}`,
  method, path, ...(body === undefined ? {} : { body }), as: 'other' as const, status: code === null ? 204 : 404, code,
}));

describe.each(engineFactories)('REST call queues: bad input and isolation ($name)', (factory) => {
  // One server and one fixture for every case of an engine: each case checks that it changed
  // nothing stored, so the next case starts from the same state as on a fresh fixture.
  const srv = useSharedServer(factory, { maxRequestBytes: MAX_REQUEST });
  let shared: Promise<Fixture> | undefined;
  const sharedFixture = (): Promise<Fixture> => (shared ??= fixture());

  async function fixture(): Promise<Fixture> {
    const s = srv();
    const owner = await s.createApp();
    const other = await s.createApp();
    const k = owner.key;
    const post = async (path: string, body: unknown, as = k) => {
      const res = await call(s, as, 'POST', path, body);
      expect(res.status, path).toBe(201);
      return res.body;
    };
    const q = (await post('/v1/queues', { name: 'support' })).uuid as string;
    const dq = (await post('/v1/queues', { name: 'closed', disabled: true })).uuid as string;
    const oq = (await post('/v1/queues', { name: 'theirs' }, other.key)).uuid as string;
    await post('/v1/agents', { name: 'theirs' }, other.key);
    const a = (await post('/v1/agents', { name: 'Alice' })).uuid as string;
    const b = (await post('/v1/agents', { name: 'Bob' })).uuid as string;
    await post(`/v1/queues/${q}/members`, { agent_id: a, number: '1001@example.org' });
    const c1 = (await post(`/v1/queues/${q}/callers`, { number: '6135550001' })).uuid as string;
    const c2 = (await post(`/v1/queues/${q}/callers`, { number: '6135550002', priority: 3 })).uuid as string;
    const c3 = (await post(`/v1/queues/${q}/callers`, { number: '6135550003' })).uuid as string;
    await post(`/v1/queues/${q}/callers`, { number: '6135550004' });
    expect((await call(s, k, 'PUT', `/v1/queues/${q}/callers/${c2}`, { status: 'connected', member_uuid: a })).status).toBe(200);
    expect((await call(s, k, 'DELETE', `/v1/queues/${q}/callers/${c3}?reason=abandoned`)).status).toBe(204);
    await post('/v1/tags', { tag: 'french' });
    await post('/v1/tags', { tag: 'german' });
    await post('/v1/tags/french/agents', { agent_id: a });
    const tokenA = (await post(`/v1/agents/${a}/tokens`, { ttl: 3600 })).token as string;
    const app = (await s.engine.appForKey(k))!;
    return { s, app, key: k, other: other.name, otherKey: other.key, q, dq, oq, a, b, c1, c2, c3, tokenA };
  }

  /** Everything stored for both applications, and whether a's token still works. */
  async function state(f: Fixture): Promise<unknown> {
    const token = await f.s.calls.verifyAgentToken(f.tokenA);
    return { data: await callSnapshot(f.s.calls, [f.app, f.other]), tokenValid: token.valid };
  }

  it.each([...badInput, ...isolation])('$name → $status $code', async (c) => {
    const f = await sharedFixture();
    const before = await state(f);
    const headers = new Headers(c.headers);
    const as = c.as ?? 'owner';
    if (as === 'owner' || as === 'other') headers.set('authorization', `Application ${as === 'owner' ? f.key : f.otherKey}`);
    else if (as === 'agent') headers.set('authorization', `Agent ${f.tokenA}`);
    else if (as !== 'none') headers.set('authorization', as.header);
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    const raw = c.body?.(f);
    if (typeof raw === 'string' || raw instanceof Uint8Array) body = raw as string | Uint8Array<ArrayBuffer>;
    else if (raw !== undefined) {
      body = JSON.stringify(raw);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const res = await f.s.request(c.path(f), { method: c.method, headers, ...(body === undefined ? {} : { body }) });
    if (c.code === null) {
      expect([res.status, await res.text()]).toEqual([c.status, '']);
    } else {
      expect({ status: res.status, code: await errorCode(res) }).toEqual({ status: c.status, code: c.code });
    }
    if (c.status === 405) expect(res.headers.get('allow')).toMatch(/^[A-Z, ]+$/);
    expect(await state(f)).toEqual(before);
  });

  it('lists show only the application\'s own resources', async () => {
    const f = await fixture();
    const theirs = async (path: string) => (await call(f.s, f.otherKey, 'GET', path)).body;
    expect((await theirs('/v1/agents')).map((x: { name: string }) => x.name)).toEqual(['theirs']);
    expect((await theirs('/v1/queues')).map((x: { uuid: string }) => x.uuid)).toEqual([f.oq]);
    expect(await theirs('/v1/tags')).toEqual([]);
    // The same tag name in another application is another tag.
    expect(await call(f.s, f.otherKey, 'POST', '/v1/tags', { tag: 'french' })).toEqual({ status: 201, body: { id: 1, tag: 'french' } });
    expect((await call(f.s, f.key, 'GET', '/v1/tags/french')).body.agents).toEqual([f.a]);
  });
});
