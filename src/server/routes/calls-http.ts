/**
 * What the /v1 call-queue routes (agents, queues, members, callers, tags, tokens) share: who is
 * calling, the JSON body, and the replies (protocol/rest-calls.md).
 *
 * Credentials: `Authorization: Application <key>` everywhere; `Authorization: Agent <token>` (an
 * agent token) only on the reads of a call queue its agent is a member of. Every resource belongs
 * to the application of the key, so another application's uuid names nothing: 404, as an unknown one.
 */
import type { CallPrincipal } from '../../domain/calls/service.js';
import { parseAuthorization } from '../../domain/auth.js';
import { HoldlineError } from '../../errors.js';
import { JSON_TYPE, mediaType, readFields } from '../body.js';
import type { ServerContext } from '../context.js';
import type { Reply, RequestInfo } from '../http.js';

/** The key's application, or the token's agent; 401 for missing, malformed or invalid credentials. */
export async function principal(ctx: ServerContext, req: RequestInfo): Promise<CallPrincipal> {
  const creds = parseAuthorization(req.headers.authorization);
  if (creds === null) throw new HoldlineError('auth_required');
  const scheme = creds.scheme.toLowerCase();
  if (scheme === 'application') return { kind: 'application', app: await ctx.applicationForKey(creds.credential) };
  if (scheme === 'agent') {
    const who = await ctx.calls.authenticateToken(creds.credential);
    return { kind: 'agent', app: who.app, agent: who.agent };
  }
  throw new HoldlineError('auth_malformed');
}

/** Management and every write: an application key; a valid agent token is identified but may not (403). */
export function applicationOf(ctx: ServerContext, req: RequestInfo): Promise<string> {
  // An application key, as on every write: its check alone, without principal()'s async layers.
  let creds: ReturnType<typeof parseAuthorization>;
  try {
    creds = parseAuthorization(req.headers.authorization);
  } catch (err) {
    return Promise.reject(err);
  }
  if (creds !== null && creds.scheme.toLowerCase() === 'application') return ctx.applicationForKey(creds.credential);
  return principal(ctx, req).then((who) => {
    if (who.kind !== 'application') throw new HoldlineError('forbidden');
    return who.app;
  });
}

/**
 * Reads of one call queue: the application's key, or the token of an agent that is a member of it
 * (a queue it does not serve → 403 forbidden; a queue that does not exist → 404).
 */
export async function queueReader(ctx: ServerContext, req: RequestInfo, queueId: string): Promise<string> {
  const who = await principal(ctx, req);
  if (who.kind === 'agent') await ctx.calls.authorizeFollow(who, queueId);
  return who.app;
}

/**
 * The request's JSON object; an empty body is `{}`. These routes take JSON only: their fields are
 * typed (priority, paused, disabled), which a form cannot say, so any other media type → 415.
 */
export function jsonBody(req: RequestInfo): Record<string, unknown> {
  const type = mediaType(req);
  if (req.body.byteLength === 0 && (type === '' || type === JSON_TYPE)) return {};
  if (type !== JSON_TYPE) throw new HoldlineError('unsupported_media_type', { field: type === '' ? '(none)' : type });
  return readFields(req).data;
}

/** The payload seed answers with the resource itself (or a list of them), without an envelope. */
export function resource(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value), contentType: 'application/json' };
}

/** Every DELETE on these routes: done (or already gone, where that is not an error). */
export function noContent(): Reply {
  return { status: 204, body: '', contentType: 'application/json' };
}
