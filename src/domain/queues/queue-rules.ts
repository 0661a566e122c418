/**
 * Queue metadata rules (SPEC.md section 2, Queuey "Queue Management"): defaults, ranges, principles,
 * and partitions that grow but never shrink.
 */
import { HoldlineError } from '../../errors.js';
import type { Consistency, QueueMeta, QueueType } from '../../engine/types.js';
import { APP_NAME_RE, assertQueueName, newQueueName } from '../names.js';

export const MAX_PARTITIONS = 200;
export const QUEUE_TYPES: readonly QueueType[] = ['user', 'public'];
export const CONSISTENCIES: readonly Consistency[] = ['weak', 'strong', 'very_strong'];

/** What a producer may set on a queue; absent fields take defaults (create) or stay (update). */
export interface QueueSettings {
  partitions?: number;
  type?: string;
  consistency?: string;
  /** `app:a,app:b` (form) or a list (JSON). */
  principles?: string | string[];
}

export interface CreateQueueInput extends QueueSettings {
  queue_name?: string;
}

function partitions(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_PARTITIONS) {
    throw new HoldlineError('invalid_field', {
      field: 'partitions',
      message: `partitions must be an integer from 1 to ${MAX_PARTITIONS}`,
    });
  }
  return value;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], field: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new HoldlineError('invalid_field', { field, message: `${field} must be one of ${allowed.join(', ')}` });
  }
  return value as T;
}

export const MAX_PRINCIPLES = 100;

const PRINCIPLE_RE = new RegExp(`^app:${APP_NAME_RE.source.slice(1, -1)}$`);

/**
 * Principles name the applications allowed to read, as `app:<name>` (Queuey also had Browser ID
 * principles; Holdline has no browser identities, so anything else is refused rather than ignored).
 */
export function normalizePrinciples(value: string | string[]): string[] {
  const items = (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  for (const p of items) {
    if (!PRINCIPLE_RE.test(p)) {
      throw new HoldlineError('invalid_field', { field: 'principles', message: `principle "${p}" must be app:<application name>` });
    }
  }
  const distinct = [...new Set(items)];
  // The JSON list's maxItems (queue-create.json), for the comma-separated form too: every read
  // of the queue checks its caller against this list.
  if (distinct.length > MAX_PRINCIPLES) {
    throw new HoldlineError('invalid_field', { field: 'principles', message: `At most ${MAX_PRINCIPLES} principles` });
  }
  return distinct;
}

export function newQueueMeta(application: string, input: CreateQueueInput, nowSeconds: number): QueueMeta {
  return {
    application,
    name: input.queue_name === undefined ? newQueueName() : assertQueueName(input.queue_name),
    partitions: input.partitions === undefined ? 1 : partitions(input.partitions),
    type: input.type === undefined ? 'user' : oneOf(input.type, QUEUE_TYPES, 'type'),
    consistency: input.consistency === undefined ? 'strong' : oneOf(input.consistency, CONSISTENCIES, 'consistency'),
    principles: input.principles === undefined ? [] : normalizePrinciples(input.principles),
    created: nowSeconds,
  };
}

/** Given settings overwrite the current ones (Queuey: principles are replaced, not merged). */
export function updatedQueueMeta(current: QueueMeta, input: QueueSettings): QueueMeta {
  const next: QueueMeta = { ...current };
  if (input.partitions !== undefined) {
    next.partitions = partitions(input.partitions);
    if (next.partitions < current.partitions) throw new HoldlineError('partitions_decrease', { field: 'partitions' });
  }
  if (input.type !== undefined) next.type = oneOf(input.type, QUEUE_TYPES, 'type');
  if (input.consistency !== undefined) next.consistency = oneOf(input.consistency, CONSISTENCIES, 'consistency');
  if (input.principles !== undefined) next.principles = normalizePrinciples(input.principles);
  return next;
}
