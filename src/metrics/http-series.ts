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

/** One series of a KeyedCounter. */
export interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

/** One series of a KeyedHistogram: per-bucket (not yet cumulative) counts, sum and count. */
export interface HistogramSeries {
  readonly labels: Labels;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** A labelled counter: `holdline_http_requests_total`. */
export class KeyedCounter {
  private readonly series = new Map<string, CounterSeries>();
  /**
   * Advanced by reset(): a caller that keeps series (seriesFor) for its hot path drops them when
   * this changes, since the series it holds are no longer the ones rendered.
   */
  generation = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** `key` names the series; `labels()` is called only the first time a key is seen. */
  inc(key: string, labels: () => Labels): void {
    this.seriesFor(key, labels).value++;
  }

  /** The series named `key`, made (at 0) the first time; `labels()` is called only then. */
  seriesFor(key: string, labels: () => Labels): CounterSeries {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels: labels(), value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  get(): { name: string; help: string; type: 'counter'; aggregator: 'sum'; values: MetricValue[] } {
    const values = [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels }));
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values };
  }

  reset(): void {
    this.series.clear();
    this.generation++;
  }
}

/** A labelled histogram with fixed buckets: `holdline_http_request_duration_seconds`. */
export class KeyedHistogram {
  private readonly series = new Map<string, HistogramSeries>();
  /** As KeyedCounter.generation. */
  generation = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  observe(key: string, labels: () => Labels, value: number): void {
    this.observeIn(this.seriesFor(key, labels), value);
  }

  /** One observation in a series of this histogram (from seriesFor, of the current generation). */
  observeIn(s: HistogramSeries, value: number): void {
    // Counted in the first bucket that holds it; made cumulative at scrape time.
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= buckets[i]!) {
        s.counts[i]!++;
        break;
      }
    }
    s.sum += value;
    s.count++;
  }

  /** The series named `key`, made (empty) the first time; `labels()` is called only then. */
  seriesFor(key: string, labels: () => Labels): HistogramSeries {
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
    this.generation++;
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

/**
 * An unlabelled counter, rendered as prom-client's (one series, `0` until counted): messages
 * appended. prom-client's `inc` builds a label object and checks the value on every call.
 */
export class PlainCounter {
  private value = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  inc(n = 1): void {
    this.value += n;
  }

  /** As prom-client's Counter has it, key order included (getMetricsAsJSON, the workers' aggregation). */
  get(): { help: string; name: string; type: 'counter'; values: MetricValue[]; aggregator: 'sum' } {
    return { help: this.help, name: this.name, type: 'counter', values: [{ value: this.value, labels: {} }], aggregator: 'sum' };
  }

  reset(): void {
    this.value = 0;
  }
}
