/**
 * A minimal WebSocket client over a raw TCP socket, built for a load generator: frames are handed
 * over as Buffer views into the received chunk (no copy, no UTF-8 validation, no event emitter per
 * message), so one generator process can take in far more messages per second than the servers it
 * measures can send. It speaks RFC 6455 only as far as the harness needs: no extensions, client
 * frames masked, fragmented messages reassembled, pings answered, close answered.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export const OP_TEXT = 1;
export const OP_BINARY = 2;
const OP_CONT = 0;
const OP_CLOSE = 8;
const OP_PING = 9;
const OP_PONG = 10;

export interface RawWsOptions {
  host?: string;
  port: number;
  path: string;
  /** Source address (127.0.0.x) so many connections can pass the ephemeral-port limit of one pair. */
  localAddress?: string;
  subprotocol?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

const readBuffer = Buffer.allocUnsafe(256 * 1024);

export type MessageHandler = (data: Buffer, opcode: number) => void;

export class RawWs {
  /**
   * Frames that arrive while no handler is set (e.g. in the same read as the handshake response,
   * before the protocol's next step listens) are kept, copied, and handed to the next handler.
   */
  private handler: MessageHandler | null = null;
  private early: Array<[Buffer, number]> = [];
  onClose: (reason: string) => void = () => {};
  closed = false;
  private pending: Buffer | null = null;
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private readonly mask = randomBytes(4);

  private constructor(readonly socket: net.Socket) {}

  get onMessage(): MessageHandler | null {
    return this.handler;
  }

  set onMessage(h: MessageHandler | null) {
    this.handler = h;
    while (this.handler && this.early.length) {
      const [data, op] = this.early.shift()!;
      this.handler(data, op);
    }
  }

  /** Hands a frame back, as if it arrived now (to the handler, or kept for the next one). */
  unread(data: Buffer, opcode: number): void {
    this.deliver(data, opcode);
  }

  private deliver(data: Buffer, opcode: number): void {
    if (this.handler) this.handler(data, opcode);
    else this.early.push([Buffer.from(data), opcode]);
  }

  static connect(opts: RawWsOptions): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const host = opts.host ?? '127.0.0.1';
      // onread with one shared buffer: no Buffer allocation and no stream machinery per read; each
      // callback runs to completion before the next read, and leftovers are copied out (feed()).
      let reader: (chunk: Buffer) => void = () => {};
      const socket = net.connect({
        host,
        port: opts.port,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => {
          reader(Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        } },
      });
      socket.setNoDelay(true);
      const timer = setTimeout(() => fail(new Error(`WebSocket handshake to ${host}:${opts.port} timed out`)), opts.timeoutMs ?? 10_000);
      let head: Buffer = Buffer.alloc(0);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        const key = randomBytes(16).toString('base64');
        const lines = [
          `GET ${opts.path} HTTP/1.1`,
          `Host: ${host}:${opts.port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${key}`,
          'Sec-WebSocket-Version: 13',
        ];
        if (opts.subprotocol) lines.push(`Sec-WebSocket-Protocol: ${opts.subprotocol}`);
        for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
        socket.write(lines.join('\r\n') + '\r\n\r\n');
      });
      const onHead = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) {
          if (head.length > 16_384) fail(new Error('WebSocket handshake response too large'));
          return;
        }
        const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
        if (!/^HTTP\/1\.1 101/.test(status)) {
          fail(new Error(`WebSocket upgrade refused: ${status}`));
          return;
        }
        clearTimeout(timer);
        socket.off('error', fail);
        const ws = new RawWs(socket);
        reader = (c) => ws.feed(c);
        socket.on('error', (e) => ws.finish(e.message));
        socket.on('close', () => ws.finish('socket closed'));
        resolve(ws);
        const rest = head.subarray(end + 4);
        if (rest.length) ws.feed(rest);
      };
      reader = onHead;
    });
  }

  send(data: string | Buffer, opcode = OP_TEXT): boolean {
    if (this.closed) return false;
    return this.socket.write(this.frame(typeof data === 'string' ? Buffer.from(data) : data, opcode));
  }

  close(): void {
    if (this.closed) return;
    this.socket.write(this.frame(Buffer.from([0x03, 0xe8]), OP_CLOSE));
    this.socket.end();
    this.finish('closed by client');
  }

  destroy(): void {
    this.socket.destroy();
    this.finish('destroyed');
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(reason);
  }

  private frame(payload: Buffer, opcode: number): Buffer {
    const len = payload.length;
    const headLen = len < 126 ? 2 : len < 65_536 ? 4 : 10;
    const out = Buffer.allocUnsafe(headLen + 4 + len);
    out[0] = 0x80 | opcode;
    if (len < 126) out[1] = 0x80 | len;
    else if (len < 65_536) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(len, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeUInt32BE(0, 2);
      out.writeUInt32BE(len, 6);
    }
    const m = this.mask;
    m.copy(out, headLen);
    const body = headLen + 4;
    for (let i = 0; i < len; i++) out[body + i] = payload[i]! ^ m[i & 3]!;
    return out;
  }

  private feed(chunk: Buffer): void {
    // `chunk` may be a view of the shared read buffer: only copies may outlive this call.
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    while (buf.length - off >= 2) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - off < 4) break;
        len = buf.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - off < 10) break;
        len = buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
        head = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      if (masked) head += 4;
      if (buf.length - off < head + len) break;
      let payload = buf.subarray(off + head, off + head + len);
      if (masked) {
        const key = buf.subarray(off + head - 4, off + head);
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!;
      }
      off += head + len;
      this.dispatch((b0 & 0x80) !== 0, b0 & 0x0f, payload);
      if (this.closed) return;
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }

  private dispatch(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) {
      this.send(payload, OP_PONG);
      return;
    }
    if (opcode === OP_PONG) return;
    if (opcode === OP_CLOSE) {
      if (!this.closed) {
        this.socket.write(this.frame(payload.subarray(0, 2), OP_CLOSE));
        this.socket.end();
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.finish(`closed by server (${code}${payload.length > 2 ? ` ${payload.subarray(2).toString()}` : ''})`);
      }
      return;
    }
    if (opcode === OP_CONT) {
      this.fragments.push(Buffer.from(payload));
      if (fin) {
        const whole = Buffer.concat(this.fragments);
        this.fragments = [];
        this.deliver(whole, this.fragmentOpcode);
      }
      return;
    }
    if (!fin) {
      this.fragmentOpcode = opcode;
      this.fragments = [Buffer.from(payload)];
      return;
    }
    this.deliver(payload, opcode);
  }
}

/** Waits for the first message the predicate accepts (protocol handshakes), with a time limit. */
export function nextMessage(ws: RawWs, accept: (data: Buffer) => boolean, what: string, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const prev = ws.onMessage;
    const prevClose = ws.onClose;
    const skipped: Array<[Buffer, number]> = [];
    let settled = false;
    const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const done = (err: Error | null, data?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.onClose = prevClose;
      ws.onMessage = prev;
      // Frames before the awaited one go to whoever listened before (or wait for the next handler).
      for (const [d, op] of skipped) ws.unread(d, op);
      if (err) reject(err);
      else resolve(data!);
    };
    ws.onClose = (reason) => {
      prevClose(reason);
      done(new Error(`connection closed while waiting for ${what}: ${reason}`));
    };
    ws.onMessage = (data, op) => {
      if (settled) return;
      if (accept(data)) done(null, Buffer.from(data));
      else if (prev) prev(data, op);
      else skipped.push([Buffer.from(data), op]);
    };
  });
}
