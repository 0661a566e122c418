/**
 * What the dispatcher runs around every HTTP request besides routing (dispatch.ts HttpEdge):
 * CORS (cors.ts), the HTTP metrics (metrics.ts) and the opt-in access log (`accessLog`,
 * HOLDLINE_ACCESS_LOG): one `info` line per request with the route template (never the raw path,
 * which may carry ids), status, duration and request id. The request id is the client's
 * `X-Request-Id` when it is 1–128 visible ASCII characters, else a fresh UUID; with the access log
 * on it is echoed in the reply's `X-Request-Id`.
 */
import { randomUUID } from 'node:crypto';
import type { HoldlineConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { CorsPolicy } from './cors.js';
import type { HttpEdge } from './dispatch.js';
import type { RequestInfo } from './http.js';
import { observeHttp } from '../metrics/registry.js';

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

export function createHttpEdge(config: HoldlineConfig, logger: Logger): HttpEdge {
  const cors = new CorsPolicy(config.corsOrigins);
  const ids = new WeakMap<RequestInfo, string>();
  const requestId = (req: RequestInfo): string => {
    let id = ids.get(req);
    if (id === undefined) {
      const given = req.headers['x-request-id'];
      id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
      ids.set(req, id);
    }
    return id;
  };
  return {
    intercept: (req) => cors.preflight(req),
    headers: (req) => {
      const h = cors.headers(req);
      if (!config.accessLog) return h;
      return { ...h, 'X-Request-Id': requestId(req) };
    },
    done: (req, route, status, seconds) => {
      observeHttp(req.method, route, status, seconds);
      if (config.accessLog) {
        logger.info(
          { method: req.method, route: route ?? 'unmatched', status, ms: Math.round(seconds * 1e6) / 1000, request_id: requestId(req) },
          'http',
        );
      }
    },
  };
}
