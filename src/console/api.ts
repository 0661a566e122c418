/**
 * REST calls of the console (protocol/rest.md, rest-calls.md): the resources the SDK does not carry
 * (lists of queues, agents and tags, supervisor actions). Live data comes from the SDK.
 */

export type Credentials = { kind: 'application'; key: string } | { kind: 'admin'; key: string };

/** A REST error answer, with its catalogue code (protocol/errors.md). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function authorization(credentials: Credentials): string {
  return `${credentials.kind === 'admin' ? 'Admin' : 'Application'} ${credentials.key}`;
}

export async function api<T>(credentials: Credentials, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: authorization(credentials) };
  const init: RequestInit = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: reported below with the status.
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? `HTTP ${res.status}`);
  }
  return parsed as T;
}

export const path = (...segments: string[]): string => `/${segments.map(encodeURIComponent).join('/')}`;
