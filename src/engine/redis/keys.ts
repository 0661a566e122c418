/**
 * The one key builder of the Redis engine (STYLE.md "Keys in one builder"). Nothing else spells a
 * key, and every Lua script receives each key it touches in KEYS, built here: no script derives a
 * key from a prefix in ARGV.
 *
 * Cluster safety is not optional: every key carries a hash tag, and the keys one script touches
 * share it, so every script runs on one shard, atomically, in a cluster too:
 *
 *   {<prefix>:m:<app>:<queue>:<p>}   one message partition (PartitionKeys) and its live channel
 *   {<prefix>:meta}                  deployment metadata: applications, their keys, queue catalogues,
 *                                    and the channel announcing changes of cached metadata
 *   {<prefix>:expiry}                the expiry index (written after every append, so it does not
 *                                    carry the metadata's read load)
 *   {<prefix>:c:<app>:<queue uuid>}  one call queue (CallQueueKeys) and its shard channel
 *   {<prefix>:ca:<app>}              an application's agents, tags and call queue listing (CallAppKeys)
 *   {<prefix>:ctok:<token hash>}     one agent token
 *   {<prefix>:wh:<app>}              an application's webhook endpoints, their delivery states and leases (WebhookKeys)
 *   {<prefix>:whidx}                 the applications that have webhook endpoints (what every node scans)
 *   {<prefix>:ev:<app>}              an application's event log (EventLogKeys; src/engine/redis/events.ts)
 *   {<prefix>:evreg}                 the registries of event outboxes and event logs (relay sweep, retention)
 *
 * Event outboxes (protocol/events.md "Recording"): every slot whose scripts record events has one
 * STREAM `<tag>:evout`, written by the script that makes the change (lua/includes/event-record.lua)
 * and copied into the application's log by the relay: a partition's `outbox`, a call queue's and an
 * application's call keys' last key, and `metaOutbox` for applications, keys and queue metadata.
 *
 * Names are percent-encoded (encodeURIComponent) before they enter a key: `:`, `{` and `}` can then
 * never occur inside a name, which keeps both the separators and the hash tag unambiguous.
 *
 * Partition layout (PartitionKeys):
 *   <tag>:ids    ZSET  every id at score 0; fixed-length hex ids sort lexicographically in partition
 *                      order, so since-by-id and since-by-timestamp are both one ZRANGEBYLEX
 *   <tag>:msg    HASH  id -> message record (src/engine/redis/record.ts)
 *   <tag>:exp    ZSET  the expiry index (sweep, and the reads' and count's expiry filter), entries at
 *                      an expiresAtMs: '<first id> <last id>', a run: the messages of one append
 *                      call that share a ttl, consecutive in the partition (append.lua); or an id:
 *                      a run of one, or the message's own expiry once an update gave it another
 *                      ttl (update.lua). A message's expiry is its record's field e; the index
 *                      holds, for every stored message, an entry covering it at or before that
 *                      expiry, and an id entry's score is exactly its message's expiry, so a
 *                      message in a due run whose own entry is not due lives on
 *                      (lua/includes/expiredIds.lua, sweep.lua). One entry per run instead of one
 *                      per message (issue 18): a ZADD per message was a third of an append's
 *                      Redis CPU. Data from before (an id entry per message) is the special case
 *                      of runs of one and is read and swept as it is: no migration, no version key.
 *   <tag>:state  HASH  ts (last timestampUs), seq (last sequence number): never deleted with the
 *                      messages, so ids keep increasing after a partition empties; q, the queue's
 *                      marker: '+<incarnation>' while the queue exists (append.lua refuses without
 *                      it), '-<incarnation>' once deleted, the hash then expiring (partition-drop.lua);
 *                      v, the change version: +1 by every update or delete of a stored message
 *                      (lua/includes/messageChanged.lua), what a node's in-process tail is checked against
 *   <tag>:live   shard channel carrying each appended message, published by the append script
 *
 * Processing-state indexes (SPEC.md 3.5; read-filtered-8.lua reads them, so a filtered read costs
 * what it returns, not the partition's size). `<state>.w` is the index watermark: the last id the
 * indexes have taken in (lua/includes/indexCatchUp.lua). Messages up to it are in exactly one of
 * `stated` / `unset`; a message after it has no client_state (a state change first brings the
 * watermark up to its message), so append.lua writes no index and "unset" after the watermark is
 * simply the ids after it.
 *   <tag>:stated   ZSET  '<client_state> <id>' at score 0 (a state's ids, in partition order)
 *   <tag>:unset    ZSET  ids without a client_state, up to the watermark, at score 0
 *   <tag>:updated  ZSET  id -> updatedAtUs, for every message changed at least once
 *   <tag>:replies  ZSET  '<in_reply_to> <id>' at score 0, up to the watermark
 * A change writes them in the script that makes it (update-9.lua), a delete or a reclamation
 * removes the message from every one in the same script (delete-8.lua, sweep-7.lua).
 */
import type { PartitionRef } from '../types.js';

export interface PartitionKeys {
  ids: string;
  msg: string;
  exp: string;
  state: string;
  channel: string;
  stated: string;
  unset: string;
  updated: string;
  replies: string;
  /** STREAM: the partition slot's event outbox (message update, state and delete events). */
  outbox: string;
}

/**
 * An application's event log, in the order the event-log scripts take them as KEYS[1..8]
 * (src/engine/redis/events.ts; the layout of issue 13's second step, under names no earlier version
 * used: see eventLogBefore13):
 *   meta       HASH    seq (last seq), first (oldest retained seq)
 *   records    HASH    seq -> event JSON ({seq, us, q?, event}; q: the queue_id it is indexed by)
 *   time       ZSET    written by earlier versions only (every event, as `byType`): no longer
 *                      written or read, reclaimed by a TTL (README "Upgrading across the time index
 *                      removal"); the key stays in the list so that no script's KEYS move
 *   sources    HASH    outbox key -> the last stream id relayed from it (the relay's idempotence)
 *   types      HASH    event type -> JSON {trait name: type}
 *   channel    shard channel: each relay call's new events, their records joined by '\n' (256 at most per message), in seq order
 *   byType     prefix: `<byType><event type>` is a ZSET of that type's events: score its generated
 *              µs (exact in a double), member `<message_id><seq>` (relayed) or the seq in twelve
 *              digits (recorded on one Redis: its message_id is made from the seq, events.ts
 *              directMessageId); equal scores sort by member, so by message_id (within one µs of
 *              one log the seq's order is the id's): the order is Panko's (generated, then
 *              message_id), and the member names the record. Every event is in exactly one, so a
 *              walk of every event merges them (the types hash names them). By message_id: the
 *              UUIDv7 carries its ms, whose 1000 µs of the type indexes hold it; one recorded on
 *              one Redis also names its seq (event-record-direct.lua), read first
 *   byQueue    prefix: `<byQueue><queue_id>` is a ZSET like `byType` of the events with that queue_id
 * The last two are key prefixes, not keys: the one place a script appends a name to a key (the
 * relay learns an event's type and queue in Lua, retention from the record it removes, so neither
 * can be named in KEYS beforehand). They carry the log's hash tag, so every key built from them is
 * in the log's slot; the name is appended as it is (not percent-encoded: Lua has no
 * encodeURIComponent), after the tag, where `{`, `}` and `:` cannot mislead.
 */
export type EventLogKeys = [meta: string, records: string, time: string, sources: string, types: string, channel: string, byType: string, byQueue: string];

/**
 * In the order every call-queue script takes them as KEYS[1..8]:
 *   meta     HASH  q (queue JSON), seq (last change), joinseq (last join number), wallboard counters
 *                  wn:<minute>:<i> and wq:<quarter>:<i>, wb (the last minute opened)
 *                  (src/engine/wallboard.ts; lua/includes/call-wallboard.lua)
 *   stats    HASH  counters: ringing connected logged_in available paused completed abandoned
 *                  timed_out transferred answered_wait_ms answered_within
 *   callers  HASH  caller uuid -> caller JSON (no position: that is the rank in line)
 *   line     ZSET  waiting callers by lineScore (priority desc, then join order)
 *   age      ZSET  unanswered (waiting or ringing) callers by join time, ms
 *   members  HASH  agent uuid -> member JSON
 *   log      LIST  change JSON, oldest first, capped at the retention
 *   channel  shard channel; every key and the channel share the queue's hash tag
 *   outbox   STREAM the queue slot's event outbox (every change records its event here)
 */
export type CallQueueKeys = [
  meta: string,
  stats: string,
  callers: string,
  line: string,
  age: string,
  members: string,
  log: string,
  channel: string,
  outbox: string,
];

/**
 * In the order every call-agent / call-tag script takes them as KEYS[1..8]:
 *   agents       HASH    agent uuid -> agent JSON
 *   tags         HASH    tag id -> name
 *   tagids       HASH    tag name -> id
 *   tagseq       STRING  last tag id
 *   agentseq     STRING  last agent creation number (listing order)
 *   agenttags    HASH    agent uuid -> JSON array of its tag ids
 *   tagagents    HASH    tag id -> JSON array of its agent uuids
 *   agentqueues  HASH    agent uuid -> JSON array of the call queues it is a member of
 *   outbox       STREAM  the application call slot's event outbox
 * An empty set is no field (lua/includes/call-json-set.lua).
 *
 * Layout change (issue 12): the last three were one SET key per agent or tag, whose names the
 * scripts built from a prefix passed in ARGV; as fields of three known hashes, every key a script
 * touches is in KEYS, whatever agents or tags it reaches. Data stored by the old layout is not
 * read (there were no deployments to migrate).
 */
export type CallAppScriptKeys = [
  agents: string,
  tags: string,
  tagIds: string,
  tagSeq: string,
  agentSeq: string,
  agentTags: string,
  tagAgents: string,
  agentQueues: string,
  outbox: string,
];

export interface CallAppKeys {
  /** KEYS[1..8] of every call-agent / call-tag script (CallAppScriptKeys). */
  scripts: CallAppScriptKeys;
  /** ZSET of the application's call queue uuids by creation number (listing order). */
  queues: string;
  /** STRING: last call queue creation number. */
  queueSeq: string;
}

/**
 * An application's webhooks (protocol/webhooks.md), one slot, so that every webhook script is atomic:
 *   hooks   HASH    endpoint id -> endpoint JSON (engine/webhook-types.ts Webhook)
 *   state   HASH    endpoint id -> delivery state JSON (WebhookState: cursor, last success and error)
 *   lease   STRING  per endpoint: the holder delivering to it, with an expiry (lease(id))
 */
export interface WebhookKeys {
  hooks: string;
  state: string;
  lease(id: string): string;
}

function enc(name: string): string {
  return encodeURIComponent(name);
}

export class RedisKeys {
  /** ZSET: partition member -> earliest expiresAtMs among its messages (see sweeper.ts). */
  readonly expiryIndex: string;
  /** HASH: application name -> JSON AppRecord. */
  readonly apps: string;
  /** HASH: sha256(key) hex -> application name, plus ` <expiry epoch ms>` for a key that expires. */
  readonly keyHashes: string;
  /** STRING: the last queue incarnation number drawn (queue-create.lua); never deleted. */
  readonly queueIncSeq: string;
  /**
   * Shard channel announcing changes of cached metadata (meta-cache.ts). Same hash tag as the
   * metadata, so the script that makes a change announces it in the same atomic step.
   */
  readonly metaChannel: string;
  /** STREAM: the metadata slot's event outbox (applications, keys, message queues). */
  readonly metaOutbox: string;
  /** ZSET: outbox key (with its application, see events.ts) -> ms it was last registered. */
  readonly eventOutboxes: string;
  /** SET: applications that have an event log (retention sweep, admin queries). */
  readonly eventLogs: string;

  private readonly meta: string;

  constructor(readonly prefix: string) {
    this.meta = `{${prefix}:meta}`;
    this.expiryIndex = `{${prefix}:expiry}:index`;
    this.apps = `${this.meta}:apps`;
    this.keyHashes = `${this.meta}:keys`;
    this.queueIncSeq = `${this.meta}:incseq`;
    this.metaChannel = `${this.meta}:changes`;
    this.metaOutbox = `${this.meta}:evout`;
    this.eventOutboxes = `{${prefix}:evreg}:outboxes`;
    this.eventLogs = `{${prefix}:evreg}:logs`;
  }

  /** SET of the key hashes of one application (to revoke them all). */
  appKeys(app: string): string {
    return `${this.meta}:appkeys:${enc(app)}`;
  }

  /** HASH: key hash -> JSON {created, expires} of one application's keys (epoch seconds; app-keys.ts). */
  appKeyInfo(app: string): string {
    return `${this.meta}:keyinfo:${enc(app)}`;
  }

  /** HASH: queue name -> JSON QueueMeta. */
  queues(app: string): string {
    return `${this.meta}:queues:${enc(app)}`;
  }

  /** HASH: queue name -> incarnation number (which queue of that name; partition-mark.lua). */
  queueIncs(app: string): string {
    return `${this.meta}:qincs:${enc(app)}`;
  }

  /** ZSET of queue names at score 0: listing sorted by name with an inclusive offset. */
  queueNames(app: string): string {
    return `${this.meta}:qnames:${enc(app)}`;
  }

  partition(ref: PartitionRef): PartitionKeys {
    const tag = `{${this.prefix}:m:${enc(ref.app)}:${enc(ref.queue)}:${ref.partition}}`;
    return {
      ids: `${tag}:ids`,
      msg: `${tag}:msg`,
      exp: `${tag}:exp`,
      state: `${tag}:state`,
      channel: `${tag}:live`,
      stated: `${tag}:stated`,
      unset: `${tag}:unset`,
      updated: `${tag}:updated`,
      replies: `${tag}:replies`,
      outbox: `${tag}:evout`,
    };
  }

  /** The expiry index names partitions by this member. */
  partitionMember(ref: PartitionRef): string {
    return `${enc(ref.app)}:${enc(ref.queue)}:${ref.partition}`;
  }

  parsePartitionMember(member: string): PartitionRef | null {
    const parts = member.split(':');
    if (parts.length !== 3) return null;
    const partition = Number(parts[2]);
    if (!Number.isInteger(partition) || partition < 1) return null;
    try {
      return { app: decodeURIComponent(parts[0]!), queue: decodeURIComponent(parts[1]!), partition };
    } catch {
      return null;
    }
  }

  /** The keys of one call queue, in script order (CallQueueKeys). */
  callQueue(app: string, queueId: string): CallQueueKeys {
    const t = `{${this.prefix}:c:${enc(app)}:${enc(queueId)}}`;
    return [`${t}:meta`, `${t}:stats`, `${t}:callers`, `${t}:line`, `${t}:age`, `${t}:members`, `${t}:log`, `${t}:ch`, `${t}:evout`];
  }

  /** An application's call keys: agents, tags and their relations, the call queue listing. */
  callApp(app: string): CallAppKeys {
    const t = `{${this.prefix}:ca:${enc(app)}}`;
    return {
      scripts: [`${t}:agents`, `${t}:tags`, `${t}:tagids`, `${t}:tagseq`, `${t}:agentseq`, `${t}:agenttags`, `${t}:tagagents`, `${t}:agentqueues`, `${t}:evout`],
      queues: `${t}:queues`,
      queueSeq: `${t}:queueseq`,
    };
  }

  /** An application's webhook keys (WebhookKeys). */
  webhooks(app: string): WebhookKeys {
    const t = `{${this.prefix}:wh:${enc(app)}}`;
    return { hooks: `${t}:hooks`, state: `${t}:state`, lease: (id) => `${t}:lease:${enc(id)}` };
  }

  /** SET: the applications that have (or had) webhook endpoints; scanned by every node's dispatcher. */
  get webhookApps(): string {
    return `{${this.prefix}:whidx}:apps`;
  }

  /** An application's event log keys, in script order (EventLogKeys). */
  eventLog(app: string): EventLogKeys {
    const t = `{${this.prefix}:ev:${enc(app)}}`;
    return [`${t}:lmeta`, `${t}:records`, `${t}:time`, `${t}:sources`, `${t}:types`, `${t}:lch`, `${t}:type:`, `${t}:queue:`];
  }

  /** ZSET: one event type's index in an application's log (EventLogKeys byType). */
  eventTypeIndex(app: string, type: string): string {
    return `${this.eventLog(app)[6]}${type}`;
  }

  /** ZSET: one queue_id's index in an application's log (EventLogKeys byQueue). */
  eventQueueIndex(app: string, queueId: string): string {
    return `${this.eventLog(app)[7]}${queueId}`;
  }

  /**
   * The log's keys as versions before issue 13's index change wrote them (meta, events, ids, index):
   * never read; a node gives them a TTL of the retention age once (README "Upgrading across the
   * event index change").
   */
  eventLogBefore13(app: string): string[] {
    const t = `{${this.prefix}:ev:${enc(app)}}`;
    return [`${t}:meta`, `${t}:events`, `${t}:ids`, `${t}:index`];
  }

  /**
   * STRING: one agent token's record, by the token's hash alone (the application is not known
   * before it is read).
   */
  agentToken(hash: string): string {
    return `{${this.prefix}:ctok:${hash}}`;
  }

  /**
   * A call queue's routing keys (protocol/routing.md), in the queue's slot: KEYS[10..12] of the
   * route-*-12.lua scripts, after the queue's nine (RoutingQueueKeys).
   */
  routingQueue(app: string, queueId: string): RoutingQueueKeys {
    const t = `{${this.prefix}:c:${enc(app)}:${enc(queueId)}}`;
    return [`${t}:offers`, `${t}:rdue`, `${t}:routing`];
  }

  /** HASH: agent uuid -> engagement JSON (routing.md section 5), in the application's call slot. */
  callEngaged(app: string): string {
    return `{${this.prefix}:ca:${enc(app)}}:engaged`;
  }

  /** Routing's due index, swept by every node (routing.md section 6): ZSET due and HASH dirty. */
  routingNotices(): string {
    return `{${this.prefix}:rt}:notices`;
  }

  routingDue(): { due: string; dirty: string } {
    const t = `{${this.prefix}:rt}`;
    return { due: `${t}:due`, dirty: `${t}:dirty` };
  }
}

/**
 *   offers     HASH  offer id -> offer JSON (with `remaining`: the agents whose part is open)
 *   deadlines  ZSET  'o:<offer id>' at its expiry, 'w:<agent>' at its wrap-up end (ms)
 *   routing    HASH  s: settings JSON; rr: agent last offered by round_robin; m:<agent>: member state
 */
export type RoutingQueueKeys = [offers: string, deadlines: string, routing: string];
