/**
 * SPEC.md 3.3 tags (PyFarm seed: /api/v1/tags → /v1/tags): idempotent create, PUT by name or id,
 * tag and untag agents, list agents by tag (protocol/calls.md section 6, protocol/rest-calls.md).
 */
import type { ServerContext } from '../context.js';
import { applicationOf, jsonBody, noContent, resource } from './calls-http.js';

export function tagRoutes(ctx: ServerContext): void {
  const { router, calls } = ctx;

  router.add('GET', '/v1/tags', async (req) => resource(200, await calls.listTags(await applicationOf(ctx, req))));

  /** PyFarm: a new name → 201, an existing one → 200 with that tag. */
  router.add('POST', '/v1/tags', async (req) => {
    const app = await applicationOf(ctx, req);
    const { tag, created } = await calls.createTag(app, jsonBody(req));
    return resource(created ? 201 : 200, tag);
  });

  router.add('GET', '/v1/tags/:tag', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(200, await calls.getTag(app, req.params.tag!));
  });

  /** Rename and/or replace the agents; a name that is not a tag yet creates it (201). */
  router.add('PUT', '/v1/tags/:tag', async (req) => {
    const app = await applicationOf(ctx, req);
    const { tag, created } = await calls.putTag(app, req.params.tag!, jsonBody(req));
    return resource(created ? 201 : 200, tag);
  });

  /** PyFarm: 204 whether the tag existed or not; its relations go with it. */
  router.add('DELETE', '/v1/tags/:tag', async (req) => {
    const app = await applicationOf(ctx, req);
    await calls.deleteTag(app, req.params.tag!);
    return noContent();
  });

  router.add('GET', '/v1/tags/:tag/agents', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(200, await calls.agentsByTag(app, req.params.tag!));
  });

  /** `{"agent_id": uuid}` → 201 the first time, 200 after; PyFarm answers with the agent's reference. */
  router.add('POST', '/v1/tags/:tag/agents', async (req) => {
    const app = await applicationOf(ctx, req);
    const body = jsonBody(req);
    const { created } = await calls.tagAgent(app, req.params.tag!, body);
    const uuid = String(body.agent_id).toLowerCase();
    return resource(created ? 201 : 200, { uuid, href: `/v1/agents/${uuid}` });
  });

  /** 204 whether the agent had the tag or not; an unknown tag or agent → 404. */
  router.add('DELETE', '/v1/tags/:tag/agents/:agent', async (req) => {
    const app = await applicationOf(ctx, req);
    await calls.untagAgent(app, req.params.tag!, req.params.agent!);
    return noContent();
  });
}
