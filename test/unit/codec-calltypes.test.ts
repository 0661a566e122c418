/**
 * The call-queue frames carry the call store's values unchanged (websocket.md section 5): the
 * server spreads a CallQueueChange into a callqueue.update frame and a snapshot into a
 * callqueue.snapshot frame. The frame types are built from the store's types (src/codec/frames.ts),
 * so `tsc` keeps the two in step; what keeps the store in step with the protocol is the runtime
 * half: such a frame is checked against the schemas in protocol/schemas/ws/.
 */
import { describe, expect, it } from 'vitest';
import type { CallQueueChange, CallQueueSnapshot } from '../../src/engine/call-types.js';
import { decodeServerFrame, encodeServerFrame } from '../../src/codec/index.js';
import type { CallQueueSnapshotFrame, CallQueueUpdateFrame } from '../../src/codec/index.js';

export function updateFrame(change: CallQueueChange): CallQueueUpdateFrame {
  return { type: 'callqueue.update', ...change };
}

export function snapshotFrame(queueId: string, snapshot: CallQueueSnapshot): CallQueueSnapshotFrame {
  return { type: 'callqueue.snapshot', queue_id: queueId, ...snapshot };
}

/** And back: what an SDK view holds is what the store produced. */
export function changeOf(frame: CallQueueUpdateFrame): CallQueueChange {
  const { type: _type, ...change } = frame;
  return change;
}

describe('call-queue frames carry the store shapes', () => {
  it('a store change in a frame passes the schema', () => {
    const T = '2026-11-22T14:59:05.123Z';
    const change: CallQueueChange = {
      kind: 'member_removed', queue_id: 'q1', seq: 3, at: T,
      member: { uuid: 'a1', queue_id: 'q1', number: '1001@example.org', paused: false, paused_at: null, pause_reason: null, status: 'logged_out', status_at: T, created_at: T },
      stats: {
        callers: 0, callers_waiting: 0, callers_ringing: 0, callers_connected: 0, longest_wait: 0, oldest_wait_since: null,
        members: 0, members_logged_in: 0, members_available: 0, members_paused: 0, completed: 0, abandoned: 0, timed_out: 0,
        transferred: 0, average_wait: null, service_level: null, service_level_seconds: 20, at: T,
      },
    };
    const frame = updateFrame(change);
    expect(decodeServerFrame(encodeServerFrame(frame, 'json'), 'json')).toEqual({ ok: true, frame });
    expect(changeOf(frame)).toEqual(change);
  });
});
