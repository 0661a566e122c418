/**
 * SPEC.md 3.4, Panko v2 (seed 004) under /v1: `GET /v1/events`, `/v1/events/{message_id}`,
 * `/v1/event_types`, `/v1/event_types/{type}/traits`, `/v1/event_types/{type}/traits/{trait}`
 * (protocol/events.md section 5). Answers are Panko's: the resource or list itself, no envelope.
 *
 * Credentials: an application key reads its own application's events; the admin key
 * (`Authorization: Admin <key>`) reads every application's; an agent token may not (403).
 */
import { parseAuthorization } from '../../domain/auth.js';
import { parseEventQuery, queryOrder, queryParams } from '../../domain/events/query.js';
import type { EventScope } from '../../domain/events/service.js';
import { HoldlineError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import type { RequestInfo } from '../http.js';
import { applicationOf, resource } from './calls-http.js';

async function scopeOf(ctx: ServerContext, req: RequestInfo): Promise<EventScope> {
  const creds = parseAuthorization(req.headers.authorization);
  if (creds !== null && creds.scheme.toLowerCase() === 'admin') {
    ctx.assertAdmin(req.headers.authorization);
    return { kind: 'admin' };
  }
  return { kind: 'app', app: await applicationOf(ctx, req) };
}

/** These reads take no query parameters. */
function noQuery(req: RequestInfo): void {
  const params = queryParams(req.query);
  for (const name of params.keys()) throw new HoldlineError('invalid_query', { field: name, message: `Unknown parameter ${name}` });
}

export function eventRoutes(ctx: ServerContext): void {
  const { router, events } = ctx;

  router.add('GET', '/v1/events', async (req) => {
    const scope = await scopeOf(ctx, req);
    const q = parseEventQuery(queryParams(req.query), queryOrder(req.query));
    return resource(200, await events.query(scope, q));
  });

  router.add('GET', '/v1/events/:message_id', async (req) => {
    const scope = await scopeOf(ctx, req);
    noQuery(req);
    return resource(200, await events.get(scope, req.params.message_id!.toLowerCase()));
  });

  router.add('GET', '/v1/event_types', async (req) => {
    const scope = await scopeOf(ctx, req);
    noQuery(req);
    return resource(200, await events.eventTypes(scope));
  });

  router.add('GET', '/v1/event_types/:type/traits', async (req) => {
    const scope = await scopeOf(ctx, req);
    noQuery(req);
    return resource(200, await events.traits(scope, req.params.type!));
  });

  router.add('GET', '/v1/event_types/:type/traits/:trait', async (req) => {
    const scope = await scopeOf(ctx, req);
    noQuery(req);
    return resource(200, await events.traitValues(scope, req.params.type!, req.params.trait!));
  });
}
