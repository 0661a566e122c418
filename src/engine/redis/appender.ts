/**
 * Group commit per partition: appends to one partition that arrive while an append script for it
 * is being prepared or is in flight are combined into the next single script call. Under load many
 * producers share one round trip, one EVALSHA and one live publish per partition, which is most of
 * an append's cost in Redis and in Node; alone, an append waits for nothing but the next turn of
 * the event loop (setImmediate), which also gathers every request that turn delivered.
 *
 * Order: one partition has at most one call in flight from this engine, and entries leave the
 * queue in the order they were submitted, so appends to a partition are stored in the order
 * engine.append was called, and each append's messages stay together and in order (one script).
 * Entries needing different replica confirmations (queue consistency changed meanwhile) are not
 * combined, and still leave in order.
 *
 * Failure: a call that fails fails every append combined into it, with the same error; they are
 * appends to the same partition of the same queue, so each of them alone would have met it too.
 */
import type { NewMessage, PartitionRef } from '../types.js';

/** One combined call: its messages and how many replicas must confirm them. */
export interface AppendJob {
  ref: PartitionRef;
  required: number;
  messages: NewMessage[];
}

export interface StoredEntry {
  id: string;
  expiresAtMs: number;
  /** The parts of the id, as assigned. */
  timestampUs: number;
  seq: number;
}

/** Stores a job's messages in one script call; resolves with what append.lua stored, in order. */
export type RunJob = (job: AppendJob) => Promise<StoredEntry[]>;

/** Bounds on one combined call, so one script never holds its shard long (a larger single append still goes alone). */
const MAX_MESSAGES = 1000;
const MAX_BYTES = 1 << 20;

interface Entry {
  messages: NewMessage[];
  required: number;
  bytes: number;
  resolve: (stored: StoredEntry[]) => void;
  reject: (err: unknown) => void;
}

interface Lane {
  ref: PartitionRef;
  waiting: Entry[];
  /** A call is scheduled or in flight. */
  busy: boolean;
}

function bodyBytes(messages: NewMessage[]): number {
  let n = 0;
  for (const m of messages) n += typeof m.body === 'string' ? m.body.length * 3 : m.body.byteLength;
  return n;
}

export class Appender {
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly run: RunJob) {}

  /** `lane` names the partition (its hash tag is enough); resolves with this append's stored entries. */
  submit(lane: string, ref: PartitionRef, required: number, messages: NewMessage[]): Promise<StoredEntry[]> {
    return new Promise((resolve, reject) => {
      let l = this.lanes.get(lane);
      if (l === undefined) {
        l = { ref, waiting: [], busy: false };
        this.lanes.set(lane, l);
      }
      l.waiting.push({ messages, required, bytes: bodyBytes(messages), resolve, reject });
      if (!l.busy) {
        l.busy = true;
        setImmediate(() => this.flush(lane, l));
      }
    });
  }

  private flush(name: string, lane: Lane): void {
    const batch: Entry[] = [];
    let count = 0;
    let bytes = 0;
    const required = lane.waiting[0]!.required;
    while (lane.waiting.length > 0) {
      const next = lane.waiting[0]!;
      if (batch.length > 0 && (next.required !== required || count + next.messages.length > MAX_MESSAGES || bytes + next.bytes > MAX_BYTES)) break;
      batch.push(lane.waiting.shift()!);
      count += next.messages.length;
      bytes += next.bytes;
    }
    const messages = batch.length === 1 ? batch[0]!.messages : batch.flatMap((e) => e.messages);
    this.run({ ref: lane.ref, required, messages })
      .then(
        (stored) => {
          let at = 0;
          for (const entry of batch) {
            entry.resolve(stored.slice(at, at + entry.messages.length));
            at += entry.messages.length;
          }
        },
        (err: unknown) => {
          for (const entry of batch) entry.reject(err);
        },
      )
      .finally(() => {
        if (lane.waiting.length > 0) this.flush(name, lane);
        else {
          lane.busy = false;
          this.lanes.delete(name);
        }
      });
  }
}
