/**
 * The one key builder of the Redis engine (STYLE.md example 2). Nothing else spells a key.
 *
 * Cluster safety is not optional: every key of one partition, and its live channel, embeds the same
 * hash tag `{<prefix>:m:<app>:<queue>:<p>}`, so a partition lives in one slot and each of its Lua
 * scripts (append + SPUBLISH included) runs on one shard. All deployment metadata (applications,
 * keys, queue catalogues) shares a second tag `{<prefix>:meta}`, so the scripts that change several
 * of those keys at once are single-slot too. The expiry index has its own tag: it is written after
 * every append, so it should not also carry the metadata's read load.
 *
 * Names are percent-encoded (encodeURIComponent) before they enter a key: `:`, `{` and `}` can then
 * never occur inside a name, which keeps both the separators and the hash tag unambiguous.
 *
 * Partition layout:
 *   <tag>:ids    ZSET  every id at score 0; fixed-length hex ids sort lexicographically in partition
 *                      order, so since-by-id and since-by-timestamp are both one ZRANGEBYLEX
 *   <tag>:msg    HASH  id -> message record (src/engine/redis/record.ts)
 *   <tag>:exp    ZSET  id -> expiresAtMs (expiry filter, count, sweep)
 *   <tag>:state  HASH  ts (last timestampUs), seq (last sequence number): never deleted with the
 *                      messages, so ids keep increasing after a partition empties; q, the queue's
 *                      marker: '+<incarnation>' while the queue exists (append.lua refuses without
 *                      it), '-<incarnation>' once deleted, the hash then expiring (partition-drop.lua)
 *   <tag>:live   shard channel carrying each appended message, published by the append script
 */
import type { PartitionRef } from '../types.js';

export interface PartitionKeys {
  ids: string;
  msg: string;
  exp: string;
  state: string;
  channel: string;
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

  private readonly meta: string;

  constructor(readonly prefix: string) {
    this.meta = `{${prefix}:meta}`;
    this.expiryIndex = `{${prefix}:expiry}:index`;
    this.apps = `${this.meta}:apps`;
    this.keyHashes = `${this.meta}:keys`;
    this.queueIncSeq = `${this.meta}:incseq`;
    this.metaChannel = `${this.meta}:changes`;
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
    return { ids: `${tag}:ids`, msg: `${tag}:msg`, exp: `${tag}:exp`, state: `${tag}:state`, channel: `${tag}:live` };
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
}
