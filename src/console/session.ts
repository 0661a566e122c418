/**
 * Signing in: an application key (the SDK connects with it; the server's `welcome` names the
 * application) or the operator's admin key (checked with `GET /v1/apps`). The key is kept for this
 * tab only (sessionStorage): closing the tab forgets it, other tabs do not see it.
 */
import { HoldlineClient, type StopReason } from 'holdline/client';
import { ApiError, api, type Credentials } from './api.js';

const STORAGE_KEY = 'holdline.console.credentials';
const CONNECT_TIMEOUT_MS = 10_000;

export type Session =
  | { kind: 'application'; credentials: Credentials; application: string; client: HoldlineClient }
  | { kind: 'admin'; credentials: Credentials };

export function savedCredentials(): Credentials | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (raw === null) return null;
    const value = JSON.parse(raw) as Partial<Credentials>;
    if ((value.kind === 'application' || value.kind === 'admin') && typeof value.key === 'string') return { kind: value.kind, key: value.key };
  } catch {
    // A value this page did not write: ignored.
  }
  return null;
}

/** Signing out forgets everything the console kept for the tab (key, resume points, chart samples). */
export function forgetCredentials(): void {
  for (const key of Object.keys(sessionStorage)) if (key.startsWith('holdline.console.')) sessionStorage.removeItem(key);
}

/** The WebSocket endpoint of the server that served this page. */
export function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
}

/** Why a stopped client will not connect, in words for the person at the keyboard. */
function refusal(reason: StopReason): string {
  if (reason.by === 'auth') return `This key was not accepted (${reason.code}). Check that it is a current application key, pasted whole.`;
  if (reason.by === 'server') return `The server closed the connection (${reason.code} ${reason.reason}).`;
  return 'The connection was closed.';
}

export async function signIn(credentials: Credentials): Promise<Session> {
  if (credentials.key.trim() === '') throw new Error('Enter a key.');
  if (credentials.kind === 'admin') {
    try {
      await api(credentials, 'GET', '/v1/apps');
    } catch (err) {
      if (err instanceof ApiError && err.code === 'admin_disabled') throw new Error('This server has no operator key (HOLDLINE_ADMIN_KEY is not set).');
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) throw new Error(`This operator key was not accepted (${err.code}).`);
      throw err;
    }
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
    return { kind: 'admin', credentials };
  }
  const client = new HoldlineClient({ urls: wsUrl(), key: credentials.key, backoff: { baseMs: 500, maxMs: 10_000 } });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('The server does not answer. Try again in a moment.')), CONNECT_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    const state = client.state;
    void client.close();
    if (state.status === 'closed') throw new Error(refusal(state.reason));
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const state = client.state;
  if (state.status !== 'connected' || state.principal.kind !== 'application') {
    void client.close();
    throw new Error('This is not an application key.');
  }
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  return { kind: 'application', credentials, application: state.principal.application, client };
}
