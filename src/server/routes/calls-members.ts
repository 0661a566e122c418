/** SPEC.md 3.2 members: agents serving a call queue (payload seed: /v1/queues/{id}/members). */
import type { ServerContext } from '../context.js';
import { applicationOf, jsonBody, noContent, queueReader, resource } from './calls-http.js';

export function memberRoutes(ctx: ServerContext): void {
  const { router, calls } = ctx;
  const base = '/v1/queues/:queue/members';

  router.add('GET', base, async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    return resource(200, await calls.listMembers(app, req.params.queue!));
  });

  /** `agent_id` (or `uuid`) and `number`; optionally `paused`, `pause_reason`, `status`. */
  router.add('POST', base, async (req) => {
    const app = await applicationOf(ctx, req);
    const { value } = await calls.addMember(app, req.params.queue!, jsonBody(req));
    return resource(201, value);
  });

  router.add('GET', `${base}/:agent`, async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    return resource(200, await calls.getMember(app, req.params.queue!, req.params.agent!));
  });

  /** Pause or unpause (`paused`, `pause_reason`), set `status`, change `number`. */
  router.add('PUT', `${base}/:agent`, async (req) => {
    const app = await applicationOf(ctx, req);
    const { value } = await calls.updateMember(app, req.params.queue!, req.params.agent!, jsonBody(req));
    return resource(200, value);
  });

  router.add('DELETE', `${base}/:agent`, async (req) => {
    const app = await applicationOf(ctx, req);
    await calls.removeMember(app, req.params.queue!, req.params.agent!);
    return noContent();
  });
}
