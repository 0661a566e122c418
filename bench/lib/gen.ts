/**
 * The parent side of the load generator: a pool of gen-worker processes, each holding a share of
 * the client connections. Messages cross as plain objects over the child_process IPC channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Histogram, type HistogramData } from './histogram.js';
import { nodeArgsFor } from './paths.js';
import type { Endpoint } from './protocols.js';

export type ToWorker =
  | { t: 'open'; ep: Endpoint; count: number; topic: string | null; localAddresses: string[]; concurrency: number }
  | { t: 'measure'; latency: boolean; tickMs: number }
  | { t: 'report' }
  | { t: 'close' };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'opened'; ok: number; failed: number; ms: number; firstError?: string }
  | { t: 'tick'; received: number }
  | { t: 'report'; received: number; hist: HistogramData; open: number; closedUnexpectedly: number }
  | { t: 'closed' };

export interface Opened {
  ok: number;
  failed: number;
  ms: number;
  firstError?: string;
}

export interface Report {
  received: number;
  hist: Histogram;
  open: number;
  closedUnexpectedly: number;
}

class Worker {
  private waiters = new Map<string, (m: FromWorker) => void>();
  lastTick = 0;
  onTick: () => void = () => {};

  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: FromWorker) => {
      if (m.t === 'tick') {
        this.lastTick = m.received;
        this.onTick();
        return;
      }
      const w = this.waiters.get(m.t);
      if (w) {
        this.waiters.delete(m.t);
        w(m);
      }
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  request<K extends FromWorker['t']>(msg: ToWorker | null, reply: K, timeoutMs = 120_000): Promise<Extract<FromWorker, { t: K }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator ${this.pid}: no '${reply}' within ${timeoutMs} ms`)), timeoutMs);
      const onExit = (): void => reject(new Error(`generator ${this.pid} exited while waiting for '${reply}'`));
      this.proc.once('exit', onExit);
      this.waiters.set(reply, (m) => {
        clearTimeout(timer);
        this.proc.off('exit', onExit);
        resolve(m as Extract<FromWorker, { t: K }>);
      });
      if (msg) this.proc.send(msg);
    });
  }
}

export class GenPool {
  private constructor(private readonly workers: Worker[]) {}

  static async start(size: number): Promise<GenPool> {
    const workers = Array.from({ length: size }, () => {
      const proc = spawn(process.execPath, nodeArgsFor('lib/gen-worker'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      return new Worker(proc);
    });
    const pool = new GenPool(workers);
    try {
      await Promise.all(workers.map((w) => w.request(null, 'ready', 20_000)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** Opens `total` connections split evenly across the workers (subscribed to `topic` unless null). */
  async open(ep: Endpoint, total: number, topic: string | null, localAddresses: string[] = [], concurrency = 64): Promise<Opened> {
    const n = this.workers.length;
    const results = await Promise.all(
      this.workers.map((w, i) => {
        const count = Math.floor(total / n) + (i < total % n ? 1 : 0);
        return w.request({ t: 'open', ep, count, topic, localAddresses, concurrency }, 'opened', 600_000);
      }),
    );
    const out: Opened = { ok: 0, failed: 0, ms: 0 };
    for (const r of results) {
      out.ok += r.ok;
      out.failed += r.failed;
      out.ms = Math.max(out.ms, r.ms);
      if (r.firstError && !out.firstError) out.firstError = r.firstError;
    }
    return out;
  }

  /** Resets counters; from now on workers report their received totals every `tickMs`. */
  measure(latency: boolean, onTick: (received: number) => void, tickMs = 5): void {
    for (const w of this.workers) {
      w.lastTick = 0;
      w.onTick = () => onTick(this.received());
      w.proc.send({ t: 'measure', latency, tickMs } satisfies ToWorker);
    }
  }

  /** Sum of the latest ticks (a lower bound of what was received by now). */
  received(): number {
    let sum = 0;
    for (const w of this.workers) sum += w.lastTick;
    return sum;
  }

  async report(): Promise<Report> {
    const reports = await Promise.all(this.workers.map((w) => w.request({ t: 'report' }, 'report')));
    const hist = new Histogram();
    const out: Report = { received: 0, hist, open: 0, closedUnexpectedly: 0 };
    for (const r of reports) {
      out.received += r.received;
      out.open += r.open;
      out.closedUnexpectedly += r.closedUnexpectedly;
      hist.merge(r.hist);
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
        const exited = new Promise<void>((r) => w.proc.once('exit', () => r()));
        const timer = setTimeout(() => w.proc.kill('SIGKILL'), 5000);
        try {
          w.proc.send({ t: 'close' } satisfies ToWorker);
        } catch {
          w.proc.kill('SIGTERM');
        }
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
