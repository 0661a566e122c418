/** The default handler table. */
import { replyId } from '../errors.js';
import { callQueueRefresh, callQueueSubscribe, callQueueUnsubscribe } from './callqueues.js';
import { eventsSubscribe, eventsUnsubscribe } from './events.js';
import { history, publish, stateSet } from './messages.js';
import { subscribe, unsubscribe } from './subscriptions.js';
import type { FrameHandler, HandlerTable } from './types.js';

export type { FrameHandler, HandlerEnv, HandlerResult, HandlerTable, HandledFrameType } from './types.js';

const ping: FrameHandler<'ping'> = async (_conn, frame) => ({
  reply: { type: 'pong', ...replyId(frame.id), time: Date.now() / 1000 },
});

export const DEFAULT_HANDLERS: HandlerTable = {
  publish,
  subscribe,
  unsubscribe,
  history,
  'state.set': stateSet,
  'callqueue.subscribe': callQueueSubscribe,
  'callqueue.unsubscribe': callQueueUnsubscribe,
  'callqueue.refresh': callQueueRefresh,
  'events.subscribe': eventsSubscribe,
  'events.unsubscribe': eventsUnsubscribe,
  ping,
};
