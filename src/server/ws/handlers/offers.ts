/**
 * offer.accept and offer.reject (protocol/routing.md section 7): an agent-token connection answers
 * an offer made to its agent, through the same domain method as the REST answer routes.
 */
import type { OfferAnswerFrame, ServerFrame } from '../../../codec/index.js';
import { HoldlineError } from '../../../errors.js';
import type { Connection } from '../connection.js';
import { replyId } from '../errors.js';
import type { FrameHandler, HandlerEnv, HandlerResult } from './types.js';

async function answer(conn: Connection, frame: OfferAnswerFrame, env: HandlerEnv): Promise<HandlerResult> {
  const routing = env.ctx.routing;
  const p = conn.principal;
  // Only an agent answers for itself; an application key answers over REST, naming the agent.
  if (p.kind !== 'agent') throw new HoldlineError('forbidden');
  if (routing === null) throw new HoldlineError('offer_not_found');
  const accept = frame.type === 'offer.accept';
  const offer = await routing.answer({ kind: 'agent', app: p.application, agent: p.agent_uuid }, frame.queue_id, frame.offer_id, accept ? 'accept' : 'reject', {});
  const reply: ServerFrame = { type: accept ? 'offer.accepted' : 'offer.rejected', ...replyId(frame.id), offer };
  return { reply };
}

export const offerAccept: FrameHandler<'offer.accept'> = (conn, frame, env) => answer(conn, frame, env);
export const offerReject: FrameHandler<'offer.reject'> = (conn, frame, env) => answer(conn, frame, env);
