/**
 * The one error catalogue (STYLE.md example 3). Every error Holdline reports — REST response,
 * WebSocket error frame or close — comes from here, with a stable machine-readable code.
 * `protocol/errors.md` documents the same table; test/unit/errors.test.ts checks the two agree
 * both ways, so a code cannot be added here without being documented, or documented without existing.
 *
 * `close` is the WebSocket close code used when the error ends a connection; errors that only
 * answer one request are sent as an `error` frame and leave the connection open.
 */

export interface ErrorSpec {
  /** HTTP status on REST. */
  readonly status: number;
  /** WebSocket close code when the error is fatal to the connection; null: never closes it. */
  readonly close: number | null;
  /** Human message; `{field}` is replaced by the offending field. */
  readonly message: string;
}

export const ERRORS = {
  // --- input (400) ---
  bad_request: { status: 400, close: null, message: 'The request is malformed' },
  invalid_json: { status: 400, close: null, message: 'The body is not valid JSON' },
  invalid_utf8: { status: 400, close: null, message: 'The body is not valid UTF-8' },
  invalid_form: { status: 400, close: null, message: 'The form-encoded body is malformed' },
  invalid_field: { status: 400, close: null, message: 'Field {field} is invalid' },
  missing_field: { status: 400, close: null, message: 'Field {field} is required' },
  empty_body: { status: 400, close: null, message: 'The message body is empty' },
  invalid_since: { status: 400, close: null, message: 'since must be epoch seconds or a message id' },
  invalid_limit: { status: 400, close: null, message: 'limit must be an integer from 1 to {max}' },
  invalid_order: { status: 400, close: null, message: "order must be 'ascending' or 'descending'" },
  invalid_partitions: { status: 400, close: null, message: 'partitions must be a partition number or a comma-separated list of them' },
  partition_out_of_range: { status: 400, close: null, message: 'Partition {field} does not exist in this queue' },
  invalid_ttl: { status: 400, close: null, message: 'ttl must be an integer number of seconds from 1 to {max}' },
  invalid_message_id: { status: 400, close: null, message: 'Message id {field} is malformed' },
  invalid_name: { status: 400, close: null, message: 'Name {field} is invalid or reserved' },
  partitions_decrease: { status: 400, close: null, message: 'Partitions may only be increased' },
  // event queries (protocol/events.md section 5; Panko v2's client errors)
  invalid_query: { status: 400, close: null, message: 'Query {field} is invalid' },
  invalid_sort: { status: 400, close: null, message: 'sort {field} is invalid: use generated or message_id, then :asc or :desc' },
  marker_not_found: { status: 400, close: null, message: 'Marker {field} not found' },
  unsupported_media_type: { status: 415, close: null, message: 'Content-Type {field} is not accepted here' },
  // --- size (413) ---
  body_too_large: { status: 413, close: null, message: 'The request body exceeds {max} bytes' },
  message_too_large: { status: 413, close: null, message: 'A message body exceeds {max} bytes' },
  // --- auth (401/403) ---
  auth_required: { status: 401, close: 4401, message: 'An Authorization header is required' },
  auth_malformed: { status: 401, close: 4401, message: 'The Authorization header is malformed' },
  auth_invalid: { status: 401, close: 4401, message: 'The key or token is not valid' },
  forbidden: { status: 403, close: null, message: 'These credentials may not access this resource' },
  admin_disabled: { status: 403, close: null, message: 'Admin routes are off: set HOLDLINE_ADMIN_KEY' },
  origin_not_allowed: { status: 403, close: null, message: 'This Origin is not in HOLDLINE_CORS_ORIGINS' },
  // --- existence (404/405/409) ---
  not_found: { status: 404, close: null, message: 'No such route' },
  app_not_found: { status: 404, close: null, message: 'No such application' },
  queue_not_found: { status: 404, close: null, message: 'No such queue' },
  message_not_found: { status: 404, close: null, message: 'No such message' },
  key_not_found: { status: 404, close: null, message: 'No such key in this application' },
  event_not_found: { status: 404, close: null, message: 'No such event' },
  method_not_allowed: { status: 405, close: null, message: 'Method not allowed on this route' },
  app_exists: { status: 409, close: null, message: 'The application already exists' },
  last_key: { status: 409, close: null, message: "This is the application's last key that does not expire: create or rotate to another key first" },
  queue_exists: { status: 409, close: null, message: 'The queue already exists' },
  state_conflict: { status: 409, close: null, message: 'The message is not in the state if_state names: nothing changed' },
  // call queues, agents, tags (protocol/calls.md)
  call_queue_not_found: { status: 404, close: null, message: 'No such call queue' },
  agent_not_found: { status: 404, close: null, message: 'No such agent' },
  member_not_found: { status: 404, close: null, message: 'No such member in this call queue' },
  caller_not_found: { status: 404, close: null, message: 'No such caller in this call queue' },
  tag_not_found: { status: 404, close: null, message: 'No such tag' },
  member_exists: { status: 409, close: null, message: 'The agent is already a member of this call queue' },
  tag_exists: { status: 409, close: null, message: 'Another tag already has that name' },
  queue_disabled: { status: 409, close: null, message: 'The call queue is disabled: callers cannot join' },
  invalid_transition: { status: 409, close: null, message: 'This change of the caller status is not allowed' },
  token_expired: { status: 401, close: 4401, message: 'The agent token has expired' },
  // webhooks and the live event tail (protocol/webhooks.md, websocket.md section 6)
  webhook_not_found: { status: 404, close: null, message: 'No such webhook endpoint in this application' },
  webhook_limit: { status: 409, close: null, message: 'The application has as many webhook endpoints as it may have' },
  webhook_host_not_allowed: { status: 400, close: null, message: 'The host of {field} is not in HOLDLINE_WEBHOOK_ALLOWED_HOSTS' },
  // routing (protocol/routing.md section 4)
  offer_not_found: { status: 404, close: null, message: 'No such open offer' },
  offer_not_yours: { status: 403, close: null, message: 'This offer is not offered to this agent' },
  offer_expired: { status: 409, close: null, message: 'The offer has expired' },
  routing_manual: { status: 409, close: null, message: "The call queue's strategy is manual: Holdline makes no offers" },
  // WebSocket frames and connections (protocol/websocket.md)
  unsupported_subprotocol: { status: 400, close: null, message: 'None of the offered subprotocols is supported' },
  invalid_msgpack: { status: 400, close: null, message: 'The frame is not one valid MessagePack value' },
  invalid_frame: { status: 400, close: null, message: 'The frame is not an object' },
  unknown_frame_type: { status: 400, close: null, message: 'Unknown frame type' },
  wrong_frame_kind: { status: 400, close: 1003, message: 'Text and binary frames do not match the subprotocol' },
  frame_too_large: { status: 413, close: 1009, message: 'The frame exceeds {max} bytes' },
  auth_timeout: { status: 408, close: 4408, message: 'No frame arrived in time on an unauthenticated connection' },
  auth_unexpected: { status: 400, close: null, message: 'auth is only accepted as the first frame of a connection opened without credentials' },
  already_subscribed: { status: 409, close: null, message: 'This connection already follows {field}' },
  not_subscribed: { status: 409, close: null, message: 'This connection does not follow {field}' },
  too_many_subscriptions: { status: 429, close: null, message: 'This connection follows too many partitions and call queues' },
  slow_consumer: { status: 429, close: 4429, message: 'The client did not read its frames in time' },
  not_implemented: { status: 501, close: null, message: 'Not implemented by this server' },
  // --- server side (5xx) ---
  not_confirmed: { status: 503, close: null, message: 'The write was not confirmed at the requested consistency level' },
  engine_unavailable: { status: 503, close: 1013, message: 'The storage engine is unreachable' },
  shutting_down: { status: 503, close: 1001, message: 'The server is shutting down' },
  internal: { status: 500, close: 1011, message: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The one JSON shape of every error on the wire. */
export interface ErrorBody {
  status: 'error';
  error: { code: ErrorCode; message: string; field?: string; current_state?: string | null };
}

/** Longest `field` and `message` an error carries (protocol/errors.md); longer ones are cut, ending in `…`. */
export const MAX_ECHOED_FIELD = 100;
const MAX_MESSAGE = 300;

function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The `field` and `message` an error of `code` carries, each bounded: what the client sent is
 * echoed bounded (a 33 KB id list comes back as its first 100 characters). HoldlineError and the
 * WebSocket decoder's frame errors (codec/frame-error.ts) both spell their errors with it.
 */
export function errorText(code: ErrorCode, opts: { field?: string | undefined; max?: number | undefined; message?: string | undefined }): { field: string | undefined; message: string } {
  const field = opts.field === undefined ? undefined : bounded(opts.field, MAX_ECHOED_FIELD);
  const message = bounded(opts.message ?? ERRORS[code].message.replace('{field}', field ?? '').replace('{max}', String(opts.max ?? '')), MAX_MESSAGE);
  return { field, message };
}

export class HoldlineError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly status: number;
  /** state_conflict: the message's client_state when the compare-and-set failed (null: unset). */
  readonly currentState: string | null | undefined;

  /** `cause`: the failure behind it (a Redis connection error), for logs and `serve`'s start-up line, never sent. */
  constructor(code: ErrorCode, opts: { field?: string; max?: number; message?: string; currentState?: string | null; cause?: unknown } = {}) {
    const spec: ErrorSpec = ERRORS[code];
    const { field, message } = errorText(code, opts);
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'HoldlineError';
    this.code = code;
    this.field = field;
    this.status = spec.status;
    this.currentState = opts.currentState;
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.currentState !== undefined) error.current_state = this.currentState;
    return { status: 'error', error };
  }
}

export function isHoldlineError(e: unknown): e is HoldlineError {
  return e instanceof HoldlineError;
}
