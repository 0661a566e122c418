/**
 * The memory engine's event log: one per process, shared by the message engine (MemoryEngine) and
 * the call store (MemoryCallStore), which record into it in the same synchronous call that makes
 * each change (src/engine/events.ts). Nothing survives a restart.
 *
 * Recording is kept cheap (issue 13: it runs inside every change): an event is stored as what was
 * recorded (type, trait values, time, id), in columns by seq (AppLog), and its Panko shape
 * (buildEvent) is made when it is read. Each event type and each queue_id has its list of seqs.
 * Those are the indexes (events.ts indexPrefix):
 *   - `generated` grows strictly with seq here (one clock per process, +1 µs at least per event),
 *     and `message_id` too (events.ts uuidv7MicrosOf: its bits after the ms are the µs), so the seq order
 *     is the order of every index: `g:` and `i:` are the log itself, `t:<type>|` and `q:<queue>|`
 *     that type's or queue's list; a scan finds its bounds by binary search on the members.
 *   - a lookup by message_id is a binary search of the log.
 * Recording appends to the columns and two lists; retention drops from their heads.
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
  randomIdBits,
  uuidv7MicrosOf,
} from '../events.js';
import type { CallQueueChange } from '../call-types.js';
import { FeedFanOut, type FeedBase, type Unsubscribe } from '../feed.js';

/** Seqs in ascending order, as an index walks them. */
interface Seqs {
  readonly length: number;
  /** The i-th seq (0: the oldest kept). */
  at(i: number): number;
}

/** An index list: its events' seqs in ascending order, the oldest dropped from the head (amortised O(1)). */
class SeqList implements Seqs {
  private seqs: number[] = [];
  private head = 0;

  get length(): number {
    return this.seqs.length - this.head;
  }

  at(i: number): number {
    return this.seqs[this.head + i]!;
  }

  first(): number | undefined {
    return this.head < this.seqs.length ? this.seqs[this.head] : undefined;
  }

  push(seq: number): void {
    this.seqs.push(seq);
  }

  /** Drops the oldest entry; the array is compacted once half of it is dropped. */
  shift(): void {
    this.head++;
    if (this.head === this.seqs.length) {
      this.seqs = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
  }
}

const DROPPED: TraitValues = Object.freeze({});

/**
 * One application's events, as recorded (their Panko shape is built when read), in columns: one
 * array per field, an event's place being its seq - first (+ the dropped head). A kept event is its
 * values object, with no object of its own (its id is two numbers): what the garbage collector walks per event
 * (the log keeps up to `maxEvents`) is as little as recording allows. As a list of seqs (Seqs), the
 * log is its own `g:` and `i:` index.
 */
class AppLog implements Seqs {
  /** The seq of the oldest kept event (of the next one when empty). */
  first = 1;
  /** Dropped places at the start of the columns. */
  private head = 0;
  /** `generated`, µs (numbers only: stored unboxed). */
  private us: number[] = [];
  /**
   * The id's random bits (events.ts uuidv7MicrosOf: 30 and 32), numbers stored unboxed: its text is
   * made when the event is read, not kept (making it cost more than the rest of recording, and a
   * kept string is one more object per event for the garbage collector).
   */
  private idHi: number[] = [];
  private idLo: number[] = [];
  private types: string[] = [];
  /** Never changed after recording. */
  private values: TraitValues[] = [];
  /** The queue_id trait's value, when the event has one (its `q:` index). */
  private queues: (string | undefined)[] = [];
  readonly byType = new Map<string, SeqList>();
  readonly byQueue = new Map<string, SeqList>();
  /** Per event type, the traits its events have had (types()). */
  readonly catalogue = new Map<string, Map<string, TraitType>>();

  constructor(readonly app: string) {}

  get length(): number {
    return this.us.length - this.head;
  }

  get lastSeq(): number {
    return this.first + this.length - 1;
  }

  at(i: number): number {
    return this.first + i;
  }

  private place(seq: number): number {
    return this.head + seq - this.first;
  }

  usOf(seq: number): number {
    return this.us[this.place(seq)]!;
  }

  idOf(seq: number): string {
    const p = this.place(seq);
    return uuidv7MicrosOf(this.us[p]!, this.idHi[p]!, this.idLo[p]!);
  }

  /** Appends an event; returns its seq. */
  append(us: number, type: string, values: TraitValues, queue: string | undefined): number {
    const seq = this.lastSeq + 1;
    this.us.push(us);
    this.idHi.push(randomIdBits() >>> 2);
    this.idLo.push(randomIdBits());
    this.types.push(type);
    this.values.push(values);
    this.queues.push(queue);
    indexAppend(this.byType, type, seq);
    if (queue !== undefined) indexAppend(this.byQueue, queue, seq);
    return seq;
  }

  /** Drops the oldest event (there is one), from the log and its index lists. */
  dropOldest(): void {
    const p = this.head;
    indexDrop(this.byType, this.types[p]!, this.first);
    const queue = this.queues[p];
    if (queue !== undefined) indexDrop(this.byQueue, queue, this.first);
    this.values[p] = DROPPED;
    this.queues[p] = undefined;
    this.head++;
    this.first++;
    if (this.head === this.us.length || (this.head >= 1024 && this.head * 2 >= this.us.length)) {
      this.us = this.us.slice(this.head);
      this.idHi = this.idHi.slice(this.head);
      this.idLo = this.idLo.slice(this.head);
      this.types = this.types.slice(this.head);
      this.values = this.values.slice(this.head);
      this.queues = this.queues.slice(this.head);
      this.head = 0;
    }
  }

  materialize(seq: number): LoggedEvent {
    const p = this.place(seq);
    const us = this.us[p]!;
    return { seq, generatedUs: us, event: buildEvent(this.app, this.types[p]!, this.values[p]!, us, this.idOf(seq)) };
  }
}

function indexAppend(lists: Map<string, SeqList>, key: string, seq: number): void {
  let list = lists.get(key);
  if (list === undefined) {
    list = new SeqList();
    lists.set(key, list);
  }
  list.push(seq);
}

function indexDrop(lists: Map<string, SeqList>, key: string, seq: number): void {
  const list = lists.get(key);
  if (list === undefined || list.first() !== seq) return;
  list.shift();
  if (list.length === 0) lists.delete(key);
}

/** The member an event has in an index (events.ts indexMembers). */
function memberOf(index: EventIndex, log: AppLog, seq: number): string {
  return index.kind === 'id' ? `i:${log.idOf(seq)}` : `${indexPrefix(index)}${timeKey(log.usOf(seq), log.idOf(seq))}`;
}

/** In a list in member order: the first position whose member is > x (`after`), or >= x. */
function bound(list: Seqs, index: EventIndex, log: AppLog, x: string, after: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = memberOf(index, log, list.at(mid));
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
    // and so do the ids (uuidv7MicrosOf).
    const us = Math.max(Math.floor(this.now() * 1000), this.lastUs + 1);
    this.lastUs = us;
    let log = this.logs.get(app);
    if (log === undefined) {
      log = new AppLog(app);
      this.logs.set(app, log);
    }
    const queueId = values.queue_id;
    const seq = log.append(us, type, values, queueId === null || queueId === undefined ? undefined : String(queueId));
    this.learnTraits(log, type, values);
    this.trim(log);
    if (this.fanOut.has(app)) this.fanOut.announce(app, log.materialize(seq), structuredClone);
  }

  /**
   * The type catalogue (types()): a declared type's traits from its first event on
   * (protocol/events.md, GET /v1/event_types/{type}/traits), and the traits this event has that its
   * type had not had yet (buildEvent's).
   */
  private learnTraits(log: AppLog, type: string, values: TraitValues): void {
    let traits = log.catalogue.get(type);
    if (traits === undefined) {
      traits = new Map<string, TraitType>([['project_id', 'string'], ...Object.entries(eventTypeDef(type)?.traits ?? {})]);
      log.catalogue.set(type, traits);
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
    while (log.length > 0 && (log.length > this.retention.maxEvents || log.usOf(log.first) < cutoffUs)) log.dropOldest();
  }

  async readSince(app: string, afterSeq: number, limit: number): Promise<LoggedEvent[] | null> {
    const log = this.logs.get(app);
    if (log === undefined) return afterSeq === 0 ? [] : null;
    if (afterSeq > log.lastSeq) return null;
    if (afterSeq + 1 < log.first) return null;
    const out: LoggedEvent[] = [];
    for (let seq = afterSeq + 1; seq <= log.lastSeq && out.length < limit; seq++) out.push(log.materialize(seq));
    return out;
  }

  async base(app: string): Promise<FeedBase> {
    const log = this.logs.get(app);
    if (log === undefined) return { seq: 0, id: null };
    return log.length === 0 ? { seq: log.lastSeq, id: null } : { seq: log.lastSeq, id: log.idOf(log.lastSeq) };
  }

  async subscribe(app: string, listener: EventLogListener): Promise<Unsubscribe> {
    const remove = this.fanOut.add(app, listener);
    return async () => remove();
  }

  async scan(app: string, scan: EventScan): Promise<EventScanResult> {
    const log = this.logs.get(app);
    const list: Seqs | undefined =
      log === undefined
        ? undefined
        : scan.index.kind === 'type'
          ? log.byType.get(scan.index.type)
          : scan.index.kind === 'queue'
            ? log.byQueue.get(scan.index.queueId)
            : log;
    if (log === undefined || list === undefined) return { events: [], last: null };
    // min and max are members or prefixes of the scanned index (query.ts); the list is in member order.
    const lo = bound(list, scan.index, log, scan.min, scan.minExclusive === true);
    const hi = bound(list, scan.index, log, scan.max, scan.maxExclusive !== true);
    const n = Math.max(0, Math.min(hi - lo, scan.count));
    const events: LoggedEvent[] = [];
    for (let k = 0; k < n; k++) events.push(log.materialize(list.at(scan.descending ? hi - 1 - k : lo + k)));
    return { events, last: n === 0 ? null : memberOf(scan.index, log, list.at(scan.descending ? hi - n : lo + n - 1)) };
  }

  async get(app: string, messageId: string): Promise<LoggedEvent | null> {
    const log = this.logs.get(app);
    if (log === undefined) return null;
    const i = bound(log, { kind: 'id' }, log, `i:${messageId}`, false);
    return i < log.length && log.idOf(log.at(i)) === messageId ? log.materialize(log.at(i)) : null;
  }

  async apps(): Promise<string[]> {
    return [...this.logs.keys()].sort();
  }

  async types(app: string): Promise<Record<string, Record<string, TraitType>>> {
    const out: Record<string, Record<string, TraitType>> = {};
    for (const [type, traits] of this.logs.get(app)?.catalogue ?? []) out[type] = Object.fromEntries(traits);
    return out;
  }

  async flush(): Promise<void> {}
}
