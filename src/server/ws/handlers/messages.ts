/**
 * publish, history and state.set (protocol/websocket.md 4.1, 4.5, 4.6): each parses its frame, makes
 * one domain call (MessageQueues.at, the same functions REST routes call) and renders the reply.
 * Access rules and input rules are the domain's (src/domain/queues): the owner publishes; readers are the owner, the
 * applications in `principles`, and anyone on a public queue; processing state is set by the owner
 * and the applications in `principles` only. Every input is checked before the engine is called,
 * so a failed request changes nothing.
 */
import type { HistoryFrame, HistoryResultFrame, PublishedFrame, PublishFrame, PublishMessage, StateSetFrame } from '../../../codec/index.js';
import { timestampSeconds } from '../../../domain/ids.js';
import { parseStateName } from '../../../domain/queues/message-rules.js';
import type { MessageFieldNames, MessageInput } from '../../../domain/queues/message-rules.js';
import type { HistoryQuery, StateInput } from '../../../domain/queues/service.js';
import { historyResult } from '../../message-encoding.js';
import { replyId } from '../errors.js';
import { wireMessage } from '../wire.js';
import type { FrameHandler } from './types.js';

/** The field names of messages[i], spelled once for the usual small indexes (errors name them). */
const fieldsFor = (i: number): MessageFieldNames => ({ body: `messages[${i}].body`, ttl: `messages[${i}].ttl`, partition: `messages[${i}].partition` });
const FIELDS: readonly MessageFieldNames[] = Array.from({ length: 16 }, (_, i) => fieldsFor(i));

/** A `publish` message as the domain takes it from either transport (REST builds the same). */
function messageInput(m: PublishMessage, i: number): MessageInput {
  const input: MessageInput = { body: m.body, field: FIELDS[i] ?? fieldsFor(i) };
  if (m.ttl !== undefined) input.ttl = m.ttl;
  if (m.partition !== undefined) input.partition = m.partition;
  if (m.content_type !== undefined) input.contentType = m.content_type;
  if (m.in_reply_to !== undefined) input.inReplyTo = m.in_reply_to;
  return input;
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
  const { queues } = env.ctx;
  const batch = await queues.at(conn.application, frame.application, frame.queue).prepare(frame.messages.map(messageInput));
  // Pipelined (dispatch.ts): the lookup above overlaps earlier frames; the append waits for their
  // appends to be submitted, and both engines keep per-partition submission order (websocket.md 3.1).
  await order.turn;
  const appended = queues.append(batch);
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
  const query: HistoryQuery = {};
  if (frame.partitions !== undefined) query.partitions = frame.partitions;
  if (frame.since !== undefined) query.since = frame.since;
  if (frame.limit !== undefined) query.limit = frame.limit;
  if (frame.order !== undefined) query.order = frame.order;
  if (frame.client_state !== undefined) query.client_state = frame.client_state;
  if (frame.updated_since !== undefined) query.updated_since = frame.updated_since;
  if (frame.updated_until !== undefined) query.updated_until = frame.updated_until;
  if (frame.in_reply_to !== undefined) query.in_reply_to = frame.in_reply_to;
  const messages = await env.ctx.queues.at(conn.application, frame.application, frame.queue).history(query);

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
  const input: StateInput = { partition: frame.partition, messageId: frame.message_id };
  if (frame.client_state !== undefined) input.clientState = frame.client_state;
  if (frame.client_json !== undefined) input.clientJson = frame.client_json;
  if (frame.if_state !== undefined) input.ifState = parseStateName(frame.if_state, 'if_state');
  const updated = await env.ctx.queues.at(conn.application, frame.application, frame.queue).setState(input, env.limits.maxClientJsonBytes);
  return { reply: { type: 'state.updated', ...replyId(frame.id), message: wireMessage(updated) } };
};
