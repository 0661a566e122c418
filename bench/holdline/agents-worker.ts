/**
 * positions: a process holding a share of the agents (positions.ts drives it over IPC). Each agent
 * connects with its own token, follows the call queue with `callqueue.subscribe`, and every
 * `callqueue.update` about a caller is timed on arrival (nowMicros: the machine-wide monotonic
 * clock, comparable with the parent's). Every 5 ms the worker sends, per change seen since, how many
 * of its agents got it and when the last one did. Agents live in child processes so that 200
 * sockets' reads (40,000 frames/s) are not taken from the process timing the REST calls, and use
 * the cores the server leaves free, as the fanout generators do.
 */
import { nowMicros } from '../lib/payload.js';
import { connect, frameType, Rpc } from './wire.js';
import { updateKey } from './update-key.js';

export type ToAgents = { t: 'start'; port: number; qid: string; tokens: string[] } | { t: 'stop' };

export type FromAgents =
  | { t: 'ready' }
  | { t: 'failed'; message: string }
  /** [kind:uuid, agents that got it, nowMicros() of the last], gaps and extra snapshots so far. */
  | { t: 'seen'; items: Array<[string, number, number]>; gaps: number; extraSnapshots: number };

const send = (m: FromAgents): void => {
  process.send?.(m);
};

async function start(port: number, qid: string, tokens: string[]): Promise<void> {
  const seen = new Map<string, [number, number]>();
  const seq = new Array<number>(tokens.length).fill(0);
  const snapshots = new Array<number>(tokens.length).fill(0);
  let gaps = 0;
  const conns = await Promise.all(
    tokens.map(async (token, i) => {
      const ws = await connect({ port, format: 'json', token });
      const rpc = new Rpc(ws, 'json');
      rpc.onEvent = (data) => {
        const type = frameType(data, 'json');
        if (type === 'callqueue.snapshot') {
          // One follows callqueue.subscribed; any other means updates were interrupted.
          snapshots[i]!++;
          seq[i] = updateKey(data).seq;
          return;
        }
        if (type !== 'callqueue.update') return;
        const t = nowMicros();
        const u = updateKey(data);
        if (u.seq !== seq[i]! + 1) gaps++;
        seq[i] = u.seq;
        if (u.key === null) return;
        const s = seen.get(u.key);
        if (s) {
          s[0]++;
          s[1] = t;
        } else seen.set(u.key, [1, t]);
      };
      const reply = await rpc.call<{ seq: number }>({ type: 'callqueue.subscribe', queue_id: qid });
      seq[i] = Math.max(seq[i]!, reply.seq);
      return ws;
    }),
  );
  process.on('message', (m: ToAgents) => {
    if (m.t === 'stop') {
      for (const ws of conns) ws.destroy();
      process.exit(0);
    }
  });
  const deadline = Date.now() + 30_000;
  while (snapshots.some((n) => n === 0)) {
    if (Date.now() > deadline) throw new Error('some agents got no callqueue.snapshot within 30 s of subscribing');
    await new Promise((r) => setTimeout(r, 10));
  }
  setInterval(() => {
    if (seen.size === 0) return;
    const items = [...seen].map(([k, [n, t]]): [string, number, number] => [k, n, t]);
    seen.clear();
    send({ t: 'seen', items, gaps, extraSnapshots: snapshots.reduce((s, n) => s + Math.max(0, n - 1), 0) });
  }, 5);
  send({ t: 'ready' });
}

process.once('message', (m: ToAgents) => {
  if (m.t !== 'start') return;
  start(m.port, m.qid, m.tokens).catch((e: unknown) => {
    send({ t: 'failed', message: (e as Error).message });
    setTimeout(() => process.exit(1), 50);
  });
});
process.on('disconnect', () => process.exit(0));
