/** How the console writes durations, rates and times. */

/** `1:05`, `12:00`, `1:02:03` from seconds. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Seconds from an ISO time to `now` (ms). */
export function since(iso: string | null, now: number): number {
  return iso === null ? 0 : Math.max(0, (now - Date.parse(iso)) / 1000);
}

export function percent(ratio: number | null): string {
  return ratio === null ? '–' : `${Math.round(ratio * 1000) / 10}%`;
}

export function clock(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('T', ' ').slice(0, 23);
}

/**
 * A caller's estimated wait now: the pushed estimate (seconds, null: no member can serve, undefined:
 * none for this caller) counted down by the seconds since it arrived, as routing.md section 9 allows
 * between pushes; never below 0.
 */
export function countDown(estimate: number | null | undefined, elapsedSeconds: number): number | null | undefined {
  if (estimate === null || estimate === undefined) return estimate;
  return Math.max(0, estimate - Math.max(0, elapsedSeconds));
}

/** How an estimated wait reads: `2:05`; null: nobody can take the call now; undefined: not known. */
export function estimateText(estimate: number | null | undefined): string {
  if (estimate === undefined) return '–';
  return estimate === null ? 'no agent on duty' : duration(estimate);
}

/** Seconds left until an ISO deadline (negative when it has passed). */
export function until(iso: string, now: number): number {
  return (Date.parse(iso) - now) / 1000;
}
