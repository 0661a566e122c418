/**
 * SPEC.md 3.2 call queues (payload seed: /v1/queues), their statistics, and through
 * calls-members.ts and calls-callers.ts their members and callers. Scoped to the application of
 * the key; the reads of one queue also take the token of an agent serving it (protocol/rest-calls.md).
 */
import { parseQuery } from '../body.js';
import type { ServerContext } from '../context.js';
import { callerRoutes } from './calls-callers.js';
import { applicationOf, jsonBody, noContent, queueReader, resource } from './calls-http.js';
import { memberRoutes } from './calls-members.js';
import { routingRoutes } from './routing.js';

export function callQueueRoutes(ctx: ServerContext): void {
  const { router, calls } = ctx;

  router.add('GET', '/v1/queues', async (req) => resource(200, await calls.listQueues(await applicationOf(ctx, req))));

  router.add('POST', '/v1/queues', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(201, await calls.createQueue(app, jsonBody(req)));
  });

  router.add('GET', '/v1/queues/:queue', async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    return resource(200, await calls.getQueue(app, req.params.queue!));
  });

  router.add('PUT', '/v1/queues/:queue', async (req) => {
    const app = await applicationOf(ctx, req);
    const { value } = await calls.updateQueue(app, req.params.queue!, jsonBody(req));
    return resource(200, value);
  });

  /** Its members and callers go with it; followers get queue_deleted. */
  router.add('DELETE', '/v1/queues/:queue', async (req) => {
    const app = await applicationOf(ctx, req);
    await calls.deleteQueue(app, req.params.queue!);
    return noContent();
  });

  router.add('GET', '/v1/queues/:queue/stats', async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    return resource(200, await calls.statsFor(app, req.params.queue!, Object.fromEntries(parseQuery(req))));
  });

  memberRoutes(ctx);
  callerRoutes(ctx);
  routingRoutes(ctx);
}
