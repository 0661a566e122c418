/**
 * Reconnect delays: full-jitter capped exponential backoff (STYLE.md example 7; the "Full Jitter"
 * of the AWS architecture blog, as centrifuge-js and nats.js use it):
 *
 *   delay(attempt) = random(0, min(maxMs, baseMs · 2^attempt))
 *
 * Full jitter spreads the reconnects of many clients dropped at once (a node restarting) over the
 * whole window instead of bunching them at its edge. `attempt` counts failures since the last
 * successful connection and is reset by it.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { baseMs: 500, maxMs: 20_000 };

/** 2^31 · baseMs already exceeds any sensible cap; bounding the exponent keeps the product finite. */
const MAX_EXPONENT = 31;

/** The upper bound of the delay before reconnect attempt `attempt` (0-based). */
export function backoffCeiling(attempt: number, opts: BackoffOptions): number {
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(Math.max(0, attempt), MAX_EXPONENT));
}

/** `random` returns a number in [0, 1), as Math.random does. */
export function fullJitterDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, opts));
}

export function validateBackoff(opts: BackoffOptions): BackoffOptions {
  const { baseMs, maxMs } = opts;
  if (!Number.isFinite(baseMs) || baseMs <= 0) throw new RangeError(`backoff.baseMs must be a positive number, got ${baseMs}`);
  if (!Number.isFinite(maxMs) || maxMs < baseMs) throw new RangeError(`backoff.maxMs must be a number >= baseMs, got ${maxMs}`);
  return { baseMs, maxMs };
}

/** The attempt counter of the reconnect loop. */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; counts the attempt. */
  next(): number {
    return fullJitterDelay(this.#attempt++, this.opts, this.random);
  }

  /** After a successful connection: the next failure waits at most baseMs again. */
  reset(): void {
    this.#attempt = 0;
  }
}
