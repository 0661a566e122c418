/**
 * A small router: method + path segments → handler. Patterns are `/literal/:param`; on a path more
 * than one pattern matches, the most specific one decides (a literal beats a parameter, leftmost
 * first), so `/healthz` is never taken for an application named "healthz" and `/:app/:queue/info`
 * beats `/:app/:queue/:message_id`. If that pattern lacks the method → 405 with `Allow`.
 * A route may come with the query fields it takes: the dispatcher then refuses any other before the
 * handler runs (body.ts checkedQuery).
 */
import { HoldlineError } from '../errors.js';
import type { Reply, RequestInfo } from './http.js';

export type Handler = (req: RequestInfo) => Promise<Reply> | Reply;

/** The query fields a route takes (`GET`, `/v1/apps/:name`); null: its handler reads the query itself. */
export type QueryFieldsOf = (method: string, route: string) => ReadonlySet<string> | null;

interface Endpoint {
  handler: Handler;
  query: ReadonlySet<string> | null;
}

interface Route {
  pattern: string;
  /** `/` + pattern: the route template the match reports (metrics, access log), made once. */
  template: string;
  segments: string[];
  /** Per segment: the parameter's name, or null for a literal. */
  params: Array<string | null>;
  /** One digit per segment, 1 literal / 0 parameter: higher string = more specific. */
  rank: string;
  handlers: Map<string, Endpoint>;
}

export type RouteMatch =
  | { kind: 'handler'; handler: Handler; params: Record<string, string>; route: string; query: ReadonlySet<string> | null }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' };

/** Splits a raw path into decoded segments; malformed percent-encoding → 400 bad_request. */
export function pathSegments(url: string): string[] {
  // Every request passes here: no regular expression, and no decoding of a path without escapes.
  let start = 0;
  let end = url.length;
  while (start < end && url.charCodeAt(start) === 0x2f) start++;
  while (end > start && url.charCodeAt(end - 1) === 0x2f) end--;
  if (start === end) return [];
  const segments = url.slice(start, end).split('/');
  if (!url.includes('%')) return segments;
  for (let i = 0; i < segments.length; i++) {
    try {
      segments[i] = decodeURIComponent(segments[i]!);
    } catch {
      throw new HoldlineError('bad_request', { field: 'path', message: 'The path has malformed percent-encoding' });
    }
  }
  return segments;
}

function bySpecificity(a: Route, b: Route): number {
  return a.rank < b.rank ? 1 : a.rank > b.rank ? -1 : 0;
}

export class Router {
  /** Routes by segment count, each list most specific first (only same-length patterns can match). */
  private readonly byLength: Route[][] = [];
  /** Every route, most specific first (list()). */
  private readonly routes: Route[] = [];

  /**
   * `reserved(first segment)`: true for a first path segment that is never a parameter's value
   * (`v1`, `metrics`: never an application), so `/v1/nothing` is a plain not_found, not `/:app/:queue`.
   * `queryFieldsOf`: each route's query fields, asked once as it is added (the server's come from
   * its OpenAPI description, openapi.ts).
   */
  constructor(
    private readonly reserved: (segment: string) => boolean = () => false,
    private readonly queryFieldsOf: QueryFieldsOf = () => null,
  ) {}

  add(method: string, pattern: string, handler: Handler): this {
    const segments = pattern.split('/').filter((s) => s !== '');
    let routes = this.byLength[segments.length];
    if (routes === undefined) {
      routes = [];
      this.byLength[segments.length] = routes;
    }
    let route = routes.find((r) => r.pattern === segments.join('/'));
    if (route === undefined) {
      route = {
        pattern: segments.join('/'),
        template: `/${segments.join('/')}`,
        segments,
        params: segments.map((s) => (s.startsWith(':') ? s.slice(1) : null)),
        rank: segments.map((s) => (s.startsWith(':') ? '0' : '1')).join(''),
        handlers: new Map(),
      };
      routes.push(route);
      routes.sort(bySpecificity);
      this.routes.push(route);
      this.routes.sort(bySpecificity);
    }
    const m = method.toUpperCase();
    if (route.handlers.has(m)) throw new Error(`Route ${m} /${route.pattern} is registered twice`);
    route.handlers.set(m, { handler, query: this.queryFieldsOf(m, route.template) });
    return this;
  }

  match(method: string, segments: string[]): RouteMatch {
    const routes = this.byLength[segments.length];
    if (routes === undefined) return { kind: 'not_found' };
    const reservedFirst = segments.length > 0 && this.reserved(segments[0]!);
    for (const route of routes) {
      if (reservedFirst && route.params[0] !== null) continue;
      let ok = true;
      for (let i = 0; i < segments.length; i++) {
        if (route.params[i] === null && route.segments[i] !== segments[i]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const endpoint = route.handlers.get(method);
      if (endpoint === undefined) return { kind: 'method_not_allowed', allow: [...route.handlers.keys()].sort() };
      const params: Record<string, string> = {};
      for (let i = 0; i < segments.length; i++) {
        const name = route.params[i];
        if (typeof name === 'string') params[name] = segments[i]!;
      }
      return { kind: 'handler', handler: endpoint.handler, params, route: route.template, query: endpoint.query };
    }
    return { kind: 'not_found' };
  }

  /** Every registered route as `{method, route}` (route in `/v1/queues/:queue` form), for OpenAPI and tests. */
  list(): Array<{ method: string; route: string }> {
    return this.routes.flatMap((r) => [...r.handlers.keys()].map((method) => ({ method, route: `/${r.pattern}` })));
  }
}
