/**
 * SPEC.md 3.2 callers (payload seed: /v1/queues/{id}/callers): join, status / priority / member
 * changes, leave with a reason. Lists are in position order (protocol/calls.md section 2).
 */
import { parsePathId } from '../../domain/calls/validate.js';
import { HoldlineError } from '../../errors.js';
import { parseQuery } from '../body.js';
import type { ServerContext } from '../context.js';
import type { RequestInfo } from '../http.js';
import { applicationOf, jsonBody, noContent, queueReader, resource } from './calls-http.js';

/**
 * The leave `reason`, from the query (`?reason=answered`) or the JSON body (`{"reason": …}`), so
 * clients that send no body with DELETE can leave too. Both may be given only if they agree.
 */
function leaveReason(req: RequestInfo): unknown {
  const query = parseQuery(req);
  for (const k of query.keys()) if (k !== 'reason') throw new HoldlineError('invalid_field', { field: k });
  const body = jsonBody(req);
  for (const k of Object.keys(body)) if (k !== 'reason') throw new HoldlineError('invalid_field', { field: k });
  const fromQuery = query.get('reason');
  if (fromQuery !== undefined && body.reason !== undefined && body.reason !== fromQuery) {
    throw new HoldlineError('invalid_field', { field: 'reason', message: 'reason is given twice, with different values' });
  }
  return body.reason ?? fromQuery;
}

/** The call queue's seq a list was read at: websocket.md 5.3 updates with a higher seq follow it. */
export const SEQ_HEADER = 'holdline-seq';

export function callerRoutes(ctx: ServerContext): void {
  const { router, calls } = ctx;
  const base = '/v1/queues/:queue/callers';

  /**
   * The list is the state after the queue's change `seq` (protocol/rest-calls.md): the body stays
   * the payload seed's bare list, so the seq travels in the `Holdline-Seq` header.
   */
  router.add('GET', base, async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    const { callers, seq } = await calls.listCallers(app, req.params.queue!);
    return { ...resource(200, callers), headers: { [SEQ_HEADER]: String(seq) } };
  });

  /** `number`; optionally `name`, `priority`. A disabled queue → 409 queue_disabled. */
  router.add('POST', base, async (req) => {
    const app = await applicationOf(ctx, req);
    const { value } = await calls.joinCaller(app, req.params.queue!, jsonBody(req));
    return resource(201, value);
  });

  router.add('GET', `${base}/:caller`, async (req) => {
    const app = await queueReader(ctx, req, req.params.queue!);
    return resource(200, await calls.getCaller(app, req.params.queue!, req.params.caller!));
  });

  /** `priority`, `status`, `member_uuid` (the transitions of protocol/calls.md section 3). */
  router.add('PUT', `${base}/:caller`, async (req) => {
    const app = await applicationOf(ctx, req);
    const { value } = await calls.updateCaller(app, req.params.queue!, req.params.caller!, jsonBody(req));
    return resource(200, value);
  });

  /**
   * A waiting caller becomes a callback (protocol/calls.md 3.1): `{"number"?}` (default its own);
   * it keeps its place in line. Not waiting → 409 invalid_transition.
   */
  router.add('POST', `${base}/:caller/callback`, async (req) => {
    const app = await applicationOf(ctx, req);
    const { value } = await calls.requestCallback(app, req.params.queue!, req.params.caller!, jsonBody(req));
    return resource(200, value);
  });

  /** Leaving: everyone behind the caller moves up by one. Leaving twice → 404 caller_not_found. */
  router.add('DELETE', `${base}/:caller`, async (req) => {
    const app = await applicationOf(ctx, req);
    // A malformed id is 404 before the query and body are read (rest-calls.md "Order of checks").
    const queue = parsePathId(req.params.queue!, 'call_queue_not_found');
    const caller = parsePathId(req.params.caller!, 'caller_not_found');
    await calls.leaveCaller(app, queue, caller, leaveReason(req));
    return noContent();
  });
}
