/**
 * One WebSocket connection, from the handshake to its close: open, `welcome`, optional `auth`
 * (protocol/websocket.md sections 1, 2), then frames in and out, and dead-link detection (section 6).
 * A Link never reconnects; the client's loop makes a new one.
 */
import { decodeServerFrame } from '../codec/decode.js';
import { encodeClientFrame } from '../codec/encode.js';
import type { FrameError } from '../codec/frame-error.js';
import type { ClientFrame, Principal, ServerFrame, WelcomeFrame } from '../codec/frames.js';
import { DEAD_LINK_GRACE_MS, SUBPROTOCOLS, isRetryableClose, type WireFormat } from '../codec/limits.js';
import { ERRORS } from '../errors.js';
import { utf8Length } from '../codec/bytes.js';
import { HoldlineRequestError } from './errors.js';
import { WS_OPEN, type WebSocketConstructor, type WebSocketLike } from './transport.js';

export type Credentials = { key: string } | { token: string } | null;

export interface LinkOptions {
  WebSocket: WebSocketConstructor;
  url: string;
  format: WireFormat;
  /** Sent in an `auth` frame (null: none, or already in the URL). */
  authFrame: Credentials;
  /** Open + welcome + auth must finish within this. */
  connectTimeoutMs: number;
  /** Overrides welcome.heartbeat_ms + 10 s. */
  heartbeatTimeoutMs: number | undefined;
  onFrame(frame: ServerFrame): void;
  onBadFrame(error: FrameError): void;
}

export interface LinkClose {
  code: number;
  reason: string;
  /** The SDK closed it (close(), dead link): the server's close-code table does not apply. */
  byClient: boolean;
}

export type OpenResult =
  | { ok: true; link: Link }
  | { ok: false; failure: LinkClose }
  | { ok: false; failure: 'timeout' }
  /** The server refused the credentials of the `auth` frame: final until the application brings new ones. */
  | { ok: false; failure: HoldlineRequestError };

/** Close codes the SDK reports for its own closes (not sent by servers). */
export const CLIENT_CLOSE = { deadLink: 4000, requested: 1000, recycle: 4001 } as const;

const AUTH_ID = 'auth';

export class Link {
  readonly #ws: WebSocketLike;
  readonly #opts: LinkOptions;
  readonly welcome: WelcomeFrame;
  principal: Principal;
  readonly closed: Promise<LinkClose>;
  #resolveClosed!: (c: LinkClose) => void;
  #done = false;
  #lastReceived = Date.now();
  #pinged = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #deadAfterMs: number;

  private constructor(ws: WebSocketLike, opts: LinkOptions, welcome: WelcomeFrame, principal: Principal) {
    this.#ws = ws;
    this.#opts = opts;
    this.welcome = welcome;
    this.principal = principal;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#deadAfterMs = opts.heartbeatTimeoutMs ?? welcome.heartbeat_ms + DEAD_LINK_GRACE_MS;
    ws.onmessage = (ev) => this.#receive(ev.data);
    ws.onclose = (ev) => this.#finish({ code: ev.code, reason: ev.reason, byClient: false });
    ws.onerror = () => {}; // a close event follows every error event; it carries the code
    this.#arm(this.#deadAfterMs / 2);
  }

  get open(): boolean {
    return !this.#done && this.#ws.readyState === WS_OPEN;
  }

  get maxFrameBytes(): number {
    return this.welcome.limits.max_frame_bytes;
  }

  /** Encodes and sends; refuses a frame over the server's limit (it would close with 1009). */
  send(frame: ClientFrame): void {
    const data = encodeClientFrame(frame, this.#opts.format);
    const size = typeof data === 'string' ? utf8Length(data) : data.byteLength;
    if (size > this.maxFrameBytes) {
      throw new HoldlineRequestError(
        { code: 'frame_too_large', message: `The frame is ${size} bytes, over the server's ${this.maxFrameBytes}` },
        frame.type,
      );
    }
    this.#ws.send(data);
  }

  /** Closes from this side; `closed` resolves at once, whatever the server does next. */
  close(code: number, reason: string): void {
    if (this.#done) return;
    detach(this.#ws);
    try {
      if (code === CLIENT_CLOSE.deadLink && this.#ws.terminate !== undefined) this.#ws.terminate();
      else this.#ws.close(code, reason);
    } catch {
      // Already closing: nothing more to do.
    }
    this.#finish({ code, reason, byClient: true });
  }

  #finish(c: LinkClose): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    detach(this.#ws);
    this.#resolveClosed(c);
  }

  #receive(data: unknown): void {
    if (this.#done) return;
    this.#lastReceived = Date.now();
    this.#pinged = false;
    const decoded = decodeServerFrame(data as string | ArrayBuffer | Uint8Array, this.#opts.format);
    if (decoded.ok) this.#opts.onFrame(decoded.frame);
    else this.#opts.onBadFrame(decoded.error);
  }

  /**
   * Dead-link detection (websocket.md 6): nothing received for the deadline → close, and the loop
   * reconnects. Halfway there the SDK sends a `ping` (without id: its pong needs no matching), so a
   * live server always answers in time even when the deadline is shorter than its heartbeat.
   * One timer, re-armed lazily from the time of the last frame rather than on every frame.
   */
  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => this.#check(), Math.max(1, delayMs));
  }

  #check(): void {
    if (this.#done) return;
    const idle = Date.now() - this.#lastReceived;
    const pingAt = this.#deadAfterMs / 2;
    if (idle >= this.#deadAfterMs) {
      this.close(CLIENT_CLOSE.deadLink, 'dead_link');
      return;
    }
    if (idle >= pingAt && !this.#pinged) {
      this.#pinged = true;
      try {
        this.send({ type: 'ping' });
      } catch {
        // The socket is closing; its close event ends the link.
      }
    }
    this.#arm(idle >= pingAt ? this.#deadAfterMs - idle : pingAt - idle);
  }

  /**
   * Opens a socket and completes the handshake: `welcome`, then `authenticated` when auth is sent.
   * `abort()` ends an attempt in flight at once (client.close() must not wait for connectTimeoutMs).
   */
  static open(opts: LinkOptions): { result: Promise<OpenResult>; abort(): void } {
    let abort = (): void => {};
    const result = new Promise<OpenResult>((resolve) => {
      let ws: WebSocketLike;
      try {
        ws = new opts.WebSocket(opts.url, [SUBPROTOCOLS[opts.format]]);
      } catch (err) {
        resolve({ ok: false, failure: { code: 1006, reason: err instanceof Error ? err.message : String(err), byClient: false } });
        return;
      }
      ws.binaryType = 'arraybuffer';
      let settled = false;
      let welcome: WelcomeFrame | undefined;
      const settle = (r: OpenResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!r.ok) {
          detach(ws);
          try {
            if (ws.terminate !== undefined) ws.terminate();
            else ws.close(CLIENT_CLOSE.requested, 'handshake failed');
          } catch {
            // closing already
          }
        }
        resolve(r);
      };
      const timer = setTimeout(() => settle({ ok: false, failure: 'timeout' }), opts.connectTimeoutMs);
      abort = () => settle({ ok: false, failure: { code: CLIENT_CLOSE.requested, reason: 'client closed', byClient: true } });
      const done = (principal: Principal): void => {
        if (settled || welcome === undefined) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ok: true, link: new Link(ws, opts, welcome, principal) });
      };
      ws.onopen = () => {};
      ws.onerror = () => {};
      ws.onclose = (ev) => settle({ ok: false, failure: { code: ev.code, reason: ev.reason, byClient: false } });
      ws.onmessage = (ev) => {
        const decoded = decodeServerFrame(ev.data as string | ArrayBuffer | Uint8Array, opts.format);
        if (!decoded.ok) return; // a newer server's frame, or garbage: the handshake waits for its frames
        const frame = decoded.frame;
        if (frame.type === 'welcome' && welcome === undefined) {
          welcome = frame;
          if (opts.authFrame === null) {
            done(frame.principal);
            return;
          }
          try {
            const data = encodeClientFrame({ type: 'auth', id: AUTH_ID, ...opts.authFrame }, opts.format);
            ws.send(data);
          } catch (err) {
            settle({ ok: false, failure: { code: 1006, reason: String(err), byClient: false } });
          }
        } else if (frame.type === 'authenticated' && frame.id === AUTH_ID) {
          done(frame.principal);
        } else if (frame.type === 'error' && frame.id === AUTH_ID) {
          // websocket.md 2: refused credentials are final (4401 follows), but a store that cannot
          // check them now is not (engine_unavailable, 1013 follows): the loop retries that one.
          const close = (ERRORS as Record<string, { close: number | null } | undefined>)[frame.error.code]?.close ?? null;
          if (close !== null && isRetryableClose(close)) settle({ ok: false, failure: { code: close, reason: frame.error.code, byClient: false } });
          else settle({ ok: false, failure: new HoldlineRequestError(frame.error, 'auth') });
        }
      };
    });
    return { result, abort: () => abort() };
  }
}

/**
 * No-ops rather than null: `ws` emits 'error' on an EventEmitter, and an 'error' without a listener
 * would throw out of the process when a detached socket fails later (e.g. closed while connecting).
 */
function detach(ws: WebSocketLike): void {
  const ignore = (): void => {};
  ws.onopen = ignore;
  ws.onmessage = ignore;
  ws.onclose = ignore;
  ws.onerror = ignore;
}
