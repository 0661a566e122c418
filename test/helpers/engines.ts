/**
 * The engines the conformance suites (test/integration/engine-conformance-*.test.ts) run against.
 * `create()` returns a started engine in a fresh namespace: a new process-local store for memory,
 * a fresh random key prefix for Redis, so cases never see each other's data.
 *
 * Plus small fixtures the suites share: a fresh app + queue, and a listener that records events.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, inject } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { Engine, NewMessage, PartitionEvent, PartitionListener, PartitionRef, QueueMeta, StoredMessage } from '../../src/engine/types.js';
import { freshPrefix } from './namespace.js';

export interface EngineFactory {
  name: 'memory' | 'redis';
  create(): Promise<Engine>;
}

async function started(engine: Engine): Promise<Engine> {
  await engine.start();
  return engine;
}

export const engineFactories: EngineFactory[] = [
  // A sweep interval longer than any case: the suite then proves expired messages are hidden by the
  // read path itself, not by reclamation (test/unit/memory-engine.test.ts covers the sweeper).
  { name: 'memory', create: () => started(new MemoryEngine({ sweepIntervalMs: 60_000 })) },
  { name: 'redis', create: () => started(new RedisEngine({ url: inject('redisUrl'), prefix: freshPrefix('conf'), sweepIntervalMs: 60_000 })) },
];

/** A fresh started engine for each test of the enclosing describe, closed after it. */
export function useEngine(factory: EngineFactory): () => Engine {
  let engine: Engine | undefined;
  beforeEach(async () => {
    engine = await factory.create();
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });
  return () => {
    if (engine === undefined) throw new Error('engine used outside a test');
    return engine;
  };
}

export function randomName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** Creates an application and one queue in it. */
export async function freshQueue(engine: Engine, partitions = 1, overrides: Partial<QueueMeta> = {}): Promise<QueueMeta> {
  const application = overrides.application ?? randomName('app');
  if ((await engine.getApp(application)) === null) expect(await engine.createApp(application)).not.toBeNull();
  const meta: QueueMeta = {
    application,
    name: randomName('q'),
    partitions,
    type: 'user',
    consistency: 'weak',
    principles: [],
    created: Math.floor(Date.now() / 1000),
    ...overrides,
  };
  expect(await engine.createQueue(meta)).toBe(true);
  return meta;
}

export function ref(queue: QueueMeta, partition = 1): PartitionRef {
  return { app: queue.application, queue: queue.name, partition };
}

export function msg(body: string | Uint8Array, partition = 1, ttl = 3600, extra: Partial<NewMessage> = {}): NewMessage {
  return { body, partition, ttl, ...extra };
}

/** Appends `n` messages to one partition one call at a time, so their timestamps can differ. */
export async function appendSequentially(engine: Engine, queue: QueueMeta, n: number, partition = 1): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for (let i = 0; i < n; i++) out.push(...(await engine.append(queue, [msg(`m${i}`, partition)])));
  return out;
}

/** Records the `message` events a listener receives and lets a test await a given count. */
export class Recorder {
  readonly messages: StoredMessage[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  readonly listener = (event: PartitionEvent): void => {
    if (event.type !== 'message') return;
    this.messages.push(event.message);
    this.waiters = this.waiters.filter((w) => {
      if (this.messages.length < w.n) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves once at least `n` messages have arrived (the test timeout bounds the wait). */
  waitFor(n: number): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  ids(): string[] {
    return this.messages.map((m) => m.id);
  }
}

export function ids(messages: StoredMessage[]): string[] {
  return messages.map((m) => m.id);
}

/** A well-formed id that differs from `id` only in its random part: same position, never stored. */
export function siblingId(id: string): string {
  const last = parseInt(id.slice(31), 16);
  return id.slice(0, 31) + ((last + 1) % 16).toString(16);
}

/**
 * The engine as the server sees it, with its live feeds captured: every listener the server
 * subscribes is pushed to `feeds`, so a test can announce engine events (a resync, a message) the
 * store would only produce in a fault. `read`, when given, stands in for the engine's own.
 */
export function spyOnFeeds<E extends Engine>(engine: E, feeds: PartitionListener[], read?: E['read']): E {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      if (prop === 'subscribe') {
        return (ref: Parameters<E['subscribe']>[0], listener: PartitionListener) => {
          feeds.push(listener);
          return target.subscribe(ref, listener);
        };
      }
      if (prop === 'read' && read !== undefined) return read;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
