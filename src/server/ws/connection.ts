/**
 * Per-socket state, kept in uWS's typed getUserData() (STYLE.md example 5). uWS copies the object
 * given to upgrade(), so the user data holds a reference to one Connection that everything shares.
 *
 * A Connection never throws into uWS: every WebSocket call on it goes through methods that check
 * `closed` first (uWS throws on a closed socket) and swallow what a dying socket may still throw.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'uWebSockets.js';
import type { Principal, SubscriptionEndReason, WireFormat } from '../../codec/index.js';
import type { ErrorCode } from '../../errors.js';
import type { WebSocketLimits } from './options.js';
import type { PartitionSubscription } from './subscription.js';

/** What a client authenticates with: an application key or an agent token (auth.ts). */
export type Credentials = { key: string } | { token: string };

export interface SocketData {
  conn: Connection;
}

export type Socket = WebSocket<SocketData>;

/** A subscription that is not a message partition (call queues: callqueue-subscription.ts). */
export interface SideSubscription {
  /** Out of live delivery because of the send buffer (websocket.md 7.2), waiting to resume. */
  readonly lagging: boolean;
  /** Date.now() of the last live frame put on its topic (heartbeats count it as traffic); 0: none. */
  readonly lastLiveAt: number;
  /** The buffer passed the soft limit: stop live delivery. */
  pause(): void;
  /** The buffer drained: resume where it stopped (7.3). */
  resume(): void;
}

/** What a pipelined frame's handler orders itself by (Connection.enqueue). */
export interface FrameOrder {
  /** Resolves when every earlier frame of the connection has submitted its ordered work. */
  readonly turn: Promise<void>;
  /** Call right after submitting this frame's ordered work (e.g. engine.append): later frames go. */
  readonly started: () => void;
}

function noop(): void {}

export interface CloseInfo {
  code: number;
  reason: string;
}

export class Connection {
  readonly id = randomBytes(8).toString('hex');
  readonly openedAt = Date.now();
  principal: Principal;
  /** URL credentials were refused: open() closes with 4401 and this reason, before any frame. */
  readonly refused: ErrorCode | null;
  /** URL credentials, checked right after open(), before any frame (upgrade.ts). */
  readonly credentials: Credentials | null;
  /** The credentials the principal was established with (URL or `auth` frame); null: anonymous. */
  authCredentials: Credentials | null = null;
  /** Fires when the agent token expires: close 4401 token_expired (auth.ts armExpiry). */
  credentialTimer: NodeJS.Timeout | undefined;
  /** Credentials being checked (auth.ts authenticateConnection). */
  authenticating = false;
  /** A credential change was announced while they were: check them once more before accepting. */
  credentialsQuestioned = false;
  /** Opened without credentials and nothing received yet: the first frame may be `auth`. */
  awaitingFirstFrame: boolean;
  ws: Socket | null = null;
  closed = false;
  closeInfo: CloseInfo | null = null;

  /** Message-queue subscriptions by partition key (subscription.ts partitionKey). */
  readonly subs = new Map<string, PartitionSubscription>();
  /**
   * Other subscriptions (call queues), by a key of their choosing: counted against
   * max_subscriptions, paused and resumed by the backpressure sampler (monitor.ts).
   */
  readonly otherSubscriptions = new Map<string, SideSubscription>();
  /**
   * Subscriptions whose `subscribed` reply is not written yet (handlers/subscriptions.ts). A queue
   * change that ends one of them (watch.ts) records its reason in `pendingEndings` instead; the
   * subscribe handler ends it right after the reply, so `unsubscribed` never precedes `subscribed`.
   */
  readonly pendingSubs = new Set<PartitionSubscription>();
  readonly pendingEndings = new Map<PartitionSubscription, SubscriptionEndReason>();

  /**
   * Frame ordering (websocket.md 3.1 "Order"). A barrier frame starts once every earlier frame has
   * completed; a pipelined frame starts once the last barrier has completed, and gets `turn`, which
   * resolves when every earlier frame has submitted its ordered work (FrameOrder in handlers/types.ts).
   */
  private barrierDone: Promise<void> = Promise.resolve();
  private allDone: Promise<void> = Promise.resolve();
  private turn: Promise<void> = Promise.resolve();
  pendingFrames = 0;
  /** Date.now() of the last frame written through send.ts. */
  lastSendAt = Date.now();
  /** Date.now() since which the send buffer is above the soft limit (0: not above). */
  overLimitSince = 0;
  /** Subscribed to its private anchor topic (joinTopic). */
  private anchored = false;
  readonly drainWaiters: Array<(open: boolean) => void> = [];
  authTimer: NodeJS.Timeout | undefined;
  private readonly closeHooks: Array<(info: CloseInfo) => void> = [];

  constructor(
    readonly format: WireFormat,
    readonly limits: WebSocketLimits,
    principal: Principal,
    opts: { refused?: ErrorCode; credentials?: Credentials; awaitingFirstFrame?: boolean } = {},
  ) {
    this.principal = principal;
    this.refused = opts.refused ?? null;
    this.credentials = opts.credentials ?? null;
    this.awaitingFirstFrame = opts.awaitingFirstFrame ?? false;
  }

  /** The application whose key this connection presented; null for agents and anonymous. */
  get application(): string | null {
    return this.principal.kind === 'application' ? this.principal.application : null;
  }

  get subscriptionCount(): number {
    return this.subs.size + this.otherSubscriptions.size;
  }

  get isBinary(): boolean {
    return this.format === 'msgpack';
  }

  /** Bytes waiting in uWS's buffer for this socket; 0 once closed. */
  /**
   * Joins a live topic; false when the socket is closed (or closes under us). The first join also
   * subscribes the connection's private anchor topic, which it never leaves: uWS frees a socket's
   * topic state when it leaves its last topic, discarding frames published to it but not yet
   * written, so leaving live delivery would otherwise lose what the hub already published to it.
   */
  joinTopic(topic: string): boolean {
    if (this.closed || this.ws === null) return false;
    try {
      if (!this.anchored) {
        this.ws.subscribe(`hl/c/${this.id}`);
        this.anchored = true;
      }
      this.ws.subscribe(topic);
      return true;
    } catch {
      return false; // closed under us
    }
  }

  buffered(): number {
    if (this.closed || this.ws === null) return 0;
    try {
      return this.ws.getBufferedAmount();
    } catch {
      return 0;
    }
  }

  /**
   * Runs `task` in arrival order: a barrier after every earlier frame's task has completed, a
   * pipelined one as soon as the last barrier has (see the fields above). A task must not reject
   * (the caller catches).
   */
  enqueue(task: (order: FrameOrder) => Promise<void>, pipelined: boolean): void {
    this.pendingFrames++;
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    const order: FrameOrder = { turn: this.turn, started: markStarted };
    const done = (pipelined ? this.barrierDone : this.allDone)
      .then(() => task(order))
      .finally(() => {
        markStarted();
        this.pendingFrames--;
      });
    // A frame that fails before its turn must not let later frames overtake the earlier ones.
    const previousTurn = this.turn;
    this.turn = previousTurn.then(() => started);
    this.allDone = Promise.all([this.allDone, done]).then(noop);
    if (!pipelined) this.barrierDone = done;
  }

  /** Resolves once every frame received so far has been handled (answered, or failed). */
  settled(): Promise<void> {
    return this.allDone;
  }

  /** Sends a close frame with `code` and `reason`; uWS runs the close handler at once. */
  close(code: number, reason: string): void {
    if (this.closed || this.ws === null) return;
    try {
      this.ws.end(code, reason);
    } catch {
      // Already closing inside uWS: the close handler has run or will run.
    }
  }

  /** Drops the TCP connection without a close frame (seen as 1006). */
  terminate(): void {
    if (this.closed || this.ws === null) return;
    try {
      this.ws.close();
    } catch {
      // idem
    }
  }

  /** Hooks run once when the socket closes (subscriptions release their resources here). */
  onClose(fn: (info: CloseInfo) => void): void {
    if (this.closed && this.closeInfo !== null) fn(this.closeInfo);
    else this.closeHooks.push(fn);
  }

  /** Called by the uWS close handler only. */
  markClosed(info: CloseInfo): Array<(info: CloseInfo) => void> {
    this.closed = true;
    this.closeInfo = info;
    if (this.authTimer !== undefined) clearTimeout(this.authTimer);
    if (this.credentialTimer !== undefined) clearTimeout(this.credentialTimer);
    for (const wake of this.drainWaiters.splice(0)) wake(false);
    return this.closeHooks.splice(0);
  }
}
