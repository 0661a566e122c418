/**
 * contact-centre, issue 16: the wallboard push on a real `holdline serve`. 10 call queues, each
 * with waiting callers, changed over REST (a join and a leave in turn, `changesPerS` in all, spread
 * over the queues, so each queue changes about twice a second). First with nobody following the
 * queues, then with `followersPerQueue` WebSocket connections (application key) following each
 * with `callqueue.subscribe`, the same changes again.
 *
 * Figures: `callqueue.stats` frames per second per queue (each connection counts its queue's;
 * protocol/websocket.md 5.6 allows at most one a second per queue and node), the shortest gap
 * between two of them at one connection, and the server's CPU (cores) without and with the
 * followers — the difference is what following costs: the stats pushes and the
 * `callqueue.update` frames together (the per-push read alone is measured in-process by sim.ts).
 */
import { RawHttp } from '../../lib/httpclient.js';
import { log } from '../../lib/progress.js';
import { rest, serverCpuMeter, type HoldlineServer } from '../server.js';
import { connect, frameType, Rpc } from '../wire.js';

export interface WallboardOptions {
  queues: number;
  followersPerQueue: number;
  changesPerS: number;
  /** Wall seconds per phase (without, then with followers). */
  phaseS: number;
}

export function wallboardOptions(quick: boolean): WallboardOptions {
  return { queues: 10, followersPerQueue: 10, changesPerS: 20, phaseS: quick ? 3 : 10 };
}

export interface WallboardFigures {
  statsPerSPerQueue: number;
  maxStatsPerSPerQueue: number;
  minGapMs: number;
  cpuWithout: { holdline: number; redis: number };
  cpuWith: { holdline: number; redis: number };
  details: Record<string, number | string | boolean>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function measureWallboard(server: HoldlineServer, o: WallboardOptions): Promise<WallboardFigures> {
  const closers: Array<() => void> = [];
  try {
    const queues: string[] = [];
    for (let q = 0; q < o.queues; q++) queues.push((await rest<{ uuid: string }>(server, 'POST', '/v1/queues', { name: `wallboard-${q}` }, [201])).uuid);
    const http = await Promise.all(Array.from({ length: 4 }, () => RawHttp.connect(server.endpoint.port)));
    for (const c of http) closers.push(() => c.close());
    const headers = `Authorization: Application ${server.appKey}\r\nContent-Type: application/json\r\n`;
    let rr = 0;
    let failures = 0;
    const waiting = queues.map(() => [] as string[]);
    const join = async (q: number): Promise<void> => {
      const r = await http[rr++ % http.length]!.request('POST', `/v1/queues/${queues[q]}/callers`, headers, '{"number":"6135550000"}');
      if (r.status !== 201) throw new Error(`join answered ${r.status}`);
      waiting[q]!.push((JSON.parse(r.body.toString()) as { uuid: string }).uuid);
    };
    const leave = async (q: number): Promise<void> => {
      const uuid = waiting[q]!.shift();
      if (uuid === undefined) return join(q);
      const r = await http[rr++ % http.length]!.request('DELETE', `/v1/queues/${queues[q]}/callers/${uuid}?reason=abandoned`, headers);
      if (r.status !== 204) throw new Error(`leave answered ${r.status}`);
    };
    for (let q = 0; q < o.queues; q++) for (let i = 0; i < 20; i++) await join(q);

    /** Runs the changes for one phase; answers the server's CPU meanwhile. */
    let issued = 0;
    const changes = async (): Promise<{ holdline: number; redis: number }> => {
      const cpu = serverCpuMeter(server);
      const t0 = Date.now();
      let done = 0;
      while (Date.now() - t0 < o.phaseS * 1000) {
        const due = Math.floor(((Date.now() - t0) * o.changesPerS) / 1000) - done;
        for (let i = 0; i < due; i++, done++, issued++) {
          const q = issued % o.queues;
          const p = Math.floor(issued / o.queues) % 2 === 0 ? join(q) : leave(q);
          p.catch(() => failures++);
        }
        await sleep(5);
      }
      const used = cpu();
      return { holdline: used.holdline, redis: used.redis };
    };

    const cpuWithout = await changes();

    // Followers: per connection, the arrival times of its queue's callqueue.stats frames.
    const arrivals: number[][] = [];
    let counting = false;
    await Promise.all(
      queues.flatMap((qid) =>
        Array.from({ length: o.followersPerQueue }, async () => {
          const ws = await connect({ port: server.endpoint.port, format: 'json', key: server.appKey });
          closers.push(() => ws.destroy());
          const rpc = new Rpc(ws, 'json');
          const times: number[] = [];
          arrivals.push(times);
          rpc.onEvent = (data) => {
            if (counting && frameType(data, 'json') === 'callqueue.stats') times.push(Date.now());
          };
          await rpc.call({ type: 'callqueue.subscribe', queue_id: qid });
        }),
      ),
    );
    await sleep(1500);
    counting = true;
    const cpuWith = await changes();
    counting = false;

    const perSecond = arrivals.map((t) => t.length / o.phaseS);
    let minGap = Number.POSITIVE_INFINITY;
    let maxInOneSecond = 0;
    for (const t of arrivals) {
      for (let i = 1; i < t.length; i++) minGap = Math.min(minGap, t[i]! - t[i - 1]!);
      // The most frames any 1 s window held at this connection.
      for (let i = 0, j = 0; i < t.length; i++) {
        while (t[i]! - t[j]! >= 1000) j++;
        maxInOneSecond = Math.max(maxInOneSecond, i - j + 1);
      }
    }
    const mean = perSecond.reduce((s, x) => s + x, 0) / Math.max(1, perSecond.length);
    log(
      `  wallboard: ${mean.toFixed(2)} callqueue.stats/s per queue (max ${maxInOneSecond} in any 1 s, min gap ${minGap} ms); ` +
        `server CPU ${cpuWithout.holdline} → ${cpuWith.holdline} cores with ${o.followersPerQueue * o.queues} followers`,
    );
    return {
      statsPerSPerQueue: mean,
      maxStatsPerSPerQueue: maxInOneSecond,
      minGapMs: Number.isFinite(minGap) ? minGap : Number.NaN,
      cpuWithout,
      cpuWith,
      details: {
        wallboard_queues: o.queues,
        wallboard_followers: o.queues * o.followersPerQueue,
        wallboard_changes_per_s: o.changesPerS,
        wallboard_phase_s: o.phaseS,
        wallboard_rest_failures: failures,
      },
    };
  } finally {
    for (const c of closers) c();
  }
}
