/**
 * Processing state over REST, as the AMIE client calls it (SPEC.md 3.5, protocol/rest.md
 * "Processing state" and "Replies"): client_state and client_json set and cleared, each an
 * optional compare-and-set (`if_state`), and a message's replies. Every change goes through the
 * domain's one setState, as the WebSocket `state.set` does, and answers the message as it now is.
 */
import { MAX_NESTING_DEPTH } from '../../codec/limits.js';
import { checkValues, formatPath } from '../../codec/values.js';
import { UNSET_STATE, MAX_CLIENT_JSON_BYTES, parseStateName } from '../../domain/queues/message-rules.js';
import { wireMessage } from '../../domain/queues/render.js';
import type { RawRepliesQuery, StateInput } from '../../domain/queues/service.js';
import type { StoredMessage } from '../../engine/types.js';
import { HoldlineError } from '../../errors.js';
import type { JsonValue } from '../../message-fields.js';
import { decodeUtf8, JSON_TYPE, mediaType, parseJson } from '../body.js';
import type { ServerContext } from '../context.js';
import { json } from '../http.js';
import type { Reply, RequestInfo } from '../http.js';
import { restMessagesBody } from '../message-encoding.js';
import type { MessageStateQueryRequest } from '../../types/requests.js';

type Req = RequestInfo & { params: Record<string, string | undefined> };

/** `if_state` (message-state-query.json): a state, or `none` for unset; absent: no compare-and-set. */
function withIfState(req: RequestInfo, input: StateInput): StateInput {
  const q: MessageStateQueryRequest = req.queryFields;
  if (q.if_state !== undefined) input.ifState = parseStateName(q.if_state, 'if_state');
  return input;
}

/** The body of PUT …/client_json: one JSON value (message-client-json.json). */
function clientJsonBody(req: RequestInfo): JsonValue {
  const type = mediaType(req);
  if (type !== JSON_TYPE) throw new HoldlineError('unsupported_media_type', { field: type === '' ? '(none)' : type });
  if (req.body.byteLength === 0) throw new HoldlineError('invalid_json', { field: 'body' });
  const value = parseJson(decodeUtf8(req.body));
  // The bounds a WebSocket state.set has, its client_json one level inside the frame (websocket.md
  // "Limits"): JSON.stringify would run out of stack on a deeper value, and 1e999 parses as Infinity.
  const check = checkValues({ client_json: value });
  if (!check.ok) {
    throw new HoldlineError('invalid_field', {
      field: formatPath(check.path),
      message: `client_json must be nested less than ${MAX_NESTING_DEPTH} levels deep, its numbers finite`,
    });
  }
  return value as JsonValue;
}

function answer(m: StoredMessage): Reply {
  return json(200, { status: 'ok', message: wireMessage(m) });
}

export function messageStateRoutes(ctx: ServerContext): void {
  const { router, queues } = ctx;
  const queue = async (req: Req) => queues.at(await ctx.applicationFor(req.headers.authorization), req.params.app!, req.params.queue!);
  const change = async (req: Req, input: () => StateInput) => answer(await (await queue(req)).setState(input, MAX_CLIENT_JSON_BYTES));

  router.add('PUT', '/:app/:queue/:message_id/client_state/:state', (req) =>
    change(req, () => {
      const state = req.params.state!;
      if (state === UNSET_STATE) {
        throw new HoldlineError('invalid_field', { field: 'client_state', message: `'${UNSET_STATE}' is not a state: DELETE …/client_state clears it` });
      }
      return withIfState(req, { messageId: req.params.message_id!, clientState: state });
    }),
  );

  router.add('DELETE', '/:app/:queue/:message_id/client_state', (req) => change(req, () => withIfState(req, { messageId: req.params.message_id!, clientState: null })));

  router.add('PUT', '/:app/:queue/:message_id/client_json', (req) =>
    change(req, () => {
      const input = withIfState(req, { messageId: req.params.message_id! });
      input.clientJson = clientJsonBody(req);
      return input;
    }),
  );

  router.add('DELETE', '/:app/:queue/:message_id/client_json', (req) => change(req, () => withIfState(req, { messageId: req.params.message_id!, clientJson: null })));

  router.add('GET', '/:app/:queue/:message_id/replies', async (req) => {
    const replies = await (await queue(req)).replies(req.params.message_id!, (): RawRepliesQuery => req.queryFields);
    return { status: 200, body: restMessagesBody(replies), contentType: 'application/json' };
  });
}
