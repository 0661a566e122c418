/**
 * Input rules for agents, call queues, members, callers, tags and agent tokens (protocol/calls.md
 * "Input rules"). Each parser takes what arrived (a parsed JSON body, a path segment) and returns
 * the typed input the store expects, or throws the catalogue error naming the offending field.
 * Nothing here touches storage: a rejected input has changed nothing.
 */
import { HoldlineError } from '../../errors.js';
import {
  CALLER_STATUSES,
  LEAVE_REASONS,
  MEMBER_STATUSES,
  PRIORITY_MAX,
  PRIORITY_MIN,
  type AgentPatch,
  type CallQueuePatch,
  type CallerPatch,
  type CallerStatus,
  type LeaveReason,
  type MemberPatch,
  type MemberStatus,
  type NewAgent,
  type NewCallQueue,
  type NewCaller,
  type NewMember,
  type TagPut,
} from '../../engine/call-types.js';

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
/** project_id / user_id: opaque labels, e.g. the 32-hex ids of the payload seed. */
const LABEL = /^[A-Za-z0-9_.:@-]{1,64}$/;
/** Tag names: skill-like words; never all digits, so a reference `7` is always an id. */
const TAG = /^(?!\d+$)[A-Za-z0-9_.:-]{1,64}$/;
/** A dialable number (`6135551234`, `+441234567890`, `*98`). */
const DIALABLE = /^\+?[0-9*#]{1,32}$/;
/** A SIP URI, scheme optional (`1001@example.org`, `sip:alice@10.0.0.1:5060`). */
const SIP = /^(?:sips?:)?[A-Za-z0-9._~+!$&'()*,;=%-]{1,64}@[A-Za-z0-9.-]{1,190}(?::[0-9]{1,5})?$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A UTF-16 surrogate without its pair: not encodable as UTF-8 (the Redis scripts' JSON refuses it). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type Body = Record<string, unknown>;

function body(input: unknown, allowed: readonly string[]): Body {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new HoldlineError('bad_request');
  const b = input as Body;
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw new HoldlineError('invalid_field', { field: k });
  return b;
}

function invalid(field: string): never {
  throw new HoldlineError('invalid_field', { field });
}

function text(v: unknown, field: string, min: number, max: number): string {
  if (typeof v !== 'string' || v.length < min || v.length > max || CONTROL.test(v) || LONE_SURROGATE.test(v)) invalid(field);
  return v;
}

function label(v: unknown, field: string): string | null {
  if (v === null) return null;
  if (typeof v !== 'string' || !LABEL.test(v)) invalid(field);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') invalid(field);
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) invalid(field);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) invalid(field);
  return v as T;
}

function required(b: Body, field: string): unknown {
  if (b[field] === undefined) throw new HoldlineError('missing_field', { field });
  return b[field];
}

function uuidField(v: unknown, field: string): string {
  if (typeof v !== 'string' || !UUID.test(v.toLowerCase())) invalid(field);
  return v.toLowerCase();
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

function number(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length > LIMITS.numberMax || !(DIALABLE.test(v) || SIP.test(v))) invalid(field);
  return v;
}

// --- agents ---

const AGENT_FIELDS = ['name', 'project_id', 'user_id'] as const;

export function parseNewAgent(input: unknown): NewAgent {
  const b = body(input ?? {}, AGENT_FIELDS);
  return {
    name: b.name === undefined ? '' : text(b.name, 'name', 0, LIMITS.nameMax),
    project_id: b.project_id === undefined ? null : label(b.project_id, 'project_id'),
    user_id: b.user_id === undefined ? null : label(b.user_id, 'user_id'),
  };
}

export function parseAgentPatch(input: unknown): AgentPatch {
  const b = body(input, AGENT_FIELDS);
  const p: AgentPatch = {};
  if (b.name !== undefined) p.name = text(b.name, 'name', 0, LIMITS.nameMax);
  if (b.project_id !== undefined) p.project_id = label(b.project_id, 'project_id');
  if (b.user_id !== undefined) p.user_id = label(b.user_id, 'user_id');
  return p;
}

// --- call queues ---

const QUEUE_FIELDS = ['name', 'description', 'disabled', 'project_id', 'user_id', 'service_level_seconds'] as const;

export function parseNewCallQueue(input: unknown, defaultServiceLevel: number = LIMITS.defaultServiceLevel): NewCallQueue {
  const b = body(input, QUEUE_FIELDS);
  return {
    name: text(required(b, 'name'), 'name', 1, LIMITS.nameMax),
    description: b.description === undefined ? '' : text(b.description, 'description', 0, LIMITS.descriptionMax),
    disabled: b.disabled === undefined ? false : bool(b.disabled, 'disabled'),
    project_id: b.project_id === undefined ? null : label(b.project_id, 'project_id'),
    user_id: b.user_id === undefined ? null : label(b.user_id, 'user_id'),
    service_level_seconds:
      b.service_level_seconds === undefined
        ? defaultServiceLevel
        : int(b.service_level_seconds, 'service_level_seconds', 0, LIMITS.serviceLevelMax),
  };
}

export function parseCallQueuePatch(input: unknown): CallQueuePatch {
  const b = body(input, QUEUE_FIELDS);
  const p: CallQueuePatch = {};
  if (b.name !== undefined) p.name = text(b.name, 'name', 1, LIMITS.nameMax);
  if (b.description !== undefined) p.description = text(b.description, 'description', 0, LIMITS.descriptionMax);
  if (b.disabled !== undefined) p.disabled = bool(b.disabled, 'disabled');
  if (b.project_id !== undefined) p.project_id = label(b.project_id, 'project_id');
  if (b.user_id !== undefined) p.user_id = label(b.user_id, 'user_id');
  if (b.service_level_seconds !== undefined) {
    p.service_level_seconds = int(b.service_level_seconds, 'service_level_seconds', 0, LIMITS.serviceLevelMax);
  }
  return p;
}

// --- members ---

function pauseReason(v: unknown): string | null {
  return v === null ? null : text(v, 'pause_reason', 1, LIMITS.pauseReasonMax);
}

/** The agent is named `agent_id` (as in the member route) or `uuid` (as in the member object). */
export function parseNewMember(input: unknown): NewMember {
  const b = body(input, ['agent_id', 'uuid', 'number', 'paused', 'pause_reason', 'status']);
  if (b.agent_id !== undefined && b.uuid !== undefined && b.agent_id !== b.uuid) invalid('uuid');
  const agentField = b.agent_id !== undefined ? 'agent_id' : 'uuid';
  if (b[agentField] === undefined) throw new HoldlineError('missing_field', { field: 'agent_id' });
  const paused = b.paused === undefined ? false : bool(b.paused, 'paused');
  return {
    agent_uuid: uuidField(b[agentField], agentField),
    number: number(required(b, 'number'), 'number'),
    paused,
    pause_reason: b.pause_reason === undefined ? null : pauseReason(b.pause_reason),
    status: b.status === undefined ? 'available' : oneOf<MemberStatus>(b.status, 'status', MEMBER_STATUSES),
  };
}

export function parseMemberPatch(input: unknown): MemberPatch {
  const b = body(input, ['number', 'paused', 'pause_reason', 'status']);
  const p: MemberPatch = {};
  if (b.number !== undefined) p.number = number(b.number, 'number');
  if (b.paused !== undefined) p.paused = bool(b.paused, 'paused');
  if (b.pause_reason !== undefined) p.pause_reason = pauseReason(b.pause_reason);
  if (b.status !== undefined) p.status = oneOf<MemberStatus>(b.status, 'status', MEMBER_STATUSES);
  return p;
}

// --- callers ---

export function parseNewCaller(input: unknown): NewCaller {
  const b = body(input, ['name', 'number', 'priority']);
  return {
    name: b.name === undefined ? '' : text(b.name, 'name', 0, LIMITS.nameMax),
    number: number(required(b, 'number'), 'number'),
    priority: b.priority === undefined ? 0 : int(b.priority, 'priority', PRIORITY_MIN, PRIORITY_MAX),
  };
}

export function parseCallerPatch(input: unknown): CallerPatch {
  const b = body(input, ['priority', 'status', 'member_uuid']);
  const p: CallerPatch = {};
  if (b.priority !== undefined) p.priority = int(b.priority, 'priority', PRIORITY_MIN, PRIORITY_MAX);
  if (b.status !== undefined) p.status = oneOf<CallerStatus>(b.status, 'status', CALLER_STATUSES);
  if (b.member_uuid !== undefined) p.member_uuid = b.member_uuid === null ? null : uuidField(b.member_uuid, 'member_uuid');
  return p;
}

export function parseLeaveReason(v: unknown): LeaveReason {
  if (v === undefined || v === null || v === '') throw new HoldlineError('missing_field', { field: 'reason' });
  return oneOf<LeaveReason>(v, 'reason', LEAVE_REASONS);
}

// --- tags ---

export function parseTagName(v: unknown, field = 'tag'): string {
  if (v === undefined) throw new HoldlineError('missing_field', { field });
  if (typeof v !== 'string' || !TAG.test(v)) invalid(field);
  return v;
}

export function parseNewTag(input: unknown): string {
  return parseTagName(required(body(input, ['tag']), 'tag'));
}

export function parseTagPut(input: unknown): TagPut {
  const b = body(input ?? {}, ['tag', 'agents']);
  const p: TagPut = {};
  if (b.tag !== undefined) p.tag = parseTagName(b.tag);
  if (b.agents !== undefined) {
    if (!Array.isArray(b.agents) || b.agents.length > 10_000) invalid('agents');
    p.agents = [...new Set(b.agents.map((a) => uuidField(a, 'agents')))];
  }
  return p;
}

export function parseTagAgent(input: unknown): string {
  return uuidField(required(body(input, ['agent_id']), 'agent_id'), 'agent_id');
}

// --- agent tokens ---

export function parseTokenRequest(input: unknown): { ttl: number } {
  const b = body(input ?? {}, ['ttl']);
  return { ttl: b.ttl === undefined ? LIMITS.defaultTokenTtl : int(b.ttl, 'ttl', 1, LIMITS.tokenTtlMax) };
}

/** A resume point from a client: a non-negative integer. */
export function parseSeq(v: unknown, field = 'since_seq'): number {
  return int(v, field, 0, Number.MAX_SAFE_INTEGER);
}
