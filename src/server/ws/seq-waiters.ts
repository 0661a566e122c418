/**
 * Waiters for a hub sequence to reach a given seq: a socket joins a live topic only once the topic
 * has reached the last message (or change) it was given. Used by the hub of every kind of feed
 * (feed-hub.ts).
 */
export class SeqWaiters {
  private waiters: Array<{ seq: number; wake: (reached: boolean) => void }> = [];

  /** Wakes, with true, every waiter whose seq is now reached. */
  reach(seq: number): void {
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => w.seq <= seq);
    this.waiters = this.waiters.filter((w) => w.seq > seq);
    for (const w of due) w.wake(true);
  }

  /** Resolves true when reach() passes `seq`; false after `timeoutMs` or on abandonAll(). */
  wait(seq: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = {
        seq,
        wake: (reached: boolean) => {
          clearTimeout(timer);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs).unref();
      this.waiters.push(waiter);
    });
  }

  /** The sequence is gone (the hub dropped it): every waiter resolves false. */
  abandonAll(): void {
    for (const w of this.waiters.splice(0)) w.wake(false);
  }
}
