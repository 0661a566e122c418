/**
 * Who a connection acts as (protocol/websocket.md section 2): credentials from the URL or the first
 * frame → a principal. Application keys and agent tokens are checked by the domain, through
 * ServerContext (applicationForKey, agentForToken); an endpoint may be given its own token
 * resolver instead (tests, embedders).
 */
import type { Principal } from '../../codec/index.js';
import { HoldlineError } from '../../errors.js';
import type { ServerContext } from '../context.js';

export interface AgentIdentity {
  application: string;
  agentUuid: string;
}

/** Resolves an agent token; throws HoldlineError auth_invalid or token_expired. */
export type AgentTokenResolver = (token: string) => Promise<AgentIdentity>;

export type Credentials = { key: string } | { token: string };

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
  if ('key' in creds) return { kind: 'application', application: await ctx.applicationForKey(creds.key) };
  const agent = await (agentForToken ?? ((token: string) => ctx.agentForToken(token)))(creds.token);
  return { kind: 'agent', application: agent.application, agent_uuid: agent.agentUuid };
}
