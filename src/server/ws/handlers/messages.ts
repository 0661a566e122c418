/**
 * publish, history and state.set (protocol/websocket.md 4.1, 4.5, 4.6). Access rules and input
 * rules are the domain's (src/domain/queues): the owner publishes; readers are the owner, the
 * applications in `principles`, and anyone on a public queue; processing state is set by the owner
 * and the applications in `principles` only. Every input is checked before the engine is called,
 * so a failed request changes nothing.
 */
import type { HistoryFrame, HistoryResultFrame, PublishedFrame, PublishFrame, PublishMessage, StateSetFrame } from '../../../codec/index.js';
import { canRead } from '../../../domain/auth.js';
import { decodeMessageId, timestampSeconds } from '../../../domain/ids.js';
import { checkBody, checkPartition, checkTtl, randomPartition } from '../../../domain/queues/message-rules.js';
import { parseSince, readMessages } from '../../../domain/queues/read.js';
import type { SinceCursor } from '../../../domain/queues/read.js';
import type { MessagePatch, NewMessage, QueueMeta } from '../../../engine/types.js';
import { HoldlineError, isHoldlineError } from '../../../errors.js';
import { historyResult } from '../../message-encoding.js';
import { atField, replyId } from '../errors.js';
import { wireMessage } from '../wire.js';
import type { FrameHandler, HandlerEnv } from './types.js';

/** The field names of messages[i], spelled once for the usual small indexes (errors name them). */
interface MessageFields {
  body: string;
  ttl: string;
  partition: string;
}
const fieldsFor = (i: number): MessageFields => ({ body: `messages[${i}].body`, ttl: `messages[${i}].ttl`, partition: `messages[${i}].partition` });
const FIELDS: readonly MessageFields[] = Array.from({ length: 16 }, (_, i) => fieldsFor(i));

function toNewMessage(m: PublishMessage, i: number, meta: QueueMeta, env: HandlerEnv): NewMessage {
  const at = FIELDS[i] ?? fieldsFor(i);
  const max = env.ctx.config.maxMessageBytes;
  let body: string | Uint8Array;
  if (typeof m.body === 'string') body = checkBody(m.body, at.body, max);
  else if (m.body.byteLength === 0) throw new HoldlineError('empty_body', { field: at.body });
  else if (m.body.byteLength > max) throw new HoldlineError('message_too_large', { field: at.body, max });
  else body = m.body;
  // Checked in this order: body, ttl, partition (the first failure is the one reported).
  const ttl = m.ttl === undefined ? env.ctx.config.defaultTtl : checkTtl(m.ttl, at.ttl);
  let partition: number;
  if (m.partition === undefined) partition = randomPartition(meta);
  else {
    try {
      partition = checkPartition(m.partition, meta);
    } catch (err) {
      throw isHoldlineError(err) ? new HoldlineError(err.code, { field: at.partition, message: err.message }) : err;
    }
  }
  const out: NewMessage = { body, ttl, partition };
  if (m.content_type !== undefined) out.contentType = m.content_type;
  if (m.in_reply_to !== undefined) out.inReplyTo = m.in_reply_to;
  return out;
}

/**
 * A `published` reply in JSON, spelled directly: exactly what encodeServerFrame gives for it (no
 * bodies to encode, keys in the order the frame is built), without walking the frame for bodies.
 * Every publish is answered with one, so its cost counts.
 */
export function publishedJson(reply: PublishedFrame): string {
  let out = reply.id === undefined ? '{"type":"published","messages":[' : `{"type":"published","id":${JSON.stringify(reply.id)},"messages":[`;
  const messages = reply.messages;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    out += `${i === 0 ? '' : ','}{"message_id":${JSON.stringify(m.message_id)},"partition":${m.partition},"seq":${m.seq},"timestamp":${m.timestamp}}`;
  }
  return `${out}]}`;
}

export const publish: FrameHandler<'publish'> = async (conn, frame: PublishFrame, env, order) => {
  const meta = await env.ctx.queues.ownedQueue(conn.application, frame.application, frame.queue);
  const messages = frame.messages.map((m, i) => toNewMessage(m, i, meta, env));
  // Pipelined (dispatch.ts): the lookup above overlaps earlier frames; the append waits for their
  // appends to be submitted, and both engines keep per-partition submission order (websocket.md 3.1).
  await order.turn;
  const appended = env.engine.append(meta, messages);
  order.started();
  const stored = await appended;
  const reply: PublishedFrame = {
    type: 'published',
    ...replyId(frame.id),
    messages: stored.map((s) => ({ message_id: s.id, partition: s.partition, seq: s.seq, timestamp: timestampSeconds(s.timestampUs) })),
  };
  return conn.format === 'json' ? { reply, encoded: publishedJson(reply) } : { reply };
};

export const history: FrameHandler<'history'> = async (conn, frame: HistoryFrame, env) => {
  const meta = await env.ctx.queues.readableQueue(conn.application, frame.application, frame.queue);
  const partitions = (frame.partitions ?? [1]).map((p, i) => atField(`partitions[${i}]`, () => checkPartition(p, meta)));
  let since: SinceCursor | undefined;
  if (typeof frame.since === 'string') since = atField('since', () => parseSince(frame.since as string));
  else if (typeof frame.since === 'number') since = { kind: 'timestamp', seconds: frame.since };
  const messages = await readMessages(env.engine, meta, {
    partitions: partitions.sort((a, b) => a - b),
    limit: frame.limit ?? 100,
    order: frame.order ?? 'ascending',
    ...(since === undefined ? {} : { since }),
  });

  // Assembled from per-message fragments kept between reads (server/message-encoding.ts), cut to
  // the longest list that fits max_reply_bytes (websocket.md 4.5, `truncated`).
  const assembled = historyResult(frame.id, messages, conn.format, env.limits.maxReplyBytes);
  const kept = assembled.count === messages.length ? messages : messages.slice(0, assembled.count);
  // The dispatcher sends `encoded`; the frame's message objects are built only if something asks.
  const reply: HistoryResultFrame = {
    type: 'history.result',
    ...replyId(frame.id),
    get messages() {
      return kept.map(wireMessage);
    },
    truncated: assembled.truncated,
  };
  return { reply, encoded: assembled.bytes };
};

export const stateSet: FrameHandler<'state.set'> = async (conn, frame: StateSetFrame, env) => {
  const meta = await env.ctx.queues.requireQueue(frame.application, frame.queue);
  // Owner or principles; a public queue's readers may read but not mark messages.
  const caller = conn.application;
  if (caller === null || !canRead(caller, { ...meta, type: 'user' })) throw new HoldlineError('forbidden');
  atField('partition', () => checkPartition(frame.partition, meta));
  if (frame.client_json !== undefined && frame.client_json !== null) {
    const size = Buffer.byteLength(JSON.stringify(frame.client_json));
    if (size > env.limits.maxClientJsonBytes) {
      throw new HoldlineError('invalid_field', {
        field: 'client_json',
        message: `client_json exceeds ${env.limits.maxClientJsonBytes} bytes`,
      });
    }
  }
  const patch: MessagePatch = {};
  if (frame.client_state !== undefined) patch.clientState = frame.client_state;
  if (frame.client_json !== undefined) patch.clientJson = frame.client_json;
  const updated =
    decodeMessageId(frame.message_id).partition === frame.partition
      ? await env.engine.updateMessage({ app: meta.application, queue: meta.name, partition: frame.partition }, frame.message_id, patch)
      : null;
  if (updated === null) throw new HoldlineError('message_not_found');
  return { reply: { type: 'state.updated', ...replyId(frame.id), message: wireMessage(updated) } };
};
