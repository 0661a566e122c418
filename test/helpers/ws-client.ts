/**
 * A tiny raw WebSocket test client over `ws` (not the SDK: tests of the server must see every frame
 * and close code exactly as sent). Frames are encoded and decoded with the codec; every received
 * frame is kept in `frames`, and waits look for a frame matching a predicate from a cursor on, so
 * a test can await "the next message" without racing the socket.
 *
 * Also: rawStalledClient(), a TCP client that completes the WebSocket handshake, sends frames, and
 * never reads anything.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, beforeEach } from 'vitest';
import WebSocket from 'ws';
import { SUBPROTOCOLS, decodeServerFrame, encodeClientFrame } from '../../src/codec/index.js';
import type { ClientFrame, RequestId, ServerFrame, WireFormat } from '../../src/codec/index.js';
import type { HoldlineConfig } from '../../src/config.js';
import type { Engine, QueueMeta } from '../../src/engine/types.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import type { WebSocketEndpoint, WebSocketLimits } from '../../src/server/ws/index.js';
import type { EngineFactory } from './engines.js';
import { startTestServer } from './server.js';
import type { TestServer } from './server.js';

export interface ConnectOptions {
  format?: WireFormat;
  /** Offered subprotocols; default the one of `format`. An empty list offers none. */
  protocols?: string[];
  key?: string;
  token?: string;
  /** Raw query string (without `?`), instead of key/token. */
  query?: string;
}

export interface CloseEvent {
  code: number;
  reason: string;
}

type Frame<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

const WAIT_MS = 10_000;
let nextId = 1;

export class WsTestClient {
  readonly frames: ServerFrame[] = [];
  /** Raw data the codec could not read (a server bug: tests assert it stays empty). */
  readonly undecodable: unknown[] = [];
  readonly closed: Promise<CloseEvent>;
  closeEvent: CloseEvent | null = null;
  /** The socket error that ended the connection, if any (shown in wait failures). */
  error: Error | null = null;
  private waiters = new Set<() => void>();

  private constructor(
    readonly socket: WebSocket,
    readonly format: WireFormat,
  ) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.closeEvent = { code, reason: reason.toString() };
        resolve(this.closeEvent);
        this.wake();
      });
    });
    socket.on('message', (data: Buffer, isBinary) => {
      const decoded = decodeServerFrame(isBinary ? new Uint8Array(data) : data.toString('utf8'), format);
      if (decoded.ok) this.frames.push(decoded.frame);
      else this.undecodable.push({ data, error: decoded.error });
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
  }

  /** Opens a connection to `baseUrl` (http://host:port) and resolves once it is open. */
  static connect(baseUrl: string, opts: ConnectOptions = {}): Promise<WsTestClient> {
    const format = opts.format ?? 'json';
    const protocols = opts.protocols ?? [SUBPROTOCOLS[format]];
    const params = new URLSearchParams();
    if (opts.key !== undefined) params.set('key', opts.key);
    if (opts.token !== undefined) params.set('token', opts.token);
    const query = opts.query ?? params.toString();
    const url = `${baseUrl.replace(/^http/, 'ws')}/v1/ws${query === '' ? '' : `?${query}`}`;
    const socket = new WebSocket(url, protocols);
    const client = new WsTestClient(socket, format);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  /** Connects and waits for `welcome`. */
  static async open(baseUrl: string, opts: ConnectOptions = {}): Promise<WsTestClient> {
    const client = await WsTestClient.connect(baseUrl, opts);
    await client.next('welcome');
    return client;
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  send(frame: ClientFrame): void {
    this.socket.send(encodeClientFrame(frame, this.format));
  }

  /** Sends bytes or text as they are, in a binary or text frame. */
  sendRaw(data: string | Uint8Array, binary = typeof data !== 'string'): void {
    this.socket.send(data, { binary });
  }

  /** Sends a frame with a fresh id (unless it has one) and resolves with the reply carrying that id. */
  async request(frame: ClientFrame): Promise<ServerFrame> {
    const id: RequestId = frame.id ?? `r${nextId++}`;
    this.send({ ...frame, id } as ClientFrame);
    return this.waitFor((f) => 'id' in f && f.id === id, `reply to ${frame.type} ${String(id)}`);
  }

  /** The first frame (from index `from`) that matches, waiting for it if needed. */
  async waitFor(match: (f: ServerFrame) => boolean, what = 'frame', from = 0, timeoutMs = WAIT_MS): Promise<ServerFrame> {
    const found = (): ServerFrame | undefined => this.frames.slice(from).find(match);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = found();
      if (f !== undefined) return f;
      if (this.closeEvent !== null) throw new Error(`closed (${this.closeEvent.code} ${this.closeEvent.reason}${this.error === null ? '' : `, ${this.error.message}`}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; got ${this.frames.map((x) => x.type).join(',')}`);
      await this.changed(left);
    }
  }

  /** The first frame of a type (from index `from`). */
  async next<T extends ServerFrame['type']>(type: T, from = 0): Promise<Frame<T>> {
    return (await this.waitFor((f) => f.type === type, type, from)) as Frame<T>;
  }

  /** Resolves once `check()` is true, re-checked on every received frame (and on close). */
  async until(check: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms`);
      if (this.closeEvent !== null) throw new Error(`closed (${this.closeEvent.code}${this.error === null ? '' : `, ${this.error.message}`}) while waiting for ${what}`);
      await this.changed(left);
    }
  }

  /** `message` frames received, optionally of one queue/partition. */
  messages(filter: { application?: string; queue?: string; partition?: number } = {}): Frame<'message'>[] {
    return this.frames.filter(
      (f): f is Frame<'message'> =>
        f.type === 'message' &&
        (filter.application === undefined || f.application === filter.application) &&
        (filter.queue === undefined || f.queue === filter.queue) &&
        (filter.partition === undefined || f.partition === filter.partition),
    );
  }

  async close(): Promise<CloseEvent> {
    // A paused socket would never read the server's close frame.
    this.socket.resume();
    if (this.closeEvent === null) this.socket.close(1000);
    return this.closed;
  }

  /** Drops the TCP connection without a close frame. */
  terminate(): void {
    this.socket.terminate();
  }

  /** Re-runs pending waits now (for conditions that change without a frame arriving). */
  poke(): void {
    this.wake();
  }

  private changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** One masked client frame (RFC 6455 5.2), text or binary. */
export function maskedFrame(payload: Uint8Array, binary: boolean): Buffer {
  const mask = randomBytes(4);
  const len = payload.byteLength;
  const header =
    len < 126
      ? Buffer.from([0x80 | (binary ? 2 : 1), 0x80 | len])
      : len < 65536
        ? Buffer.from([0x80 | (binary ? 2 : 1), 0x80 | 126, len >> 8, len & 0xff])
        : (() => {
            const h = Buffer.alloc(10);
            h[0] = 0x80 | (binary ? 2 : 1);
            h[1] = 0x80 | 127;
            h.writeBigUInt64BE(BigInt(len), 2);
            return h;
          })();
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, body]);
}

/** What a raw client read from the server after the handshake: each frame's opcode (8 = close). */
export interface RawServerFrames {
  opcodes: number[];
  /** The close frame's code, when one arrived. */
  closeCode: number | null;
  /** The stream ended inside a frame (the connection was cut mid-frame). */
  truncated: boolean;
}

/**
 * Splits the bytes a raw client received into server frames (RFC 6455 5.2, unmasked); `withHead`:
 * they start with the HTTP 101 head, which is skipped.
 */
export function readServerFrames(data: Buffer, withHead = true): RawServerFrames {
  const out: RawServerFrames = { opcodes: [], closeCode: null, truncated: false };
  let at = withHead ? data.indexOf('\r\n\r\n') + 4 : 0;
  while (at < data.length) {
    if (at + 2 > data.length) return { ...out, truncated: true };
    const opcode = data[at]! & 0x0f;
    let len = data[at + 1]! & 0x7f;
    at += 2;
    const extra = len === 126 ? 2 : len === 127 ? 8 : 0;
    if (at + extra > data.length) return { ...out, truncated: true };
    if (len === 126) len = data.readUInt16BE(at);
    else if (len === 127) len = Number(data.readBigUInt64BE(at));
    at += extra;
    if (at + len > data.length) return { ...out, truncated: true };
    out.opcodes.push(opcode);
    if (opcode === 8 && len >= 2) out.closeCode = data.readUInt16BE(at);
    at += len;
  }
  return out;
}

export interface StalledClient {
  /** Sends a client frame (JSON) on the raw socket. */
  send(frame: ClientFrame): void;
  destroy(): void;
  readonly socket: net.Socket;
  /** Bytes that arrived with the handshake's answer, after its head (the start of the frames). */
  readonly afterHead: Buffer;
}

/**
 * Completes the WebSocket handshake over raw TCP and then never reads: the kernel buffers fill and
 * the server's send buffer for it grows, as with a stalled client on a real network.
 */
export function rawStalledClient(port: number, query = ''): Promise<StalledClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(
        `GET /v1/ws${query === '' ? '' : `?${query}`} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: holdline.v1.json\r\n\r\n`,
      );
    });
    let head = '';
    let raw = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      raw = Buffer.concat([raw, chunk]);
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (!head.startsWith('HTTP/1.1 101')) {
        reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
        return;
      }
      resolve({
        socket,
        afterHead: raw.subarray(raw.indexOf('\r\n\r\n') + 4),
        send: (frame) => socket.write(maskedFrame(Buffer.from(JSON.stringify(frame)), false)),
        destroy: () => socket.destroy(),
      });
    };
    socket.on('data', onData);
  });
}

export interface WsServer {
  server: TestServer;
  endpoint: WebSocketEndpoint;
  url: string;
  close(): Promise<void>;
}

/** A test server (test/helpers/server.ts) with `/v1/ws` mounted, over `engine` (closed by the caller). */
export async function startWsServer(
  engine: Engine,
  limits: Partial<WebSocketLimits> = {},
  config: Partial<HoldlineConfig> = {},
): Promise<WsServer> {
  const endpoint = createWebSocketEndpoint({ limits });
  const server = await startTestServer(engine, config, { mounts: [endpoint.mount] });
  return { server, endpoint, url: server.url, close: () => server.close() };
}

/** A fresh engine (from the factory) and a server with /v1/ws mounted, per test of the enclosing describe. */
export function useWsServer(factory: EngineFactory): () => TestServer {
  let current: WsServer | undefined;
  let closeEngine: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const engine = await factory.create();
    closeEngine = () => engine.close();
    current = await startWsServer(engine);
  });
  afterEach(async () => {
    await current?.close();
    await closeEngine?.();
    current = undefined;
  });
  return () => {
    if (current === undefined) throw new Error('server used outside a test');
    return current.server;
  };
}

/** A fresh application (random name unless given) and its key, straight in the engine. */
export async function appWithKey(engine: Engine, name = `app-${randomBytes(4).toString('hex')}`): Promise<{ name: string; key: string }> {
  const created = await engine.createApp(name);
  if (created === null) throw new Error(`application ${name} exists`);
  return { name, key: created.key };
}

/** A fresh queue of `application` (weak consistency: the test Redis has no replicas). */
export async function queueOf(engine: Engine, application: string, overrides: Partial<QueueMeta> = {}): Promise<QueueMeta> {
  const meta: QueueMeta = {
    application,
    name: `q-${randomBytes(4).toString('hex')}`,
    partitions: 1,
    type: 'user',
    consistency: 'weak',
    principles: [],
    created: Math.floor(Date.now() / 1000),
    ...overrides,
  };
  if (!(await engine.createQueue(meta))) throw new Error(`queue ${meta.name} exists`);
  return meta;
}

export interface QueueClient {
  app: { name: string; key: string };
  queue: QueueMeta;
  client: WsTestClient;
}

/**
 * Per test of the enclosing describe: a fresh engine, a server with /v1/ws, an application, a queue
 * of `partitions` and one client connected with the application's key; all closed after the test.
 */
export function useQueueClient(factory: EngineFactory, partitions: number): () => QueueClient {
  let current: QueueClient | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const engine = await factory.create();
    const s = await startWsServer(engine);
    const app = await appWithKey(engine);
    const queue = await queueOf(engine, app.name, { partitions });
    const client = await WsTestClient.open(s.url, { key: app.key });
    current = { app, queue, client };
    close = async () => {
      await client.close();
      await s.close();
      await engine.close();
    };
  });
  afterEach(async () => {
    await close?.();
    current = undefined;
    close = undefined;
  });
  return () => {
    if (current === undefined) throw new Error('queue client used outside a test');
    return current;
  };
}
