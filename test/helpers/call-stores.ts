/**
 * Call stores to run the same tests on: the memory store and the Redis store (on the run's
 * redis-server, a fresh key prefix per store unless one is given, so two stores can share data as
 * two Holdline nodes would).
 */
import { inject } from 'vitest';
import type { CallQueueEvent, CallQueueSnapshot, CallStore } from '../../src/engine/call-types.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { CallQueueFollower } from './call-follower.js';
import { freshPrefix } from './namespace.js';

export interface CallStoreOptions {
  changeRetention?: number;
  prefix?: string;
}

export interface CallStoreFactory {
  name: 'memory' | 'redis';
  open(opts?: CallStoreOptions): Promise<CallStore>;
}

export const callStoreFactories: CallStoreFactory[] = [
  {
    name: 'memory',
    open: async (opts = {}) => new MemoryCallStore(opts.changeRetention === undefined ? {} : { changeRetention: opts.changeRetention }),
  },
  {
    name: 'redis',
    open: (opts = {}) =>
      RedisCallStore.open({
        url: inject('redisUrl'),
        prefix: opts.prefix ?? freshPrefix('calls'),
        ...(opts.changeRetention === undefined ? {} : { changeRetention: opts.changeRetention }),
      }),
  },
];

/**
 * A follower built only from what the store announces: subscribe first, then snapshot, then
 * apply every change with a higher seq (the gapless order of STYLE.md example 6). `waitFor`
 * resolves once the view has reached a seq, without polling.
 */
export class Follower {
  view!: CallQueueFollower;
  readonly problems: string[] = [];
  private pending: CallQueueEvent[] = [];
  private waiters: { seq: number; resolve: () => void }[] = [];
  private unsubscribe: (() => Promise<void>) | undefined;

  static async start(store: CallStore, app: string, queueId: string): Promise<Follower> {
    const f = new Follower();
    f.unsubscribe = await store.subscribeQueue(app, queueId, (e) => f.onEvent(e));
    const snap: CallQueueSnapshot = await store.snapshot(app, queueId);
    f.view = new CallQueueFollower(snap);
    const buffered = f.pending;
    f.pending = [];
    for (const e of buffered) f.onEvent(e);
    return f;
  }

  private onEvent(e: CallQueueEvent): void {
    if (this.view === undefined) {
      this.pending.push(e);
      return;
    }
    if (e.type === 'resync') {
      this.problems.push('resync');
      return;
    }
    const r = this.view.apply(e.change);
    if (r === 'gap' || r === 'diverged') this.problems.push(`${r} at seq ${e.change.seq} (view ${this.view.seq})`);
    this.waiters = this.waiters.filter((w) => {
      if (this.view.seq < w.seq) return true;
      w.resolve();
      return false;
    });
  }

  waitFor(seq: number): Promise<void> {
    if (this.view.seq >= seq) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }
}
