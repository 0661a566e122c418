/**
 * SPEC.md 3.2 agents (payload seed: /v1/agents) and agent tokens (protocol/calls.md section 7),
 * scoped to the application of the key (protocol/rest-calls.md).
 */
import { parseTokenRevoke } from '../../domain/calls/validate.js';
import { isHoldlineError } from '../../errors.js';
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

  router.add('DELETE', '/v1/agents/:agent', async (req) => {
    const app = await applicationOf(ctx, req);
    try {
      await calls.deleteAgent(app, req.params.agent!);
    } catch (err) {
      // Already gone: announced again, so that a retry after a failed announcement still closes
      // the connections (the announcement names an agent; one that never existed matches nothing).
      if (isHoldlineError(err) && err.code === 'agent_not_found') await ctx.engine.announceAgentChange(app, req.params.agent!);
      throw err;
    }
    // Its tokens stopped working: live WebSocket connections using one close (websocket.md 2).
    await ctx.engine.announceAgentChange(app, req.params.agent!);
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
    const app = await applicationOf(ctx, req);
    const token = parseTokenRevoke(jsonBody(req));
    const agent = await calls.getAgent(app, req.params.agent!);
    // Only a live token of this very agent: a token of another agent named under this one's URL
    // is left alone (the store itself checks only the application).
    const check = await calls.store.verifyAgentToken(token);
    if (check.valid && check.app === app && check.agent_uuid === agent.uuid) await calls.revokeToken(app, token);
    // Announced whether or not this call revoked it: a retry after a failed announcement (503)
    // finds the token already revoked, and must still close the connections that use it.
    await ctx.engine.announceAgentChange(app, agent.uuid);
    return noContent();
  });
}
