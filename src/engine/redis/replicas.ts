/**
 * Consistency levels (SPEC.md section 2, issue 6) and how many replicas each one waits for.
 *
 * Policy (the README documents it for operators):
 *   weak         acknowledged once the primary ran the append script.
 *   strong       then `WAIT 1 <waitTimeoutMs>`: at least one replica has the write.
 *   very_strong  then `WAIT <n> <waitTimeoutMs>` with n = the replicas the partition's primary
 *                reports (INFO replication `connected_slaves`, refreshed every few seconds).
 *   If WAIT confirms fewer than required in time, the append rejects with
 *   HoldlineError('not_confirmed'): the message may well be stored (and was announced), but its
 *   durability at that level is not confirmed, so the producer is never told "success".
 *   A primary without any replica cannot enforce strong or very_strong: writes to it are
 *   acknowledged as weak, and capabilities report strong/very_strong = false unless every primary
 *   has at least one replica. Accepting rather than refusing keeps a single-server deployment
 *   usable with the spec's default level (`strong`); the capabilities endpoint tells the truth.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Consistency } from '../types.js';
import { keySlot } from './slot.js';

function connectedReplicas(info: string): number {
  const m = /^connected_slaves:(\d+)/m.exec(info);
  return m === null ? 0 : Number(m[1]);
}

function nodeKey(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

export class ReplicaMonitor {
  /** Replicas per primary, by `host:port`; for a single server, the one entry under ''. */
  private counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly isCluster: boolean,
    private readonly refreshMs: number,
    private readonly logger: Logger | undefined,
  ) {}

  async start(): Promise<void> {
    await this.refresh().catch((err: unknown) => this.logger?.warn({ err }, 'redis engine: replica count unavailable'));
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.logger?.debug({ err }, 'redis engine: replica count refresh failed'));
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async refresh(): Promise<void> {
    const next = new Map<string, number>();
    if (!this.isCluster) {
      next.set('', connectedReplicas(await (this.client as Redis).info('replication')));
    } else {
      const primaries = (this.client as Cluster).nodes('master');
      // A primary that does not answer (failing over) is left out: replicasFor() then counts 0 for
      // it until it answers again, and capabilities only speak for primaries that answer.
      const infos = await Promise.allSettled(primaries.map((node) => node.info('replication')));
      primaries.forEach((node, i) => {
        const info = infos[i];
        if (info?.status === 'fulfilled') next.set(nodeKey(node), connectedReplicas(info.value));
      });
    }
    this.counts = next;
  }

  /** Replicas of the primary that owns `key`, as last reported. */
  replicasFor(key: string): number {
    if (!this.isCluster) return this.counts.get('') ?? 0;
    const owner = (this.client as Cluster).slots[keySlot(key)]?.[0];
    return owner === undefined ? 0 : (this.counts.get(owner) ?? 0);
  }

  /** True when every known primary has a replica: strong and very_strong are then enforced. */
  get enforceable(): boolean {
    if (this.counts.size === 0) return false;
    for (const n of this.counts.values()) if (n < 1) return false;
    return true;
  }

  /** How many replicas an append at this level must be confirmed by (0: acknowledge at once). */
  required(level: Consistency, key: string): number {
    if (level === 'weak') return 0;
    const available = this.replicasFor(key);
    if (available === 0) return 0;
    return level === 'strong' ? 1 : available;
  }
}
