/**
 * subscribe and unsubscribe (protocol/websocket.md 4.2, 4.4). The `subscribed` reply goes out after
 * the first storage read of every partition (it carries `recovered`) and before any message frame;
 * the catch-up then runs in the background (subscription.ts), so later frames of the connection
 * are not held up by a long history.
 */
import type { SubscribeFrame, SubscriptionEndReason, UnsubscribeFrame } from '../../../codec/index.js';
import { decodeMessageId } from '../../../domain/ids.js';
import { checkPartition } from '../../../domain/queues/message-rules.js';
import type { QueueMeta } from '../../../engine/types.js';
import { HoldlineError } from '../../../errors.js';
import type { Connection } from '../connection.js';
import { atField, replyId } from '../errors.js';
import { PartitionSubscription, endSubscription, partitionKey, startCatchUp } from '../subscription.js';
import type { HubPartition, ResumeCursor } from '../subscription.js';
import { endWithNotice } from '../watch.js';
import type { FrameHandler, HandlerEnv, HandlerResult } from './types.js';

/** The partitions asked for, each with its resume cursor; every check before anything changes. */
function plan(frame: SubscribeFrame, meta: QueueMeta): Array<{ partition: number; cursor: ResumeCursor; fromAfter: boolean; field: string }> {
  const after = frame.after ?? {};
  const afterKeys = Object.keys(after);
  const explicit = frame.partitions !== undefined;
  // websocket.md 4.2: the keys of `after`; with `since`, every partition of the queue; else [1].
  const partitions =
    frame.partitions ??
    (afterKeys.length > 0
      ? afterKeys.map(Number).sort((a, b) => a - b)
      : frame.since !== undefined
        ? Array.from({ length: meta.partitions }, (_, i) => i + 1)
        : [1]);
  partitions.forEach((p, i) => {
    atField(explicit ? `partitions[${i}]` : `after.${p}`, () => checkPartition(p, meta));
  });
  for (const key of afterKeys) {
    const p = Number(key);
    if (!partitions.includes(p)) throw new HoldlineError('invalid_field', { field: `after.${key}` });
    const { partition, seq } = decodeMessageId(after[key]!);
    if (partition !== p) {
      throw new HoldlineError('invalid_message_id', {
        field: `after.${key}`,
        message: `Message id after.${key} belongs to another partition`,
      });
    }
    // seq starts at 1 (messages.md): an id with seq 0 names no message, and no position to report.
    if (seq === 0) {
      throw new HoldlineError('invalid_message_id', { field: `after.${key}`, message: `Message id after.${key} has seq 0, which no message has` });
    }
  }
  return partitions.map((partition, i) => {
    // Where the frame names this partition (errors.md: `field` is a path in the request).
    const field = explicit ? `partitions[${i}]` : afterKeys.length > 0 ? `after.${partition}` : 'partitions';
    const id = after[String(partition)];
    if (id !== undefined) return { partition, cursor: { kind: 'after', id, seq: decodeMessageId(id).seq }, fromAfter: true, field };
    if (frame.since !== undefined) return { partition, cursor: { kind: 'since', seconds: frame.since }, fromAfter: false, field };
    return { partition, cursor: { kind: 'newest' }, fromAfter: false, field };
  });
}

async function acquireAll(env: HandlerEnv, meta: QueueMeta, partitions: number[]): Promise<HubPartition[]> {
  const settled = await Promise.allSettled(
    partitions.map((partition) => env.hub.acquire({ app: meta.application, queue: meta.name, partition })),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed === undefined) return settled.map((s) => (s as PromiseFulfilledResult<HubPartition>).value);
  for (const s of settled) if (s.status === 'fulfilled') env.hub.release(s.value);
  throw failed.reason;
}

/** Attempts of a subscribe that found its queue deleted (and maybe created again) while acquiring. */
const SUBSCRIBE_ATTEMPTS = 3;

export const subscribe: FrameHandler<'subscribe'> = async (conn: Connection, frame: SubscribeFrame, env) => {
  for (let attempt = 1; ; attempt++) {
    const result = await subscribeOnce(conn, frame, env);
    if (result !== 'retry') return result;
    if (attempt >= SUBSCRIBE_ATTEMPTS) throw new HoldlineError('queue_not_found', { field: 'queue' });
  }
};

/** Ends subscriptions that never got their `subscribed` reply (no frame of them was written). */
function discard(env: HandlerEnv, conn: Connection, subs: PartitionSubscription[]): void {
  for (const sub of subs) {
    conn.pendingSubs.delete(sub);
    conn.pendingEndings.delete(sub);
    endSubscription(env, sub);
  }
}

async function subscribeOnce(conn: Connection, frame: SubscribeFrame, env: HandlerEnv): Promise<HandlerResult | 'retry'> {
  const meta = await env.ctx.queues.readableQueue(conn.application, frame.application, frame.queue);
  const wanted = plan(frame, meta);
  for (const { partition, field } of wanted) {
    const key = partitionKey({ app: meta.application, queue: meta.name, partition });
    if (conn.subs.has(key)) {
      throw new HoldlineError('already_subscribed', { field, message: `This connection already follows ${meta.name} partition ${partition}` });
    }
  }
  if (conn.subscriptionCount + wanted.length > env.limits.maxSubscriptions) throw new HoldlineError('too_many_subscriptions');

  const parts = await acquireAll(env, meta, wanted.map((w) => w.partition));
  const subs = parts.map((part) => new PartitionSubscription(env, conn, part, frame.batch === true));
  for (const sub of subs) {
    conn.subs.set(sub.part.key, sub);
    conn.pendingSubs.add(sub);
  }
  if (conn.closed) {
    discard(env, conn, subs);
    throw new HoldlineError('shutting_down');
  }
  // The queue may have changed while the partitions were acquired, before a change could find
  // these subscriptions (watch.ts): deleted (the hub dropped a partition: start over, the queue may
  // exist again) or no longer readable (check again, with what the store holds now).
  if (parts.some((part) => part.dropped)) {
    discard(env, conn, subs);
    return 'retry';
  }
  try {
    await env.ctx.queues.readableQueue(conn.application, frame.application, frame.queue);
  } catch (err) {
    discard(env, conn, subs);
    throw err;
  }

  let openGate!: (open: boolean) => void;
  const gate = new Promise<boolean>((resolve) => (openGate = resolve));
  subs.forEach((sub, i) => {
    const cursor = wanted[i]!.cursor;
    if (cursor.kind === 'after') {
      sub.lastId = cursor.id;
      sub.lastSeq = cursor.seq;
    }
  });
  const firsts = await Promise.allSettled(subs.map((sub, i) => startCatchUp(env, sub, wanted[i]!.cursor, { gate }).first));
  const failed = firsts.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) {
    openGate(false);
    discard(env, conn, subs);
    throw failed.reason;
  }
  return {
    reply: {
      type: 'subscribed',
      ...replyId(frame.id),
      application: meta.application,
      queue: meta.name,
      // Each partition's position: no message of it is sent before this reply, so the
      // subscription's last message is still where its delivery starts (websocket.md 4.2).
      partitions: subs.map((sub, i) => ({
        partition: sub.ref.partition,
        recovered: wanted[i]!.fromAfter ? (firsts[i] as PromiseFulfilledResult<boolean>).value : true,
        last_message_id: sub.lastId,
        last_seq: sub.lastId === null ? null : sub.lastSeq,
      })),
    },
    after: () => {
      // Subscriptions a queue change ended while this reply was prepared end now, before any
      // message of theirs (websocket.md 4.4).
      const ended = new Map<SubscriptionEndReason, PartitionSubscription[]>();
      for (const sub of subs) {
        conn.pendingSubs.delete(sub);
        const reason = conn.pendingEndings.get(sub);
        if (reason === undefined) continue;
        conn.pendingEndings.delete(sub);
        ended.set(reason, [...(ended.get(reason) ?? []), sub]);
      }
      for (const [reason, list] of ended) endWithNotice(env, conn, list, reason);
      openGate(true);
    },
  };
}

export const unsubscribe: FrameHandler<'unsubscribe'> = async (conn, frame: UnsubscribeFrame, env) => {
  const prefix = `${frame.application}/${frame.queue}/`;
  const followed = [...conn.subs.values()].filter((s) => s.part.key.startsWith(prefix));
  const asked = frame.partitions === undefined ? null : new Set(frame.partitions);
  const removed: number[] = [];
  for (const sub of followed) {
    if (asked !== null && !asked.has(sub.ref.partition)) continue;
    endSubscription(env, sub);
    removed.push(sub.ref.partition);
  }
  // Messages the hub published before this point are written before the reply (uWS drains a
  // socket's topic messages before any direct send), none after it.
  return {
    reply: {
      type: 'unsubscribed',
      ...replyId(frame.id),
      application: frame.application,
      queue: frame.queue,
      partitions: removed.sort((a, b) => a - b),
      reason: 'requested',
    },
  };
};
