/**
 * Rules for what a producer sends (SPEC.md sections 2 and 3.1): body, partition, ttl; and for the
 * ids a consumer names. Everything here is checked before the engine sees it, so a rejected request
 * changes nothing.
 */
import { MAX_TTL } from '../../config.js';
import { ERRORS, HoldlineError, isHoldlineError } from '../../errors.js';
import type { NewMessage, QueueMeta } from '../../engine/types.js';
import { decodeMessageId } from '../ids.js';

export const MAX_BATCH = 1000;

/** Largest client_json (as encoded JSON) of a state change, REST and WebSocket alike (websocket.md 4.6). */
export const MAX_CLIENT_JSON_BYTES = 64 * 1024;

/**
 * A client_state (SPEC.md 3.5): 1 to 64 of letters, digits, `_ . : -`. `none` is not a state: it
 * names "unset" in `if_state` and in read filters. The characters keep a state safe in a URL path
 * segment and in a comma-separated filter, and ordered apart from the id in Redis index members.
 */
const CLIENT_STATE_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
export const UNSET_STATE = 'none';

export function checkClientState(text: string, field: string): string {
  if (!CLIENT_STATE_RE.test(text) || text === UNSET_STATE) {
    throw new HoldlineError('invalid_field', { field, message: `${field} must be 1 to 64 of A-Z a-z 0-9 _ . : - and not '${UNSET_STATE}'` });
  }
  return text;
}

/** A state the caller expects (`if_state`) or filters by: a client_state, or `none` for unset (null). */
export function parseStateName(text: string, field: string): string | null {
  if (text === UNSET_STATE) return null;
  if (!CLIENT_STATE_RE.test(text)) {
    throw new HoldlineError('invalid_field', { field, message: `${field} must be a client_state (1 to 64 of A-Z a-z 0-9 _ . : -) or '${UNSET_STATE}'` });
  }
  return text;
}

/**
 * One message to post, from either transport (REST post, WebSocket `publish`): both build these and
 * call MessageQueues.post (service.ts), so a field exists on both at once.
 */
export interface MessageInput {
  /** Text, or bytes (WebSocket: a MessagePack `bin`, or base64 in JSON; REST has no byte form). */
  body: string | Uint8Array;
  partition?: number;
  ttl?: number;
  /** Recorded (raw REST posts, WebSocket `content_type`) and returned as the Content-Type of GET one message. */
  contentType?: string;
  /** The message id this one answers (shape checked by the transport's schema; existence is not checked). */
  inReplyTo?: string;
  /**
   * Field names in errors: a prefix (`` single, `message.3.` form, `messages.3.` JSON), or the
   * names themselves (WebSocket: `messages[3].body`). A REST partition error names the partition.
   */
  field?: string | MessageFieldNames;
}

export interface MessageFieldNames {
  body: string;
  ttl: string;
  partition: string;
}

export interface MessageLimits {
  maxMessageBytes: number;
  defaultTtl: number;
}

export function checkTtl(ttl: number, field: string): number {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) throw new HoldlineError('invalid_ttl', { field, max: MAX_TTL });
  return ttl;
}

/** With the `u` flag a surrogate class matches only surrogates that are not part of a pair. */
const UNPAIRED_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A `\udXXX` escape of a surrogate whose backslash is not itself escaped (an even run of `\\`
 * before it). JSON.stringify escapes a surrogate that way when, and only when, it is unpaired
 * (well-formed JSON.stringify, ES2019); a pair is written as its character.
 */
const ESCAPED_SURROGATE = /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/;

/**
 * Whether the JSON text JSON.stringify made of a value shows an unpaired surrogate in a string or
 * key of it (text with no UTF-8 form): read from the text a size check makes anyway, rather than by
 * a second walk of the value.
 */
export function stringifiedHoldsUnpairedSurrogate(json: string): boolean {
  return ESCAPED_SURROGATE.test(json);
}

/** A text or byte body: non-empty, at most `maxBytes` bytes (UTF-8 for text), text that has a UTF-8 form. */
export function checkBody<B extends string | Uint8Array>(body: B, field: string, maxBytes: number): B {
  if (typeof body !== 'string') {
    if (body.byteLength === 0) throw new HoldlineError('empty_body', { field });
    if (body.byteLength > maxBytes) throw new HoldlineError('message_too_large', { field, max: maxBytes });
    return body;
  }
  if (body.length === 0) throw new HoldlineError('empty_body', { field });
  // JSON's `\ud800` escape carries an unpaired surrogate in valid UTF-8 text, yet it has no UTF-8
  // form: Redis would store U+FFFD instead, and MessagePack readers would get a `str` no strict
  // decoder reads.
  if (UNPAIRED_SURROGATE.test(body)) throw new HoldlineError('invalid_utf8', { field, message: `${field} holds an unpaired UTF-16 surrogate: it has no UTF-8 form` });
  // UTF-16 length bounds the UTF-8 length from both sides; count exactly only near the limit.
  if (body.length > maxBytes || (body.length * 3 > maxBytes && Buffer.byteLength(body, 'utf8') > maxBytes)) {
    throw new HoldlineError('message_too_large', { field, max: maxBytes });
  }
  return body;
}

/**
 * `field` names the input that carried the partition (errors.md: `field` names the offending
 * input); without it the error names the partition, for callers that rename it (atField).
 */
export function checkPartition(partition: number, queue: QueueMeta, field?: string): number {
  if (!Number.isInteger(partition) || partition < 1 || partition > queue.partitions) {
    throw new HoldlineError('partition_out_of_range', { field: field ?? String(partition), message: ERRORS.partition_out_of_range.message.replace('{field}', String(partition)) });
  }
  return partition;
}

/** Queuey: no partition given → a random one (the first when there is only one). */
export function randomPartition(queue: QueueMeta): number {
  return 1 + Math.floor(Math.random() * queue.partitions);
}

export function toNewMessages(queue: QueueMeta, inputs: MessageInput[], limits: MessageLimits): NewMessage[] {
  if (inputs.length === 0) throw new HoldlineError('empty_body', { field: 'messages' });
  if (inputs.length > MAX_BATCH) {
    throw new HoldlineError('invalid_field', { field: 'messages', message: `A batch holds at most ${MAX_BATCH} messages` });
  }
  return inputs.map((m) => toNewMessage(queue, m, limits));
}

/** Checked in this order: body, ttl, partition (the first failure is the one reported). */
function toNewMessage(queue: QueueMeta, m: MessageInput, limits: MessageLimits): NewMessage {
  const names = typeof m.field === 'object' ? m.field : null;
  const prefix = typeof m.field === 'string' ? m.field : '';
  const out: NewMessage = {
    body: checkBody(m.body, names?.body ?? `${prefix}body`, limits.maxMessageBytes),
    ttl: m.ttl === undefined ? limits.defaultTtl : checkTtl(m.ttl, names?.ttl ?? `${prefix}ttl`),
    partition: m.partition === undefined ? randomPartition(queue) : checkPartition(m.partition, queue, names?.partition ?? `${prefix}partition`),
  };
  if (m.contentType !== undefined) out.contentType = m.contentType;
  if (m.inReplyTo !== undefined) out.inReplyTo = m.inReplyTo;
  return out;
}

/** Runs a check; its HoldlineError then names `field` (the message text stays). */
export function atField<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw isHoldlineError(err) ? new HoldlineError(err.code, { field, message: err.message }) : err;
  }
}

const ID_ITEM_RE = /^(?:(\d{1,3}):)?([0-9a-fA-F]{32})$/;

/** One message id, lowercased; its partition comes from the id itself (src/domain/ids.ts). */
export function parseMessageId(text: string): { id: string; partition: number } {
  if (!/^[0-9a-fA-F]{32}$/.test(text)) throw new HoldlineError('invalid_message_id', { field: text });
  const id = text.toLowerCase();
  return { id, partition: decodeMessageId(id).partition };
}

/**
 * `id`, `p:id` or a comma-separated list of them (Queuey's DELETE), or a list of them (the body of
 * `POST …/delete`). The id carries its partition, so the `p:` prefix is optional; when given it must
 * agree with the id. Grouped by partition.
 */
export function parseIdList(ids: string | readonly string[], queue: QueueMeta): Map<number, string[]> {
  const items = typeof ids === 'string' ? ids.split(',') : ids;
  if (items.length > MAX_BATCH) {
    throw new HoldlineError('invalid_field', { field: 'ids', message: `At most ${MAX_BATCH} ids per request` });
  }
  const byPartition = new Map<number, string[]>();
  for (const item of items) {
    const m = ID_ITEM_RE.exec(item);
    if (!m) throw new HoldlineError('invalid_message_id', { field: item });
    const { id, partition } = parseMessageId(m[2]!);
    if (m[1] !== undefined && Number(m[1]) !== partition) {
      throw new HoldlineError('invalid_message_id', {
        field: item,
        message: `Message id ${item} belongs to partition ${partition}, not ${m[1]}`,
      });
    }
    checkPartition(partition, queue, item);
    const list = byPartition.get(partition) ?? [];
    if (!list.includes(id)) list.push(id);
    byPartition.set(partition, list);
  }
  return byPartition;
}
