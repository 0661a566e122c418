/**
 * Wallboard windows (protocol/calls.md section 5.1) equal a recount of the queue's own changes:
 * a random run of joins, connects and leaves through two stores sharing one Redis (two nodes), and
 * on the memory store with a clock that moves across minutes, quarters and days.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallQueueChange, CallStore, LeaveReason } from '../../src/engine/call-types.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { buildWallboard, WALLBOARD_WINDOWS, type WallboardWindow, type WindowFigures } from '../../src/engine/wallboard.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { freshPrefix } from '../helpers/namespace.js';
import { seededRandom } from '../helpers/seeded.js';

const APP = 'acme';
const SL = 5;
const REASONS: LeaveReason[] = ['answered', 'abandoned', 'timeout', 'transferred'];

/** Independent recount from the changes: which left or joined in [start, now], summed by hand. */
function recount(changes: CallQueueChange[], window: WallboardWindow, nowMs: number): Omit<WindowFigures, 'start'> {
  const minute = Math.floor(nowMs / 60_000);
  const d = new Date(nowMs);
  const start =
    window === '15m' ? (minute - 14) * 60_000 : window === '1h' ? (minute - 59) * 60_000 : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const connected = new Map<string, number>();
  const n = { offered: 0, answered: 0, abandoned: 0, timed_out: 0, transferred: 0, answered_within: 0, abandoned_within: 0, waitMs: 0, handled: 0, handleMs: 0 };
  for (const c of changes) {
    const at = Date.parse(c.at);
    if (c.kind === 'caller_updated' && c.caller.status === 'connected' && c.changed.includes('status')) {
      connected.set(c.caller.uuid, Date.parse(c.caller.status_at));
    }
    if (at < start || at > nowMs) continue;
    if (c.kind === 'caller_joined') n.offered++;
    if (c.kind !== 'caller_left') continue;
    const waitMs = Math.round(c.wait * 1000);
    const within = waitMs <= SL * 1000;
    if (c.reason === 'answered') {
      n.answered++;
      n.waitMs += waitMs;
      if (within) n.answered_within++;
    } else if (c.reason === 'abandoned') {
      n.abandoned++;
      if (within) n.abandoned_within++;
    } else if (c.reason === 'timeout') n.timed_out++;
    else n.transferred++;
    const since = connected.get(c.caller.uuid);
    if (since !== undefined) {
      n.handled++;
      n.handleMs += at - since;
    }
  }
  const ended = n.answered + n.abandoned + n.timed_out;
  return {
    window,
    offered: n.offered, answered: n.answered, abandoned: n.abandoned, timed_out: n.timed_out, transferred: n.transferred,
    answered_within: n.answered_within, abandoned_within: n.abandoned_within,
    abandon_rate: ended === 0 ? null : n.abandoned / ended,
    service_level: ended === 0 ? null : n.answered_within / ended,
    average_speed_of_answer: n.answered === 0 ? null : Math.round(n.waitMs / n.answered) / 1000,
    average_handle_time: n.handled === 0 ? null : Math.round(n.handleMs / n.handled) / 1000,
    handled: n.handled,
  };
}

/** Random joins, rings, connects and leaves through the given stores (round-robin: several nodes). */
async function randomRun(stores: CallStore[], queueId: string, member: string, steps: number, seed: number, tick?: () => void): Promise<void> {
  const r = seededRandom(seed);
  const live: { uuid: string; status: 'waiting' | 'ringing' | 'connected' }[] = [];
  for (let i = 0; i < steps; i++) {
    tick?.();
    const store = stores[i % stores.length]!;
    const pick = r();
    if (live.length === 0 || pick < 0.35) {
      const c = (await store.joinCaller(APP, queueId, { name: `c${i}`, number: '100', priority: Math.floor(r() * 3) })).value;
      live.push({ uuid: c.uuid, status: 'waiting' });
      continue;
    }
    const idx = Math.floor(r() * live.length);
    const c = live[idx]!;
    if (pick < 0.6 && c.status !== 'connected') {
      const status = c.status === 'waiting' && r() < 0.5 ? 'ringing' : 'connected';
      await store.updateCaller(APP, queueId, c.uuid, { status, member_uuid: member });
      c.status = status;
    } else {
      await store.leaveCaller(APP, queueId, c.uuid, REASONS[Math.floor(r() * REASONS.length)]!);
      live.splice(idx, 1);
    }
  }
}

describe.each(callStoreFactories)('wallboard windows equal a recount ($name store)', (factory) => {
  const open: CallStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('after a random run through two nodes', async () => {
    const prefix = freshPrefix('wallboard');
    const a = await factory.open({ prefix });
    open.push(a);
    // On Redis a second store on the same prefix is a second node; memory has one process.
    const b = factory.name === 'redis' ? await factory.open({ prefix }) : a;
    if (b !== a) open.push(b);
    const q = await a.createCallQueue(APP, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: SL });
    const agent = await a.createAgent(APP, { name: 'alice', project_id: null, user_id: null });
    await a.addMember(APP, q.uuid, { agent_uuid: agent.uuid, number: '1001', paused: false, pause_reason: null, status: 'busy' });
    await randomRun([a, b], q.uuid, agent.uuid, 80, 7);

    const read = (await b.readWallboard(APP, q.uuid))!;
    const changes = (await a.changesSince(APP, q.uuid, 0))!;
    for (const w of WALLBOARD_WINDOWS) {
      const got = buildWallboard(read, w, 'UTC');
      const { start: _start, ...figures } = got.window;
      expect(figures).toEqual(recount(changes, w, read.nowMs));
      expect(got.members_by_state).toEqual({ available: 0, busy: 1, wrapup: 0, logged_out: 0, paused: 0 });
      expect(got.callers_waiting).toBe(read.stats.callers_waiting);
    }
    expect(await a.readWallboard(APP, '00000000-0000-4000-8000-000000000000')).toBeNull();
  });
});

describe('wallboard windows slide with the clock (memory store)', () => {
  it('equal a recount at every step of a run over 26 hours, buckets bounded', async () => {
    let now = Date.UTC(2026, 11, 6, 21, 50, 0);
    const store = new MemoryCallStore({ now: () => now, changeRetention: 100_000 });
    const q = await store.createCallQueue(APP, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: SL });
    const agent = await store.createAgent(APP, { name: 'alice', project_id: null, user_id: null });
    await store.addMember(APP, q.uuid, { agent_uuid: agent.uuid, number: '1001', paused: false, pause_reason: null, status: 'available' });
    const r = seededRandom(11);
    for (let round = 0; round < 40; round++) {
      await randomRun([store], q.uuid, agent.uuid, 15, round, () => {
        now += Math.floor(r() * 6 * 60_000); // up to 6 minutes per step: crosses minutes, quarters, midnight
      });
      const read = (await store.readWallboard(APP, q.uuid))!;
      expect(read.buckets.minutes.size).toBeLessThanOrEqual(60);
      expect(read.buckets.quarters.size).toBeLessThanOrEqual(100);
      const changes = (await store.changesSince(APP, q.uuid, 0))!;
      for (const w of WALLBOARD_WINDOWS) {
        const { start: _start, ...figures } = buildWallboard(read, w, 'UTC').window;
        expect(figures).toEqual(recount(changes, w, now));
      }
    }
    expect(now - Date.UTC(2026, 11, 6, 21, 50, 0)).toBeGreaterThan(26 * 3600_000);
    await store.close();
  });
});
