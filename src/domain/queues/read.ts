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
import type { Engine, MessageFilter, QueueMeta, ReadCursor, ReadOptions, ReadOrder, StoredMessage } from '../../engine/types.js';
import { isRealWallTime } from '../../engine/iso-time.js';
import { decodeMessageId } from '../ids.js';
import { checkPartition, parseStateName } from './message-rules.js';

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
  /** Filtered read (SPEC.md 3.5): only messages matching every condition. */
  filter?: MessageFilter;
}

export interface RawReadQuery {
  since?: string;
  limit?: string;
  order?: string;
  partitions?: string;
  /** Comma-separated client states; `none` for unset. */
  client_state?: string;
  /** Epoch seconds or ISO-8601. */
  updated_since?: string;
  updated_until?: string;
}

/** Filters given as the WebSocket `history` frame types them (protocol/websocket.md 4.5). */
export interface RawFilter {
  client_state?: string | readonly string[];
  updated_since?: string | number;
  updated_until?: string | number;
}

/** Most states one filter lists. */
export const MAX_FILTER_STATES = 16;

const EPOCH_RE = /^\d{1,11}(\.\d{1,6})?$/;
/** ISO-8601 date and time with a zone (Z or ±hh:mm), seconds and up to 6 fraction digits optional. */
const ISO_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A time filter as microseconds since the epoch: epoch seconds (fraction allowed) or ISO-8601. */
export function parseTime(value: string | number, field: string): number {
  const bad = () => new HoldlineError('invalid_field', { field, message: `${field} must be epoch seconds or an ISO-8601 time with a zone (e.g. 2026-12-06T23:00:00Z)` });
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > 1e11) throw bad();
    return Math.round(value * 1e6);
  }
  if (EPOCH_RE.test(value)) return Math.round(Number(value) * 1e6);
  const m = ISO_RE.exec(value);
  if (m === null) throw bad();
  const fraction = (m[3] ?? '').padEnd(6, '0');
  const zone = m[4] === 'Z' ? 'Z' : `${m[4]!.slice(0, 3)}:${m[4]!.slice(-2)}`;
  const wall = `${m[1]}:${m[2] ?? '00'}`;
  if (!isRealWallTime(wall)) throw bad();
  const ms = Date.parse(`${wall}${zone}`);
  if (Number.isNaN(ms) || ms < 0) throw bad();
  return ms * 1000 + Number(fraction);
}

/** The filter of a read, or undefined when none is asked. */
export function parseFilter(raw: RawFilter): MessageFilter | undefined {
  const filter: MessageFilter = {};
  if (raw.client_state !== undefined) {
    const list = typeof raw.client_state === 'string' ? raw.client_state.split(',') : raw.client_state;
    if (list.length === 0 || list.length > MAX_FILTER_STATES) {
      throw new HoldlineError('invalid_field', { field: 'client_state', message: `client_state lists 1 to ${MAX_FILTER_STATES} states` });
    }
    filter.states = [...new Set(list.map((s) => parseStateName(s, 'client_state')))];
  }
  if (raw.updated_since !== undefined) filter.updatedSinceUs = parseTime(raw.updated_since, 'updated_since');
  if (raw.updated_until !== undefined) filter.updatedUntilUs = parseTime(raw.updated_until, 'updated_until');
  return Object.keys(filter).length === 0 ? undefined : filter;
}

/** Largest timestamp an id can carry (56 bits of microseconds), in seconds. */
const MAX_SINCE_SECONDS = 2 ** 56 / 1e6;

/**
 * Exactly 32 hex characters: a message id; otherwise epoch seconds, at most 6 fraction digits:
 * timestamps are microseconds, and a 7th digit is below a double's precision at today's epoch, so
 * `t.3760131` would select the message at `t.376013` though it is before it.
 */
export function parseSince(text: string): SinceCursor {
  if (/^[0-9a-fA-F]{32}$/.test(text)) {
    const id = text.toLowerCase();
    return { kind: 'id', id, ...decodeMessageId(id) };
  }
  if (/^\d{1,17}(\.\d{1,6})?$/.test(text)) {
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
    checkPartition(p, queue, 'partitions');
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
  const filter = parseFilter(raw);
  if (filter !== undefined) query.filter = filter;
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
  const { since, limit, order, filter } = query;
  const options = (cursor: ReadCursor | undefined): ReadOptions => {
    const o: ReadOptions = { limit, order };
    if (cursor !== undefined) o.since = cursor;
    if (filter !== undefined) o.filter = filter;
    return o;
  };
  if (since === undefined || since.kind === 'timestamp' || since.partition === partition) {
    return engine.read(ref, options(since === undefined ? undefined : since.kind === 'timestamp' ? since : { kind: 'id', id: since.id }));
  }
  const sign = order === 'ascending' ? 1 : -1;
  const keep = (m: StoredMessage): boolean =>
    sign * compareKey(m.timestampUs, m.partition, m.seq, since.timestampUs, since.partition, since.seq) >= 0;
  const widenedUs = since.timestampUs - sign;
  let cursor: ReadCursor = { kind: 'timestamp', seconds: Math.max(0, widenedUs) / 1e6 };
  let skipFirst = false;
  const out: StoredMessage[] = [];
  for (;;) {
    const page = await engine.read(ref, options(cursor));
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
