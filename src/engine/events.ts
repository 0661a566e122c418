/**
 * The event log (SPEC.md 3.4, issue 13; protocol/events.md is the contract): every change Holdline
 * makes is recorded as an event, atomically with the change, in its application's one numbered log.
 *
 * An event has the Panko v2 shape: `message_id` (a UUIDv7, time-ordered, assigned when recorded),
 * `event_type` (dotted), `generated` (ISO-8601 UTC with microseconds), typed `traits` and `raw`.
 * Every event carries the trait `project_id` (its application) and the ids it concerns.
 *
 * How a change records its event (the one rule: in the same atomic step as the change):
 *   - memory engine: the store that makes the change calls `MemoryEventLog.record(app, type, values)`
 *     (or `recordChange(app, change)` for a call-queue change) in the same synchronous call
 *     (src/engine/memory/events.ts);
 *   - Redis: the Lua script that makes the change calls `recordEvent(KEYS[n], app, type, values)`
 *     (lua/includes/event-record.lua) with its slot's outbox key, built by keys.ts; the relay
 *     (src/engine/redis/events.ts) then copies the outbox into the application's log. The TS side of
 *     a script that records calls `RedisEventLog.relaySoon(outboxKey)` after the script answered.
 *
 * `values` maps trait names to plain values; their types come from the catalogue EVENT_TYPES below
 * (one entry per event type, documented in protocol/events.md: test/unit/events-catalogue.test.ts
 * checks both ways). A value null or undefined is left out (a trait is absent rather than empty).
 */
import { randomBytes } from 'node:crypto';
import type { CallQueueChange } from './call-types.js';
import type { FeedBase, FeedListener, Unsubscribe } from './feed.js';
import { isRealWallTime } from './iso-time.js';

export type TraitType = 'integer' | 'float' | 'string' | 'datetime';
export const TRAIT_TYPES: readonly TraitType[] = ['integer', 'float', 'string', 'datetime'];

export interface Trait {
  name: string;
  type: TraitType;
  /** integer and float: a number; string: a string; datetime: ISO-8601 UTC with microseconds. */
  value: string | number;
}

/** Panko v2's Event. */
export interface HoldlineEvent {
  message_id: string;
  event_type: string;
  /** ISO-8601 UTC with microseconds, e.g. 2026-12-06T23:34:55.123456Z. */
  generated: string;
  /** In the catalogue's order for the type, project_id first. */
  traits: Trait[];
  raw: Record<string, never>;
}

/** An event at its place in its application's log: seq +1 per event, from 1. */
export interface LoggedEvent {
  seq: number;
  /** `generated` as microseconds since the epoch (the ordering key). */
  generatedUs: number;
  event: HoldlineEvent;
}

export type TraitValues = Record<string, string | number | boolean | null | undefined>;

interface EventTypeDef {
  /** Trait name -> type; project_id comes first on every type and is not listed. */
  traits: Record<string, TraitType>;
}

const caller = { queue_id: 'string', caller_id: 'string', name: 'string', number: 'string', priority: 'integer', status: 'string' } as const;
const member = { queue_id: 'string', agent_id: 'string', number: 'string', status: 'string', paused: 'integer', pause_reason: 'string' } as const;
const callQueue = { queue_id: 'string', name: 'string', disabled: 'integer', service_level_seconds: 'integer', user_id: 'string', owner_project_id: 'string' } as const;
const agent = { agent_id: 'string', name: 'string', user_id: 'string', owner_project_id: 'string' } as const;
const offerAnswer = { queue_id: 'string', caller_id: 'string', offer_id: 'string', agent_id: 'string' } as const;

/**
 * Every event type Holdline records and its declared traits (protocol/events.md "Event types"): the
 * one catalogue, read by both engines and written into the Redis recording scripts (scripts.ts), so
 * it is complete whatever modules a process has loaded.
 */
export const EVENT_TYPES = {
  // Applications and keys (meta slot).
  'application.create': { traits: { key_id: 'string' } },
  'application.delete': { traits: {} },
  'application.key.create': { traits: { key_id: 'string' } },
  'application.key.rotate': { traits: { key_id: 'string', replaced_key_id: 'string', replaced_expires: 'datetime' } },
  'application.key.revoke': { traits: { key_id: 'string' } },
  // Message queues (meta slot) and messages (the partition's slot). A post is not an event.
  'message_queue.create': { traits: { queue_name: 'string', partitions: 'integer', type: 'string', consistency: 'string' } },
  'message_queue.update': { traits: { queue_name: 'string', partitions: 'integer', type: 'string', consistency: 'string' } },
  'message_queue.delete': { traits: { queue_name: 'string' } },
  'message.update': { traits: { queue_name: 'string', partition: 'integer', msg_id: 'string', fields: 'string' } },
  'message.delete': { traits: { queue_name: 'string', partition: 'integer', msg_id: 'string' } },
  // Call queues (the queue's slot).
  'queue.create': { traits: callQueue },
  'queue.update': { traits: { ...callQueue, changed: 'string' } },
  'queue.delete': { traits: { queue_id: 'string', name: 'string' } },
  'queue.member.add': { traits: member },
  'queue.member.remove': { traits: member },
  'queue.member.pause': { traits: member },
  'queue.member.unpause': { traits: member },
  'queue.member.status': { traits: member },
  'queue.member.update': { traits: { ...member, changed: 'string' } },
  'queue.caller.join': { traits: { ...caller, position: 'integer' } },
  'queue.caller.leave': { traits: { ...caller, reason: 'string', wait: 'float', estimated_wait: 'float', position: 'integer', agent_id: 'string' } },
  'queue.caller.status': { traits: { ...caller, position: 'integer', agent_id: 'string', changed: 'string' } },
  'queue.caller.priority': { traits: { ...caller, position: 'integer', agent_id: 'string', changed: 'string' } },
  'queue.caller.assign': { traits: { ...caller, position: 'integer', agent_id: 'string', changed: 'string' } },
  'queue.caller.callback': { traits: { ...caller, position: 'integer', callback_number: 'string' } },
  // Agents, tags and tagging (the application's call slot).
  'agent.create': { traits: agent },
  'agent.update': { traits: agent },
  'agent.delete': { traits: { agent_id: 'string' } },
  'tag.create': { traits: { tag_id: 'integer', tag: 'string' } },
  'tag.update': { traits: { tag_id: 'integer', tag: 'string', agents: 'integer' } },
  'tag.delete': { traits: { tag_id: 'integer', tag: 'string' } },
  'tag.agent.add': { traits: { tag_id: 'integer', tag: 'string', agent_id: 'string' } },
  'tag.agent.remove': { traits: { tag_id: 'integer', tag: 'string', agent_id: 'string' } },
  // Processing state (SPEC.md 3.5; state-events.ts): a message's client_state or client_json changed.
  'message.state': {
    traits: { queue_name: 'string', partition: 'integer', msg_id: 'string', fields: 'string', client_state: 'string', previous_state: 'string' },
  },
  // Routing's decisions (protocol/events.md section 3; routing-types.ts), in the decision's own step.
  'queue.caller.offer': { traits: { queue_id: 'string', caller_id: 'string', offer_id: 'string', agents: 'string', strategy: 'string', expires_at: 'string' } },
  'queue.caller.offer.accept': { traits: offerAnswer },
  'queue.caller.offer.reject': { traits: offerAnswer },
  'queue.caller.offer.timeout': { traits: offerAnswer },
  'queue.caller.offer.revoke': { traits: { ...offerAnswer, reason: 'string' } },
} as const satisfies Record<string, EventTypeDef>;

export type EventType = keyof typeof EVENT_TYPES;

export function eventTypeDef(type: string): EventTypeDef | undefined {
  return Object.hasOwn(EVENT_TYPES, type) ? (EVENT_TYPES as Record<string, EventTypeDef>)[type] : undefined;
}

export function knownEventTypes(): string[] {
  return Object.keys(EVENT_TYPES);
}

/** Microseconds since the epoch as ISO-8601 UTC with six decimals. */
export function isoMicros(us: number): string {
  const second = Math.floor(us / 1_000_000);
  if (second !== isoSecond) {
    isoHead = new Date(second * 1000).toISOString().slice(0, 20); // ...T12:00:00.
    isoSecond = second;
  }
  return `${isoHead}${String(us - second * 1_000_000).padStart(6, '0')}Z`;
}

/** The second of the last isoMicros text, and that text up to its fraction (a relay's events share few seconds). */
let isoSecond = Number.NaN;
let isoHead = '';

/** ISO-8601 (offset or Z; none means UTC, as Panko) -> microseconds since the epoch, or null. */
export function parseIsoMicros(text: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,6})\d*)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(text.trim());
  if (m === null) return null;
  const zone = m[4] === undefined || m[4].toUpperCase() === 'Z' ? 'Z' : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4];
  const time = m[2] === undefined ? '00:00:00' : m[2].length === 5 ? `${m[2]}:00` : m[2];
  if (!isRealWallTime(`${m[1]}T${time}`)) return null;
  const ms = Date.parse(`${m[1]}T${time}${zone}`);
  if (Number.isNaN(ms)) return null;
  const frac = (m[3] ?? '').padEnd(6, '0');
  return ms * 1000 + Number(frac);
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix time in ms, then 74 bits from `entropy` (at least 20 hex
 * digits), version and variant set. Ids of one millisecond order by their entropy.
 */
export function uuidv7(ms: number, entropy: string): string {
  const whole = Math.floor(ms);
  if (whole !== uuidMs) {
    const t = whole.toString(16).padStart(12, '0').slice(-12);
    uuidHead = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`;
    uuidMs = whole;
  }
  const e = entropy.toLowerCase();
  const variant = ((parseInt(e[3]!, 16) & 0x3) | 0x8).toString(16);
  return `${uuidHead}${e.slice(0, 3)}-${variant}${e.slice(4, 7)}-${e.slice(7, 19)}`;
}

/** The ms of the last uuidv7, and its text up to the version digit (a relay's events share few ms). */
let uuidMs = Number.NaN;
let uuidHead = '';

/**
 * A UUIDv7 whose 12 bits after the version hold the sub-millisecond part of `us` (RFC 9562 section
 * 6.2, method 3: floor(µs of the ms × 4096 / 1000), strictly increasing with it), then 62 bits of
 * `entropy` (at least 20 hex digits) with the variant. So ids sort as their microseconds do: of two
 * events of different µs, the later has the greater id, and of the same µs, the order of the
 * entropy decides (the order the time index `g:` has, timeKey). Not for an id a query only knows
 * the millisecond of (uuidMsPrefix).
 */
export function uuidv7Micros(us: number, entropy: string): string {
  const ms = Math.floor(us / 1000);
  const sub = Math.floor(((us - ms * 1000) * 4096) / 1000);
  if (ms !== prefixMs) msPrefix(ms);
  const e = entropy.toLowerCase();
  // Written into one buffer and read as one flat string: ids are kept (the memory log holds
  // thousands), and a string built by concatenation is a tree of pieces until something flattens it.
  const b = idBuffer;
  b.write(HEX3[sub]!, 15, 'latin1');
  b[19] = VARIANT[parseInt(e[3]!, 16) & 0x3]!;
  b.write(e.slice(4, 7), 20, 'latin1');
  b.write(e.slice(7, 19), 24, 'latin1');
  return b.toString('latin1', 0, 36);
}

/** Random bytes drawn ahead for randomIdBits: 4 per call, one randomBytes call per 1024. */
let idRandom = Buffer.alloc(0);
let idRandomAt = 0;
const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');

/**
 * 32 random bits, as a number (unboxed where it is kept: the memory event log keeps an event's id
 * as two of these, uuidv7MicrosOf, and makes its text only when the event is read).
 */
export function randomIdBits(): number {
  if (idRandomAt + 4 > idRandom.length) {
    idRandom = randomBytes(4096);
    idRandomAt = 0;
  }
  const w = idRandom.readUInt32LE(idRandomAt);
  idRandomAt += 4;
  return w;
}

/**
 * uuidv7Micros(us, entropy) with its 62 bits after the sub-millisecond part given as numbers:
 * `hi` (30 bits: the variant's 2, then 28 = 7 hex digits) and `lo` (32 bits: the last 8 digits).
 * The same id is made from the same three numbers every time.
 */
export function uuidv7MicrosOf(us: number, hi: number, lo: number): string {
  const ms = Math.floor(us / 1000);
  const sub = Math.floor(((us - ms * 1000) * 4096) / 1000);
  if (ms !== prefixMs) msPrefix(ms);
  const b = idBuffer;
  b.write(HEX3[sub]!, 15, 'latin1');
  b[19] = VARIANT[hi & 0x3]!;
  for (let k = 22, h = hi >>> 18; k >= 20; k--, h >>>= 4) b[k] = HEX_CODES[h & 0xf]!;
  for (let k = 27, h = hi >>> 2; k >= 24; k--, h >>>= 4) b[k] = HEX_CODES[h & 0xf]!;
  for (let k = 35, h = lo >>> 0; k >= 28; k--, h >>>= 4) b[k] = HEX_CODES[h & 0xf]!;
  return b.toString('latin1', 0, 36);
}

/** uuidv7Micros's work space: the ms's head (msPrefix), the dashes, then each id's own digits. */
const idBuffer = Buffer.from('00000000-0000-7000-8000-000000000000', 'latin1');
const VARIANT = [0x38, 0x39, 0x61, 0x62]; // 8 9 a b
const HEX3 = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'));
/** The ms whose `xxxxxxxx-xxxx-7` idBuffer starts with (ids are made in bursts within one ms). */
let prefixMs = -1;
function msPrefix(ms: number): void {
  const t = ms.toString(16).padStart(12, '0').slice(-12);
  prefixMs = ms;
  idBuffer.write(`${t.slice(0, 8)}-${t.slice(8, 12)}-7`, 0, 'latin1');
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isEventId(id: string): boolean {
  return UUID_RE.test(id);
}

export function traitValue(type: TraitType, value: string | number | boolean): string | number | null {
  switch (type) {
    case 'integer': {
      const n = typeof value === 'boolean' ? (value ? 1 : 0) : Number(value);
      return Number.isFinite(n) ? Math.trunc(n) : null;
    }
    case 'float': {
      const n = Number(value);
      return Number.isFinite(n) ? n : null;
    }
    case 'datetime': {
      if (typeof value === 'number') return isoMicros(Math.round(value * 1000));
      const us = parseIsoMicros(String(value));
      return us === null ? null : isoMicros(us);
    }
    case 'string':
      return String(value);
  }
}

/**
 * The one constructor of an event from what a change recorded: its application, type, values and
 * time, and its id. Values of a type's declared traits take the declared type (a datetime given as
 * a number is epoch ms); undeclared names are strings.
 */
export function buildEvent(app: string, type: string, values: TraitValues, generatedUs: number, messageId: string): HoldlineEvent {
  const declared = eventTypeDef(type)?.traits ?? {};
  const traits: Trait[] = [{ name: 'project_id', type: 'string', value: app }];
  const names = [...Object.keys(declared), ...Object.keys(values).filter((n) => !(n in declared) && n !== 'project_id').sort()];
  for (const name of names) {
    const v = values[name];
    if (v === null || v === undefined) continue;
    const type = (declared as Record<string, TraitType>)[name] ?? 'string';
    const value = traitValue(type, v);
    if (value !== null) traits.push({ name, type, value });
  }
  return { message_id: messageId, event_type: type, generated: isoMicros(generatedUs), traits, raw: {} };
}

export function traitOf(event: HoldlineEvent, name: string): Trait | undefined {
  return event.traits.find((t) => t.name === name);
}

/** The event type and values a call-queue change records (one event per change). */
export function changeEventValues(change: CallQueueChange): { type: EventType; values: TraitValues } {
  switch (change.kind) {
    case 'queue_updated':
    case 'queue_deleted': {
      const q = change.queue;
      const values: TraitValues = {
        queue_id: q.uuid, name: q.name, disabled: q.disabled, service_level_seconds: q.service_level_seconds,
        user_id: q.user_id, owner_project_id: q.project_id,
      };
      if (change.kind === 'queue_deleted') return { type: 'queue.delete', values: { queue_id: q.uuid, name: q.name } };
      return { type: 'queue.update', values: { ...values, changed: change.changed.join(',') } };
    }
    case 'member_added':
    case 'member_removed':
    case 'member_updated': {
      const m = change.member;
      const values: TraitValues = {
        queue_id: m.queue_id, agent_id: m.uuid, number: m.number, status: m.status, paused: m.paused, pause_reason: m.pause_reason,
      };
      if (change.kind === 'member_added') return { type: 'queue.member.add', values };
      if (change.kind === 'member_removed') return { type: 'queue.member.remove', values };
      if (change.changed.includes('paused')) return { type: m.paused ? 'queue.member.pause' : 'queue.member.unpause', values };
      if (change.changed.includes('status')) return { type: 'queue.member.status', values };
      return { type: 'queue.member.update', values: { ...values, changed: change.changed.join(',') } };
    }
    case 'caller_joined':
    case 'caller_updated':
    case 'caller_left': {
      // Each case builds its values in one literal (no spread of a shared base): this runs for every
      // change on the memory engine, in the change's own call.
      const c = change.caller;
      if (change.kind === 'caller_joined') {
        return {
          type: 'queue.caller.join',
          values: { queue_id: c.queue_id, caller_id: c.uuid, name: c.name, number: c.number, priority: c.priority, status: c.status, position: change.line.to },
        };
      }
      if (change.kind === 'caller_left') {
        return {
          type: 'queue.caller.leave',
          values: {
            queue_id: c.queue_id, caller_id: c.uuid, name: c.name, number: c.number, priority: c.priority, status: c.status,
            reason: change.reason, wait: change.wait, estimated_wait: change.estimated_wait ?? null,
            position: change.line?.from ?? null, agent_id: c.member_uuid,
          },
        };
      }
      if (change.changed.includes('callback')) {
        return {
          type: 'queue.caller.callback',
          values: {
            queue_id: c.queue_id, caller_id: c.uuid, name: c.name, number: c.number, priority: c.priority, status: c.status,
            position: c.position, callback_number: c.callback?.number ?? null,
          },
        };
      }
      const type = change.changed.includes('status') ? 'queue.caller.status' : change.changed.includes('priority') ? 'queue.caller.priority' : 'queue.caller.assign';
      return {
        type,
        values: {
          queue_id: c.queue_id, caller_id: c.uuid, name: c.name, number: c.number, priority: c.priority, status: c.status,
          position: c.position, agent_id: c.member_uuid, changed: change.changed.join(','),
        },
      };
    }
  }
}

// --- ordering keys (the indexes both engines keep; protocol/events.md "Queries and their cost") ---

/** The default order's key: generated (µs, 16 digits) then message_id; sorts as Panko's default. */
export function timeKey(generatedUs: number, messageId: string): string {
  return `${String(generatedUs).padStart(16, '0')}:${messageId}`;
}

/**
 * An index a scan walks, each in lexicographic order of its members:
 *   time   `g:<timeKey>`               every event by (generated, message_id)
 *   type   `t:<event_type>|<timeKey>`  one type's events, same order
 *   queue  `q:<queue_id>|<timeKey>`    the events with that queue_id trait (call queues), same order
 *   id     `i:<message_id>`            every event by message_id
 */
export type EventIndex = { kind: 'time' } | { kind: 'type'; type: string } | { kind: 'queue'; queueId: string } | { kind: 'id' };

export function indexPrefix(index: EventIndex): string {
  switch (index.kind) {
    case 'time':
      return 'g:';
    case 'type':
      return `t:${index.type}|`;
    case 'queue':
      return `q:${index.queueId}|`;
    case 'id':
      return 'i:';
  }
}

/**
 * The index members of one event: how a scan's bounds spell its place in each index (the memory
 * engine compares them; the Redis engine's ZSETs hold `<message_id><seq>` by generated µs and turn
 * the bounds into scores, src/engine/redis/events.ts scan).
 */
export function indexMembers(e: LoggedEvent): string[] {
  const tk = timeKey(e.generatedUs, e.event.message_id);
  const out = [`g:${tk}`, `t:${e.event.event_type}|${tk}`, `i:${e.event.message_id}`];
  const queue = traitOf(e.event, 'queue_id');
  if (queue !== undefined) out.push(`q:${String(queue.value)}|${tk}`);
  return out;
}

/** The message_id at the end of any index member. */
export function idOfMember(member: string): string {
  return member.slice(-36);
}

/**
 * One walk of an index between two member bounds (both inclusive, full members or prefixes padded
 * by the caller), in ascending or descending order, at most `count` events. Retention may remove an
 * event between the index read and the event read: such an event is skipped.
 */
export interface EventScan {
  index: EventIndex;
  /** Lowest member. */
  min: string;
  /** Highest member. */
  max: string;
  /** Exclude a member equal to min (resp. max): continuing after a marker. */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  descending: boolean;
  /** Index members walked at most. */
  count: number;
}

/** What a scan walked: the events found (in walk order), and the last member walked (null: none), to continue from. */
export interface EventScanResult {
  events: LoggedEvent[];
  last: string | null;
}

/** What a feed of an application's event log announces: each event once, in seq order, or `resync`. */
export type EventLogListener = FeedListener<'event', LoggedEvent>;

/**
 * The event log as both engines offer it (Engine.events). Recording is not here: it is part of each
 * change (see the header). This is what queries, the live tail and webhooks read.
 */
export interface EventLog {
  /**
   * The retained events with seq > `afterSeq`, in seq order, at most `limit`; [] when `afterSeq` is
   * current; null when events after `afterSeq` were already reclaimed by retention (the reader
   * starts again from the base).
   */
  readSince(app: string, afterSeq: number, limit: number): Promise<LoggedEvent[] | null>;
  /** The newest event's seq and message_id (0 and null for an empty log). */
  base(app: string): Promise<FeedBase>;
  /** Resolves once active: every event relayed into the log after that reaches the listener, in seq order. */
  subscribe(app: string, listener: EventLogListener): Promise<Unsubscribe>;
  /** One walk of an index (EventScan). */
  scan(app: string, scan: EventScan): Promise<EventScanResult>;
  get(app: string, messageId: string): Promise<LoggedEvent | null>;
  /** Applications with a log (admin queries span them). */
  apps(): Promise<string[]>;
  /** Event types present in an application's log, each with its traits' names and types. */
  types(app: string): Promise<Record<string, Record<string, TraitType>>>;
  /**
   * Redis: relays every outbox this node recorded into and waits until that is done (the node
   * relays by itself right after each change; tests and tools use this to wait). Memory: nothing.
   */
  flush(): Promise<void>;
}

/** Retention: how long and how many events each application keeps (config.ts eventRetentionSeconds, eventMaxPerApp). */
export interface EventRetention {
  maxAgeMs: number;
  maxEvents: number;
}

export const DEFAULT_EVENT_RETENTION: EventRetention = { maxAgeMs: 7 * 24 * 3600 * 1000, maxEvents: 100_000 };
