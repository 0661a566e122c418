/**
 * Progress on stderr while a run goes: a redrawn bar on a terminal, one line per step otherwise
 * (CI logs). Kept on stderr so stdout stays the report.
 */
const tty = process.stderr.isTTY === true;
const WIDTH = 28;

export interface Bar {
  update(done: number, note?: string): void;
  end(note?: string): void;
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A bar over `total` units (milliseconds for timed phases, connections for opening them). */
export function bar(label: string, total: number): Bar {
  let lastDraw = 0;
  const draw = (done: number, note: string): void => {
    const f = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(f * WIDTH);
    const line = `${label.padEnd(34)} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.round(f * 100)).padStart(3)}% ${note}`;
    if (tty) process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1)}\x1b[K`);
  };
  if (!tty) log(`${label} ...`);
  return {
    update(done, note = '') {
      const now = Date.now();
      if (now - lastDraw < 200) return;
      lastDraw = now;
      draw(done, note);
    },
    end(note = '') {
      draw(total, note);
      if (tty) process.stderr.write('\n');
      else log(`${label} done ${note}`);
    },
  };
}

/** Runs a bar over a timed phase until `ms` elapsed or `stop()` is called. */
export function timedBar(label: string, ms: number, note: () => string = () => ''): { stop(final?: string): void } {
  const b = bar(label, ms);
  const t0 = Date.now();
  const timer = setInterval(() => b.update(Date.now() - t0, note()), 200);
  return {
    stop(final) {
      clearInterval(timer);
      b.end(final ?? note());
    },
  };
}
