/**
 * Turns the first schema violation ajv reports into the catalogue's code and field
 * (websocket.md section 8): the specific code where the field has one (`invalid_ttl`,
 * `invalid_limit`, …, as REST answers), else `missing_field` / `invalid_field`.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { ErrorCode } from '../errors.js';
import { MAX_HISTORY_LIMIT, MAX_TTL_SECONDS } from './limits.js';
import { formatPath } from './values.js';
import type { Path } from './values.js';

export interface FieldError {
  code: ErrorCode;
  field?: string;
  max?: number;
}

/**
 * Cross-field rules (oneOf/anyOf/not at the top of a frame) fail without a path; this names the
 * field to blame for each frame type that has one.
 */
const ROOT_RULE_FIELD: Readonly<Record<string, string>> = {
  auth: 'token', // both key and token: neither alone is reported as missing_field key
  subscribe: 'after', // after together with since
  'state.set': 'client_state',
};

/** Splits a JSON pointer, telling array indexes from object keys by looking at the data. */
function pathOf(pointer: string, data: unknown): Path {
  if (pointer === '') return [];
  const out: Path = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const i = Number(seg);
      out.push(i);
      node = node[i];
    } else {
      out.push(seg);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function specificCode(path: Path, keyword: string): FieldError | null {
  const top = path[0];
  const leaf = [...path].reverse().find((s): s is string => typeof s === 'string');
  const field = formatPath(path);
  if (top === 'after') return { code: 'invalid_message_id', field };
  if (top === 'partitions') return { code: 'invalid_partitions', field };
  switch (leaf) {
    case 'ttl':
      return { code: 'invalid_ttl', field, max: MAX_TTL_SECONDS };
    case 'limit':
      return { code: 'invalid_limit', field, max: MAX_HISTORY_LIMIT };
    case 'order':
      return { code: 'invalid_order', field };
    case 'since':
      return { code: 'invalid_since', field };
    case 'message_id':
    case 'in_reply_to':
      return { code: 'invalid_message_id', field };
    case 'partition':
      if (keyword === 'minimum' || keyword === 'maximum') return { code: 'partition_out_of_range', field };
      return null;
    case 'application':
    case 'queue':
      return path.length === 1 ? { code: 'invalid_name', field } : null;
    default:
      return null;
  }
}

export function fieldError(err: ErrorObject, data: unknown, type: string): FieldError {
  const path = pathOf(err.instancePath, data);
  const params = err.params as Record<string, unknown>;
  if (err.keyword === 'required') {
    return { code: 'missing_field', field: formatPath([...path, String(params.missingProperty)]) };
  }
  if (err.keyword === 'additionalProperties') {
    return { code: 'invalid_field', field: formatPath([...path, String(params.additionalProperty)]) };
  }
  if (err.propertyName !== undefined) {
    // A bad key of a map; the only map with constrained keys is subscribe's `after` (partitions).
    const field = formatPath([...path, err.propertyName]);
    return { code: path[0] === 'after' ? 'invalid_partitions' : 'invalid_field', field };
  }
  if (path.length === 0) {
    const field = ROOT_RULE_FIELD[type];
    return field === undefined ? { code: 'invalid_frame' } : { code: 'invalid_field', field };
  }
  return specificCode(path, err.keyword) ?? { code: 'invalid_field', field: formatPath(path) };
}
