/**
 * The Redis event log (src/engine/events.ts; protocol/events.md): outboxes, the relay, retention,
 * and the reads that queries, the live tail and webhooks make.
 *
 * Recording: the Lua script that makes a change appends its event to its own slot's outbox (a
 * STREAM, lua/includes/event-record.lua), atomically with the change. Before the first write to an
 * outbox, a node registers it (registerOutbox: ZADD {evreg}:outboxes, refreshed every
 * REGISTRATION_MS), so the sweep can find it if the node dies before relaying.
 *
 * Relay (relay()): reads the outbox in order, makes each entry's event record but its seq
 * (pushRecord: its message_id is a UUIDv7 from the entry's time and the SHA-1 of the outbox key
 * and stream id, so a relay repeated by another node makes the same event; a call-queue change's
 * entry carries its typed traits, lua/includes/change-event.lua, put in as they are; only other
 * entries, trait values to type, go through buildEvent here), and runs events-relay-8.lua on the
 * application's log, which appends what the log does not have yet (per outbox, the last stream id
 * relayed, written with the events it covers), numbers it (seq per application), indexes it
 * (keys.ts EventLogKeys: ZSETs by generated µs, the time index and its type's and queue's) and
 * publishes the call's new events in few messages (one per 256). The node's next read of the outbox starts after
 * what was relayed, which is trimmed at most every OUTBOX_TRIM_MS. The node that made a
 * change relays right after it (relaySoon, coalesced: one relay loop runs at a time, and each of its
 * rounds takes every outbox pending, with one relay script call per application); every
 * `sweepIntervalMs` the sweep relays every registered outbox, so a dead node's leftovers are
 * relayed within that interval by any other node.
 *
 * Retention: each relay trims its log's oldest events beyond the age or the size bound (at most
 * 1000 per relay); the sweep trims every log ({evreg}:logs), so an idle log is reclaimed within
 * `sweepIntervalMs` too. The cost of a sweep follows the outboxes written to in the last
 * 2 × REGISTRATION_MS and the number of logs, never the number of events.
 */
import { hash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import {
  DEFAULT_EVENT_RETENTION,
  buildEvent,
  changeEventValues,
  eventTypeDef,
  indexPrefix,
  isoMicros,
  timeKey,
  traitOf,
  uuidv7,
  uuidv7Micros,
  type EventLog,
  type EventLogListener,
  type EventRetention,
  type EventScan,
  type EventScanResult,
  type LoggedEvent,
  type TraitType,
  type TraitValues,
} from '../events.js';
import type { FeedBase, Unsubscribe } from '../feed.js';
import { changeOfEventRecord, parseChange } from './calls-codec.js';
import { guarded } from './connection.js';
import type { RedisKeys } from './keys.js';
import { defineScripts, scriptCall, type CommandRecording, type ScriptArg } from './scripts.js';
import type { FeedCodec, FeedSubscriber } from './subscriber.js';

type RedisClient = Redis | Cluster;

const SCRIPTS = { hlEventsRelay: 'events-relay-8', hlEventsTrim: 'events-trim-8', hlEventsCarry: 'events-carry-2' } as const;

/** How long a node trusts its registration of an outbox before it registers it again. */
export const REGISTRATION_MS = 60_000;
/** How long a relay waits for the log's replica, ms. */
const CONFIRM_WAIT_MS = 1000;
/** Outbox entries relayed per round trip. */
const RELAY_BATCH = 256;
/** How often a node trims an outbox it relays, ms at least (the sweep relays each every sweepIntervalMs). */
const OUTBOX_TRIM_MS = 1000;
/** Events a sweep's trim removes per script call (a call keeps Redis busy for this many at most). */
const TRIM_BUDGET = 1000;

interface StoredRecord {
  seq: number;
  us: number;
  /** The queue_id the event is indexed by (retention removes it from that index). */
  q?: string;
  /**
   * The event; only its event_type when the record holds a change (`c`; its message_id too when an
   * earlier version recorded it: the id is made from the seq and time now, directMessageId).
   */
  event: LoggedEvent['event'] | (Pick<LoggedEvent['event'], 'event_type'> & { message_id?: string });
  /**
   * A call-queue change as its script encoded it, recorded straight into the log on one Redis
   * (lua/includes/event-record-direct.lua appendChange): the event's traits are built from it here,
   * as the memory engine builds them (changeEventValues, buildEvent).
   */
  c?: unknown;
}

/** An event record of `app`'s log as the reads, the tail and webhooks see it. */
function toLogged(json: string, app: string): LoggedEvent {
  const r = JSON.parse(json) as StoredRecord;
  if (r.c === undefined) return { seq: r.seq, generatedUs: r.us, event: r.event as LoggedEvent['event'] };
  const { values } = changeEventValues(changeOfEventRecord(r.c));
  return { seq: r.seq, generatedUs: r.us, event: buildEvent(app, r.event.event_type, values, r.us, recordId(r, app)) };
}

/** A record's message_id: stored, or made from its seq and time (a change recorded on one Redis). */
function recordId(r: StoredRecord, app: string): string {
  return r.event.message_id ?? directMessageId(app, r.us, r.seq);
}

/** The relay script's arguments per outbox entry (pushRecord). */
const ENTRY_ARGS = 7;

/**
 * `make` memoized per key, for the last `limit` keys or so: a function of an application, type or
 * queue name that the relay or the recorder would otherwise redo per event. Forgets everything when
 * full (the names in use come back at once).
 */
function kept<V>(limit: number, make: (key: string) => V): (key: string) => V {
  const memo = new Map<string, V>();
  return (key) => {
    let v = memo.get(key);
    if (v === undefined) {
      if (memo.size >= limit) memo.clear();
      v = make(key);
      memo.set(key, v);
    }
    return v;
  };
}

/** An application's project_id trait as its records spell it. */
const projectTrait = kept(1000, (app) => JSON.stringify({ name: 'project_id', type: 'string', value: app }));

/**
 * An application's part of the message_ids its direct recorder makes (event-record-direct.lua):
 * seven hex digits of the SHA-1 of its name, the first with the UUID variant (10xx) set.
 */
export const directIdBits = kept(1000, (app) => {
  const h = hash('sha1', app);
  return ((Number.parseInt(h[0]!, 16) & 0x3) | 0x8).toString(16) + h.slice(1, 7);
});

/**
 * The message_id of `app`'s event `seq` of `us` recorded on one Redis (event-record-direct.lua
 * messageId): a UUIDv7 of the µs, then the application's bits and 36 bits of the seq.
 */
export function directMessageId(app: string, us: number, seq: number): string {
  return uuidv7Micros(us, `000${directIdBits(app)}${(seq % 2 ** 36).toString(16).padStart(9, '0')}`);
}

/** JSON strings of event types and queue ids. */
const jsonText = kept(4096, (text) => JSON.stringify(text));

/**
 * Pushes one event's ENTRY_ARGS arguments (events-relay-8.lua): stream id, generated µs, type,
 * queue_id ('' none), message_id, the record after its seq (StoredRecord: `,"us":…[,"q":…],"event":{…}}`,
 * with the traits after project_id as they are, `traits`), new traits.
 */
function pushRecord(
  list: ScriptArg[], outbox: string, streamId: string, app: string, usText: string, type: string, queue: string, traits: string, fresh: string,
): void {
  const us = Number(usText);
  if (!Number.isSafeInteger(us) || us < 0) throw new Error('no time');
  const usOut = String(us);
  const id = uuidv7(Math.floor(us / 1000), hash('sha1', `${outbox}|${streamId}`));
  const record =
    `,"us":${usOut}${queue === '' ? '' : `,"q":${jsonText(queue)}`},"event":{"message_id":"${id}","event_type":${jsonText(type)},` +
    `"generated":"${isoMicros(us)}","traits":[${projectTrait(app)}${traits === '' ? '' : `,${traits}`}],"raw":{}}}`;
  list.push(streamId, usOut, type, queue, id, record, fresh);
}

/**
 * An application's live events: a relay call's records joined by '\n' (events-relay-8.lua), or one
 * record a direct recorder published. Kept per application (the records of changes need it).
 */
const eventFeed = kept(1000, (app): FeedCodec<'event', LoggedEvent> => ({
  type: 'event',
  decode: (payload) => payload.toString('utf8').split('\n').map((json) => toLogged(json, app)),
}));

/**
 * A time-ordered index's member: the seq in SEQ_MEMBER digits, zero-padded (recorded on one Redis:
 * its message_id follows from the seq, directMessageId), or `<message_id><seq>` (relayed, or recorded
 * by an earlier version) (keys.ts EventLogKeys).
 */
const ID_LENGTH = 36;
const SEQ_MEMBER = 12;

/** An index member's message_id and seq (text); `us` its score. */
function memberParts(app: string, member: string, us: number): { id: string; seq: string } {
  if (member.length === SEQ_MEMBER) {
    const seq = Number(member);
    return { id: directMessageId(app, us, seq), seq: String(seq) };
  }
  return { id: member.slice(0, ID_LENGTH), seq: member.slice(ID_LENGTH) };
}

/** The ms a UUIDv7 message_id (or its start, `xxxxxxxx-xxxx`) carries (null: not one). */
function msOfId(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}/.test(id)) return null;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** A Trait's JSON starts {"name":…,"type":… (events.ts Trait); a `"` inside a value is escaped, so this matches no value. */
const TRAIT_RE = /\{"name":"([^"]+)","type":"(\w+)"/g;

/** The traits (name -> type) in comma-separated trait objects. */
function traitsIn(json: string): Record<string, TraitType> {
  const out: Record<string, TraitType> = {};
  for (const m of json.matchAll(TRAIT_RE)) out[m[1]!] ??= m[2] as TraitType;
  return out;
}

/**
 * What a slot's outbox entries leave implicit: the application ('' for the metadata outbox, whose
 * entries name theirs) and traits every event of the slot has (a partition's queue_name and
 * partition), added by the relay when the entry does not carry them.
 */
export interface OutboxContext {
  app: string;
  traits?: TraitValues;
}

/** The registry's member for an outbox: `<outbox key>\n<context JSON>`. */
function registryMember(outbox: string, context: OutboxContext): string {
  return `${outbox}\n${JSON.stringify(context)}`;
}

function contextOf(app: string | OutboxContext): OutboxContext {
  return typeof app === 'string' ? { app } : app;
}

export interface RedisEventLogOptions {
  retention?: Partial<EventRetention>;
  /** How often the sweep relays leftovers and applies retention, ms (default 1000). */
  sweepIntervalMs?: number;
  logger?: Logger;
  /**
   * How many replicas the primary owning a key has (replicas.ts): a relay into a log whose primary
   * has one is confirmed by `WAIT 1` before its outbox entries may be trimmed, so a failover of the
   * log's primary cannot lose relayed events whose outbox entries are gone (they are relayed again).
   */
  replicasFor?: (key: string) => number;
  /**
   * false: this node's scripts record nothing (scripts.ts disableEventRecording), so there is no
   * outbox to register or relay; the sweep still relays other nodes' outboxes. Default true.
   */
  recording?: boolean;
}

export class RedisEventLog implements EventLog {
  private readonly retention: EventRetention;
  private readonly sweepIntervalMs: number;
  private readonly logger: Logger | undefined;
  private readonly replicasFor: (key: string) => number;
  private readonly recording: boolean;
  /** outbox key -> ms this node last registered it. */
  private readonly registered = new Map<string, number>();
  /** Applications this node knows have a log registered. */
  private readonly knownLogs = new Set<string>();
  /**
   * Per outbox: the MINID up to which this node's relays copied it (where its next read starts),
   * and the MINID and time of the last XTRIM this node sent it (OUTBOX_TRIM_MS).
   */
  private readonly trims = new Map<string, string>();
  private readonly trimmed = new Map<string, { minId: string; at: number }>();
  /** Outboxes to relay in the relay loop's next round (relayCoalesced), with who waits for it, and the loop running. */
  private readonly pending = new Map<string, { context: OutboxContext; waiters: (() => void)[] }>();
  private relayLoop: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  /**
   * Per application and event type (`<app>\n<type>`): the trait names this node has seen the
   * log's type catalogue take (relayed by it), so that an event adds nothing to relay for the
   * catalogue when all its traits are there (the relay script then does not look at its traits).
   * Forgotten every REGISTRATION_MS: a catalogue removed meanwhile (keys deleted by hand) is made
   * again within that time.
   */
  private catalogued = new Map<string, Set<string>>();
  private cataloguedAt = Date.now();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly subscriber: FeedSubscriber,
    opts: RedisEventLogOptions = {},
  ) {
    this.retention = {
      maxAgeMs: opts.retention?.maxAgeMs ?? DEFAULT_EVENT_RETENTION.maxAgeMs,
      maxEvents: opts.retention?.maxEvents ?? DEFAULT_EVENT_RETENTION.maxEvents,
    };
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 1000;
    this.logger = opts.logger;
    this.replicasFor = opts.replicasFor ?? (() => 0);
    this.recording = opts.recording ?? true;
    defineScripts(client, SCRIPTS);
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => this.logger?.warn({ err }, 'event log: sweep failed'))
        .finally(() => {
          this.sweeping = null;
        });
    }, this.sweepIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
    await this.relayLoop;
  }

  // --- recording side (called by the stores around their write scripts) ---

  /**
   * Call before a script that records into `outbox` runs (app: the slot's application, '' for the
   * metadata outbox). A round trip only when this node has not registered it in REGISTRATION_MS.
   */
  async registerOutbox(outbox: string, app: string | OutboxContext): Promise<void> {
    if (!this.recording) return;
    const now = Date.now();
    const at = this.registered.get(outbox);
    if (at !== undefined && now - at < REGISTRATION_MS / 2) return;
    await guarded(() => this.client.zadd(this.keys.eventOutboxes, now, registryMember(outbox, contextOf(app))));
    this.registered.set(outbox, now);
  }

  /**
   * Runs a write script of the slot whose outbox is `outbox`, recording as the script was loaded
   * (scripts.ts recordingOf). `direct`: it records straight into `app`'s log, so it gets the log's
   * keys after its own and two last arguments, the application and its directIdBits (the log is
   * registered for the sweep's retention first: ensureLog, once per node). `outbox`: the outbox is
   * registered before and relayed after, also after a failure (a script that failed after
   * recording, not_confirmed, left its event). `off` and `none`: run as it is.
   */
  async recorded<T, A extends ScriptArg>(
    app: string, outbox: string, mode: CommandRecording, keys: readonly string[], args: readonly A[],
    write: (keys: readonly string[], args: readonly (A | string)[]) => Promise<T>,
  ): Promise<T> {
    if (mode === 'direct') {
      await this.ensureLog(app);
      return write([...keys, ...this.logKeys(app)], [...args, app, directIdBits(app)]);
    }
    if (mode !== 'outbox') return write(keys, args);
    await this.registerOutbox(outbox, app);
    try {
      return await write(keys, args);
    } finally {
      this.relaySoon(outbox, app);
    }
  }

  /**
   * Call after a script that recorded into `outbox` answered: relays it now, in the background
   * (errors are logged; the sweep relays what this missed). Coalesced with the others pending.
   */
  relaySoon(outbox: string, app: string | OutboxContext): void {
    if (!this.recording) return;
    void this.relayCoalesced(outbox, contextOf(app));
  }

  /**
   * Relays `outbox` soon, with every other outbox asked for meanwhile: one relay loop runs at a
   * time on this node; each round reads every pending outbox (at once) and runs the relay script
   * once per application for all of them, so the script's fixed cost is shared by the changes of
   * many call queues. Resolves once a round has relayed this outbox (or failed to: logged).
   */
  private relayCoalesced(outbox: string, context: OutboxContext): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const entry = this.pending.get(outbox);
      if (entry === undefined) this.pending.set(outbox, { context, waiters: [resolve] });
      else entry.waiters.push(resolve);
    });
    this.relayLoop ??= (async () => {
      try {
        // One turn of the event loop first: the changes made in this turn share one relay.
        await new Promise((resolve) => setImmediate(resolve));
        while (this.pending.size > 0) {
          const round = [...this.pending];
          this.pending.clear();
          try {
            const { more, errors } = await this.relayRound(round.map(([o, e]) => [o, e.context]));
            for (const err of errors) this.logger?.warn({ err }, 'event log: relay failed (the sweep retries)');
            for (const [o, c] of more) if (!this.pending.has(o)) this.pending.set(o, { context: c, waiters: [] });
          } catch (err) {
            this.logger?.warn({ err }, 'event log: relay failed (the sweep retries)');
          } finally {
            for (const [, e] of round) for (const resolve of e.waiters) resolve();
          }
        }
      } finally {
        this.relayLoop = null;
      }
    })();
    return done;
  }

  /** Copies everything in `outbox` into the application logs, in order, then trims the outbox. */
  async relay(outbox: string, context: OutboxContext): Promise<void> {
    for (;;) {
      const { more, errors } = await this.relayRound([[outbox, context]]);
      if (errors.length > 0) throw errors[0];
      if (more.length === 0) return;
    }
  }

  /**
   * One round: reads up to RELAY_BATCH entries of each outbox, relays them into their logs (one
   * script call per application), and marks each outbox relayed up to what was read, to be trimmed
   * by its next read. Returns the outboxes that may hold more, and what failed: an outbox whose
   * read or relay failed is neither trimmed nor read again in this loop (the sweep retries it).
   */
  private async relayRound(round: [string, OutboxContext][]): Promise<{ more: [string, OutboxContext][]; errors: unknown[] }> {
    if (Date.now() - this.cataloguedAt > REGISTRATION_MS) {
      this.catalogued = new Map();
      this.cataloguedAt = Date.now();
    }
    const reads = await Promise.allSettled(
      round.map(async ([outbox]) => {
        // The read starts after what this node's relays copied already. The trim of that rides with
        // the read, at most every OUTBOX_TRIM_MS per outbox (its own command costs Redis more than
        // the entries it removes): both are sent at once on the command connection (one slot: one
        // node). Not a pipeline(): ioredis copies every defined script into each one it creates,
        // which cost more than the relay's own work.
        const from = this.trims.get(outbox);
        const last = this.trimmed.get(outbox);
        const now = Date.now();
        const trim = from !== undefined && (last === undefined || (last.minId !== from && now - last.at >= OUTBOX_TRIM_MS)) ? from : undefined;
        // Strings, not Buffers: an entry's fields go back to Redis as they came (not parsed), and
        // ioredis writes a command of strings without copying it into one Buffer (it does when any
        // argument is a Buffer: that cost more than decoding the fields).
        const [, entries] = await guarded(() =>
          Promise.all([
            trim === undefined ? null : this.client.xtrim(outbox, 'MINID', trim),
            this.client.xrange(outbox, from ?? '-', '+', 'COUNT', RELAY_BATCH),
          ]),
        );
        if (trim !== undefined) this.trimmed.set(outbox, { minId: trim, at: now });
        return entries;
      }),
    );
    const errors: unknown[] = [];
    /** Per application: the script's sections, what its catalogue learns once done, the outboxes in it. */
    const byApp = new Map<string, { args: ScriptArg[]; learning: [Set<string>, string][]; outboxes: string[] }>();
    round.forEach(([outbox, context], k) => {
      const read = reads[k]!;
      if (read.status === 'rejected') {
        errors.push(read.reason);
        return;
      }
      const perApp = new Map<string, ScriptArg[]>();
      for (const [id, fields] of read.value) {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
        const target = f.a !== undefined && f.a.length > 0 ? f.a : context.app;
        if (target === '') continue;
        let batch = byApp.get(target);
        if (batch === undefined) {
          batch = { args: [], learning: [], outboxes: [] };
          byApp.set(target, batch);
        }
        let list = perApp.get(target);
        if (list === undefined) {
          list = [];
          perApp.set(target, list);
        }
        this.pushEntry(list, outbox, id, target, f, context.traits, batch.learning);
      }
      for (const [target, list] of perApp) {
        const batch = byApp.get(target)!;
        batch.args.push(outbox, list.length / ENTRY_ARGS);
        for (const a of list) batch.args.push(a);
        batch.outboxes.push(outbox);
      }
    });
    const failed = new Set<string>();
    const cutoffUs = (Date.now() - this.retention.maxAgeMs) * 1000;
    await Promise.all(
      [...byApp].map(async ([app, batch]) => {
        try {
          await this.ensureLog(app);
          await this.relayInto(app, [cutoffUs, this.retention.maxEvents, ...batch.args]);
          for (const [known, name] of batch.learning) known.add(name);
        } catch (err) {
          errors.push(err);
          for (const o of batch.outboxes) failed.add(o);
        }
      }),
    );
    const more: [string, OutboxContext][] = [];
    round.forEach(([outbox, context], k) => {
      const read = reads[k]!;
      if (read.status === 'rejected' || read.value.length === 0 || failed.has(outbox)) return;
      const [ms, seq] = read.value[read.value.length - 1]![0].split('-');
      // Read from there on, and trimmed by a later relay of this outbox (or the sweep's); entries left
      // by a crash before it are relayed again harmlessly (the log skips what it has).
      this.trims.set(outbox, `${ms}-${Number(seq) + 1}`);
      if (read.value.length === RELAY_BATCH) more.push([outbox, context]);
    });
    return { more, errors };
  }

  /** Runs the relay script on one log; confirmed by a replica when the log's primary has one (see replicasFor). */
  private async relayInto(app: string, args: ScriptArg[]): Promise<void> {
    const keys = this.keys.eventLog(app);
    if (this.replicasFor(keys[0]) === 0) {
      await guarded(() => scriptCall(this.client, 'hlEventsRelay', false, keys, args));
      return;
    }
    const pipeline = this.client.pipeline();
    void scriptCall(pipeline, 'hlEventsRelay', false, keys, args);
    pipeline.wait(1, CONFIRM_WAIT_MS);
    const results = (await guarded(() => pipeline.exec())) ?? [];
    for (const [err] of results) if (err) throw err;
    // Not on a replica yet: the outbox is kept (not trimmed), the sweep relays it again.
    if (Number(results[1]?.[1] ?? 0) < 1) throw new Error('event relay not confirmed by a replica');
  }

  /**
   * Appends the relay script's arguments for one outbox entry to `list` (events-relay-8.lua, seven:
   * stream id, generated µs, type, queue_id, message_id, the record after its seq, new traits). The
   * record is made here, not in the script: all of it but the seq follows from the entry (the
   * message_id from the outbox and stream id, so any node makes the same), and Redis's one thread
   * serves every node. A call-queue change's entry (field `j`) carries its traits already typed and
   * encoded (lua/includes/change-event.lua): they go into the record as they are. Other entries
   * (field `v`: trait values) go through buildEvent, which applies the catalogue's types. An entry
   * this version cannot read is logged and skipped. New traits: the event's traits this node has
   * not seen in the log's type catalogue (newTraits).
   */
  private pushEntry(
    list: ScriptArg[], outbox: string, streamId: string, app: string, f: Record<string, string>, implicit: TraitValues | undefined,
    learning: [Set<string>, string][],
  ): void {
    try {
      if (f.j !== undefined && f.u !== undefined && f.t !== undefined) {
        // change-event.lua writes a declared type's declared traits only, and the catalogue lists a
        // declared type's traits from its first event on. Another type's (a tool's entries) are read
        // from the text.
        const j = f.j;
        const declared = eventTypeDef(f.t)?.traits as Record<string, TraitType> | undefined;
        const fresh = this.newTraits(app, f.t, declared ?? traitsIn(j), learning);
        pushRecord(list, outbox, streamId, app, f.u, f.t, f.q ?? '', j, fresh);
        return;
      }
      const us = Number(f.u);
      let type = f.t ?? '';
      const v = f.v ?? '{}';
      let values: TraitValues;
      // '@change': an entry recorded by a version that wrote the change itself (a rolling upgrade).
      if (type === '@change') ({ type, values } = changeEventValues(parseChange(v)));
      else values = { ...implicit, ...(JSON.parse(v) as TraitValues) };
      if (!Number.isSafeInteger(us)) throw new Error('no time');
      const event = buildEvent(app, type, values, us, '');
      const queue = traitOf(event, 'queue_id');
      const traits = event.traits.slice(1);
      const declared = eventTypeDef(type)?.traits as Record<string, TraitType> | undefined;
      const fresh = this.newTraits(app, type, { ...declared, ...Object.fromEntries(traits.map((t) => [t.name, t.type])) }, learning);
      pushRecord(list, outbox, streamId, app, String(us), type, queue === undefined ? '' : String(queue.value), traits.map((t) => JSON.stringify(t)).join(','), fresh);
    } catch (err) {
      this.logger?.error({ err, outbox, streamId }, 'event log: unreadable outbox entry skipped');
    }
  }

  /**
   * Of `candidates` (name -> type: the type's declared traits, and the event's own), those this node
   * has not seen in the log's catalogue, as the relay script's JSON object name -> type ('' none: the
   * usual case, which costs the script nothing). They count as seen once the relay is done (`learning`).
   */
  private newTraits(app: string, type: string, candidates: Record<string, TraitType>, learning: [Set<string>, string][]): string {
    const key = `${app}\n${type}`;
    let known = this.catalogued.get(key);
    if (known === undefined) {
      known = new Set();
      this.catalogued.set(key, known);
    }
    let fresh: Record<string, TraitType> | undefined;
    // '': the catalogue has the type itself (a type may have no trait but project_id).
    if (!known.has('')) {
      fresh = { project_id: 'string' };
      learning.push([known, '']);
    }
    for (const name in candidates) {
      if (known.has(name)) continue;
      fresh ??= {};
      fresh[name] = candidates[name]!;
      learning.push([known, name]);
    }
    return fresh === undefined ? '' : JSON.stringify(fresh);
  }

  /** `app`'s log keys, made once per application a direct recorder writes to. */
  private readonly logKeys = kept(4096, (app) => this.keys.eventLog(app));

  /** Registers `app`'s log for the sweep's retention, carrying an older layout's seq (once per node). */
  async ensureLog(app: string): Promise<void> {
    if (this.knownLogs.has(app)) return;
    await guarded(() => this.client.sadd(this.keys.eventLogs, app));
    // The log as versions before the index change wrote it is never read: the new log numbers on
    // from its last seq (events-carry-2.lua: a webhook's saved cursor stays behind the new log), and
    // its keys are reclaimed once older than the retention age (NX: a TTL set before is kept;
    // README "Upgrading across the event index change").
    const before = this.keys.eventLogBefore13(app);
    await guarded(() => scriptCall(this.client, 'hlEventsCarry', false, [this.keys.eventLog(app)[0], before[0]!], []));
    // So is the time index earlier versions wrote (EventLogKeys `time`), no longer written or read
    // now that scan walks the type indexes (README "Upgrading across the time index removal").
    const unread = [...before, this.keys.eventLog(app)[2]];
    await guarded(() => Promise.all(unread.map((key) => this.client.pexpire(key, this.retention.maxAgeMs, 'NX'))));
    this.knownLogs.add(app);
  }

  /**
   * Relays every registered outbox (a dead node's leftovers), forgets registrations nobody renewed
   * in 2 × REGISTRATION_MS whose outbox is empty, and applies retention to every log.
   */
  async sweep(): Promise<void> {
    const now = Date.now();
    const members = await guarded(() => this.client.zrange(this.keys.eventOutboxes, 0, -1, 'WITHSCORES'));
    const registered: { member: string; score: number; outbox: string; context: OutboxContext }[] = [];
    for (let i = 0; i + 1 < members.length; i += 2) {
      const member = members[i]!;
      const nl = member.indexOf('\n');
      try {
        registered.push({ member, score: Number(members[i + 1]), outbox: member.slice(0, nl), context: JSON.parse(member.slice(nl + 1)) as OutboxContext });
      } catch {
        await guarded(() => this.client.zrem(this.keys.eventOutboxes, member));
      }
    }
    // All asked for at once: they share the relay loop's rounds (one script call per application).
    await Promise.all(registered.map((r) => this.relayCoalesced(r.outbox, r.context)));
    for (const { member, score, outbox } of registered) {
      if (score < now - 2 * REGISTRATION_MS && (await guarded(() => this.client.xlen(outbox))) === 0) {
        await guarded(() => this.client.zrem(this.keys.eventOutboxes, member));
        this.trims.delete(outbox);
        this.trimmed.delete(outbox);
      }
    }
    const cutoffUs = (now - this.retention.maxAgeMs) * 1000;
    for (const app of await guarded(() => this.client.smembers(this.keys.eventLogs))) {
      for (;;) {
        const removed = Number(
          await guarded(() => scriptCall(this.client, 'hlEventsTrim', false, this.keys.eventLog(app), [cutoffUs, this.retention.maxEvents, TRIM_BUDGET])),
        );
        if (removed < TRIM_BUDGET) break;
      }
    }
  }

  async flush(): Promise<void> {
    await this.relayLoop;
    await this.sweep();
  }

  // --- reads ---

  async readSince(app: string, afterSeq: number, limit: number): Promise<LoggedEvent[] | null> {
    const [meta] = this.keys.eventLog(app);
    const [seq, first] = await guarded(() => this.client.hmget(meta, 'seq', 'first'));
    const last = Number(seq ?? 0);
    const oldest = Number(first ?? 1);
    if (afterSeq > last) return null;
    if (afterSeq + 1 < oldest) return null;
    const seqs: number[] = [];
    for (let s = afterSeq + 1; s <= last && seqs.length < limit; s++) seqs.push(s);
    if (seqs.length === 0) return [];
    const rows = await guarded(() => this.client.hmget(this.keys.eventLog(app)[1], ...seqs.map(String)));
    // A hole means retention overtook this read: the reader starts again from the base.
    if (rows.some((r) => r === null)) return null;
    return rows.map((r) => toLogged(r!, app));
  }

  async base(app: string): Promise<FeedBase> {
    const [meta, events] = this.keys.eventLog(app);
    const seq = Number((await guarded(() => this.client.hget(meta, 'seq'))) ?? 0);
    if (seq === 0) return { seq: 0, id: null };
    const json = await guarded(() => this.client.hget(events, String(seq)));
    return { seq, id: json === null ? null : recordId(JSON.parse(json) as StoredRecord, app) };
  }

  subscribe(app: string, listener: EventLogListener): Promise<Unsubscribe> {
    return this.subscriber.subscribe(this.keys.eventLog(app)[5], eventFeed(app), listener);
  }

  /**
   * One walk of an index. The indexes are ZSETs by generated µs, one per event type and one per
   * queue_id (keys.ts EventLogKeys); the time and id walks (no type or queue to narrow them) walk
   * every type index of the log (its type catalogue names them) and merge them (merge). A scan's
   * bounds are index members as both engines spell them (events.ts EventIndex), turned here into
   * score ranges that hold at least the walk's first `count` members, which are then compared as
   * those members.
   */
  async scan(app: string, scan: EventScan): Promise<EventScanResult> {
    const { index } = scan;
    const keys =
      index.kind === 'type' ? [this.keys.eventTypeIndex(app, index.type)]
      : index.kind === 'queue' ? [this.keys.eventQueueIndex(app, index.queueId)]
      : (await guarded(() => this.client.hkeys(this.keys.eventLog(app)[4]))).map((type) => this.keys.eventTypeIndex(app, type));
    const walked = keys.length === 1 ? await this.walk(app, keys[0]!, scan) : await this.merge(app, keys, scan);
    if (walked.length === 0) return { events: [], last: null };
    const last = walked[walked.length - 1]!.member;
    const rows = await guarded(() => this.client.hmget(this.keys.eventLog(app)[1], ...walked.map((w) => w.seq)));
    return { events: rows.filter((r): r is string => r !== null).map((r) => toLogged(r, app)), last };
  }

  /**
   * The first `scan.count` entries of several indexes merged (each event in one of them). Each index
   * is walked for a share of the page first: the merge is exact up to the earliest last entry among
   * the indexes that may hold more, and those that bound it are walked on (a share twice as large
   * each round) until the page is exact or every index is spent. Events spread over the types cost
   * one round of about twice the page; reading the whole page from every index cost T times it.
   */
  private async merge(app: string, keys: string[], scan: EventScan): Promise<{ member: string; seq: string }[]> {
    const before = (a: string, b: string): boolean => (scan.descending ? a > b : a < b);
    const lists = keys.map((key) => ({ key, items: [] as { member: string; seq: string }[], spent: false }));
    let share = Math.max(8, Math.ceil((2 * scan.count) / keys.length));
    let pending = lists;
    for (;;) {
      await Promise.all(
        pending.map(async (list) => {
          const last = list.items[list.items.length - 1]?.member;
          // On from the list's last entry (exclusive), in the walk's direction.
          const from: EventScan =
            last === undefined ? { ...scan, count: share }
            : scan.descending ? { ...scan, max: last, maxExclusive: true, count: share }
            : { ...scan, min: last, minExclusive: true, count: share };
          const got = await this.walk(app, list.key, from);
          list.items.push(...got);
          list.spent = got.length < share;
        }),
      );
      // Exact up to `bound`: the earliest last entry of an index that may hold more.
      let bound: string | undefined;
      for (const list of lists) {
        const last = list.items[list.items.length - 1]?.member;
        if (!list.spent && last !== undefined && (bound === undefined || before(last, bound))) bound = last;
      }
      const merged = lists.flatMap((l) => l.items).sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0) * (scan.descending ? -1 : 1));
      const exact = bound === undefined ? merged : merged.filter((m) => !before(bound!, m.member));
      if (exact.length >= scan.count || bound === undefined) return exact.slice(0, scan.count);
      // Walk on the indexes that may hold more and whose last entry is not after the page's last
      // candidate: entries of the page may still be in them.
      const end = merged[Math.min(scan.count, merged.length) - 1]!.member;
      pending = lists.filter((l) => !l.spent && !before(end, l.items[l.items.length - 1]!.member));
      share *= 2;
    }
  }

  /**
   * The first `scan.count` entries of one index ZSET within the scan's bounds, in its order, as
   * members of the scan's index kind with their seqs. The walk's start is one score (the id walk:
   * one ms) read whole, the rest one ZRANGE BYSCORE … LIMIT beyond it, both sent at once: a marker
   * is continued from exactly, whatever shares its time. The id walk (sort by message_id) reads a
   * whole ms at a time: a message_id begins with its ms, so ids of one ms sort among themselves only.
   */
  private async walk(app: string, key: string, scan: EventScan): Promise<{ member: string; seq: string }[]> {
    const prefix = indexPrefix(scan.index);
    const byMs = scan.index.kind === 'id';
    // A bound's group: the µs (the id walk: the ms) its member names; null when it names none.
    const groupOf = (bound: string): number | null => {
      if (!bound.startsWith(prefix)) return null;
      const rest = bound.slice(prefix.length);
      if (byMs) return msOfId(rest);
      const us = /^\d{16}/.exec(rest);
      return us === null ? null : Number(us[0]);
    };
    const width = byMs ? 1000 : 1;
    const lowGroup = scan.min.startsWith(prefix) && scan.min.length > prefix.length ? groupOf(scan.min) : null;
    const highGroup = scan.max.startsWith(prefix) && !scan.max.slice(prefix.length).startsWith('~') ? groupOf(scan.max) : null;
    // Scores: [lo, hi] bound the walk; the start group is [start, startEnd].
    const lo = lowGroup === null ? '-inf' : String(lowGroup * width);
    const hi = highGroup === null ? '+inf' : String(highGroup * width + width - 1);
    const startGroup = scan.descending ? highGroup : lowGroup;
    const reads: Promise<string[]>[] = [];
    let rest: Promise<string[]>;
    if (startGroup === null) {
      rest = scan.descending
        ? this.client.zrange(key, hi, lo, 'BYSCORE', 'REV', 'LIMIT', 0, scan.count, 'WITHSCORES')
        : this.client.zrange(key, lo, hi, 'BYSCORE', 'LIMIT', 0, scan.count, 'WITHSCORES');
    } else {
      const from = String(startGroup * width);
      const to = String(startGroup * width + width - 1);
      reads.push(this.client.zrange(key, from, to, 'BYSCORE', 'WITHSCORES'));
      rest = scan.descending
        ? this.client.zrange(key, `(${from}`, lo, 'BYSCORE', 'REV', 'LIMIT', 0, scan.count, 'WITHSCORES')
        : this.client.zrange(key, `(${to}`, hi, 'BYSCORE', 'LIMIT', 0, scan.count, 'WITHSCORES');
    }
    reads.push(rest);
    const lists = await guarded(() => Promise.all(reads));
    const restList = lists[lists.length - 1]!;
    // The id walk: the last ms LIMIT reached is read whole (its ids sort among themselves).
    if (byMs && restList.length === scan.count * 2) {
      const edge = restList[restList.length - 1]!;
      const ms = Math.floor(Number(edge) / 1000);
      // From the edge's score on (inclusive: LIMIT may have cut among equal scores; seen ones are skipped).
      const tail = scan.descending
        ? await guarded(() => this.client.zrange(key, edge, String(ms * 1000), 'BYSCORE', 'REV', 'WITHSCORES'))
        : await guarded(() => this.client.zrange(key, edge, String(ms * 1000 + 999), 'BYSCORE', 'WITHSCORES'));
      lists.push(tail);
    }
    const walked: { member: string; seq: string }[] = [];
    const seen = new Set<string>();
    for (const list of lists) {
      for (let i = 0; i + 1 < list.length; i += 2) {
        if (seen.has(list[i]!)) continue;
        seen.add(list[i]!);
        // The entry as a member of the walk's kind (events.ts EventIndex).
        const us = Number(list[i + 1]);
        const { id, seq } = memberParts(app, list[i]!, us);
        const m = byMs ? `${prefix}${id}` : `${prefix}${timeKey(us, id)}`;
        if (m < scan.min || (scan.minExclusive === true && m === scan.min)) continue;
        if (m > scan.max || (scan.maxExclusive === true && m === scan.max)) continue;
        walked.push({ member: m, seq });
      }
    }
    walked.sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0) * (scan.descending ? -1 : 1));
    walked.length = Math.min(walked.length, scan.count);
    return walked;
  }

  /**
   * The event by message_id. One recorded on one Redis names its seq (its last 36 bits,
   * event-record-direct.lua messageId): that record, when its message_id is this one. Otherwise (a
   * relayed event's id is a hash) its ms of every type index holds its member, which names its seq.
   */
  async get(app: string, messageId: string): Promise<LoggedEvent | null> {
    const ms = messageId.length === ID_LENGTH ? msOfId(messageId) : null;
    if (ms === null) return null;
    const [, records, , , types] = this.keys.eventLog(app);
    const direct = await guarded(() => this.client.hget(records, String(Number.parseInt(messageId.slice(-9), 16))));
    if (direct !== null && recordId(JSON.parse(direct) as StoredRecord, app) === messageId) return toLogged(direct, app);
    // A marker of every page walked on is looked up here: the type list is read only when needed.
    const typeNames = await guarded(() => this.client.hkeys(types));
    const found = await guarded(() =>
      Promise.all(
        typeNames.map((type) => this.client.zrange(this.keys.eventTypeIndex(app, type), String(ms * 1000), String(ms * 1000 + 999), 'BYSCORE', 'WITHSCORES')),
      ),
    );
    let seq: string | undefined;
    for (const list of found) {
      for (let i = 0; i + 1 < list.length && seq === undefined; i += 2) {
        const parts = memberParts(app, list[i]!, Number(list[i + 1]));
        if (parts.id === messageId) seq = parts.seq;
      }
    }
    if (seq === undefined) return null;
    const json = await guarded(() => this.client.hget(records, seq));
    return json === null ? null : toLogged(json, app);
  }

  async apps(): Promise<string[]> {
    return (await guarded(() => this.client.smembers(this.keys.eventLogs))).sort();
  }

  async types(app: string): Promise<Record<string, Record<string, TraitType>>> {
    const all = await guarded(() => this.client.hgetall(this.keys.eventLog(app)[4]));
    const out: Record<string, Record<string, TraitType>> = {};
    for (const [type, json] of Object.entries(all)) out[type] = JSON.parse(json) as Record<string, TraitType>;
    return out;
  }
}
