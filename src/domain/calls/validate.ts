/**
 * Input of agents, call queues, members, callers, tags and agent tokens (protocol/calls.md "Input
 * rules"). The rules are the JSON Schemas in protocol/schemas/rest/ (the same ones /openapi.json
 * publishes), compiled once when this module loads, so a broken schema stops the boot naming its
 * route (or, when the build already compiled these very schemas, src/schemas-checked.ts, each at its
 * first use). Each parser validates what arrived (a parsed JSON body) against its route's schema, then
 * returns the typed input the store expects (defaults filled, uuids lower-cased), or throws the
 * catalogue error naming the offending field. What a schema cannot say stays here, next to it:
 * `agent_id` and `uuid` naming the same agent, the leave reason's "absent or empty", path ids.
 * Nothing here touches storage: a rejected input has changed nothing.
 */
import type { WallboardWindow } from '../../engine/wallboard.js';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import agentCreate from '../../../protocol/schemas/rest/agent-create.json' with { type: 'json' };
import agentUpdate from '../../../protocol/schemas/rest/agent-update.json' with { type: 'json' };
import callDefs from '../../../protocol/schemas/rest/call-defs.json' with { type: 'json' };
import callerCreate from '../../../protocol/schemas/rest/caller-create.json' with { type: 'json' };
import callerLeave from '../../../protocol/schemas/rest/caller-leave.json' with { type: 'json' };
import callerUpdate from '../../../protocol/schemas/rest/caller-update.json' with { type: 'json' };
import callqueueCreate from '../../../protocol/schemas/rest/callqueue-create.json' with { type: 'json' };
import callqueueUpdate from '../../../protocol/schemas/rest/callqueue-update.json' with { type: 'json' };
import memberCreate from '../../../protocol/schemas/rest/member-create.json' with { type: 'json' };
import memberRouting from '../../../protocol/schemas/rest/member-routing.json' with { type: 'json' };
import memberUpdate from '../../../protocol/schemas/rest/member-update.json' with { type: 'json' };
import offerAnswer from '../../../protocol/schemas/rest/offer-answer.json' with { type: 'json' };
import callerCallback from '../../../protocol/schemas/rest/caller-callback.json' with { type: 'json' };
import queueStatsQuery from '../../../protocol/schemas/rest/queue-stats-query.json' with { type: 'json' };
import routingSettings from '../../../protocol/schemas/rest/routing-settings.json' with { type: 'json' };
import tagAgent from '../../../protocol/schemas/rest/tag-agent.json' with { type: 'json' };
import tagCreate from '../../../protocol/schemas/rest/tag-create.json' with { type: 'json' };
import tagPut from '../../../protocol/schemas/rest/tag-put.json' with { type: 'json' };
import tokenCreate from '../../../protocol/schemas/rest/token-create.json' with { type: 'json' };
import tokenRevoke from '../../../protocol/schemas/rest/token-revoke.json' with { type: 'json' };
import { HoldlineError } from '../../errors.js';
import { CompiledOnUse, checkedAtBuild, fingerprint } from '../../schemas-checked.js';
import type { RequestBodies } from '../../types/requests.js';
import type {
  AgentPatch,
  CallQueuePatch,
  CallerPatch,
  LeaveReason,
  MemberPatch,
  NewAgent,
  NewCallQueue,
  NewCaller,
  NewMember,
  TagPut,
} from '../../engine/call-types.js';
import type { RoutingSettings } from '../../engine/routing-types.js';

export const LIMITS = {
  nameMax: 128,
  descriptionMax: 1024,
  labelMax: 64,
  numberMax: 256,
  pauseReasonMax: 128,
  serviceLevelMax: 86_400,
  defaultServiceLevel: 20,
  tokenTtlMax: 30 * 86_400,
  defaultTokenTtl: 8 * 3600,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Tag names (the `tag` rule of call-defs.json): never all digits, so a reference `7` is always an id. */
const TAG = new RegExp(callDefs.$defs.tag.pattern);

/** The request schema of each route these parsers serve; `route` names it when the schema is broken. */
const SCHEMAS = {
  'agent-create': { schema: agentCreate, route: 'POST /v1/agents' },
  'agent-update': { schema: agentUpdate, route: 'PUT /v1/agents/{agent}' },
  'token-create': { schema: tokenCreate, route: 'POST /v1/agents/{agent}/tokens' },
  'token-revoke': { schema: tokenRevoke, route: 'DELETE /v1/agents/{agent}/tokens' },
  'callqueue-create': { schema: callqueueCreate, route: 'POST /v1/queues' },
  'callqueue-update': { schema: callqueueUpdate, route: 'PUT /v1/queues/{queue}' },
  'member-create': { schema: memberCreate, route: 'POST /v1/queues/{queue}/members' },
  'member-update': { schema: memberUpdate, route: 'PUT /v1/queues/{queue}/members/{agent}' },
  'caller-create': { schema: callerCreate, route: 'POST /v1/queues/{queue}/callers' },
  'caller-update': { schema: callerUpdate, route: 'PUT /v1/queues/{queue}/callers/{caller}' },
  'caller-leave': { schema: callerLeave, route: 'DELETE /v1/queues/{queue}/callers/{caller}' },
  'tag-create': { schema: tagCreate, route: 'POST /v1/tags' },
  'tag-put': { schema: tagPut, route: 'PUT /v1/tags/{tag}' },
  'tag-agent': { schema: tagAgent, route: 'POST /v1/tags/{tag}/agents' },
  'routing-settings': { schema: routingSettings, route: 'PUT /v1/queues/{queue}/routing' },
  'member-routing': { schema: memberRouting, route: 'PUT /v1/queues/{queue}/members/{agent}/routing' },
  'offer-answer': { schema: offerAnswer, route: 'POST /v1/queues/{queue}/offers/{offer}/{answer}' },
  'queue-stats-query': { schema: queueStatsQuery, route: 'GET /v1/queues/{queue}/stats' },
  'caller-callback': { schema: callerCallback, route: 'POST /v1/queues/{queue}/callers/{caller}/callback' },
} as const;

type SchemaName = keyof typeof SCHEMAS;

/**
 * Compiles request schemas with the shared field rules (call-defs.json); a broken one throws naming
 * its route. minLength/maxLength count characters (code points).
 */
export function compileRequestSchemas<N extends string>(
  table: Record<N, { schema: object; route: string }>,
  opts: { lazy?: boolean } = {},
): Map<N, ValidateFunction> {
  const lazy = opts.lazy === true;
  const ajv = new Ajv({ strict: true, allErrors: false, allowUnionTypes: true, validateSchema: !lazy });
  ajv.addSchema(callDefs);
  const compilers = (Object.entries(table) as Array<[N, { schema: object; route: string }]>).map(
    ([name, { schema, route }]) =>
      [
        name,
        (): ValidateFunction => {
          try {
            return ajv.compile(schema);
          } catch (e) {
            throw new Error(`The request schema of ${route} (protocol/schemas/rest/${name}.json) is invalid: ${(e as Error).message}`);
          }
        },
      ] as const,
  );
  return lazy ? new CompiledOnUse(compilers) : new Map(compilers.map(([name, compile]) => [name, compile()] as const));
}

/** What scripts/check-schemas.mjs stamps once the build has compiled these schemas. */
export const CALL_SCHEMAS_FINGERPRINT = fingerprint([callDefs, SCHEMAS]);

/** Compiled when this module loads, that is at boot (at first use when the build compiled them). */
const VALIDATORS = compileRequestSchemas<SchemaName>(SCHEMAS, { lazy: checkedAtBuild('calls', CALL_SCHEMAS_FINGERPRINT) });


/** The first failure as the catalogue error: the top-level field it concerns, as the parsers always named it. */
function toError(err: ErrorObject | undefined): HoldlineError {
  if (err === undefined) return new HoldlineError('bad_request');
  const path = err.instancePath.split('/').filter((s) => s !== '');
  if (path.length === 0) {
    if (err.keyword === 'required') return new HoldlineError('missing_field', { field: (err.params as { missingProperty: string }).missingProperty });
    if (err.keyword === 'additionalProperties') {
      return new HoldlineError('invalid_field', { field: (err.params as { additionalProperty: string }).additionalProperty });
    }
    return new HoldlineError('bad_request');
  }
  return new HoldlineError('invalid_field', { field: path[0]! });
}

/** Validates a JSON object body against the named schema: the body, typed as that schema says (src/types/requests.ts). */
function validated<N extends SchemaName>(name: N, input: unknown): RequestBodies[N] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new HoldlineError('bad_request');
  const validate = VALIDATORS.get(name)!;
  if (!validate(input)) throw toError(validate.errors?.[0]);
  return input as RequestBodies[N];
}

function invalid(field: string): never {
  throw new HoldlineError('invalid_field', { field });
}

export function isUuid(v: string): boolean {
  return UUID.test(v.toLowerCase());
}

/**
 * A uuid in a path. A malformed one cannot name anything that exists, so it is the resource's
 * not-found error (404), not a 400: `GET /v1/queues/nope` and an unknown uuid answer alike.
 */
export function parsePathId(
  v: string,
  notFound: 'call_queue_not_found' | 'agent_not_found' | 'member_not_found' | 'caller_not_found',
): string {
  if (!isUuid(v)) throw new HoldlineError(notFound);
  return v.toLowerCase();
}

/** A tag reference in a path: a canonical decimal id or a valid name; anything else names no tag. */
export function parseTagRef(v: string): string {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) && !TAG.test(v)) throw new HoldlineError('tag_not_found');
  return v;
}

export function isTagName(v: string): boolean {
  return TAG.test(v);
}

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

// --- agents ---

export function parseNewAgent(input: unknown): NewAgent {
  const b = validated('agent-create', input ?? {});
  return {
    name: b.name ?? '',
    project_id: orNull(b.project_id),
    user_id: orNull(b.user_id),
  };
}

export function parseAgentPatch(input: unknown): AgentPatch {
  return { ...validated('agent-update', input) } as AgentPatch;
}

// --- call queues ---

export function parseNewCallQueue(input: unknown, defaultServiceLevel: number = LIMITS.defaultServiceLevel): NewCallQueue {
  const b = validated('callqueue-create', input);
  return {
    name: b.name,
    description: b.description ?? '',
    disabled: b.disabled ?? false,
    project_id: orNull(b.project_id),
    user_id: orNull(b.user_id),
    service_level_seconds: b.service_level_seconds ?? defaultServiceLevel,
  };
}

export function parseCallQueuePatch(input: unknown): CallQueuePatch {
  return { ...validated('callqueue-update', input) } as CallQueuePatch;
}

// --- members ---

/** The agent is named `agent_id` (as in the member route) or `uuid` (as in the member object). */
export function parseNewMember(input: unknown): NewMember {
  const b = validated('member-create', input);
  if (b.agent_id !== undefined && b.uuid !== undefined && b.agent_id.toLowerCase() !== b.uuid.toLowerCase()) invalid('uuid');
  const agent = b.agent_id ?? b.uuid;
  if (agent === undefined) throw new HoldlineError('missing_field', { field: 'agent_id' });
  return {
    agent_uuid: agent.toLowerCase(),
    number: b.number,
    paused: b.paused ?? false,
    pause_reason: orNull(b.pause_reason),
    status: b.status ?? 'available',
  };
}

export function parseMemberPatch(input: unknown): MemberPatch {
  return { ...validated('member-update', input) } as MemberPatch;
}

// --- callers ---

export function parseNewCaller(input: unknown): NewCaller {
  const b = validated('caller-create', input);
  const caller: NewCaller = { name: b.name ?? '', number: b.number, priority: b.priority ?? 0 };
  if (b.required_tags !== undefined && b.required_tags.length > 0) caller.required_tags = b.required_tags;
  return caller;
}

export function parseCallerPatch(input: unknown): CallerPatch {
  const p = { ...validated('caller-update', input) } as CallerPatch;
  if (typeof p.member_uuid === 'string') p.member_uuid = p.member_uuid.toLowerCase();
  return p;
}

export function parseLeaveReason(v: unknown): LeaveReason {
  if (v === undefined || v === null || v === '') throw new HoldlineError('missing_field', { field: 'reason' });
  return validated('caller-leave', { reason: v }).reason!;
}

// --- tags ---

export function parseNewTag(input: unknown): string {
  return validated('tag-create', input).tag;
}

export function parseTagPut(input: unknown): TagPut {
  const b = validated('tag-put', input ?? {});
  const p: TagPut = {};
  if (b.tag !== undefined) p.tag = b.tag;
  if (b.agents !== undefined) p.agents = [...new Set(b.agents.map((a) => a.toLowerCase()))];
  return p;
}

export function parseTagAgent(input: unknown): string {
  return validated('tag-agent', input).agent_id.toLowerCase();
}

// --- agent tokens ---

export function parseTokenRequest(input: unknown): { ttl: number } {
  const b = validated('token-create', input ?? {});
  return { ttl: b.ttl ?? LIMITS.defaultTokenTtl };
}

/** `{"token": …}` of DELETE /v1/agents/{agent}/tokens. */
export function parseTokenRevoke(input: unknown): string {
  return validated('token-revoke', input).token;
}

// --- routing (protocol/routing.md) ---

/** A PUT of routing settings: the fields given (the store sets them over the current ones). */
export function parseRoutingSettings(input: unknown): Partial<RoutingSettings> {
  return { ...validated('routing-settings', input) };
}

export function parseMemberRouting(input: unknown): number {
  return validated('member-routing', input).penalty;
}

/** The answering agent of a REST answer; absent when an agent token answers for itself. */
export function parseOfferAnswer(input: unknown): string | undefined {
  const b = validated('offer-answer', input ?? {});
  return b.agent_id === undefined ? undefined : b.agent_id.toLowerCase();
}

/** The body of a callback request: the number to call back, or null for the caller's own. */
export function parseCallbackRequest(input: unknown): string | null {
  return validated('caller-callback', input ?? {}).number ?? null;
}

/** The query of GET /v1/queues/{id}/stats: a wallboard window, or null for the plain statistics. */
export function parseStatsQuery(query: Record<string, string>): WallboardWindow | null {
  return validated('queue-stats-query', query).window ?? null;
}

/** A resume point from a client: a non-negative integer. */
export function parseSeq(v: unknown, field = 'since_seq'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) invalid(field);
  return v;
}
