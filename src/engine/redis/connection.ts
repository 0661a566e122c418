/**
 * Connections to Redis or Redis Cluster, configured to fail fast: while Redis is unreachable a
 * command is rejected at once (no offline queue) and a command in flight when the connection drops
 * is rejected rather than silently resent (a resent append could store a message twice). The engine
 * turns those rejections into HoldlineError('engine_unavailable') (SPEC.md 3.6, issue 6).
 * Connections reconnect by themselves, forever, with a capped backoff.
 *
 * URLs: `redis://[user:pass@]host:port[/db]` (or rediss://) for one server;
 * `redis+cluster://[user:pass@]host:port,host:port,...` for Redis Cluster (any reachable nodes seed
 * the topology; the db number does not exist in a cluster).
 */
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import { HoldlineError, isHoldlineError } from '../../errors.js';
import { observeRedis } from '../../metrics/registry.js';

export type RedisTarget =
  | { cluster: false; url: string }
  | { cluster: true; nodes: { host: string; port: number }[]; username?: string; password?: string };

export function parseRedisUrl(url: string): RedisTarget {
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return { cluster: false, url };
  const prefix = 'redis+cluster://';
  if (!url.startsWith(prefix)) throw new Error(`Redis URL must start with redis://, rediss:// or ${prefix}, got "${url}"`);
  let rest = url.slice(prefix.length).replace(/\/.*$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) || undefined;
    password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : undefined;
  }
  const nodes = rest.split(',').map((hp) => {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hp.trim());
    if (m === null) throw new Error(`Redis Cluster node must be host:port, got "${hp}" in "${url}"`);
    return { host: m[1]!, port: Number(m[2]) };
  });
  if (nodes.length === 0) throw new Error(`Redis Cluster URL lists no node: "${url}"`);
  const target: RedisTarget = { cluster: true, nodes };
  if (username !== undefined) target.username = username;
  if (password !== undefined) target.password = password;
  return target;
}

export interface ConnectionTuning {
  /** Longest a command may stay unanswered (a frozen Redis) before it is rejected. */
  commandTimeoutMs: number;
  /**
   * ioredis auto-pipelining: commands issued during one turn of the event loop leave in one write
   * (per node), in the order they were issued, while the previous batch is answered. Concurrent
   * requests then share round trips and system calls. Batched commands keep the order they were
   * issued in. Commands that bypass the batch (explicit pipelines, a few such as INFO, and
   * autoPipeliningExcept) can overtake batched ones issued just before them: the engine never
   * relies on order between commands it has not awaited (each step that needs the previous one's
   * effect awaits it), and appends to one partition are ordered by appender.ts anyway.
   */
  autoPipelining?: boolean;
  /**
   * Commands (script command names included) sent at once rather than batched: batching holds the
   * next batch until the previous one is answered, so Redis and Node take turns; for commands with
   * large replies (history reads) working side by side is faster.
   */
  autoPipeliningExcept?: string[];
}

function retry(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 5), 1000);
}

/** Options shared by every connection the engine opens to one server (commands or subscriber). */
export function baseOptions(tuning: ConnectionTuning, name: string): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    connectTimeout: 2000,
    commandTimeout: tuning.commandTimeoutMs,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: retry,
  };
}

/** A command connection: ioredis Redis or Cluster, not yet connected (call `connect()`). */
export function createCommandClient(target: RedisTarget, tuning: ConnectionTuning, name: string): Redis | Cluster {
  const autoPipelining = tuning.autoPipelining === true;
  const autoPipeliningIgnoredCommands = tuning.autoPipeliningExcept ?? [];
  if (!target.cluster) {
    return observeRedis(new Redis(target.url, { ...baseOptions(tuning, name), enableAutoPipelining: autoPipelining, autoPipeliningIgnoredCommands }), name);
  }
  const { lazyConnect: _l, enableOfflineQueue: _e, retryStrategy: _r, ...redisOptions } = baseOptions(tuning, name);
  if (target.username !== undefined) redisOptions.username = target.username;
  if (target.password !== undefined) redisOptions.password = target.password;
  return observeRedis(new Cluster(target.nodes as ClusterNode[], {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: autoPipelining,
    autoPipeliningIgnoredCommands,
    clusterRetryStrategy: retry,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    // Topology changes (failovers, slot moves) are picked up within this period at worst; MOVED
    // replies and node failures trigger an earlier refresh.
    slotsRefreshInterval: 2000,
    redisOptions,
  }), name);
}

/**
 * Redis answers that mean "not available right now" rather than "your command is wrong". MOVED and
 * ASK reach a caller only when ioredis did not follow them (a cluster pipeline whose commands got
 * different answers, see isRedirection): the slot is changing hands and the command did not run.
 */
const UNAVAILABLE_REPLIES = ['LOADING', 'CLUSTERDOWN', 'TRYAGAIN', 'MASTERDOWN', 'READONLY', 'BUSY', 'NOREPLICAS', 'MOVED', 'ASK'];

/** A cluster redirection: the command was not run, and may be sent again once the slots are re-read. */
export function isRedirection(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError' && /^(MOVED|ASK) /.test(err.message);
}

/**
 * Maps a failure of a Redis call to the error catalogue: connection trouble (refused, dropped,
 * timed out, cluster unreachable) and "not available now" replies become engine_unavailable; any
 * other Redis reply error is a bug in a command or script and is passed on unchanged.
 */
export function toEngineError(err: unknown): Error {
  if (isHoldlineError(err)) return err;
  if (err instanceof Error && err.name === 'ReplyError') {
    const code = err.message.split(' ', 1)[0] ?? '';
    if (!UNAVAILABLE_REPLIES.includes(code)) return err;
  }
  return new HoldlineError('engine_unavailable', { cause: err });
}

/** The refusal of the SELECT a `/db` URL makes ioredis send on connecting ("ERR DB index is out of range"). */
function isSelectRefused(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError' && (err as Error & { command?: { name?: string } }).command?.name === 'select';
}

/**
 * `connect()`, failing with what the connection itself met (ECONNREFUSED, WRONGPASS, a bad
 * database index) rather than ioredis's "Connection is closed.", which says only that it ended.
 * A database number Redis refuses does not fail ioredis's connect: it reports the SELECT's error
 * (before the ready check, which is sent after the SELECT's reply) and goes on, on database 0. Here
 * it fails the connect instead, so a node never starts on a database it was not given.
 */
export async function connectReporting(client: Redis | Cluster): Promise<void> {
  let met: unknown;
  const onError = (err: unknown): void => {
    met = err;
  };
  client.on('error', onError);
  try {
    await client.connect();
  } catch (err) {
    throw met ?? err;
  } finally {
    client.off('error', onError);
  }
  if (isSelectRefused(met)) {
    client.disconnect();
    throw met;
  }
}

/** Runs a Redis call and maps its failure (see toEngineError). */
export async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toEngineError(err);
  }
}
