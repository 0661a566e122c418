/**
 * Small fixtures for tests of the SDK (src/client) against a real server: recording what a
 * subscription delivers, and grouping messages by partition to compare with what was published.
 */
import type { MessageFrame, Subscription } from '../../src/client/index.js';

/** Records a subscription's messages; `until(n)` resolves once n have arrived. */
export function record(sub: Subscription): { messages: MessageFrame[]; until(n: number): Promise<void> } {
  const messages: MessageFrame[] = [];
  const waiters: Array<{ n: number; resolve(): void }> = [];
  sub.on('message', (m) => {
    messages.push(m);
    for (const w of waiters.filter((x) => messages.length >= x.n)) w.resolve();
  });
  return {
    messages,
    until: (n) => (messages.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

/** Message ids per partition, in arrival (or publish) order. */
export function byPartition(ms: Array<{ partition: number; message_id: string }>): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const m of ms) {
    out[m.partition] ??= [];
    out[m.partition]!.push(m.message_id);
  }
  return out;
}
