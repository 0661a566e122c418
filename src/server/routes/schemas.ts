/**
 * SPEC.md 3.2 `GET /v1/schemas/{name}` (payload seed's SchemasController): the JSON Schema of each
 * call-queue resource, served from protocol/schemas/calls/ as they are. Public documentation: no
 * key is needed, but presented credentials are still checked (protocol/rest.md).
 */
import agent from '../../../protocol/schemas/calls/agent.json' with { type: 'json' };
import queue from '../../../protocol/schemas/calls/queue.json' with { type: 'json' };
import queueCaller from '../../../protocol/schemas/calls/queue_caller.json' with { type: 'json' };
import queueMember from '../../../protocol/schemas/calls/queue_member.json' with { type: 'json' };
import queueStats from '../../../protocol/schemas/calls/queue_stats.json' with { type: 'json' };
import tag from '../../../protocol/schemas/calls/tag.json' with { type: 'json' };
import { parseAuthorization } from '../../domain/auth.js';
import { HoldlineError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import type { RequestInfo } from '../http.js';
import { principal, resource } from './calls-http.js';

/** The five of SPEC.md 3.2, plus the statistics object, which has a schema too. */
const SCHEMAS: ReadonlyMap<string, string> = new Map(
  Object.entries({ agent, queue, queue_member: queueMember, queue_caller: queueCaller, tag, queue_stats: queueStats }).map(
    ([name, schema]) => [name, JSON.stringify(schema)],
  ),
);

/** A key or agent token that is presented must be valid; none is needed. */
async function checkPresented(ctx: ServerContext, req: RequestInfo): Promise<void> {
  if (parseAuthorization(req.headers.authorization) !== null) await principal(ctx, req);
}

export function schemaRoutes(ctx: ServerContext): void {
  ctx.router.add('GET', '/v1/schemas', async (req) => {
    await checkPresented(ctx, req);
    return resource(200, [...SCHEMAS.keys()]);
  });

  ctx.router.add('GET', '/v1/schemas/:name', async (req) => {
    await checkPresented(ctx, req);
    const body = SCHEMAS.get(req.params.name!);
    if (body === undefined) throw new HoldlineError('not_found', { message: `No schema named ${req.params.name}` });
    return { status: 200, body, contentType: 'application/schema+json' };
  });
}
