/**
 * contact-centre, issue 16: how good the estimated wait a caller is given at join is, against the
 * wait it then had, beside Asterisk's method in the same run.
 *
 * Asterisk (app_queue.c, update_qe_holdtime): each queue keeps `holdtime`, an exponential moving
 * average of its answered callers' hold times, `holdtime = (holdtime * 3 + new) / 4`, starting at
 * 0; the announced estimate is that average minus the time the caller has already waited (never
 * below 0). It ignores the caller's position and the members' state, which is what issue 16 asks
 * Holdline to beat: Holdline's median absolute error at most half of Asterisk's.
 */

/** One queue's Asterisk-style hold time average, seconds. */
export class AsteriskHoldtime {
  private readonly avg = new Map<string, number>();

  /** A caller of `queue` was answered after waiting `waitedS`. */
  answered(queue: string, waitedS: number): void {
    const h = this.avg.get(queue) ?? 0;
    this.avg.set(queue, (h * 3 + waitedS) / 4);
  }

  /** The estimate for a caller of `queue` that has waited `waitedS` so far. */
  estimate(queue: string, waitedS: number): number {
    return Math.max(0, (this.avg.get(queue) ?? 0) - waitedS);
  }
}

/** Absolute errors of one estimator over the offered callers. */
export class ErrorSample {
  private readonly errors: number[] = [];
  private readonly signed: number[] = [];

  add(estimateS: number, actualS: number): void {
    this.errors.push(Math.abs(estimateS - actualS));
    this.signed.push(estimateS - actualS);
  }

  get count(): number {
    return this.errors.length;
  }

  /** The p-th percentile (0–100) of the absolute errors, NaN when empty. */
  percentile(p: number): number {
    return percentile(this.errors, p);
  }

  /** Median of estimate − actual: negative means it promised shorter waits than callers had. */
  medianBias(): number {
    return percentile(this.signed, 50);
  }
}

/**
 * How much of an estimator's error is the spread of the waits themselves: the waits grouped by the
 * caller's place in line at its estimate (callers ahead), each told its group's median actual wait
 * in hindsight — the best a fixed answer per place could do with the outcome known. No estimator
 * that knows the place but not the future beats it by much (calls end at random); the full state
 * (members, tiers) can do somewhat better. Reported next to Holdline's and Asterisk's errors.
 */
export class HindsightByPlace {
  private readonly byPlace = new Map<number, number[]>();

  add(place: number, actualS: number): void {
    const xs = this.byPlace.get(place) ?? [];
    xs.push(actualS);
    this.byPlace.set(place, xs);
  }

  /** Median absolute error of the per-place medians, NaN when empty. */
  medianError(): number {
    const errors: number[] = [];
    for (const xs of this.byPlace.values()) {
      const m = percentile(xs, 50);
      for (const x of xs) errors.push(Math.abs(x - m));
    }
    return percentile(errors, 50);
  }
}

/** Nearest-rank percentile of `xs` (0–100), NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * One group of callers' accuracy (every measured caller, or those that joined in one phase of the
 * busy hour): Holdline's and Asterisk's errors and the hindsight-by-place floor, from the same
 * callers.
 */
export class Accuracy {
  readonly holdline = new ErrorSample();
  readonly asterisk = new ErrorSample();
  readonly hindsight = new HindsightByPlace();
  /** Callers Holdline gave no estimate (an empty pool): in Asterisk's sample and the floor only. */
  nullEstimates = 0;
  /** The waits they had (how long the phase's waits were, beside the errors). */
  private readonly waits: number[] = [];

  add(holdlineS: number | null, asteriskS: number, place: number, actualS: number): void {
    this.waits.push(actualS);
    this.asterisk.add(asteriskS, actualS);
    this.hindsight.add(place, actualS);
    if (holdlineS === null) this.nullEstimates++;
    else this.holdline.add(holdlineS, actualS);
  }

  /** The p-th percentile of the actual waits, NaN when empty. */
  waitPercentile(p: number): number {
    return percentile(this.waits, p);
  }

  /** Holdline's median error ÷ Asterisk's (issue 16: at most 0.5). */
  ratio(): number {
    return this.holdline.percentile(50) / this.asterisk.percentile(50);
  }

  /** Every figure of the group, named under `prefix` (centre seconds, 0.1 s; NaN when empty). */
  details(prefix: string): Record<string, number> {
    const r = (v: number, digits = 1): number => Number(v.toFixed(digits));
    return {
      [`${prefix}estimate_samples`]: this.holdline.count,
      [`${prefix}actual_wait_median_s`]: r(this.waitPercentile(50)),
      [`${prefix}actual_wait_p90_s`]: r(this.waitPercentile(90)),
      [`${prefix}estimate_median_err_s`]: r(this.holdline.percentile(50)),
      [`${prefix}estimate_p90_err_s`]: r(this.holdline.percentile(90)),
      [`${prefix}asterisk_median_err_s`]: r(this.asterisk.percentile(50)),
      [`${prefix}asterisk_p90_err_s`]: r(this.asterisk.percentile(90)),
      [`${prefix}estimate_error_ratio`]: r(this.ratio(), 2),
      [`${prefix}hindsight_by_place_median_err_s`]: r(this.hindsight.medianError()),
      [`${prefix}holdline_median_bias_s`]: r(this.holdline.medianBias()),
      [`${prefix}asterisk_median_bias_s`]: r(this.asterisk.medianBias()),
    };
  }
}
