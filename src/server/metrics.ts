/**
 * `GET /metrics` (SPEC.md 3.6): the process's registry (src/metrics/registry.ts) as Prometheus text,
 * the engine wrapper that times appends and reads, and this server's call-queue source.
 *
 * Who may read it: with `metricsToken` (HOLDLINE_METRICS_TOKEN) set, `Authorization: Bearer <token>`
 * from anywhere; without it, any client on loopback (127.0.0.0/8, ::1) and nobody else. The admin key
 * (`Authorization: Admin <key>`) is accepted from anywhere in both cases.
 */
import { timingSafeEqual } from 'node:crypto';
import { parseAuthorization } from '../domain/auth.js';
import { HoldlineError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import type { ServerContext } from './context.js';
import type { Reply, RequestInfo } from './http.js';
import { MAX_CALLQUEUES_PER_SCRAPE, metrics } from '../metrics/registry.js';
import type { CallQueueTotals } from '../metrics/registry.js';

/**
 * The engine as the server uses it: append and read timed, appended messages counted, everything
 * else passed through. One wrapper instead of hooks in both engines and every caller.
 *
 * A plain object rather than a Proxy: every call of the domain and the hubs reads a method off
 * the engine, and a Proxy's `get` trap on each read (V8 cannot cache a property read through a
 * Proxy) was a visible share of a REST request's CPU time. So each of the engine's methods gets a
 * plain function here, which calls it on the engine; its other properties (`kind`, `capabilities`,
 * `events`, getters) are read through to it when read; the prototype stays the engine's, so
 * `instanceof` answers as for the engine itself.
 */
export function instrumentEngine(engine: Engine): Engine {
  const m = metrics();
  const wrapper = Object.create(Object.getPrototypeOf(engine) as object) as Record<PropertyKey, unknown>;
  const bound = new Map<unknown, unknown>();
  const through = (value: unknown): unknown => {
    if (typeof value !== 'function') return value;
    let fn = bound.get(value);
    if (fn === undefined) {
      fn = (value as (...args: unknown[]) => unknown).bind(engine);
      bound.set(value, fn);
    }
    return fn;
  };
  for (let o: object | null = engine; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Reflect.ownKeys(o)) {
      if (key === 'constructor' || Object.hasOwn(wrapper, key)) continue;
      const d = Object.getOwnPropertyDescriptor(o, key)!;
      // A method of the engine's class: a plain function that looks the method up on the engine
      // when called (so a method replaced on the engine, or an engine that is itself a Proxy as in
      // tests, is called as it is then). Anything else (fields, getters): read when read.
      if (o !== engine && typeof d.value === 'function') {
        wrapper[key] = (...args: unknown[]): unknown => (Reflect.get(engine, key) as (...a: unknown[]) => unknown).apply(engine, args);
      }
      else Object.defineProperty(wrapper, key, { get: () => through(Reflect.get(engine, key)), enumerable: d.enumerable ?? false });
    }
  }
  // One promise around the engine's, not a timer's and a counter's each (this is every post's path).
  const append: Engine['append'] = (queue, messages) => {
    const started = performance.now();
    return engine.append(queue, messages).then(
      (stored) => {
        m.appendSeconds.record((performance.now() - started) / 1000);
        m.messagesAppended.inc(stored.length);
        return stored;
      },
      (err: unknown) => {
        m.appendSeconds.record((performance.now() - started) / 1000);
        throw err;
      },
    );
  };
  const read: Engine['read'] = (ref, opts) => m.readSeconds.time(() => engine.read(ref, opts));
  Object.defineProperty(wrapper, 'append', { value: append, enumerable: false });
  Object.defineProperty(wrapper, 'read', { value: read, enumerable: false });
  return wrapper as unknown as Engine;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|(0{1,4}:){7}0{0,3}1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|(0{1,4}:){5}ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Throws unless this request may read /metrics (see the top of this file). */
export function assertMetricsReader(ctx: ServerContext, req: RequestInfo): void {
  const creds = parseAuthorization(req.headers.authorization);
  const scheme = creds?.scheme.toLowerCase();
  if (creds !== null && scheme === 'admin' && ctx.config.adminKey !== undefined) {
    ctx.assertAdmin(req.headers.authorization);
    return;
  }
  const token = ctx.config.metricsToken;
  if (token !== undefined) {
    if (creds === null) throw new HoldlineError('auth_required');
    if (scheme !== 'bearer') throw new HoldlineError('auth_malformed');
    if (!sameSecret(creds.credential, token)) throw new HoldlineError('auth_invalid');
    return;
  }
  if (!isLoopback(req.remoteAddress)) {
    throw new HoldlineError('forbidden', { message: 'Metrics are served to loopback clients only unless HOLDLINE_METRICS_TOKEN is set' });
  }
}

/** Registers `GET /metrics` and this server's call-queue source. */
export function metricsRoutes(ctx: ServerContext): void {
  const m = metrics();
  const callSource = async (): Promise<CallQueueTotals> => {
    const t: CallQueueTotals = { queues: 0, waiting: 0, longestWaitSeconds: 0, members: { total: 0, logged_in: 0, available: 0, paused: 0 } };
    for (const app of await ctx.apps.list()) {
      for (const q of await ctx.calls.listQueues(app.name)) {
        if (t.queues >= MAX_CALLQUEUES_PER_SCRAPE) return t;
        t.queues++;
        const s = await ctx.calls.getStats(app.name, q.uuid).catch(() => null);
        if (s === null) continue;
        t.waiting += s.callers_waiting;
        t.longestWaitSeconds = Math.max(t.longestWaitSeconds, s.longest_wait);
        t.members.total += s.members;
        t.members.logged_in += s.members_logged_in;
        t.members.available += s.members_available;
        t.members.paused += s.members_paused;
      }
    }
    return t;
  };
  m.callSources.add(callSource);
  ctx.onClose(() => void m.callSources.delete(callSource));

  ctx.router.add('GET', '/metrics', async (req): Promise<Reply> => {
    assertMetricsReader(ctx, req);
    return { status: 200, body: await m.registry.metrics(), contentType: m.registry.contentType };
  });
}
