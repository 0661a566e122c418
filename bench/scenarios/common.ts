/**
 * What every scenario shares: the run's settings, and runTarget(), which turns "this target cannot
 * run here" into a not-available row and any other failure into a failed row with its message, and
 * always stops what the target started.
 */
import { NotAvailableError } from '../lib/not-available.js';
import { PeersMissingError } from '../lib/paths.js';
import { log } from '../lib/progress.js';
import { failed, notAvailable, type Figure, type Role, type ScenarioName, type TargetResult } from '../lib/results.js';

export interface ScenarioContext {
  quick: boolean;
  /** Only run targets whose name contains one of these, or is one ending in `$` (empty: all). */
  only: string[];
}

export interface Measured {
  figures: Record<string, Figure>;
  details: Record<string, number | string | boolean>;
}

/** Stops registered resources in reverse order, whatever happened. */
export class Cleanup {
  private stops: Array<() => Promise<void>> = [];
  add(stop: () => Promise<void>): void {
    this.stops.push(stop);
  }
  async run(): Promise<void> {
    for (const stop of this.stops.reverse()) {
      try {
        await stop();
      } catch (e) {
        log(`  cleanup: ${(e as Error).message}`);
      }
    }
    this.stops = [];
  }
}

/** `--only` entries match a substring of the target's name, or, ending in `$`, the whole name. */
export function selected(ctx: ScenarioContext, target: string): boolean {
  return ctx.only.length === 0 || ctx.only.some((o) => (o.endsWith('$') ? target === o.slice(0, -1) : target.includes(o)));
}

/** No target may hold the run longer than this, whatever hangs (env BENCH_TARGET_TIMEOUT_S). */
const TARGET_TIMEOUT_MS = Number(process.env.BENCH_TARGET_TIMEOUT_S ?? 240) * 1000;

export async function runTarget(
  scenario: ScenarioName,
  target: string,
  role: Role,
  body: (cleanup: Cleanup) => Promise<Measured>,
): Promise<TargetResult> {
  const cleanup = new Cleanup();
  log(`${scenario} / ${target}`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TARGET_TIMEOUT_MS / 1000} s`)), TARGET_TIMEOUT_MS);
  });
  try {
    const m = await Promise.race([body(cleanup), deadline]);
    return { scenario, target, role, status: 'ok', figures: m.figures, details: m.details };
  } catch (e) {
    const err = e as Error;
    if (err instanceof NotAvailableError || err instanceof PeersMissingError) {
      log(`  not available: ${err.message}`);
      return notAvailable(scenario, target, role, err.message);
    }
    log(`  FAILED: ${err.stack ?? err.message}`);
    return failed(scenario, target, role, err.message);
  } finally {
    clearTimeout(timer);
    await cleanup.run();
  }
}

export const ms = (micros: number): number => Math.round(micros) / 1000;
