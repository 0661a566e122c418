/**
 * The conditions of the live event tail (protocol/websocket.md 12.1): GET /v1/events's Panko
 * filters, parsed and matched by the same code (domain/events: parseEventQuery, matches), so a
 * condition means on the tail exactly what it means in a query. A condition is one
 * q.field/q.op/q.type/q.value group: `event_type` (eq), or a trait with any op and a type
 * (string when absent, as Panko). The fields `message_id`, `start_timestamp` and `end_timestamp`
 * describe a stored range rather than a stream: the tail refuses them (its start is `since`).
 */
import type { EventCondition } from '../codec/frames.js';
import type { EventLog, LoggedEvent } from '../engine/events.js';
import { HoldlineError } from '../errors.js';
import { parseEventQuery } from './events/query.js';
import { matches } from './events/service.js';

export interface TailFilter {
  /** The same conditions in one canonical order: equal filters share a live feed. */
  readonly key: string;
  matches(event: LoggedEvent): boolean;
}

const RANGE_FIELDS = new Set(['message_id', 'start_timestamp', 'end_timestamp']);

/** Validates the conditions (400 invalid_query, as GET /v1/events, for what does not parse). */
export function parseTailFilter(conditions: readonly EventCondition[] = []): TailFilter {
  for (const c of conditions) {
    if (RANGE_FIELDS.has(c.field)) {
      throw new HoldlineError('invalid_query', { field: 'q.field', message: `The live tail does not filter by ${c.field}: give a resume point (since) instead` });
    }
  }
  // Whole columns, one entry per condition: matched by position (domain/events/query.ts).
  const params = new Map<string, string[]>([
    ['q.field', conditions.map((c) => c.field)],
    ['q.op', conditions.map((c) => c.op ?? '')],
    ['q.type', conditions.map((c) => c.type ?? '')],
    ['q.value', conditions.map((c) => c.value)],
  ]);
  const query = conditions.length === 0 ? parseEventQuery(new Map(), []) : parseEventQuery(params, [...params.keys()]);
  const traits = query.traits.map((t) => JSON.stringify([t.name, t.type, t.op, t.value])).sort();
  return { key: JSON.stringify([query.eventType ?? null, traits]), matches: (e) => matches(e, query) };
}

/** The seq just before the oldest event the log holds (its newest when it holds none). */
export async function beforeOldest(log: Pick<EventLog, 'scan' | 'readSince' | 'base'>, app: string): Promise<number> {
  const [oldest] = (await log.scan(app, { index: { kind: 'time' }, min: 'g:', max: 'g:~', descending: false, count: 1 })).events;
  if (oldest !== undefined && (await log.readSince(app, oldest.seq - 1, 1)) !== null) return oldest.seq - 1;
  return (await log.base(app)).seq;
}

