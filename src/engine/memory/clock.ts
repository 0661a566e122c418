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
