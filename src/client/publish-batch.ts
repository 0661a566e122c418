/**
 * Publishes of one turn share frames (HoldlineClientOptions.coalescePublishes): every `publish()`
 * call made before the SDK's next microtask runs joins one `publish` frame per application and
 * queue, the messages in call order, at most `max_publish_messages` per frame and, by an estimate
 * of their size, within `max_frame_bytes` (welcome.limits). One frame costs the server one
 * validation, one append and one reply instead of one per call.
 *
 * Each caller still gets its own answer: the `published` reply lists results in input order, so
 * each call takes its slice. The server validates a whole frame before storing anything
 * (websocket.md 4.1), so one caller's bad message would fail its neighbours too: when a frame of
 * several calls is refused with a 4xx error (nothing stored; also the SDK's own frame_too_large
 * when the estimate fell short), each of its calls is sent again in a frame of its own, in call
 * order, and gets exactly the answer it would have got alone (field names like `messages[0].body`
 * count from its own first message). Any other failure (`not_confirmed`, `engine_unavailable`, a
 * timeout, a lost connection: the outcome is unknown, a retry might store twice) goes to every call
 * of the frame, as it would have gone to each alone.
 */
import { utf8Length } from '../codec/bytes.js';
import type { PublishMessage, PublishedFrame } from '../codec/frames.js';
import { ERRORS } from '../errors.js';
import { HoldlineRequestError } from './errors.js';

export type PublishResults = PublishedFrame['messages'];

/** Sends one `publish` frame; resolves with its reply's messages. */
export type SendPublish = (application: string, queue: string, messages: PublishMessage[]) => Promise<PublishResults>;

interface Call {
  messages: PublishMessage[];
  resolve(results: PublishResults): void;
  reject(err: unknown): void;
}

interface Group {
  application: string;
  queue: string;
  calls: Call[];
}

export class PublishBatcher {
  /** `application \0 queue` → the calls waiting for the flush, in call order. */
  #groups = new Map<string, Group>();
  #scheduled = false;

  constructor(
    private readonly send: SendPublish,
    /** The server's `max_publish_messages` and `max_frame_bytes`. */
    private readonly limits: () => { maxMessages: number; maxFrameBytes: number },
  ) {}

  publish(application: string, queue: string, messages: PublishMessage[]): Promise<PublishResults> {
    return new Promise((resolve, reject) => {
      const key = `${application}\u0000${queue}`;
      let group = this.#groups.get(key);
      if (group === undefined) {
        group = { application, queue, calls: [] };
        this.#groups.set(key, group);
      }
      group.calls.push({ messages, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /**
   * Sends everything waiting. The client calls it before sending any other request too, so frames
   * leave in the order the application asked for them.
   */
  flush(): void {
    this.#scheduled = false;
    if (this.#groups.size === 0) return;
    const groups = [...this.#groups.values()];
    this.#groups = new Map();
    const { maxMessages, maxFrameBytes } = this.limits();
    for (const { application, queue, calls } of groups) {
      let frame: Call[] = [];
      let count = 0;
      let bytes = frameOverhead(application, queue);
      for (const call of calls) {
        const callBytes = call.messages.reduce((n, m) => n + estimate(m), 0);
        if (frame.length > 0 && (count + call.messages.length > maxMessages || bytes + callBytes > maxFrameBytes)) {
          this.#sendFrame(application, queue, frame);
          frame = [];
          count = 0;
          bytes = frameOverhead(application, queue);
        }
        frame.push(call);
        count += call.messages.length;
        bytes += callBytes;
      }
      this.#sendFrame(application, queue, frame);
    }
  }

  #sendFrame(application: string, queue: string, calls: Call[]): void {
    const [only] = calls;
    if (calls.length === 1 && only !== undefined) {
      this.send(application, queue, only.messages).then(only.resolve, only.reject);
      return;
    }
    this.send(application, queue, calls.flatMap((c) => c.messages)).then(
      (results) => {
        let at = 0;
        for (const c of calls) {
          c.resolve(results.slice(at, at + c.messages.length));
          at += c.messages.length;
        }
      },
      (err: unknown) => {
        // Sent one after the other on one connection: stored in call order (websocket.md 3.1).
        if (refusedWhole(err)) for (const c of calls) this.#sendFrame(application, queue, [c]);
        else for (const c of calls) c.reject(err);
      },
    );
  }
}

/** A 4xx answer (or the SDK's own frame_too_large): the frame was refused whole, nothing stored. */
function refusedWhole(err: unknown): boolean {
  if (!(err instanceof HoldlineRequestError)) return false;
  const spec = (ERRORS as Record<string, { status: number } | undefined>)[err.code];
  return spec !== undefined && spec.status >= 400 && spec.status < 500;
}

/** Bytes of a `publish` frame besides its messages, with room to spare. */
const FRAME_OVERHEAD = 96;

/**
 * The estimates below run in a microtask, where a throw would end the process and leave the calls
 * unsettled: they take whatever a caller without types passed (a string for a message, no body, no
 * queue) and count it as small, so the frame is sent and the server names what is wrong
 * (`invalid_field`, `missing_field`), as it does for a call sent alone.
 */
function frameOverhead(application: unknown, queue: unknown): number {
  return FRAME_OVERHEAD + textLength(application) + textLength(queue);
}

/**
 * A message's share of a frame, from above for the usual bodies: binary bodies travel as base64 in
 * JSON (4/3), the fields and their names take the rest. Text full of characters that JSON escapes
 * can exceed it; such a frame is refused before sending and its calls go alone.
 */
function estimate(m: PublishMessage): number {
  const { body, content_type, in_reply_to } = (typeof m === 'object' && m !== null ? m : {}) as Partial<PublishMessage>;
  const bodyBytes = typeof body === 'string' ? utf8Length(body) : body instanceof Uint8Array ? Math.ceil((body.byteLength * 4) / 3) : 0;
  return bodyBytes + 96 + textLength(content_type) + textLength(in_reply_to);
}

function textLength(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}
