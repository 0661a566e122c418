/**
 * A minimal keep-alive HTTP/1.1 client for the load generator: one connection, one request at a
 * time (later ones wait their turn), responses framed by Content-Length (what uWS sends for a
 * complete body). Node's http client costs tens of microseconds per request in the generator,
 * which on a 2-core machine would be taken from the server being measured; this costs a write and
 * an indexOf.
 */
import net from 'node:net';

export interface HttpReply {
  status: number;
  body: Buffer;
}

interface Pending {
  head: Buffer;
  body: Buffer | null;
  resolve: (r: HttpReply) => void;
  reject: (e: Error) => void;
}

export class RawHttp {
  private readonly socket: net.Socket;
  private readonly queue: Pending[] = [];
  private inFlight: Pending | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private closedWith: Error | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (e: Error): void => {
      this.closedWith ??= e;
      const all = [...(this.inFlight ? [this.inFlight] : []), ...this.queue.splice(0)];
      this.inFlight = null;
      for (const p of all) p.reject(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('HTTP connection closed')));
  }

  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawHttp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawHttp(s));
      });
      s.once('error', reject);
    });
  }

  /** `headers` is preformatted: lines ending in \r\n (Host is added). */
  request(method: string, path: string, headers = '', body?: string | Buffer): Promise<HttpReply> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const b = body === undefined ? null : typeof body === 'string' ? Buffer.from(body) : body;
    const head = Buffer.from(
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}${b ? `Content-Length: ${b.length}\r\n` : ''}\r\n`,
      'latin1',
    );
    return new Promise((resolve, reject) => {
      this.queue.push({ head, body: b, resolve, reject });
      if (!this.inFlight) this.next();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private next(): void {
    const p = this.queue.shift();
    if (!p) return;
    this.inFlight = p;
    this.socket.write(p.body ? Buffer.concat([p.head, p.body]) : p.head);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = this.buf.toString('latin1', 0, end);
      const status = Number(head.slice(9, 12));
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!m) {
        this.socket.destroy(new Error(`HTTP reply without Content-Length: ${head.slice(0, 200)}`));
        return;
      }
      const len = Number(m[1]);
      if (this.buf.length < end + 4 + len) return;
      const body = Buffer.from(this.buf.subarray(end + 4, end + 4 + len));
      this.buf = this.buf.subarray(end + 4 + len);
      const p = this.inFlight;
      this.inFlight = null;
      if (p) p.resolve({ status, body });
      this.next();
    }
  }
}
