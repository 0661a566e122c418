/**
 * The Redis engine's group commit (src/engine/redis/appender.ts), on a recording stand-in for the
 * script call so every combination can be checked exactly: appends to one partition submitted
 * together share one call, later ones wait for the call in flight and go together in the next,
 * order is submission order, each append gets back exactly its own messages, limits split calls,
 * different confirmation levels are never combined, and a failed call fails each append in it.
 */
import { describe, expect, it } from 'vitest';
import { Appender, type AppendJob, type StoredEntry } from '../../src/engine/redis/appender.js';
import type { NewMessage, PartitionRef } from '../../src/engine/types.js';

const ref: PartitionRef = { app: 'a', queue: 'q', partition: 1 };

function msgs(label: string, n: number, bytes = 1): NewMessage[] {
  return Array.from({ length: n }, (_, i) => ({ body: `${label}${i}`.padEnd(bytes, '.'), ttl: 60, partition: 1 }));
}

/** A script stand-in: records each job, answers when the test says so, ids = bodies. */
class FakeScript {
  readonly jobs: AppendJob[] = [];
  private waiting: Array<{ job: AppendJob; resolve: (s: StoredEntry[]) => void; reject: (e: unknown) => void }> = [];

  readonly run = (job: AppendJob): Promise<StoredEntry[]> =>
    new Promise((resolve, reject) => {
      this.jobs.push(job);
      this.waiting.push({ job, resolve, reject });
    });

  /** Answers the oldest call in flight. */
  answer(): void {
    const next = this.waiting.shift()!;
    next.resolve(next.job.messages.map((m, j) => ({ id: String(m.body), expiresAtMs: 1, timestampUs: 1, seq: j + 1 })));
  }

  fail(err: unknown): void {
    this.waiting.shift()!.reject(err);
  }

  get inFlight(): number {
    return this.waiting.length;
  }

  bodies(job: AppendJob): string[] {
    return job.messages.map((m) => String(m.body));
  }
}

/** Lets setImmediate callbacks (the appender's flush) and promise reactions run. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The n-th call, once made: a call waiting for an answer goes at the turn after it (a few turns at most). */
async function jobAt(script: FakeScript, n: number): Promise<AppendJob> {
  for (let i = 0; i < 5 && script.jobs.length <= n; i++) await turn();
  const job = script.jobs[n];
  if (job === undefined) throw new Error(`call ${n} not made`);
  return job;
}

describe('redis engine: group commit per partition', () => {
  it('combines appends submitted together into one call, in order, each getting its own messages back', async () => {
    const script = new FakeScript();
    const appender = new Appender(script.run);
    const results = [0, 1, 2, 3, 4].map((i) => appender.submit('p1', ref, 0, msgs(`a${i}-`, i + 1)));
    await turn();
    expect(script.jobs).toHaveLength(1);
    expect(script.bodies(script.jobs[0]!)).toEqual([0, 1, 2, 3, 4].flatMap((i) => msgs(`a${i}-`, i + 1).map((m) => m.body)));
    script.answer();
    const stored = await Promise.all(results);
    stored.forEach((s, i) => {
      expect(s.map((e) => e.id)).toEqual(msgs(`a${i}-`, i + 1).map((m) => m.body));
    });
  });

  it('keeps one call in flight per partition and sends what came meanwhile next, together', async () => {
    const script = new FakeScript();
    const appender = new Appender(script.run);
    const first = appender.submit('p1', ref, 0, msgs('x', 1));
    await turn();
    const later = [appender.submit('p1', ref, 0, msgs('y', 2)), appender.submit('p1', ref, 0, msgs('z', 1))];
    // Another partition is not held up by this one.
    const other = appender.submit('p2', { ...ref, partition: 2 }, 0, msgs('o', 1));
    await turn();
    expect(script.jobs.map((j) => j.ref.partition)).toEqual([1, 2]);
    expect(script.inFlight).toBe(2);
    script.answer();
    await first;
    await turn();
    expect(script.jobs).toHaveLength(3);
    expect(script.bodies(script.jobs[2]!)).toEqual(['y0', 'y1', 'z0']);
    script.answer();
    script.answer();
    expect((await Promise.all(later)).map((s) => s.map((e) => e.id))).toEqual([['y0', 'y1'], ['z0']]);
    expect((await other).map((e) => e.id)).toEqual(['o0']);
  });

  it('splits at 1000 messages and 1 MiB per call, never splitting one append', async () => {
    const script = new FakeScript();
    const appender = new Appender(script.run);
    const all = [
      appender.submit('p', ref, 0, msgs('a', 600)),
      appender.submit('p', ref, 0, msgs('b', 600)), // would make 1200: next call
      appender.submit('p', ref, 0, msgs('c', 1500)), // alone is over the limit: still one call
      // Text counts 3 bytes a character (the UTF-8 bound): 2 x 300 kB, then 2 x 300 kB more is over 1 MiB.
      appender.submit('p', ref, 0, msgs('d', 2, 100_000)),
      appender.submit('p', ref, 0, msgs('e', 2, 100_000)),
    ];
    const sizes: number[] = [];
    for (let i = 0; i < 6 && sizes.length < 5; i++) {
      await turn();
      while (script.inFlight > 0) {
        sizes.push(script.jobs[script.jobs.length - 1]!.messages.length);
        script.answer();
        await turn();
      }
    }
    expect(sizes).toEqual([600, 600, 1500, 2, 2]);
    expect((await Promise.all(all)).map((s) => s.length)).toEqual([600, 600, 1500, 2, 2]);
  });

  it('never combines appends that need different replica confirmations, and keeps their order', async () => {
    const script = new FakeScript();
    const appender = new Appender(script.run);
    const all = [appender.submit('p', ref, 0, msgs('w', 1)), appender.submit('p', ref, 1, msgs('s', 1)), appender.submit('p', ref, 1, msgs('t', 1)), appender.submit('p', ref, 0, msgs('v', 1))];
    const seen: Array<[number, string[]]> = [];
    while (seen.length < 3) {
      const job = await jobAt(script, seen.length);
      seen.push([job.required, script.bodies(job)]);
      script.answer();
    }
    expect(seen).toEqual([
      [0, ['w0']],
      [1, ['s0', 't0']],
      [0, ['v0']],
    ]);
    await Promise.all(all);
  });

  it('fails every append of a failed call with its error, and goes on with the next ones', async () => {
    const script = new FakeScript();
    const appender = new Appender(script.run);
    const failed = [appender.submit('p', ref, 0, msgs('a', 1)), appender.submit('p', ref, 0, msgs('b', 1))];
    await turn();
    const after = appender.submit('p', ref, 0, msgs('c', 1));
    const boom = new Error('boom');
    script.fail(boom);
    for (const f of failed) await expect(f).rejects.toBe(boom);
    await turn();
    script.answer();
    expect((await after).map((e) => e.id)).toEqual(['c0']);
  });
});
