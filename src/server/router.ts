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
  | { kind: 'handler'; handler: Handler; params: Record<string, string> }
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
    for (const route of this.routes) {
      if (route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const pat = route.segments[i]!;
        if (pat.startsWith(':')) params[pat.slice(1)] = segments[i]!;
        else ok = pat === segments[i];
      }
      if (!ok) continue;
      const handler = route.handlers.get(method);
      if (handler !== undefined) return { kind: 'handler', handler, params };
      return { kind: 'method_not_allowed', allow: [...route.handlers.keys()].sort() };
    }
    return { kind: 'not_found' };
  }
}
