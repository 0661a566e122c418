/**
 * The targets issue 5 sets for Holdline, checked against a run's figures. A target whose figures
 * are not all in the run is "not measured", never assumed.
 */
import type { ScenarioName, TargetResult } from '../lib/results.js';

export interface TargetCheck {
  scenario: ScenarioName;
  target: string;
  figure: string;
  text: string;
  /** Holds when value >= factor × reference (or <= for 'atMost'); reference is another row or a number. */
  compare: 'atLeast' | 'above' | 'atMost' | 'below';
  factor: number;
  of: string | number;
  /**
   * Rows measuring the same target in other modes of Holdline (e.g. batched delivery): the best
   * row in the run is judged, and the verdict names its mode. `target` is the 'per-message' one.
   */
  modes?: Record<string, string>;
}

/** fanout is judged on the best delivery mode per engine (websocket.md 4.2: `batch` is opt-in per subscription). */
const fanoutModes = (engine: 'memory' | 'redis'): Record<string, string> => ({
  'per-message': `holdline-${engine}`,
  batched: `holdline-${engine}-batched`,
});

export const TARGETS: TargetCheck[] = [
  { scenario: 'fanout', target: 'holdline-memory', figure: 'delivered_per_s', compare: 'atLeast', factor: 0.9, of: 'raw-uws', text: 'fanout, memory: ≥ 0.9 × raw uWS', modes: fanoutModes('memory') },
  { scenario: 'fanout', target: 'holdline-memory', figure: 'delivered_per_s', compare: 'atLeast', factor: 3, of: 'soketi', text: 'fanout, memory: ≥ 3 × Soketi', modes: fanoutModes('memory') },
  { scenario: 'fanout', target: 'holdline-memory', figure: 'delivered_per_s', compare: 'atLeast', factor: 5, of: 'socketio', text: 'fanout, memory: ≥ 5 × Socket.IO', modes: fanoutModes('memory') },
  { scenario: 'fanout', target: 'holdline-redis', figure: 'delivered_per_s', compare: 'atLeast', factor: 0.7, of: 'raw-uws', text: 'fanout, Redis: ≥ 0.7 × raw uWS', modes: fanoutModes('redis') },
  { scenario: 'ingest', target: 'holdline-redis-ws', figure: 'persisted_per_s', compare: 'atLeast', factor: 0.5, of: 'redis-benchmark-xadd', text: 'ingest, Redis, WS: ≥ 0.5 × redis-benchmark XADD -P 16' },
  { scenario: 'ingest', target: 'holdline-redis-ws', figure: 'persisted_per_s', compare: 'above', factor: 1, of: 'nats-jetstream', text: 'ingest, Redis, WS: above NATS JetStream' },
  { scenario: 'history', target: 'holdline-redis-ws', figure: 'reads_per_s', compare: 'atLeast', factor: 0.8, of: 'ioredis-layout', text: 'history, Redis, WS: ≥ 0.8 × bare ioredis loop' },
  { scenario: 'history', target: 'holdline-redis-rest', figure: 'reads_per_s', compare: 'atLeast', factor: 0.8, of: 'ioredis-layout', text: 'history, Redis, REST: ≥ 0.8 × bare ioredis loop' },
  { scenario: 'connections', target: 'holdline-memory', figure: 'rss_per_conn_bytes', compare: 'atMost', factor: 1, of: 4096, text: 'connections: ≤ 4 KiB per idle connection' },
  { scenario: 'connections', target: 'holdline-memory', figure: 'connections_held', compare: 'atLeast', factor: 1, of: 50_000, text: 'connections: 50,000 held, one process' },
  { scenario: 'connections', target: 'holdline-redis-3nodes', figure: 'connections_held', compare: 'atLeast', factor: 1, of: 50_000, text: 'connections: 50,000 held, 3 nodes on one Redis' },
  { scenario: 'connections', target: 'holdline-redis-3nodes', figure: 'rss_per_conn_bytes', compare: 'atMost', factor: 1, of: 4096, text: 'connections: ≤ 4 KiB per idle connection, 3 nodes' },
  { scenario: 'positions', target: 'holdline-memory', figure: 'p99_ms', compare: 'below', factor: 1, of: 10, text: 'positions, memory: p99 < 10 ms' },
  { scenario: 'positions', target: 'holdline-redis', figure: 'p99_ms', compare: 'below', factor: 1, of: 10, text: 'positions, Redis: p99 < 10 ms' },
  // Issue 18.
  { scenario: 'history', target: 'holdline-redis-ws-followed', figure: 'reads_per_s', compare: 'atLeast', factor: 1, of: 'ioredis-layout', text: 'issue 18: history, Redis, WS, followed partition: ≥ 1.0 × bare ioredis loop' },
  { scenario: 'history', target: 'holdline-redis-rest-followed', figure: 'reads_per_s', compare: 'atLeast', factor: 1, of: 'ioredis-layout', text: 'issue 18: history, Redis, REST, followed partition: ≥ 1.0 × bare ioredis loop' },
  { scenario: 'ingest', target: 'holdline-redis-ws-batched', figure: 'persisted_per_s', compare: 'atLeast', factor: 1, of: 100_000, text: 'issue 18: ingest, Redis, WS, SDK-batched frames: ≥ 100k/s' },
  { scenario: 'ingest', target: 'holdline-redis-ws-batched', figure: 'persisted_per_s', compare: 'atLeast', factor: 5, of: 'nats-jetstream', text: 'issue 18: ingest, Redis, WS, SDK-batched frames: ≥ 5 × NATS JetStream' },
  { scenario: 'ingest', target: 'holdline-redis-ws', figure: 'persisted_per_s', compare: 'atLeast', factor: 1, of: 50_000, text: 'issue 18: ingest, Redis, WS, one message per frame: ≥ 50k/s' },
  // Issues 15 and 16 (contact-centre): the invariants on every engine, the estimate against Asterisk's, the push rate.
  ...(['memory', 'redis', 'redis-cluster'] as const).flatMap((e): TargetCheck[] => [
    { scenario: 'contact-centre', target: `holdline-${e}`, figure: 'double_offers', compare: 'atMost', factor: 1, of: 0, text: `issue 15: contact-centre, ${e}: no double offer` },
    { scenario: 'contact-centre', target: `holdline-${e}`, figure: 'idle_while_waiting', compare: 'atMost', factor: 1, of: 0, text: `issue 15: contact-centre, ${e}: no member idle while a caller it could take waits` },
    { scenario: 'contact-centre', target: `holdline-${e}`, figure: 'estimate_error_ratio', compare: 'atMost', factor: 1, of: 0.5, text: `issue 16: contact-centre, ${e}: estimate median error ≤ ½ Asterisk's` },
    // The same for the callers that joined in the surge (1.5× arrivals) or its drain (holdline/centre/sim.ts).
    { scenario: 'contact-centre', target: `holdline-${e}`, figure: 'surge_estimate_error_ratio', compare: 'atMost', factor: 1, of: 0.5, text: `issue 16: contact-centre, ${e}, callers joining in the surge or its drain: estimate median error ≤ ½ Asterisk's` },
    { scenario: 'contact-centre', target: `holdline-${e}`, figure: 'stats_frames_per_s_per_queue', compare: 'atMost', factor: 1, of: 1, text: `issue 16: contact-centre, ${e}: ≤ 1 callqueue.stats frame/s per queue` },
  ]),
];

export interface TargetVerdict {
  check: TargetCheck;
  verdict: 'holds' | 'missed' | 'not measured';
  value?: number;
  reference?: number;
  note?: string;
  /** With `modes`: the mode whose row was judged (the best in the run). */
  mode?: string;
}

function figureOf(results: TargetResult[], scenario: ScenarioName, target: string, figure: string): number | undefined {
  const r = results.find((x) => x.scenario === scenario && x.target === target && x.status === 'ok');
  return r?.figures[figure]?.value;
}

/** The row judged: `target`, or with `modes` the best of the mode rows present in the run. */
function bestOf(results: TargetResult[], check: TargetCheck): { value: number | undefined; mode?: string } {
  if (check.modes === undefined) return { value: figureOf(results, check.scenario, check.target, check.figure) };
  const higher = check.compare === 'atLeast' || check.compare === 'above';
  let best: { value: number | undefined; mode?: string } = { value: undefined };
  for (const [mode, target] of Object.entries(check.modes)) {
    const v = figureOf(results, check.scenario, target, check.figure);
    if (v === undefined || Number.isNaN(v)) continue;
    if (best.value === undefined || (higher ? v > best.value : v < best.value)) best = { value: v, mode };
  }
  return best;
}

export function checkTargets(results: TargetResult[]): TargetVerdict[] {
  return TARGETS.map((check) => {
    const { value, mode } = bestOf(results, check);
    const reference = typeof check.of === 'number' ? check.of : figureOf(results, check.scenario, check.of, check.figure);
    if (value === undefined || reference === undefined || Number.isNaN(value) || Number.isNaN(reference)) {
      const missing = value === undefined ? check.target : String(check.of);
      return { check, verdict: 'not measured', note: `${missing} has no ${check.figure} in this run` };
    }
    const bound = check.factor * reference;
    const holds =
      check.compare === 'atLeast' ? value >= bound : check.compare === 'above' ? value > bound : check.compare === 'atMost' ? value <= bound : value < bound;
    return { check, verdict: holds ? 'holds' : 'missed', value, reference, ...(mode === undefined ? {} : { mode }) };
  });
}
