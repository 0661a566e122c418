/**
 * Who is calling, and what they may do (SPEC.md sections 3.1 and 6). Transport-independent: REST
 * passes the Authorization header, the WebSocket side passes a key from its URL or first frame.
 *
 * 401 vs 403 (documented in protocol/rest.md):
 *   - no credentials where they are needed            → 401 auth_required
 *   - a header that is not `<Scheme> <credential>`     → 401 auth_malformed
 *   - a key or admin key that is not valid             → 401 auth_invalid (also on routes that would
 *     not need one: presented credentials are always checked)
 *   - a valid key of an application that may not do this → 403 forbidden
 *   - admin routes while HOLDLINE_ADMIN_KEY is unset   → 403 admin_disabled
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HoldlineError } from '../errors.js';
import type { Engine, QueueMeta } from '../engine/types.js';

export interface Credentials {
  scheme: string;
  credential: string;
}

/** `Scheme credential`; null when the header is absent or empty. Throws auth_malformed otherwise. */
export function parseAuthorization(header: string | undefined): Credentials | null {
  if (header === undefined || header.trim() === '') return null;
  const m = /^\s*([A-Za-z]+) +(\S+)\s*$/.exec(header);
  if (!m) throw new HoldlineError('auth_malformed');
  return { scheme: m[1]!, credential: m[2]! };
}

/**
 * The application behind an `Application <key>` header, or null when there is no header.
 * Another scheme (e.g. `Admin`) on an application route is malformed for that route.
 */
export function applicationFromHeader(engine: Engine, header: string | undefined): Promise<string | null> {
  // Every request with a key passes here: the engine's promise and one step, no async layers.
  let creds: Credentials | null;
  try {
    creds = parseAuthorization(header);
    if (creds !== null && creds.scheme.toLowerCase() !== 'application') throw new HoldlineError('auth_malformed');
  } catch (err) {
    return Promise.reject(err);
  }
  return creds === null ? Promise.resolve(null) : applicationFromKey(engine, creds.credential);
}

export function applicationFromKey(engine: Engine, key: string): Promise<string> {
  let found: Promise<string | null>;
  try {
    found = engine.appForKey(key);
  } catch (err) {
    return Promise.reject(err);
  }
  return found.then(knownApplication);
}

function knownApplication(app: string | null): string {
  if (app === null) throw new HoldlineError('auth_invalid');
  return app;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Throws unless the header carries the operator key. */
export function assertAdmin(adminKey: string | undefined, header: string | undefined): void {
  if (adminKey === undefined || adminKey === '') throw new HoldlineError('admin_disabled');
  const creds = parseAuthorization(header);
  if (creds === null) throw new HoldlineError('auth_required');
  if (creds.scheme.toLowerCase() !== 'admin') throw new HoldlineError('auth_malformed');
  // Hash both sides so the comparison takes the same time whatever the lengths.
  if (!timingSafeEqual(digest(creds.credential), digest(adminKey))) throw new HoldlineError('auth_invalid');
}

/** Queue management and every write: the owner application's key only. */
export function assertOwner(caller: string | null, app: string): void {
  if (caller === null) throw new HoldlineError('auth_required');
  if (caller !== app) throw new HoldlineError('forbidden');
}

/** Owner, an application listed in the queue's principles, or anyone when the queue is public. */
export function canRead(caller: string | null, queue: QueueMeta): boolean {
  if (queue.type === 'public') return true;
  if (caller === null) return false;
  return caller === queue.application || queue.principles.includes(`app:${caller}`);
}

export function assertCanRead(caller: string | null, queue: QueueMeta): void {
  if (canRead(caller, queue)) return;
  throw new HoldlineError(caller === null ? 'auth_required' : 'forbidden');
}
