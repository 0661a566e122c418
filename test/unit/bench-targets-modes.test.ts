/**
 * The fanout targets are judged on Holdline's best delivery mode per engine (per-message or
 * batched, websocket.md 4.2), and the report says which mode was judged.
 */
import { describe, expect, it } from 'vitest';
import type { RunRecord, TargetResult } from '../../bench/lib/results.js';
import { describeMachine } from '../../bench/report/machine.js';
import { renderMarkdown } from '../../bench/report/markdown.js';
import { checkTargets } from '../../bench/report/targets.js';

const row = (target: string, v: number, role: TargetResult['role'] = 'holdline'): TargetResult => ({
  scenario: 'fanout',
  target,
  role,
  status: 'ok',
  figures: { delivered_per_s: { value: v, unit: 'msg/s', better: 'higher', kind: 'throughput' } },
  details: {},
});

const verdict = (results: TargetResult[], text: string) => checkTargets(results).find((v) => v.check.text === text)!;

describe('fanout targets: best mode per engine', () => {
  it('judges the better of per-message and batched, and names it', () => {
    const results = [row('raw-uws', 1000, 'ceiling'), row('holdline-memory', 850), row('holdline-memory-batched', 1200), row('holdline-redis', 750), row('holdline-redis-batched', 600)];
    expect(verdict(results, 'fanout, memory: ≥ 0.9 × raw uWS')).toMatchObject({ verdict: 'holds', value: 1200, reference: 1000, mode: 'batched' });
    expect(verdict(results, 'fanout, Redis: ≥ 0.7 × raw uWS')).toMatchObject({ verdict: 'holds', value: 750, mode: 'per-message' });
    const run: RunRecord = { startedAt: 'a', finishedAt: 'b', loadAverage: { start: 0, end: 0 }, quick: false, scenarios: ['fanout'], machine: describeMachine(), results };
    const md = renderMarkdown(run);
    expect(md).toMatch(/\| fanout, memory: ≥ 0\.9 × raw uWS \| holds \| 1,?200 \(batched\) \|/);
    expect(md).toMatch(/\| fanout, Redis: ≥ 0\.7 × raw uWS \| holds \| 750 \(per-message\) \|/);
  });

  it('uses the mode that was measured; none measured → not measured', () => {
    expect(verdict([row('raw-uws', 1000, 'ceiling'), row('holdline-memory-batched', 800)], 'fanout, memory: ≥ 0.9 × raw uWS')).toMatchObject({ verdict: 'missed', value: 800, mode: 'batched' });
    expect(verdict([row('raw-uws', 1000, 'ceiling')], 'fanout, memory: ≥ 0.9 × raw uWS')).toMatchObject({ verdict: 'not measured' });
  });
});

describe('contact-centre: the estimate judged overall and, on its own line, for the surge', () => {
  it('reads surge_estimate_error_ratio for the surge line', () => {
    const centre: TargetResult = {
      scenario: 'contact-centre', target: 'holdline-memory', role: 'holdline', status: 'ok', details: {},
      figures: {
        estimate_error_ratio: { value: 0.7, unit: 'x', better: 'lower', kind: 'count' },
        surge_estimate_error_ratio: { value: 0.45, unit: 'x', better: 'lower', kind: 'count' },
      },
    };
    expect(verdict([centre], "issue 16: contact-centre, memory: estimate median error ≤ ½ Asterisk's")).toMatchObject({ verdict: 'missed', value: 0.7 });
    expect(verdict([centre], "issue 16: contact-centre, memory, callers joining in the surge or its drain: estimate median error ≤ ½ Asterisk's")).toMatchObject({ verdict: 'holds', value: 0.45 });
  });
});
