/**
 * HoldlineClient: one logical connection to a Holdline deployment, kept up by ONE reconnect loop
 * (STYLE.md example 7; centrifuge-js, nats.js dialLoop): connect → serve until the link closes →
 * classify the close code (close-codes.ts) → wait a full-jitter backoff → try the next URL. The
 * backoff resets once a connection is up and every subscription has resumed on it. Subscriptions and
 * call-queue views resume on each new connection; requests are matched to replies by id.
 */
import type {
  ClientFrameType,
  HistoryFrame,
  JsonValue,
  MessageFrame,
  PublishMessage,
  PublishedFrame,
  ServerFrame,
  WireMessage,
  WireOffer,
} from '../codec/frames.js';
import type { FrameError } from '../codec/frame-error.js';
import { DEFAULT_MAX_FRAME_BYTES, MAX_PUBLISH_MESSAGES, SUBPROTOCOLS, WS_PATH, type WireFormat } from '../codec/limits.js';
import { Backoff, DEFAULT_BACKOFF, validateBackoff } from './backoff.js';
import { CallQueueView } from './callqueue-view.js';
import { EventTail, type EventTailOptions } from './event-tail.js';
import { classifyClose } from './close-codes.js';
import { TypedEmitter } from './emitter.js';
import { HoldlineClientError, HoldlineRequestError } from './errors.js';
import { CLIENT_CLOSE, Link, type Credentials } from './link.js';
import { PublishBatcher } from './publish-batch.js';
import { PendingRequests, type ReplyTo } from './requests.js';
import type { RequestFrame } from './session.js';
import { Subscription, WHOLE_QUEUE, type SubscribeOptions, type SubscriptionHost } from './subscription.js';
import { resolveWebSocket } from './transport.js';
import type { ClientEvents, ClientState, HoldlineClientOptions, StopReason } from './types.js';

export type HistoryOptions = Omit<HistoryFrame, 'type' | 'id' | 'application' | 'queue'>;

export interface ProcessingState {
  /** Absent: unchanged; null: cleared. At least one of the two. */
  client_state?: string | null;
  client_json?: JsonValue;
  /**
   * Compare-and-set: change only if the message's client_state is this now (`none`: unset); else
   * the request rejects with HoldlineRequestError `state_conflict` (its `currentState` says what it is).
   */
  if_state?: string;
}

/** What `claim` changes: from `from` (default `none`, unset) to `to` (default `processing`). */
export interface ClaimOptions {
  from?: string;
  to?: string;
  /** Set with the claim (e.g. which worker holds it). */
  client_json?: JsonValue;
}

/**
 * The partition a message id names (protocol/messages.md: hex digits 27–28 of the id); null when
 * it is not a message id (32 lowercase hex), which has no partition to name.
 */
function partitionOfId(messageId: string): number | null {
  return typeof messageId === 'string' && /^[0-9a-f]{32}$/.test(messageId) ? Number.parseInt(messageId.slice(26, 28), 16) : null;
}

interface Queued {
  send(generation: number): void;
  fail(err: Error): void;
}

interface Windowed {
  generation: number;
  send(link: Link): void;
  fail(err: Error): void;
}

/**
 * Requests in flight per connection, at most. The server closes a connection with more than
 * `max_pending_frames` requests awaiting replies (websocket.md 7.4, announced in `welcome`); after
 * a reconnect many subscriptions resume at once, so the SDK keeps to half of it, and to this.
 */
const MAX_IN_FLIGHT = 500;

/** The in-flight window for a server's announced `max_pending_frames`. */
export function inFlightWindow(maxPendingFrames: number): number {
  return Math.max(1, Math.min(MAX_IN_FLIGHT, Math.floor(maxPendingFrames / 2)));
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class HoldlineClient extends TypedEmitter<ClientEvents> {
  readonly #urls: string[];
  readonly #format: WireFormat;
  readonly #authFrame: Credentials;
  readonly #requestTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #heartbeatTimeoutMs: number | undefined;
  readonly #opts: HoldlineClientOptions;
  readonly #backoff: Backoff;
  readonly #pending = new PendingRequests(() => this.#pump());
  readonly #outbox = new Set<Queued>();
  /** In-flight requests allowed on the current connection (inFlightWindow). */
  #maxInFlight = MAX_IN_FLIGHT;
  /** Requests waiting for a slot under #maxInFlight, in order. */
  readonly #window: Windowed[] = [];
  /** `application \0 queue` → partition → its subscription (WHOLE_QUEUE: every partition, not known yet). */
  readonly #subs = new Map<string, Map<number, Subscription>>();
  readonly #views = new Map<string, CallQueueView>();
  #tail: EventTail | null = null;
  /** Publishes of one turn, one frame per queue (publish-batch.ts); null: coalescePublishes off. */
  readonly #publishes: PublishBatcher | null;
  #state: ClientState = { status: 'idle' };
  #link: Link | null = null;
  #generation = 0;
  #urlIndex = 0;
  #loop: Promise<void> | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;
  #abortOpen: (() => void) | null = null;
  #reportingError = false;
  #sleepTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: HoldlineClientOptions) {
    super((err) => this.#listenerError(err));
    const urls = typeof options.urls === 'string' ? [options.urls] : [...options.urls];
    if (urls.length === 0) throw new TypeError('urls: at least one URL is required');
    if (options.key !== undefined && options.token !== undefined) throw new TypeError('key and token: give at most one');
    const format = options.format ?? 'json';
    if (!(format in SUBPROTOCOLS)) throw new TypeError(`format must be "json" or "msgpack", got "${String(format)}"`);
    const credentials: Credentials =
      options.key !== undefined ? { key: options.key } : options.token !== undefined ? { token: options.token } : null;
    const inUrl = options.credentialsIn === 'url';
    this.#urls = urls.map((u) => endpoint(u, inUrl ? credentials : null));
    this.#authFrame = inUrl ? null : credentials;
    this.#format = format;
    this.#requestTimeoutMs = positive(options.requestTimeoutMs, 'requestTimeoutMs') ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#connectTimeoutMs = positive(options.connectTimeoutMs, 'connectTimeoutMs') ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#heartbeatTimeoutMs = positive(options.heartbeatTimeoutMs, 'heartbeatTimeoutMs');
    this.#backoff = new Backoff(validateBackoff(options.backoff ?? DEFAULT_BACKOFF));
    this.#opts = options;
    this.#publishes =
      options.coalescePublishes === false
        ? null
        : new PublishBatcher(
            (application, queue, messages) => this.#call({ type: 'publish', application, queue, messages }).then((reply) => reply.messages),
            // Before the first welcome: the protocol's defaults (websocket.md 10).
            () => ({
              maxMessages: this.#link?.welcome.limits.max_publish_messages ?? MAX_PUBLISH_MESSAGES,
              maxFrameBytes: this.#link?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
            }),
          );
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Starts the connection loop (idempotent); resolves once connected, rejects if the client stops first. */
  connect(): Promise<void> {
    this.#start();
    if (this.#state.status === 'connected') return Promise.resolve();
    if (this.#state.status === 'closed') return Promise.reject(closedError(this.#state.reason));
    return new Promise((resolve, reject) => {
      const offs = [
        this.once('connected', () => {
          for (const off of offs) off();
          resolve();
        }),
        this.once('closed', (reason) => {
          for (const off of offs) off();
          reject(closedError(reason));
        }),
      ];
    });
  }

  /** Stops for good: closes the link, cancels the backoff wait, rejects every request; no timer is left. */
  async close(): Promise<void> {
    this.#stop({ by: 'client' });
    await this.#loop;
  }

  // ---------- requests ----------

  /**
   * Appends messages (websocket.md 4.1); resolves with their ids, partitions, seqs and timestamps,
   * in input order. Publishes of one turn share a frame unless `coalescePublishes` is false.
   */
  async publish(
    application: string,
    queue: string,
    messages: PublishMessage | PublishMessage[],
  ): Promise<PublishedFrame['messages']> {
    const list = Array.isArray(messages) ? messages : [messages];
    // An empty list goes alone: the server's answer to it (invalid) is its own.
    if (this.#publishes !== null && list.length > 0) return this.#publishes.publish(application, queue, list);
    const reply = await this.#call({ type: 'publish', application, queue, messages: list });
    return reply.messages;
  }

  /** Reads stored messages with REST's semantics (websocket.md 4.5). */
  async history(
    application: string,
    queue: string,
    options: HistoryOptions = {},
  ): Promise<{ messages: WireMessage[]; truncated: boolean }> {
    const reply = await this.#call({ type: 'history', application, queue, ...options });
    return { messages: reply.messages, truncated: reply.truncated };
  }

  /** Sets or clears a message's processing state (websocket.md 4.6); resolves with the updated message. */
  async setState(
    application: string,
    queue: string,
    partition: number,
    messageId: string,
    state: ProcessingState,
  ): Promise<WireMessage> {
    const reply = await this.#call({ type: 'state.set', application, queue, partition, message_id: messageId, ...state });
    return reply.message;
  }

  /**
   * Claims a message (SPEC.md 3.5): sets its client_state to `to` only if it is `from` now, in one
   * atomic step on the server, so of several consumers racing for it exactly one gets it. Resolves
   * with the claimed message, or null when another consumer got there first (or the message is in
   * another state); other failures reject.
   */
  async claim(application: string, queue: string, messageId: string, options: ClaimOptions = {}): Promise<WireMessage | null> {
    const change: ProcessingState = { client_state: options.to ?? 'processing', if_state: options.from ?? 'none' };
    if (options.client_json !== undefined) change.client_json = options.client_json;
    const partition = partitionOfId(messageId);
    if (partition === null) {
      // The server's answer to a malformed id, rather than one about a partition the caller never gave.
      throw new HoldlineRequestError({ code: 'invalid_message_id', message: 'Message id message_id is malformed', field: 'message_id' }, 'state.set');
    }
    try {
      return await this.setState(application, queue, partition, messageId, change);
    } catch (err) {
      if (err instanceof HoldlineRequestError && err.code === 'state_conflict') return null;
      throw err;
    }
  }

  /**
   * The replies of a message (messages posted `in_reply_to` it, from every partition), in message
   * order; page on with `since` set to the last id seen. Filters of `history` apply too.
   */
  async replies(
    application: string,
    queue: string,
    messageId: string,
    options: Omit<HistoryOptions, 'partitions' | 'in_reply_to'> = {},
  ): Promise<{ messages: WireMessage[]; truncated: boolean }> {
    return this.history(application, queue, { ...options, in_reply_to: messageId });
  }

  /** Answers an offer made to this connection's agent (protocol/routing.md section 7); resolves with the offer. */
  async answerOffer(queueId: string, offerId: string, answer: 'accept' | 'reject'): Promise<WireOffer> {
    const reply =
      answer === 'accept'
        ? await this.#call({ type: 'offer.accept', queue_id: queueId, offer_id: offerId })
        : await this.#call({ type: 'offer.reject', queue_id: queueId, offer_id: offerId });
    return reply.offer;
  }

  /** A round trip to the server; `time` is the server's clock (epoch seconds). */
  async ping(): Promise<{ time: number; roundTripMs: number }> {
    const started = Date.now();
    const reply = await this.#call({ type: 'ping' });
    return { time: reply.time, roundTripMs: Date.now() - started };
  }

  // ---------- subscriptions ----------

  /**
   * Follows partitions of a message queue from a resume point (`after` per partition, or `since`;
   * neither: only messages appended from now on) across reconnects, without gap or duplicate.
   * Without `partitions`: the partitions `after` names; with `since`, every partition of the queue;
   * with neither, partition 1 only (websocket.md 4.2; SubscribeOptions.partitions).
   */
  subscribe(
    application: string,
    queue: string,
    options: SubscribeOptions = {},
    onMessage?: (message: MessageFrame) => void,
  ): Subscription {
    this.#refuseIfStopped();
    const partitions = checkPartitions(options);
    if (onMessage !== undefined && typeof onMessage !== 'function') throw new TypeError('onMessage must be a function');
    const key = queueKey(application, queue);
    const owned = this.#subs.get(key);
    // One subscription per partition: the server would refuse the second (already_subscribed),
    // which the SDK answers with a new connection, forever. "Every partition" overlaps them all.
    const taken = partitions === null ? owned?.keys().next().value : (owned?.has(WHOLE_QUEUE) ? WHOLE_QUEUE : partitions.find((p) => owned?.has(p)));
    if (taken !== undefined) {
      const what = taken === WHOLE_QUEUE ? 'every partition of' : `partition ${taken} of`;
      throw new HoldlineRequestError(
        { code: 'already_subscribed', message: `This client already follows ${what} ${application}/${queue}`, field: `partitions` },
        'subscribe',
      );
    }
    const sub = new Subscription(this.#host, application, queue, partitions, options, this.#opts.batch ?? true);
    const byPartition = owned ?? new Map<number, Subscription>();
    for (const p of partitions ?? [WHOLE_QUEUE]) byPartition.set(p, sub);
    this.#subs.set(key, byPartition);
    sub.on('recovery', (r) => this.emit('recovery', r));
    if (onMessage !== undefined) sub.on('message', onMessage);
    return this.#follow(sub);
  }

  /** A live view of a call queue (websocket.md section 5); one per queue and client. */
  callQueue(queueId: string): CallQueueView {
    this.#refuseIfStopped();
    const existing = this.#views.get(queueId);
    if (existing !== undefined) return existing;
    const view = new CallQueueView(this.#host, queueId);
    this.#views.set(queueId, view);
    return this.#follow(view);
  }

  /**
   * The live tail of the application's event log (websocket.md section 12), filtered by `q`,
   * resuming after `since`; one per client (close it to open another).
   */
  events(options: EventTailOptions = {}): EventTail {
    this.#refuseIfStopped();
    if (this.#tail !== null) throw new Error('This client already has an event tail: close it first');
    const tail = new EventTail(this.#host, options);
    this.#tail = tail;
    return this.#follow(tail);
  }

  /** A stopped client connects no more: a follower made now would wait forever. */
  #refuseIfStopped(): void {
    if (this.#state.status === 'closed') throw closedError(this.#state.reason);
  }

  /** A new follower, already routed to: subscribes now if connected, else on the next connection. */
  #follow<F extends Subscription | CallQueueView | EventTail>(feed: F): F {
    this.#start();
    const generation = this.#currentGeneration();
    if (generation !== null) void feed.activate(generation);
    return feed;
  }

  // ---------- the loop ----------

  #start(): void {
    if (this.#loop !== null || this.#stopped) return;
    this.#loop = this.#run().catch((err: unknown) => {
      this.#listenerError(err);
      this.#stop({ by: 'client' });
    });
  }

  async #run(): Promise<void> {
    const WebSocket = await resolveWebSocket(this.#opts.WebSocket);
    while (!this.#stopped) {
      const url = this.#urls[this.#urlIndex % this.#urls.length] as string;
      const attempt = this.#backoff.attempt;
      this.#setState({ status: 'connecting', url, attempt });
      this.emit('connecting', { url, attempt });
      const generation = this.#generation + 1;
      const attemptInFlight = Link.open({
        WebSocket,
        url,
        format: this.#format,
        authFrame: this.#authFrame,
        connectTimeoutMs: this.#connectTimeoutMs,
        heartbeatTimeoutMs: this.#heartbeatTimeoutMs,
        onFrame: (frame) => this.#dispatch(frame, generation),
        onBadFrame: (err) => this.#badFrame(err, generation),
      });
      this.#abortOpen = attemptInFlight.abort;
      const opened = await attemptInFlight.result;
      this.#abortOpen = null;
      if (this.#stopped) {
        if (opened.ok) opened.link.close(CLIENT_CLOSE.requested, 'client closed');
        break;
      }
      if (!opened.ok) {
        const f = opened.failure;
        if (f instanceof HoldlineRequestError) {
          this.#stop({ by: 'auth', code: f.code, message: f.message });
          break;
        }
        if (f !== 'timeout' && !f.byClient) {
          const decision = classifyClose(f.code, f.reason);
          if (decision.action === 'stop') {
            this.#stop({ by: 'server', code: f.code, reason: f.reason, why: decision.why });
            break;
          }
        }
        const delayMs = this.#backoff.next();
        this.emit('connectFailed', {
          url,
          attempt,
          code: f === 'timeout' ? null : f.code,
          reason: f === 'timeout' ? 'connect timeout' : f.reason,
          delayMs,
        });
        await this.#wait(attempt + 1, delayMs);
        continue;
      }

      const link = opened.link;
      this.#generation = generation;
      this.#link = link;
      this.#connected(link, url, generation);
      const closed = await link.closed;
      this.#disconnected();
      if (this.#stopped) break;
      const decision = closed.byClient ? { action: 'retry' as const } : classifyClose(closed.code, closed.reason);
      this.emit('disconnected', { url, ...closed, willReconnect: decision.action === 'retry' });
      if (decision.action === 'stop') {
        this.#stop({ by: 'server', code: closed.code, reason: closed.reason, why: decision.why });
        break;
      }
      await this.#wait(this.#backoff.attempt + 1, this.#backoff.next());
    }
  }

  #connected(link: Link, url: string, generation: number): void {
    // A server that does not announce it has the protocol's default (websocket.md 10).
    this.#maxInFlight = inFlightWindow(link.welcome.limits.max_pending_frames ?? 1000);
    this.#setState({ status: 'connected', url, connectionId: link.welcome.connection_id, principal: link.principal });
    this.emit('connected', { url, connectionId: link.welcome.connection_id, principal: link.principal, welcome: link.welcome });
    const resumes = this.#feeds().map((feed) => feed.activate(generation));
    const queued = [...this.#outbox];
    this.#outbox.clear();
    for (const q of queued) q.send(generation);
    // "Reset after a successful connection": successful means resumed too, so a server that
    // accepts connections but fails every resubscribe is retried with a growing delay.
    void Promise.all(resumes).then(() => {
      if (this.#isCurrent(generation)) this.#backoff.reset();
    });
  }

  #disconnected(): void {
    this.#link = null;
    const lost = new HoldlineClientError('disconnected', 'the connection was lost before the reply');
    for (const w of this.#window.splice(0)) w.fail(lost);
    this.#pending.rejectAll(lost);
    for (const feed of this.#feeds()) feed.onDisconnect();
  }

  /** The backoff wait; close() cuts it short. Rotates to the next URL. */
  async #wait(attempt: number, delayMs: number): Promise<void> {
    this.#urlIndex++;
    if (this.#stopped) return;
    this.#setState({ status: 'waiting', attempt, delayMs });
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = setTimeout(resolve, delayMs);
    });
    this.#wake = null;
    this.#sleepTimer = undefined;
  }

  #stop(reason: StopReason): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#sleepTimer);
    this.#wake?.();
    this.#abortOpen?.();
    this.#link?.close(CLIENT_CLOSE.requested, 'client closed');
    const err = closedError(reason);
    for (const w of this.#window.splice(0)) w.fail(err);
    this.#pending.rejectAll(err);
    for (const q of [...this.#outbox]) q.fail(err);
    this.#outbox.clear();
    this.#setState({ status: 'closed', reason });
    this.emit('closed', reason);
    for (const feed of this.#feeds()) feed.onClientStopped(err);
  }

  #setState(state: ClientState): void {
    this.#state = state;
    this.emit('state', state);
  }

  // ---------- frames ----------

  #dispatch(frame: ServerFrame, generation: number): void {
    if (generation !== this.#generation) return;
    try {
      if ('id' in frame && frame.id !== undefined && this.#pending.settle(frame)) return;
      switch (frame.type) {
        case 'message':
          this.#subs.get(queueKey(frame.application, frame.queue))?.get(frame.partition)?.onMessage(frame, generation);
          return;
        case 'messages':
          this.#subs.get(queueKey(frame.application, frame.queue))?.get(frame.partition)?.onMessages(frame, generation);
          return;
        case 'resync':
          this.#subs.get(queueKey(frame.application, frame.queue))?.get(frame.partition)?.onResync(frame);
          this.emit('resync', frame);
          return;
        case 'unsubscribed': {
          if (frame.id !== undefined) return; // a reply we no longer wait for
          const owners = new Set(frame.partitions.map((p) => this.#subs.get(queueKey(frame.application, frame.queue))?.get(p)));
          for (const sub of owners) sub?.onServerUnsubscribed(frame);
          return;
        }
        case 'callqueue.snapshot':
          this.#views.get(frame.queue_id)?.onSnapshot(frame);
          return;
        case 'callqueue.update':
          this.#views.get(frame.queue_id)?.onUpdate(frame, generation);
          return;
        case 'callqueue.stats':
          this.#views.get(frame.queue_id)?.onWallboard(frame);
          return;
        case 'callqueue.unsubscribed':
          if (frame.id === undefined) this.#views.get(frame.queue_id)?.onServerUnsubscribed(frame);
          return;
        case 'event':
          this.#tail?.onEvent(frame);
          return;
        case 'events.unsubscribed':
          if (frame.id === undefined) this.#tail?.onServerUnsubscribed(frame, generation);
          return;
        case 'offer':
          this.emit('offer', frame);
          return;
        case 'offer.revoked':
          this.emit('offerRevoked', frame);
          return;
        case 'error':
          this.emit('error', new HoldlineRequestError(frame.error, frame.op));
          return;
        default:
          return; // heartbeat, pong to our idle ping, late replies: nothing to do
      }
    } catch (err) {
      this.#listenerError(err);
    }
  }

  #badFrame(err: FrameError, generation: number): void {
    if (generation !== this.#generation) return;
    // A frame type from a newer server: ignored, as protocol/README.md "Versioning" requires.
    if (err.code === 'unknown_frame_type') return;
    const error = new HoldlineClientError('protocol', `unreadable frame from the server: ${err.code} ${err.field ?? ''}`.trim());
    if (err.id !== undefined && this.#pending.fail(err.id, error)) return;
    this.emit('error', error);
  }

  // ---------- requests, internal ----------

  #call<K extends ClientFrameType>(frame: RequestFrame<K>): Promise<ReplyTo<K>> {
    this.#publishes?.flush(); // publishes asked for earlier leave first
    this.#start();
    if (this.#stopped) return Promise.reject(closedError(this.#state.status === 'closed' ? this.#state.reason : { by: 'client' }));
    const generation = this.#currentGeneration();
    if (generation !== null) return this.#send(generation, frame, undefined, this.#requestTimeoutMs);
    // Offline: the request waits for the next connection, its timeout already running.
    const deadline = Date.now() + this.#requestTimeoutMs;
    return new Promise<ReplyTo<K>>((resolve, reject) => {
      const entry: Queued = {
        send: (gen) => {
          clearTimeout(timer);
          this.#send(gen, frame, undefined, Math.max(1, deadline - Date.now())).then(resolve, reject);
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.#outbox.delete(entry);
        reject(new HoldlineClientError('timeout', `not connected within ${this.#requestTimeoutMs} ms`));
      }, this.#requestTimeoutMs);
      this.#outbox.add(entry);
    });
  }

  /** Every request goes through the window: sent at once while it has room, else in turn (#pump). */
  #send<K extends ClientFrameType>(
    generation: number,
    frame: RequestFrame<K>,
    onReply: ((reply: ReplyTo<K>) => void) | undefined,
    timeoutMs: number,
  ): Promise<ReplyTo<K>> {
    if (!this.#isCurrent(generation)) return Promise.reject(new HoldlineClientError('disconnected', 'not connected'));
    return new Promise<ReplyTo<K>>((resolve, reject) => {
      this.#window.push({ generation, send: (link) => this.#transmit(link, frame, onReply, timeoutMs).then(resolve, reject), fail: reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#window.length > 0 && this.#pending.size < this.#maxInFlight) {
      const w = this.#window.shift() as Windowed;
      if (this.#isCurrent(w.generation)) w.send(this.#link as Link);
      else w.fail(new HoldlineClientError('disconnected', 'not connected'));
    }
  }

  #transmit<K extends ClientFrameType>(link: Link, frame: RequestFrame<K>, onReply: ((reply: ReplyTo<K>) => void) | undefined, timeoutMs: number): Promise<ReplyTo<K>> {
    const { id, reply } = this.#pending.add(frame.type as K, timeoutMs, onReply);
    try {
      link.send({ ...frame, id } as Parameters<Link['send']>[0]);
    } catch (err) {
      this.#pending.fail(id, err instanceof Error ? err : new HoldlineClientError('disconnected', String(err)));
    }
    return reply;
  }

  #isCurrent(generation: number): boolean {
    return generation === this.#generation && this.#link !== null && this.#link.open;
  }

  #currentGeneration(): number | null {
    return this.#link?.open ? this.#generation : null;
  }

  /** Every follower of a feed, to resume on each new connection: subscriptions, views, the event tail. */
  #feeds(): Array<Subscription | CallQueueView | EventTail> {
    const subs = new Set<Subscription>();
    for (const byPartition of this.#subs.values()) for (const sub of byPartition.values()) subs.add(sub);
    return [...subs, ...this.#views.values(), ...(this.#tail === null ? [] : [this.#tail])];
  }

  /** To the `error` listeners; when there are none, or one of them throws, out of the SDK's stack. */
  #listenerError(err: unknown): void {
    if (!this.#reportingError && this.listenerCount('error') > 0 && err instanceof Error) {
      this.#reportingError = true;
      try {
        this.emit('error', err);
      } finally {
        this.#reportingError = false;
      }
      return;
    }
    queueMicrotask(() => {
      throw err;
    });
  }

  /** What subscriptions and views may use; kept off the public surface. */
  readonly #host: SubscriptionHost & { forgetView(view: CallQueueView): void; forgetTail(tail: EventTail): void } = {
    isCurrent: (generation) => this.#isCurrent(generation),
    currentGeneration: () => this.#currentGeneration(),
    request: (generation, frame, onReply) => {
      this.#publishes?.flush();
      return this.#send(generation, frame, onReply, this.#requestTimeoutMs);
    },
    recycle: (generation, reason) => {
      if (this.#isCurrent(generation)) this.#link?.close(CLIENT_CLOSE.recycle, reason);
    },
    listenerError: (err) => this.#listenerError(err),
    claimPartitions: (sub, partitions) => {
      const byPartition = this.#subs.get(queueKey(sub.application, sub.queue));
      if (byPartition === undefined) return;
      for (const p of partitions) byPartition.set(p, sub);
      if (byPartition.get(WHOLE_QUEUE) === sub) byPartition.delete(WHOLE_QUEUE);
    },
    forgetPartitions: (sub, partitions) => {
      const key = queueKey(sub.application, sub.queue);
      const byPartition = this.#subs.get(key);
      if (byPartition === undefined) return;
      for (const p of partitions) if (byPartition.get(p) === sub) byPartition.delete(p);
      if (byPartition.size === 0) this.#subs.delete(key);
    },
    forgetView: (view) => {
      if (this.#views.get(view.queueId) === view) this.#views.delete(view.queueId);
    },
    forgetTail: (tail) => {
      if (this.#tail === tail) this.#tail = null;
    },
  };
}

function queueKey(application: string, queue: string): string {
  return `${application}\u0000${queue}`;
}

/**
 * The partitions to follow; null: every partition of the queue, which the server names in its reply.
 * Without `partitions`, the protocol's default (websocket.md 4.2): the keys of `after` when it has
 * any, else every partition with `since`, else partition 1.
 */
function checkPartitions(options: SubscribeOptions): number[] | null {
  // subscribe(app, queue, onMessage) from plain JavaScript would follow partition 1 and drop every message.
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object: subscribe(application, queue, options, onMessage)');
  }
  if (options.after !== undefined && options.since !== undefined) throw new TypeError('after and since: give at most one');
  const afterKeys = Object.keys(options.after ?? {});
  if (options.partitions === undefined && afterKeys.length === 0 && options.since !== undefined) return null;
  const partitions = options.partitions ?? (afterKeys.length > 0 ? afterKeys.map(Number) : [1]);
  const named = options.partitions !== undefined ? 'partitions' : 'after';
  if (partitions.length === 0) throw new TypeError('partitions: at least one');
  for (const [i, p] of partitions.entries()) {
    if (!Number.isInteger(p) || p < 1) throw new TypeError(`${named}: ${named === 'after' ? afterKeys[i] : p} is not a partition number`);
  }
  if (new Set(partitions).size !== partitions.length) throw new TypeError(`${named}: listed twice`);
  for (const key of afterKeys) {
    if (!partitions.includes(Number(key))) throw new TypeError(`after: partition ${key} is not in partitions`);
  }
  return [...partitions];
}

function endpoint(url: string, credentials: Credentials): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  // Any other scheme fails every attempt alike: the loop would retry it forever without a word.
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`urls: ${url} is not a ws:, wss:, http: or https: URL`);
  if (u.pathname === '' || u.pathname === '/') u.pathname = WS_PATH;
  if (credentials !== null) {
    if ('key' in credentials) u.searchParams.set('key', credentials.key);
    else u.searchParams.set('token', credentials.token);
  }
  return u.toString();
}

function positive(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of ms, got ${value}`);
  return value;
}

function closedError(reason: StopReason): HoldlineClientError {
  const why =
    reason.by === 'client'
      ? 'the client was closed'
      : reason.by === 'auth'
        ? `authentication refused: ${reason.code}`
        : `the server closed the connection for good: ${reason.code} ${reason.reason}`;
  return new HoldlineClientError('closed', why);
}
