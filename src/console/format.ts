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
