/** SPEC.md 3.1, Queuey "Queue Management": list, create, update, delete, info. */
import type { QueueMeta } from '../../engine/types.js';
import { HoldlineError } from '../../errors.js';
import { isValidQueueName } from '../../domain/names.js';
import { parseLimit } from '../../domain/queues/read.js';
import { readFields } from '../body.js';
import type { ServerContext } from '../context.js';
import { json } from '../http.js';
import type { RequestInfo } from '../http.js';
import type { QueueInfoQueryRequest, QueueListQueryRequest } from '../../types/requests.js';

export function queueBody(meta: QueueMeta): Record<string, unknown> {
  return {
    application_name: meta.application,
    queue_name: meta.name,
    partitions: meta.partitions,
    type: meta.type,
    consistency: meta.consistency,
    principles: meta.principles,
    created: meta.created,
  };
}

/** `?flag`, `?flag=true|1|yes` → true; absent, `false|0|no` → false. */
export function parseFlag(value: string | undefined, field: string): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (v === '' || v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new HoldlineError('invalid_field', { field, message: `${field} must be true or false` });
}

export function queueRoutes(ctx: ServerContext): void {
  const { router, queues, schemas } = ctx;
  const caller = (req: { headers: Record<string, string> }) => ctx.applicationFor(req.headers.authorization);

  router.add('GET', '/:app', async (req) => {
    const app = await queues.ownedApp(await caller(req), req.params.app!);
    const q: QueueListQueryRequest = req.queryFields;
    const limit = parseLimit(q.limit);
    const offset = q.offset;
    if (offset !== undefined && !isValidQueueName(offset)) throw new HoldlineError('invalid_field', { field: 'offset' });
    const includeCount = parseFlag(q.include_count, 'include_count');
    // include_count needs somewhere to put the counts: it implies details.
    const details = parseFlag(q.details, 'details') || includeCount;
    const list = await queues.listQueues(app, offset === undefined ? { limit } : { limit, offset });
    if (!details) return json(200, { status: 'ok', queues: list.map((m) => m.name) });
    const rows = await Promise.all(
      list.map(async (m) => {
        const row = queueBody(m);
        delete row.application_name;
        if (includeCount) row.count = await queues.count(m);
        return row;
      }),
    );
    return json(200, { status: 'ok', queues: rows });
  });

  router.add('POST', '/:app', async (req) => {
    const app = await queues.ownedApp(await caller(req), req.params.app!);
    const fields = readFields(req);
    const input = schemas.validate('queue-create', fields.source, fields.data);
    const meta = await queues.createQueue(app, input);
    return json(201, { status: 'ok', ...queueBody(meta) });
  });

  const queue = async (req: RequestInfo & { params: Record<string, string | undefined> }) =>
    queues.at(await caller(req), req.params.app!, req.params.queue!);

  router.add('PUT', '/:app/:queue', async (req) => {
    const meta = await (await queue(req)).update(() => {
      const fields = readFields(req);
      return schemas.validate('queue-update', fields.source, fields.data);
    });
    return json(200, { status: 'ok', ...queueBody(meta) });
  });

  router.add('DELETE', '/:app/:queue', async (req) => {
    await (await queue(req)).delete();
    return json(200, { status: 'ok' });
  });

  router.add('GET', '/:app/:queue/info', async (req) => {
    const { meta, count } = await (await queue(req)).info(() => {
      const q: QueueInfoQueryRequest = req.queryFields;
      return parseFlag(q.include_count, 'include_count');
    });
    const body: Record<string, unknown> = { status: 'ok', ...queueBody(meta) };
    if (count !== undefined) body.count = count;
    return json(200, body);
  });
}
