/**
 * Live fan-out for the memory engine: listeners per partition, called synchronously from inside the
 * append, so the order listeners see is exactly the append order (history order = live order).
 * Subscriptions are keyed by (app, queue, partition), not by the stored partition, so, as with
 * Redis channels, a subscription outlives a queue being deleted and created again.
 */
import type { PartitionEvent, PartitionListener, PartitionRef, StoredMessage } from '../types.js';

interface Subscription {
  listener: PartitionListener;
}

export function partitionKey(ref: PartitionRef): string {
  // NUL cannot occur in application or queue names, so keys cannot collide.
  return `${ref.app}\u0000${ref.queue}\u0000${ref.partition}`;
}

export class FanOut {
  private subscriptions = new Map<string, Set<Subscription>>();

  /** Returns the function that removes exactly this subscription (a listener may be added twice). */
  add(ref: PartitionRef, listener: PartitionListener): () => void {
    const key = partitionKey(ref);
    let set = this.subscriptions.get(key);
    if (set === undefined) {
      set = new Set();
      this.subscriptions.set(key, set);
    }
    const subscription: Subscription = { listener };
    set.add(subscription);
    return () => {
      const current = this.subscriptions.get(key);
      if (current === undefined) return;
      current.delete(subscription);
      if (current.size === 0) this.subscriptions.delete(key);
    };
  }

  /**
   * Delivers to the listeners present when the announcement starts (one subscribed from inside a
   * listener starts with the next message). `copy` gives each listener its own message object, so
   * one listener cannot alter what another sees or what is stored.
   */
  announce(ref: PartitionRef, message: StoredMessage, copy: (m: StoredMessage) => StoredMessage): void {
    const set = this.subscriptions.get(partitionKey(ref));
    if (set === undefined) return;
    for (const subscription of [...set]) {
      const event: PartitionEvent = { type: 'message', message: copy(message) };
      try {
        subscription.listener(event);
      } catch {
        // The contract says listeners must not throw; one that does must not break the append or
        // the other listeners, and the engine has no one to report it to.
      }
    }
  }

  clear(): void {
    this.subscriptions.clear();
  }
}
