/**
 * The memory engine's event log: one per process, shared by the message engine (MemoryEngine) and
 * the call store (MemoryCallStore), which record into it in the same synchronous call that makes
 * each change (src/engine/events.ts). Nothing survives a restart.
 *
 * Per application: the events by seq (an array from `first`), by message_id, and the index members
 * (events.ts indexMembers) in one sorted array per index (`g:`, `i:`, each `t:<type>|`, each
 * `q:<queue>|`) that scans walk with binary search. Members of an index mostly arrive in order (time
 * keys grow), so recording appends at the end of each array instead of moving the log's whole index.
 *
 * Bound: at most `maxEvents` per application (the oldest go first, 1% at a time so the index
 * rebuild is amortised), and none older than `maxAgeMs`: checked at every record and by a timer
 * every `sweepIntervalMs`, so an aged event is reclaimed within that interval.
 */
import { randomEntropy, type EventLog, type EventLogListener, type EventRetention, type EventScan, type EventScanResult, type LoggedEvent, type TraitType, type TraitValues, DEFAULT_EVENT_RETENTION, buildEvent, changeEventValues, idOfMember, indexMembers, indexPrefix, uuidv7 } from '../events.js';
import type { CallQueueChange } from '../call-types.js';
import { FeedFanOut, type FeedBase, type Unsubscribe } from '../feed.js';

class AppLog {
  /** events[i] has seq first + i. */
  events: LoggedEvent[] = [];
  first = 1;
  readonly byId = new Map<string, LoggedEvent>();
  /** Index prefix (indexPrefix) -> its sorted members. */
  index = new Map<string, string[]>();
  readonly types = new Map<string, Map<string, TraitType>>();

  get lastSeq(): number {
    return this.first + this.events.length - 1;
  }
}

/** The index a member belongs to: `g:`, `i:`, or `t:<type>|` / `q:<queue>|` (events.ts indexPrefix). */
function indexOfMember(member: string): string {
  if (member.startsWith('g:') || member.startsWith('i:')) return member.slice(0, 2);
  return member.slice(0, member.indexOf('|') + 1);
}

function insertSorted(a: string[], m: string): void {
  if (a.length === 0 || a[a.length - 1]! < m) a.push(m);
  else a.splice(upperBound(a, m), 0, m);
}

function lowerBound(a: string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
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
   * (no throw may follow it).
   */
  record(app: string, type: string, values: TraitValues): void {
    if (!this.recording) return;
    // Strictly increasing microseconds within the process: the default order follows recording.
    const us = Math.max(this.now() * 1000, this.lastUs + 1);
    this.lastUs = us;
    const event = buildEvent(app, type, values, us, uuidv7(Math.floor(us / 1000), randomEntropy()));
    let log = this.logs.get(app);
    if (log === undefined) {
      log = new AppLog();
      this.logs.set(app, log);
    }
    const logged: LoggedEvent = { seq: log.lastSeq + 1, generatedUs: us, event };
    log.events.push(logged);
    log.byId.set(event.message_id, logged);
    for (const m of indexMembers(logged)) {
      const key = indexOfMember(m);
      let members = log.index.get(key);
      if (members === undefined) {
        members = [];
        log.index.set(key, members);
      }
      insertSorted(members, m);
    }
    let traits = log.types.get(type);
    if (traits === undefined) {
      traits = new Map();
      log.types.set(type, traits);
    }
    for (const t of event.traits) traits.set(t.name, t.type);
    this.trim(log);
    this.fanOut.announce(app, logged, structuredClone);
  }

  /** Records the event of a call-queue change (events.ts changeEventValues). */
  recordChange(app: string, change: CallQueueChange): void {
    if (!this.recording) return;
    const { type, values } = changeEventValues(change);
    this.record(app, type, values);
  }

  /** Reclaims aged events of every application (the timer's work; tests call it). */
  sweep(): void {
    for (const log of this.logs.values()) this.trim(log);
  }

  private trim(log: AppLog): void {
    const cutoffUs = (this.now() - this.retention.maxAgeMs) * 1000;
    let drop = 0;
    if (log.events.length > this.retention.maxEvents) {
      drop = log.events.length - this.retention.maxEvents + Math.floor(this.retention.maxEvents / 100);
    }
    while (drop < log.events.length && log.events[drop]!.generatedUs < cutoffUs) drop++;
    if (drop === 0) return;
    const gone = new Set<string>();
    for (const e of log.events.slice(0, drop)) {
      log.byId.delete(e.event.message_id);
      gone.add(e.event.message_id);
    }
    log.events = log.events.slice(drop);
    log.first += drop;
    for (const [key, members] of log.index) {
      const kept = members.filter((m) => !gone.has(idOfMember(m)));
      if (kept.length === 0) log.index.delete(key);
      else log.index.set(key, kept);
    }
  }

  async readSince(app: string, afterSeq: number, limit: number): Promise<LoggedEvent[] | null> {
    const log = this.logs.get(app);
    if (log === undefined) return afterSeq === 0 ? [] : null;
    if (afterSeq > log.lastSeq) return null;
    if (afterSeq + 1 < log.first) return null;
    const from = afterSeq + 1 - log.first;
    return structuredClone(log.events.slice(from, from + limit));
  }

  async base(app: string): Promise<FeedBase> {
    const log = this.logs.get(app);
    const last = log?.events[log.events.length - 1];
    return last === undefined ? { seq: log === undefined ? 0 : log.lastSeq, id: null } : { seq: last.seq, id: last.event.message_id };
  }

  async subscribe(app: string, listener: EventLogListener): Promise<Unsubscribe> {
    const remove = this.fanOut.add(app, listener);
    return async () => remove();
  }

  async scan(app: string, scan: EventScan): Promise<EventScanResult> {
    const log = this.logs.get(app);
    if (log === undefined) return { events: [], last: null };
    // min and max are members or prefixes of the scanned index (query.ts), so within its array.
    const index = log.index.get(indexPrefix(scan.index)) ?? [];
    const lo = scan.minExclusive === true ? upperBound(index, scan.min) : lowerBound(index, scan.min);
    const hi = scan.maxExclusive === true ? lowerBound(index, scan.max) : upperBound(index, scan.max);
    const walked = scan.descending ? index.slice(Math.max(lo, hi - scan.count), hi).reverse() : index.slice(lo, Math.min(hi, lo + scan.count));
    const out: LoggedEvent[] = [];
    for (const member of walked) this.push(log, member, out);
    return { events: structuredClone(out), last: walked[walked.length - 1] ?? null };
  }

  private push(log: AppLog, member: string, out: LoggedEvent[]): void {
    const e = log.byId.get(idOfMember(member));
    if (e !== undefined) out.push(e);
  }

  async get(app: string, messageId: string): Promise<LoggedEvent | null> {
    const e = this.logs.get(app)?.byId.get(messageId);
    return e === undefined ? null : structuredClone(e);
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
