/**
 * A binary min-heap ordered by expiry time: the memory engine's expiry index. The sweeper pops only
 * the entries that are due, so reclaiming costs O(k log n) for k expired messages instead of a scan
 * of every stored message.
 *
 * Entries are never removed or updated in place: a deleted message or a ttl change leaves a stale
 * entry, which the engine recognises when it pops it (the message is gone, or now expires later).
 */
export interface ExpiryEntry<T> {
  expiresAtMs: number;
  target: T;
  id: string;
}

export class ExpiryHeap<T> {
  private items: ExpiryEntry<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  push(entry: ExpiryEntry<T>): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.expiresAtMs <= entry.expiresAtMs) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  /** Removes and returns every entry with expiresAtMs <= nowMs, earliest first. */
  popDue(nowMs: number): ExpiryEntry<T>[] {
    const due: ExpiryEntry<T>[] = [];
    while (this.items.length > 0 && this.items[0]!.expiresAtMs <= nowMs) due.push(this.pop());
    return due;
  }

  /** Keeps only the entries `keep` accepts and restores the heap order in O(n). */
  rebuild(keep: (entry: ExpiryEntry<T>) => boolean): void {
    this.items = this.items.filter(keep);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private pop(): ExpiryEntry<T> {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[start]!;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && items[right]!.expiresAtMs < items[left]!.expiresAtMs ? right : left;
      if (items[child]!.expiresAtMs >= entry.expiresAtMs) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = entry;
  }
}
