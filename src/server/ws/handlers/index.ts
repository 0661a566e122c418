/** The default handler table; call-queue frames answer not_implemented until that module plugs in. */
import { HoldlineError } from '../../../errors.js';
import { replyId } from '../errors.js';
import { history, publish, stateSet } from './messages.js';
import { subscribe, unsubscribe } from './subscriptions.js';
import type { FrameHandler, HandlerTable } from './types.js';

export type { FrameHandler, HandlerEnv, HandlerResult, HandlerTable, HandledFrameType } from './types.js';

const notImplemented = async (): Promise<never> => {
  throw new HoldlineError('not_implemented');
};

const ping: FrameHandler<'ping'> = async (_conn, frame) => ({
  reply: { type: 'pong', ...replyId(frame.id), time: Date.now() / 1000 },
});

export const DEFAULT_HANDLERS: HandlerTable = {
  publish,
  subscribe,
  unsubscribe,
  history,
  'state.set': stateSet,
  'callqueue.subscribe': notImplemented,
  'callqueue.unsubscribe': notImplemented,
  ping,
};
