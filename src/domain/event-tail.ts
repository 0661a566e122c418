/**
 * The conditions of the live event tail (protocol/websocket.md 12.1): the equality subset of
 * GET /v1/events's Panko query. A condition is `{field, op?, type?, value}` as one q.field/q.op/
 * q.type/q.value group there: `event_type` compares the event's type, any other field names a
 * trait. All conditions must hold. Only `eq`: the other ops, and the fields `message_id`,
 * `start_timestamp` and `end_timestamp`, describe a stored range rather than a stream, so the tail
 * refuses them (`invalid_field`, field `q`). A value is read as `type` when given, else as the
 * trait's own type when the event has that trait; an event without the trait does not match.
 */
import type { EventCondition } from '../codec/frames.js';
import type { EventLog } from '../engine/events.js';
import { HoldlineError } from '../errors.js';

interface TraitLike {
  name: string;
  type: string;
  value: string | number;
}

interface EventLike {
  event_type: string;
  traits: readonly TraitLike[];
}

export interface TailFilter {
  /** The same conditions in one canonical order: equal filters share a live feed. */
  readonly key: string;
  matches(event: EventLike): boolean;
}

const RANGE_FIELDS = new Set(['message_id', 'start_timestamp', 'end_timestamp']);

function refuse(message: string): never {
  throw new HoldlineError('invalid_field', { field: 'q', message });
}

/** Epoch microseconds of an ISO-8601 date-time (UTC when no offset), or null. */
function micros(text: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,6})\d*)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text.trim());
  if (m === null) return null;
  const zone = m[4] === undefined || m[4].toUpperCase() === 'Z' ? 'Z' : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4];
  const time = m[2] === undefined ? '00:00:00' : m[2].length === 5 ? `${m[2]}:00` : m[2];
  const ms = Date.parse(`${m[1]}T${time}${zone}`);
  return Number.isNaN(ms) ? null : ms * 1000 + Number((m[3] ?? '').padEnd(6, '0'));
}

/** `value` read as `type`: a number, a string, or datetime micros; null when it is not one. */
function convert(type: string, value: string): string | number | null {
  switch (type) {
    case 'integer':
      return /^[+-]?\d+$/.test(value.trim()) ? Number(value) : null;
    case 'float': {
      const n = Number(value);
      return value.trim() !== '' && Number.isFinite(n) ? n : null;
    }
    case 'datetime':
      return micros(value);
    default:
      return value;
  }
}

/** Validates the conditions (400 invalid_field, field `q`, for what the tail does not offer). */
export function parseTailFilter(conditions: readonly EventCondition[] = []): TailFilter {
  const checks: Array<(e: EventLike) => boolean> = [];
  const canonical: string[] = [];
  for (const c of conditions) {
    const type = c.type ?? '';
    if (c.op !== undefined && c.op !== 'eq') refuse('The live tail takes op eq only');
    if (RANGE_FIELDS.has(c.field)) refuse(`The live tail does not filter by ${c.field}: give a resume point (since) instead`);
    if (type !== '' && convert(type, c.value) === null) refuse(`Unable to convert the value ${c.value} to ${type}`);
    canonical.push(JSON.stringify([c.field, type, c.value]));
    if (c.field === 'event_type') {
      checks.push((e) => e.event_type === c.value);
      continue;
    }
    checks.push((e) => {
      const trait = e.traits.find((t) => t.name === c.field);
      if (trait === undefined) return false;
      const as = type === '' ? trait.type : type;
      const wanted = convert(as, c.value);
      const have = as === 'datetime' ? micros(String(trait.value)) : as === 'integer' || as === 'float' ? Number(trait.value) : String(trait.value);
      return wanted !== null && have === wanted;
    });
  }
  canonical.sort();
  return { key: canonical.join(','), matches: (e) => checks.every((check) => check(e)) };
}

/** The seq just before the oldest event the log holds (its newest when it holds none). */
export async function beforeOldest(log: EventLog, app: string): Promise<number> {
  const [oldest] = (await log.scan(app, { index: { kind: 'time' }, min: 'g:', max: 'g:~', descending: false, count: 1 })).events;
  if (oldest !== undefined && (await log.readSince(app, oldest.seq - 1, 1)) !== null) return oldest.seq - 1;
  return (await log.base(app)).seq;
}

