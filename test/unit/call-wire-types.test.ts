/**
 * The wire's call-queue types (src/codec/call-wire.ts) and the call store's (src/engine/call-types.ts)
 * are separate declarations. Today the server passes the store's values into frames unchanged, so
 * the two must describe the same JSON: checked both ways here by the compiler (`npm test` runs tsc
 * over test/ first). When the store's types change
 * on purpose, this is where the needed mapping shows up.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type {
  WireCallQueue,
  WireCallQueueChange,
  WireCallQueueSnapshot,
  WireCallQueueStats,
  WireCaller,
  WireLineMove,
  WireMember,
  WireMembersByState,
  WireWindowFigures,
  CallQueueStatsFrame,
} from '../../src/codec/index.js';
import type { MembersByState, WallboardFrame, WindowFigures } from '../../src/engine/wallboard.js';
import type { CallQueue, CallQueueChange, CallQueueSnapshot, CallQueueStats, Caller, LineMove, Member } from '../../src/engine/call-types.js';

describe('call-queue wire types', () => {
  it('describe the same JSON as the call store types (both ways)', () => {
    expectTypeOf<CallQueue>().toEqualTypeOf<WireCallQueue>();
    expectTypeOf<Member>().toEqualTypeOf<WireMember>();
    expectTypeOf<Caller>().toEqualTypeOf<WireCaller>();
    expectTypeOf<CallQueueStats>().toEqualTypeOf<WireCallQueueStats>();
    expectTypeOf<LineMove>().toEqualTypeOf<WireLineMove>();
    expectTypeOf<CallQueueSnapshot>().toEqualTypeOf<WireCallQueueSnapshot>();
    expectTypeOf<CallQueueChange>().toMatchTypeOf<WireCallQueueChange>();
    expectTypeOf<WireCallQueueChange>().toMatchTypeOf<CallQueueChange>();
    expectTypeOf<WindowFigures>().toEqualTypeOf<WireWindowFigures>();
    expectTypeOf<MembersByState>().toEqualTypeOf<WireMembersByState>();
    expectTypeOf<WallboardFrame>().toEqualTypeOf<Omit<CallQueueStatsFrame, 'type'>>();
  });

});
