/**
 * The storage + fan-out contract. Two implementations (memory/, redis/) pass one conformance suite
 * (test/integration/engine-conformance.test.ts). The engine knows nothing of HTTP, WebSocket or auth:
 * it stores, orders, expires and announces. Validation of user input happens in src/domain before a
 * call reaches here; an engine may assume its arguments are well-formed (ranges checked, ids valid).
 */

import type { EventLog } from './events.js';
import type { FeedEvent, FeedListener, Unsubscribe } from './feed.js';

export type EngineKind = 'memory' | 'redis';
export type QueueType = 'user' | 'public';
export type Consistency = 'weak' | 'strong' | 'very_strong';
export type ReadOrder = 'ascending' | 'descending';

import type { AppendFields, MessageFields, PatchFields } from '../message-fields.js';

export type { JsonValue } from '../message-fields.js';

export interface AppRecord {
  name: string;
  /** Epoch seconds. */
  created: number;
}

/** One key of an application (never the key itself: it is shown once, at creation). */
export interface AppKeyRecord {
  /** 16 hex characters (app-keys.ts keyIdOf). */
  id: string;
  /** Epoch seconds. */
  created: number;
  /** Epoch seconds from which the key is refused; null: it does not expire. */
  expires: number | null;
}

/** A key just made: the secret (shown once) and its record. */
export interface NewAppKey {
  key: string;
  record: AppKeyRecord;
}

export interface QueueMeta {
  application: string;
  name: string;
  partitions: number;
  type: QueueType;
  consistency: Consistency;
  /** `app:<name>` entries allowed to read; empty: the owner application only. */
  principles: string[];
  /** Epoch seconds. */
  created: number;
}

export interface PartitionRef {
  app: string;
  queue: string;
  /** 1-based. */
  partition: number;
}

/** Optional fields (content type, in-reply-to, ...) come from the one field table, src/message-fields.ts. */
export interface NewMessage extends AppendFields {
  body: string | Uint8Array;
  /** Seconds, already validated (1..2^25). */
  ttl: number;
  /** 1-based, already chosen (the domain picks a random one when the producer gave none). */
  partition: number;
}

export interface StoredMessage extends MessageFields {
  /** 32 hex, see src/engine/ids.ts. */
  id: string;
  partition: number;
  /** Partition sequence number (also inside the id): +1 per message in the partition. */
  seq: number;
  /** Microseconds since the epoch, assigned by the engine (the same value is inside the id). */
  timestampUs: number;
  body: string | Uint8Array;
  ttl: number;
  /** Milliseconds since the epoch; a message is invisible from this instant on. */
  expiresAtMs: number;
  // updatedAtUs (MessageFields): microseconds since the epoch of the last change; absent until one.
}

/**
 * `since` is inclusive (Queuey): an id selects that message and everything after it (ascending) or
 * before it (descending); a timestamp selects messages with timestamp >= since (ascending) or <= since
 * (descending).
 */
export type ReadCursor = { kind: 'id'; id: string } | { kind: 'timestamp'; seconds: number };

export interface ReadOptions {
  since?: ReadCursor;
  /** 1..1000, already validated. */
  limit: number;
  order: ReadOrder;
}

/** Fields to change on a stored message; `null` clears an optional field. Id and timestamp never change. */
export interface MessagePatch extends PatchFields {
  body?: string | Uint8Array;
  /** A new ttl counts from the moment of the update. */
  ttl?: number;
}

/**
 * What a partition announces: a feed (feed.ts) whose entries are messages. `message` events arrive
 * in exactly the order the messages were appended (the append and the publish are one atomic step).
 * `resync` means the live feed may have lost events (e.g. the engine's connection dropped and came
 * back): a listener that needs completeness must re-read history from its last seen message.
 */
export type PartitionEvent = FeedEvent<'message', StoredMessage>;

export type PartitionListener = FeedListener<'message', StoredMessage>;
export type { Unsubscribe };

/**
 * A change of metadata or credentials, as every node hears it (Engine.watchMeta): what live
 * connections re-check (protocol/websocket.md 2 "Expiry while connected", 4.4).
 * - `queue`: the queue's metadata changed, or (`deleted`) the queue was deleted;
 * - `app`: the application was deleted (its keys revoked, its queues deleted), or one of its keys
 *   was revoked, given an expiry by a rotation, or reached that expiry: its connections re-check
 *   their credentials;
 * - `agent`: one of the agent's tokens was revoked, or the agent was deleted;
 * - `resync`: announcements may have been missed (the engine lost its feed and got it back):
 *   re-check everything.
 */
export type MetaEvent =
  | { kind: 'queue'; app: string; queue: string; deleted: boolean }
  | { kind: 'app'; app: string }
  | { kind: 'agent'; app: string; agent: string }
  | { kind: 'resync' };

export type MetaListener = (event: MetaEvent) => void;

export interface EngineCapabilities {
  /** Data survives a restart of the process (and of the store, when it persists). */
  persistence: boolean;
  /** Several Holdline processes can share this engine. */
  multiNode: boolean;
  /** Consistency levels that are enforced rather than accepted as labels. */
  consistency: Record<Consistency, boolean>;
}

export interface ListQueuesOptions {
  /** Queue name to start from (inclusive), Queuey's `offset`. */
  offset?: string;
  limit: number;
}

export interface Engine {
  readonly kind: EngineKind;
  readonly capabilities: EngineCapabilities;
  /**
   * The deployment's event log (events.ts, protocol/events.md): every change this engine and the call
   * store sharing it make is recorded in it, atomically with the change; queries and feeds read it.
   */
  readonly events: EventLog;

  start(): Promise<void>;
  /** Stops timers and connections; idempotent. */
  close(): Promise<void>;
  /** True when the store answers. */
  ready(): Promise<boolean>;

  // --- applications and keys ---
  /** Creates the application with a first key; null when the name is taken. */
  createApp(name: string): Promise<{ app: AppRecord; key: string; keyId: string } | null>;
  /** The application's keys, expired ones left out, oldest first; HoldlineError app_not_found. */
  listKeys(app: string): Promise<AppKeyRecord[]>;
  /** A new key that does not expire; HoldlineError app_not_found. */
  addKey(app: string): Promise<NewAppKey>;
  /**
   * A new key replacing `keyId`, which now expires `graceSeconds` from now (0: at once; a key that
   * already expires sooner keeps its expiry). HoldlineError app_not_found / key_not_found.
   */
  rotateKey(app: string, keyId: string, graceSeconds: number): Promise<NewAppKey & { replaced: { id: string; expires: number } }>;
  /**
   * Revokes the key at once (every node). HoldlineError app_not_found / key_not_found, or last_key
   * when it is the application's last key that does not expire (an application keeps one).
   */
  deleteKey(app: string, keyId: string): Promise<void>;
  getApp(name: string): Promise<AppRecord | null>;
  listApps(): Promise<AppRecord[]>;
  /** Deletes the application, revokes all its keys and deletes all its queues with their messages. */
  deleteApp(name: string): Promise<boolean>;
  /** The application a key belongs to, or null (unknown, revoked or expired). Keys are stored hashed, never in clear. */
  appForKey(key: string): Promise<string | null>;

  // --- message queues ---
  /** False when a queue of that name already exists in the application. */
  createQueue(meta: QueueMeta): Promise<boolean>;
  getQueue(app: string, name: string): Promise<QueueMeta | null>;
  /** Replaces the metadata (partitions only ever grow: checked by the domain). */
  updateQueue(meta: QueueMeta): Promise<void>;
  /** Deletes the queue and every message of every partition. */
  deleteQueue(app: string, name: string): Promise<boolean>;
  /** Sorted by queue name. */
  listQueues(app: string, opts: ListQueuesOptions): Promise<QueueMeta[]>;

  // --- messages ---
  /**
   * Appends in input order and returns the stored messages in input order. Messages for one partition
   * are appended atomically together with their live announcement. Resolves only when the queue's
   * consistency level is met, else rejects with HoldlineError('not_confirmed').
   */
  append(queue: QueueMeta, messages: NewMessage[]): Promise<StoredMessage[]>;
  /** Never returns expired messages. */
  read(ref: PartitionRef, opts: ReadOptions): Promise<StoredMessage[]>;
  getMessage(ref: PartitionRef, id: string): Promise<StoredMessage | null>;
  /** Null when the message does not exist (or has expired). */
  updateMessage(ref: PartitionRef, id: string, patch: MessagePatch): Promise<StoredMessage | null>;
  /** Returns how many of the ids existed and were deleted. */
  deleteMessages(ref: PartitionRef, ids: string[]): Promise<number>;
  /** Live (unexpired) messages in the partition. */
  count(ref: PartitionRef): Promise<number>;

  // --- fan-out ---
  /**
   * Resolves once the subscription is active: every message appended after that is delivered to the
   * listener (so subscribe-then-read-history cannot miss anything). Listeners must not throw.
   */
  subscribe(ref: PartitionRef, listener: PartitionListener): Promise<Unsubscribe>;

  // --- metadata announcements ---
  /**
   * Every node's metadata changes (this one's included), after the change is stored: queue updates
   * and deletions, application deletions, and what announceAgentChange announces. Returns the
   * function that stops listening. Listeners must not throw.
   */
  watchMeta(listener: MetaListener): () => void;
  /**
   * Tells every node's watchMeta that an agent lost credentials (a token revoked, the agent
   * deleted). The call store keeps agents; this carries the news to live connections.
   */
  announceAgentChange(app: string, agent: string): Promise<void>;
}
