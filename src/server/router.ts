/**
 * A small router: method + path segments → handler. Patterns are `/literal/:param`; on a path more
 * than one pattern matches, the most specific one decides (a literal beats a parameter, leftmost
 * first), so `/healthz` is never taken for an application named "healthz" and `/:app/:queue/info`
 * beats `/:app/:queue/:message_id`. If that pattern lacks the method → 405 with `Allow`.
 */
import { HoldlineError } from '../errors.js';
import type { Reply, RequestInfo } from './http.js';

export type Handler = (req: RequestInfo) => Promise<Reply> | Reply;

interface Route {
  pattern: string;
  segments: string[];
  /** One digit per segment, 1 literal / 0 parameter: higher string = more specific. */
  rank: string;
  handlers: Map<string, Handler>;
}

export type RouteMatch =
  | { kind: 'handler'; handler: Handler; params: Record<string, string>; route: string }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' };

/** Splits a raw path into decoded segments; malformed percent-encoding → 400 bad_request. */
export function pathSegments(url: string): string[] {
  const trimmed = url.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return [];
  return trimmed.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new HoldlineError('bad_request', { field: 'path', message: 'The path has malformed percent-encoding' });
    }
  });
}

export class Router {
  private readonly routes: Route[] = [];

  /**
   * `reserved(first segment)`: true for a first path segment that is never a parameter's value
   * (`v1`, `metrics`: never an application), so `/v1/nothing` is a plain not_found, not `/:app/:queue`.
   */
  constructor(private readonly reserved: (segment: string) => boolean = () => false) {}

  add(method: string, pattern: string, handler: Handler): this {
    const segments = pattern.split('/').filter((s) => s !== '');
    let route = this.routes.find((r) => r.pattern === segments.join('/'));
    if (route === undefined) {
      route = {
        pattern: segments.join('/'),
        segments,
        rank: segments.map((s) => (s.startsWith(':') ? '0' : '1')).join(''),
        handlers: new Map(),
      };
      this.routes.push(route);
      this.routes.sort((a, b) => (a.rank < b.rank ? 1 : a.rank > b.rank ? -1 : 0));
    }
    const m = method.toUpperCase();
    if (route.handlers.has(m)) throw new Error(`Route ${m} /${route.pattern} is registered twice`);
    route.handlers.set(m, handler);
    return this;
  }

  match(method: string, segments: string[]): RouteMatch {
    const reservedFirst = segments.length > 0 && this.reserved(segments[0]!);
    for (const route of this.routes) {
      if (route.segments.length !== segments.length) continue;
      if (reservedFirst && route.segments[0]!.startsWith(':')) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const pat = route.segments[i]!;
        if (pat.startsWith(':')) params[pat.slice(1)] = segments[i]!;
        else ok = pat === segments[i];
      }
      if (!ok) continue;
      const handler = route.handlers.get(method);
      const template = `/${route.pattern}`;
      if (handler !== undefined) return { kind: 'handler', handler, params, route: template };
      return { kind: 'method_not_allowed', allow: [...route.handlers.keys()].sort() };
    }
    return { kind: 'not_found' };
  }

  /** Every registered route as `{method, route}` (route in `/v1/queues/:queue` form), for OpenAPI and tests. */
  list(): Array<{ method: string; route: string }> {
    return this.routes.flatMap((r) => [...r.handlers.keys()].map((method) => ({ method, route: `/${r.pattern}` })));
  }
}
