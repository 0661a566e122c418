/**
 * The process's Prometheus registry (prom-client) and the hooks the call sites use: counters and
 * histograms are bumped where things happen (`metrics().wsFramesIn.inc()`, observeRedis in the
 * Redis connections), gauges of things that exist anyway (open connections, call queues) are read at
 * scrape time from sources each server registers. Served by src/server/metrics.ts (`GET /metrics`).
 *
 * Every label has a bounded set of values (README "Operating Holdline" lists them): HTTP `route` is
 * the route template (`/:app/:queue`, never a path), `unmatched` for 404/405 without a route;
 * `method` one of six or `other`; `status` the HTTP status; Redis `connection` one of Holdline's
 * connection names; resync `reason` the protocol's reasons; members `state` one of four. No metric
 * is labelled by application, queue or user.
 */
import { KeyedCounter, KeyedHistogram, PlainCounter, PlainHistogram } from './http-series.js';
import type { CounterSeries, HistogramSeries } from './http-series.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Open WebSocket connections and their subscriptions, counted when scraped. */
export interface WsSource {
  connections(): number;
  subscriptions(): number;
}

/** Call-queue totals over every application, read when scraped. */
export interface CallQueueTotals {
  queues: number;
  waiting: number;
  longestWaitSeconds: number;
  members: { total: number; logged_in: number; available: number; paused: number };
}

/** The in-process history tails of an engine (src/engine/redis/tail-cache.ts), read when scraped. */
export type HistoryCacheSource = () => { bytes: number; messages: number; partitions: number };

/**
 * Webhook delivery on this node (src/domain/webhooks/dispatcher.ts), read when scraped: the
 * endpoints it delivers to, and their backlogs (events in the log after each one's cursor).
 */
export type WebhookSource = () => Promise<{ endpoints: number; backlog: number; maxBacklog: number }>;

/** At most this many call queues are read per scrape (the rest are left out, counted in _truncated). */
export const MAX_CALLQUEUES_PER_SCRAPE = 2000;

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD']);

function createMetrics() {
  const registry = new Registry();
  // process_* and nodejs_* (CPU, memory, handles, GC, nodejs_eventloop_lag_seconds and its percentiles).
  collectDefaultMetrics({ register: registry });
  const wsSources = new Set<WsSource>();
  const callSources = new Set<() => Promise<CallQueueTotals>>();
  const historyCacheSources = new Set<HistoryCacheSource>();
  const webhookSources = new Set<WebhookSource>();
  const r = [registry];

  const m = {
    registry,
    wsSources,
    callSources,
    historyCacheSources,
    webhookSources,
    webhookDeliveries: new Counter({
      name: 'holdline_webhook_deliveries_total',
      help: 'Webhook events delivered by this node (answered 2xx)',
      registers: r,
    }),
    webhookFailures: new Counter({
      name: 'holdline_webhook_failed_attempts_total',
      help: 'Webhook POSTs by this node that failed and will be retried, by reason (status: a non-2xx answer; error: no answer, timeout or refused; not_allowed: host not in HOLDLINE_WEBHOOK_ALLOWED_HOSTS)',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    webhookPostSeconds: new Histogram({
      name: 'holdline_webhook_post_duration_seconds',
      help: 'Time of one webhook POST by this node, answered or not',
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    httpRequests: new KeyedCounter('holdline_http_requests_total', 'HTTP requests answered, by method, route template and status', registry),
    httpDuration: new KeyedHistogram(
      'holdline_http_request_duration_seconds',
      'HTTP request handling time (body read to reply written), by method and route template',
      LATENCY_BUCKETS,
      registry,
    ),
    // Bumped once per frame received, per frame or live entry sent, per live message: plain
    // counters (http-series.ts), not prom-client's, which hashes a label object on every inc.
    wsFramesIn: new PlainCounter('holdline_ws_frames_in_total', 'WebSocket frames received from clients', registry),
    wsFramesOut: new PlainCounter(
      'holdline_ws_frames_out_total',
      'WebSocket frames sent to clients (a frame published to a topic counts once per subscribed socket)',
      registry,
    ),
    messagesAppended: new PlainCounter('holdline_messages_appended_total', 'Messages stored (REST and WebSocket publishes)', registry),
    messagesDelivered: new PlainCounter(
      'holdline_messages_delivered_total',
      'Messages pushed live to subscriptions (one per message and live subscription)',
      registry,
    ),
    appendSeconds: new PlainHistogram('holdline_append_duration_seconds', 'Engine append time, one observation per append call', LATENCY_BUCKETS, registry),
    readSeconds: new PlainHistogram('holdline_read_duration_seconds', 'Engine partition read time', LATENCY_BUCKETS, registry),
    publishToDeliverSeconds: new PlainHistogram(
      'holdline_publish_to_deliver_seconds',
      "From a message's timestamp (stored) to its live push by this node",
      LATENCY_BUCKETS,
      registry,
    ),
    redisErrors: new Counter({ name: 'holdline_redis_errors_total', help: 'Redis connection errors, by connection', labelNames: ['connection'] as const, registers: r }),
    redisReconnects: new Counter({
      name: 'holdline_redis_reconnects_total',
      help: 'Redis reconnection attempts, by connection',
      labelNames: ['connection'] as const,
      registers: r,
    }),
    resyncs: new Counter({
      name: 'holdline_ws_resyncs_total',
      help: 'Partition subscriptions resynchronised (resync frames), by reason',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    slowConsumerCloses: new Counter({ name: 'holdline_ws_slow_consumer_closes_total', help: 'WebSocket connections closed with 4429 slow_consumer', registers: r }),
  };

  // A gauge summed over every WebSocket endpoint at scrape time.
  const wsGauge = (name: string, help: string, count: (s: WsSource) => number): void => {
    new Gauge({
      name,
      help,
      registers: r,
      collect() {
        let n = 0;
        for (const s of wsSources) n += count(s);
        this.set(n);
      },
    });
  };
  wsGauge('holdline_ws_connections', 'Open WebSocket connections', (s) => s.connections());
  wsGauge('holdline_ws_subscriptions', 'Subscriptions (message partitions and call queues) of open WebSocket connections', (s) => s.subscriptions());

  // The history tails of every engine of the process (HOLDLINE_HISTORY_CACHE_BYTES bounds the bytes).
  const historyGauge = (name: string, help: string, pick: (s: ReturnType<HistoryCacheSource>) => number): void => {
    new Gauge({
      name,
      help,
      registers: r,
      collect() {
        let n = 0;
        for (const source of historyCacheSources) n += pick(source());
        this.set(n);
      },
    });
  };
  historyGauge('holdline_history_cache_bytes', 'Bytes (estimated) held in the in-process tails of followed partitions (bound: HOLDLINE_HISTORY_CACHE_BYTES)', (s) => s.bytes);
  historyGauge('holdline_history_cache_messages', 'Messages held in the in-process tails of followed partitions', (s) => s.messages);
  historyGauge('holdline_history_cache_partitions', 'Followed partitions with an in-process tail', (s) => s.partitions);

  // The webhook gauges share one read of the dispatchers per scrape (each backlog: one log read).
  const webhookTotals = sharedPerScrape(async () => {
    const sum = { endpoints: 0, backlog: 0, maxBacklog: 0 };
    for (const source of webhookSources) {
      const t = await source();
      sum.endpoints += t.endpoints;
      sum.backlog += t.backlog;
      sum.maxBacklog = Math.max(sum.maxBacklog, t.maxBacklog);
    }
    return sum;
  });
  new Gauge({
    name: 'holdline_webhook_endpoints_delivering',
    help: 'Webhook endpoints this node holds the lease of and delivers to',
    registers: r,
    async collect() {
      this.set((await webhookTotals()).endpoints);
    },
  });
  new Gauge({
    name: 'holdline_webhook_backlog_events',
    help: "Events not yet delivered, summed over the webhook endpoints this node delivers to (each endpoint's events after its cursor, whatever their type)",
    registers: r,
    async collect() {
      this.set((await webhookTotals()).backlog);
    },
  });
  new Gauge({
    name: 'holdline_webhook_backlog_max_events',
    help: 'The largest backlog of one webhook endpoint this node delivers to, events (per endpoint: GET /v1/webhooks/{id})',
    registers: r,
    async collect() {
      this.set((await webhookTotals()).maxBacklog);
    },
  });

  // The call-queue gauges share one read of the call store per scrape.
  const totals = sharedPerScrape(async () => {
    const sum: CallQueueTotals = { queues: 0, waiting: 0, longestWaitSeconds: 0, members: { total: 0, logged_in: 0, available: 0, paused: 0 } };
    for (const source of callSources) {
      const t = await source();
      sum.queues += t.queues;
      sum.waiting += t.waiting;
      sum.longestWaitSeconds = Math.max(sum.longestWaitSeconds, t.longestWaitSeconds);
      for (const k of Object.keys(sum.members) as Array<keyof CallQueueTotals['members']>) sum.members[k] += t.members[k];
    }
    return sum;
  });
  new Gauge({
    name: 'holdline_callqueues',
    help: `Call queues (at most ${MAX_CALLQUEUES_PER_SCRAPE} are read per scrape)`,
    registers: r,
    async collect() {
      this.set((await totals()).queues);
    },
  });
  new Gauge({
    name: 'holdline_callqueue_waiting_callers',
    help: 'Callers waiting, over every call queue',
    registers: r,
    async collect() {
      this.set((await totals()).waiting);
    },
  });
  new Gauge({
    name: 'holdline_callqueue_longest_wait_seconds',
    help: 'Longest current wait of a waiting caller, over every call queue',
    registers: r,
    async collect() {
      this.set((await totals()).longestWaitSeconds);
    },
  });
  new Gauge({
    name: 'holdline_callqueue_members',
    help: 'Call-queue memberships by state (total, logged_in, available, paused), over every call queue',
    labelNames: ['state'] as const,
    registers: r,
    async collect() {
      const t = await totals();
      for (const [state, n] of Object.entries(t.members)) this.set({ state }, n);
    },
  });
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
let instance: Metrics | null = null;

/** The process's metrics (created on first use). */
export function metrics(): Metrics {
  instance ??= createMetrics();
  return instance;
}

/**
 * The series of one method and route, kept so that a request finds its series without building
 * the key strings or label objects (the registry's maps stay the source of truth: these are the
 * same objects).
 */
interface RouteSeries {
  duration: HistogramSeries;
  byStatus: Map<number, CounterSeries>;
}

/** route template ('' when none matched) → method → its series; dropped when the metrics are reset. */
let routeSeries = new Map<string, Map<string, RouteSeries>>();
let seriesGeneration = -1;

/** Hook for the HTTP dispatcher: one answered request. `route` is the template, or null when none matched. */
export function observeHttp(method: string, route: string | null, status: number, seconds: number): void {
  const m = metrics();
  const generation = m.httpRequests.generation + m.httpDuration.generation;
  if (generation !== seriesGeneration) {
    routeSeries = new Map();
    seriesGeneration = generation;
  }
  const routeKey = route ?? '';
  let byMethod = routeSeries.get(routeKey);
  if (byMethod === undefined) {
    byMethod = new Map();
    routeSeries.set(routeKey, byMethod);
  }
  let series = byMethod.get(method);
  if (series === undefined) {
    series = { duration: m.httpDuration.seriesFor(`${method} ${routeKey}`, () => httpLabels(method, route)), byStatus: new Map() };
    byMethod.set(method, series);
  }
  let requests = series.byStatus.get(status);
  if (requests === undefined) {
    requests = m.httpRequests.seriesFor(`${method} ${routeKey} ${status}`, () => ({ ...httpLabels(method, route), status: String(status) }));
    series.byStatus.set(status, requests);
  }
  requests.value++;
  m.httpDuration.observeIn(series.duration, seconds);
}

function httpLabels(method: string, route: string | null): Record<string, string> {
  return { method: METHODS.has(method) ? method : 'other', route: route ?? 'unmatched' };
}

/** Hook for the hub: a message pushed live to `subscribers` subscriptions. */
export function observeDelivery(timestampUs: number, subscribers: number): void {
  if (subscribers <= 0) return;
  const m = metrics();
  m.messagesDelivered.inc(subscribers);
  m.publishToDeliverSeconds.record(Math.max(0, Date.now() / 1000 - timestampUs / 1e6));
}

/** Hook for an ioredis client (engine, subscriber, call store): counts its errors and reconnects. */
export function observeRedis<C extends { on(event: string, fn: (...args: unknown[]) => void): unknown }>(client: C, connection: string): C {
  client.on('error', () => metrics().redisErrors.inc({ connection }));
  client.on('reconnecting', () => metrics().redisReconnects.inc({ connection }));
  return client;
}

/**
 * One read shared by the gauges a scrape collects at once: a call while a read is under way gets
 * that read; the next scrape reads again.
 */
function sharedPerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    pending ??= read().finally(() => {
      pending = null;
    });
    return pending;
  };
}
