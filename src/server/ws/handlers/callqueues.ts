/**
 * callqueue.subscribe, callqueue.refresh and callqueue.unsubscribe (protocol/websocket.md 5.1, 5.3, 5.4). Access is the
 * domain's (CallService.authorizeFollow): an application key follows any call queue of its
 * application, an agent token only the queues its agent is a member of, anonymous none. The
 * `callqueue.subscribed` reply goes out after the first storage read (it carries `recovered` and
 * `seq`) and before the snapshot or the resumed updates; the join then finishes in the background
 * (callqueue-subscription.ts), so later frames of the connection are not held up.
 */
import type { CallQueueSubscribeFrame, CallQueueUnsubscribeFrame } from '../../../codec/index.js';
import type { CallPrincipal } from '../../../domain/calls/service.js';
import { HoldlineError } from '../../../errors.js';
import type { ServerContext } from '../../context.js';
import {
  CallQueueSubscription,
  callQueueHub,
  endSubscription,
  endedError,
  follow,
  readStart,
  rejoin,
  subscriptionKey,
} from '../callqueue-subscription.js';
import type { CallQueueEnv, JoinStart } from '../callqueue-subscription.js';
import type { Connection } from '../connection.js';
import { replyId } from '../errors.js';
import { sendFrame } from '../send.js';
import { WallboardPusher } from '../wallboard-push.js';
import type { FrameHandler, HandlerEnv } from './types.js';

/** One call-queue hub per server (its uWS app), made on first use and closed with the server. */
const envs = new WeakMap<ServerContext, CallQueueEnv>();

function callQueueEnv(env: HandlerEnv): CallQueueEnv {
  let cq = envs.get(env.ctx);
  if (cq === undefined) {
    const store = env.ctx.callFeeds;
    const calls = env.ctx.calls;
    const wallboard = new WallboardPusher(env.ctx.app, (app, queueId) => calls.wallboardFrame(app, queueId), env.logger);
    const hub = callQueueHub(store, env.ctx.app, env.logger, (feed) => wallboard.changed(feed));
    cq = { store, hub, logger: env.logger, onLive: (feed) => wallboard.changed(feed) };
    envs.set(env.ctx, cq);
    env.ctx.onClose(() => {
      wallboard.close();
      hub.close();
    });
  }
  return cq;
}

/** Connections whose close already ends their call-queue subscriptions. */
const hooked = new WeakSet<Connection>();

function endAllOnClose(conn: Connection): void {
  if (hooked.has(conn)) return;
  hooked.add(conn);
  conn.onClose(() => {
    for (const other of [...conn.otherSubscriptions.values()]) {
      if (other instanceof CallQueueSubscription) endSubscription(other);
    }
  });
}

function callPrincipal(conn: Connection): CallPrincipal {
  const p = conn.principal;
  if (p.kind === 'application') return { kind: 'application', app: p.application };
  if (p.kind === 'agent') return { kind: 'agent', app: p.application, agent: p.agent_uuid };
  throw new HoldlineError('forbidden');
}

export const callQueueSubscribe: FrameHandler<'callqueue.subscribe'> = async (conn, frame: CallQueueSubscribeFrame, env) => {
  const who = callPrincipal(conn);
  const queueId = await env.ctx.calls.authorizeFollow(who, frame.queue_id);
  if (conn.otherSubscriptions.has(subscriptionKey(queueId))) {
    throw new HoldlineError('already_subscribed', { field: 'queue_id', message: `This connection already follows call queue ${queueId}` });
  }
  if (conn.subscriptionCount + 1 > env.limits.maxSubscriptions) throw new HoldlineError('too_many_subscriptions');

  const cq = callQueueEnv(env);
  const queue = await cq.hub.acquire({ app: who.app, queueId });
  const sub = new CallQueueSubscription(cq, conn, queue, who.kind === 'agent' ? who.agent : null);
  conn.otherSubscriptions.set(sub.key, sub);
  endAllOnClose(conn);
  if (conn.closed) {
    endSubscription(sub);
    throw new HoldlineError('shutting_down');
  }

  sub.startCapture();
  let start: JoinStart;
  try {
    // Checked again once changes are captured: a removal after this read ends the subscription
    // (access_revoked), one before it refuses it; none slips between the two.
    if (!(await env.ctx.calls.stillAllowed(who, queueId))) throw new HoldlineError('forbidden');
    start = await readStart(cq.store, sub, frame.since_seq);
  } catch (err) {
    endSubscription(sub);
    throw err;
  }
  if (sub.state === 'ended') throw sub.endedBy === null ? new HoldlineError('shutting_down') : endedError(sub.endedBy);
  const run = sub.nextRun();
  return {
    reply: {
      type: 'callqueue.subscribed',
      ...replyId(frame.id),
      queue_id: queueId,
      seq: start.kind === 'changes' ? start.since : start.snapshot.seq,
      recovered: start.kind === 'changes',
    },
    after: () => {
      sub.replied = true;
      if (sub.state === 'ended') {
        // Ended between the read and the reply (queue deleted, membership removed): say so now.
        if (sub.endedBy !== null) sendFrame(conn, { type: 'callqueue.unsubscribed', queue_id: queueId, reason: sub.endedBy });
        return;
      }
      follow(sub, run, async () => {
        sub.sendStart(start);
        return sub.isRun(run);
      });
    },
  };
};

export const callQueueUnsubscribe: FrameHandler<'callqueue.unsubscribe'> = async (conn, frame: CallQueueUnsubscribeFrame) => {
  // Queue ids are lowercase uuids (upper case accepted, as on REST); anything else follows nothing.
  const sub = conn.otherSubscriptions.get(subscriptionKey(frame.queue_id.toLowerCase()));
  if (sub instanceof CallQueueSubscription) endSubscription(sub);
  // Updates already published are written before this reply (uWS drains a socket's topic frames
  // before a direct send), none after it.
  return {
    reply: {
      type: 'callqueue.unsubscribed',
      ...replyId(frame.id),
      queue_id: sub instanceof CallQueueSubscription ? sub.queueId : frame.queue_id,
      reason: 'requested',
    },
  };
};

/**
 * A client whose view no longer fits the updates (a `line` whose length does not match) asks for a
 * fresh snapshot (websocket.md 5.3): the subscription leaves live delivery right after the reply and
 * joins again from a snapshot, exactly as after a slow-consumer pause (callqueue-subscription.ts rejoin).
 */
export const callQueueRefresh: FrameHandler<'callqueue.refresh'> = async (conn, frame) => {
  const sub = conn.otherSubscriptions.get(subscriptionKey(frame.queue_id.toLowerCase()));
  if (!(sub instanceof CallQueueSubscription) || sub.state === 'ended') {
    throw new HoldlineError('not_subscribed', { field: 'queue_id', message: `This connection does not follow call queue ${frame.queue_id}` });
  }
  return {
    reply: { type: 'callqueue.refreshed', ...replyId(frame.id), queue_id: sub.queueId },
    // Synchronous with the reply: updates published before it were written before it, none after.
    after: () => rejoin(sub),
  };
};

/**
 * caller.callback (protocol/calls.md 3.1, websocket.md 5.7): the REST callback request over the
 * socket, with the same access as following the queue (an application key: any of its queues; an
 * agent token: the queues its agent serves). The change reaches followers as a caller_updated.
 */
export const callerCallback: FrameHandler<'caller.callback'> = async (conn, frame, env) => {
  const who = callPrincipal(conn);
  const queueId = await env.ctx.calls.authorizeFollow(who, frame.queue_id);
  const { value } = await env.ctx.calls.requestCallback(who.app, queueId, frame.caller_id, frame.number === undefined ? {} : { number: frame.number });
  return { reply: { type: 'caller.callback.set', ...replyId(frame.id), caller: value } };
};
