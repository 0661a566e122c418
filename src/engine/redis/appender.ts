/**
 * Group commit per partition: appends to one partition that arrive while an append script for it
 * is being prepared or is in flight are combined into the next single script call. Under load many
 * producers share one round trip, one EVALSHA and one live publish per partition, which is most of
 * an append's cost in Redis and in Node; alone, an append waits for nothing but the next turn of
 * the event loop (setImmediate), which also gathers every request that turn delivered.
 *
 * Calls leave together: every partition ready in a turn (new appends, or appends that waited for a
 * call just answered) is flushed from one setImmediate, inside `batch` (the engine corks its
 * connection there, so the turn's script calls leave in one write), and the partitions answered by
 * one read from Redis go again together in the same way.
 *
 * Order: one partition has at most one call in flight from this engine, and entries leave the
 * queue in the order they were submitted, so appends to a partition are stored in the order
 * engine.append was called, and each append's messages stay together and in order (one script).
 * Entries needing different replica confirmations (queue consistency changed meanwhile) are not
 * combined, and still leave in order.
 *
 * Failure: a call that fails fails every append combined into it, with the same error; they are
 * appends to the same partition of the same queue, so each of them alone would have met it too.
 * When the store did not answer the call at all (a frozen Redis: the command timed out), the appends
 * waiting behind it are refused too, unsent, with the error `refuseWaiting` names: sent, each next
 * call would wait out the timeout again, so the last of n waiting calls would be answered after n
 * timeouts instead of one (README "When something fails": a publish is answered within about 10 s).
 */
import type { NewMessage, PartitionRef } from '../types.js';
import type { StoredEntry } from './partition-scripts.js';

export type { StoredEntry };

/** One combined call: its messages and how many replicas must confirm them. */
export interface AppendJob {
  ref: PartitionRef;
  required: number;
  messages: NewMessage[];
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
  name: string;
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

/** Runs `send`, which makes the calls of one turn; the engine makes them leave together. */
export type BatchWrites = (send: () => void) => void;

/** The error that refuses the appends waiting behind a call that failed with `err`; undefined: send them. */
export type RefuseWaiting = (err: unknown) => unknown;

export class Appender {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with appends waiting and no call in flight, flushed together at the next turn. */
  private ready: Lane[] = [];
  private scheduled = false;

  constructor(
    private readonly run: RunJob,
    private readonly batch: BatchWrites = (send) => send(),
    private readonly refuseWaiting: RefuseWaiting = () => undefined,
  ) {}

  /** `lane` names the partition (its hash tag is enough); resolves with this append's stored entries. */
  submit(lane: string, ref: PartitionRef, required: number, messages: NewMessage[]): Promise<StoredEntry[]> {
    return new Promise((resolve, reject) => {
      let l = this.lanes.get(lane);
      if (l === undefined) {
        l = { name: lane, ref, waiting: [], busy: false };
        this.lanes.set(lane, l);
      }
      l.waiting.push({ messages, required, bytes: bodyBytes(messages), resolve, reject });
      if (!l.busy) {
        l.busy = true;
        this.schedule(l);
      }
    });
  }

  private schedule(lane: Lane): void {
    this.ready.push(lane);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushReady);
    }
  }

  private readonly flushReady = (): void => {
    this.scheduled = false;
    const lanes = this.ready;
    this.ready = [];
    this.batch(() => {
      for (const lane of lanes) this.flush(lane);
    });
  };

  private flush(lane: Lane): void {
    const waiting = lane.waiting;
    const required = waiting[0]!.required;
    // Most often everything waiting goes: no copy then.
    let n = 0;
    let count = 0;
    let bytes = 0;
    while (n < waiting.length) {
      const next = waiting[n]!;
      if (n > 0 && (next.required !== required || count + next.messages.length > MAX_MESSAGES || bytes + next.bytes > MAX_BYTES)) break;
      count += next.messages.length;
      bytes += next.bytes;
      n++;
    }
    const batch = n === waiting.length ? waiting : waiting.slice(0, n);
    lane.waiting = n === waiting.length ? [] : waiting.slice(n);
    let messages: NewMessage[];
    if (batch.length === 1) messages = batch[0]!.messages;
    else {
      messages = [];
      for (const e of batch) for (const m of e.messages) messages.push(m);
    }
    const done = (): void => {
      if (lane.waiting.length > 0) this.schedule(lane);
      else {
        lane.busy = false;
        this.lanes.delete(lane.name);
      }
    };
    let call: Promise<StoredEntry[]>;
    try {
      call = this.run({ ref: lane.ref, required, messages });
    } catch (err) {
      call = Promise.reject(err);
    }
    call.then(
      (stored) => {
        if (batch.length === 1) batch[0]!.resolve(stored);
        else {
          let at = 0;
          for (const entry of batch) {
            entry.resolve(stored.slice(at, at + entry.messages.length));
            at += entry.messages.length;
          }
        }
        done();
      },
      (err: unknown) => {
        for (const entry of batch) entry.reject(err);
        const refusal = lane.waiting.length > 0 ? this.refuseWaiting(err) : undefined;
        if (refusal !== undefined) {
          const waiting = lane.waiting;
          lane.waiting = [];
          for (const entry of waiting) entry.reject(refusal);
        }
        done();
      },
    );
  }
}
