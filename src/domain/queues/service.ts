/**
 * The message-queue operations of SPEC.md 3.1, independent of transport: REST routes and WebSocket
 * frames first obtain the application or queue through an access-checked getter (with the caller's
 * application, null when no key), then run the operation on it. Parsing a body comes between the
 * two, so a caller without access learns 401/403 before anything about their input.
 *
 * Order of checks: management and writes check the caller first (401/403), then existence (404);
 * reads check existence first, then access, because public queues are readable by anyone and
 * principles are a property of the queue. Every input is validated before the first engine write,
 * so a rejected request changes nothing.
 */
import { HoldlineError, isHoldlineError } from '../../errors.js';
import type { Engine, JsonValue, MessageFilter, NewMessage, QueueMeta, ReadOrder, StateChange, StoredMessage } from '../../engine/types.js';
import { assertCanRead, assertOwner, canRead } from '../auth.js';
import { decodeMessageId } from '../ids.js';
import { isValidAppName, isValidQueueName } from '../names.js';
import { atField, checkBody, checkClientState, checkPartition, checkTtl, parseIdList, stringifiedHoldsUnpairedSurrogate, parseMessageId, toNewMessages } from './message-rules.js';
import type { MessageInput, MessageLimits } from './message-rules.js';
import { newQueueMeta, updatedQueueMeta } from './queue-rules.js';
import type { CreateQueueInput, QueueSettings } from './queue-rules.js';
import { DEFAULT_LIMIT, parseFilter, parseLimit, parseOrder, parseReadQuery, parseSince, readMessages } from './read.js';
import type { RawFilter, RawReadQuery, ReadQuery, SinceCursor } from './read.js';

export interface ListQueuesQuery {
  limit: number;
  offset?: string;
}

export interface MessageUpdate {
  body: string;
  ttl?: number;
  /** Raw PUT: the new Content-Type; field PUT (JSON/form): null, the body is plain text again. */
  contentType: string | null;
}

/** A batch checked against its queue, ready to append (MessageQueues.prepare). */
export interface PreparedPost {
  readonly meta: QueueMeta;
  readonly messages: NewMessage[];
}

/** A `history` frame's query (protocol/websocket.md 4.5), filters included (SPEC.md 3.5). */
export interface HistoryQuery extends RawFilter {
  partitions?: number[];
  /** A message id, or epoch seconds. */
  since?: string | number;
  limit?: number;
  order?: ReadOrder;
  /** The replies of this message (every partition), as GET …/replies. */
  in_reply_to?: string;
}

/** Paging over a message's replies, in the merged message order. */
export interface RepliesQuery {
  since?: SinceCursor;
  limit: number;
  order: ReadOrder;
}

/** `GET …/{message_id}/replies`: paging over the replies, in the merged message order. */
export interface RawRepliesQuery {
  since?: string;
  limit?: string;
  order?: string;
}

/**
 * A processing-state change (REST `…/client_state`, `…/client_json`; WebSocket `state.set`): the
 * body stays. `ifState` (a state, or null for unset) makes it a compare-and-set.
 */
export interface StateInput {
  /** WebSocket: the frame names it and it must agree with the id; REST: taken from the id. */
  partition?: number;
  /** As the caller sent it (REST: the path; WebSocket: schema-checked 32 lowercase hex). */
  messageId: string;
  clientState?: string | null;
  clientJson?: JsonValue | null;
  ifState?: string | null;
}

export class MessageQueues {
  constructor(
    private readonly engine: Engine,
    private readonly limits: MessageLimits,
  ) {}

  /**
   * One queue named by a request, for the transports: every operation resolves and access-checks
   * the queue in the domain and keeps its metadata there, so a route or frame handler makes one
   * domain call and never holds the queue's metadata. No I/O until an operation runs.
   */
  at(caller: string | null, app: string, queue: string): QueueHandle {
    return new QueueHandle(this, caller, app, queue);
  }

  private async requireApp(app: string): Promise<void> {
    if (!isValidAppName(app) || (await this.engine.getApp(app)) === null) throw new HoldlineError('app_not_found');
  }

  /** The queue, or app_not_found / queue_not_found. No access check. */
  requireQueue(app: string, name: string): Promise<QueueMeta> {
    // Asked by every publish: no async steps of its own when the queue is there.
    if (!isValidAppName(app)) return Promise.reject(new HoldlineError('app_not_found'));
    if (!isValidQueueName(name)) return this.queueNotFound(app);
    return this.engine.getQueue(app, name).then((meta) => meta ?? this.queueNotFound(app));
  }

  private async queueNotFound(app: string): Promise<never> {
    await this.requireApp(app);
    throw new HoldlineError('queue_not_found');
  }

  /** The caller's own application (queue management). */
  async ownedApp(caller: string | null, app: string): Promise<string> {
    assertOwner(caller, app);
    await this.requireApp(app);
    return app;
  }

  /** A queue the caller owns: management and every write. */
  ownedQueue(caller: string | null, app: string, name: string): Promise<QueueMeta> {
    try {
      assertOwner(caller, app);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.requireQueue(app, name);
  }

  /** A queue the caller may read: public, owner, or an application in its principles. */
  async readableQueue(caller: string | null, app: string, name: string): Promise<QueueMeta> {
    const meta = await this.requireQueue(app, name);
    assertCanRead(caller, meta);
    return meta;
  }

  listQueues(app: string, query: ListQueuesQuery): Promise<QueueMeta[]> {
    return this.engine.listQueues(app, query.offset === undefined ? { limit: query.limit } : query);
  }

  async createQueue(app: string, input: CreateQueueInput): Promise<QueueMeta> {
    const meta = newQueueMeta(app, input, Math.floor(Date.now() / 1000));
    if (!(await this.engine.createQueue(meta))) throw new HoldlineError('queue_exists', { field: 'queue_name' });
    return meta;
  }

  async updateQueue(current: QueueMeta, input: QueueSettings): Promise<QueueMeta> {
    const next = updatedQueueMeta(current, input);
    await this.engine.updateQueue(next);
    return next;
  }

  async deleteQueue(meta: QueueMeta): Promise<void> {
    if (!(await this.engine.deleteQueue(meta.application, meta.name))) throw new HoldlineError('queue_not_found');
  }

  async count(meta: QueueMeta): Promise<number> {
    const refs = Array.from({ length: meta.partitions }, (_, i) => ({ app: meta.application, queue: meta.name, partition: i + 1 }));
    const counts = await Promise.all(refs.map((ref) => this.engine.count(ref)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * The queue with `partitions` in range if the catalogue has it so now. Metadata may come from an
   * engine's node-local cache (src/engine/redis/meta-cache.ts), which can briefly predate a grow
   * made through another node; a partition beyond it is therefore checked against the store
   * (listQueues always reads it) before it is refused.
   */
  async current(meta: QueueMeta, partitions: number[]): Promise<QueueMeta> {
    if (partitions.every((p) => p <= meta.partitions)) return meta;
    const [stored] = await this.engine.listQueues(meta.application, { offset: meta.name, limit: 1 });
    return stored !== undefined && stored.name === meta.name && stored.partitions > meta.partitions ? stored : meta;
  }

  /**
   * Runs `use`; if it finds a partition out of range, once more with the queue as stored now.
   * `failed`: `use(meta)` already ran and threw this.
   */
  private async inRange<T>(meta: QueueMeta, use: (meta: QueueMeta) => T | Promise<T>, failed?: unknown): Promise<T> {
    try {
      if (failed !== undefined) throw failed;
      return await use(meta);
    } catch (err) {
      if (!isHoldlineError(err) || err.code !== 'partition_out_of_range') throw err;
      const stored = await this.current(meta, [meta.partitions + 1]);
      if (stored === meta) throw err;
      return use(stored);
    }
  }

  /** Stored messages in input order (REST post, WebSocket publish: prepare, then append). */
  post(meta: QueueMeta, inputs: MessageInput[]): Promise<StoredMessage[]> {
    // Every REST post: appended at once when its batch is ready without a step of its own.
    const batch = this.prepared(meta, inputs);
    return batch instanceof Promise ? batch.then((b) => this.append(b)) : this.append(batch);
  }

  /**
   * A batch whose `in_reply_to` ids all name live messages of the same queue (SPEC.md 3.5), else
   * message_not_found naming in_reply_to: nothing is appended. Checked when the batch is prepared;
   * a replied message deleted after that still gets its reply.
   */
  private async repliesChecked(batch: PreparedPost): Promise<PreparedPost> {
    const parents = new Set<string>();
    for (const m of batch.messages) if (m.inReplyTo !== undefined) parents.add(m.inReplyTo);
    if (parents.size === 0) return batch;
    const { meta } = batch;
    await Promise.all(
      [...parents].map(async (id) => {
        const partition = decodeMessageId(id).partition;
        const found = partition >= 1 && partition <= meta.partitions
          ? await this.engine.getMessage({ app: meta.application, queue: meta.name, partition }, id)
          : null;
        if (found === null) throw new HoldlineError('message_not_found', { field: 'in_reply_to', message: `in_reply_to ${id} is not a message of this queue` });
      }),
    );
    return batch;
  }

  /**
   * Every input checked against the queue (as stored, when a partition is beyond a cached
   * partition count): nothing is stored yet, so a rejected batch changes nothing. A pipelined
   * transport (WebSocket publish) prepares early and appends in its frames' order.
   */
  prepare(meta: QueueMeta, inputs: MessageInput[]): Promise<PreparedPost> {
    const batch = this.prepared(meta, inputs);
    return batch instanceof Promise ? batch : Promise.resolve(batch);
  }

  /**
   * prepare's batch, synchronously when every input is valid against `meta` and none replies
   * (every publish and post passes here); a promise when it takes a read (a partition beyond a
   * cached count, a replied message to find), or to reject with the input's error. Only the
   * inputs' checks can find a partition out of range, so only they run again with the queue as stored.
   */
  private prepared(meta: QueueMeta, inputs: MessageInput[]): PreparedPost | Promise<PreparedPost> {
    let batch: PreparedPost;
    try {
      batch = { meta, messages: toNewMessages(meta, inputs, this.limits) };
    } catch (err) {
      return this.inRange(meta, (m) => this.repliesChecked({ meta: m, messages: toNewMessages(m, inputs, this.limits) }), err);
    }
    for (const m of inputs) if (m.inReplyTo !== undefined) return this.repliesChecked(batch);
    return batch;
  }

  /** Appends a prepared batch; both engines keep per-partition submission order. */
  append(batch: PreparedPost): Promise<StoredMessage[]> {
    return this.engine.append(batch.meta, batch.messages);
  }

  /** REST: the query as text (`GET /{app}/{queue}?since=…`). */
  async read(meta: QueueMeta, raw: RawReadQuery): Promise<StoredMessage[]> {
    const [m, query] = await this.inRange(meta, (m) => [m, parseReadQuery(raw, m)] as const);
    return readMessages(this.engine, m, query);
  }

  /** WebSocket `history`: the query typed by the frame's schema; errors name the frame's fields. */
  async history(queue: QueueMeta, q: HistoryQuery): Promise<StoredMessage[]> {
    let since: SinceCursor | undefined;
    if (typeof q.since === 'string') since = atField('since', () => parseSince(q.since as string));
    else if (typeof q.since === 'number') since = { kind: 'timestamp', seconds: q.since };
    const filter = parseFilter(q);
    const limit = q.limit ?? DEFAULT_LIMIT;
    const order = q.order ?? 'ascending';
    if (q.in_reply_to !== undefined) {
      // The replies of a message, as GET …/replies: they may be in any partition of the queue.
      if (q.partitions !== undefined) throw new HoldlineError('invalid_field', { field: 'partitions', message: 'history with in_reply_to reads every partition: partitions is not taken' });
      return this.replies(queue, q.in_reply_to, { limit, order, ...(since === undefined ? {} : { since }) }, filter);
    }
    // As REST reads: a partition beyond a cached partition count is checked against the store.
    const [meta, partitions] = await this.inRange(queue, (m) => [m, (q.partitions ?? [1]).map((p, i) => atField(`partitions[${i}]`, () => checkPartition(p, m)))] as const);
    const query: ReadQuery = { partitions: partitions.sort((a, b) => a - b), limit, order };
    if (since !== undefined) query.since = since;
    if (filter !== undefined) query.filter = filter;
    return readMessages(this.engine, meta, query);
  }

  /** REST `GET …/{message_id}/replies`: the query as text. */
  repliesRest(queue: QueueMeta, idText: string, raw: RawRepliesQuery): Promise<StoredMessage[]> {
    const query: RepliesQuery = { limit: parseLimit(raw.limit), order: parseOrder(raw.order) };
    if (raw.since !== undefined) query.since = parseSince(raw.since);
    return this.replies(queue, idText, query);
  }

  /**
   * The replies to a message (SPEC.md 3.5): messages of the same queue, any partition, posted
   * `in_reply_to` it, in the merged message order (read.ts), paged with `since` and `limit`, and
   * narrowed by `filter` when given. message_not_found when the message itself is not (or no
   * longer) there.
   */
  async replies(queue: QueueMeta, idText: string, q: RepliesQuery, filter?: MessageFilter): Promise<StoredMessage[]> {
    const parent = await this.getMessage(queue, idText);
    const meta = await this.current(queue, [parent.partition]);
    const query: ReadQuery = {
      partitions: Array.from({ length: meta.partitions }, (_, i) => i + 1),
      limit: q.limit,
      order: q.order,
      filter: { ...filter, inReplyTo: parent.id },
    };
    if (q.since !== undefined) query.since = q.since;
    return readMessages(this.engine, meta, query);
  }

  /**
   * Processing state (SPEC.md 3.5; REST `…/client_state`, `…/client_json`, WebSocket `state.set`,
   * protocol/websocket.md 4.6): the owner and the applications in `principles` mark messages;
   * readers of a public queue may not. Checked in this order: access, message id, partition,
   * client_state, client_json size, then the message itself and `ifState`, atomically in the
   * engine: a mismatch is state_conflict with the current state, and nothing changes.
   */
  async setState(caller: string | null, queue: QueueMeta, input: StateInput, maxClientJsonBytes: number): Promise<StoredMessage> {
    if (caller === null || !canRead(caller, { ...queue, type: 'user' })) throw new HoldlineError('forbidden');
    const { id, partition: idPartition } = parseMessageId(input.messageId);
    const meta = await this.current(queue, [input.partition ?? idPartition]);
    const partition = input.partition === undefined ? idPartition : atField('partition', () => checkPartition(input.partition!, meta));
    const change: StateChange = {};
    if (input.clientState !== undefined) change.clientState = input.clientState === null ? null : checkClientState(input.clientState, 'client_state');
    if (input.clientJson !== undefined) {
      const text = input.clientJson === null ? null : JSON.stringify(input.clientJson);
      if (text !== null && Buffer.byteLength(text) > maxClientJsonBytes) {
        throw new HoldlineError('invalid_field', { field: 'client_json', message: `client_json exceeds ${maxClientJsonBytes} bytes` });
      }
      // As for a body: JSON's \ud800 escape writes text that has no UTF-8 form.
      if (text !== null && stringifiedHoldsUnpairedSurrogate(text)) {
        throw new HoldlineError('invalid_utf8', { field: 'client_json', message: 'client_json holds an unpaired UTF-16 surrogate: it has no UTF-8 form' });
      }
      change.clientJson = input.clientJson;
    }
    if (input.ifState !== undefined) change.ifState = input.ifState;
    const result =
      partition === idPartition && partition >= 1 && partition <= meta.partitions
        ? await this.engine.changeState({ app: meta.application, queue: meta.name, partition }, id, change)
        : ({ kind: 'not_found' } as const);
    if (result.kind === 'not_found') throw new HoldlineError('message_not_found');
    if (result.kind === 'conflict') {
      throw new HoldlineError('state_conflict', {
        field: 'if_state',
        currentState: result.current,
        message: `The message's client_state is ${result.current === null ? 'unset (none)' : `'${result.current}'`}, not the if_state given: nothing changed`,
      });
    }
    return result.message;
  }

  async getMessage(queue: QueueMeta, idText: string): Promise<StoredMessage> {
    const { id, partition } = parseMessageId(idText);
    const meta = await this.current(queue, [partition]);
    const found = partition >= 1 && partition <= meta.partitions
      ? await this.engine.getMessage({ app: meta.application, queue: meta.name, partition }, id)
      : null;
    if (found === null) throw new HoldlineError('message_not_found');
    return found;
  }

  async updateMessage(queue: QueueMeta, idText: string, update: MessageUpdate): Promise<StoredMessage> {
    const { id, partition } = parseMessageId(idText);
    const meta = await this.current(queue, [partition]);
    const patch = {
      body: checkBody(update.body, 'body', this.limits.maxMessageBytes),
      contentType: update.contentType,
      ...(update.ttl === undefined ? {} : { ttl: checkTtl(update.ttl, 'ttl') }),
    };
    const updated = partition >= 1 && partition <= meta.partitions
      ? await this.engine.updateMessage({ app: meta.application, queue: meta.name, partition }, id, patch)
      : null;
    if (updated === null) throw new HoldlineError('message_not_found');
    return updated;
  }

  /** How many of the ids existed; unknown ids are not an error (Queuey). */
  async deleteMessages(queue: QueueMeta, ids: string | readonly string[]): Promise<number> {
    const [meta, byPartition] = await this.inRange(queue, (m) => [m, parseIdList(ids, m)] as const);
    const ref = (partition: number) => ({ app: meta.application, queue: meta.name, partition });
    const counts = await Promise.all([...byPartition].map(([p, list]) => this.engine.deleteMessages(ref(p), list)));
    return counts.reduce((a, b) => a + b, 0);
  }
}

/**
 * A queue as a request names it (MessageQueues.at): the caller, the application, the queue. Each
 * operation checks access in the documented order (writes: caller, then existence; reads:
 * existence, then caller) before it reads its input: `input` is a function, so a caller without
 * access learns 401/403 before anything about their input.
 */
export class QueueHandle {
  constructor(
    private readonly queues: MessageQueues,
    readonly caller: string | null,
    readonly app: string,
    readonly name: string,
  ) {}

  private owned(): Promise<QueueMeta> {
    return this.queues.ownedQueue(this.caller, this.app, this.name);
  }

  private readable(): Promise<QueueMeta> {
    return this.queues.readableQueue(this.caller, this.app, this.name);
  }

  /** REST post: stored messages in input order. */
  async post(input: () => MessageInput[]): Promise<StoredMessage[]> {
    const meta = await this.owned();
    // Awaited, not returned: adopting a returned promise takes two more microtask turns.
    return await this.queues.post(meta, input());
  }

  /** WebSocket publish: checked now, appended later in the frames' order (MessageQueues.append). */
  async prepare(inputs: MessageInput[]): Promise<PreparedPost> {
    return this.queues.prepare(await this.owned(), inputs);
  }

  async read(query: () => RawReadQuery): Promise<StoredMessage[]> {
    const meta = await this.readable();
    return this.queues.read(meta, query());
  }

  async history(query: HistoryQuery): Promise<StoredMessage[]> {
    return this.queues.history(await this.readable(), query);
  }

  async getMessage(id: string): Promise<StoredMessage> {
    return this.queues.getMessage(await this.readable(), id);
  }

  /** `GET …/{message_id}/replies`: readers, as for reads. */
  async replies(id: string, query: () => RawRepliesQuery): Promise<StoredMessage[]> {
    const meta = await this.readable();
    return this.queues.repliesRest(meta, id, query());
  }

  async updateMessage(id: string, update: () => MessageUpdate): Promise<StoredMessage> {
    const meta = await this.owned();
    return this.queues.updateMessage(meta, id, update());
  }

  async deleteMessages(ids: () => string | readonly string[]): Promise<number> {
    const meta = await this.owned();
    return this.queues.deleteMessages(meta, ids());
  }

  /**
   * A state change (REST and `state.set`): existence first, then the owner or principles
   * (setState); `input` is read after access is checked.
   */
  async setState(input: StateInput | (() => StateInput), maxClientJsonBytes: number): Promise<StoredMessage> {
    const meta = await this.queues.requireQueue(this.app, this.name);
    if (this.caller === null || !canRead(this.caller, { ...meta, type: 'user' })) throw new HoldlineError(this.caller === null ? 'auth_required' : 'forbidden');
    return this.queues.setState(this.caller, meta, typeof input === 'function' ? input() : input, maxClientJsonBytes);
  }

  async update(input: () => QueueSettings): Promise<QueueMeta> {
    const current = await this.owned();
    return this.queues.updateQueue(current, input());
  }

  async delete(): Promise<void> {
    return this.queues.deleteQueue(await this.owned());
  }

  /** The queue's settings (a wire object of its own in REST), and its message count if asked. */
  async info(includeCount: () => boolean): Promise<{ meta: QueueMeta; count?: number }> {
    const meta = await this.readable();
    return includeCount() ? { meta, count: await this.queues.count(meta) } : { meta };
  }
}
