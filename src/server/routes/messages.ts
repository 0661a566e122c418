/** SPEC.md 3.1, Queuey "Multiple Messages" and "Individual Messages". */
import { wireAck, wireMessage } from '../../domain/queues/render.js';
import { parseQuery } from '../body.js';
import type { ServerContext } from '../context.js';
import { json } from '../http.js';
import { messageUpdate, messagesToPost } from '../message-body.js';
import { restMessagesBody } from '../message-encoding.js';

export function messageRoutes(ctx: ServerContext): void {
  const { router, queues, schemas } = ctx;
  const caller = (req: { headers: Record<string, string> }) => ctx.applicationFor(req.headers.authorization);

  router.add('POST', '/:app/:queue', async (req) => {
    const meta = await queues.ownedQueue(await caller(req), req.params.app!, req.params.queue!);
    const stored = await queues.post(meta, messagesToPost(schemas, req));
    return json(201, { status: 'ok', messages: stored.map(wireAck) });
  });

  router.add('GET', '/:app/:queue', async (req) => {
    const meta = await queues.readableQueue(await caller(req), req.params.app!, req.params.queue!);
    const q = parseQuery(req);
    const messages = await queues.read(meta, {
      since: q.get('since'),
      limit: q.get('limit'),
      order: q.get('order'),
      partitions: q.get('partitions'),
    });
    // Assembled from per-message fragments kept between reads (server/message-encoding.ts).
    return { status: 200, body: restMessagesBody(messages), contentType: 'application/json' };
  });

  router.add('GET', '/:app/:queue/:message_id', async (req) => {
    const meta = await queues.readableQueue(await caller(req), req.params.app!, req.params.queue!);
    const m = await queues.getMessage(meta, req.params.message_id!);
    // Queuey: a message posted raw comes back raw, with the Content-Type it was posted with.
    if (m.contentType !== undefined) return { status: 200, body: m.body, contentType: m.contentType };
    return json(200, { status: 'ok', message: wireMessage(m) });
  });

  router.add('PUT', '/:app/:queue/:message_id', async (req) => {
    const meta = await queues.ownedQueue(await caller(req), req.params.app!, req.params.queue!);
    const m = await queues.updateMessage(meta, req.params.message_id!, messageUpdate(schemas, req));
    return json(200, { status: 'ok', message: wireMessage(m) });
  });

  router.add('DELETE', '/:app/:queue/:message_id', async (req) => {
    const meta = await queues.ownedQueue(await caller(req), req.params.app!, req.params.queue!);
    const deleted = await queues.deleteMessages(meta, req.params.message_id!);
    return json(200, { status: 'ok', deleted });
  });
}
