/**
 * Routing's REST routes (protocol/routing.md, rest-calls.md "Routing"): settings of a call queue,
 * a member's tier, the open offers, and the answers a PBX (or an agent, with its token) gives.
 */
import type { OfferAnswer } from '../../engine/routing-types.js';
import { HoldlineError } from '../../errors.js';
import type { ServerContext } from '../context.js';
import { applicationOf, jsonBody, principal, queueReader, resource } from './calls-http.js';

export function routingRoutes(ctx: ServerContext): void {
  const { router } = ctx;
  const routing = (): NonNullable<ServerContext['routing']> => {
    if (ctx.routing === null) throw new HoldlineError('not_found');
    return ctx.routing;
  };

  router.add('GET', '/v1/queues/:queue/routing', async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    return resource(200, await routing().getSettings(app, req.params.queue!));
  });

  router.add('PUT', '/v1/queues/:queue/routing', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(200, await routing().putSettings(app, req.params.queue!, jsonBody(req)));
  });

  router.add('GET', '/v1/queues/:queue/members/:agent/routing', async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    return resource(200, await routing().getMember(app, req.params.queue!, req.params.agent!));
  });

  router.add('PUT', '/v1/queues/:queue/members/:agent/routing', async (req) => {
    const app = await applicationOf(ctx, req);
    return resource(200, await routing().putMember(app, req.params.queue!, req.params.agent!, jsonBody(req)));
  });

  router.add('GET', '/v1/queues/:queue/offers', async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    return resource(200, await routing().listOffers(app, req.params.queue!));
  });

  /**
   * The agent's open offer, or null: its own token, or the application's key. An agent that is not
   * the application's is 404 agent_not_found, as on every agent route, not an agent without an offer.
   */
  router.add('GET', '/v1/agents/:agent/offer', async (req) => {
    const who = await principal(ctx, req);
    if (who.kind === 'agent' && who.agent !== req.params.agent!.toLowerCase()) throw new HoldlineError('forbidden');
    const offers = routing();
    const agent = await ctx.calls.getAgent(who.app, req.params.agent!);
    return resource(200, await offers.agentOffer(who.app, agent.uuid));
  });

  for (const answer of ['accept', 'reject'] as OfferAnswer[]) {
    router.add('POST', `/v1/queues/:queue/offers/:offer/${answer}`, async (req) => {
      const who = await principal(ctx, req);
      const body = jsonBody(req);
      return resource(200, await routing().answer(who, req.params.queue!, req.params.offer!, answer, body));
    });
  }
}
