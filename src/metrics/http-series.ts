/**
 * The per-request metrics (HTTP requests, engine timings), counted without prom-client's per-call work. prom-client validates
 * and hashes a label object on every `inc`/`observe` (its `labels()` children do too): on a REST
 * post that was about a tenth of the server's busy time. Here a request costs one Map lookup by a
 * key string and a few additions; the label objects are built once per series and handed to the
 * registry only at scrape time, through the metric interface prom-client's Registry renders
 * (`registerMetric`: name, help, type, `get()`). Series are bounded by methods × route templates ×
 * statuses (README "Operating Holdline").
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** A labelled counter: `holdline_http_requests_total`. */
export class KeyedCounter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** `key` names the series; `labels()` is called only the first time a key is seen. */
  inc(key: string, labels: () => Labels): void {
    const s = this.series.get(key);
    if (s !== undefined) s.value++;
    else this.series.set(key, { labels: labels(), value: 1 });
  }

  get(): { name: string; help: string; type: 'counter'; aggregator: 'sum'; values: MetricValue[] } {
    const values = [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels }));
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values };
  }

  reset(): void {
    this.series.clear();
  }
}

/** A labelled histogram with fixed buckets: `holdline_http_request_duration_seconds`. */
export class KeyedHistogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  observe(key: string, labels: () => Labels, value: number): void {
    const s = this.seriesFor(key, labels);
    // Counted in the first bucket that holds it; made cumulative at scrape time.
    const i = this.buckets.findIndex((le) => value <= le);
    if (i >= 0) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  protected seriesFor(key: string, labels: () => Labels): { labels: Labels; counts: number[]; sum: number; count: number } {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: labels(), counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ value: cumulative, labels: { ...s.labels, le: String(le) }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  reset(): void {
    this.series.clear();
  }
}

const NO_LABELS = (): Labels => ({});

/**
 * An unlabelled histogram, rendered as prom-client's (one series, all zero until observed): the
 * engine's append and read timings and publish → delivery. prom-client's `startTimer` and
 * `observe` build and hash a label object per call; on a REST post they were more than its metrics
 * are worth.
 */
export class PlainHistogram extends KeyedHistogram {
  constructor(name: string, help: string, buckets: readonly number[], registry: Registry) {
    super(name, help, buckets, registry);
    this.seriesFor('', NO_LABELS);
  }

  record(value: number): void {
    this.observe('', NO_LABELS, value);
  }

  /** Times `work`: one observation, in seconds, once its promise settles either way. */
  time<T>(work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const p = work();
    const end = (): void => this.record((performance.now() - started) / 1000);
    p.then(end, end);
    return p;
  }
}
