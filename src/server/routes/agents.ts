/**
 * SPEC.md 3.2 agents (payload seed: /v1/agents) and agent tokens (protocol/calls.md section 7),
 * scoped to the application of the key (protocol/rest-calls.md).
 */
import type { ServerContext } from '../context.js';
import { applicationOf, jsonBody, noContent, resource } from './calls-http.js';

export function agentRoutes(ctx: ServerContext): void {
  const { router, calls } = ctx;

  router.add('GET', '/v1/agents', async (req) => resource(200, await calls.listAgents(await applicationOf(ctx, req))));

  router.add('POST', '/v1/agents', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(201, await calls.createAgent(app, jsonBody(req)));
  });

  router.add('GET', '/v1/agents/:agent', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(200, await calls.getAgent(app, req.params.agent!));
  });

  router.add('PUT', '/v1/agents/:agent', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(200, await calls.updateAgent(app, req.params.agent!, jsonBody(req)));
  });

  // The domain announces the change: live WebSocket connections of the agent close (websocket.md 2).
  router.add('DELETE', '/v1/agents/:agent', async (req) => {
    await calls.deleteAgent(await applicationOf(ctx, req), req.params.agent!);
    return noContent();
  });

  router.add('POST', '/v1/agents/:agent/tokens', async (req) => {
    const app = await applicationOf(ctx, req);
    const grant = await calls.issueToken(app, req.params.agent!, jsonBody(req));
    return resource(201, grant);
  });

  /**
   * Revokes one token of this agent, named in the body (never in the URL, which is logged).
   * 204 whether or not it was live, as OAuth revocation (RFC 7009 section 2.2) answers: the
   * caller's goal, a token that no longer works, holds either way.
   */
  router.add('DELETE', '/v1/agents/:agent/tokens', async (req) => {
    await calls.revokeAgentToken(await applicationOf(ctx, req), req.params.agent!, jsonBody(req));
    return noContent();
  });
}
