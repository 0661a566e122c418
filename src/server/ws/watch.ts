/**
 * What a metadata change does to live connections (protocol/websocket.md 2 "Expiry while
 * connected", 4.4): the engine announces every node's changes (Engine.watchMeta: Redis through the
 * metadata shard channel, memory in-process), and this module re-checks the connections concerned.
 *
 *   queue deleted ........ its subscriptions end: `unsubscribed` reason `queue_deleted`; the hub
 *                          drops the queue's live state (a queue created again starts fresh)
 *   queue updated ........ subscriptions of connections that may no longer read it end:
 *                          `access_revoked` (`queue_deleted` if it is gone by the time we look)
 *   application deleted .. its connections (key and agent tokens) close 4401 auth_invalid; the
 *                          subscriptions to its queues end with `queue_deleted`
 *   agent changed ........ its connections re-check their token: 4401 auth_invalid (revoked, agent
 *                          deleted) or token_expired
 *   resync ............... announcements may have been lost: all of the above, for everything
 *
 * Token expiry needs no announcement: a timer per connection (auth.ts armExpiry).
 *
 * Decisions: a re-check that fails because the store cannot answer (engine_unavailable) keeps the
 * connection and its subscriptions (an outage is not a revocation). Each event costs one lookup per
 * distinct credential or queue concerned, never one per connection, at most CONCURRENT_CHECKS at a
 * time.
 */
import type { SubscriptionEndReason } from '../../codec/index.js';
import { canRead } from '../../domain/auth.js';
import type { MetaEvent, QueueMeta } from '../../engine/types.js';
import type { AgentTokenResolver } from './auth.js';
import { checkCredentials } from './auth.js';
import type { Connection } from './connection.js';
import type { HandlerEnv } from './handlers/types.js';
import { sendFrame } from './send.js';
import { endSubscription } from './subscription.js';
import type { PartitionSubscription } from './subscription.js';

export class MetaWatch {
  private stopListening: (() => void) | null = null;
  /** Re-checks in progress (tests wait for them: settled()). */
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly env: HandlerEnv,
    private readonly connections: ReadonlySet<Connection>,
    private readonly agentForToken: AgentTokenResolver | undefined,
  ) {}

  start(): void {
    this.stopListening ??= this.env.engine.watchMeta((event) => this.onEvent(event));
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = null;
  }

  /** Resolves once every re-check started so far is done. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private onEvent(event: MetaEvent): void {
    const work = this.handle(event)
      .catch((err: unknown) => this.env.logger.error({ err, event }, 'ws: re-checking after a metadata change failed'))
      .finally(() => this.running.delete(work));
    this.running.add(work);
  }

  private async handle(event: MetaEvent): Promise<void> {
    if (event.kind !== 'queue') {
      // Credentials being checked right now may have been read before this change.
      for (const conn of this.connections) if (conn.authenticating) conn.credentialsQuestioned = true;
    }
    switch (event.kind) {
      case 'queue':
        if (event.deleted) this.queueGone(event.app, event.queue);
        else await this.recheckQueues([[event.app, event.queue]]);
        return;
      case 'app':
        await Promise.all([
          this.recheckConnections((c) => c.principal.kind !== 'anonymous' && c.principal.application === event.app),
          this.recheckQueues(this.subscribedQueues((app) => app === event.app)),
        ]);
        return;
      case 'agent':
        await this.recheckConnections((c) => c.principal.kind === 'agent' && c.principal.application === event.app && c.principal.agent_uuid === event.agent);
        return;
      case 'resync':
        await Promise.all([this.recheckConnections(() => true), this.recheckQueues(this.subscribedQueues(() => true))]);
        return;
    }
  }

  /** Closes with 4401 the matching connections whose credentials no longer hold. */
  private async recheckConnections(match: (c: Connection) => boolean): Promise<void> {
    // One lookup per distinct credential (many connections often share one key).
    const groups = new Map<string, Connection[]>();
    for (const conn of this.connections) {
      const creds = conn.authCredentials;
      if (conn.closed || creds === null || !match(conn)) continue;
      const memo = `${'key' in creds ? `k:${creds.key}` : `t:${creds.token}`}\u0000${JSON.stringify(conn.principal)}`;
      const group = groups.get(memo);
      if (group === undefined) groups.set(memo, [conn]);
      else group.push(conn);
    }
    await inBatches([...groups.values()], async (conns) => {
      const refused = await checkCredentials(this.env.ctx, conns[0]!, this.agentForToken);
      if (refused !== null) for (const conn of conns) conn.close(4401, refused);
    });
  }

  /** [application, queue] of every queue some connection here follows, filtered by application. */
  private subscribedQueues(appMatches: (app: string) => boolean): Array<[string, string]> {
    const seen = new Map<string, [string, string]>();
    for (const conn of this.connections) {
      for (const sub of conn.subs.values()) {
        if (appMatches(sub.ref.app)) seen.set(`${sub.ref.app}/${sub.ref.queue}`, [sub.ref.app, sub.ref.queue]);
      }
    }
    return [...seen.values()];
  }

  /** Reads each queue again: gone → queue_deleted; readable no more → access_revoked. */
  private async recheckQueues(queues: Array<[string, string]>): Promise<void> {
    await inBatches(queues, async ([app, queue]) => {
      let meta: QueueMeta | null;
      try {
        meta = await this.env.engine.getQueue(app, queue);
      } catch (err) {
        this.env.logger.warn({ err, app, queue }, 'ws: cannot re-check a changed queue now');
        return;
      }
      if (meta === null) return this.queueGone(app, queue);
      const readable = meta;
      this.endSubscriptions(app, queue, 'access_revoked', (conn) => !canRead(conn.application, readable));
    });
  }

  private queueGone(app: string, queue: string): void {
    this.endSubscriptions(app, queue, 'queue_deleted', () => true);
    this.env.hub.retireUnder(`${app}/${queue}/`);
  }

  /**
   * Ends the subscriptions to the queue of the matching connections, each with one unsolicited
   * `unsubscribed` per connection (no `id`), after which no `message` frame of those partitions is
   * written. A subscription whose `subscribed` reply is not out yet is ended right after it.
   */
  private endSubscriptions(app: string, queue: string, reason: SubscriptionEndReason, match: (c: Connection) => boolean): void {
    for (const conn of this.connections) {
      if (conn.closed || conn.subs.size === 0) continue;
      const subs = [...conn.subs.values()].filter((s) => s.ref.app === app && s.ref.queue === queue);
      if (subs.length === 0 || !match(conn)) continue;
      const now: PartitionSubscription[] = [];
      for (const sub of subs) {
        if (conn.pendingSubs.has(sub)) conn.pendingEndings.set(sub, reason);
        else now.push(sub);
      }
      endWithNotice(this.env, conn, now, reason);
    }
  }
}

/**
 * Store lookups a re-check runs at once: a resync re-checks every connection of the node, which must
 * not turn into one burst of thousands of commands.
 */
const CONCURRENT_CHECKS = 32;

async function inBatches<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_CHECKS, items.length) }, worker));
}

/** Ends `subs` (one queue's) and tells the client with one unsolicited `unsubscribed`. */
export function endWithNotice(env: HandlerEnv, conn: Connection, subs: PartitionSubscription[], reason: SubscriptionEndReason): void {
  if (subs.length === 0) return;
  for (const sub of subs) endSubscription(env, sub);
  sendFrame(conn, {
    type: 'unsubscribed',
    application: subs[0]!.ref.app,
    queue: subs[0]!.ref.queue,
    partitions: subs.map((s) => s.ref.partition).sort((a, b) => a - b),
    reason,
  });
}
