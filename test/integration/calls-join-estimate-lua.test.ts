/**
 * The join script's estimate (lua/includes/call-join-estimate.lua) against the node's
 * (src/domain/calls/estimate.ts estimateOnCurve) on random curves and counts, on a real Redis: the
 * store picks a joining caller's estimate itself, and it must be the value the node would have
 * given to the last bit (read back with 17 digits, not cjson's 14).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateOnCurve, joinCurve, type EstimateInput, type EstimateMember } from '../../src/domain/calls/estimate.js';
import type { JoinCurve } from '../../src/engine/call-types.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

const SCRIPT = `${readFileSync('src/engine/redis/lua/includes/call-join-estimate.lua', 'utf8')}
local out = {}
for i, k in ipairs(cjson.decode(ARGV[2])) do out[i] = string.format('%.17g', joinEstimate(ARGV[1], k)) end
return out`;

/** As redis/calls.ts encodeJoinCurve writes it. */
const encode = (c: JoinCurve): string => [c.counts ? 1 : 0, c.cycle, ...c.points.flatMap((p) => [p.at, p.step, p.rate])].join(' ');

const NOW = 1_765_000_000_123;
const secondsArb = fc.oneof(fc.integer({ min: 0, max: 900 }), fc.double({ min: 0, max: 900, noNaN: true }));
const memberArb: fc.Arbitrary<EstimateMember> = fc.record(
  {
    status: fc.constantFrom('available', 'busy', 'wrapup', 'logged_out') as fc.Arbitrary<EstimateMember['status']>,
    paused: fc.boolean(),
    statusAtMs: fc.oneof(fc.integer({ min: NOW - 900_000, max: NOW }), fc.double({ min: NOW - 900_000, max: NOW, noNaN: true })),
    offered: fc.boolean(),
    tags: fc.subarray(['a', 'b']),
    penalty: fc.integer({ min: 0, max: 3 }),
    // Engaged by another queue: a caller's pool of such members alone does not compete with the queue's.
    engagedElsewhere: fc.boolean(),
  },
  { requiredKeys: ['status', 'paused', 'statusAtMs', 'offered'] },
);
const inputArb: fc.Arbitrary<EstimateInput> = fc.record({
  nowMs: fc.constant(NOW),
  handleSeconds: secondsArb,
  wrapupSeconds: secondsArb,
  members: fc.array(memberArb, { minLength: 1, maxLength: 40 }),
  relaxAfterSeconds: fc.constantFrom(0, 15, 60),
  stayShare: fc.double({ min: 0.05, max: 1, noNaN: true }),
});

describe('call-join-estimate.lua', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it("is estimateOnCurve's value to the last bit", async () => {
    const samples = fc.sample(
      fc.tuple(inputArb, fc.subarray(['a', 'b']), fc.array(fc.nat({ max: 5000 }), { minLength: 1, maxLength: 12 })),
      { numRuns: 600, seed: 12 },
    );
    let compared = 0;
    let apart = 0;
    for (const [input, tags, counts] of samples) {
      const curve = joinCurve({ requiredTags: tags, createdMs: NOW }, input);
      if (curve === null) continue;
      const ks = [0, 1, 2, 3, ...counts];
      const got = (await redis.eval(SCRIPT, 0, encode(curve), JSON.stringify(ks))) as string[];
      expect(got.map(Number)).toEqual(ks.map((k) => estimateOnCurve(curve, k)));
      compared += ks.length;
      if (!curve.counts) apart++;
    }
    expect(compared).toBeGreaterThan(2000);
    expect(apart).toBeGreaterThan(0);
  });
});
