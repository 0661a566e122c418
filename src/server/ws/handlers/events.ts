/**
 * events.subscribe and events.unsubscribe (protocol/websocket.md 12): an application key follows its
 * own application's event log (agents and anonymous connections: 403 forbidden), one tail per
 * connection. The reply goes out after the resume point is resolved and capture has started; the
 * catch-up and the join then run in the background (event-subscription.ts).
 */
import type { EventsSubscribeFrame } from '../../../codec/index.js';
import { parseTailFilter } from '../../../domain/event-tail.js';
import { HoldlineError } from '../../../errors.js';
import type { ServerContext } from '../../context.js';
import type { Connection } from '../connection.js';
import { replyId } from '../errors.js';
import {
  EVENT_TAIL_KEY,
  EventSubscription,
  endSubscription,
  eventTailHub,
  follow,
  tailStart,
  type EventTailEnv,
} from '../event-subscription.js';
import type { FrameHandler, HandlerEnv } from './types.js';

/** One event hub per server (its uWS app), made on first use and closed with the server. */
const envs = new WeakMap<ServerContext, EventTailEnv>();

function tailEnv(env: HandlerEnv): EventTailEnv {
  let t = envs.get(env.ctx);
  if (t === undefined) {
    const log = env.ctx.eventLog;
    const hub = eventTailHub(log, env.ctx.app, env.logger);
    t = { log, hub, logger: env.logger };
    envs.set(env.ctx, t);
    env.ctx.onClose(() => hub.close());
  }
  return t;
}

const hooked = new WeakSet<Connection>();

function endOnClose(conn: Connection): void {
  if (hooked.has(conn)) return;
  hooked.add(conn);
  conn.onClose(() => {
    const sub = conn.otherSubscriptions.get(EVENT_TAIL_KEY);
    if (sub instanceof EventSubscription) endSubscription(sub);
  });
}

export const eventsSubscribe: FrameHandler<'events.subscribe'> = async (conn, frame: EventsSubscribeFrame, env) => {
  const app = conn.application;
  if (app === null) throw new HoldlineError('forbidden');
  const filter = parseTailFilter(frame.q);
  if (conn.otherSubscriptions.has(EVENT_TAIL_KEY)) {
    throw new HoldlineError('already_subscribed', { field: 'events', message: 'This connection already follows the event log' });
  }
  if (conn.subscriptionCount + 1 > env.limits.maxSubscriptions) throw new HoldlineError('too_many_subscriptions');

  const t = tailEnv(env);
  const feed = await t.hub.acquire({ app, filter });
  // Captures from the topic's position: everything after it reaches the buffer or storage.
  const sub = new EventSubscription(t, conn, feed, feed.lastSeq);
  conn.otherSubscriptions.set(EVENT_TAIL_KEY, sub);
  endOnClose(conn);
  if (conn.closed) {
    endSubscription(sub);
    throw new HoldlineError('shutting_down');
  }
  sub.startCapture();
  let start: Awaited<ReturnType<typeof tailStart>>;
  try {
    start = await tailStart(t.log, app, frame.since, { seq: feed.lastSeq, id: feed.lastId });
  } catch (err) {
    endSubscription(sub);
    throw err;
  }
  if (sub.state === 'ended') throw new HoldlineError('shutting_down');
  sub.lastSeq = start.after;
  const run = sub.nextRun();
  return {
    reply: { type: 'events.subscribed', ...replyId(frame.id), seq: start.after, last_event_id: start.afterId, recovered: start.recovered },
    after: () => {
      sub.replied = true;
      if (sub.state !== 'ended') follow(sub, run);
    },
  };
};

export const eventsUnsubscribe: FrameHandler<'events.unsubscribe'> = async (conn, frame) => {
  const sub = conn.otherSubscriptions.get(EVENT_TAIL_KEY);
  if (!(sub instanceof EventSubscription)) {
    throw new HoldlineError('not_subscribed', { field: 'events', message: 'This connection does not follow the event log' });
  }
  endSubscription(sub);
  // Events already on the topic are written before this reply, none after it.
  return { reply: { type: 'events.unsubscribed', ...replyId(frame.id), reason: 'requested' } };
};
