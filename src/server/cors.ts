/**
 * CORS (SPEC.md 3.6): which browser origins may call REST and open WebSockets, from the setting
 * `corsOrigins` (HOLDLINE_CORS_ORIGINS, a comma list of `scheme://host[:port]`; `*` = any origin).
 * Default: none, so a page of another origin can neither read REST replies nor open /v1/ws.
 *
 * - Preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`): an allowed origin → 204
 *   with the Access-Control-Allow-* headers; any other → 403 origin_not_allowed. An OPTIONS that is
 *   not a preflight goes to the router as before (405 with Allow).
 * - Actual requests: an allowed `Origin` gets `Access-Control-Allow-Origin: <that origin>` and
 *   `Vary: Origin` on the reply, errors included. A request from another origin is still answered
 *   (CORS only decides what a browser lets the page read; credentials are headers, never cookies,
 *   so no browser sends them without a preflight).
 * - WebSocket upgrade: browsers send `Origin` and do no preflight, so the upgrade itself checks:
 *   no `Origin` (not a browser), an allowed one, or the server's own origin (the `Origin` host equals
 *   the `Host` header: same-origin) pass; any other → HTTP 403 origin_not_allowed.
 */
import { HoldlineError } from '../errors.js';
import type { Reply, RequestInfo } from './http.js';
import { errorReply } from './http.js';

const ALLOW_METHODS = 'GET, POST, PUT, DELETE';
const ALLOW_HEADERS = 'Authorization, Content-Type, X-Request-Id';
const EXPOSE_HEADERS = 'Allow, X-Request-Id, Holdline-Seq';
const MAX_AGE_S = '600';

/** `https://Example.com:443/` → `https://example.com`; null when it is not an origin. */
export function normalizeOrigin(value: string): string | null {
  if (value === '*') return '*';
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin;
  } catch {
    return null;
  }
}

export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;
  private readonly any: boolean;

  constructor(origins: readonly string[]) {
    const set = new Set<string>();
    for (const o of origins) {
      const n = normalizeOrigin(o.trim());
      if (n === null) throw new Error(`HOLDLINE_CORS_ORIGINS: "${o}" is not an origin (scheme://host[:port]) or *`);
      set.add(n);
    }
    this.any = set.has('*');
    this.origins = set;
  }

  allows(origin: string | undefined): boolean {
    if (origin === undefined) return false;
    if (this.any) return true;
    const n = normalizeOrigin(origin);
    return n !== null && this.origins.has(n);
  }

  /** The reply to a preflight, or null when the request is not one. */
  preflight(req: RequestInfo): Reply | null {
    if (req.method !== 'OPTIONS') return null;
    const origin = req.headers.origin;
    if (origin === undefined || req.headers['access-control-request-method'] === undefined) return null;
    if (!this.allows(origin)) return errorReply(new HoldlineError('origin_not_allowed'), { Vary: 'Origin' });
    return {
      status: 204,
      body: '',
      contentType: 'text/plain',
      headers: {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': MAX_AGE_S,
        Vary: 'Origin',
      },
    };
  }

  /**
   * Headers for the reply to an actual request: the Access-Control ones for an allowed Origin; with
   * any origin configured, `Vary: Origin` on every reply, so a shared cache never hands a reply made
   * for one origin (or none) to another.
   */
  headers(req: RequestInfo): Record<string, string> | undefined {
    const origin = req.headers.origin;
    if (!this.allows(origin)) return this.origins.size > 0 ? { Vary: 'Origin' } : undefined;
    return { 'Access-Control-Allow-Origin': origin!, 'Access-Control-Expose-Headers': EXPOSE_HEADERS, Vary: 'Origin' };
  }

  /** May a WebSocket upgrade with these headers proceed? (`''` = header absent, as uWS reports it.) */
  allowsUpgrade(origin: string, host: string): boolean {
    if (origin === '') return true;
    if (this.allows(origin)) return true;
    try {
      return host !== '' && new URL(origin).host.toLowerCase() === host.toLowerCase();
    } catch {
      return false;
    }
  }
}
