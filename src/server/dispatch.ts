/**
 * The one uWS handler for every HTTP request: copy the request, read the body with its limit, route,
 * run the handler, write the reply corked. No exception unwinds into uWS: a HoldlineError becomes
 * its JSON error, anything else a 500 `internal` logged at error.
 */
import { performance } from 'node:perf_hooks';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { HoldlineError, isHoldlineError } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkedQuery } from './body.js';
import { copyRequest, errorReply, framingError, readBody, writeReply } from './http.js';
import type { BodyLimits, Reply, RequestInfo } from './http.js';
import { pathSegments } from './router.js';
import type { Router } from './router.js';

export interface DispatchOptions {
  router: Router;
  logger: Logger;
  maxRequestBytes: number;
  isShuttingDown(): boolean;
  /** In-flight accounting for a graceful close: start() on arrival, end() once answered or aborted. */
  inflight: { start(): void; end(): void };
  /** CORS, metrics and the access log (src/server/edge.ts). */
  edge?: HttpEdge;
}

/** What runs around every request besides routing. */
export interface HttpEdge {
  /** A reply given before the body is read and routed (a CORS preflight), or null. */
  intercept(req: RequestInfo): Reply | null;
  /** Headers added to every reply (CORS, X-Request-Id). */
  headers(req: RequestInfo): Record<string, string> | undefined;
  /** After the reply is written: the route template that handled it (null: none), status, seconds. */
  done(req: RequestInfo, route: string | null, status: number, seconds: number): void;
}

async function route(router: Router, req: RequestInfo, matched: { route: string | null }): Promise<Reply> {
  const match = router.match(req.method, pathSegments(req.url));
  if (match.kind === 'handler') matched.route = match.route;
  if (match.kind === 'not_found') throw new HoldlineError('not_found');
  if (match.kind === 'method_not_allowed') {
    return errorReply(new HoldlineError('method_not_allowed'), { Allow: match.allow.join(', ') });
  }
  req.params = match.params;
  // Here, before the handler: no route can forget it, and a refused request has read and written nothing.
  if (match.query !== null) req.queryFields = checkedQuery(req, match.query);
  // Awaited, not returned: an async function that returns a promise adopts it through two more
  // turns of the microtask queue and another promise.
  return await match.handler(req);
}

export function createDispatcher(opts: DispatchOptions): (res: HttpResponse, req: HttpRequest) => void {
  const { router, logger } = opts;
  // A body up to twice the limit is read to its end before the 413, so the client sees the answer
  // (protocol/rest.md "Size").
  const bodyLimits: BodyLimits = { max: opts.maxRequestBytes, discardBytes: opts.maxRequestBytes, discardMs: 5000 };

  function log(info: RequestInfo, reply: Reply, started: number, err: unknown): void {
    // A success is logged at debug only: nothing to build when that level is off.
    if (reply.status < 400 && !logger.isLevelEnabled('debug')) return;
    const entry = {
      method: info.method,
      url: info.url,
      status: reply.status,
      ms: Math.round((performance.now() - started) * 1000) / 1000,
    };
    if (reply.status >= 500) logger.error({ ...entry, err }, 'request failed');
    else if (reply.status >= 400) logger.info({ ...entry, code: isHoldlineError(err) ? err.code : undefined }, 'request refused');
    logger.debug(entry, 'request');
  }

  return (res, uwsReq) => {
    try {
      handle(res, uwsReq);
    } catch (err) {
      // Nothing may unwind into uWS. Reaching here means the request could not even be read:
      // answer 500 if the response is still open (writing may throw again if it is not).
      logger.error({ err }, 'request handling failed');
      try {
        res.cork(() => writeReply(res, errorReply(new HoldlineError('internal')), true));
      } catch {
        // The response was already written or aborted.
      }
    }
  };

  function handle(res: HttpResponse, uwsReq: HttpRequest): void {
    const started = performance.now();
    let finished = false;
    const info = copyRequest(uwsReq, () => {
      // uWS's response is gone once answered or aborted; its JS fallback may not know the address:
      // either way /metrics then needs its token.
      if (finished) return undefined;
      try {
        return Buffer.from(res.getRemoteAddressAsText()).toString();
      } catch {
        return undefined;
      }
    });
    const matched: { route: string | null } = { route: null };
    opts.inflight.start();
    const finish = (): void => {
      if (finished) return;
      finished = true;
      opts.inflight.end();
    };
    let stopReading = (): void => {};
    res.onAborted(() => {
      stopReading();
      finish();
    });

    const write = (reply: Reply, err: unknown, close: boolean): void => {
      if (finished) return;
      log(info, reply, started, err);
      const extra = opts.edge?.headers(info);
      if (extra !== undefined) reply = { ...reply, headers: { ...reply.headers, ...extra } };
      try {
        res.cork(() => writeReply(res, reply, close || opts.isShuttingDown()));
      } finally {
        finish();
        opts.edge?.done(info, matched.route, reply.status, (performance.now() - started) / 1000);
      }
    };
    // A reply that closes the connection goes out after uWS has parsed what it already read: ended
    // with close while uWS is still parsing, the response lets uWS go on parsing, and dispatching,
    // the requests behind it in the buffer. Still pending, any request behind it makes uWS close the
    // connection instead, unanswered and not run.
    const respond = (reply: Reply, err: unknown, close: boolean): void => {
      if (close) setImmediate(() => write(reply, err, true));
      else write(reply, err, false);
    };
    const writeFailed = (e: unknown): void => logger.error({ err: e, url: info.url }, 'writing the response failed');
    const fail = (err: unknown, close = false): void => {
      const e = isHoldlineError(err) ? err : new HoldlineError('internal');
      respond(errorReply(e), err, close);
    };

    // The body's framing cannot be trusted, so neither can anything after it: 400, close, no body read.
    const framing = framingError(info.headers);
    if (framing !== null) return fail(framing, true);
    if (opts.isShuttingDown()) return fail(new HoldlineError('shutting_down'), true);
    const early = opts.edge?.intercept(info) ?? null;
    if (early !== null) return respond(early, null, false);
    stopReading = readBody(res, info.headers['content-length'], bodyLimits, (bodyErr, body) => {
      // Close the connection: a body over the limit is not read past the discard bound.
      if (bodyErr !== null) return fail(bodyErr, true);
      info.body = body;
      // route() is async: every throw, synchronous or not, arrives here as a rejection. A throw
      // while answering is caught in each callback (one promise fewer than a .catch after them).
      route(router, info, matched).then(
        (reply) => {
          try {
            respond(reply, null, false);
          } catch (e) {
            writeFailed(e);
          }
        },
        (e: unknown) => {
          try {
            fail(e);
          } catch (e2) {
            writeFailed(e2);
          }
        },
      );
    });
  }
}
