/**
 * The REST side of the client verbs: one request helper that turns Holdline's error answers
 * (`{status:"error", error:{code, message}}`, protocol/errors.md) into a one-line CliError.
 */
export interface ServerTarget {
  /** http://host:port of any Holdline node. */
  url: string;
  /** `Application <key>`, `Agent <token>` or `Admin <key>`, or none. */
  authorization: string | undefined;
}

/** A failure the command reports as one line (exit 1), never with a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** http(s)://host:port → ws(s)://host:port/v1/ws. */
export function wsUrl(httpUrl: string): string {
  const u = new URL(httpUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = '/v1/ws';
  return u.toString();
}

export async function request<T>(target: ServerTarget, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (target.authorization !== undefined) headers.authorization = target.authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  const url = new URL(path, target.url);
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach Holdline at ${target.url} (${cause?.code ?? cause?.message ?? (e as Error).message}); set --url or HOLDLINE_URL`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new CliError(`${method} ${url.pathname}: ${res.status}, not JSON: ${text.slice(0, 200)}`, undefined, res.status);
  }
  if (!res.ok) {
    const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new CliError(`${err?.code ?? res.status}: ${err?.message ?? text.slice(0, 200)}`, err?.code, res.status);
  }
  return parsed as T;
}
