/**
 * A closed-loop driver: `concurrency` lanes each run `op` back to back for a bounded time; every
 * completed op's latency is recorded. Used where the figure is "completed operations per second
 * and their p99" (persisted publishes with acks, history reads).
 */
import { Histogram } from './histogram.js';
import { nowMicros } from './payload.js';
import { timedBar } from './progress.js';

export interface LoopResult {
  ops: number;
  errors: number;
  firstError?: string;
  opsPerSec: number;
  hist: Histogram;
  elapsedMs: number;
}

export interface LoopOptions {
  label: string;
  concurrency: number;
  durationMs: number;
  /** Ops in this first part are run but not counted (connection set-up, JIT, caches). */
  warmupMs?: number;
}

/** `op(lane)` performs one operation; a rejection counts as an error and the lane goes on. */
export async function closedLoop(opts: LoopOptions, op: (lane: number) => Promise<unknown>): Promise<LoopResult> {
  const hist = new Histogram();
  const warmup = opts.warmupMs ?? Math.min(1000, opts.durationMs / 5);
  const start = Date.now();
  const countFrom = start + warmup;
  const end = countFrom + opts.durationMs;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  const progress = timedBar(opts.label, warmup + opts.durationMs, () => `${ops} ops`);
  const lane = async (i: number): Promise<void> => {
    for (;;) {
      const now = Date.now();
      if (now >= end) return;
      const t0 = nowMicros();
      try {
        await op(i);
        if (now >= countFrom) {
          hist.record(nowMicros() - t0);
          ops++;
        }
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
        // A failing op must not spin a lane at full speed.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => lane(i)));
  const elapsedMs = Math.max(1, Date.now() - countFrom);
  progress.stop(`${ops} ops, ${errors} errors`);
  return { ops, errors, ...(firstError ? { firstError } : {}), opsPerSec: (ops * 1000) / elapsedMs, hist, elapsedMs };
}
