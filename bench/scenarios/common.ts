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
  /** Only run targets whose name contains one of these (empty: all). */
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

export function selected(ctx: ScenarioContext, target: string): boolean {
  return ctx.only.length === 0 || ctx.only.some((o) => target.includes(o));
}

export async function runTarget(
  scenario: ScenarioName,
  target: string,
  role: Role,
  body: (cleanup: Cleanup) => Promise<Measured>,
): Promise<TargetResult> {
  const cleanup = new Cleanup();
  log(`${scenario} / ${target}`);
  try {
    const m = await body(cleanup);
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
    await cleanup.run();
  }
}

export const ms = (micros: number): number => Math.round(micros) / 1000;
