/**
 * The event log's reads as Panko v2 answers them (protocol/events.md section 5), for REST (and any
 * later transport): queries, one event, event types and their traits. Who may read what: an
 * application key reads its own application's log only; the admin key reads every application's.
 *
 * A query walks one index of each log it reads (events.ts EventIndex), chosen so that the filters
 * Holdline indexes narrow the walk: `event_type` → the type's index, else a `queue_id` trait (eq,
 * string) → the queue's index, else every event by time; `sort=message_id` walks the id index. The
 * time range (start/end_timestamp) bounds the walk; every other filter is checked on each event
 * walked. A marker continues strictly after the marker event's place in that order, so a page never
 * repeats or skips an event that was there before, whatever is recorded meanwhile.
 */
import {
  indexPrefix,
  parseIsoMicros,
  timeKey,
  type EventIndex,
  type EventLog,
  type HoldlineEvent,
  type LoggedEvent,
  type Trait,
  type TraitType,
} from '../../engine/events.js';
import { HoldlineError } from '../../errors.js';
import { MAX_LIMIT, markerNotFound, type EventQuery, type Op, type TraitFilter } from './query.js';

export type EventScope = { kind: 'app'; app: string } | { kind: 'admin' };

/** Index members walked per round trip at most. */
const SCAN_BATCH = 1000;

function compare<T extends number | string>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function holds(op: Op, c: number): boolean {
  switch (op) {
    case 'lt':
      return c < 0;
    case 'le':
      return c <= 0;
    case 'eq':
      return c === 0;
    case 'ne':
      return c !== 0;
    case 'ge':
      return c >= 0;
    case 'gt':
      return c > 0;
  }
}

function traitMatches(event: HoldlineEvent, f: TraitFilter): boolean {
  const t = event.traits.find((x) => x.name === f.name && x.type === f.type);
  if (t === undefined) return false;
  if (f.type === 'datetime') {
    const us = parseIsoMicros(String(t.value));
    return us !== null && holds(f.op, compare(us, f.value as number));
  }
  return holds(f.op, compare(t.value, f.value));
}

export function matches(e: LoggedEvent, q: EventQuery): boolean {
  if (q.eventType !== undefined && e.event.event_type !== q.eventType) return false;
  if (q.messageId !== undefined && e.event.message_id !== q.messageId) return false;
  if (q.startUs !== undefined && e.generatedUs < q.startUs) return false;
  if (q.endUs !== undefined && e.generatedUs > q.endUs) return false;
  return q.traits.every((f) => traitMatches(e.event, f));
}

/** The index a query walks (see the header). */
export function indexFor(q: EventQuery): EventIndex {
  if (q.sort.key === 'message_id') return { kind: 'id' };
  if (q.eventType !== undefined) return { kind: 'type', type: q.eventType };
  const queue = q.traits.find((f) => f.name === 'queue_id' && f.op === 'eq' && f.type === 'string');
  if (queue !== undefined) return { kind: 'queue', queueId: String(queue.value) };
  return { kind: 'time' };
}

/** `xxxxxxxx-xxxx`: the start of every UUIDv7 of that millisecond. */
function uuidMsPrefix(ms: number): string {
  const hex = Math.floor(ms).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}`;
}

/**
 * A time bound in the indexes' 16-digit µs (timeKey), held inside what 16 digits say: a bound
 * past 2286 (or before 1970) written whole would sort among the keys as text by its first digits.
 * Every event is inside, and matches() compares the bound itself.
 */
function boundKey(us: number): string {
  if (us >= 1e16) return '9999999999999999';
  return String(Math.max(us, 0)).padStart(16, '0');
}

function memberOf(index: EventIndex, e: LoggedEvent): string {
  return index.kind === 'id' ? `i:${e.event.message_id}` : `${indexPrefix(index)}${timeKey(e.generatedUs, e.event.message_id)}`;
}

function sortOrder(q: EventQuery): (a: LoggedEvent, b: LoggedEvent) => number {
  const dir = q.sort.descending ? -1 : 1;
  if (q.sort.key === 'message_id') return (a, b) => dir * compare(a.event.message_id, b.event.message_id);
  return (a, b) => dir * (compare(a.generatedUs, b.generatedUs) || compare(a.event.message_id, b.event.message_id));
}

function stringValue(t: Trait): string {
  return typeof t.value === 'number' ? String(t.value) : t.value;
}

export class EventQueries {
  constructor(private readonly log: EventLog) {}

  private async appsOf(scope: EventScope, q?: EventQuery): Promise<string[]> {
    if (scope.kind === 'app') return [scope.app];
    const project = q?.traits.find((f) => f.name === 'project_id' && f.op === 'eq' && f.type === 'string');
    if (project !== undefined) return [String(project.value)];
    return this.log.apps();
  }

  async get(scope: EventScope, messageId: string): Promise<HoldlineEvent> {
    for (const app of await this.appsOf(scope)) {
      const e = await this.log.get(app, messageId);
      if (e !== null) return e.event;
    }
    throw new HoldlineError('event_not_found');
  }

  async query(scope: EventScope, q: EventQuery): Promise<HoldlineEvent[]> {
    const apps = await this.appsOf(scope, q);
    let marker: LoggedEvent | null = null;
    if (q.marker !== undefined) {
      for (const app of scope.kind === 'app' ? apps : await this.log.apps()) {
        marker = await this.log.get(app, q.marker);
        if (marker !== null) break;
      }
      if (marker === null) throw markerNotFound(q.marker);
    }
    const found: LoggedEvent[] = [];
    for (const app of apps) found.push(...(await this.queryApp(app, q, marker)));
    return found.sort(sortOrder(q)).slice(0, q.limit).map((e) => e.event);
  }

  private async queryApp(app: string, q: EventQuery, marker: LoggedEvent | null): Promise<LoggedEvent[]> {
    const order = sortOrder(q);
    if (q.messageId !== undefined) {
      const e = await this.log.get(app, q.messageId);
      if (e === null || !matches(e, q)) return [];
      return marker !== null && order(e, marker) <= 0 ? [] : [e];
    }
    const index = indexFor(q);
    const prefix = indexPrefix(index);
    let min: string;
    let max: string;
    if (index.kind === 'id') {
      min = prefix + (q.startUs === undefined ? '' : uuidMsPrefix(q.startUs / 1000));
      max = `${prefix}${q.endUs === undefined ? '' : uuidMsPrefix(q.endUs / 1000)}~`;
    } else {
      min = prefix + (q.startUs === undefined ? '' : boundKey(q.startUs));
      max = `${prefix}${q.endUs === undefined ? '~' : `${boundKey(q.endUs)}:~`}`;
    }
    let minExclusive = false;
    let maxExclusive = false;
    if (marker !== null) {
      const at = memberOf(index, marker);
      if (q.sort.descending) {
        if (at <= max) {
          max = at;
          maxExclusive = true;
        }
      } else if (at >= min) {
        min = at;
        minExclusive = true;
      }
    }
    // When the index and the time bounds decide every filter, each entry walked is an answer: walk
    // just as many as are still wanted. Otherwise walk more per round trip (some will not match).
    const covered =
      index.kind !== 'id' &&
      (q.eventType === undefined || index.kind === 'type') &&
      q.traits.every((f) => index.kind === 'queue' && f.name === 'queue_id' && f.op === 'eq' && f.type === 'string');
    const out: LoggedEvent[] = [];
    for (;;) {
      if (min > max) return out;
      const wanted = q.limit - out.length;
      const count = covered ? wanted : Math.min(SCAN_BATCH, Math.max(100, wanted * 4));
      const { events, last } = await this.log.scan(app, {
        index, min, max, minExclusive, maxExclusive, descending: q.sort.descending, count,
      });
      for (const e of events) {
        if (matches(e, q)) out.push(e);
        if (out.length >= q.limit) return out;
      }
      if (last === null) return out;
      if (q.sort.descending) {
        max = last;
        maxExclusive = true;
      } else {
        min = last;
        minExclusive = true;
      }
    }
  }

  /** Event types present, sorted (Panko: a list of names). */
  async eventTypes(scope: EventScope): Promise<string[]> {
    const all = new Set<string>();
    for (const app of await this.appsOf(scope)) for (const t of Object.keys(await this.log.types(app))) all.add(t);
    return [...all].sort();
  }

  /** The traits events of a type have, with their types (Panko TraitDescription); [] for a type never seen. */
  async traits(scope: EventScope, type: string): Promise<{ name: string; type: TraitType }[]> {
    const merged = new Map<string, TraitType>();
    for (const app of await this.appsOf(scope)) {
      for (const [name, t] of Object.entries((await this.log.types(app))[type] ?? {})) merged.set(name, t);
    }
    return [...merged].map(([name, t]) => ({ name, type: t })).sort((a, b) => compare(a.name, b.name));
  }

  /**
   * Every value a trait has in events of a type (Panko Trait, value as a string), oldest first: the
   * most recent MAX_LIMIT at most. Walks the type's index, newest first.
   */
  async traitValues(scope: EventScope, type: string, name: string): Promise<{ name: string; type: TraitType; value: string }[]> {
    const found: LoggedEvent[] = [];
    for (const app of await this.appsOf(scope)) {
      const index: EventIndex = { kind: 'type', type };
      const prefix = indexPrefix(index);
      let max = `${prefix}~`;
      let maxExclusive = false;
      let taken = 0;
      while (taken < MAX_LIMIT) {
        const { events, last } = await this.log.scan(app, { index, min: prefix, max, maxExclusive, descending: true, count: SCAN_BATCH });
        for (const e of events) {
          if (e.event.traits.some((t) => t.name === name)) {
            found.push(e);
            taken++;
          }
        }
        if (last === null) break;
        max = last;
        maxExclusive = true;
      }
    }
    const order = sortOrder({ traits: [], limit: 0, sort: { key: 'generated', descending: true } });
    return found
      .sort(order)
      .slice(0, MAX_LIMIT)
      .reverse()
      .map((e) => {
        const t = e.event.traits.find((x) => x.name === name)!;
        return { name, type: t.type, value: stringValue(t) };
      });
  }
}
