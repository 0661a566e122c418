/**
 * Application keys, as both engines keep them (protocol/rest.md "Keys of an application"): a key is
 * 32 random hex characters shown once; only its sha256 is stored. Its public id is the first 16 hex
 * characters of that hash, so keys made before ids existed have one too, and the id reveals
 * nothing that helps guess the key.
 *
 * A key may carry an expiry (the old key of a rotation). Expiry is judged by the clock of the node
 * that checks (epoch ms), against the instant the rotating node computed from its own clock: node
 * clocks are assumed to agree to well under a second. At that instant the key is refused; each
 * engine also announces it to its own metadata listeners (KeyExpiryAlarms), so live connections
 * that authenticated with it re-check and close with 4401, as after a revocation.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { MetaEvent } from './types.js';

/** A key id: 16 lowercase hex characters. */
export const KEY_ID_RE = /^[0-9a-f]{16}$/;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * hashKey(key), remembered for recently presented keys: every REST request presents its key, and a
 * SHA-256 per request was a visible share of a post's CPU (about 3%). A pure function of the key, so
 * remembering it changes no answer (revocation acts on what the hash maps to). At most `max` keys;
 * past that the memory starts again. Both engines use one per engine.
 */
export class KeyHashes {
  private readonly hashes = new Map<string, string>();

  constructor(private readonly max = 10_000) {}

  of(key: string): string {
    let hash = this.hashes.get(key);
    if (hash === undefined) {
      if (this.hashes.size >= this.max) this.hashes.clear();
      hash = hashKey(key);
      this.hashes.set(key, hash);
    }
    return hash;
  }
}

export function keyIdOf(hash: string): string {
  return hash.slice(0, 16);
}

export function newKey(): { key: string; hash: string; id: string } {
  const key = randomBytes(16).toString('hex');
  const hash = hashKey(key);
  return { key, hash, id: keyIdOf(hash) };
}

/**
 * One timer per expiring key this node has seen: at the key's expiry, `{kind: 'app', app}` goes
 * to the engine's metadata listeners. Timers are unref'd and bounded in number (the oldest is
 * dropped beyond MAX_ALARMS: its connections are then re-checked at the next change or resync).
 */
const MAX_ALARMS = 10_000;
/** setTimeout's longest delay; a later expiry is re-armed when the timer fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class KeyExpiryAlarms {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly emit: (event: MetaEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  arm(hash: string, app: string, expiresMs: number): void {
    if (this.timers.has(hash)) return;
    if (this.timers.size >= MAX_ALARMS) this.disarm(this.timers.keys().next().value!);
    const delay = Math.min(Math.max(0, expiresMs - this.now()), MAX_DELAY_MS);
    const timer = setTimeout(() => {
      this.timers.delete(hash);
      if (this.now() < expiresMs) return this.arm(hash, app, expiresMs);
      this.emit({ kind: 'app', app });
    }, delay);
    timer.unref();
    this.timers.set(hash, timer);
  }

  disarm(hash: string): void {
    const timer = this.timers.get(hash);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(hash);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
