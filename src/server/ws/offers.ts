/**
 * Pushes routing's notices (protocol/routing.md section 7) to this node's connections of the agents
 * they name: `offer` when an offer names the agent, `offer.revoked` when its part ends without its
 * answer. Notices come from every node (RoutingStore.subscribeNotices), so an agent connected here
 * learns of offers decided anywhere.
 */
import type { ServerFrame } from '../../codec/index.js';
import type { RoutingNotice } from '../../engine/routing-types.js';
import type { ServerContext } from '../context.js';
import type { Connection } from './connection.js';
import { sendFrame } from './send.js';

const REVOKED = new Set(['accepted_elsewhere', 'caller_left', 'expired', 'revoked']);

/** Frames for one agent's connections, by notice. */
function framesFor(n: RoutingNotice, agent: string): ServerFrame[] {
  if (n.type === 'offer') return n.offer.agents.includes(agent) ? [{ type: 'offer', offer: n.offer }] : [];
  const out: ServerFrame[] = [];
  for (const part of n.end.agents) {
    if (part.agent !== agent || !REVOKED.has(part.reason)) continue;
    out.push({
      type: 'offer.revoked', offer_id: n.end.offer.offer_id, queue_id: n.end.offer.queue_id,
      reason: part.reason as 'accepted_elsewhere' | 'caller_left' | 'expired' | 'revoked',
    });
  }
  return out;
}

/** Subscribes once per server; stops with it. */
export function pushOffers(ctx: ServerContext, connections: ReadonlySet<Connection>): void {
  const routing = ctx.routing;
  if (routing === null) return;
  const deliver = (n: RoutingNotice): void => {
    for (const conn of connections) {
      const p = conn.principal;
      if (p.kind !== 'agent' || p.application !== n.app) continue;
      for (const frame of framesFor(n, p.agent_uuid)) sendFrame(conn, frame);
    }
  };
  const subscribed = routing.store.subscribeNotices(deliver).catch((err: unknown) => {
    ctx.logger.error({ err }, 'routing notices: subscription failed');
    return null;
  });
  ctx.onClose(async () => {
    const stop = await subscribed;
    await stop?.();
  });
}
