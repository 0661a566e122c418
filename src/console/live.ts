/**
 * Live call-queue data for the views: one SDK CallQueueView per queue (the SDK keeps it current
 * across reconnects), a clock for ticking waits, and a per-queue history of waiting callers and
 * service level for the charts, sampled on every change and every few seconds, kept for an hour.
 */
import type { CallQueue, CallQueueStats, CallQueueView, HoldlineClient, Member } from 'holdline/client';
import { useEffect, useReducer, useState } from 'preact/hooks';
import { countDown } from './format.js';

export const HISTORY_SECONDS = 3600;
const SAMPLE_EVERY_MS = 5000;

export interface Series {
  /** Epoch seconds. */
  t: number[];
  waiting: number[];
  /** Percent, null before the first caller left. */
  serviceLevel: Array<number | null>;
}

const HISTORY_KEY = 'holdline.console.history';

/** The samples survive a reload of the tab (a wallboard's browser may reload it): kept in sessionStorage. */
const histories = new Map<string, Series>(loadHistories());
const sampled = new Set<string>();
let saveTimer: ReturnType<typeof setTimeout> | undefined;

function loadHistories(): Array<[string, Series]> {
  try {
    const raw = sessionStorage.getItem(HISTORY_KEY);
    return raw === null ? [] : (Object.entries(JSON.parse(raw) as Record<string, Series>) as Array<[string, Series]>);
  } catch {
    return [];
  }
}

function saveSoon(): void {
  if (saveTimer !== undefined) return;
  saveTimer = setTimeout(() => {
    saveTimer = undefined;
    try {
      sessionStorage.setItem(HISTORY_KEY, JSON.stringify(Object.fromEntries(histories)));
    } catch {
      // Storage full or refused: the chart then starts afresh on a reload.
    }
  }, SAMPLE_EVERY_MS);
}

function sample(view: CallQueueView): void {
  const stats = view.stats;
  if (stats === null) return;
  let series = histories.get(view.queueId);
  if (series === undefined) {
    series = { t: [], waiting: [], serviceLevel: [] };
    histories.set(view.queueId, series);
  }
  const now = Date.now() / 1000;
  series.t.push(now);
  series.waiting.push(stats.callers_waiting);
  series.serviceLevel.push(stats.service_level === null ? null : Math.round(stats.service_level * 1000) / 10);
  let drop = 0;
  while (drop < series.t.length && series.t[drop]! < now - HISTORY_SECONDS) drop++;
  if (drop > 0) {
    series.t.splice(0, drop);
    series.waiting.splice(0, drop);
    series.serviceLevel.splice(0, drop);
  }
  saveSoon();
}

export function history(queueId: string): Series {
  return histories.get(queueId) ?? { t: [], waiting: [], serviceLevel: [] };
}

/** The live view of a queue (one per client and queue); sampling for its chart starts with it. */
export function liveQueue(client: HoldlineClient, queueId: string): CallQueueView {
  const view = client.callQueue(queueId);
  if (!sampled.has(queueId)) {
    sampled.add(queueId);
    view.on('change', () => sample(view));
    view.on('wallboard', () => wallboardAt.set(view, Date.now()));
    const timer = setInterval(() => sample(view), SAMPLE_EVERY_MS);
    view.on('ended', () => {
      clearInterval(timer);
      sampled.delete(queueId);
    });
  }
  return view;
}

/** When each view's last wallboard (callqueue.stats) arrived, in ms: its estimates count down from then. */
const wallboardAt = new WeakMap<CallQueueView, number>();

/**
 * A waiting caller's estimated wait at `now` (ms), from the last pushed wallboard's `estimates`
 * (websocket.md 5.6) counted down since it arrived; null: no member can serve; undefined: no
 * estimate (not waiting, or no wallboard yet).
 */
export function estimatedWait(view: CallQueueView, callerId: string, now: number): number | null | undefined {
  const frame = view.wallboard;
  if (frame === null) return undefined;
  return countDown(frame.estimates[callerId], (now - (wallboardAt.get(view) ?? now)) / 1000);
}

/** Re-renders the component on every change of these views (and each wallboard push). */
export function useViews(views: readonly CallQueueView[]): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const ids = views.map((v) => v.queueId).join(',');
  useEffect(() => {
    const offs = views.flatMap((v) => [v.on('change', bump), v.on('ended', bump), v.on('subscribed', bump), v.on('wallboard', bump)]);
    return () => {
      for (const off of offs) off();
    };
  }, [ids]);
}

/** Now, in ms, updated every second: for waits and times in state that tick. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export function abandonRate(stats: CallQueueStats): number | null {
  const ended = stats.completed + stats.abandoned + stats.timed_out;
  return ended === 0 ? null : stats.abandoned / ended;
}

export type MemberState = 'available' | 'busy' | 'wrapup' | 'paused' | 'logged_out';

/** A member's state as a supervisor reads it: paused wins over its call status. */
export function memberState(member: Member): MemberState {
  if (member.status === 'logged_out') return 'logged_out';
  return member.paused ? 'paused' : member.status;
}

export function stateSince(member: Member): string {
  return member.paused && member.paused_at !== null ? member.paused_at : member.status_at;
}

export function countStates(members: readonly Member[]): Record<MemberState, number> {
  const counts: Record<MemberState, number> = { available: 0, busy: 0, wrapup: 0, paused: 0, logged_out: 0 };
  for (const m of members) counts[memberState(m)]++;
  return counts;
}

export const STATE_LABEL: Record<MemberState, string> = {
  available: 'Available',
  busy: 'Busy',
  wrapup: 'Wrap-up',
  paused: 'Paused',
  logged_out: 'Logged out',
};

export type { CallQueue };
