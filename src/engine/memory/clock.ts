/**
 * The memory engine's time source. Message timestamps carry microseconds (src/engine/ids.ts) but
 * Date.now() only has milliseconds, so the sub-millisecond part comes from the monotonic clock,
 * anchored to the wall clock and re-anchored whenever the two drift apart by more than a millisecond
 * (NTP step, suspend). Monotonicity within a partition does not rely on this clock: the partition
 * log takes max(clock, previous timestamp).
 */
export interface Clock {
  nowMs(): number;
  nowUs(): number;
}

export class WallClock implements Clock {
  private anchorWallMs = Date.now();
  private anchorHrNs = process.hrtime.bigint();

  nowMs(): number {
    return Date.now();
  }

  nowUs(): number {
    const wallMs = Date.now();
    const hrNs = process.hrtime.bigint();
    const estimateUs = this.anchorWallMs * 1000 + Number((hrNs - this.anchorHrNs) / 1000n);
    if (Math.abs(estimateUs - wallMs * 1000) > 1000) {
      this.anchorWallMs = wallMs;
      this.anchorHrNs = hrNs;
      return wallMs * 1000;
    }
    return estimateUs;
  }
}

let lastMs = Number.NaN;
let lastText = '';
let lastSecond = Number.NaN;
/** `YYYY-MM-DDTHH:MM:SS.` of lastSecond. */
let secondPrefix = '';

/**
 * `new Date(ms).toISOString()`, for the call records' times: a join formats the same instant three
 * times (the caller's status_at and created_at, the change's at), and the instants of one second
 * share everything up to the milliseconds, so the last instant and the last second's text are kept.
 * Throws for an invalid time, as toISOString does.
 */
export function isoTime(ms: number): string {
  if (ms === lastMs) return lastText;
  const second = Math.floor(ms / 1000);
  let text: string;
  if (second === lastSecond && Number.isInteger(ms)) {
    const milli = ms - second * 1000;
    text = secondPrefix + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli + 'Z';
  } else {
    text = new Date(ms).toISOString();
    if (!Number.isInteger(ms)) return text;
    lastSecond = second;
    secondPrefix = text.slice(0, -4);
  }
  lastMs = ms;
  lastText = text;
  return text;
}
