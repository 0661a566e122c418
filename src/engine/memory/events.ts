/**
 * The memory engine's event log: one per process, shared by the message engine (MemoryEngine) and
 * the call store (MemoryCallStore), which record into it in the same synchronous call that makes
 * each change (src/engine/events.ts). Nothing survives a restart.
 *
 * Recording is kept cheap (issue 13: it runs inside every change): an event is stored as what was
 * recorded (type, trait values, time, id), and its Panko shape (buildEvent) is made when it is read.
 * Per application, the events are in one list by seq, and each event type and each queue_id has
 * its own list of its events, also by seq. Those lists are the indexes (events.ts indexPrefix):
 *   - `generated` grows strictly with seq here (one clock per process, +1 µs at least per event),
 *     and `message_id` too (randomUuidv7Micros: its bits after the ms are the µs), so the seq order is the
 *     order of every index: `g:` and `i:` are the list by seq, `t:<type>|` and `q:<queue>|` that
 *     type's or queue's list; a scan finds its bounds by binary search on the member an entry has.
 *   - a lookup by message_id is a binary search of the list by seq.
 * Recording appends to three lists; retention drops from their heads.
 *
 * Bound: at most `maxEvents` per application (the oldest go first) and none older than `maxAgeMs`:
 * checked at every record and by a timer every `sweepIntervalMs`, so an aged event is reclaimed
 * within that interval.
 */
import {
  type EventIndex,
  type EventLog,
  type EventLogListener,
  type EventRetention,
  type EventScan,
  type EventScanResult,
  type LoggedEvent,
  type TraitType,
  type TraitValues,
  DEFAULT_EVENT_RETENTION,
  buildEvent,
  changeEventValues,
  eventTypeDef,
  indexPrefix,
  timeKey,
  traitValue,
  randomUuidv7Micros,
} from '../events.js';
import type { CallQueueChange } from '../call-types.js';
import { FeedFanOut, type FeedBase, type Unsubscribe } from '../feed.js';

/** One recorded event as recorded (its Panko shape is built when read). */
interface Recorded {
  seq: number;
  us: number;
  id: string;
  type: string;
  /** Never changed after recording. */
  values: TraitValues;
  /** The queue_id trait's value, when the event has one (its `q:` index). */
  queue: string | undefined;
}

/** A list of events in seq order whose oldest are dropped from the head (amortised O(1)). */
class SeqList {
  private items: Recorded[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  at(i: number): Recorded {
    return this.items[this.head + i]!;
  }

  first(): Recorded | undefined {
    return this.items[this.head];
  }

  last(): Recorded | undefined {
    return this.length === 0 ? undefined : this.items[this.items.length - 1];
  }

  push(r: Recorded): void {
    this.items.push(r);
  }

  /** Drops the oldest entry; the array is compacted once half of it is dropped. */
  shift(): void {
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

class AppLog {
  readonly events = new SeqList();
  /** The seq of events.at(0) (or the next seq when empty). */
  first = 1;
  readonly byType = new Map<string, SeqList>();
  readonly byQueue = new Map<string, SeqList>();
  readonly types = new Map<string, Map<string, TraitType>>();

  constructor(readonly app: string) {}

  get lastSeq(): number {
    return this.first + this.events.length - 1;
  }

  materialize(r: Recorded): LoggedEvent {
    return { seq: r.seq, generatedUs: r.us, event: buildEvent(this.app, r.type, r.values, r.us, r.id) };
  }
}

function appendTo(lists: Map<string, SeqList>, key: string, r: Recorded): void {
  let list = lists.get(key);
  if (list === undefined) {
    list = new SeqList();
    lists.set(key, list);
  }
  list.push(r);
}

function dropFrom(lists: Map<string, SeqList>, key: string, r: Recorded): void {
  const list = lists.get(key);
  if (list === undefined || list.first() !== r) return;
  list.shift();
  if (list.length === 0) lists.delete(key);
}

/** The member an event has in an index (events.ts indexMembers). */
function memberOf(index: EventIndex, r: Recorded): string {
  return index.kind === 'id' ? `i:${r.id}` : `${indexPrefix(index)}${timeKey(r.us, r.id)}`;
}

/** In a list in member order: the first position whose member is > x (`after`), or >= x. */
function bound(list: SeqList, index: EventIndex, x: string, after: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = memberOf(index, list.at(mid));
    if (m < x || (after && m === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface MemoryEventLogOptions extends Partial<EventRetention> {
  /** How often aged events are reclaimed, ms (default 1000). */
  sweepIntervalMs?: number;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
  /** false: record nothing (config.ts `events`; the log stays empty). Default true. */
  recording?: boolean;
}

export class MemoryEventLog implements EventLog {
  private readonly logs = new Map<string, AppLog>();
  private readonly fanOut = new FeedFanOut<'event', LoggedEvent>('event');
  private readonly retention: EventRetention;
  private readonly now: () => number;
  private lastUs = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly recording: boolean;

  constructor(opts: MemoryEventLogOptions = {}) {
    this.retention = {
      maxAgeMs: opts.maxAgeMs ?? DEFAULT_EVENT_RETENTION.maxAgeMs,
      maxEvents: opts.maxEvents ?? DEFAULT_EVENT_RETENTION.maxEvents,
    };
    this.now = opts.now ?? Date.now;
    this.recording = opts.recording ?? true;
    const interval = opts.sweepIntervalMs ?? 1000;
    this.timer = setInterval(() => this.sweep(), interval);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.fanOut.clear();
  }

  /**
   * Records one event now, synchronously: call it inside the change, after the change is certain
   * (no throw may follow it). `values` is copied: the caller may reuse it.
   */
  record(app: string, type: string, values: TraitValues): void {
    if (!this.recording) return;
    this.append(app, type, { ...values });
  }

  /** Records the event of a call-queue change (events.ts changeEventValues). */
  recordChange(app: string, change: CallQueueChange): void {
    if (!this.recording) return;
    const { type, values } = changeEventValues(change);
    this.append(app, type, values);
  }

  /** `values` is the log's from now on. */
  private append(app: string, type: string, values: TraitValues): void {
    // Strictly increasing microseconds within the process: the default order follows recording,
    // and so do the ids (randomUuidv7Micros).
    const us = Math.max(Math.floor(this.now() * 1000), this.lastUs + 1);
    this.lastUs = us;
    let log = this.logs.get(app);
    if (log === undefined) {
      log = new AppLog(app);
      this.logs.set(app, log);
    }
    const queueId = values.queue_id;
    const r: Recorded = {
      seq: log.lastSeq + 1, us, id: randomUuidv7Micros(us), type, values,
      queue: queueId === null || queueId === undefined ? undefined : String(queueId),
    };
    log.events.push(r);
    appendTo(log.byType, type, r);
    if (r.queue !== undefined) appendTo(log.byQueue, r.queue, r);
    this.learnTraits(log, type, values);
    this.trim(log);
    if (this.fanOut.has(app)) {
      const logged = log.materialize(r);
      this.fanOut.announce(app, logged, structuredClone);
    }
  }

  /** The type catalogue (types()): the traits this event has that its type had not had yet (buildEvent's). */
  private learnTraits(log: AppLog, type: string, values: TraitValues): void {
    let traits = log.types.get(type);
    if (traits === undefined) {
      traits = new Map([['project_id', 'string']]);
      log.types.set(type, traits);
    }
    for (const name in values) {
      if (traits.has(name)) continue;
      const v = values[name];
      if (v === null || v === undefined) continue;
      const declared = (eventTypeDef(type)?.traits as Record<string, TraitType> | undefined)?.[name] ?? 'string';
      if (traitValue(declared, v) !== null) traits.set(name, declared);
    }
  }

  /** Reclaims aged events of every application (the timer's work; tests call it). */
  sweep(): void {
    for (const log of this.logs.values()) this.trim(log);
  }

  private trim(log: AppLog): void {
    const cutoffUs = (this.now() - this.retention.maxAgeMs) * 1000;
    for (;;) {
      const oldest = log.events.first();
      if (oldest === undefined || (log.events.length <= this.retention.maxEvents && oldest.us >= cutoffUs)) return;
      log.events.shift();
      log.first++;
      dropFrom(log.byType, oldest.type, oldest);
      if (oldest.queue !== undefined) dropFrom(log.byQueue, oldest.queue, oldest);
    }
  }

  async readSince(app: string, afterSeq: number, limit: number): Promise<LoggedEvent[] | null> {
    const log = this.logs.get(app);
    if (log === undefined) return afterSeq === 0 ? [] : null;
    if (afterSeq > log.lastSeq) return null;
    if (afterSeq + 1 < log.first) return null;
    const out: LoggedEvent[] = [];
    for (let i = afterSeq + 1 - log.first; i < log.events.length && out.length < limit; i++) out.push(log.materialize(log.events.at(i)));
    return out;
  }

  async base(app: string): Promise<FeedBase> {
    const log = this.logs.get(app);
    const last = log?.events.last();
    return last === undefined ? { seq: log === undefined ? 0 : log.lastSeq, id: null } : { seq: last.seq, id: last.id };
  }

  async subscribe(app: string, listener: EventLogListener): Promise<Unsubscribe> {
    const remove = this.fanOut.add(app, listener);
    return async () => remove();
  }

  async scan(app: string, scan: EventScan): Promise<EventScanResult> {
    const log = this.logs.get(app);
    const list =
      log === undefined
        ? undefined
        : scan.index.kind === 'type'
          ? log.byType.get(scan.index.type)
          : scan.index.kind === 'queue'
            ? log.byQueue.get(scan.index.queueId)
            : log.events;
    if (log === undefined || list === undefined) return { events: [], last: null };
    // min and max are members or prefixes of the scanned index (query.ts); the list is in member order.
    const lo = bound(list, scan.index, scan.min, scan.minExclusive === true);
    const hi = bound(list, scan.index, scan.max, scan.maxExclusive !== true);
    const n = Math.max(0, Math.min(hi - lo, scan.count));
    const events: LoggedEvent[] = [];
    for (let k = 0; k < n; k++) events.push(log.materialize(list.at(scan.descending ? hi - 1 - k : lo + k)));
    return { events, last: n === 0 ? null : memberOf(scan.index, list.at(scan.descending ? hi - n : lo + n - 1)) };
  }

  async get(app: string, messageId: string): Promise<LoggedEvent | null> {
    const log = this.logs.get(app);
    if (log === undefined) return null;
    const i = bound(log.events, { kind: 'id' }, `i:${messageId}`, false);
    const r = i < log.events.length ? log.events.at(i) : undefined;
    return r === undefined || r.id !== messageId ? null : log.materialize(r);
  }

  async apps(): Promise<string[]> {
    return [...this.logs.keys()].sort();
  }

  async types(app: string): Promise<Record<string, Record<string, TraitType>>> {
    const out: Record<string, Record<string, TraitType>> = {};
    for (const [type, traits] of this.logs.get(app)?.types ?? []) out[type] = Object.fromEntries(traits);
    return out;
  }

  async flush(): Promise<void> {}
}
