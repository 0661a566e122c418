/**
 * Routing's door for the transports (protocol/routing.md): settings, member tiers, offers and their
 * answers, checked here (validate.ts) before the store is touched, so a rejected input changes
 * nothing. REST routes and WebSocket frames both call these methods.
 */
import { HoldlineError, isHoldlineError } from '../../../errors.js';
import type { MemberRouting, Offer, OfferAnswer, RoutingSettings, RoutingStore } from '../../../engine/routing-types.js';
import type { CallPrincipal } from '../service.js';
import { isUuid, parseMemberRouting, parseOfferAnswer, parsePathId, parseRoutingSettings } from '../validate.js';
import type { Router } from './router.js';

export class RoutingService {
  readonly store: RoutingStore;

  constructor(
    readonly router: Router,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.store = router.store;
  }

  // --- hooks of CallService (a change was made; routing's failures are reported, not thrown) ---

  /** `idle`: routing's idleness read with the change by the store (call-types.ts RoutingIdleAfter), if it was. */
  async queueChanged(app: string, queueId: string, idle?: boolean): Promise<void> {
    try {
      await this.router.changed(app, queueId, idle);
    } catch (err) {
      this.onError(err);
    }
  }

  async agentChanged(app: string, agent: string): Promise<void> {
    try {
      await this.router.agentChanged(app, agent);
    } catch (err) {
      this.onError(err);
    }
  }

  // --- settings ---

  async getSettings(app: string, id: string): Promise<RoutingSettings> {
    return this.store.getRoutingSettings(app, parsePathId(id, 'call_queue_not_found'));
  }

  async putSettings(app: string, id: string, body: unknown): Promise<RoutingSettings> {
    const q = parsePathId(id, 'call_queue_not_found');
    const next = await this.store.setRoutingSettings(app, q, parseRoutingSettings(body));
    await this.queueChanged(app, q);
    return next;
  }

  async getMember(app: string, id: string, agentId: string): Promise<MemberRouting> {
    const q = parsePathId(id, 'call_queue_not_found');
    const m = await this.store.getMemberRouting(app, q, parsePathId(agentId, 'member_not_found'));
    if (m === null) throw new HoldlineError('member_not_found');
    return m;
  }

  async putMember(app: string, id: string, agentId: string, body: unknown): Promise<MemberRouting> {
    const q = parsePathId(id, 'call_queue_not_found');
    const agent = parsePathId(agentId, 'member_not_found');
    const m = await this.store.setMemberPenalty(app, q, agent, parseMemberRouting(body));
    await this.queueChanged(app, q);
    return m;
  }

  // --- offers ---

  async listOffers(app: string, id: string): Promise<Offer[]> {
    const q = parsePathId(id, 'call_queue_not_found');
    await this.store.getRoutingSettings(app, q);
    return this.store.listOffers(app, q);
  }

  async agentOffer(app: string, agentId: string): Promise<Offer | null> {
    return this.store.agentOffer(app, parsePathId(agentId, 'agent_not_found'));
  }

  /**
   * An answer: an agent token answers for its own agent (an `agent_id` naming another is
   * offer_not_yours); an application key names the agent in `agent_id`.
   */
  async answer(who: CallPrincipal, id: string, offerId: string, answer: OfferAnswer, body: unknown): Promise<Offer> {
    const q = parsePathId(id, 'call_queue_not_found');
    if (!isUuid(offerId)) throw new HoldlineError('offer_not_found');
    const named = parseOfferAnswer(body);
    let agent: string;
    if (who.kind === 'agent') {
      if (named !== undefined && named !== who.agent) throw new HoldlineError('offer_not_yours');
      agent = who.agent;
    } else {
      if (named === undefined) throw new HoldlineError('missing_field', { field: 'agent_id' });
      agent = named;
    }
    try {
      const out = await this.router.answer(who.app, q, offerId.toLowerCase(), agent, answer);
      return out.ended[0]!.offer;
    } catch (err) {
      if (isHoldlineError(err) && err.code === 'offer_not_found' && (await this.store.getRoutingSettings(who.app, q)).strategy === 'manual') {
        throw new HoldlineError('routing_manual');
      }
      throw err;
    }
  }
}
