/**
 * `npm run bench -- [scenario...] [--quick] [--only name,name] [--out dir]`
 *
 * Runs the scenarios (all but contact-centre by default) on Holdline and its peers side by side, on loopback only,
 * every phase bounded in time, and writes bench/results/<timestamp>.json, latest.json, latest.md
 * and latest.png. Progress goes to stderr; the Markdown table is printed to stdout at the end.
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { resultsDir } from './lib/paths.js';
import { log } from './lib/progress.js';
import { DEFAULT_SCENARIOS, SCENARIOS, type RunRecord, type ScenarioName, type TargetResult } from './lib/results.js';
import { assertSoketiLoopbackOnly, soketiConfig } from './lib/soketi-config.js';
import { describeHoldlineBuild } from './holdline/targets.js';
import { buildHead } from './lib/head.js';
import { describeMachine } from './report/machine.js';
import { writeRun } from './report/write.js';
import { runConnections } from './scenarios/connections.js';
import { runContactCentre } from './scenarios/contact-centre.js';
import { runFanout } from './scenarios/fanout.js';
import { runHistory } from './scenarios/history.js';
import { runIngest } from './scenarios/ingest.js';
import { runPositions } from './scenarios/positions.js';
import type { ScenarioContext } from './scenarios/common.js';

const RUNNERS: Record<ScenarioName, (ctx: ScenarioContext) => Promise<TargetResult[]>> = {
  fanout: runFanout,
  ingest: runIngest,
  history: runHistory,
  positions: runPositions,
  connections: runConnections,
  'contact-centre': runContactCentre,
};

interface Args {
  scenarios: ScenarioName[];
  quick: boolean;
  only: string[];
  out: string;
  /** Re-render latest.md/png from this run record instead of running. */
  render?: string;
  /** Measure a clean build of the committed HEAD instead of the working tree's dist/. */
  head: boolean;
}

const USAGE =
  `usage: npm run bench -- [${SCENARIOS.join('|')} ...] [--quick] [--only target,target] [--out dir] [--head]\n` +
  '       npm run bench -- --render bench/results/<run>.json   (tables and chart again, no run)';

export function parseArgs(argv: string[]): Args {
  const args: Args = { scenarios: [], quick: false, only: [], out: resultsDir, head: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--out') args.out = argv[++i] ?? resultsDir;
    else if (a === '--render') args.render = argv[++i];
    else if (a === '--head') args.head = true;
    else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else if ((SCENARIOS as string[]).includes(a)) args.scenarios.push(a as ScenarioName);
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (!args.scenarios.length) args.scenarios = [...DEFAULT_SCENARIOS];
  return args;
}

export async function runBench(args: Args): Promise<RunRecord> {
  // Before anything starts: the Soketi configuration this harness writes keeps discovery on
  // loopback (checked again on the written file before each Soketi start).
  assertSoketiLoopbackOnly(soketiConfig({ port: 1, metricsPort: 2, redisPort: 3 }), {});
  const headDist = args.head ? buildHead() : undefined;
  if (headDist) process.env.BENCH_HOLDLINE_DIST = headDist;
  try {
    const startedAt = new Date().toISOString();
    const loadStart = os.loadavg()[0]!;
    const machine = describeMachine();
    const holdline = describeHoldlineBuild();
    const results: TargetResult[] = [];
    for (const s of args.scenarios) {
      log(`== ${s}${args.quick ? ' (quick)' : ''}`);
      results.push(...(await RUNNERS[s]({ quick: args.quick, only: args.only })));
    }
    const loadAverage = { start: Number(loadStart.toFixed(2)), end: Number(os.loadavg()[0]!.toFixed(2)) };
    return { startedAt, finishedAt: new Date().toISOString(), loadAverage, quick: args.quick, scenarios: args.scenarios, machine, holdline, results };
  } finally {
    if (headDist) rmSync(path.dirname(headDist), { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const run = args.render ? (JSON.parse(readFileSync(args.render, 'utf8')) as RunRecord) : await runBench(args);
  const written = writeRun(run, args.out, args.render !== undefined);
  log(`wrote ${args.render ? '' : `${written.json}, `}${written.markdown}${written.chart ? `, ${written.chart}` : ' (no chart: run npm run bench:setup)'}`);
  process.stdout.write(readFileSync(written.markdown, 'utf8'));
  // Generator processes and servers are stopped by PID already; exit even if a client socket lingers.
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
