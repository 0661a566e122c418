/**
 * Estimated wait per waiting caller (protocol/routing.md section 9): a pure function of the queue's
 * members, the callers on their way to one, and the queue's average handle and wrap-up times.
 *
 * The model: every logged-in, unpaused member is a server that becomes free at a known time —
 * now (available), after the rest of its call and its wrap-up (busy: max(0, H − elapsed) + W), after
 * the rest of its wrap-up (wrapup: max(0, W − elapsed)), or after a whole call (H + W) when a ringing
 * caller is on its way to it. The line is served in position order by whichever server is free
 * first, each call taking H + W: the caller at position p is offered at the (p+1)-th free time of
 * that process. No server at all: no estimate (null).
 *
 * Monotone where it must be: with H and W fixed, as time passes or when a caller ahead leaves, is
 * offered (its member is then on its way: H + W, the same as the model had it), or a member
 * finishes early, no caller's estimate rises; only a join ahead (or a priority change ahead), a
 * member leaving (removed, paused, logged out) or a change of H or W can raise it
 * (test/unit/estimate.test.ts checks this as a property).
 */
import type { MemberStatus } from '../../engine/call-types.js';

export interface EstimateMember {
  status: MemberStatus;
  paused: boolean;
  /** When it entered its status (ms). */
  statusAtMs: number;
  /** A ringing caller names it: it is about to take a call. */
  offered: boolean;
}

export interface EstimateInput {
  nowMs: number;
  /** Average handle time (connected to leaving), seconds. */
  handleSeconds: number;
  /** Wrap-up after a call, seconds. */
  wrapupSeconds: number;
  members: readonly EstimateMember[];
}

/** When each server is free, seconds from now; members that serve nobody are left out. */
export function serverFreeTimes(input: EstimateInput): number[] {
  const h = Math.max(0, input.handleSeconds);
  const w = Math.max(0, input.wrapupSeconds);
  const out: number[] = [];
  for (const m of input.members) {
    if (m.paused || m.status === 'logged_out') continue;
    const elapsed = Math.max(0, input.nowMs - m.statusAtMs) / 1000;
    if (m.offered) out.push(h + w);
    else if (m.status === 'available') out.push(0);
    else if (m.status === 'busy') out.push(Math.max(0, h - elapsed) + w);
    else out.push(Math.max(0, w - elapsed));
  }
  return out;
}

/**
 * Seconds until each of the first `lineLength` waiting callers is offered (index = position),
 * rounded to 0.1 s; null for every position when no member can serve.
 */
export function estimateWaits(lineLength: number, input: EstimateInput): (number | null)[] {
  const free = serverFreeTimes(input);
  if (free.length === 0) return Array.from({ length: lineLength }, () => null);
  const cycle = Math.max(0, input.handleSeconds) + Math.max(0, input.wrapupSeconds);
  const heap = new MinHeap(free);
  const out: number[] = [];
  for (let p = 0; p < lineLength; p++) {
    const t = heap.pop();
    out.push(Math.round(t * 10) / 10);
    heap.push(t + cycle);
  }
  return out;
}

class MinHeap {
  private readonly a: number[];
  constructor(values: number[]) {
    this.a = [];
    for (const v of values) this.push(v);
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** Handle time to use when the queue has none measured yet (no call ended in the last hour or today). */
export const DEFAULT_HANDLE_SECONDS = 180;
