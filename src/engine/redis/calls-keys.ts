/**
 * Keys of the Redis call store. Nothing else spells one.
 *
 * One call queue = one hash tag `{<prefix>:c:<app>:<queue uuid>}`: its eight keys (and its shard
 * channel) live in one slot, so every call-queue script (lua/call-*.lua) is atomic on one shard,
 * in a cluster too, and queues spread over shards. An application's agents, tags and relations
 * share a second tag `{<prefix>:ca:<app>}`; scripts derive the per-agent / per-tag set keys from
 * that tag's base, so they stay in its slot. Agent tokens are looked up by hash alone (the
 * application is not known before), one key each under `<prefix>:ctok:`.
 *
 * Names are percent-encoded like keys.ts does, so `:`, `{` and `}` never occur inside one.
 */
const enc = encodeURIComponent;

/**
 * In the order every call-queue script takes them as KEYS[1..8]:
 *   meta     HASH  q (queue JSON), seq (last change), joinseq (last join number)
 *   stats    HASH  counters: ringing connected logged_in available paused completed abandoned
 *                  timed_out transferred answered_wait_ms answered_within
 *   callers  HASH  caller uuid -> caller JSON (no position: that is the rank in line)
 *   line     ZSET  waiting callers by lineScore (priority desc, then join order)
 *   age      ZSET  unanswered (waiting or ringing) callers by join time, ms
 *   members  HASH  agent uuid -> member JSON
 *   log      LIST  change JSON, oldest first, capped at the retention
 *   channel  shard channel; every key and the channel share the queue's hash tag
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
];

export interface CallAppKeys {
  /**
   * KEYS[1..4] of every call-agent / call-tag script:
   *   agents  HASH    agent uuid -> agent JSON
   *   tags    HASH    tag id -> name
   *   tagids  HASH    tag name -> id
   *   tagseq  STRING  last tag id
   */
  keys: [agents: string, tags: string, tagIds: string, tagSeq: string];
  /**
   * ARGV[1] of those scripts: the application's hash tag and ":". The sets derived from it share
   * the hash tag of `keys`, so every script stays in one slot: <base>agent-tags:<uuid> SET tag ids,
   * <base>tag-agents:<id> SET agent uuids, <base>agent-queues:<uuid> SET the agent's call queues.
   */
  base: string;
  /** ZSET of the application's call queue uuids by creation number (listing order). */
  queues: string;
  /** Last call queue creation number. */
  queueSeq: string;
}

export class CallKeys {
  constructor(readonly prefix: string) {}

  queue(app: string, queueId: string): CallQueueKeys {
    const t = `{${this.prefix}:c:${enc(app)}:${enc(queueId)}}`;
    return [`${t}:meta`, `${t}:stats`, `${t}:callers`, `${t}:line`, `${t}:age`, `${t}:members`, `${t}:log`, `${t}:ch`];
  }

  app(app: string): CallAppKeys {
    const t = `{${this.prefix}:ca:${enc(app)}}`;
    return {
      keys: [`${t}:agents`, `${t}:tags`, `${t}:tagids`, `${t}:tagseq`],
      base: `${t}:`,
      queues: `${t}:queues`,
      queueSeq: `${t}:queueseq`,
    };
  }

  /** SET of the call queues an agent is a member of (the scripts derive the same name from `base`). */
  agentQueues(app: string, agentUuid: string): string {
    return `${this.app(app).base}agent-queues:${agentUuid}`;
  }

  token(hash: string): string {
    return `${this.prefix}:ctok:${hash}`;
  }
}
