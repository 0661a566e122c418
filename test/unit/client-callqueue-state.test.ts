import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CallQueueSnapshotFrame } from '../../src/codec/frames.js';
import type { CallQueue, CallQueueStats, CallQueueUpdateFrame, Caller, LineMove, Member } from '../../src/client/index.js';
import { CallQueueState, moveInLine } from '../../src/client/callqueue-state.js';

const Q = 'cc096e0b-0c96-4b8b-b812-ef456f361ee3';
const T = '2026-11-22T14:59:05.123Z';

const queue: CallQueue = {
  uuid: Q, name: 'support', description: '', disabled: false, project_id: null, user_id: null,
  service_level_seconds: 20, created_at: T, updated_at: T,
};

function stats(callers: number): CallQueueStats {
  return {
    callers, callers_waiting: callers, callers_ringing: 0, callers_connected: 0, longest_wait: 0,
    oldest_wait_since: null, members: 0, members_logged_in: 0, members_available: 0, members_paused: 0,
    completed: 0, abandoned: 0, timed_out: 0, transferred: 0, average_wait: null, service_level: null,
    service_level_seconds: 20, at: T,
  };
}

function caller(uuid: string, over: Partial<Caller> = {}): Caller {
  return {
    uuid, queue_id: Q, name: uuid, number: `+100${uuid}`, priority: 0, position: null, status: 'waiting',
    status_at: T, member_uuid: null, created_at: T, ...over,
  };
}

const member: Member = {
  uuid: 'agent-1', queue_id: Q, number: '1001@example.org', paused: false, paused_at: null,
  pause_reason: null, status: 'available', status_at: T, created_at: T,
};

function snapshot(seq: number, callers: Caller[], members: Member[] = []): CallQueueSnapshotFrame {
  return { type: 'callqueue.snapshot', queue_id: Q, seq, queue, callers, members, stats: stats(callers.length) };
}

function line(uuid: string, from: number | null, to: number | null, length: number): LineMove {
  return { uuid, from, to, length };
}

const base = { type: 'callqueue.update' as const, queue_id: Q, at: T };
const joined = (seq: number, c: Caller, l: LineMove): CallQueueUpdateFrame => ({ ...base, seq, kind: 'caller_joined', caller: c, line: l, stats: stats(l.length) });
const left = (seq: number, c: Caller, l?: LineMove): CallQueueUpdateFrame => ({
  ...base, seq, kind: 'caller_left', caller: c, reason: 'answered', wait: 3, stats: stats(0), ...(l ? { line: l } : {}),
});
const updated = (seq: number, c: Caller, changed: Array<'priority' | 'status' | 'member_uuid'>, l?: LineMove): CallQueueUpdateFrame => ({
  ...base, seq, kind: 'caller_updated', caller: c, changed, stats: stats(0), ...(l ? { line: l } : {}),
});

const uuids = (s: CallQueueState): string[] => s.waiting.map((c) => c.uuid);

describe('CallQueueState: snapshot and updates (websocket.md section 5)', () => {
  it('a snapshot replaces the view: waiting callers in position order, others after in join order', () => {
    const s = new CallQueueState(Q);
    expect(s.seq).toBeNull();
    s.applySnapshot(snapshot(57, [
      caller('a', { position: 0 }),
      caller('b', { position: 1 }),
      caller('r', { status: 'ringing', created_at: '2026-11-22T14:00:02.000Z' }),
      caller('c', { status: 'connected', created_at: '2026-11-22T14:00:01.000Z', member_uuid: 'agent-1' }),
    ], [member]));
    expect(s.seq).toBe(57);
    expect(uuids(s)).toEqual(['a', 'b']);
    expect(s.waiting.map((c) => c.position)).toEqual([0, 1]);
    expect(s.callers.map((c) => [c.uuid, c.position])).toEqual([['a', 0], ['b', 1], ['c', null], ['r', null]]);
    expect(s.members).toEqual([member]);
    expect(s.queue).toEqual(queue);
    expect(s.stats?.callers).toBe(4);
  });

  it('applies joins, a priority move, ringing and leaves through line moves', () => {
    const s = new CallQueueState(Q);
    s.applySnapshot(snapshot(10, [caller('a'), caller('b')]));
    expect(s.applyUpdate(joined(11, caller('c'), line('c', null, 2, 3)))).toEqual({ kind: 'applied' });
    expect(s.applyUpdate(joined(12, caller('vip', { priority: 5 }), line('vip', null, 0, 4)))).toEqual({ kind: 'applied' });
    expect(uuids(s)).toEqual(['vip', 'a', 'b', 'c']);
    // c's priority rises above a and b: removed at 3, inserted at 1; a and b shift down by one.
    expect(s.applyUpdate(updated(13, caller('c', { priority: 1 }), ['priority'], line('c', 3, 1, 4)))).toEqual({ kind: 'applied' });
    expect(uuids(s)).toEqual(['vip', 'c', 'a', 'b']);
    expect(s.caller('a')?.position).toBe(2);
    // vip rings: out of the line, still a caller with position null.
    expect(s.applyUpdate(updated(14, caller('vip', { priority: 5, status: 'ringing', member_uuid: 'agent-1' }), ['status', 'member_uuid'], line('vip', 0, null, 3)))).toEqual({ kind: 'applied' });
    expect(uuids(s)).toEqual(['c', 'a', 'b']);
    expect(s.caller('vip')).toMatchObject({ status: 'ringing', position: null });
    // a member_uuid change of a ringing caller moves nobody: no line.
    expect(s.applyUpdate(updated(15, caller('vip', { priority: 5, status: 'connected', member_uuid: 'agent-1' }), ['status']))).toEqual({ kind: 'applied' });
    // vip leaves (was not waiting: no line); a leaves from the middle.
    expect(s.applyUpdate(left(16, caller('vip', { status: 'connected' })))).toEqual({ kind: 'applied' });
    expect(s.applyUpdate(left(17, caller('a'), line('a', 1, null, 2)))).toEqual({ kind: 'applied' });
    expect(uuids(s)).toEqual(['c', 'b']);
    expect(s.waiting.map((c) => c.position)).toEqual([0, 1]);
    expect(s.caller('vip')).toBeUndefined();
    expect(s.seq).toBe(17);
  });

  it('ignores repeated updates (seq at or below the view)', () => {
    const s = new CallQueueState(Q);
    s.applySnapshot(snapshot(10, [caller('a')]));
    const f = joined(11, caller('b'), line('b', null, 1, 2));
    expect(s.applyUpdate(f)).toEqual({ kind: 'applied' });
    expect(s.applyUpdate(f)).toEqual({ kind: 'stale' });
    expect(s.applyUpdate(joined(9, caller('x'), line('x', null, 0, 3)))).toEqual({ kind: 'stale' });
    expect(uuids(s)).toEqual(['a', 'b']);
    expect(s.seq).toBe(11);
  });

  it('a seq gap asks to resubscribe with since_seq = the last applied seq, and changes nothing', () => {
    const s = new CallQueueState(Q);
    s.applySnapshot(snapshot(10, [caller('a')]));
    expect(s.applyUpdate(joined(12, caller('b'), line('b', null, 1, 2)))).toEqual({ kind: 'gap', sinceSeq: 10 });
    expect(uuids(s)).toEqual(['a']);
    expect(s.seq).toBe(10);
    // After the resume (recovered: true), the missed update and the next one apply in order.
    expect(s.applyUpdate(joined(11, caller('c'), line('c', null, 1, 2)))).toEqual({ kind: 'applied' });
    expect(s.applyUpdate(joined(12, caller('b'), line('b', null, 2, 3)))).toEqual({ kind: 'applied' });
    expect(uuids(s)).toEqual(['a', 'c', 'b']);
  });

  it('an update that does not fit the line is inconsistent and changes nothing', () => {
    const fresh = (): CallQueueState => {
      const s = new CallQueueState(Q);
      s.applySnapshot(snapshot(10, [caller('a'), caller('b')]));
      return s;
    };
    const cases: Array<[string, CallQueueUpdateFrame]> = [
      ['wrong from', left(11, caller('a'), line('a', 1, null, 1))],
      ['wrong length', joined(11, caller('c'), line('c', null, 0, 4))],
      ['to out of range', joined(11, caller('c'), line('c', null, 5, 3))],
      ['line for another caller', joined(11, caller('c'), line('a', 0, 1, 2))],
      ['joined twice', joined(11, caller('a'), line('a', 0, 0, 2))],
      ['enters while in the line', joined(11, caller('a'), line('a', null, 0, 3))],
      ['waiting but not in the line', updated(11, caller('a', { priority: 3 }), ['priority'], line('a', 0, null, 1))],
      ['left but still in the line', left(11, caller('a'))],
      ['unknown caller', updated(11, caller('zz', { status: 'ringing' }), ['status'])],
      ['another queue', { ...joined(11, caller('c'), line('c', null, 2, 3)), queue_id: 'other' }],
    ];
    for (const [name, frame] of cases) {
      const s = fresh();
      const r = s.applyUpdate(frame);
      expect(r.kind, name).toBe('inconsistent');
      expect(uuids(s), name).toEqual(['a', 'b']);
      expect(s.seq, name).toBe(10);
    }
    expect(new CallQueueState(Q).applyUpdate(joined(1, caller('a'), line('a', null, 0, 1))).kind).toBe('inconsistent');
  });

  it('members, queue changes and deletion', () => {
    const s = new CallQueueState(Q);
    s.applySnapshot(snapshot(1, []));
    expect(s.applyUpdate({ ...base, seq: 2, kind: 'member_added', member, stats: stats(0) }).kind).toBe('applied');
    const paused = { ...member, paused: true, pause_reason: 'lunch' };
    expect(s.applyUpdate({ ...base, seq: 3, kind: 'member_updated', member: paused, changed: ['paused', 'pause_reason'], stats: stats(0) }).kind).toBe('applied');
    expect(s.members).toEqual([paused]);
    expect(s.applyUpdate({ ...base, seq: 4, kind: 'queue_updated', queue: { ...queue, name: 'sales' }, changed: ['name'], stats: stats(0) }).kind).toBe('applied');
    expect(s.queue?.name).toBe('sales');
    expect(s.applyUpdate({ ...base, seq: 5, kind: 'member_removed', member: paused, stats: stats(0) }).kind).toBe('applied');
    expect(s.members).toEqual([]);
    expect(s.applyUpdate({ ...base, seq: 6, kind: 'queue_deleted', queue }).kind).toBe('applied');
    expect(s.deleted).toBe(true);
  });

  it('moveInLine is the rule of 5.3', () => {
    expect(moveInLine(['a', 'b', 'c', 'd'], line('d', 3, 0, 4))).toEqual(['d', 'a', 'b', 'c']);
    expect(moveInLine(['a', 'b', 'c', 'd'], line('a', 0, 3, 4))).toEqual(['b', 'c', 'd', 'a']);
    expect(moveInLine([], line('a', null, 0, 1))).toEqual(['a']);
    expect(moveInLine(['a'], line('a', 0, null, 0))).toEqual([]);
    expect(typeof moveInLine(['a'], line('a', 0, null, 1))).toBe('string');
  });
});

/**
 * Model: waiting callers ordered by priority (higher first), then join order (websocket.md 5.3,
 * calls.md). Each step changes one caller, the server would describe it with one `line` move
 * (the caller's index before and after); applying those moves must give exactly the model's order.
 */
type Op =
  | { op: 'join'; priority: number }
  | { op: 'leave'; pick: number }
  | { op: 'priority'; pick: number; priority: number }
  | { op: 'ring'; pick: number }
  | { op: 'requeue'; pick: number };

interface ModelCaller {
  uuid: string;
  priority: number;
  join: number;
  status: 'waiting' | 'ringing';
}

function order(model: ModelCaller[]): string[] {
  return model
    .filter((c) => c.status === 'waiting')
    .sort((a, b) => b.priority - a.priority || a.join - b.join)
    .map((c) => c.uuid);
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('join' as const), priority: fc.integer({ min: 0, max: 3 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('leave' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('priority' as const), pick: fc.nat(), priority: fc.integer({ min: 0, max: 3 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('ring' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('requeue' as const), pick: fc.nat() }), weight: 1 },
);

describe('CallQueueState: property', () => {
  it('random changes applied through line moves give the model’s order, positions and seq', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const model: ModelCaller[] = [];
        const s = new CallQueueState(Q);
        s.applySnapshot(snapshot(0, []));
        let seq = 0;
        let joins = 0;
        const toWire = (c: ModelCaller): Caller => caller(c.uuid, { priority: c.priority, status: c.status });
        for (const o of ops) {
          const before = order(model);
          let frame: CallQueueUpdateFrame | null = null;
          if (o.op === 'join') {
            const c: ModelCaller = { uuid: `c${joins}`, priority: o.priority, join: joins++, status: 'waiting' };
            model.push(c);
            const after = order(model);
            frame = joined(seq + 1, toWire(c), line(c.uuid, null, after.indexOf(c.uuid), after.length));
          } else {
            if (model.length === 0) continue;
            const c = model[o.pick % model.length] as ModelCaller;
            const from = before.indexOf(c.uuid);
            if (o.op === 'leave') model.splice(model.indexOf(c), 1);
            else if (o.op === 'priority') c.priority = o.priority;
            else if (o.op === 'ring') c.status = 'ringing';
            else c.status = 'waiting';
            const after = order(model);
            const to = after.indexOf(c.uuid);
            const move = from === -1 && to === -1 ? undefined : line(c.uuid, from === -1 ? null : from, to === -1 ? null : to, after.length);
            frame =
              o.op === 'leave'
                ? left(seq + 1, toWire(c), move)
                : updated(seq + 1, toWire(c), o.op === 'priority' ? ['priority'] : ['status'], move);
          }
          expect(s.applyUpdate(frame)).toEqual({ kind: 'applied' });
          seq++;
          const expected = order(model);
          expect(uuids(s)).toEqual(expected);
          expect(s.waiting.map((c) => c.position)).toEqual(expected.map((_, i) => i));
          expect(s.seq).toBe(seq);
        }
      }),
      { numRuns: 300 },
    );
  });
});
