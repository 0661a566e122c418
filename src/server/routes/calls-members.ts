/** SPEC.md 3.2 members: agents serving a call queue (payload seed: /v1/queues/{id}/members). */
import type { ServerContext } from '../context.js';
import { HoldlineError } from '../../errors.js';
import { applicationOf, jsonBody, noContent, principal, queueReader, resource } from './calls-http.js';

/** What an agent token may change of its own membership. */
const AGENT_FIELDS: ReadonlySet<string> = new Set(['status', 'paused', 'pause_reason']);

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

  /**
   * Pause or unpause (`paused`, `pause_reason`), set `status`, change `number`. An agent token may
   * change its own membership's `status`, `paused` and `pause_reason` (an agent desktop: routing.md).
   */
  router.add('PUT', `${base}/:agent`, async (req) => {
    const who = await principal(ctx, req);
    const body = jsonBody(req);
    if (who.kind === 'agent') {
      const own = who.agent === req.params.agent!.toLowerCase();
      if (!own || Object.keys(body).some((k) => !AGENT_FIELDS.has(k))) throw new HoldlineError('forbidden');
      // A queue its agent does not serve is 403, as on the reads (rest-calls.md), not member_not_found.
      await calls.authorizeFollow(who, req.params.queue!);
    }
    const { value } = await calls.updateMember(who.app, req.params.queue!, req.params.agent!, body);
    return resource(200, value);
  });

  router.add('DELETE', `${base}/:agent`, async (req) => {
    const app = await applicationOf(ctx, req);
    await calls.removeMember(app, req.params.queue!, req.params.agent!);
    return noContent();
  });
}
