/**
 * Rules for what a producer sends (SPEC.md sections 2 and 3.1): body, partition, ttl; and for the
 * ids a consumer names. Everything here is checked before the engine sees it, so a rejected request
 * changes nothing.
 */
import { MAX_TTL } from '../../config.js';
import { HoldlineError } from '../../errors.js';
import type { NewMessage, QueueMeta } from '../../engine/types.js';
import { decodeMessageId } from '../ids.js';

export const MAX_BATCH = 1000;

export interface MessageInput {
  body: string;
  partition?: number;
  ttl?: number;
  /** Recorded for raw posts and returned as the Content-Type of GET one message. */
  contentType?: string;
  /** Prefix of the field names in errors: `` (single), `message.3.` (form) or `messages.3.` (JSON). */
  field?: string;
}

export interface MessageLimits {
  maxMessageBytes: number;
  defaultTtl: number;
}

export function checkTtl(ttl: number, field: string): number {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) throw new HoldlineError('invalid_ttl', { field, max: MAX_TTL });
  return ttl;
}

export function checkBody(body: string, field: string, maxBytes: number): string {
  if (body.length === 0) throw new HoldlineError('empty_body', { field });
  // UTF-16 length bounds the UTF-8 length from both sides; count exactly only near the limit.
  if (body.length > maxBytes || (body.length * 3 > maxBytes && Buffer.byteLength(body, 'utf8') > maxBytes)) {
    throw new HoldlineError('message_too_large', { field, max: maxBytes });
  }
  return body;
}

export function checkPartition(partition: number, queue: QueueMeta): number {
  if (!Number.isInteger(partition) || partition < 1 || partition > queue.partitions) {
    throw new HoldlineError('partition_out_of_range', { field: String(partition) });
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
  return inputs.map((m) => {
    const prefix = m.field ?? '';
    const out: NewMessage = {
      body: checkBody(m.body, `${prefix}body`, limits.maxMessageBytes),
      ttl: m.ttl === undefined ? limits.defaultTtl : checkTtl(m.ttl, `${prefix}ttl`),
      partition: m.partition === undefined ? randomPartition(queue) : checkPartition(m.partition, queue),
    };
    if (m.contentType !== undefined) out.contentType = m.contentType;
    return out;
  });
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
    checkPartition(partition, queue);
    const list = byPartition.get(partition) ?? [];
    if (!list.includes(id)) list.push(id);
    byPartition.set(partition, list);
  }
  return byPartition;
}
