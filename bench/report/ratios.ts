/**
 * Ratios of each figure to the best peer and to the ceiling of its scenario: value ÷ reference, so
 * for throughput above 1 is better than the reference and for latency or memory below 1 is.
 */
import type { Figure, ScenarioName, TargetResult } from '../lib/results.js';

export interface References {
  bestPeer: Record<string, { target: string; value: number }>;
  ceiling: Record<string, { target: string; value: number }>;
}

export function references(results: TargetResult[], scenario: ScenarioName): References {
  const refs: References = { bestPeer: {}, ceiling: {} };
  for (const r of results) {
    if (r.scenario !== scenario || r.status !== 'ok') continue;
    for (const [name, f] of Object.entries(r.figures)) {
      if (!Number.isFinite(f.value)) continue;
      if (r.role === 'peer') {
        const cur = refs.bestPeer[name];
        if (!cur || better(f, f.value, cur.value)) refs.bestPeer[name] = { target: r.target, value: f.value };
      } else if (r.role === 'ceiling' && !refs.ceiling[name]) {
        refs.ceiling[name] = { target: r.target, value: f.value };
      }
    }
  }
  return refs;
}

function better(f: Figure, a: number, b: number): boolean {
  return f.better === 'higher' ? a > b : a < b;
}

export function ratio(value: number, ref: { value: number } | undefined): number | undefined {
  if (!ref || ref.value === 0 || !Number.isFinite(value)) return undefined;
  return value / ref.value;
}
