/**
 * HTTP/1.1 over a raw TCP socket (node:net), for what fetch will not send: duplicate headers,
 * pipelined requests, heads split into segments, HTTP/1.0, bodies cut short. Everything waits on
 * socket events, never on a clock.
 */
import net from 'node:net';
import { once } from 'node:events';

export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
}

export interface RawConnection {
  readonly socket: net.Socket;
  /** Everything received so far (latin1, byte for byte). */
  readonly received: string;
  write(data: string | Uint8Array): Promise<void>;
  /** Resolves once the received bytes hold `count` complete responses; rejects if the socket closes first. */
  responses(count: number): Promise<RawResponse[]>;
  /** Resolves when the peer has closed (FIN or RST), with what was received and whether it was a reset. */
  readonly closed: Promise<{ received: string; reset: boolean }>;
  destroy(): void;
}

export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  let received = '';
  let reset = false;
  const waiters = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
    for (const w of [...waiters]) w();
  });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE') reset = true;
  });
  const closed = new Promise<{ received: string; reset: boolean }>((resolve) => {
    socket.once('close', () => {
      resolve({ received, reset });
      for (const w of [...waiters]) w();
    });
  });
  return {
    socket,
    get received() {
      return received;
    },
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      }),
    responses: (count) =>
      new Promise<RawResponse[]>((resolve, reject) => {
        const check = () => {
          const parsed = parseResponses(received);
          if (parsed.length >= count) {
            waiters.delete(check);
            resolve(parsed.slice(0, count));
          } else if (socket.destroyed || socket.readableEnded) {
            waiters.delete(check);
            reject(new Error(`connection closed after ${parsed.length} of ${count} responses; received ${JSON.stringify(received.slice(0, 300))}`));
          }
        };
        waiters.add(check);
        check();
      }),
    closed,
    destroy: () => socket.destroy(),
  };
}

/** The complete responses at the start of `data` (Content-Length or chunked bodies). */
export function parseResponses(data: string): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const lines = data.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let bodyStart = end + 4;
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = data.indexOf('\r\n', bodyStart);
        if (lineEnd < 0) return out;
        const size = parseInt(data.slice(bodyStart, lineEnd), 16);
        if (data.length < lineEnd + 2 + size + 2) return out;
        body += data.slice(lineEnd + 2, lineEnd + 2 + size);
        bodyStart = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      at = bodyStart;
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (data.length < bodyStart + length) return out;
      body = data.slice(bodyStart, bodyStart + length);
      at = bodyStart + length;
    }
    out.push({ status, headers, body });
  }
}

/** A request head: `GET /x` plus headers (Host is added), ending in the blank line. */
export function head(requestLine: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${requestLine} HTTP/1.1`, 'Host: holdline.test', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}
