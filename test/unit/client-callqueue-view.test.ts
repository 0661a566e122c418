/**
 * CallQueueView on hand-written frame sequences: what it sends when it finds a gap or an update
 * that does not fit, and what it holds after. A recording host answers its requests by hand.
 */
import { describe, expect, it } from 'vitest';
import type { CallQueueSnapshotFrame, CallQueueUpdateFrame, WireCaller } from '../../src/codec/frames.js';
import { CallQueueView, type CallQueueChange } from '../../src/client/callqueue-view.js';
import { HoldlineRequestError } from '../../src/client/errors.js';
import { RecordingHost } from '../helpers/client-host.js';

const Q = 'q-1';
const T = '2026-11-22T14:59:05.123Z';

const stats = {
  callers: 0, callers_waiting: 0, callers_ringing: 0, callers_connected: 0, longest_wait: 0, oldest_wait_since: null,
  members: 0, members_logged_in: 0, members_available: 0, members_paused: 0, completed: 0, abandoned: 0, timed_out: 0,
  transferred: 0, average_wait: null, service_level: null, service_level_seconds: 20, at: T,
};
const queue = { uuid: Q, name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20, created_at: T, updated_at: T };

const caller = (uuid: string): WireCaller => ({
  uuid, queue_id: Q, name: uuid, number: '1', priority: 0, position: null, status: 'waiting', status_at: T, member_uuid: null, created_at: T,
});

const snapshot = (seq: number, uuids: string[]): CallQueueSnapshotFrame => ({
  type: 'callqueue.snapshot', queue_id: Q, seq, queue, callers: uuids.map(caller), members: [], stats,
});

/** `uuid` joins at the end of a line that had `length - 1` callers. */
const join = (seq: number, uuid: string, length: number): CallQueueUpdateFrame => ({
  type: 'callqueue.update', queue_id: Q, seq, at: T, kind: 'caller_joined', caller: caller(uuid),
  line: { uuid, from: null, to: length - 1, length }, stats,
});

/** A caller_joined whose line length does not match the view's line. */
const misfit: CallQueueUpdateFrame = {
  type: 'callqueue.update', queue_id: Q, seq: 11, at: T, kind: 'caller_joined', caller: caller('c'),
  line: { uuid: 'c', from: null, to: 2, length: 7 }, stats,
};

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function liveView(host: RecordingHost, uuids: string[], seq: number): Promise<{ view: CallQueueView; changes: CallQueueChange[] }> {
  const view = new CallQueueView(host, Q);
  const changes: CallQueueChange[] = [];
  view.on('change', (c) => changes.push(c));
  void view.activate(1);
  expect(host.sent[0]?.frame).toEqual({ type: 'callqueue.subscribe', queue_id: Q });
  host.reply(0, { type: 'callqueue.subscribed', queue_id: Q, seq, recovered: false });
  expect(view.state).toEqual({ status: 'awaiting_snapshot' });
  view.onUpdate(join(seq + 1, 'early', uuids.length + 1), 1); // cannot precede the snapshot: ignored
  view.onSnapshot(snapshot(seq, uuids));
  await view.ready;
  return { view, changes };
}

describe('CallQueueView', () => {
  it('subscribes, applies the snapshot and each update, emitting change after each', async () => {
    const host = new RecordingHost();
    const { view, changes } = await liveView(host, ['a', 'b'], 10);
    expect(view.state).toEqual({ status: 'live', seq: 10 });
    view.onUpdate(join(11, 'c', 3), 1);
    expect(view.waiting.map((c) => [c.uuid, c.position])).toEqual([['a', 0], ['b', 1], ['c', 2]]);
    expect(view.seq).toBe(11);
    expect(changes.map((c) => [c.kind, c.seq])).toEqual([['snapshot', 10], ['update', 11]]);
  });

  it('a seq gap → unsubscribe, then subscribe with since_seq = the last applied seq; the missed updates then apply', async () => {
    const host = new RecordingHost();
    const { view } = await liveView(host, ['a'], 10);
    const resubs: Array<number | null> = [];
    view.on('resubscribing', (r) => resubs.push(r.sinceSeq));
    view.onUpdate(join(12, 'c', 2), 1);
    expect(resubs).toEqual([10]);
    expect(host.sent[1]?.frame).toEqual({ type: 'callqueue.unsubscribe', queue_id: Q });
    view.onUpdate(join(13, 'd', 3), 1); // in flight from the old subscription: ignored
    host.reply(1, { type: 'callqueue.unsubscribed', queue_id: Q, reason: 'requested' });
    await settle();
    expect(host.sent[2]?.frame).toEqual({ type: 'callqueue.subscribe', queue_id: Q, since_seq: 10 });
    host.reply(2, { type: 'callqueue.subscribed', queue_id: Q, seq: 10, recovered: true });
    view.onUpdate(join(11, 'b', 2), 1);
    view.onUpdate(join(12, 'c', 3), 1);
    expect(view.waiting.map((c) => c.uuid)).toEqual(['a', 'b', 'c']);
    expect(view.seq).toBe(12);
  });

  it('an update that does not fit → callqueue.refresh; updates wait for the fresh snapshot, which replaces the view', async () => {
    const host = new RecordingHost();
    const { view } = await liveView(host, ['a', 'b'], 10);
    const refreshing: string[] = [];
    view.on('refreshing', (r) => refreshing.push(r.detail));
    view.onUpdate(misfit, 1);
    expect(view.waiting.map((c) => c.uuid)).toEqual(['a', 'b']);
    expect(host.sent[1]?.frame).toEqual({ type: 'callqueue.refresh', queue_id: Q });
    expect(refreshing).toHaveLength(1);
    expect(view.state).toEqual({ status: 'awaiting_snapshot' });
    host.reply(1, { type: 'callqueue.refreshed', queue_id: Q });
    view.onUpdate(join(12, 'x', 3), 1); // cannot precede the snapshot: ignored
    view.onSnapshot(snapshot(11, ['a', 'b', 'c']));
    expect(view.state).toEqual({ status: 'live', seq: 11 });
    expect(view.waiting.map((c) => c.uuid)).toEqual(['a', 'b', 'c']);
    view.onUpdate(join(12, 'd', 4), 1);
    expect(view.waiting.map((c) => c.uuid)).toEqual(['a', 'b', 'c', 'd']);
    expect(host.sent).toHaveLength(2); // no unsubscribe, no new subscribe
  });

  it('a server that refuses callqueue.refresh → resubscribe without since_seq for the snapshot', async () => {
    const host = new RecordingHost();
    const { view } = await liveView(host, ['a', 'b'], 10);
    view.onUpdate(misfit, 1);
    host.fail(1, new HoldlineRequestError({ code: 'unknown_frame_type', message: 'Unknown frame type', field: 'type' }, 'callqueue.refresh'));
    await settle();
    expect(host.sent[2]?.frame).toEqual({ type: 'callqueue.unsubscribe', queue_id: Q });
    host.reply(2, { type: 'callqueue.unsubscribed', queue_id: Q, reason: 'requested' });
    await settle();
    expect(host.sent[3]?.frame).toEqual({ type: 'callqueue.subscribe', queue_id: Q });
    host.reply(3, { type: 'callqueue.subscribed', queue_id: Q, seq: 11, recovered: false });
    view.onSnapshot(snapshot(11, ['a', 'b', 'c']));
    expect(view.state).toEqual({ status: 'live', seq: 11 });
  });

  it('after a reconnect it resumes with since_seq; a server snapshot at any time replaces the view', async () => {
    const host = new RecordingHost();
    const { view } = await liveView(host, ['a'], 10);
    view.onUpdate(join(11, 'b', 2), 1);
    host.connected = false;
    view.onDisconnect();
    expect(view.state).toEqual({ status: 'pending' });
    expect(view.waiting.map((c) => c.uuid)).toEqual(['a', 'b']); // still shown while offline
    host.connected = true;
    host.generation = 2;
    void view.activate(2);
    expect(host.sent[1]?.frame).toEqual({ type: 'callqueue.subscribe', queue_id: Q, since_seq: 11 });
    host.reply(1, { type: 'callqueue.subscribed', queue_id: Q, seq: 11, recovered: true });
    view.onUpdate(join(12, 'c', 3), 2);
    view.onSnapshot(snapshot(40, ['z'])); // slow-consumer resync (5.2)
    expect(view.seq).toBe(40);
    expect(view.waiting.map((c) => c.uuid)).toEqual(['z']);
  });

  it('ends when the server ends the subscription; ready rejects if that happens first', async () => {
    const host = new RecordingHost();
    const { view } = await liveView(host, [], 1);
    const ends: string[] = [];
    view.on('ended', (e) => ends.push(e.reason));
    view.onServerUnsubscribed({ type: 'callqueue.unsubscribed', queue_id: Q, reason: 'access_revoked' });
    expect(ends).toEqual(['access_revoked']);
    expect(view.state).toEqual({ status: 'ended', end: { reason: 'access_revoked' } });

    const other = new CallQueueView(new RecordingHost(), Q);
    other.onServerUnsubscribed({ type: 'callqueue.unsubscribed', queue_id: Q, reason: 'queue_deleted' });
    await expect(other.ready).rejects.toThrow(/queue_deleted/);
  });
});
