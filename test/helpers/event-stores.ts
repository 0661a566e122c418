/**
 * An engine and a call store sharing one event log, as `holdline serve` builds them (calls-factory.ts):
 * the memory pair (one process log), or the Redis pair on the run's redis-server under a fresh prefix
 * (a second pair on the same prefix is a second node).
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, inject } from 'vitest';
import type { CallStore } from '../../src/engine/call-types.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { isoMicros, type EventRetention, type HoldlineEvent } from '../../src/engine/events.js';
import type { Engine } from '../../src/engine/types.js';
import { freshPrefix } from './namespace.js';

export interface EventNode {
  engine: Engine;
  calls: CallStore;
  close(): Promise<void>;
}

export interface EventNodeOptions {
  prefix?: string;
  retention?: Partial<EventRetention>;
  sweepIntervalMs?: number;
  url?: string;
}

export interface EventNodeFactory {
  name: 'memory' | 'redis';
  open(opts?: EventNodeOptions): Promise<EventNode>;
}

export const eventNodeFactories: EventNodeFactory[] = [
  {
    name: 'memory',
    open: async (opts = {}) => {
      const engine = new MemoryEngine({ sweepIntervalMs: opts.sweepIntervalMs ?? 60_000, ...(opts.retention ? { eventRetention: opts.retention } : {}) });
      await engine.start();
      const calls = new MemoryCallStore({ events: engine.events });
      return { engine, calls, close: async () => { await calls.close(); await engine.close(); } };
    },
  },
  {
    name: 'redis',
    open: async (opts = {}) => {
      const url = opts.url ?? inject('redisUrl');
      const prefix = opts.prefix ?? freshPrefix('ev');
      const engine = new RedisEngine({
        url, prefix, sweepIntervalMs: 60_000, eventSweepIntervalMs: opts.sweepIntervalMs ?? 60_000,
        ...(opts.retention ? { eventRetention: opts.retention } : {}),
      });
      await engine.start();
      const calls = await RedisCallStore.open({ url, prefix, feeds: engine.feeds, events: engine.events });
      return { engine, calls, close: async () => { await calls.close(); await engine.close(); } };
    },
  },
];

/** What useRedisLog makes for each test. */
export interface RedisLogFixture {
  engine: RedisEngine;
  client: Redis;
  prefix: string;
}

/**
 * For each test: a Redis engine on a fresh prefix (no sweep within a test; events kept a century,
 * 1,000 at most) and a plain client on the run's redis-server, given to `use` before the test.
 */
export function useRedisLog(name: string, use: (fixture: RedisLogFixture) => void): void {
  let made: RedisLogFixture | undefined;
  beforeEach(async () => {
    const prefix = freshPrefix(name);
    const engine = new RedisEngine({ url: inject('redisUrl'), prefix, sweepIntervalMs: 60_000, eventRetention: { maxAgeMs: 100 * 365 * 86_400_000, maxEvents: 1000 } });
    await engine.start();
    made = { engine, client: new Redis(inject('redisUrl')), prefix };
    use(made);
  });
  afterEach(async () => {
    made?.client.disconnect();
    await made?.engine.close();
    made = undefined;
  });
}

/**
 * Event times (µs since the epoch, as the scripts spell them) where a date is easy to get wrong: the
 * epoch's first second, leap days (2000-02-29, 2100 is not a leap year), year and century ends, and now.
 */
export function edgeTimesUs(): string[] {
  return [
    '1000000', '951782400123456', '951868799999999', '978307199999999', '4107542400000001', '1798761599999999', '1772323200000000',
    String(Date.now() * 1000 + 789),
  ];
}

/** The event the relay and direct-recording tests record at the i-th edge time: type `type`, traits queue_id `q<i>` and n = i. */
export function edgeEvent(app: string, type: string, i: number, us: number, messageId: string): HoldlineEvent {
  return {
    message_id: messageId, event_type: type, generated: isoMicros(us), raw: {},
    traits: [
      { name: 'project_id', type: 'string', value: app },
      { name: 'queue_id', type: 'string', value: `q${i}` },
      { name: 'n', type: 'integer', value: i },
    ],
  };
}
