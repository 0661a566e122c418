/**
 * A log-linear latency histogram in the spirit of HdrHistogram: values (integer microseconds) below
 * 2048 are counted exactly, larger ones in 1024 sub-buckets per power of two (relative error under
 * 0.1%). Recording is O(1) with no allocation, so a load generator can record every delivery, and
 * histograms from several generator processes merge exactly (counts add).
 */
const SUB_BITS = 10;
const SUB = 1 << SUB_BITS; // 1024
const LINEAR = SUB * 2; // values below this are exact
const MAX_SHIFT = 22; // up to ~2^32 µs (over an hour), far above any bounded run
const SIZE = LINEAR + MAX_SHIFT * SUB;

function indexOf(v: number): number {
  if (v < LINEAR) return Math.max(v, 0);
  const shift = 31 - Math.clz32(v) - SUB_BITS; // >= 1
  if (shift > MAX_SHIFT) return SIZE - 1;
  return LINEAR + (shift - 1) * SUB + ((v >>> shift) - SUB);
}

/** Middle of the value range that bucket `i` covers. */
function valueAt(i: number): number {
  if (i < LINEAR) return i;
  const shift = Math.floor((i - LINEAR) / SUB) + 1;
  const base = ((i - LINEAR) % SUB) + SUB;
  return base * 2 ** shift + 2 ** (shift - 1);
}

/** Sparse form for IPC and JSON: [bucketIndex, count] pairs. */
export type HistogramData = Array<[number, number]>;

export class Histogram {
  private counts = new Float64Array(SIZE);
  count = 0;
  max = 0;
  private sum = 0;

  record(micros: number): void {
    const v = micros > 0xffffffff ? 0xffffffff : Math.round(micros);
    this.counts[indexOf(v)]! += 1;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
    this.sum = 0;
  }

  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /** Value at percentile p (0–100), NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(valueAt(i), this.max);
    }
    return this.max;
  }

  toData(): HistogramData {
    const out: HistogramData = [];
    for (let i = 0; i < SIZE; i++) if (this.counts[i]! > 0) out.push([i, this.counts[i]!]);
    return out;
  }

  /** Adds another histogram's sparse data (its max and sum are approximated from bucket values). */
  merge(data: HistogramData): void {
    for (const [i, n] of data) {
      if (i < 0 || i >= SIZE) continue;
      this.counts[i]! += n;
      this.count += n;
      const v = valueAt(i);
      this.sum += v * n;
      if (v > this.max) this.max = v;
    }
  }
}
