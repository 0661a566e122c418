/** The readable table of a run: machine, one table per scenario with ratios, then the targets. */
import type { RunRecord, ScenarioName, TargetResult } from '../lib/results.js';
import { ratio, references } from './ratios.js';
import { checkTargets } from './targets.js';

const num = (v: number): string => {
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
};
const times = (r: number | undefined): string => (r === undefined ? '' : `×${r >= 10 ? r.toFixed(1) : r.toFixed(2)}`);

const SCENARIO_TEXT: Record<ScenarioName, string> = {
  fanout:
    '1 publisher → 1 topic → N subscribers, 256-byte bodies: delivered messages/s at saturation; latency at 50% of that rate. ' +
    'The raw uWS ceiling sends one WebSocket frame per message (uWS topics), published from outside the message handler as ' +
    "Holdline's hub does (raw-uws-inline publishes inside it: uWS then writes each subscriber's frame with its own syscall). " +
    'raw-uws-batched joins one loop turn of messages into one frame per subscriber (a prototype: what batching is worth); ' +
    'NATS packs many messages into one frame too, which costs both ends far less per message and can put it above the ceiling. ' +
    'holdline-redis-cluster runs on a local Redis Cluster (redis_cluster says its shape) where the one partition lives on one shard.',
  ingest:
    '50 producers, 10 queues × 4 partitions, TTL, 16 in flight each: persisted messages/s and ack latency. ' +
    'holdline-redis-cluster-* run on a local Redis Cluster (redis_cluster says its shape): the 40 partitions spread over its primaries; ' +
    'redis_cpu_cores is summed over its nodes (per node beside it).',
  history: 'since/limit=100 reads of the same 100 messages: reads/s and latency',
  positions: '1,000 waiting callers, 200 agents, 200 joins+leaves/s: change → every agent updated',
  connections: 'idle WebSocket connections: held, server RSS per connection, opening rate',
  'contact-centre':
    'a busy hour of routing, time compressed ×5 (×10 quick; details: compression): 300 agents, 10 queues with skills and tiers, Poisson arrivals ' +
    '(centre 5/s, then a surge at 1.5× for 2 centre minutes and its drain), exponential handle times, abandons, 10% rejects; through ' +
    'CallService + Router (no HTTP), memory one node, Redis and ' +
    'the cluster two nodes. Offer latency: the change that allowed the offer → the deciding node sending the offer frame. Saturation: a ' +
    'backlog, agents answering at once with no handle time. Estimate errors in centre seconds, Holdline (at join) beside Asterisk ' +
    '(moving average hold time − time waited), over every measured caller and (surge_*) those that joined in the surge or its drain; ' +
    'offer latency and decisions/s are of the steady stretch. stats frames: callqueue.stats per queue per second on a real server with 10 followers per queue.',
};

function scenarioTable(results: TargetResult[], scenario: ScenarioName): string[] {
  const rows = results.filter((r) => r.scenario === scenario);
  if (!rows.length) return [];
  const refs = references(results, scenario);
  const figureNames = [...new Set(rows.flatMap((r) => Object.keys(r.figures)))];
  const out = [`## ${scenario}`, '', SCENARIO_TEXT[scenario], ''];
  const refLine = figureNames
    .map((f) => {
      const p = refs.bestPeer[f];
      const c = refs.ceiling[f];
      return `${f}: best peer ${p ? `${p.target}` : '—'}, ceiling ${c ? c.target : '—'}`;
    })
    .join('; ');
  if (figureNames.length) out.push(`Ratios are value ÷ reference (${refLine}).`, '');
  const units = Object.fromEntries(rows.flatMap((r) => Object.entries(r.figures).map(([k, f]) => [k, `${f.unit}, ${f.better} is better`])));
  out.push(`| target | role | ${figureNames.map((f) => `${f} (${units[f]}) | `).join('')}notes |`);
  out.push(`|---|---|${figureNames.map(() => '---:|').join('')}---|`);
  for (const r of rows) {
    const cells = figureNames.map((f) => {
      const fig = r.figures[f];
      if (!fig) return '';
      const rp = ratio(fig.value, refs.bestPeer[f]);
      const rc = ratio(fig.value, refs.ceiling[f]);
      const rs = [rp !== undefined && r.role !== 'peer' ? `${times(rp)} peer` : '', rc !== undefined && r.role !== 'ceiling' ? `${times(rc)} ceiling` : '']
        .filter(Boolean)
        .join(', ');
      return `${num(fig.value)}${rs ? ` (${rs})` : ''}`;
    });
    const notes =
      r.status === 'ok'
        ? Object.entries(r.details)
            .filter(([k]) => /cpu|lost|failed|attempted|open_file|saturating|latency_publish|redis_cluster|estimate_samples|bias|hindsight|peak_callers_waiting/.test(k))
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')
        : `**${r.status}**: ${r.reason ?? ''}`;
    out.push(`| ${r.target} | ${r.role} | ${cells.map((c) => `${c} | `).join('')}${notes.replace(/\|/g, '/')} |`);
  }
  out.push('');
  return out;
}

const CLUSTER = '-redis-cluster';

/**
 * Issue 6: every holdline-…-redis-cluster row beside its one-Redis twin of the same run (same
 * machine, same generator): each figure, and the Redis CPU, with cluster ÷ one Redis.
 */
function scaleOutTable(run: RunRecord): string[] {
  const pairs = run.results
    .filter((r) => r.role === 'holdline' && r.target.includes(CLUSTER) && run.scenarios.includes(r.scenario))
    .map((c) => ({ c, one: run.results.find((r) => r.scenario === c.scenario && r.target === c.target.replace(CLUSTER, '-redis')) }));
  if (!pairs.length) return [];
  const shapes = [...new Set(pairs.map((p) => p.c.details.redis_cluster).filter((x) => x !== undefined))];
  const out = [
    '## Scale-out (issue 6): Redis Cluster ÷ one Redis',
    '',
    `Each holdline-redis-cluster row of this run beside its one-Redis twin: one Holdline node on a local Redis Cluster (${
      shapes.length ? shapes.join('; ') : 'see redis_cluster'
    }) against one Redis with no replica, the same machine and generator. The cluster's nodes share these cores with Holdline and ` +
      'the generator, so this shows what cluster routing costs or gains on one machine, not the capacity of three machines. fanout: the one ' +
      'partition lives on one shard (the other primaries idle). ingest: the 10 queues × 4 partitions spread over the primaries by hash slot; ' +
      'Redis CPU is summed over every node. On a busy machine a rate follows the CPU the run got, so the rate per core of Holdline + ' +
      'Redis is shown too.',
    '',
    '| scenario | target | figure | one Redis | cluster | cluster ÷ one Redis |',
    '|---|---|---|---:|---:|---:|',
  ];
  for (const { c, one } of pairs) {
    const label = `${c.target} vs ${one?.target ?? c.target.replace(CLUSTER, '-redis')}`;
    if (c.status !== 'ok' || !one || one.status !== 'ok') {
      const why = c.status !== 'ok' ? `cluster ${c.status}` : `one Redis ${one ? one.status : 'not run'}`;
      out.push(`| ${c.scenario} | ${label} | — | | | ${why} |`);
      continue;
    }
    const rows: Array<[string, number | undefined, number | undefined]> = Object.entries(c.figures).map(([name, f]) => [
      `${name} (${f.unit}, ${f.better} is better)`,
      one.figures[name]?.value,
      f.value,
    ]);
    const detail = (r: typeof c, k: string): number | undefined => (typeof r.details[k] === 'number' ? r.details[k] : undefined);
    // Holdline's own CPU: fanout splits it out (its server_cpu_cores includes Redis); ingest's server_cpu_cores is Holdline's alone.
    const holdlineCpu = (r: typeof c): number | undefined => detail(r, 'holdline_cpu_cores') ?? (r.scenario === 'ingest' ? detail(r, 'server_cpu_cores') : undefined);
    rows.push(['Holdline CPU (cores)', holdlineCpu(one), holdlineCpu(c)]);
    rows.push(['Redis CPU (cores, summed over nodes)', detail(one, 'redis_cpu_cores'), detail(c, 'redis_cpu_cores')]);
    // On a busy machine the rate follows the CPU a run got: the rate per core used is steadier.
    const [tName, tFig] = Object.entries(c.figures).find(([, f]) => f.kind === 'throughput') ?? [];
    if (tName && tFig) {
      const perCore = (r: typeof c): number | undefined => {
        const v = r.figures[tName]?.value;
        const h = holdlineCpu(r);
        const rc = detail(r, 'redis_cpu_cores');
        return v === undefined || h === undefined || rc === undefined || h + rc <= 0 ? undefined : v / (h + rc);
      };
      rows.push([`${tName} per core of Holdline + Redis`, perCore(one), perCore(c)]);
    }
    for (const [name, a, b] of rows) {
      if (a === undefined && b === undefined) continue;
      const r = a !== undefined && b !== undefined ? ratio(b, { value: a }) : undefined;
      out.push(`| ${c.scenario} | ${label} | ${name} | ${a === undefined ? '' : num(a)} | ${b === undefined ? '' : num(b)} | ${times(r)} |`);
    }
  }
  out.push('');
  return out;
}

export function renderMarkdown(run: RunRecord, chartFile?: string): string {
  const m = run.machine;
  const out = [
    `# Holdline benchmark${run.quick ? ' (quick run: short phases, fewer clients — not the figures the targets are judged on)' : ''}`,
    '',
    `Run ${run.startedAt} → ${run.finishedAt}; scenarios: ${run.scenarios.join(', ')}.`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; Node ${m.node}; Redis ${m.redis}; nats-server ${m.natsServer}; open-file limit ${m.openFileLimit} per process.`,
    ...(run.holdline ? [`Holdline measured: ${run.holdline}.`] : []),
    // Only the load at the start says whether other work was running: by the end, the 1-minute
    // average mostly counts the run's own servers and generators.
    `Load average (1 min) ${run.loadAverage.start} at start, ${run.loadAverage.end} at end (the run's own processes included)${
      run.loadAverage.start > m.cores * 0.5 ? ' — other work was running when it started: figures are low and noisy' : ''
    }. Generator and servers share these cores: each fanout row says how much CPU the server and the generator used.`,
    '',
  ];
  if (chartFile) out.push(`![throughput and latency per scenario](${chartFile})`, '');
  for (const s of run.scenarios) out.push(...scenarioTable(run.results, s));
  out.push(...scaleOutTable(run));
  const verdicts = checkTargets(run.results).filter((v) => run.scenarios.includes(v.check.scenario));
  if (verdicts.length) {
    out.push('## Targets (issue 5)', '', '| target | verdict | Holdline | reference |', '|---|---|---:|---:|');
    for (const v of verdicts) {
      out.push(
        `| ${v.check.text} | ${v.verdict}${v.note ? ` (${v.note})` : ''} | ${v.value === undefined ? '' : num(v.value)}${v.mode === undefined ? '' : ` (${v.mode})`} | ${v.reference === undefined ? '' : num(v.reference)} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}
