/**
 * Webhook endpoints of an application (protocol/webhooks.md, protocol/rest.md "Webhooks"): register,
 * list, read one with its delivery state, delete. An application key only: the endpoints and their
 * state are the application's own, so another application's endpoint id names nothing (404).
 */
import type { ServerContext } from '../context.js';
import { applicationOf, jsonBody, noContent, resource } from './calls-http.js';

export function webhookRoutes(ctx: ServerContext): void {
  const { router, webhooks } = ctx;

  /** 201 with the secret, shown this once. */
  router.add('POST', '/v1/webhooks', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(201, await webhooks.register(app, jsonBody(req)));
  });

  router.add('GET', '/v1/webhooks', async (req) => resource(200, await webhooks.list(await applicationOf(ctx, req))));

  router.add('GET', '/v1/webhooks/:id', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(200, await webhooks.get(app, req.params.id!));
  });

  /** Deliveries stop; an event in flight may still arrive once. */
  router.add('DELETE', '/v1/webhooks/:id', async (req) => {
    const app = await applicationOf(ctx, req);
    await webhooks.delete(app, req.params.id!);
    return noContent();
  });
}
