/**
 * REST request schemas (protocol/schemas/rest/*.json), compiled once at start-up (STYLE.md example 9):
 * a schema mistake fails the boot with the schema named. When the build already compiled these very
 * schemas (src/schemas-checked.ts), each is compiled at its first use instead. JSON bodies are validated as they are; form
 * bodies (every value a string) by the same schemas with type coercion, so `partitions=3` and
 * `{"partitions": 3}` mean the same and `{"partitions": "3"}` does not pass.
 */
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { MAX_TTL } from '../config.js';
import { HoldlineError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import appCreate from '../../protocol/schemas/rest/app-create.json' with { type: 'json' };
import keyRotate from '../../protocol/schemas/rest/key-rotate.json' with { type: 'json' };
import messageBatch from '../../protocol/schemas/rest/message-batch.json' with { type: 'json' };
import messageDelete from '../../protocol/schemas/rest/message-delete.json' with { type: 'json' };
import messageUpdate from '../../protocol/schemas/rest/message-update.json' with { type: 'json' };
import message from '../../protocol/schemas/rest/message.json' with { type: 'json' };
import queueCreate from '../../protocol/schemas/rest/queue-create.json' with { type: 'json' };
import queueUpdate from '../../protocol/schemas/rest/queue-update.json' with { type: 'json' };
import { CompiledOnUse, checkedAtBuild, fingerprint } from '../schemas-checked.js';
import type { RequestBodies } from '../types/requests.js';
import type { FieldSource } from './body.js';

const SCHEMAS = {
  'app-create': appCreate,
  'key-rotate': keyRotate,
  'queue-create': queueCreate,
  'queue-update': queueUpdate,
  message,
  'message-batch': messageBatch,
  'message-update': messageUpdate,
  'message-delete': messageDelete,
} as const;

/** The route each schema validates, named when a schema is broken (the boot stops there). */
const ROUTE_OF: Record<keyof typeof SCHEMAS, string> = {
  'app-create': 'POST /v1/apps',
  'key-rotate': 'POST /v1/apps/{name}/keys/{key_id}/rotate',
  'queue-create': 'POST /{application}',
  'queue-update': 'PUT /{application}/{queue_name}',
  message: 'POST /{application}/{queue_name}',
  'message-batch': 'POST /{application}/{queue_name}',
  'message-update': 'PUT /{application}/{queue_name}/{message_id}',
  'message-delete': 'POST /{application}/{queue_name}/delete',
};

export type SchemaName = keyof typeof SCHEMAS;

/** What scripts/check-schemas.mjs stamps once the build has compiled these schemas. */
export const REST_SCHEMAS_FINGERPRINT = fingerprint(SCHEMAS);

/**
 * The integer fields of each schema. Ajv's coercion takes any string `+x` reads as a number
 * (`1e1`, `0x10`, ` 3`, `2.0`), so a form's integer is checked to be decimal digits first, as the
 * query string's integers are: `partitions=1e1` must not make 10 partitions.
 */
const INTEGER_FIELDS = Object.fromEntries(
  Object.entries(SCHEMAS).map(([name, schema]) => {
    const properties = ('properties' in schema ? schema.properties : {}) as Record<string, { type?: unknown }>;
    return [name, Object.keys(properties).filter((field) => properties[field]!.type === 'integer')];
  }),
) as unknown as Record<SchemaName, readonly string[]>;

const DECIMAL_INTEGER_RE = /^-?\d+$/;

export const IN_REPLY_TO_MALFORMED = (field: string): string => `Field ${field} must be a message id: 32 lowercase hex characters`;

/** Error code for a failing field, by its name; anything else is invalid_field. */
const FIELD_CODES: Record<string, ErrorCode> = { ttl: 'invalid_ttl', queue_name: 'invalid_name', name: 'invalid_name', in_reply_to: 'invalid_message_id' };

export class RequestSchemas {
  private readonly validators: Map<string, ValidateFunction>;
  private readonly found: Record<FieldSource, Map<SchemaName, ValidateFunction>> = { json: new Map(), form: new Map() };

  /** `lazy`: compile each schema at its first use (only for schemas the build compiled; see above). */
  constructor(opts: { lazy?: boolean } = { lazy: checkedAtBuild('rest', REST_SCHEMAS_FINGERPRINT) }) {
    const lazy = opts.lazy === true;
    const strict = new Ajv({ strict: true, allErrors: false, validateSchema: !lazy });
    const coercing = new Ajv({ strict: true, allErrors: false, coerceTypes: true, validateSchema: !lazy });
    for (const ajv of [strict, coercing]) {
      for (const [name, schema] of Object.entries(SCHEMAS)) {
        try {
          ajv.addSchema(schema, `${name}.json`);
        } catch (e) {
          throw new Error(`The request schema of ${ROUTE_OF[name as SchemaName]} (protocol/schemas/rest/${name}.json) is invalid: ${(e as Error).message}`);
        }
      }
    }
    const compilers: Array<readonly [string, () => ValidateFunction]> = [];
    for (const name of Object.keys(SCHEMAS) as SchemaName[]) {
      for (const [source, ajv] of [['json', strict], ['form', coercing]] as const) {
        compilers.push([`${source}:${name}`, () => {
          let validate: ValidateFunction | undefined;
          try {
            validate = ajv.getSchema(`${name}.json`);
          } catch (e) {
            throw new Error(`The request schema of ${ROUTE_OF[name]} (protocol/schemas/rest/${name}.json) does not compile: ${(e as Error).message}`);
          }
          if (validate === undefined) throw new Error(`The request schema of ${ROUTE_OF[name]} (protocol/schemas/rest/${name}.json) did not compile`);
          return validate;
        }]);
      }
    }
    this.validators = lazy ? new CompiledOnUse(compilers) : new Map(compilers.map(([key, compile]) => [key, compile()] as const));
  }

  /**
   * Returns the (possibly coerced) data, typed as the schema says (src/types/requests.ts, generated
   * from the same files), or throws the catalogue error for the first failure.
   */
  validate<N extends SchemaName>(name: N, source: FieldSource, data: Record<string, unknown>, fieldName: (path: string) => string = samePath): RequestBodies[N] {
    // Found once per schema and source, then without building the key: every post validates.
    const found = this.found[source];
    let validate = found.get(name);
    if (validate === undefined) {
      validate = this.validators.get(`${source}:${name}`)!;
      found.set(name, validate);
    }
    if (source === 'form') {
      for (const field of INTEGER_FIELDS[name]) {
        const value = data[field];
        if (typeof value === 'string' && !DECIMAL_INTEGER_RE.test(value)) {
          throw toHoldlineError({ keyword: 'type', instancePath: `/${field}`, schemaPath: '', params: {}, message: 'must be integer' }, fieldName);
        }
      }
    }
    if (validate(data)) return data as unknown as RequestBodies[N];
    throw toHoldlineError(mostSpecific(validate.errors), fieldName);
  }
}

const GENERIC_KEYWORDS = new Set(['type', 'anyOf']);

/**
 * The failure to report. Ajv reports an `anyOf` with every branch's failure, the first being a
 * branch the value was never meant for (`principles: ["bad"]` fails "must be string" before the
 * list item's pattern): the deepest failure, then one more telling than a type, says what is wrong.
 */
function mostSpecific(errors: ErrorObject[] | null | undefined): ErrorObject | undefined {
  if (errors === null || errors === undefined) return undefined;
  const depth = (e: ErrorObject) => e.instancePath.split('/').length;
  let best = errors[0];
  for (const e of errors) {
    if (best === undefined || depth(e) > depth(best) || (depth(e) === depth(best) && GENERIC_KEYWORDS.has(best.keyword) && !GENERIC_KEYWORDS.has(e.keyword))) best = e;
  }
  return best;
}

function samePath(path: string): string {
  return path;
}

function toHoldlineError(err: ErrorObject | undefined, fieldName: (path: string) => string): HoldlineError {
  if (err === undefined) return new HoldlineError('bad_request');
  const path = err.instancePath.split('/').filter((s) => s !== '');
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    return new HoldlineError('missing_field', { field: fieldName([...path, missing].join('.')) });
  }
  if (err.keyword === 'additionalProperties') {
    const extra = (err.params as { additionalProperty: string }).additionalProperty;
    const field = fieldName([...path, extra].join('.'));
    return new HoldlineError('invalid_field', { field, message: `Unknown field ${field}` });
  }
  const field = fieldName(path.join('.'));
  const last = [...path].reverse().find((s) => !/^\d+$/.test(s));
  const code = (last !== undefined && FIELD_CODES[last]) || 'invalid_field';
  if (code === 'invalid_field') return new HoldlineError(code, { field, message: `Field ${field} ${err.message ?? 'is invalid'}` });
  // The catalogue's "Message id {field} is malformed" is for an id in a path; here field is a name.
  if (code === 'invalid_message_id') return new HoldlineError(code, { field, message: IN_REPLY_TO_MALFORMED(field) });
  return new HoldlineError(code, { field, max: MAX_TTL });
}
