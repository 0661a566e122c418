/**
 * What a message POST or PUT carries (SPEC.md 3.1, Queuey "POST /{application}/{queue_name}"):
 *   - form: `body`, `partition`, `ttl`, `in_reply_to`, or a batch `message.N.body|partition|ttl|in_reply_to`
 *     (input order = N ascending)
 *   - JSON: `{"body", "partition"?, "ttl"?, "in_reply_to"?}` or `{"messages": [ … ]}`
 *   - any other Content-Type: the raw body is the message, its Content-Type recorded;
 *     `partition`, `ttl` and `in_reply_to` then come from the query string.
 */
import { HoldlineError } from '../errors.js';
import type { MessageInput } from '../domain/queues/message-rules.js';
import type { MessageUpdate } from '../domain/queues/service.js';
import { FORM_TYPE, JSON_TYPE, decodeUtf8, mediaType, parseJson, parseUrlEncoded, unknownQueryField } from './body.js';
import type { RequestInfo } from './http.js';
import { IN_REPLY_TO_MALFORMED } from './schemas.js';
import type { RequestSchemas } from './schemas.js';

/** As protocol/schemas/rest/message.json has them (wire names). */
interface MessageFields {
  body: string;
  partition?: number;
  ttl?: number;
  in_reply_to?: string;
}

/**
 * The domain's input (the same MessageInput a WebSocket `publish` gives). Field by field, not by
 * rest destructuring, which copies through V8's generic path on every post: the schema allows no
 * other fields.
 */
function toInput(fields: MessageFields, field?: string): MessageInput {
  const input: MessageInput = { body: fields.body };
  if (fields.partition !== undefined) input.partition = fields.partition;
  if (fields.ttl !== undefined) input.ttl = fields.ttl;
  if (fields.in_reply_to !== undefined) input.inReplyTo = fields.in_reply_to;
  if (field !== undefined) input.field = field;
  return input;
}

const MESSAGE_ID_RE = /^[0-9a-f]{32}$/;

/** `message.N.field`, N from 0 to 9999 written without leading zeros: one spelling per message. */
const BATCH_FIELD_RE = /^message\.(0|[1-9]\d{0,3})\.([^.]+)$/;

/** An integer query parameter (raw posts); `code` names the error a bad value gets. */
function queryInt(value: string | undefined, field: string, code: 'invalid_field' | 'invalid_ttl'): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value)) throw new HoldlineError(code, { field, max: 2 ** 25 });
  return Number(value);
}

/**
 * The routes' query fields (openapi.ts: a post takes `partition`, `ttl`, `in_reply_to`, a PUT only
 * `ttl` as its id fixes the rest; the router refuses any other) are a raw body's: a JSON or form
 * body carries its own, and one in the query would be silently ignored.
 */
function refuseQueryFields(req: RequestInfo): void {
  const name = Object.keys(req.queryFields)[0];
  if (name !== undefined) throw unknownQueryField(name);
}

function rawMessage(req: RequestInfo): MessageInput & { body: string; contentType: string } {
  const q = req.queryFields;
  const input: MessageInput & { body: string; contentType: string } = {
    body: decodeUtf8(req.body),
    contentType: req.headers['content-type']!,
  };
  const partition = queryInt(q.partition, 'partition', 'invalid_field');
  const ttl = queryInt(q.ttl, 'ttl', 'invalid_ttl');
  const inReplyTo = q.in_reply_to;
  if (partition !== undefined) input.partition = partition;
  if (ttl !== undefined) input.ttl = ttl;
  if (inReplyTo !== undefined) {
    if (!MESSAGE_ID_RE.test(inReplyTo)) throw new HoldlineError('invalid_message_id', { field: 'in_reply_to', message: IN_REPLY_TO_MALFORMED('in_reply_to') });
    input.inReplyTo = inReplyTo;
  }
  return input;
}

function formBatch(schemas: RequestSchemas, form: Map<string, string>): MessageInput[] {
  const byIndex = new Map<number, Record<string, unknown>>();
  for (const [name, value] of form) {
    const m = BATCH_FIELD_RE.exec(name);
    if (!m) {
      const message = name.startsWith('message.')
        ? `Field ${name} is not message.N.<field> with N from 0 to 9999 (no leading zeros)`
        : `Field ${name} cannot be mixed with message.N.* fields`;
      throw new HoldlineError('invalid_form', { field: name, message });
    }
    const n = Number(m[1]);
    // No prototype: a field named `__proto__` must be an unknown field, not a prototype change.
    const fields = byIndex.get(n) ?? (Object.create(null) as Record<string, unknown>);
    fields[m[2]!] = value;
    byIndex.set(n, fields);
  }
  return [...byIndex.keys()]
    .sort((a, b) => a - b)
    .map((n) => {
      const prefix = `message.${n}.`;
      return toInput(schemas.validate('message', 'form', byIndex.get(n)!, (p) => prefix + p), prefix);
    });
}

/** Messages to post, in input order. Shape errors only: ranges that depend on the queue come later. */
export function messagesToPost(schemas: RequestSchemas, req: RequestInfo): MessageInput[] {
  if (req.body.byteLength === 0) throw new HoldlineError('empty_body', { field: 'body' });
  const type = mediaType(req);
  if (type === JSON_TYPE || type === FORM_TYPE) refuseQueryFields(req);
  if (type === JSON_TYPE) {
    const data = parseJson(decodeUtf8(req.body));
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new HoldlineError('bad_request', { field: 'body', message: 'The JSON body must be an object' });
    }
    if ('messages' in data) {
      const batch = schemas.validate('message-batch', 'json', data as Record<string, unknown>);
      return batch.messages.map((m, i) => toInput(m, `messages.${i}.`));
    }
    return [toInput(schemas.validate('message', 'json', data as Record<string, unknown>))];
  }
  if (type === FORM_TYPE) {
    const form = parseUrlEncoded(decodeUtf8(req.body));
    if ([...form.keys()].some((k) => k.startsWith('message.'))) return formBatch(schemas, form);
    return [toInput(schemas.validate('message', 'form', Object.fromEntries(form)))];
  }
  if (type === '') throw new HoldlineError('unsupported_media_type', { field: '(none)' });
  return [rawMessage(req)];
}

/** PUT one message: `{body, ttl?}` as JSON or form, or a raw body with its Content-Type. */
export function messageUpdate(schemas: RequestSchemas, req: RequestInfo): MessageUpdate {
  if (req.body.byteLength === 0) throw new HoldlineError('empty_body', { field: 'body' });
  const type = mediaType(req);
  if (type === JSON_TYPE || type === FORM_TYPE) {
    refuseQueryFields(req);
    const text = decodeUtf8(req.body);
    const data = type === JSON_TYPE ? parseJson(text) : Object.fromEntries(parseUrlEncoded(text));
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new HoldlineError('bad_request', { field: 'body', message: 'The JSON body must be an object' });
    }
    const source = type === JSON_TYPE ? 'json' : 'form';
    const fields = schemas.validate('message-update', source, data as Record<string, unknown>);
    return { ...fields, contentType: null };
  }
  if (type === '') throw new HoldlineError('unsupported_media_type', { field: '(none)' });
  const raw = rawMessage(req);
  const update: MessageUpdate = { body: raw.body, contentType: raw.contentType };
  if (raw.ttl !== undefined) update.ttl = raw.ttl;
  return update;
}
