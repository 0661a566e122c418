/**
 * Waiting for a condition in a test: vitest's vi.waitFor polls it and fails with the last error when
 * the time is up, instead of a hand-written loop that spins until the test's own timeout.
 */
import { vi } from 'vitest';

/** Resolves once `condition` is true; fails after `timeoutMs`. */
export async function until(
  condition: () => Promise<boolean> | boolean,
  { timeoutMs = 20_000, intervalMs = 20, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await condition())) throw new Error(`still waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}
