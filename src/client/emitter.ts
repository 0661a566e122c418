/**
 * A typed event emitter small enough for browsers (Node's EventEmitter is not there). Each event
 * carries one payload; `M` maps event names to payload types, so listeners are checked by the
 * compiler. A listener that throws does not stop the others: its error goes to `onListenerError`.
 */
export type Listener<P> = (payload: P) => void;

export class TypedEmitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (err: unknown) => void = reportLater) {}

  /** Returns a function that removes the listener. */
  on<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  once<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof M>(event: K, listener: Listener<M[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof M>(event: K, payload: M[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<M[K]>)(payload);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  protected listenerCount(event: keyof M): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}

/** A listener's bug must surface, but not inside the SDK's frame handling. */
function reportLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}
