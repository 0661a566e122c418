/**
 * What the REST hot path keeps cheap without changing what it does: the instrumented engine is a
 * plain object that still answers like the engine (methods, properties, `instanceof`, timings), and
 * a copied request reads the peer's address from uWS only when asked, once, and never after the
 * response is gone.
 */
import type { HttpRequest } from 'uWebSockets.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import type { QueueMeta } from '../../src/engine/types.js';
import { metrics } from '../../src/metrics/registry.js';
import { copyRequest } from '../../src/server/http.js';
import { instrumentEngine } from '../../src/server/metrics.js';

async function histogramCount(name: string): Promise<number> {
  const text = await metrics().registry.getSingleMetricAsString(name);
  return Number(new RegExp(`^${name}_count (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

describe('instrumentEngine', () => {
  const engines: MemoryEngine[] = [];
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
  });

  it('passes everything through to the engine, times append and read, and is still an instance of its class', async () => {
    const engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
    engines.push(engine);
    await engine.start();
    const wrapped = instrumentEngine(engine);
    expect(wrapped).toBeInstanceOf(MemoryEngine);
    expect(wrapped.kind).toBe('memory');
    expect(wrapped.capabilities).toBe(engine.capabilities);
    expect(wrapped.events).toBe(engine.events);
    expect(await wrapped.createApp('a')).not.toBeNull();
    expect(await engine.getApp('a')).not.toBeNull();
    const meta: QueueMeta = { application: 'a', name: 'q', partitions: 1, type: 'user', consistency: 'weak', principles: [], created: 0 };
    expect(await wrapped.createQueue(meta)).toBe(true);

    const appends = await histogramCount('holdline_append_duration_seconds');
    const reads = await histogramCount('holdline_read_duration_seconds');
    const stored = await wrapped.append(meta, [{ body: 'x', partition: 1, ttl: 60 }]);
    const read = await wrapped.read({ app: 'a', queue: 'q', partition: 1 }, { since: { kind: 'id', id: stored[0]!.id }, limit: 10, order: 'ascending' });
    expect(read.map((m) => m.id)).toEqual([stored[0]!.id]);
    expect(await histogramCount('holdline_append_duration_seconds')).toBe(appends + 1);
    expect(await histogramCount('holdline_read_duration_seconds')).toBe(reads + 1);
  });

  it('times an append that fails too, and passes the failure on', async () => {
    const engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
    engines.push(engine);
    await engine.start();
    const wrapped = instrumentEngine(engine);
    const before = await histogramCount('holdline_append_duration_seconds');
    const missing: QueueMeta = { application: 'none', name: 'q', partitions: 1, type: 'user', consistency: 'weak', principles: [], created: 0 };
    await expect(wrapped.append(missing, [{ body: 'x', partition: 1, ttl: 60 }])).rejects.toThrow();
    expect(await histogramCount('holdline_append_duration_seconds')).toBe(before + 1);
  });
});

describe('copyRequest', () => {
  const uwsRequest = {
    getUrl: () => '/a/b',
    getQuery: () => 'x=1',
    getMethod: () => 'post',
    forEach: (fn: (k: string, v: string) => void) => fn('content-type', 'application/json'),
    getHeader: () => '',
  } as unknown as HttpRequest;

  it('reads the remote address only when asked, and once', () => {
    let reads = 0;
    const info = copyRequest(uwsRequest, () => {
      reads++;
      return '127.0.0.1';
    });
    expect(info).toMatchObject({ method: 'POST', url: '/a/b', query: 'x=1', params: {}, headers: { 'content-type': 'application/json' } });
    expect(info.body.byteLength).toBe(0);
    expect(reads).toBe(0);
    expect(info.remoteAddress).toBe('127.0.0.1');
    expect(info.remoteAddress).toBe('127.0.0.1');
    expect(reads).toBe(1);
  });

  it('an address that cannot be read stays unknown', () => {
    const info = copyRequest(uwsRequest, () => undefined);
    expect(info.remoteAddress).toBeUndefined();
  });
});
