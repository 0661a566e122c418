/**
 * The HTTP exchange on uWS: what a handler sees (a plain copy of the request, taken before any
 * await, because uWS's HttpRequest is only valid inside the synchronous handler) and what it returns
 * (a reply the dispatcher writes inside `cork`).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { HoldlineError } from '../errors.js';

export interface RequestInfo {
  /** Upper case. */
  method: string;
  /** Path as sent (still percent-encoded), without the query. */
  url: string;
  /** Raw query string, without `?`. */
  query: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Decoded path parameters, filled by the router. */
  params: Record<string, string>;
  /**
   * The query's fields, decoded, each one the route takes: filled by the dispatcher on a route whose
   * query fields the router knows (body.ts checkedQuery); other routes read `query` themselves.
   */
  queryFields: Readonly<Record<string, string>>;
  /** Request body, read in full before the handler runs. */
  body: Uint8Array;
  /** The peer's address as text (`127.0.0.1`, IPv6 in full), when the dispatcher could read it. */
  remoteAddress?: string;
}

export interface Reply {
  status: number;
  body: string | Uint8Array;
  contentType: string;
  headers?: Record<string, string>;
}

export function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
  const reply: Reply = { status, body: JSON.stringify(value), contentType: 'application/json' };
  if (headers !== undefined) reply.headers = headers;
  return reply;
}

export function errorReply(e: HoldlineError, headers?: Record<string, string>): Reply {
  return json(e.status, e.toBody(), headers);
}

/** Headers read one by one when forEach is missing (uWS's JS fallback does not implement it). */
const KNOWN_HEADERS = [
  'authorization', 'content-type', 'content-length', 'transfer-encoding', 'accept', 'host', 'origin',
  'user-agent', 'x-request-id', 'x-forwarded-for',
];

function copyHeaders(req: HttpRequest): Record<string, string> {
  // No prototype: header names are the client's choice (`constructor`, `__proto__`).
  const headers = Object.create(null) as Record<string, string>;
  try {
    req.forEach((k, v) => {
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    });
  } catch {
    for (const k of KNOWN_HEADERS) {
      const v = req.getHeader(k);
      if (v !== '') headers[k] = v;
    }
  }
  return headers;
}

/**
 * A request as copied from uWS. `remoteAddress` is read from uWS the first time it is asked for
 * (only `GET /metrics` without a token asks), through `readRemoteAddress`: uWS hands the address
 * over in a new ArrayBuffer, and copying it on every request was about a tenth of a REST post's
 * CPU time. A class, not an object literal with a getter, which V8 builds on a slow path.
 */
class CopiedRequest implements RequestInfo {
  params: Record<string, string> = {};
  queryFields: Readonly<Record<string, string>> = NO_QUERY_FIELDS;
  body: Uint8Array = EMPTY_BODY;
  private remote: { address: string | undefined } | undefined = undefined;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly query: string,
    readonly headers: Record<string, string>,
    private readonly readRemoteAddress: () => string | undefined,
  ) {}

  get remoteAddress(): string | undefined {
    this.remote ??= { address: this.readRemoteAddress() };
    return this.remote.address;
  }
}

const EMPTY_BODY = new Uint8Array(0);
export const NO_QUERY_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

export function copyRequest(req: HttpRequest, readRemoteAddress: () => string | undefined = () => undefined): RequestInfo {
  // The native getUrl() is the path alone; the JS fallback's includes the query, and its getQuery()
  // throws on every request (it parses a relative URL), so the query is taken from the URL when there.
  const raw = req.getUrl();
  const q = raw.indexOf('?');
  let query = q < 0 ? '' : raw.slice(q + 1);
  if (q < 0) {
    try {
      query = req.getQuery() ?? '';
    } catch {
      query = '';
    }
  }
  return new CopiedRequest(req.getMethod().toUpperCase(), q < 0 ? raw : raw.slice(0, q), query, copyHeaders(req), readRemoteAddress);
}

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large',
  415: 'Unsupported Media Type', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

export function statusLine(status: number): string {
  return `${status} ${REASONS[status] ?? 'Status'}`;
}

/** The status lines of REASONS, made once. */
const STATUS_LINES = new Map(Object.keys(REASONS).map((s) => [Number(s), statusLine(Number(s))]));

/**
 * How long an idle keep-alive connection is kept, as advertised in `Keep-Alive: timeout=…`. uWS closes
 * an idle HTTP connection after its compiled-in 10 s (HTTP_IDLE_TIMEOUT_S), checked on a 4 s tick, so
 * the close comes 8 to 12 s after the last answer; 5 leaves a client room to stop reusing it first.
 */
export const KEEP_ALIVE_SECONDS = 5;

/**
 * Writes a whole reply; the caller corks. `close` asks uWS to close the connection after it (uWS then
 * writes `Connection: close` itself); otherwise the reply advertises the keep-alive timeout.
 */
export function writeReply(res: HttpResponse, reply: Reply, close: boolean): void {
  res.writeStatus(STATUS_LINES.get(reply.status) ?? statusLine(reply.status));
  res.writeHeader('Content-Type', reply.contentType);
  const headers = reply.headers;
  if (headers !== undefined) for (const k in headers) res.writeHeader(k, headers[k]!);
  if (!close) res.writeHeader('Keep-Alive', KEEP_ALIVE);
  res.end(reply.body, close);
}

const KEEP_ALIVE = `timeout=${KEEP_ALIVE_SECONDS}`;

/**
 * RFC 9112 §6.3: a request whose body length is ambiguous is answered 400 and the connection closed.
 * uWS frames the body by the first `Content-Length` alone (a second one, `0` then `46`, would let the
 * body run as a request of its own), so every Content-Length it passed on is checked here;
 * copyHeaders joins repeated headers with `, `. uWS itself closes, without an answer, a request with
 * both Content-Length and Transfer-Encoding, and treats any Transfer-Encoding as chunked.
 */
export function framingError(headers: Record<string, string>): HoldlineError | null {
  const length = headers['content-length'];
  if (length !== undefined && !/^\d+$/.test(length)) {
    return new HoldlineError('bad_request', { field: 'content-length', message: 'Content-Length must be one decimal number, given once' });
  }
  const coding = headers['transfer-encoding'];
  if (coding !== undefined && (length !== undefined || coding.trim().toLowerCase() !== 'chunked')) {
    return new HoldlineError('bad_request', { field: 'transfer-encoding', message: 'Transfer-Encoding must be chunked alone, without Content-Length' });
  }
  return null;
}

export interface BodyLimits {
  /** Largest body accepted. */
  max: number;
  /** Past `max`, how many more bytes are read and discarded while waiting for the end of the body. */
  discardBytes: number;
  /** Past `max`, how long the end of the body is waited for. */
  discardMs: number;
}

/**
 * Reads the body into one buffer. A body over `max` is refused with body_too_large, in stages
 * (RFC 9112 §9.6): the rest of the body is read and thrown away, and onDone is called once it has
 * all arrived, so the answer and the close that follows it reach a client that has finished
 * sending. The wait is bounded: onDone comes anyway after `discardBytes` more bytes or `discardMs`,
 * and at once when the declared length is already past that bound. Returns a function that stops
 * the wait (the request was aborted).
 */
export function readBody(res: HttpResponse, declaredLength: string | undefined, limits: BodyLimits, onDone: (err: HoldlineError | null, body: Uint8Array) => void): () => void {
  const { max } = limits;
  const tooLarge = () => onDone(new HoldlineError('body_too_large', { max }), new Uint8Array(0));
  if (declaredLength !== undefined && Number(declaredLength) > max + limits.discardBytes) {
    tooLarge();
    return () => {};
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const refuse = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    tooLarge();
  };
  res.onData((chunk, isLast) => {
    if (done) return;
    size += chunk.byteLength;
    if (size > max) {
      if (timer === undefined) {
        chunks.length = 0;
        timer = setTimeout(refuse, limits.discardMs);
      }
      if (isLast || size > max + limits.discardBytes) refuse();
      return;
    }
    // uWS reuses the chunk's memory after this callback returns: copy it.
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (isLast) {
      done = true;
      onDone(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    }
  });
  return () => {
    done = true;
    clearTimeout(timer);
  };
}
