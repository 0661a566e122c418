/**
 * Holdline's side of each scenario, as the harness calls it. The hooks drive Holdline through its
 * own protocols only (REST and /v1/ws), with the harness's cheap clients, and measure with the same
 * closed-loop driver as the baselines. A part of Holdline that is not there (e.g. a frame answered
 * not_implemented) is reported with NotAvailableError, never estimated.
 */
export { BENCH_APP, createQueue, describeHoldlineBuild, holdlineDist, prepareFanout, rest, startHoldline } from './server.js';
export type { Engine, HoldlineServer, LatencyFigures, ThroughputFigures, Transport } from './server.js';
export { ingest, type IngestOptions } from './ingest.js';
export { history, type HistoryOptions } from './history.js';
export { positions, type PositionsOptions } from './positions.js';
