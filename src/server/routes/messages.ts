/** SPEC.md 3.1, Queuey "Multiple Messages" and "Individual Messages". */
import { wireAck, wireMessage } from '../../domain/queues/render.js';
import { HoldlineError } from '../../errors.js';
import { readFields } from '../body.js';
import type { ServerContext } from '../context.js';
import { json } from '../http.js';
import type { RequestInfo } from '../http.js';
import { messageUpdate, messagesToPost } from '../message-body.js';
import { restMessagesBody } from '../message-encoding.js';

/**
 * Ids in `DELETE /{app}/{queue}/{ids}`: 50 prefixed ids (`200%3A` + 32 hex + comma, 39 bytes each)
 * with the longest application and queue names make a request line of about 2.1 KB, leaving close
 * to 2 KB of the 4 KB head for the other headers.
 */
export const MAX_URL_IDS = 50;

export function messageRoutes(ctx: ServerContext): void {
  const { router, queues, schemas } = ctx;
  /** The queue the request names, as the caller sees it; the domain resolves and checks it. */
  const queue = async (req: RequestInfo & { params: Record<string, string | undefined> }) =>
    queues.at(await ctx.applicationFor(req.headers.authorization), req.params.app!, req.params.queue!);

  router.add('POST', '/:app/:queue', async (req) => {
    // As queue(req), without its async layer: every post passes here.
    const caller = await ctx.applicationFor(req.headers.authorization);
    const stored = await queues.at(caller, req.params.app!, req.params.queue!).post(() => messagesToPost(schemas, req));
    return json(201, { status: 'ok', messages: stored.map(wireAck) });
  });

  router.add('GET', '/:app/:queue', async (req) => {
    const messages = await (await queue(req)).read(() => req.queryFields);
    // Assembled from per-message fragments kept between reads (server/message-encoding.ts).
    return { status: 200, body: restMessagesBody(messages), contentType: 'application/json' };
  });

  router.add('GET', '/:app/:queue/:message_id', async (req) => {
    const m = await (await queue(req)).getMessage(req.params.message_id!);
    // Queuey: a message posted raw comes back raw, with the Content-Type it was posted with.
    if (m.contentType !== undefined) return { status: 200, body: m.body, contentType: m.contentType };
    return json(200, { status: 'ok', message: wireMessage(m) });
  });

  router.add('PUT', '/:app/:queue/:message_id', async (req) => {
    const m = await (await queue(req)).updateMessage(req.params.message_id!, () => messageUpdate(schemas, req));
    return json(200, { status: 'ok', message: wireMessage(m) });
  });

  router.add('DELETE', '/:app/:queue/:message_id', async (req) => {
    const deleted = await (await queue(req)).deleteMessages(() => {
      const ids = req.params.message_id!;
      // uWS drops a request head over 4 KB that arrives in more than one read (rest.md "Connections"):
      // the URL form is capped where it always fits; longer lists go in the body of POST …/delete.
      if (ids.split(',').length > MAX_URL_IDS) {
        throw new HoldlineError('invalid_field', {
          field: 'ids',
          message: `At most ${MAX_URL_IDS} ids in the URL; send more in the body of POST /${req.params.app!}/${req.params.queue!}/delete`,
        });
      }
      return ids;
    });
    return json(200, { status: 'ok', deleted });
  });

  // Bulk delete with the ids in the body. A literal third segment cannot be taken for a message id
  // (always 32 hex digits), as with `info`; POST rather than DELETE with a body, whose meaning HTTP
  // leaves undefined and which proxies may drop — and `DELETE /{app}/{queue}` deletes the queue.
  router.add('POST', '/:app/:queue/delete', async (req) => {
    const deleted = await (await queue(req)).deleteMessages(() => {
      const fields = readFields(req);
      return schemas.validate('message-delete', fields.source, fields.data).ids;
    });
    return json(200, { status: 'ok', deleted });
  });
}
