/**
 * Webhook delivery on one node (protocol/webhooks.md "Delivery"). The design:
 *
 *   - one worker per endpoint, delivering its application's events strictly in log order (so in
 *     order per call queue too), one POST at a time; a node-wide bound (webhookMaxInFlight) on POSTs
 *     in flight, and a timeout on each, so a slow or dead endpoint holds at most one slot for at
 *     most the timeout, and never delays the other endpoints' workers nor the event log, which
 *     the workers only read;
 *   - one node at a time per endpoint: a worker runs only while it holds the endpoint's lease
 *     (WebhookStore.acquire, renewed every third of webhookLeaseMs). Every state write is fenced
 *     by the lease, so a node that lost it (paused, partitioned) cannot move the cursor;
 *   - at least once: the cursor (in the store, on Redis in Redis) moves past an event only after
 *     the receiver answered 2xx. A node that dies mid-delivery leaves it there; once its lease
 *     expires, the node that takes it delivers from the cursor again (the receiver may see that
 *     event twice: it de-duplicates by Holdline-Event-Id);
 *   - retries with capped exponential backoff: min(webhookRetryMaxMs, webhookRetryBaseMs ·
 *     2^(attempt−1)), the upper half of it drawn at random (jitter), for as long as the log holds
 *     the event; events the log reclaimed before they were delivered are skipped and recorded as
 *     the endpoint's last_error ("lost");
 *   - discovery: each node scans the store's endpoints every third of the lease period and starts
 *     a worker for each endpoint it has none for; the worker ends at once when another node holds
 *     the lease. An endpoint registered or deleted on this node is seen at once (changed()).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { applyReport, type Webhook, type WebhookRef, type WebhookReport, type WebhookState, type WebhookStore } from '../../engine/webhook-types.js';
import { typeMatcher } from './filter.js';
import type { DeliverableEvent, EventLogRead, EventLogReader } from './log.js';
import { postEvent, type PostRequest, type PostResult } from './sender.js';
import { hostAllowed } from './service.js';
import { metrics, type WebhookSource } from '../../metrics/registry.js';

/** Events read from the log per step. */
const READ_BATCH = 100;

export interface DispatcherOptions {
  store: WebhookStore;
  log: EventLogReader;
  logger: Logger;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxInFlight: number;
  leaseMs: number;
  allowedHosts: readonly string[];
  /** This node's name in leases (default: random). */
  nodeId?: string;
  /** The POST (default: sender.ts postEvent). */
  post?: (req: PostRequest) => Promise<PostResult>;
}

/** Counts what this node did (tests, the bench). */
export interface DispatcherStats {
  delivered: number;
  failed: number;
  workers: number;
}

/** A node-wide bound on POSTs in flight. */
export class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async take(signal: AbortSignal): Promise<boolean> {
    if (this.used < this.max) {
      this.used++;
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const grant = (): void => {
        signal.removeEventListener('abort', cancel);
        resolve(true);
      };
      const cancel = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  give(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.used--;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts or `wake` is called. */
function pause(ms: number, signal: AbortSignal, wakeSet?: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      wakeSet?.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    wakeSet?.add(done);
  });
}

function keyOf(ref: WebhookRef): string {
  return `${ref.app}\n${ref.id}`;
}

class EndpointWorker {
  readonly abort = new AbortController();
  /** Set by abandon(): write nothing more (a node that died). */
  silent = false;
  /** The cursor of the state last read or saved (the backlog gauge: events after it). */
  cursor: number | null = null;

  constructor(
    private readonly d: WebhookDispatcher,
    readonly ref: WebhookRef,
  ) {}

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Runs while this node holds the lease; returns when it ends (lease elsewhere, endpoint gone, stopped). */
  async run(): Promise<void> {
    const { store } = this.d.opts;
    if (!(await this.renew())) return;
    const webhook = await store.get(this.ref.app, this.ref.id);
    const state = await store.state(this.ref.app, this.ref.id);
    if (webhook === null || state === null) return;
    this.cursor = state.cursor;
    const renewal = setInterval(() => {
      void this.renew().then((held) => {
        if (!held) this.abort.abort();
      }, () => undefined);
    }, Math.max(1, Math.floor(this.d.opts.leaseMs / 3)));
    const unwatch = await this.d.watch(this.ref.app);
    try {
      await this.deliver(webhook, state);
    } finally {
      clearInterval(renewal);
      unwatch();
    }
  }

  /** Takes or renews the lease; false when another node has it, the endpoint is gone, or the store failed. */
  private async renew(): Promise<boolean> {
    if (this.silent) return false;
    try {
      return await this.d.opts.store.acquire(this.ref, this.d.nodeId, this.d.opts.leaseMs);
    } catch (err) {
      this.d.opts.logger.warn({ err, webhook: this.ref.id, app: this.ref.app }, 'webhooks: lease renewal failed');
      return false;
    }
  }

  /** Saves the state moved by `report`; false when the lease (or the endpoint) is gone: stop. */
  private async save(state: WebhookState, report: WebhookReport): Promise<WebhookState | null> {
    if (this.silent) return null;
    const next = applyReport(state, report);
    if (!(await this.d.opts.store.save(this.ref, this.d.nodeId, next))) return null;
    this.cursor = next.cursor;
    return next;
  }

  private async deliver(webhook: Webhook, initial: WebhookState): Promise<WebhookState> {
    const { log, logger } = this.d.opts;
    const matches = typeMatcher(webhook.event_types);
    let state = initial;
    const signal = this.abort.signal;
    while (!this.stopped) {
      let read: EventLogRead;
      try {
        read = await log.readAfter(this.ref.app, state.cursor, READ_BATCH);
      } catch (err) {
        logger.warn({ err, webhook: webhook.id, app: this.ref.app }, 'webhooks: reading the event log failed, retrying');
        await pause(this.d.opts.retryBaseMs, signal);
        continue;
      }
      if (read.oldest > state.cursor + 1 && (read.events.length === 0 || read.events[0]!.seq > state.cursor + 1)) {
        const lost = read.oldest - 1 - state.cursor;
        const saved = await this.save(state, { kind: 'lost', cursor: read.oldest - 1, at: Date.now() / 1000, error: `${lost} events were reclaimed by the event log's retention before they were delivered` });
        if (saved === null) return state;
        state = saved;
        continue;
      }
      if (read.events.length === 0) {
        await pause(this.d.scanMs, signal, this.d.wakers(this.ref.app));
        continue;
      }
      let skippedTo = state.cursor;
      for (const event of read.events) {
        if (this.stopped) return state;
        if (!matches(event.event_type)) {
          skippedTo = event.seq;
          continue;
        }
        if (skippedTo > state.cursor) {
          const saved = await this.save(state, { kind: 'skipped', cursor: skippedTo });
          if (saved === null) return state;
          state = saved;
        }
        const delivered = await this.deliverOne(webhook, event, state);
        if (delivered === null) return state;
        state = delivered.state;
        skippedTo = state.cursor;
        // The log reclaimed it while it was retried: read again, which reports it with the others.
        if (delivered.reclaimed) break;
      }
      if (skippedTo > state.cursor) {
        const saved = await this.save(state, { kind: 'skipped', cursor: skippedTo });
        if (saved === null) return state;
        state = saved;
      }
    }
    return state;
  }

  /**
   * Whether retention has reclaimed `event` (retried for as long as the log keeps it,
   * webhooks.md "Retries"). A failed read says no: the next attempt asks again.
   */
  private async reclaimed(event: DeliverableEvent): Promise<boolean> {
    try {
      return (await this.d.opts.log.readAfter(this.ref.app, event.seq - 1, 1)).oldest > event.seq;
    } catch {
      return false;
    }
  }

  /**
   * POSTs `event` until a 2xx, or until the log no longer holds it (reclaimed: the cursor stays
   * before it); null when the worker stops. The state after it.
   */
  private async deliverOne(webhook: Webhook, event: DeliverableEvent, initial: WebhookState): Promise<{ state: WebhookState; reclaimed: boolean } | null> {
    const { opts } = this.d;
    const signal = this.abort.signal;
    let state = initial;
    for (;;) {
      if (this.stopped) return null;
      let result: PostResult;
      const allowed = hostAllowed(new URL(webhook.url).hostname.toLowerCase(), opts.allowedHosts);
      if (!allowed) {
        result = { ok: false, status: null, error: 'the host is not in HOLDLINE_WEBHOOK_ALLOWED_HOSTS' };
      } else {
        if (!(await this.d.slots.take(signal))) return null;
        const timer = metrics().webhookPostSeconds.startTimer();
        try {
          result = await this.d.post({
            url: webhook.url,
            webhookId: webhook.id,
            secret: webhook.secret,
            eventId: event.id,
            eventType: event.event_type,
            body: event.json,
            timeoutMs: opts.timeoutMs,
            signal,
          });
        } finally {
          timer();
          this.d.slots.give();
        }
      }
      if (this.stopped) return null;
      const at = Date.now() / 1000;
      if (result.ok) {
        this.d.stats.delivered++;
        metrics().webhookDeliveries.inc();
        const saved = await this.save(state, { kind: 'delivered', cursor: event.seq, event_id: event.id, at });
        return saved === null ? null : { state: saved, reclaimed: false };
      }
      this.d.stats.failed++;
      metrics().webhookFailures.inc({ reason: !allowed ? 'not_allowed' : result.status !== null ? 'status' : 'error' });
      const saved = await this.save(state, { kind: 'failed', event_id: event.id, at, error: result.error, status: result.status });
      if (saved === null) return null;
      state = saved;
      await pause(this.d.backoff(state.attempts), signal);
      if (!this.stopped && (await this.reclaimed(event))) return { state, reclaimed: true };
    }
  }
}

export class WebhookDispatcher {
  readonly nodeId: string;
  readonly scanMs: number;
  readonly slots: Slots;
  readonly post: (req: PostRequest) => Promise<PostResult>;
  readonly stats: DispatcherStats = { delivered: 0, failed: 0, workers: 0 };
  private readonly workers = new Map<string, { worker: EndpointWorker; done: Promise<void> }>();
  /** Per application: the wake-ups of its idle workers, and the log watch while any worker runs. */
  private readonly apps = new Map<string, { wakers: Set<() => void>; users: number; unwatch: Promise<(() => Promise<void>) | null> }>();
  private scanTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | null = null;
  private rescan = false;
  private running = false;
  /** This dispatcher's share of the webhook gauges (registered while it runs). */
  private readonly metricsSource: WebhookSource = async () => {
    const out = { endpoints: 0, backlog: 0, maxBacklog: 0 };
    const heads = new Map<string, Promise<number>>();
    for (const { worker } of this.workers.values()) {
      if (worker.cursor === null || worker.stopped) continue;
      const { app } = worker.ref;
      let head = heads.get(app);
      if (head === undefined) {
        head = this.opts.log.head(app).catch(() => -1);
        heads.set(app, head);
      }
      const last = await head;
      out.endpoints++;
      if (last < 0) continue;
      const backlog = Math.max(0, last - worker.cursor);
      out.backlog += backlog;
      out.maxBacklog = Math.max(out.maxBacklog, backlog);
    }
    return out;
  };

  constructor(readonly opts: DispatcherOptions) {
    this.nodeId = opts.nodeId ?? randomBytes(8).toString('hex');
    this.scanMs = Math.max(10, Math.floor(opts.leaseMs / 3));
    this.slots = new Slots(opts.maxInFlight);
    this.post = opts.post ?? postEvent;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    metrics().webhookSources.add(this.metricsSource);
    this.scanTimer = setInterval(() => this.scan(), this.scanMs);
    this.scanTimer.unref();
    this.scan();
  }

  /** An endpoint of `app` was registered or deleted on this node: look again now. */
  changed(_app: string, _id: string): void {
    if (this.running) this.scan();
  }

  /** Endpoints this node is delivering to now. */
  get delivering(): WebhookRef[] {
    return [...this.workers.values()].map((w) => w.worker.ref);
  }

  /** Full jitter on the upper half: base·2^(n−1), capped, times 0.5–1. */
  backoff(attempts: number): number {
    const { retryBaseMs, retryMaxMs } = this.opts;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  wakers(app: string): Set<() => void> {
    return this.apps.get(app)?.wakers ?? new Set();
  }

  /** Watches the application's log while some worker of it runs; returns the release. */
  async watch(app: string): Promise<() => void> {
    let entry = this.apps.get(app);
    if (entry === undefined) {
      const wakers = new Set<() => void>();
      const wake = (): void => {
        for (const w of [...wakers]) w();
      };
      entry = {
        wakers,
        users: 0,
        unwatch: this.opts.log.watch(app, wake).catch((err: unknown) => {
          // Workers still poll every scanMs: slower, not wrong.
          this.opts.logger.warn({ err, app }, 'webhooks: watching the event log failed; polling');
          return null;
        }),
      };
      this.apps.set(app, entry);
    }
    entry.users++;
    const held = entry;
    return () => {
      held.users--;
      if (held.users > 0) return;
      if (this.apps.get(app) === held) this.apps.delete(app);
      void held.unwatch.then((u) => u?.()).catch(() => undefined);
    };
  }

  private scan(): void {
    if (!this.running) return;
    if (this.scanning !== null) {
      this.rescan = true;
      return;
    }
    this.scanning = (async () => {
      do {
        this.rescan = false;
        let refs: WebhookRef[];
        try {
          refs = await this.opts.store.scan();
        } catch (err) {
          this.opts.logger.warn({ err }, 'webhooks: scanning endpoints failed');
          return;
        }
        for (const ref of refs) if (this.running && !this.workers.has(keyOf(ref))) this.startWorker(ref);
      } while (this.rescan && this.running);
    })().finally(() => {
      this.scanning = null;
    });
  }

  private startWorker(ref: WebhookRef): void {
    const worker = new EndpointWorker(this, ref);
    const key = keyOf(ref);
    this.stats.workers++;
    const done = worker
      .run()
      .catch((err: unknown) => {
        this.opts.logger.warn({ err, webhook: ref.id, app: ref.app }, 'webhooks: delivery stopped on an error; the next scan takes it up again');
      })
      .finally(async () => {
        this.stats.workers--;
        // The lease goes at once so another node need not wait for it to expire. Only then may a
        // scan start the next worker here: released later, it would drop that worker's lease.
        if (!worker.silent) await this.opts.store.release(ref, this.nodeId).catch(() => undefined);
        if (this.workers.get(key)?.worker === worker) this.workers.delete(key);
      });
    this.workers.set(key, { worker, done });
  }

  /** Stops every worker (a POST in flight is aborted: the event is delivered again later) and gives the leases up. */
  async close(): Promise<void> {
    this.running = false;
    metrics().webhookSources.delete(this.metricsSource);
    clearInterval(this.scanTimer);
    const all = [...this.workers.values()];
    for (const { worker } of all) worker.abort.abort();
    await Promise.all(all.map((w) => w.done));
    await this.scanning;
  }

  /** A node dying (tests): every worker stops at once and writes nothing more, leases are left to expire. */
  async abandon(): Promise<void> {
    for (const { worker } of this.workers.values()) worker.silent = true;
    await this.close();
  }
}
