/**
 * Panko v2 event queries (protocol/events.md section 5): the query string of `GET /v1/events` turned
 * into a checked EventQuery, with Panko's rules and client errors (400):
 *   - `q.field`/`q.op`/`q.type`/`q.value` repeated, matched by position (or each after its
 *     q.field, see filterColumns), ANDed;
 *   - ops lt le eq ne ge gt, default (absent or empty) eq;
 *   - `event_type` and `message_id` take only eq, `start_timestamp` only ge, `end_timestamp` only le
 *     (Panko's own restrictions); a later one replaces an earlier one, as in Panko;
 *   - every other field is a trait, of `q.type` integer, float, string (the default) or datetime;
 *     a value that does not convert to that type is refused;
 *   - `limit` a positive integer (at most MAX_LIMIT, default DEFAULT_LIMIT);
 *   - `sort` `generated` or `message_id`, `:asc` (default) or `:desc`; ties always go by message_id
 *     in the same direction (a second sort item may only say that);
 *   - `marker` the message_id of the last event seen.
 * Pure: no I/O (the service, service.ts, runs the query).
 */
import { TRAIT_TYPES, isEventId, parseIsoMicros, type TraitType } from '../../engine/events.js';
import { HoldlineError } from '../../errors.js';

export const OPS = ['lt', 'le', 'eq', 'ne', 'ge', 'gt'] as const;
export type Op = (typeof OPS)[number];

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

export interface TraitFilter {
  name: string;
  type: TraitType;
  op: Op;
  /** integer/float: a number; string: the string; datetime: µs since the epoch. */
  value: number | string;
}

export interface EventQuery {
  eventType?: string;
  messageId?: string;
  /** µs since the epoch, inclusive. */
  startUs?: number;
  /** µs since the epoch, inclusive. */
  endUs?: number;
  traits: TraitFilter[];
  limit: number;
  sort: { key: 'generated' | 'message_id'; descending: boolean };
  marker?: string;
}

const PARAMS = new Set(['q.field', 'q.op', 'q.type', 'q.value', 'limit', 'sort', 'marker']);

/** `field` names the parameter (errors.md); the message quotes the marker sent. */
export function markerNotFound(marker: string): HoldlineError {
  return new HoldlineError('marker_not_found', { field: 'marker', message: `Marker ${marker} not found` });
}

function invalid(field: string, message: string): HoldlineError {
  return new HoldlineError('invalid_query', { field, message });
}

/** The names of a query string's parameters, in order, repeated as they are. */
export function queryOrder(query: string): string[] {
  return [...new URLSearchParams(query).keys()];
}

/** The query string's parameters, each with all its values in order (`a=1&a=2`). */
export function queryParams(query: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let params: URLSearchParams;
  try {
    // URLSearchParams never throws on bad percent-encoding; a lone `%` stays as it is.
    params = new URLSearchParams(query);
  } catch {
    throw new HoldlineError('bad_request', { field: 'query' });
  }
  for (const [k, v] of params) {
    const list = out.get(k);
    if (list === undefined) out.set(k, [v]);
    else list.push(v);
  }
  return out;
}

function convert(type: TraitType, raw: string, field: string): number | string {
  const bad = () => invalid(field, `Unable to convert the value ${raw} to the expected data type ${type}.`);
  switch (type) {
    case 'integer': {
      if (!/^[+-]?\d{1,15}$/.test(raw.trim())) throw bad();
      return Number(raw);
    }
    case 'float': {
      // Decimal notation only, as Panko's float() reads it: Number() would also take 0x10, 0b1, 0o7.
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw.trim())) throw bad();
      const n = Number(raw);
      if (!Number.isFinite(n)) throw bad();
      return n;
    }
    case 'datetime': {
      const us = parseIsoMicros(raw);
      if (us === null) throw bad();
      return us;
    }
    case 'string':
      return raw;
  }
}

/**
 * The filters' columns, one entry per q.field. Panko's clients send each column whole, in the same
 * order (`q.field=a&q.field=b&q.op=eq&q.op=gt&…`): matched by position. When q.op or q.type is not
 * given once per q.field, each q.op, q.type and q.value belongs to the q.field before it in the
 * query string (`q.field=a&q.value=1&q.field=b&q.op=gt&q.value=2`), which `order` (the parameter
 * names in query-string order) tells.
 */
function filterColumns(params: Map<string, string[]>, order: string[]): { fields: string[]; values: string[]; ops: string[]; types: string[] } {
  const fields = params.get('q.field') ?? [];
  const values = params.get('q.value') ?? [];
  const ops = params.get('q.op') ?? [];
  const types = params.get('q.type') ?? [];
  const whole = (list: string[]) => list.length === 0 || list.length === fields.length;
  if (whole(ops) && whole(types) && values.length === fields.length) return { fields, values, ops, types };
  const out = { fields: [] as string[], values: [] as string[], ops: [] as string[], types: [] as string[] };
  const seenValue = new Set<number>();
  const cursor = { 'q.field': 0, 'q.value': 0, 'q.op': 0, 'q.type': 0 };
  for (const name of order) {
    if (!(name in cursor)) continue;
    const key = name as keyof typeof cursor;
    const value = params.get(key)![cursor[key]++]!;
    if (key === 'q.field') {
      out.fields.push(value);
      out.values.push('');
      out.ops.push('');
      out.types.push('');
      continue;
    }
    const i = out.fields.length - 1;
    if (i < 0) throw invalid(key, `${key} must follow the q.field it belongs to`);
    const column = key === 'q.value' ? out.values : key === 'q.op' ? out.ops : out.types;
    if (column[i] !== '' || (key === 'q.value' && seenValue.has(i))) throw invalid(key, `Field ${out.fields[i]} has two ${key}`);
    if (key === 'q.value') seenValue.add(i);
    column[i] = value;
  }
  const missing = out.fields.findIndex((_, i) => !seenValue.has(i));
  if (missing >= 0) throw invalid('q.value', `Field ${out.fields[missing]} has no q.value`);
  return out;
}

export function parseEventQuery(params: Map<string, string[]>, order: string[]): EventQuery {
  for (const name of params.keys()) {
    if (!PARAMS.has(name)) throw invalid(name, `Unknown parameter ${name}: use q.field, q.op, q.type, q.value, limit, sort, marker`);
  }
  const { fields, values, ops, types } = filterColumns(params, order);

  const q: EventQuery = { traits: [], limit: DEFAULT_LIMIT, sort: { key: 'generated', descending: false } };
  fields.forEach((field, i) => {
    const value = values[i]!;
    const op = (ops[i] ?? '') === '' ? 'eq' : ops[i]!;
    if (!(OPS as readonly string[]).includes(op)) {
      throw invalid('q.op', `Operator ${op} is not supported. The supported operators are: ${OPS.join(', ')}`);
    }
    const only = (allowed: Op) => {
      if (op !== allowed) throw invalid('q.op', `Operator ${op} is not supported. Only \`${allowed}' operator is available for field ${field}`);
    };
    switch (field) {
      case 'event_type':
        only('eq');
        q.eventType = value;
        return;
      case 'message_id':
        only('eq');
        q.messageId = value.toLowerCase();
        return;
      case 'start_timestamp':
      case 'end_timestamp': {
        only(field === 'start_timestamp' ? 'ge' : 'le');
        const us = parseIsoMicros(value);
        if (us === null) throw invalid('q.value', `Unable to convert the value ${value} to the expected data type datetime.`);
        if (field === 'start_timestamp') q.startUs = us;
        else q.endUs = us;
        return;
      }
      default: {
        if (field === '') throw invalid('q.field', 'q.field must not be empty');
        const type = (types[i] ?? '') === '' ? 'string' : types[i]!;
        if (!(TRAIT_TYPES as readonly string[]).includes(type)) {
          throw invalid('q.type', `The data type ${type} is not supported. The supported data type list is: ${TRAIT_TYPES.join(', ')}`);
        }
        q.traits.push({ name: field, type: type as TraitType, op: op as Op, value: convert(type as TraitType, value, 'q.value') });
      }
    }
  });

  const limits = params.get('limit') ?? [];
  if (limits.length > 1) throw new HoldlineError('invalid_limit', { field: 'limit', max: MAX_LIMIT });
  if (limits.length === 1) {
    const text = limits[0]!;
    if (!/^\d{1,7}$/.test(text)) throw new HoldlineError('invalid_limit', { field: 'limit', max: MAX_LIMIT });
    const n = Number(text);
    if (n < 1 || n > MAX_LIMIT) throw new HoldlineError('invalid_limit', { field: 'limit', max: MAX_LIMIT });
    q.limit = n;
  }

  const sorts = params.get('sort') ?? [];
  // `field` names the parameter (errors.md); the message quotes what was sent.
  const badSort = (item: string, why = 'use generated or message_id, then :asc or :desc') =>
    new HoldlineError('invalid_sort', { field: 'sort', message: `sort ${item} is invalid: ${why}` });
  if (sorts.length > 2) throw badSort(sorts.join(','));
  sorts.forEach((item, i) => {
    const m = /^(generated|message_id)(?::(asc|desc))?$/.exec(item);
    if (m === null) throw badSort(item);
    const key = m[1] as 'generated' | 'message_id';
    const descending = m[2] === 'desc';
    if (i === 0) q.sort = { key, descending };
    else if (key !== 'message_id' || descending !== q.sort.descending || q.sort.key === 'message_id') {
      throw badSort(item, "a second sort item may only be message_id in the first one's direction (ties always go by message_id)");
    }
  });

  const markers = params.get('marker') ?? [];
  if (markers.length > 1) throw invalid('marker', 'Give one marker');
  if (markers.length === 1) {
    // A marker that cannot be an event id cannot be found either. Ids are compared in lower case,
    // as `GET /v1/events/{message_id}` does (RFC 9562: a UUID's hex digits are case-insensitive).
    const marker = markers[0]!.toLowerCase();
    if (!isEventId(marker)) throw markerNotFound(markers[0]!);
    q.marker = marker;
  }
  return q;
}
