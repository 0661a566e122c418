/**
 * positions: 1,000 waiting callers, 200 subscribed agents, 200 joins+leaves per second; p99 from
 * each change to every agent's view updated. Only Holdline keeps call queues: no peer row.
 * Each engine twice: as configured by default, and `-events-off` with HOLDLINE_EVENTS=off (no event
 * recorded), so one run shows what recording events costs the positions p99 (issue 13).
 */
import { figure, type TargetResult } from '../lib/results.js';
import { startRedis } from '../lib/servers.js';
import { positions, startHoldline, type Engine, type PositionsOptions } from '../holdline/targets.js';
import { runTarget, selected, type ScenarioContext } from './common.js';

export function positionsOptions(quick: boolean): PositionsOptions {
  return { callers: 1000, agents: 200, changesPerSec: 200, durationMs: quick ? 2000 : 15_000 };
}

export async function runPositions(ctx: ScenarioContext, o = positionsOptions(ctx.quick)): Promise<TargetResult[]> {
  const out: TargetResult[] = [];
  for (const [engine, eventsOff] of [['memory', false], ['memory', true], ['redis', false], ['redis', true]] as [Engine, boolean][]) {
    const name = `holdline-${engine}${eventsOff ? '-events-off' : ''}`;
    if (!selected(ctx, name)) continue;
    out.push(
      await runTarget('positions', name, 'holdline', async (cleanup) => {
        const redis = engine === 'redis' ? await startRedis() : undefined;
        if (redis) cleanup.add(redis.stop);
        const server = await startHoldline(engine, redis, eventsOff ? { HOLDLINE_EVENTS: 'off' } : {});
        cleanup.add(server.stop);
        const f = await positions(server, o);
        return {
          figures: {
            p50_ms: figure(f.p50Ms, 'ms', 'lower', 'latency'),
            p99_ms: figure(f.p99Ms, 'ms', 'lower', 'latency'),
          },
          details: f.details,
        };
      }),
    );
  }
  return out;
}
