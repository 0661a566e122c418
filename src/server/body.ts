/**
 * Request bodies and query strings: JSON (`application/json`) and form (`application/x-www-form-urlencoded`),
 * both strictly decoded — invalid UTF-8, a bad percent escape or a repeated field are errors, never
 * silently replaced characters (URLSearchParams would turn them into U+FFFD).
 */
import { HoldlineError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { NO_QUERY_FIELDS } from './http.js';
import type { RequestInfo } from './http.js';

export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The media type of the request, lower case without parameters; '' when absent. */
export function mediaType(req: RequestInfo): string {
  const header = req.headers['content-type'];
  if (header === undefined) return '';
  const semicolon = header.indexOf(';');
  return (semicolon < 0 ? header : header.slice(0, semicolon)).trim().toLowerCase();
}

export function decodeUtf8(bytes: Uint8Array, field = 'body'): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new HoldlineError('invalid_utf8', { field });
  }
}

function decodeComponent(text: string, code: ErrorCode, field: string): string {
  const plus = text.replaceAll('+', ' ');
  if (!plus.includes('%')) return plus;
  if (/%(?![0-9a-fA-F]{2})/.test(plus)) throw new HoldlineError(code, { field, message: `Malformed percent-encoding in ${field}` });
  const bytes = Buffer.from(plus.replace(/%([0-9a-fA-F]{2})|[^%]+/g, (m, hex: string | undefined) =>
    hex === undefined ? Buffer.from(m, 'utf8').toString('latin1') : String.fromCharCode(parseInt(hex, 16)),
  ), 'latin1');
  return decodeUtf8(bytes, field);
}

/**
 * `a=1&b=2` into a map. Repeated names are refused (`invalid_form` / `bad_request` for queries):
 * which of two `ttl` values was meant is not a guess to make.
 */
export function parseUrlEncoded(text: string, code: ErrorCode = 'invalid_form', what = 'body'): Map<string, string> {
  const out = new Map<string, string>();
  if (text === '') return out;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), code, what);
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1), code, name);
    if (name === '') throw new HoldlineError(code, { field: what, message: `An empty field name in the ${what}` });
    if (out.has(name)) throw new HoldlineError(code, { field: name, message: `Field ${name} is given more than once` });
    out.set(name, value);
  }
  return out;
}

export function parseQuery(req: RequestInfo): Map<string, string> {
  return parseUrlEncoded(req.query, 'bad_request', 'query');
}

/** A query field the route does not take: refused, not ignored, so that it does not look accepted. */
export function unknownQueryField(name: string): HoldlineError {
  return new HoldlineError('invalid_field', { field: name, message: `Unknown query field ${name}` });
}

/**
 * The query's fields, each at most once and each in `allowed` (the route's documented query, as its
 * schema's additionalProperties says), else `invalid_field`. The dispatcher calls it before the
 * handler runs, on the routes whose query fields the router knows.
 */
export function checkedQuery(req: RequestInfo, allowed: ReadonlySet<string>): Readonly<Record<string, string>> {
  if (req.query === '') return NO_QUERY_FIELDS; // most requests: nothing to parse
  const q = parseQuery(req);
  for (const key of q.keys()) if (!allowed.has(key)) throw unknownQueryField(key);
  return Object.fromEntries(q);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HoldlineError('invalid_json', { field: 'body' });
  }
}

export type FieldSource = 'json' | 'form';

export interface Fields {
  source: FieldSource;
  /** A JSON object, or the form's fields (all strings). */
  data: Record<string, unknown>;
}

/**
 * A body of named fields, JSON or form. An empty body (with or without a Content-Type) is no fields;
 * any other media type → 415.
 */
export function readFields(req: RequestInfo): Fields {
  const type = mediaType(req);
  if (req.body.byteLength === 0 && (type === '' || type === JSON_TYPE || type === FORM_TYPE)) {
    return { source: type === JSON_TYPE ? 'json' : 'form', data: {} };
  }
  if (type === JSON_TYPE) {
    const value = parseJson(decodeUtf8(req.body));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new HoldlineError('bad_request', { field: 'body', message: 'The JSON body must be an object' });
    }
    return { source: 'json', data: value as Record<string, unknown> };
  }
  if (type === FORM_TYPE) {
    return { source: 'form', data: Object.fromEntries(parseUrlEncoded(decodeUtf8(req.body))) };
  }
  throw new HoldlineError('unsupported_media_type', { field: type === '' ? '(none)' : type });
}
