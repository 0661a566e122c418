/**
 * Holdline's WebSocket protocol (protocol/websocket.md) over the harness's raw client: connecting
 * with a subprotocol and URL credentials, encoding client frames in either format, and matching
 * replies to requests by `id`. Kept cheap on the receive side: a JSON reply's `id` is read from its
 * first bytes (the server writes `type`, then `id`), so a 40 KB history reply is not parsed just to
 * find whom it answers; only `error` frames are decoded.
 */
import { Packr, Unpackr } from 'msgpackr';
import { OP_BINARY, RawWs, nextMessage } from '../lib/wsclient.js';

export type Format = 'json' | 'msgpack';

export const SUBPROTOCOL: Record<Format, string> = { json: 'holdline.v1.json', msgpack: 'holdline.v1.msgpack' };

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export type Frame = Record<string, unknown>;

export function encode(frame: Frame, format: Format): string | Buffer {
  return format === 'json' ? JSON.stringify(frame) : packr.pack(frame);
}

export function decode(data: Buffer, format: Format): Frame {
  return (format === 'json' ? JSON.parse(data.toString('utf8')) : unpackr.unpack(data)) as Frame;
}

export function send(ws: RawWs, frame: Frame, format: Format): boolean {
  const data = encode(frame, format);
  return typeof data === 'string' ? ws.send(data) : ws.send(data, OP_BINARY);
}

export interface ConnectOptions {
  port: number;
  format: Format;
  key?: string;
  token?: string;
  localAddress?: string;
}

/** Opens /v1/ws with URL credentials; resolves once the server's `welcome` frame arrived. */
export async function connect(o: ConnectOptions): Promise<RawWs> {
  const q = o.key !== undefined ? `?key=${encodeURIComponent(o.key)}` : o.token !== undefined ? `?token=${encodeURIComponent(o.token)}` : '';
  const ws = await RawWs.connect({
    port: o.port,
    path: `/v1/ws${q}`,
    subprotocol: SUBPROTOCOL[o.format],
    ...(o.localAddress ? { localAddress: o.localAddress } : {}),
  });
  try {
    await nextMessage(ws, (d) => frameType(d, o.format) === 'welcome', 'Holdline welcome');
  } catch (e) {
    ws.destroy();
    throw e;
  }
  return ws;
}

const TYPE_JSON = Buffer.from('{"type":"');

/** The frame's `type` without decoding the whole frame (JSON: it is the first field). */
export function frameType(data: Buffer, format: Format): string | undefined {
  if (format === 'json') {
    if (data.indexOf(TYPE_JSON) !== 0) return (decode(data, format).type as string | undefined) ?? undefined;
    const end = data.indexOf(0x22, TYPE_JSON.length);
    return end === -1 ? undefined : data.toString('latin1', TYPE_JSON.length, end);
  }
  return decode(data, format).type as string | undefined;
}

const ID_JSON = Buffer.from('"id":');

/** A reply's integer `id` (requests made here use integers), or undefined for frames without one. */
function replyIdOf(data: Buffer, format: Format): number | undefined {
  // Error frames put `id` after `error`; they are rare enough to decode.
  if (format === 'msgpack' || frameType(data, format) === 'error') {
    const id = decode(data, format).id;
    return typeof id === 'number' ? id : undefined;
  }
  // Replies carry `"id":` right after `type`; a `message` or `messages` frame has none (its
  // `message_id` is `_id":`, not `"id":`).
  const at = data.indexOf(ID_JSON);
  if (at === -1 || at > 64) return undefined;
  let v = 0;
  let i = at + ID_JSON.length;
  let digits = 0;
  for (; i < data.length; i++) {
    const c = data[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    digits++;
  }
  return digits ? v : undefined;
}

export class RequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * Requests with integer ids over one connection; every reply resolves its request with the raw
 * frame (decode it if needed), an `error` reply rejects with its catalogue code. Frames without an
 * id go to `onEvent`.
 */
export class Rpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (d: Buffer) => void; reject: (e: Error) => void }>();
  onEvent: (data: Buffer) => void = () => {};

  constructor(readonly ws: RawWs, readonly format: Format) {
    ws.onMessage = (data) => {
      const id = replyIdOf(data, format);
      const p = id === undefined ? undefined : this.pending.get(id);
      if (!p) {
        this.onEvent(data);
        return;
      }
      this.pending.delete(id!);
      if (frameType(data, format) === 'error') {
        const f = decode(data, format) as { error?: { code?: string; message?: string } };
        p.reject(new RequestError(f.error?.code ?? 'unknown', `${f.error?.code}: ${f.error?.message}`));
      } else {
        // The receive buffer is reused after this callback: the reply must be a copy.
        p.resolve(Buffer.from(data));
      }
    };
    const prevClose = ws.onClose;
    ws.onClose = (reason) => {
      prevClose(reason);
      for (const p of this.pending.values()) p.reject(new Error(`connection closed: ${reason}`));
      this.pending.clear();
    };
  }

  get inFlight(): number {
    return this.pending.size;
  }

  request(frame: Frame): Promise<Buffer> {
    if (this.ws.closed) return Promise.reject(new Error('connection closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      send(this.ws, { ...frame, id }, this.format);
    });
  }

  /** A request whose reply is decoded. */
  async call<T = Frame>(frame: Frame): Promise<T> {
    return decode(await this.request(frame), this.format) as T;
  }
}
