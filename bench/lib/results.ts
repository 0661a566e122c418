/**
 * What one bench run records. A figure is a measured value, never an estimate; a target that could
 * not run has status 'not-available' (or 'failed') with the reason, and no figures.
 */
export type ScenarioName = 'fanout' | 'ingest' | 'history' | 'positions' | 'connections' | 'contact-centre';
export const SCENARIOS: ScenarioName[] = ['fanout', 'ingest', 'history', 'positions', 'connections', 'contact-centre'];
/** What a run without scenario names runs: contact-centre (Holdline alone, ~10 min) only when named. */
export const DEFAULT_SCENARIOS: ScenarioName[] = ['fanout', 'ingest', 'history', 'positions', 'connections'];

/** ceiling: what the transport or store allows at best; peer: another system doing the same job. */
export type Role = 'ceiling' | 'holdline' | 'peer';

export interface Figure {
  value: number;
  unit: string;
  better: 'higher' | 'lower';
  /** The scenario's headline throughput figure (charted as throughput). */
  kind: 'throughput' | 'latency' | 'memory' | 'count';
}

export interface TargetResult {
  scenario: ScenarioName;
  /** Stable name, e.g. 'holdline-memory', 'soketi-redis', 'redis-benchmark-xadd'. */
  target: string;
  role: Role;
  status: 'ok' | 'not-available' | 'failed';
  reason?: string;
  figures: Record<string, Figure>;
  /** Conditions and diagnostics: counts, rates offered, CPU used by server and generator, loss. */
  details: Record<string, number | string | boolean>;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  natsServer: string;
  openFileLimit: number;
}

export interface RunRecord {
  startedAt: string;
  finishedAt: string;
  /** 1-minute load average at start and end: other work on the machine skews every figure. */
  loadAverage: { start: number; end: number };
  quick: boolean;
  scenarios: ScenarioName[];
  machine: Machine;
  /** Which Holdline was measured (commit, clean build or working tree). */
  holdline?: string;
  results: TargetResult[];
}

export function figure(value: number, unit: string, better: Figure['better'], kind: Figure['kind']): Figure {
  return { value, unit, better, kind };
}

export function notAvailable(scenario: ScenarioName, target: string, role: Role, reason: string): TargetResult {
  return { scenario, target, role, status: 'not-available', reason, figures: {}, details: {} };
}

export function failed(scenario: ScenarioName, target: string, role: Role, reason: string): TargetResult {
  return { scenario, target, role, status: 'failed', reason, figures: {}, details: {} };
}
