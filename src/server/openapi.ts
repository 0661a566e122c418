/**
 * `GET /openapi.json` (SPEC.md 3.6): an OpenAPI 3.1 document built at start-up from the request
 * schemas that validate requests (protocol/schemas/rest/*.json), the call-queue resource schemas
 * (protocol/schemas/calls/*.json) and the other response bodies (protocol/schemas/rest/responses.json).
 * The route table below says, per route, which schema its body and query follow and what it
 * answers; test/integration/openapi.test.ts checks that every route the router serves is in it and
 * that real responses validate against it.
 *
 * The schemas are embedded as components: each file's `$id` is dropped and its `$ref`s
 * (`message.json`, `call-defs.json#/$defs/uuid`) point at `#/components/schemas/…`, so any OpenAPI
 * tool reads the document without fetching anything.
 */
import agent from '../../protocol/schemas/calls/agent.json' with { type: 'json' };
import callQueue from '../../protocol/schemas/calls/queue.json' with { type: 'json' };
import queueCaller from '../../protocol/schemas/calls/queue_caller.json' with { type: 'json' };
import queueMember from '../../protocol/schemas/calls/queue_member.json' with { type: 'json' };
import queueStats from '../../protocol/schemas/calls/queue_stats.json' with { type: 'json' };
import queueWallboard from '../../protocol/schemas/calls/queue_wallboard.json' with { type: 'json' };
import callerCallback from '../../protocol/schemas/rest/caller-callback.json' with { type: 'json' };
import queueStatsQuery from '../../protocol/schemas/rest/queue-stats-query.json' with { type: 'json' };
import tag from '../../protocol/schemas/calls/tag.json' with { type: 'json' };
import agentCreate from '../../protocol/schemas/rest/agent-create.json' with { type: 'json' };
import agentUpdate from '../../protocol/schemas/rest/agent-update.json' with { type: 'json' };
import appCreate from '../../protocol/schemas/rest/app-create.json' with { type: 'json' };
import callDefs from '../../protocol/schemas/rest/call-defs.json' with { type: 'json' };
import callerCreate from '../../protocol/schemas/rest/caller-create.json' with { type: 'json' };
import callerLeave from '../../protocol/schemas/rest/caller-leave.json' with { type: 'json' };
import callerUpdate from '../../protocol/schemas/rest/caller-update.json' with { type: 'json' };
import callqueueCreate from '../../protocol/schemas/rest/callqueue-create.json' with { type: 'json' };
import callqueueUpdate from '../../protocol/schemas/rest/callqueue-update.json' with { type: 'json' };
import keyRotate from '../../protocol/schemas/rest/key-rotate.json' with { type: 'json' };
import memberCreate from '../../protocol/schemas/rest/member-create.json' with { type: 'json' };
import memberUpdate from '../../protocol/schemas/rest/member-update.json' with { type: 'json' };
import messageBatch from '../../protocol/schemas/rest/message-batch.json' with { type: 'json' };
import messageDelete from '../../protocol/schemas/rest/message-delete.json' with { type: 'json' };
import messageClientJson from '../../protocol/schemas/rest/message-client-json.json' with { type: 'json' };
import messageReadQuery from '../../protocol/schemas/rest/message-read-query.json' with { type: 'json' };
import messageRepliesQuery from '../../protocol/schemas/rest/message-replies-query.json' with { type: 'json' };
import messageStateQuery from '../../protocol/schemas/rest/message-state-query.json' with { type: 'json' };
import messageUpdate from '../../protocol/schemas/rest/message-update.json' with { type: 'json' };
import message from '../../protocol/schemas/rest/message.json' with { type: 'json' };
import queueCreate from '../../protocol/schemas/rest/queue-create.json' with { type: 'json' };
import queueInfoQuery from '../../protocol/schemas/rest/queue-info-query.json' with { type: 'json' };
import queueListQuery from '../../protocol/schemas/rest/queue-list-query.json' with { type: 'json' };
import queueUpdate from '../../protocol/schemas/rest/queue-update.json' with { type: 'json' };
import memberRouting from '../../protocol/schemas/rest/member-routing.json' with { type: 'json' };
import offerAnswer from '../../protocol/schemas/rest/offer-answer.json' with { type: 'json' };
import routingSettings from '../../protocol/schemas/rest/routing-settings.json' with { type: 'json' };
import responses from '../../protocol/schemas/rest/responses.json' with { type: 'json' };
import tagAgent from '../../protocol/schemas/rest/tag-agent.json' with { type: 'json' };
import eventsQuery from '../../protocol/schemas/rest/events-query.json' with { type: 'json' };
import tagCreate from '../../protocol/schemas/rest/tag-create.json' with { type: 'json' };
import tagPut from '../../protocol/schemas/rest/tag-put.json' with { type: 'json' };
import tokenCreate from '../../protocol/schemas/rest/token-create.json' with { type: 'json' };
import tokenRevoke from '../../protocol/schemas/rest/token-revoke.json' with { type: 'json' };
import webhookCreate from '../../protocol/schemas/rest/webhook-create.json' with { type: 'json' };
import { ERRORS } from '../errors.js';
import type { ErrorCode } from '../errors.js';

type Json = Record<string, unknown>;

/** Request schemas (protocol/schemas/rest/), by file name. */
const REQUEST_SCHEMAS: Record<string, Json> = {
  'app-create': appCreate, 'key-rotate': keyRotate, 'message-delete': messageDelete, 'queue-create': queueCreate, 'queue-update': queueUpdate, message, 'message-batch': messageBatch,
  'message-update': messageUpdate, 'queue-list-query': queueListQuery, 'queue-info-query': queueInfoQuery, 'queue-stats-query': queueStatsQuery,
  'message-read-query': messageReadQuery, 'message-state-query': messageStateQuery, 'message-replies-query': messageRepliesQuery,
  'message-client-json': messageClientJson, 'agent-create': agentCreate, 'agent-update': agentUpdate, 'token-create': tokenCreate,
  'token-revoke': tokenRevoke, 'callqueue-create': callqueueCreate, 'callqueue-update': callqueueUpdate,
  'member-create': memberCreate, 'member-update': memberUpdate, 'caller-create': callerCreate, 'caller-update': callerUpdate,
  'caller-leave': callerLeave, 'caller-callback': callerCallback, 'tag-create': tagCreate, 'tag-put': tagPut, 'tag-agent': tagAgent, 'events-query': eventsQuery,
  'webhook-create': webhookCreate,
  'routing-settings': routingSettings, 'member-routing': memberRouting, 'offer-answer': offerAnswer,
};

/** Resource schemas (protocol/schemas/calls/), by file name. */
const RESOURCE_SCHEMAS: Record<string, Json> = {
  agent, queue: callQueue, queue_member: queueMember, queue_caller: queueCaller, tag, queue_stats: queueStats,
  queue_wallboard: queueWallboard,
};

type Auth = 'none' | 'optional' | 'application' | 'reader' | 'queue-reader' | 'admin' | 'metrics' | 'events';
type Body = { json?: string; form?: boolean; raw?: boolean; required?: boolean; empty?: boolean };

interface RouteDoc {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Router template: `/v1/queues/:queue`. */
  route: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: Body;
  /** A query schema (protocol/schemas/rest/*-query.json), or named parameters. */
  query?: string | Record<string, Json>;
  /** status → response component (`r:name` responses.json, `c:name` calls resource, `c:name[]` a list), or a media type. */
  ok: Record<number, string>;
  /** Error codes this route documents (their statuses come from the catalogue). */
  errors: ErrorCode[];
  /** Response headers of the successes, always sent: name → description (an integer value). */
  headers?: Record<string, string>;
}

const AUTH_ERRORS: Record<Auth, ErrorCode[]> = {
  none: [],
  optional: ['auth_malformed', 'auth_invalid'],
  application: ['auth_required', 'auth_malformed', 'auth_invalid', 'forbidden'],
  reader: ['auth_required', 'auth_malformed', 'auth_invalid', 'forbidden', 'token_expired'],
  // A message queue's readers: its application's key, a key of an application in its principles,
  // anyone when it is public (rest.md "Who may do what"); agent tokens are not message credentials.
  'queue-reader': ['auth_required', 'auth_malformed', 'auth_invalid', 'forbidden'],
  admin: ['auth_required', 'auth_malformed', 'auth_invalid', 'admin_disabled'],
  metrics: ['auth_required', 'auth_malformed', 'auth_invalid', 'forbidden'],
  events: ['auth_required', 'auth_malformed', 'auth_invalid', 'forbidden', 'admin_disabled'],
};

const JSON_BODY: ErrorCode[] = ['bad_request', 'invalid_json', 'invalid_utf8', 'invalid_field', 'missing_field', 'unsupported_media_type', 'body_too_large'];
const CALLQ = '/v1/queues/:queue';

/** A raw message body's query fields (rest.md "post messages"): a JSON or form body carries them and takes none. */
const RAW_TTL: Json = { type: 'string', pattern: '^[0-9]+$', description: 'A raw body only: seconds, 1 to 2^25' };
const RAW_POST_QUERY: Record<string, Json> = {
  partition: { type: 'string', pattern: '^[0-9]+$', description: 'A raw body only: 1 to partitions; absent: a random one' },
  ttl: RAW_TTL,
  in_reply_to: { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'A raw body only: the id of the message this one answers' },
};

/** Every REST route: what it takes and answers. */
export const ROUTES: RouteDoc[] = [
  // --- operations ---
  { method: 'GET', route: '/healthz', tag: 'operations', summary: 'The process is up', auth: 'none', ok: { 200: 'r:ok' }, errors: [] },
  { method: 'GET', route: '/readyz', tag: 'operations', summary: 'The engine and call store answer', auth: 'none', ok: { 200: 'r:ready' }, errors: ['engine_unavailable', 'shutting_down'] },
  { method: 'GET', route: '/metrics', tag: 'operations', summary: 'Prometheus metrics (text format); loopback only unless HOLDLINE_METRICS_TOKEN is set', auth: 'metrics', ok: { 200: 'text/plain' }, errors: [] },
  { method: 'GET', route: '/openapi.json', tag: 'operations', summary: 'This document', auth: 'none', ok: { 200: 'application/json' }, errors: [] },
  { method: 'GET', route: '/docs', tag: 'operations', summary: 'The API reference page (Swagger UI, served locally)', auth: 'none', ok: { 200: 'text/html' }, errors: [] },
  { method: 'GET', route: '/docs/:file', tag: 'operations', summary: 'A file of the API reference page (swagger-ui-dist)', auth: 'none', ok: { 200: '*/*' }, errors: ['not_found'] },
  { method: 'GET', route: '/console', tag: 'operations', summary: 'The console, a web page for supervisors and operators (503 with an HTML page when dist/console was not built)', auth: 'none', ok: { 200: 'text/html' }, errors: [] },
  { method: 'GET', route: '/console/:file', tag: 'operations', summary: 'A file of the console (a content-hashed bundle file, cached for a year)', auth: 'none', ok: { 200: '*/*' }, errors: ['not_found'] },
  { method: 'GET', route: '/v1/capabilities', tag: 'operations', summary: 'What this server offers (protocol/capabilities.md)', auth: 'optional', ok: { 200: 'r:capabilities' }, errors: [] },
  // --- applications (admin) ---
  { method: 'POST', route: '/v1/apps', tag: 'applications', summary: 'Create an application and its first key', auth: 'admin', body: { json: 'app-create', form: true, required: true }, ok: { 201: 'r:app-created' }, errors: [...JSON_BODY, 'invalid_name', 'app_exists'] },
  { method: 'GET', route: '/v1/apps', tag: 'applications', summary: 'List applications', auth: 'admin', ok: { 200: 'r:app-list' }, errors: ['invalid_field', 'bad_request'] },
  { method: 'DELETE', route: '/v1/apps/:name', tag: 'applications', summary: 'Delete an application, its keys, queues and call-queue data', auth: 'admin', ok: { 200: 'r:ok' }, errors: ['invalid_field', 'bad_request', 'app_not_found'] },
  { method: 'GET', route: '/v1/apps/:name/keys', tag: 'applications', summary: 'List an application\'s keys (ids and expiries, never the keys), oldest first', auth: 'admin', ok: { 200: 'r:key-list' }, errors: ['invalid_field', 'bad_request', 'app_not_found'] },
  { method: 'POST', route: '/v1/apps/:name/keys', tag: 'applications', summary: 'Add a key that does not expire (no body; a field is refused); the others keep working', auth: 'admin', body: { empty: true }, ok: { 201: 'r:key-created' }, errors: [...JSON_BODY, 'app_not_found'] },
  { method: 'POST', route: '/v1/apps/:name/keys/:key_id/rotate', tag: 'applications', summary: 'A new key replacing this one, which keeps working for grace_seconds', auth: 'admin', body: { json: 'key-rotate', form: true }, ok: { 201: 'r:key-rotated' }, errors: [...JSON_BODY, 'app_not_found', 'key_not_found'] },
  { method: 'DELETE', route: '/v1/apps/:name/keys/:key_id', tag: 'applications', summary: 'Revoke one key at once (never the last one that does not expire)', auth: 'admin', ok: { 204: '' }, errors: ['invalid_field', 'bad_request', 'app_not_found', 'key_not_found', 'last_key'] },
  // --- message queues ---
  { method: 'GET', route: '/:app', tag: 'message queues', summary: 'List message queues', auth: 'application', query: 'queue-list-query', ok: { 200: 'r:queue-list' }, errors: ['app_not_found', 'invalid_limit', 'invalid_field', 'bad_request'] },
  { method: 'POST', route: '/:app', tag: 'message queues', summary: 'Create a message queue', auth: 'application', body: { json: 'queue-create', form: true }, ok: { 201: 'r:queue' }, errors: [...JSON_BODY, 'invalid_name', 'app_not_found', 'queue_exists'] },
  { method: 'PUT', route: '/:app/:queue', tag: 'message queues', summary: 'Update a message queue (partitions only grow)', auth: 'application', body: { json: 'queue-update', form: true }, ok: { 200: 'r:queue' }, errors: [...JSON_BODY, 'partitions_decrease', 'app_not_found', 'queue_not_found'] },
  { method: 'DELETE', route: '/:app/:queue', tag: 'message queues', summary: 'Delete a message queue and its messages', auth: 'application', ok: { 200: 'r:ok' }, errors: ['app_not_found', 'queue_not_found', 'invalid_field', 'bad_request'] },
  { method: 'GET', route: '/:app/:queue/info', tag: 'message queues', summary: 'A message queue\'s settings (and count)', auth: 'queue-reader', query: 'queue-info-query', ok: { 200: 'r:queue' }, errors: ['app_not_found', 'queue_not_found', 'invalid_field', 'bad_request'] },
  { method: 'POST', route: '/:app/:queue', tag: 'messages', summary: 'Post one message, a batch, or a raw body', auth: 'application', body: { json: 'message-batch', form: true, raw: true, required: true }, query: RAW_POST_QUERY, ok: { 201: 'r:message-posted' }, errors: [...JSON_BODY, 'empty_body', 'message_too_large', 'invalid_ttl', 'invalid_message_id', 'partition_out_of_range', 'app_not_found', 'queue_not_found', 'message_not_found', 'not_confirmed'] },
  { method: 'GET', route: '/:app/:queue', tag: 'messages', summary: 'Read messages', auth: 'queue-reader', query: 'message-read-query', ok: { 200: 'r:message-list' }, errors: ['app_not_found', 'queue_not_found', 'invalid_since', 'invalid_limit', 'invalid_order', 'invalid_partitions', 'partition_out_of_range', 'invalid_field', 'bad_request'] },
  { method: 'GET', route: '/:app/:queue/:message_id', tag: 'messages', summary: 'One message (a raw one with its own Content-Type)', auth: 'queue-reader', ok: { 200: 'r:message-one' }, errors: ['app_not_found', 'queue_not_found', 'message_not_found', 'invalid_message_id', 'invalid_field', 'bad_request'] },
  { method: 'PUT', route: '/:app/:queue/:message_id', tag: 'messages', summary: 'Replace a message\'s body (and ttl)', auth: 'application', body: { json: 'message-update', form: true, raw: true, required: true }, query: { ttl: RAW_TTL }, ok: { 200: 'r:message-one' }, errors: [...JSON_BODY, 'invalid_ttl', 'message_too_large', 'app_not_found', 'queue_not_found', 'message_not_found', 'invalid_message_id'] },
  { method: 'DELETE', route: '/:app/:queue/:message_id', tag: 'messages', summary: 'Delete messages: comma-separated ids (at most 50), each optionally partition:-prefixed', auth: 'application', ok: { 200: 'r:messages-deleted' }, errors: ['app_not_found', 'queue_not_found', 'invalid_message_id', 'invalid_field', 'bad_request', 'partition_out_of_range'] },
  { method: 'PUT', route: '/:app/:queue/:message_id/client_state/:state', tag: 'processing state', summary: 'Set the message\'s client_state (optionally only if it is if_state now)', auth: 'application', query: 'message-state-query', ok: { 200: 'r:message-one' }, errors: ['invalid_field', 'bad_request', 'invalid_message_id', 'app_not_found', 'queue_not_found', 'message_not_found', 'state_conflict'] },
  { method: 'DELETE', route: '/:app/:queue/:message_id/client_state', tag: 'processing state', summary: 'Clear the message\'s client_state (optionally only if it is if_state now)', auth: 'application', query: 'message-state-query', ok: { 200: 'r:message-one' }, errors: ['invalid_field', 'bad_request', 'invalid_message_id', 'app_not_found', 'queue_not_found', 'message_not_found', 'state_conflict'] },
  { method: 'PUT', route: '/:app/:queue/:message_id/client_json', tag: 'processing state', summary: 'Set the message\'s client_json to the JSON body (optionally only if client_state is if_state now)', auth: 'application', query: 'message-state-query', body: { json: 'message-client-json', required: true }, ok: { 200: 'r:message-one' }, errors: [...JSON_BODY, 'invalid_message_id', 'app_not_found', 'queue_not_found', 'message_not_found', 'state_conflict'] },
  { method: 'DELETE', route: '/:app/:queue/:message_id/client_json', tag: 'processing state', summary: 'Clear the message\'s client_json (optionally only if client_state is if_state now)', auth: 'application', query: 'message-state-query', ok: { 200: 'r:message-one' }, errors: ['invalid_field', 'bad_request', 'invalid_message_id', 'app_not_found', 'queue_not_found', 'message_not_found', 'state_conflict'] },
  { method: 'GET', route: '/:app/:queue/:message_id/replies', tag: 'processing state', summary: 'The messages posted in_reply_to this one, in message order, paged', auth: 'queue-reader', query: 'message-replies-query', ok: { 200: 'r:message-list' }, errors: ['invalid_field', 'bad_request', 'invalid_since', 'invalid_limit', 'invalid_order', 'invalid_message_id', 'app_not_found', 'queue_not_found', 'message_not_found'] },
  { method: 'POST', route: '/:app/:queue/delete', tag: 'messages', summary: 'Delete messages named in the body (1 to 1000 ids)', auth: 'application', body: { json: 'message-delete', form: true, required: true }, ok: { 200: 'r:messages-deleted' }, errors: [...JSON_BODY, 'app_not_found', 'queue_not_found', 'invalid_message_id', 'partition_out_of_range'] },
  // --- agents ---
  { method: 'GET', route: '/v1/agents', tag: 'agents', summary: 'List agents', auth: 'application', ok: { 200: 'c:agent[]' }, errors: [] },
  { method: 'POST', route: '/v1/agents', tag: 'agents', summary: 'Create an agent', auth: 'application', body: { json: 'agent-create' }, ok: { 201: 'c:agent' }, errors: JSON_BODY },
  { method: 'GET', route: '/v1/agents/:agent', tag: 'agents', summary: 'One agent', auth: 'application', ok: { 200: 'c:agent' }, errors: ['agent_not_found'] },
  { method: 'PUT', route: '/v1/agents/:agent', tag: 'agents', summary: 'Change an agent', auth: 'application', body: { json: 'agent-update' }, ok: { 200: 'c:agent' }, errors: [...JSON_BODY, 'agent_not_found'] },
  { method: 'DELETE', route: '/v1/agents/:agent', tag: 'agents', summary: 'Delete an agent (its memberships, tags and tokens go with it)', auth: 'application', ok: { 204: '' }, errors: ['agent_not_found'] },
  { method: 'POST', route: '/v1/agents/:agent/tokens', tag: 'agents', summary: 'Issue an agent token', auth: 'application', body: { json: 'token-create' }, ok: { 201: 'r:token-grant' }, errors: [...JSON_BODY, 'agent_not_found'] },
  { method: 'DELETE', route: '/v1/agents/:agent/tokens', tag: 'agents', summary: 'Revoke one agent token (named in the body)', auth: 'application', body: { json: 'token-revoke', required: true }, ok: { 204: '' }, errors: [...JSON_BODY, 'agent_not_found'] },
  // --- call queues ---
  { method: 'GET', route: '/v1/queues', tag: 'call queues', summary: 'List call queues', auth: 'application', ok: { 200: 'c:queue[]' }, errors: [] },
  { method: 'POST', route: '/v1/queues', tag: 'call queues', summary: 'Create a call queue', auth: 'application', body: { json: 'callqueue-create', required: true }, ok: { 201: 'c:queue' }, errors: JSON_BODY },
  { method: 'GET', route: CALLQ, tag: 'call queues', summary: 'One call queue', auth: 'reader', ok: { 200: 'c:queue' }, errors: ['call_queue_not_found'] },
  { method: 'PUT', route: CALLQ, tag: 'call queues', summary: 'Change a call queue', auth: 'application', body: { json: 'callqueue-update' }, ok: { 200: 'c:queue' }, errors: [...JSON_BODY, 'call_queue_not_found'] },
  { method: 'DELETE', route: CALLQ, tag: 'call queues', summary: 'Delete a call queue with its members and callers', auth: 'application', ok: { 204: '' }, errors: ['call_queue_not_found'] },
  { method: 'GET', route: `${CALLQ}/stats`, tag: 'call queues', summary: 'Statistics (protocol/calls.md "Stats"); with window=15m|1h|today the wallboard (queue_wallboard, section 5.1)', auth: 'reader', query: 'queue-stats-query', ok: { 200: 'c:queue_stats' }, errors: ['call_queue_not_found', 'invalid_field', 'bad_request'] },
  // --- members ---
  { method: 'GET', route: `${CALLQ}/members`, tag: 'members', summary: 'List members', auth: 'reader', ok: { 200: 'c:queue_member[]' }, errors: ['call_queue_not_found'] },
  { method: 'POST', route: `${CALLQ}/members`, tag: 'members', summary: 'Add an agent as a member', auth: 'application', body: { json: 'member-create', required: true }, ok: { 201: 'c:queue_member' }, errors: [...JSON_BODY, 'call_queue_not_found', 'agent_not_found', 'member_exists'] },
  { method: 'GET', route: `${CALLQ}/members/:agent`, tag: 'members', summary: 'One member', auth: 'reader', ok: { 200: 'c:queue_member' }, errors: ['call_queue_not_found', 'member_not_found'] },
  { method: 'PUT', route: `${CALLQ}/members/:agent`, tag: 'members', summary: 'Pause, unpause, set status or number', auth: 'application', body: { json: 'member-update' }, ok: { 200: 'c:queue_member' }, errors: [...JSON_BODY, 'call_queue_not_found', 'member_not_found'] },
  { method: 'DELETE', route: `${CALLQ}/members/:agent`, tag: 'members', summary: 'Remove a member', auth: 'application', ok: { 204: '' }, errors: ['call_queue_not_found', 'member_not_found'] },
  // --- callers ---
  { method: 'GET', route: `${CALLQ}/callers`, tag: 'callers', summary: 'List callers in position order', auth: 'reader', ok: { 200: 'c:queue_caller[]' }, errors: ['call_queue_not_found'], headers: { 'Holdline-Seq': 'The call queue\'s seq the list was read at: callqueue.subscribe with since_seq = this value continues it (websocket.md 5.1)' } },
  { method: 'POST', route: `${CALLQ}/callers`, tag: 'callers', summary: 'A caller joins', auth: 'application', body: { json: 'caller-create', required: true }, ok: { 201: 'c:queue_caller' }, errors: [...JSON_BODY, 'call_queue_not_found', 'queue_disabled'] },
  { method: 'GET', route: `${CALLQ}/callers/:caller`, tag: 'callers', summary: 'One caller', auth: 'reader', ok: { 200: 'c:queue_caller' }, errors: ['call_queue_not_found', 'caller_not_found'] },
  { method: 'PUT', route: `${CALLQ}/callers/:caller`, tag: 'callers', summary: 'Change status, priority or member', auth: 'application', body: { json: 'caller-update' }, ok: { 200: 'c:queue_caller' }, errors: [...JSON_BODY, 'call_queue_not_found', 'caller_not_found', 'member_not_found', 'invalid_transition'] },
  { method: 'POST', route: `${CALLQ}/callers/:caller/callback`, tag: 'callers', summary: 'A waiting caller becomes a callback and keeps its place (protocol/calls.md 3.1)', auth: 'application', body: { json: 'caller-callback' }, ok: { 200: 'c:queue_caller' }, errors: [...JSON_BODY, 'call_queue_not_found', 'caller_not_found', 'invalid_transition'] },
  { method: 'DELETE', route: `${CALLQ}/callers/:caller`, tag: 'callers', summary: 'A caller leaves, with a reason (body or ?reason=)', auth: 'application', body: { json: 'caller-leave' }, query: { reason: { enum: ['answered', 'abandoned', 'timeout', 'transferred'] } }, ok: { 204: '' }, errors: [...JSON_BODY, 'call_queue_not_found', 'caller_not_found'] },
  // --- routing (protocol/routing.md) ---
  { method: 'GET', route: `${CALLQ}/routing`, tag: 'routing', summary: 'Routing settings: strategy, offer timeout, wrap-up, autopause, skills, tier relaxation', auth: 'reader', ok: { 200: 'r:routing-settings' }, errors: ['call_queue_not_found'] },
  { method: 'PUT', route: `${CALLQ}/routing`, tag: 'routing', summary: 'Change routing settings (any subset)', auth: 'application', body: { json: 'routing-settings' }, ok: { 200: 'r:routing-settings' }, errors: [...JSON_BODY, 'call_queue_not_found'] },
  { method: 'GET', route: `${CALLQ}/members/:agent/routing`, tag: 'routing', summary: 'A member\'s tier and routing state', auth: 'reader', ok: { 200: 'r:member-routing' }, errors: ['call_queue_not_found', 'member_not_found'] },
  { method: 'PUT', route: `${CALLQ}/members/:agent/routing`, tag: 'routing', summary: 'Set a member\'s tier (penalty)', auth: 'application', body: { json: 'member-routing', required: true }, ok: { 200: 'r:member-routing' }, errors: [...JSON_BODY, 'call_queue_not_found', 'member_not_found'] },
  { method: 'GET', route: `${CALLQ}/offers`, tag: 'routing', summary: 'The queue\'s open offers', auth: 'reader', ok: { 200: 'r:offer-list' }, errors: ['call_queue_not_found'] },
  { method: 'GET', route: '/v1/agents/:agent/offer', tag: 'routing', summary: 'The agent\'s open offer, or null (its own token, or the key)', auth: 'reader', ok: { 200: 'r:offer-or-null' }, errors: ['agent_not_found'] },
  { method: 'POST', route: `${CALLQ}/offers/:offer/accept`, tag: 'routing', summary: 'Accept an offer for an agent (a PBX names it; an agent token answers for itself)', auth: 'reader', body: { json: 'offer-answer' }, ok: { 200: 'r:offer' }, errors: [...JSON_BODY, 'call_queue_not_found', 'offer_not_found', 'offer_not_yours', 'offer_expired', 'routing_manual'] },
  { method: 'POST', route: `${CALLQ}/offers/:offer/reject`, tag: 'routing', summary: 'Reject an offer for an agent: the caller goes to the next member', auth: 'reader', body: { json: 'offer-answer' }, ok: { 200: 'r:offer' }, errors: [...JSON_BODY, 'call_queue_not_found', 'offer_not_found', 'offer_not_yours', 'offer_expired', 'routing_manual'] },
  // --- tags ---
  { method: 'GET', route: '/v1/tags', tag: 'tags', summary: 'List tags with their agents', auth: 'application', ok: { 200: 'c:tag[]' }, errors: [] },
  { method: 'POST', route: '/v1/tags', tag: 'tags', summary: 'Create a tag (an existing name: 200 with it)', auth: 'application', body: { json: 'tag-create', required: true }, ok: { 200: 'c:tag', 201: 'c:tag' }, errors: JSON_BODY },
  { method: 'GET', route: '/v1/tags/:tag', tag: 'tags', summary: 'One tag, by name or id', auth: 'application', ok: { 200: 'c:tag' }, errors: ['tag_not_found'] },
  { method: 'PUT', route: '/v1/tags/:tag', tag: 'tags', summary: 'Rename and/or replace the agents (a new name creates it)', auth: 'application', body: { json: 'tag-put' }, ok: { 200: 'c:tag', 201: 'c:tag' }, errors: [...JSON_BODY, 'tag_not_found', 'tag_exists', 'agent_not_found'] },
  { method: 'DELETE', route: '/v1/tags/:tag', tag: 'tags', summary: 'Delete a tag (204 whether it existed or not)', auth: 'application', ok: { 204: '' }, errors: [] },
  { method: 'GET', route: '/v1/tags/:tag/agents', tag: 'tags', summary: 'Agents with this tag', auth: 'application', ok: { 200: 'c:agent[]' }, errors: ['tag_not_found'] },
  { method: 'POST', route: '/v1/tags/:tag/agents', tag: 'tags', summary: 'Tag an agent (201 the first time, 200 after)', auth: 'application', body: { json: 'tag-agent', required: true }, ok: { 200: 'r:tagged-agent', 201: 'r:tagged-agent' }, errors: [...JSON_BODY, 'tag_not_found', 'agent_not_found'] },
  { method: 'DELETE', route: '/v1/tags/:tag/agents/:agent', tag: 'tags', summary: 'Untag an agent', auth: 'application', ok: { 204: '' }, errors: ['tag_not_found', 'agent_not_found'] },
  // --- webhooks ---
  { method: 'POST', route: '/v1/webhooks', tag: 'webhooks', summary: 'Register a webhook endpoint (its secret is answered this once)', auth: 'application', body: { json: 'webhook-create', required: true }, ok: { 201: 'r:webhook-created' }, errors: [...JSON_BODY, 'webhook_host_not_allowed', 'webhook_limit'] },
  { method: 'GET', route: '/v1/webhooks', tag: 'webhooks', summary: "The application's webhook endpoints", auth: 'application', ok: { 200: 'r:webhook-list' }, errors: [] },
  { method: 'GET', route: '/v1/webhooks/:id', tag: 'webhooks', summary: 'One webhook endpoint with its delivery state (cursor, backlog, last success, last error)', auth: 'application', ok: { 200: 'r:webhook-state' }, errors: ['webhook_not_found'] },
  { method: 'DELETE', route: '/v1/webhooks/:id', tag: 'webhooks', summary: 'Delete a webhook endpoint: deliveries stop', auth: 'application', ok: { 204: '' }, errors: ['webhook_not_found'] },
  // --- events (protocol/events.md; an application key: its own events; the admin key: all) ---
  { method: 'GET', route: '/v1/events', tag: 'events', summary: 'Query events (Panko v2: q.field/q.op/q.type/q.value, limit, sort, marker)', auth: 'events', query: 'events-query', ok: { 200: 'r:event-list' }, errors: ['invalid_query', 'invalid_limit', 'invalid_sort', 'marker_not_found', 'bad_request'] },
  { method: 'GET', route: '/v1/events/:message_id', tag: 'events', summary: 'One event', auth: 'events', ok: { 200: 'r:event' }, errors: ['event_not_found', 'invalid_query'] },
  { method: 'GET', route: '/v1/event_types', tag: 'events', summary: 'The event types present', auth: 'events', ok: { 200: 'r:event-types' }, errors: ['invalid_query'] },
  { method: 'GET', route: '/v1/event_types/:type/traits', tag: 'events', summary: 'The traits of an event type, with their types ([] for a type never seen)', auth: 'events', ok: { 200: 'r:trait-descriptions' }, errors: ['invalid_query'] },
  { method: 'GET', route: '/v1/event_types/:type/traits/:trait', tag: 'events', summary: 'The values of a trait in events of a type (the 10000 most recent, oldest first)', auth: 'events', ok: { 200: 'r:trait-values' }, errors: ['invalid_query'] },
  // --- schemas ---
  { method: 'GET', route: '/v1/schemas', tag: 'schemas', summary: 'Names of the resource schemas', auth: 'optional', ok: { 200: 'r:schema-names' }, errors: [] },
  { method: 'GET', route: '/v1/schemas/:name', tag: 'schemas', summary: 'The JSON Schema of a resource', auth: 'optional', ok: { 200: 'application/schema+json' }, errors: ['not_found'] },
];

/** The names a route's `query` documents. */
function queryNames(r: RouteDoc): string[] {
  if (typeof r.query === 'string') return Object.keys(REQUEST_SCHEMAS[r.query]!.properties as Json);
  return Object.keys(r.query ?? {});
}

/**
 * The application and message-queue routes refuse a query field they do not take (rest.md
 * "Conventions"); the router checks it for them, by this table. The others read their query
 * themselves: the call-queue routes ignore one except where they read it (rest-calls.md), the
 * events routes answer an unknown parameter invalid_query (events.md).
 */
const CHECKED_QUERIES = new Map(
  ROUTES.filter((r) => r.route.startsWith('/:app') || r.route.startsWith('/v1/apps')).map((r) => [`${r.method} ${r.route}`, new Set(queryNames(r))]),
);

/** The router's queryFieldsOf: the query fields of a route whose query it checks, else null. */
export function checkedQueryFields(method: string, route: string): ReadonlySet<string> | null {
  return CHECKED_QUERIES.get(`${method} ${route}`) ?? null;
}

/** Every route may also answer these. */
const ALWAYS: ErrorCode[] = ['internal', 'shutting_down'];

const CALL_DEFS = 'call-defs';

/** `message.json` → component ref; `call-defs.json#/$defs/x` → `call-defs_x`; `#/$defs/x` inside a file → `<file>_x`. */
function rewriteRefs(value: unknown, file: string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, file));
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) {
    if (k === '$id' || k === '$schema') continue;
    if (k === '$ref' && typeof v === 'string') {
      const [target, pointer] = v.split('#');
      const name = target === '' || target === undefined ? file : target.replace(/\.json$/, '');
      const def = pointer?.match(/^\/\$defs\/(.+)$/)?.[1];
      out.$ref = `#/components/schemas/${def === undefined ? name : `${name}_${def}`}`;
      continue;
    }
    out[k] = rewriteRefs(v, file);
  }
  return out;
}

function components(): Json {
  const schemas: Json = {};
  const addDefs = (file: string, defs: Json): void => {
    for (const [name, s] of Object.entries(defs)) schemas[`${file}_${name}`] = rewriteRefs(s, file);
  };
  for (const [name, s] of Object.entries(REQUEST_SCHEMAS)) schemas[name] = rewriteRefs(s, name);
  addDefs(CALL_DEFS, callDefs.$defs);
  addDefs('responses', responses.$defs);
  for (const [name, s] of Object.entries(RESOURCE_SCHEMAS)) schemas[`calls_${name}`] = rewriteRefs(s, name);
  return {
    schemas,
    securitySchemes: {
      application: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Application <key>`: an application key' },
      agent: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Agent <token>`: an agent token (reads of the call queues its agent serves)' },
      admin: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Admin <HOLDLINE_ADMIN_KEY>`: the operator key' },
      metrics: { type: 'http', scheme: 'bearer', description: 'HOLDLINE_METRICS_TOKEN' },
    },
  };
}

function responseSchema(ref: string): Json {
  const list = ref.endsWith('[]');
  const name = list ? ref.slice(0, -2) : ref;
  const target = name.startsWith('r:') ? `responses_${name.slice(2)}` : `calls_${name.slice(2)}`;
  const one = { $ref: `#/components/schemas/${target}` };
  return list ? { type: 'array', items: one } : one;
}

function operation(r: RouteDoc): Json {
  const parameters: Json[] = r.route
    .split('/')
    .filter((s) => s.startsWith(':'))
    .map((s) => ({ name: s.slice(1), in: 'path', required: true, schema: { type: 'string' } }));
  if (typeof r.query === 'string') {
    const q = REQUEST_SCHEMAS[r.query]!;
    for (const [name, schema] of Object.entries(q.properties as Json)) {
      parameters.push({ name, in: 'query', required: false, schema: rewriteRefs(schema, r.query) });
    }
  } else if (r.query !== undefined) {
    for (const [name, schema] of Object.entries(r.query)) parameters.push({ name, in: 'query', required: false, schema });
  }
  const security = {
    none: [],
    optional: [{}, { application: [] }, { agent: [] }, { admin: [] }],
    application: [{ application: [] }],
    reader: [{ application: [] }, { agent: [] }],
    'queue-reader': [{}, { application: [] }],
    admin: [{ admin: [] }],
    metrics: [{}, { metrics: [] }, { admin: [] }],
    events: [{ application: [] }, { admin: [] }],
  }[r.auth];
  const responsesOut: Json = {};
  for (const [status, what] of Object.entries(r.ok)) {
    if (what === '') responsesOut[status] = { description: 'Done; no body' };
    else if (what.includes('/')) responsesOut[status] = { description: 'OK', content: { [what]: { schema: what === 'text/html' || what === 'text/plain' ? { type: 'string' } : { type: 'object' } } } };
    else responsesOut[status] = { description: 'OK', content: { 'application/json': { schema: responseSchema(what) } } };
    if (r.headers !== undefined) {
      (responsesOut[status] as Json).headers = Object.fromEntries(
        Object.entries(r.headers).map(([name, description]) => [name, { description, required: true, schema: { type: 'integer', minimum: 0 } }]),
      );
    }
  }
  const byStatus = new Map<number, ErrorCode[]>();
  // A route that reads a form body answers a malformed one invalid_form (rest.md "Conventions").
  const formErrors: ErrorCode[] = r.body?.form === true || r.body?.empty === true ? ['invalid_form'] : [];
  for (const code of new Set([...AUTH_ERRORS[r.auth], ...r.errors, ...formErrors, ...ALWAYS])) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    responsesOut[String(status)] = {
      description: `Error: ${codes.map((c) => `\`${c}\``).join(', ')} (protocol/errors.md)`,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/responses_error' } } },
    };
  }
  if (r.method === 'GET' && r.route === '/:app/:queue/:message_id') {
    (responsesOut['200'] as { content: Json }).content['*/*'] = { schema: { type: 'string', format: 'binary', description: 'A message posted raw: its body, with the Content-Type it was posted with' } };
  }
  const op: Json = { summary: r.summary, tags: [r.tag], operationId: `${r.method.toLowerCase()}${r.route.replace(/[/:.]+(.)/g, (_m, c: string) => c.toUpperCase())}`, security, responses: responsesOut };
  if (parameters.length > 0) op.parameters = parameters;
  if (r.body !== undefined) {
    const content: Json = {};
    if (r.body.json !== undefined) {
      const schema = { $ref: `#/components/schemas/${r.body.json}` };
      content['application/json'] = { schema: r.route === '/:app/:queue' && r.method === 'POST' ? { anyOf: [{ $ref: '#/components/schemas/message' }, schema] } : schema };
      if (r.body.form === true) {
        content['application/x-www-form-urlencoded'] = {
          schema: r.route === '/:app/:queue' && r.method === 'POST' ? { type: 'object', description: 'body, partition, ttl; or message.N.body, message.N.partition, message.N.ttl' } : schema,
        };
      }
    }
    if (r.body.empty === true) {
      const none = { type: 'object', maxProperties: 0, description: 'No fields' };
      content['application/json'] = { schema: none };
      content['application/x-www-form-urlencoded'] = { schema: none };
    }
    if (r.body.raw === true) content['*/*'] = { schema: { type: 'string', format: 'binary', description: 'One raw message; its Content-Type is recorded' } };
    op.requestBody = { required: r.body.required === true, content };
  }
  return op;
}

/** `/v1/queues/:queue` → `/v1/queues/{queue}`. */
export function openApiPath(route: string): string {
  return route.replace(/:([A-Za-z_]+)/g, '{$1}');
}

/** The document (built once per server). */
export function openApiDocument(version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of ROUTES) {
    const p = openApiPath(r.route);
    paths[p] ??= {};
    paths[p][r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Holdline REST API',
      version,
      description:
        'Message queues (Queuey), call queues, agents, members, callers and tags. Contract: protocol/ in the repository; errors: protocol/errors.md. The WebSocket endpoint /v1/ws is described in protocol/websocket.md.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [...new Set(ROUTES.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: components(),
  };
}
