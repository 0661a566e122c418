/**
 * Wallboard windows equal a recount from the event log (issue 16, protocol/calls.md section 5.1):
 * a random model run (fast-check commands) through two Holdline nodes sharing one Redis — joins,
 * rings, answers, leaves for every reason, member status and pause changes, each through either
 * node — then `GET /v1/queues/{id}/stats?window=15m|1h|today` on either node equals what a reader
 * recounts from `GET /v1/events` filtered on the queue: offered, answered, abandoned, timed out,
 * transferred, answered and abandoned within the service level, abandon rate, service level, average
 * speed of answer, handled and average handle time; and members by state equal the model's.
 *
 * The counters are kept by the changes themselves (Lua, in the change's script) and the events are
 * recorded by the same scripts, so they must agree exactly; the one tolerance is on the average
 * handle time, recounted from two events' `generated` (each read from Redis's clock as the event is
 * written, at most a millisecond after the change's own time): 2 ms.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traitOf, type HoldlineEvent } from '../../src/engine/events.js';
import { type EventNode, startEventNode } from '../helpers/event-nodes.js';
import { freshPrefix } from '../helpers/namespace.js';

const REASONS = ['answered', 'abandoned', 'timeout', 'transferred'] as const;
const MEMBER_STATES = ['available', 'busy', 'wrapup', 'logged_out'] as const;
const WINDOWS = ['15m', '1h', 'today'] as const;

type Status = 'waiting' | 'ringing' | 'connected';
interface Model {
  callers: Map<string, Status>;
  members: { uuid: string; status: (typeof MEMBER_STATES)[number]; paused: boolean }[];
}
interface Real {
  nodes: EventNode[];
  key: string;
  q: string;
}

type Op =
  | { kind: 'join'; node: number; priority: number }
  | { kind: 'ring' | 'answer'; node: number; pick: number; member: number }
  | { kind: 'leave'; node: number; pick: number; reason: (typeof REASONS)[number] }
  | { kind: 'member'; node: number; member: number; status: (typeof MEMBER_STATES)[number] }
  | { kind: 'pause'; node: number; member: number };

async function rest(real: Real, node: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await real.nodes[node]!.request(path, {
    method, key: real.key, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

class Step implements fc.AsyncCommand<Model, Real> {
  constructor(readonly op: Op) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const op = this.op;
    const { q } = r;
    const callers = [...m.callers.keys()];
    const pick = (n: number) => callers[n % callers.length]!;
    switch (op.kind) {
      case 'join': {
        const res = await rest(r, op.node, 'POST', `/v1/queues/${q}/callers`, { number: '100', priority: op.priority });
        expect(res.status).toBe(201);
        m.callers.set(res.body.uuid as string, 'waiting');
        return;
      }
      case 'ring':
      case 'answer': {
        if (callers.length === 0) return;
        const c = pick(op.pick);
        const status = op.kind === 'ring' ? 'ringing' : 'connected';
        const from = m.callers.get(c)!;
        if (from === 'connected' || (status === 'ringing' && from !== 'waiting')) return;
        const res = await rest(r, op.node, 'PUT', `/v1/queues/${q}/callers/${c}`, { status, member_uuid: m.members[op.member % m.members.length]!.uuid });
        expect(res.status).toBe(200);
        m.callers.set(c, status);
        return;
      }
      case 'leave': {
        if (callers.length === 0) return;
        const c = pick(op.pick);
        expect((await rest(r, op.node, 'DELETE', `/v1/queues/${q}/callers/${c}?reason=${op.reason}`)).status).toBe(204);
        m.callers.delete(c);
        return;
      }
      case 'member': {
        const mem = m.members[op.member % m.members.length]!;
        expect((await rest(r, op.node, 'PUT', `/v1/queues/${q}/members/${mem.uuid}`, { status: op.status })).status).toBe(200);
        mem.status = op.status;
        return;
      }
      case 'pause': {
        const mem = m.members[op.member % m.members.length]!;
        expect((await rest(r, op.node, 'PUT', `/v1/queues/${q}/members/${mem.uuid}`, { paused: !mem.paused })).status).toBe(200);
        mem.paused = !mem.paused;
        return;
      }
    }
  }
  toString(): string {
    return JSON.stringify(this.op);
  }
}

const node = fc.integer({ min: 0, max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), node, priority: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ring' as const), node, pick: fc.nat(), member: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('answer' as const), node, pick: fc.nat(), member: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('leave' as const), node, pick: fc.nat(), reason: fc.constantFrom(...REASONS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('member' as const), node, member: fc.nat(), status: fc.constantFrom(...MEMBER_STATES) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), node, member: fc.nat() }) },
);

interface Recount {
  offered: number;
  answered: number;
  abandoned: number;
  timed_out: number;
  transferred: number;
  answered_within: number;
  abandoned_within: number;
  abandon_rate: number | null;
  service_level: number | null;
  average_speed_of_answer: number | null;
  handled: number;
  /** Seconds; compared within 2 ms (see the header). */
  average_handle_time: number | null;
}

const us = (iso: string): number => {
  // `generated` has microseconds: 2026-12-07T02:44:40.123456Z.
  const [head, frac = '0'] = iso.replace('Z', '').split('.');
  return Date.parse(`${head}Z`) * 1000 + Number(frac.padEnd(6, '0').slice(0, 6));
};

/** The window's figures, recounted by a reader of the event log alone (calls.md 5.1 definitions). */
function recount(events: HoldlineEvent[], startMs: number, slSeconds: number): Recount {
  const connectedAt = new Map<string, number>();
  const n = { offered: 0, answered: 0, abandoned: 0, timed_out: 0, transferred: 0, answered_within: 0, abandoned_within: 0, waitMs: 0, handled: 0, handleUs: 0 };
  for (const e of events) {
    const at = us(e.generated);
    const caller = String(traitOf(e, 'caller_id')?.value);
    if (e.event_type === 'queue.caller.status' && traitOf(e, 'status')?.value === 'connected') connectedAt.set(caller, at);
    if (at < startMs * 1000) continue;
    if (e.event_type === 'queue.caller.join') n.offered++;
    if (e.event_type !== 'queue.caller.leave') continue;
    const waitMs = Math.round(Number(traitOf(e, 'wait')!.value) * 1000);
    const within = waitMs <= slSeconds * 1000;
    const reason = traitOf(e, 'reason')!.value;
    if (reason === 'answered') {
      n.answered++;
      n.waitMs += waitMs;
      if (within) n.answered_within++;
    } else if (reason === 'abandoned') {
      n.abandoned++;
      if (within) n.abandoned_within++;
    } else if (reason === 'timeout') n.timed_out++;
    else n.transferred++;
    if (traitOf(e, 'status')?.value === 'connected') {
      n.handled++;
      n.handleUs += at - connectedAt.get(caller)!;
    }
  }
  const ended = n.answered + n.abandoned + n.timed_out;
  return {
    offered: n.offered, answered: n.answered, abandoned: n.abandoned, timed_out: n.timed_out, transferred: n.transferred,
    answered_within: n.answered_within, abandoned_within: n.abandoned_within,
    abandon_rate: ended === 0 ? null : n.abandoned / ended,
    service_level: ended === 0 ? null : n.answered_within / ended,
    average_speed_of_answer: n.answered === 0 ? null : Math.round(n.waitMs / n.answered) / 1000,
    handled: n.handled,
    average_handle_time: n.handled === 0 ? null : n.handleUs / n.handled / 1e6,
  };
}

describe('wallboard windows equal a recount from the event log (two nodes, one Redis, random runs)', () => {
  const nodes: EventNode[] = [];
  let key = '';
  beforeAll(async () => {
    const prefix = freshPrefix('recount');
    const adminKey = 'admin-key-for-both-nodes';
    nodes.push(await startEventNode('redis', {}, { prefix, adminKey }));
    nodes.push(await startEventNode('redis', {}, { prefix, adminKey }));
    key = (await nodes[0]!.createApp()).key;
  });
  afterAll(async () => {
    for (const n of nodes.splice(0)) await n.close();
  });

  it('offered, answered, abandoned, rates, ASA and AHT of every window, after any run', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 20), fc.commands([opArb.map((op) => new Step(op))], { maxCommands: 40, size: 'large' }), async (sl, cmds) => {
        const real: Real = { nodes, key, q: '' };
        real.q = (await rest(real, 0, 'POST', '/v1/queues', { name: 'recount', service_level_seconds: sl })).body.uuid as string;
        const model: Model = { callers: new Map(), members: [] };
        for (const [name, phone] of [['Alice', '1001'], ['Bob', '1002']] as const) {
          const agent = (await rest(real, 1, 'POST', '/v1/agents', { name })).body.uuid as string;
          expect((await rest(real, 0, 'POST', `/v1/queues/${real.q}/members`, { agent_id: agent, number: phone })).status).toBe(201);
          model.members.push({ uuid: agent, status: 'available', paused: false });
        }
        await fc.asyncModelRun(() => ({ model, real }), cmds);

        // Every node relays what it recorded; then the log holds every change of the run.
        for (const n of nodes) await n.engine.events.flush();
        const events: HoldlineEvent[] = [];
        for (let marker = ''; ; ) {
          const page = await rest(real, 1, 'GET', `/v1/events?q.field=queue_id&q.value=${real.q}&limit=1000${marker}`);
          expect(page.status).toBe(200);
          events.push(...(page.body as HoldlineEvent[]));
          if (page.body.length < 1000) break;
          marker = `&marker=${page.body.at(-1).message_id}`;
        }
        for (const [i, window] of WINDOWS.entries()) {
          const stats = (await rest(real, i % 2, 'GET', `/v1/queues/${real.q}/stats?window=${window}`)).body;
          const { average_handle_time: aht, ...exact } = recount(events, Date.parse(stats.window.start), sl);
          const { average_handle_time: got, window: _w, start: _s, ...figures } = stats.window;
          expect(figures, `${window}: ${cmds}`).toEqual(exact);
          if (aht === null) expect(got).toBeNull();
          else expect(Math.abs(got - aht), `${window} AHT ${got} vs ${aht}`).toBeLessThanOrEqual(0.002);
          const by = { available: 0, busy: 0, wrapup: 0, logged_out: 0, paused: 0 };
          for (const mem of model.members) {
            by[mem.status]++;
            if (mem.paused && mem.status !== 'logged_out') by.paused++;
          }
          expect(stats.members_by_state).toEqual(by);
        }
      }),
      { numRuns: 10 },
    );
  });
});
