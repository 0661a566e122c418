/**
 * Who a connection acts as (protocol/websocket.md section 2): credentials from the URL or the first
 * frame → a principal. Application keys and agent tokens are checked by the domain, through
 * ServerContext (applicationForKey, agentForToken); an endpoint may be given its own token
 * resolver instead (tests, embedders).
 *
 * Credentials are also checked again while connected ("Expiry while connected"): an agent token's
 * connection closes at the token's expiry (one timer per connection, armExpiry), and watch.ts
 * re-checks connections whose credentials a change may have ended (checkCredentials).
 */
import type { Principal } from '../../codec/index.js';
import { HoldlineError, isHoldlineError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';
import type { ServerContext } from '../context.js';
import type { Connection, Credentials } from './connection.js';

export interface AgentIdentity {
  application: string;
  agentUuid: string;
  /** When the token expires (epoch ms); absent: the resolver does not say (no expiry timer). */
  expiresAtMs?: number;
}

/** Resolves an agent token; throws HoldlineError auth_invalid or token_expired. */
export type AgentTokenResolver = (token: string) => Promise<AgentIdentity>;

/** What a client authenticates with (declared next to the Connection that holds them). */
export type { Credentials } from './connection.js';

/**
 * The credentials in a `/v1/ws` query string: null when there are none; auth_malformed when both
 * `key` and `token` are present, or one of them is empty.
 */
export function credentialsFromQuery(query: string): Credentials | null {
  const params = new URLSearchParams(query);
  const key = params.get('key');
  const token = params.get('token');
  if (key !== null && token !== null) throw new HoldlineError('auth_malformed');
  if (key === '' || token === '') throw new HoldlineError('auth_malformed');
  if (key !== null) return { key };
  if (token !== null) return { token };
  return null;
}

export async function principalFor(
  ctx: ServerContext,
  creds: Credentials,
  agentForToken: AgentTokenResolver | undefined,
): Promise<Principal> {
  return (await identify(ctx, creds, agentForToken)).principal;
}

async function identify(
  ctx: ServerContext,
  creds: Credentials,
  agentForToken: AgentTokenResolver | undefined,
): Promise<{ principal: Principal; expiresAtMs?: number }> {
  if ('key' in creds) return { principal: { kind: 'application', application: await ctx.applicationForKey(creds.key) } };
  const agent = await (agentForToken ?? ((token: string) => ctx.agentForToken(token)))(creds.token);
  const principal: Principal = { kind: 'agent', application: agent.application, agent_uuid: agent.agentUuid };
  return agent.expiresAtMs === undefined ? { principal } : { principal, expiresAtMs: agent.expiresAtMs };
}

/**
 * Checks `creds` and makes them the connection's: its principal, the credentials watch.ts re-checks,
 * and for an agent token the timer that closes the connection when the token expires. Throws as
 * principalFor does (the caller answers and closes).
 */
export async function authenticateConnection(
  ctx: ServerContext,
  conn: Connection,
  creds: Credentials,
  agentForToken: AgentTokenResolver | undefined,
): Promise<void> {
  conn.authenticating = true;
  conn.credentialsQuestioned = false;
  let identity: Awaited<ReturnType<typeof identify>>;
  try {
    identity = await identify(ctx, creds, agentForToken);
  } finally {
    conn.authenticating = false;
  }
  const { principal, expiresAtMs } = identity;
  const before = conn.principal;
  conn.principal = principal;
  conn.authCredentials = creds;
  if (conn.credentialsQuestioned) {
    // A revocation announced while the lookup ran may have come too late for it, and before this
    // connection had credentials to re-check (watch.ts): check again now.
    conn.credentialsQuestioned = false;
    const refused = await checkCredentials(ctx, conn, agentForToken);
    if (refused !== null) {
      conn.principal = before;
      conn.authCredentials = null;
      throw new HoldlineError(refused);
    }
  }
  if (expiresAtMs !== undefined) armExpiry(conn, expiresAtMs);
}

function principalKey(p: Principal): string {
  return p.kind === 'agent' ? `agent/${p.application}/${p.agent_uuid}` : p.kind === 'application' ? `app/${p.application}` : 'anonymous';
}

/** setTimeout's longest delay (about 24.8 days); a token may live 30 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Closes the connection with 4401 token_expired at `atMs` (re-armed in steps beyond MAX_TIMER_MS). */
export function armExpiry(conn: Connection, atMs: number): void {
  if (conn.credentialTimer !== undefined) clearTimeout(conn.credentialTimer);
  conn.credentialTimer = undefined;
  if (conn.closed) return;
  const left = atMs - Date.now();
  if (left <= 0) return conn.close(4401, 'token_expired');
  conn.credentialTimer = setTimeout(() => {
    conn.credentialTimer = undefined;
    if (left > MAX_TIMER_MS) armExpiry(conn, atMs);
    else conn.close(4401, 'token_expired');
  }, Math.min(left, MAX_TIMER_MS)).unref();
}

/**
 * Whether the connection's credentials still hold, as seen now: null when they do (or when the
 * store cannot tell at the moment: a live connection is not closed for an outage), else the close
 * reason (auth_invalid, token_expired). Anonymous connections always hold.
 */
export async function checkCredentials(
  ctx: ServerContext,
  conn: Connection,
  agentForToken: AgentTokenResolver | undefined,
): Promise<ErrorCode | null> {
  const creds = conn.authCredentials;
  if (creds === null || conn.principal.kind === 'anonymous') return null;
  const before = conn.principal;
  try {
    // The application itself first: deleting it deletes its agents only after it (domain/apps.ts).
    if (before.kind === 'agent' && !(await ctx.apps.exists(before.application))) return 'auth_invalid';
    const { principal } = await identify(ctx, creds, agentForToken);
    return principalKey(principal) === principalKey(before) ? null : 'auth_invalid';
  } catch (err) {
    if (isHoldlineError(err) && (err.code === 'auth_invalid' || err.code === 'token_expired' || err.code === 'auth_malformed')) {
      return err.code === 'auth_malformed' ? 'auth_invalid' : err.code;
    }
    return null;
  }
}
