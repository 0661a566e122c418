import { describe, expect, it } from 'vitest';
import { HoldlineError } from '../../src/errors.js';
import { json } from '../../src/server/http.js';
import { Router, pathSegments } from '../../src/server/router.js';

function router(): Router {
  const r = new Router();
  for (const [method, pattern] of [
    ['GET', '/healthz'], ['GET', '/v1/apps'], ['POST', '/v1/apps'], ['DELETE', '/v1/apps/:name'],
    ['GET', '/:app'], ['POST', '/:app'], ['GET', '/:app/:queue'], ['PUT', '/:app/:queue'],
    ['GET', '/:app/:queue/info'], ['GET', '/:app/:queue/:id'], ['DELETE', '/:app/:queue/:id'],
  ] as const) {
    r.add(method, pattern, () => json(200, { route: `${method} ${pattern}` }));
  }
  return r;
}

async function routed(r: Router, method: string, url: string): Promise<unknown> {
  const m = r.match(method, pathSegments(url));
  if (m.kind !== 'handler') return m;
  const reply = await m.handler({ method, url, query: '', headers: {}, params: m.params, queryFields: {}, body: new Uint8Array(0) });
  return { ...(JSON.parse(String(reply.body)) as object), params: m.params };
}

describe('Router', () => {
  it('prefers literals to parameters, leftmost first', async () => {
    const r = router();
    expect(await routed(r, 'GET', '/healthz')).toEqual({ route: 'GET /healthz', params: {} });
    expect(await routed(r, 'GET', '/v1/apps')).toEqual({ route: 'GET /v1/apps', params: {} });
    expect(await routed(r, 'GET', '/shop/orders/info')).toEqual({ route: 'GET /:app/:queue/info', params: { app: 'shop', queue: 'orders' } });
    expect(await routed(r, 'GET', '/shop/orders/abc')).toEqual({ route: 'GET /:app/:queue/:id', params: { app: 'shop', queue: 'orders', id: 'abc' } });
    expect(await routed(r, 'GET', '/shop')).toEqual({ route: 'GET /:app', params: { app: 'shop' } });
  });

  it('answers 405 with the methods of the most specific matching pattern', () => {
    const r = router();
    expect(r.match('POST', ['healthz'])).toEqual({ kind: 'method_not_allowed', allow: ['GET'] });
    expect(r.match('PUT', ['v1', 'apps'])).toEqual({ kind: 'method_not_allowed', allow: ['GET', 'POST'] });
    expect(r.match('PUT', ['a', 'q', 'info'])).toEqual({ kind: 'method_not_allowed', allow: ['GET'] });
    expect(r.match('PATCH', ['a', 'q'])).toEqual({ kind: 'method_not_allowed', allow: ['GET', 'PUT'] });
  });

  it('answers not_found when no pattern has that many segments', () => {
    const r = router();
    expect(r.match('GET', [])).toEqual({ kind: 'not_found' });
    expect(r.match('GET', ['a', 'b', 'c', 'd'])).toEqual({ kind: 'not_found' });
  });

  it('hands each match the query fields its route takes, asked once per route and method', () => {
    const asked: string[] = [];
    const r = new Router(undefined, (method, route) => {
      asked.push(`${method} ${route}`);
      return route === '/:app' ? new Set(method === 'GET' ? ['limit'] : []) : null;
    });
    for (const method of ['GET', 'POST']) r.add(method, '/:app', () => json(200, {}));
    r.add('GET', '/healthz', () => json(200, {}));
    expect(asked).toEqual(['GET /:app', 'POST /:app', 'GET /healthz']);
    expect(r.match('GET', ['shop'])).toMatchObject({ kind: 'handler', query: new Set(['limit']) });
    expect(r.match('POST', ['shop'])).toMatchObject({ kind: 'handler', query: new Set() });
    expect(r.match('GET', ['healthz'])).toMatchObject({ kind: 'handler', query: null });
  });

  it('refuses a route registered twice', () => {
    const r = router();
    expect(() => r.add('GET', '/healthz', () => json(200, {}))).toThrow(/registered twice/);
  });

  it('decodes path segments and ignores leading and trailing slashes', () => {
    expect(pathSegments('/a/b%3Ac/')).toEqual(['a', 'b:c']);
    expect(pathSegments('//')).toEqual([]);
    expect(pathSegments('/2%3A8cc9')).toEqual(['2:8cc9']);
  });

  it('turns malformed percent-encoding into bad_request', () => {
    expect(() => pathSegments('/a/%E0%A4%A')).toThrow(HoldlineError);
    try {
      pathSegments('/%zz');
    } catch (e) {
      expect((e as HoldlineError).code).toBe('bad_request');
    }
  });
});
