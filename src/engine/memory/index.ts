/**
 * The `memory` engine: the embedded default (SPEC.md section 1). Everything lives in this process
 * and nothing survives a restart; one process only (no multi-node fan-out). Consistency levels are
 * accepted as labels: there is no replica to confirm a write.
 *
 * TTL and reclamation bound:
 *   An expired message is invisible from its expiresAtMs on: read, getMessage, count, updateMessage
 *   and deleteMessages all check the clock, whether or not the message has been reclaimed yet. Its
 *   memory is reclaimed by a sweeper that runs every `sweepIntervalMs` (default 1000 ms) and pops the
 *   due entries of an expiry index (a min-heap of (expiresAt, partition, id)), so a message is freed
 *   at most sweepIntervalMs after it expires, plus the time the event loop is busy elsewhere; a
 *   count() also reclaims what is due first. The sweep's cost is proportional to what expired, not
 *   to what is stored. Stale index entries (messages deleted or given a new ttl) are dropped when
 *   popped, and the index is compacted once stale entries outnumber live messages, so it stays
 *   O(stored messages) in size.
 */
import { randomIdPart } from '../ids.js';
import { HoldlineError } from '../../errors.js';
import { appendFields, MESSAGE_FIELDS, patchFields } from '../../message-fields.js';
import { KeyExpiryAlarms, KeyHashes, keyIdOf, newKey } from '../app-keys.js';
import type {
  AppKeyRecord,
  AppRecord,
  Engine,
  EngineCapabilities,
  ListQueuesOptions,
  MessagePatch,
  MetaEvent,
  MetaListener,
  NewAppKey,
  NewMessage,
  PartitionListener,
  PartitionRef,
  QueueMeta,
  ReadOptions,
  StateChange,
  StateChangeResult,
  StoredMessage,
  Unsubscribe,
} from '../types.js';
import { WallClock, type Clock } from './clock.js';
import { ExpiryHeap } from './expiry-heap.js';
import { FeedFanOut } from '../feed.js';
import { PartitionLog } from './partition-log.js';
import { MESSAGE_STATE_EVENT } from '../state-events.js';
import { MemoryEventLog } from './events.js';
import type { EventRetention } from '../events.js';
import { copyPlain } from './copy.js';

/** NUL cannot occur in application or queue names, so feed keys cannot collide. */
function feedKey(ref: PartitionRef): string {
  return `${ref.app}\u0000${ref.queue}\u0000${ref.partition}`;
}

export interface MemoryEngineOptions {
  /** How often expired messages are reclaimed, ms (default 1000). */
  sweepIntervalMs?: number;
  /** For tests: a controllable time source. */
  clock?: Clock;
  /** Event retention (config.ts eventRetentionSeconds, eventMaxPerApp); defaults in events.ts. */
  eventRetention?: Partial<EventRetention>;
  /** false: changes record no event (config.ts `events`). Default true. */
  recordEvents?: boolean;
}

interface QueueState {
  meta: QueueMeta;
  /** Created on first append; a partition without a log is empty. */
  logs: Map<number, PartitionLog>;
}

interface KeyState {
  /** Epoch seconds. */
  created: number;
  /** Epoch ms from which the key is refused; null: never. */
  expiresMs: number | null;
}

interface AppState {
  record: AppRecord;
  /** key hash -> its record */
  keys: Map<string, KeyState>;
  queues: Map<string, QueueState>;
}

/** Compaction never triggers below this many index entries (not worth the pass). */
const MIN_COMPACT_ENTRIES = 1024;

function copyBody(body: string | Uint8Array): string | Uint8Array {
  return typeof body === 'string' ? body : new Uint8Array(body);
}



/** What leaves the engine is a copy: callers may mutate it without touching what is stored. */
function copyMessage(m: StoredMessage): StoredMessage {
  const out: StoredMessage = { ...m, body: copyBody(m.body) };
  if (m.clientJson !== undefined) out.clientJson = copyPlain(m.clientJson);
  return out;
}

function keyRecord(hash: string, state: KeyState): AppKeyRecord {
  return { id: keyIdOf(hash), created: state.created, expires: state.expiresMs === null ? null : state.expiresMs / 1000 };
}

function byCreated(a: AppKeyRecord, b: AppKeyRecord): number {
  return a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The traits of a message queue's create and update events. */
function queueValues(meta: QueueMeta): Record<string, string | number> {
  return { queue_name: meta.name, partitions: meta.partitions, type: meta.type, consistency: meta.consistency };
}

/** The wire names of the fields a patch gives (message.update's `fields` trait; as update.lua lists them). */
function patchedFieldNames(patch: MessagePatch): string {
  const names = new Set<string>();
  if (patch.body !== undefined) names.add('body');
  if (patch.ttl !== undefined) names.add('ttl');
  for (const f of MESSAGE_FIELDS) if ((patch as Record<string, unknown>)[f.key] !== undefined) names.add(f.wire);
  return [...names].sort().join(',');
}

function copyMeta(meta: QueueMeta): QueueMeta {
  return { ...meta, principles: [...meta.principles] };
}


export class MemoryEngine implements Engine {
  readonly kind = 'memory' as const;
  readonly capabilities: EngineCapabilities = {
    persistence: false,
    multiNode: false,
    consistency: { weak: true, strong: false, very_strong: false },
  };

  private readonly sweepIntervalMs: number;
  private readonly clock: Clock;
  private readonly apps = new Map<string, AppState>();
  private readonly appByKeyHash = new Map<string, string>();
  /** hashKey(key) of recently presented keys, as the Redis engine keeps them. */
  private readonly keyHashes = new KeyHashes();
  private readonly expiry = new ExpiryHeap<PartitionLog>();
  /**
   * Live announcements per partition, called synchronously from inside the append, so listeners see
   * exactly the append order (history order = live order). Keyed by (app, queue, partition), not by
   * the stored partition, so, as with Redis channels, a subscription outlives a queue being deleted
   * and created again.
   */
  private readonly fanOut = new FeedFanOut<'message', StoredMessage>('message');
  private readonly metaListeners = new Set<MetaListener>();
  private readonly keyAlarms: KeyExpiryAlarms;
  private storedMessages = 0;
  /**
   * The process's event log: this engine records application, key, queue and message changes in it;
   * pass it to the MemoryCallStore (calls-factory.ts) so call changes go to the same log.
   */
  readonly events: MemoryEventLog;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: MemoryEngineOptions = {}) {
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 1000;
    this.clock = opts.clock ?? new WallClock();
    this.keyAlarms = new KeyExpiryAlarms((event) => this.emitMeta(event), () => this.clock.nowMs());
    this.events = new MemoryEventLog({ ...opts.eventRetention, sweepIntervalMs: this.sweepIntervalMs, now: () => this.clock.nowMs(),
      recording: opts.recordEvents ?? true,
    });
  }

  async start(): Promise<void> {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    // The sweeper alone must not keep the process alive.
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.keyAlarms.clear();
    this.fanOut.clear();
    this.events.close();
  }

  async ready(): Promise<boolean> {
    return !this.closed;
  }

  /** Reclaims every message expired by now; returns how many. Run by the timer; public for tests. */
  sweep(): number {
    const nowMs = this.clock.nowMs();
    const byLog = new Map<PartitionLog, string[]>();
    for (const entry of this.expiry.popDue(nowMs)) {
      if (entry.target.dropped) continue;
      const ids = byLog.get(entry.target);
      if (ids === undefined) byLog.set(entry.target, [entry.id]);
      else ids.push(entry.id);
    }
    let removed = 0;
    // The guard matters: an entry may be stale because the message's ttl was extended since.
    for (const [log, ids] of byLog) removed += log.remove(ids, (m) => m.expiresAtMs <= nowMs);
    this.storedMessages -= removed;
    return removed;
  }

  /** Sizes for tests and metrics: stored messages (including expired, not yet reclaimed) and index entries. */
  stats(): { storedMessages: number; expiryEntries: number } {
    return { storedMessages: this.storedMessages, expiryEntries: this.expiry.size };
  }

  // --- applications and keys ---

  async createApp(name: string): Promise<{ app: AppRecord; key: string; keyId: string } | null> {
    if (this.apps.has(name)) return null;
    const record: AppRecord = { name, created: Math.floor(this.clock.nowMs() / 1000) };
    const { key, hash, id } = newKey();
    this.apps.set(name, { record, keys: new Map([[hash, { created: record.created, expiresMs: null }]]), queues: new Map() });
    this.appByKeyHash.set(hash, name);
    this.events.record(name, 'application.create', { key_id: id });
    return { app: { ...record }, key, keyId: id };
  }

  async getApp(name: string): Promise<AppRecord | null> {
    const app = this.apps.get(name);
    return app === undefined ? null : { ...app.record };
  }

  async listApps(): Promise<AppRecord[]> {
    return [...this.apps.values()].map((a) => ({ ...a.record })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async deleteApp(name: string): Promise<boolean> {
    const app = this.apps.get(name);
    if (app === undefined) return false;
    for (const queue of app.queues.values()) this.dropQueue(queue);
    for (const keyHash of app.keys.keys()) {
      this.appByKeyHash.delete(keyHash);
      this.keyAlarms.disarm(keyHash);
    }
    this.apps.delete(name);
    this.events.record(name, 'application.delete', {});
    this.emitMeta({ kind: 'app', app: name });
    return true;
  }

  async appForKey(key: string): Promise<string | null> {
    const hash = this.keyHashes.of(key);
    const name = this.appByKeyHash.get(hash);
    const state = name === undefined ? undefined : this.apps.get(name)?.keys.get(hash);
    if (name === undefined || state === undefined) return null;
    if (state.expiresMs !== null) {
      if (this.clock.nowMs() >= state.expiresMs) return null;
      this.keyAlarms.arm(hash, name, state.expiresMs);
    }
    return name;
  }

  async listKeys(name: string): Promise<AppKeyRecord[]> {
    const app = this.keyedApp(name);
    return [...app.keys].map(([hash, state]) => keyRecord(hash, state)).sort(byCreated);
  }

  async addKey(name: string): Promise<NewAppKey> {
    const app = this.keyedApp(name);
    return this.newKey(name, app, 'application.key.create');
  }

  private newKey(name: string, app: AppState, event: 'application.key.create' | null): NewAppKey {
    const { key, hash } = newKey();
    const state: KeyState = { created: Math.floor(this.clock.nowMs() / 1000), expiresMs: null };
    app.keys.set(hash, state);
    this.appByKeyHash.set(hash, name);
    const record = keyRecord(hash, state);
    if (event !== null) this.events.record(name, event, { key_id: record.id });
    return { key, record };
  }

  async rotateKey(name: string, keyId: string, graceSeconds: number): Promise<NewAppKey & { replaced: { id: string; expires: number } }> {
    const app = this.keyedApp(name);
    const [oldHash, old] = this.findKey(app, keyId);
    const nowMs = this.clock.nowMs();
    const expires = Math.floor(nowMs / 1000) + graceSeconds;
    if (old.expiresMs === null || expires * 1000 < old.expiresMs) old.expiresMs = expires * 1000;
    const replaced = { id: keyId, expires: old.expiresMs / 1000 };
    const added = this.newKey(name, app, null);
    if (old.expiresMs <= nowMs) this.dropKey(app, oldHash);
    this.events.record(name, 'application.key.rotate', { key_id: added.record.id, replaced_key_id: keyId, replaced_expires: old.expiresMs });
    this.emitMeta({ kind: 'app', app: name });
    return { ...added, replaced };
  }

  async deleteKey(name: string, keyId: string): Promise<void> {
    const app = this.keyedApp(name);
    const [hash, state] = this.findKey(app, keyId);
    if (state.expiresMs === null && ![...app.keys.values()].some((k) => k !== state && k.expiresMs === null)) {
      throw new HoldlineError('last_key');
    }
    this.dropKey(app, hash);
    this.events.record(name, 'application.key.revoke', { key_id: keyId });
    this.emitMeta({ kind: 'app', app: name });
  }

  /** The application, its expired keys dropped first; app_not_found. */
  private keyedApp(name: string): AppState {
    const app = this.apps.get(name);
    if (app === undefined) throw new HoldlineError('app_not_found');
    const nowMs = this.clock.nowMs();
    for (const [hash, state] of app.keys) if (state.expiresMs !== null && state.expiresMs <= nowMs) this.dropKey(app, hash);
    return app;
  }

  private findKey(app: AppState, keyId: string): [string, KeyState] {
    for (const entry of app.keys) if (keyIdOf(entry[0]) === keyId) return entry;
    throw new HoldlineError('key_not_found');
  }

  private dropKey(app: AppState, hash: string): void {
    app.keys.delete(hash);
    this.appByKeyHash.delete(hash);
    this.keyAlarms.disarm(hash);
  }

  // --- message queues ---

  async createQueue(meta: QueueMeta): Promise<boolean> {
    const app = this.apps.get(meta.application);
    if (app === undefined) throw new HoldlineError('app_not_found');
    if (app.queues.has(meta.name)) return false;
    app.queues.set(meta.name, { meta: copyMeta(meta), logs: new Map() });
    this.events.record(meta.application, 'message_queue.create', queueValues(meta));
    return true;
  }

  async getQueue(app: string, name: string): Promise<QueueMeta | null> {
    const queue = this.queueState(app, name);
    return queue === undefined ? null : copyMeta(queue.meta);
  }

  async updateQueue(meta: QueueMeta): Promise<void> {
    const queue = this.queueState(meta.application, meta.name);
    if (queue === undefined) throw new HoldlineError('queue_not_found');
    queue.meta = copyMeta(meta);
    this.events.record(meta.application, 'message_queue.update', queueValues(meta));
    this.emitMeta({ kind: 'queue', app: meta.application, queue: meta.name, deleted: false });
  }

  async deleteQueue(app: string, name: string): Promise<boolean> {
    const state = this.apps.get(app);
    const queue = state?.queues.get(name);
    if (state === undefined || queue === undefined) return false;
    this.dropQueue(queue);
    state.queues.delete(name);
    this.events.record(app, 'message_queue.delete', { queue_name: name });
    this.emitMeta({ kind: 'queue', app, queue: name, deleted: true });
    return true;
  }

  async listQueues(app: string, opts: ListQueuesOptions): Promise<QueueMeta[]> {
    const state = this.apps.get(app);
    if (state === undefined) return [];
    const names = [...state.queues.keys()].sort();
    const from = opts.offset ?? '';
    const out: QueueMeta[] = [];
    for (const name of names) {
      if (out.length >= opts.limit) break;
      if (name >= from) out.push(copyMeta(state.queues.get(name)!.meta));
    }
    return out;
  }

  // --- messages ---

  async append(queue: QueueMeta, messages: NewMessage[]): Promise<StoredMessage[]> {
    const state = this.queueState(queue.application, queue.name);
    // A queue deleted between the domain's check and this call: storing would leak an orphan log.
    if (state === undefined) throw new HoldlineError('queue_not_found');
    const nowMs = this.clock.nowMs();
    const nowUs = this.clock.nowUs();
    const stored: StoredMessage[] = [];
    for (const input of messages) {
      const log = this.logFor(state, input.partition);
      const fields: Omit<StoredMessage, 'id' | 'seq' | 'timestampUs' | 'partition'> = {
        body: copyBody(input.body),
        ttl: input.ttl,
        expiresAtMs: nowMs + input.ttl * 1000,
      };
      appendFields(input, fields);
      const message = log.append(nowUs, randomIdPart(), fields);
      this.expiry.push({ expiresAtMs: message.expiresAtMs, target: log, id: message.id });
      this.storedMessages++;
      stored.push(message);
    }
    // Announced after the whole batch is stored, still synchronously and in append order per partition
    // (and not at all, feed keys unmade, while nothing listens: posts without subscribers).
    if (!this.fanOut.idle) for (const message of stored) {
      this.fanOut.announce(feedKey({ app: queue.application, queue: queue.name, partition: message.partition }), message, copyMessage);
    }
    return stored.map(copyMessage);
  }

  async read(ref: PartitionRef, opts: ReadOptions): Promise<StoredMessage[]> {
    const log = this.existingLog(ref);
    return log === undefined ? [] : log.read(opts, this.clock.nowMs()).map(copyMessage);
  }

  async getMessage(ref: PartitionRef, id: string): Promise<StoredMessage | null> {
    const message = this.existingLog(ref)?.find(id);
    return message === undefined || message.expiresAtMs <= this.clock.nowMs() ? null : copyMessage(message);
  }

  async updateMessage(ref: PartitionRef, id: string, patch: MessagePatch): Promise<StoredMessage | null> {
    const log = this.existingLog(ref);
    const current = log?.find(id);
    const nowMs = this.clock.nowMs();
    if (log === undefined || current === undefined || current.expiresAtMs <= nowMs) return null;
    // Every change advances updatedAtUs, which versions the message (server/message-encoding.ts).
    const next: StoredMessage = { ...current, updatedAtUs: Math.max(this.clock.nowUs(), current.timestampUs, (current.updatedAtUs ?? 0) + 1) };
    if (patch.body !== undefined) next.body = copyBody(patch.body);
    if (patch.ttl !== undefined) {
      next.ttl = patch.ttl;
      next.expiresAtMs = nowMs + patch.ttl * 1000;
      this.expiry.push({ expiresAtMs: next.expiresAtMs, target: log, id });
    }
    patchFields(patch, next, copyPlain);
    log.replace(next);
    this.compactExpiryIfStale();
    this.events.record(ref.app, 'message.update', { queue_name: ref.queue, partition: ref.partition, msg_id: id, fields: patchedFieldNames(patch) });
    return copyMessage(next);
  }

  async changeState(ref: PartitionRef, id: string, change: StateChange): Promise<StateChangeResult> {
    const log = this.existingLog(ref);
    const current = log?.find(id);
    if (log === undefined || current === undefined || current.expiresAtMs <= this.clock.nowMs()) return { kind: 'not_found' };
    // Check and change in one synchronous step: no other call runs in between.
    if (change.ifState !== undefined && (current.clientState ?? null) !== change.ifState) return { kind: 'conflict', current: current.clientState ?? null };
    const next: StoredMessage = { ...current, updatedAtUs: Math.max(this.clock.nowUs(), current.timestampUs, (current.updatedAtUs ?? 0) + 1) };
    const patch: MessagePatch = {};
    if (change.clientState !== undefined) patch.clientState = change.clientState;
    if (change.clientJson !== undefined) patch.clientJson = change.clientJson;
    patchFields(patch, next, copyPlain);
    log.replace(next);
    // Recorded in this same synchronous call (protocol/events.md "Recording an event").
    this.events.record(ref.app, MESSAGE_STATE_EVENT, {
      queue_name: ref.queue,
      partition: ref.partition,
      msg_id: id,
      fields: patchedFieldNames(patch),
      client_state: next.clientState,
      previous_state: current.clientState,
    });
    return { kind: 'updated', message: copyMessage(next) };
  }

  async deleteMessages(ref: PartitionRef, ids: string[]): Promise<number> {
    const log = this.existingLog(ref);
    if (log === undefined) return 0;
    const nowMs = this.clock.nowMs();
    // An expired message no longer exists as far as callers can tell; the sweeper reclaims it.
    const gone = new Set<string>();
    const removed = log.remove(new Set(ids), (m) => {
      if (m.expiresAtMs <= nowMs) return false;
      gone.add(m.id);
      return true;
    });
    this.storedMessages -= removed;
    for (const id of gone) this.events.record(ref.app, 'message.delete', { queue_name: ref.queue, partition: ref.partition, msg_id: id });
    this.compactExpiryIfStale();
    return removed;
  }

  async count(ref: PartitionRef): Promise<number> {
    const log = this.existingLog(ref);
    if (log === undefined) return 0;
    // After reclaiming everything due, every stored message is live, so the count is exact.
    this.sweep();
    return log.size;
  }

  // --- fan-out ---

  async subscribe(ref: PartitionRef, listener: PartitionListener): Promise<Unsubscribe> {
    const remove = this.fanOut.add(feedKey(ref), listener);
    return async () => remove();
  }

  // --- metadata announcements ---

  watchMeta(listener: MetaListener): () => void {
    const entry: MetaListener = (event) => listener(event);
    this.metaListeners.add(entry);
    return () => void this.metaListeners.delete(entry);
  }

  async announceAgentChange(app: string, agent: string): Promise<void> {
    this.emitMeta({ kind: 'agent', app, agent });
  }

  /** Synchronous, after the change: the one process is every node. */
  private emitMeta(event: MetaEvent): void {
    for (const listener of [...this.metaListeners]) {
      try {
        listener({ ...event });
      } catch {
        // Listeners must not throw; one that does must not break the change or the others.
      }
    }
  }


  // --- internals ---

  private queueState(app: string, name: string): QueueState | undefined {
    return this.apps.get(app)?.queues.get(name);
  }

  private existingLog(ref: PartitionRef): PartitionLog | undefined {
    return this.queueState(ref.app, ref.queue)?.logs.get(ref.partition);
  }

  private logFor(queue: QueueState, partition: number): PartitionLog {
    let log = queue.logs.get(partition);
    if (log === undefined) {
      log = new PartitionLog(partition);
      queue.logs.set(partition, log);
    }
    return log;
  }

  private dropQueue(queue: QueueState): void {
    for (const log of queue.logs.values()) {
      log.dropped = true;
      this.storedMessages -= log.size;
    }
    queue.logs.clear();
    this.compactExpiryIfStale();
  }

  /** Keeps the expiry index O(stored messages): drops entries whose message is gone or re-timed. */
  private compactExpiryIfStale(): void {
    const entries = this.expiry.size;
    if (entries < MIN_COMPACT_ENTRIES || entries <= 2 * this.storedMessages) return;
    this.expiry.rebuild((e) => !e.target.dropped && e.target.find(e.id)?.expiresAtMs === e.expiresAtMs);
  }
}
