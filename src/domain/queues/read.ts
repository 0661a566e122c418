/**
 * Reading messages (SPEC.md 3.1): the query (`since`, `limit`, `order`, `partitions`) and how several
 * partitions combine.
 *
 * Combination (documented in protocol/rest.md): the merged order is by timestamp, then partition
 * number, then the partition's own order (timestamp, sequence) — ascending, or exactly reversed for
 * `order=descending`. Each partition is read with the same cursor and limit, the results merged in
 * that order and cut to `limit`. A `since` message id is a position in that merged order: its own
 * partition is read from the id, the others from its timestamp with the partition number breaking
 * ties, so `since=<id>` returns that message and everything after it (before it, descending) in
 * every partition read, and paging with the last id seen never skips nor repeats a message.
 */
import { HoldlineError } from '../../errors.js';
import type { Engine, QueueMeta, ReadCursor, ReadOrder, StoredMessage } from '../../engine/types.js';
import { decodeMessageId } from '../ids.js';

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

export type SinceCursor =
  | { kind: 'id'; id: string; timestampUs: number; partition: number; seq: number }
  | { kind: 'timestamp'; seconds: number };

export interface ReadQuery {
  since?: SinceCursor;
  limit: number;
  order: ReadOrder;
  partitions: number[];
}

export interface RawReadQuery {
  since?: string;
  limit?: string;
  order?: string;
  partitions?: string;
}

/** Largest timestamp an id can carry (56 bits of microseconds), in seconds. */
const MAX_SINCE_SECONDS = 2 ** 56 / 1e6;

/** Exactly 32 hex characters: a message id; otherwise epoch seconds, fraction allowed. */
export function parseSince(text: string): SinceCursor {
  if (/^[0-9a-fA-F]{32}$/.test(text)) {
    const id = text.toLowerCase();
    return { kind: 'id', id, ...decodeMessageId(id) };
  }
  if (/^\d{1,17}(\.\d{1,20})?$/.test(text)) {
    const seconds = Number(text);
    if (seconds <= MAX_SINCE_SECONDS) return { kind: 'timestamp', seconds };
  }
  throw new HoldlineError('invalid_since', { field: 'since' });
}

export function parseLimit(text: string | undefined, max = MAX_LIMIT, fallback = DEFAULT_LIMIT): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,7}$/.test(text)) throw new HoldlineError('invalid_limit', { field: 'limit', max });
  const n = Number(text);
  if (n < 1 || n > max) throw new HoldlineError('invalid_limit', { field: 'limit', max });
  return n;
}

export function parseOrder(text: string | undefined): ReadOrder {
  if (text === undefined || text === 'ascending') return 'ascending';
  if (text === 'descending') return 'descending';
  throw new HoldlineError('invalid_order', { field: 'order' });
}

export function parsePartitionList(text: string | undefined, queue: QueueMeta): number[] {
  if (text === undefined) return [1];
  if (!/^\d{1,4}(,\d{1,4})*$/.test(text)) throw new HoldlineError('invalid_partitions', { field: 'partitions' });
  const list = [...new Set(text.split(',').map(Number))];
  for (const p of list) {
    if (p < 1 || p > queue.partitions) throw new HoldlineError('partition_out_of_range', { field: String(p) });
  }
  return list.sort((a, b) => a - b);
}

export function parseReadQuery(raw: RawReadQuery, queue: QueueMeta): ReadQuery {
  const query: ReadQuery = {
    limit: parseLimit(raw.limit),
    order: parseOrder(raw.order),
    partitions: parsePartitionList(raw.partitions, queue),
  };
  if (raw.since !== undefined) query.since = parseSince(raw.since);
  return query;
}

/** Position of a message in the ascending merged order. */
function compareKey(aTs: number, aPart: number, aSeq: number, bTs: number, bPart: number, bSeq: number): number {
  return aTs - bTs || aPart - bPart || aSeq - bSeq;
}

function compareMessages(a: StoredMessage, b: StoredMessage): number {
  return compareKey(a.timestampUs, a.partition, a.seq, b.timestampUs, b.partition, b.seq);
}

/**
 * Up to `limit` messages of one partition at or after (descending: at or before) the cursor in the
 * merged order. Timestamp cursors go to the engine as they are. An id cursor goes to the engine as
 * an id in its own partition; in the others as a timestamp widened by a microsecond (seconds are a
 * float on the way) and then filtered exactly on integers, paging on when the filter dropped some.
 */
async function readPartition(
  engine: Engine,
  queue: QueueMeta,
  partition: number,
  query: ReadQuery,
): Promise<StoredMessage[]> {
  const ref = { app: queue.application, queue: queue.name, partition };
  const { since, limit, order } = query;
  if (since === undefined || since.kind === 'timestamp' || since.partition === partition) {
    const cursor: ReadCursor | undefined =
      since === undefined ? undefined : since.kind === 'timestamp' ? since : { kind: 'id', id: since.id };
    return engine.read(ref, cursor === undefined ? { limit, order } : { since: cursor, limit, order });
  }
  const sign = order === 'ascending' ? 1 : -1;
  const keep = (m: StoredMessage): boolean =>
    sign * compareKey(m.timestampUs, m.partition, m.seq, since.timestampUs, since.partition, since.seq) >= 0;
  const widenedUs = since.timestampUs - sign;
  let cursor: ReadCursor = { kind: 'timestamp', seconds: Math.max(0, widenedUs) / 1e6 };
  let skipFirst = false;
  const out: StoredMessage[] = [];
  for (;;) {
    const page = await engine.read(ref, { since: cursor, limit, order });
    const fresh = skipFirst ? page.slice(1) : page;
    for (const m of fresh) if (keep(m)) out.push(m);
    if (out.length >= limit || page.length < limit || fresh.length === 0) return out.slice(0, limit);
    // Every message of a full page was dropped by the exact filter: continue after the last one.
    cursor = { kind: 'id', id: page[page.length - 1]!.id };
    skipFirst = true;
  }
}

export async function readMessages(engine: Engine, queue: QueueMeta, query: ReadQuery): Promise<StoredMessage[]> {
  const perPartition = await Promise.all(query.partitions.map((p) => readPartition(engine, queue, p, query)));
  if (perPartition.length === 1) return perPartition[0]!;
  const merged = perPartition.flat().sort(compareMessages);
  if (query.order === 'descending') merged.reverse();
  return merged.slice(0, query.limit);
}
