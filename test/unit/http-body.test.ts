import { describe, expect, it } from 'vitest';
import { HoldlineError } from '../../src/errors.js';
import { checkedQuery, decodeUtf8, parseUrlEncoded, readFields } from '../../src/server/body.js';
import type { RequestInfo } from '../../src/server/http.js';
import { RequestSchemas } from '../../src/server/schemas.js';
import { thrownCode } from '../helpers/errors.js';

function req(contentType: string | undefined, body: string | Uint8Array): RequestInfo {
  return {
    method: 'POST', url: '/', query: '', params: {}, queryFields: {},
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
  };
}

describe('form decoding', () => {
  it('decodes +, percent escapes and multi-byte UTF-8', () => {
    expect(parseUrlEncoded('a=1+2&b=%C3%A9t%C3%A9&c=&d')).toEqual(new Map([['a', '1 2'], ['b', 'été'], ['c', ''], ['d', '']]));
    expect(parseUrlEncoded('message.0.body=x%26y%3Dz')).toEqual(new Map([['message.0.body', 'x&y=z']]));
    expect(parseUrlEncoded('')).toEqual(new Map());
    expect(parseUrlEncoded('a=1&&b=2')).toEqual(new Map([['a', '1'], ['b', '2']]));
  });

  it('refuses bad escapes, invalid UTF-8, empty names and repeated fields', () => {
    expect(thrownCode(() => parseUrlEncoded('a=%'))).toBe('invalid_form');
    expect(thrownCode(() => parseUrlEncoded('a=%4'))).toBe('invalid_form');
    expect(thrownCode(() => parseUrlEncoded('a=%g0'))).toBe('invalid_form');
    expect(thrownCode(() => parseUrlEncoded('a=%C3'))).toBe('invalid_utf8');
    expect(thrownCode(() => parseUrlEncoded('a=%ED%A0%80'))).toBe('invalid_utf8'); // a UTF-16 surrogate, not UTF-8
    expect(thrownCode(() => parseUrlEncoded('=1'))).toBe('invalid_form');
    expect(thrownCode(() => parseUrlEncoded('a=1&a=2'))).toBe('invalid_form');
    expect(thrownCode(() => parseUrlEncoded('a=1&a=2', 'bad_request', 'query'))).toBe('bad_request');
  });

  it('decodes UTF-8 strictly', () => {
    expect(decodeUtf8(new Uint8Array([0xe2, 0x9c, 0x93]))).toBe('✓');
    expect(thrownCode(() => decodeUtf8(new Uint8Array([0xc3, 0x28])))).toBe('invalid_utf8');
    expect(thrownCode(() => decodeUtf8(new Uint8Array([0xf8, 0x88, 0x80, 0x80, 0x80])))).toBe('invalid_utf8');
  });
});

describe('readFields', () => {
  it('reads JSON objects and forms; an empty body is no fields', () => {
    expect(readFields(req('application/json; charset=utf-8', '{"a":1}'))).toEqual({ source: 'json', data: { a: 1 } });
    expect(readFields(req('Application/X-WWW-Form-Urlencoded', 'a=1'))).toEqual({ source: 'form', data: { a: '1' } });
    expect(readFields(req(undefined, ''))).toEqual({ source: 'form', data: {} });
    expect(readFields(req('application/json', ''))).toEqual({ source: 'json', data: {} });
  });

  it('refuses malformed JSON, non-objects and other media types', () => {
    expect(thrownCode(() => readFields(req('application/json', '{')))).toBe('invalid_json');
    expect(thrownCode(() => readFields(req('application/json', 'null')))).toBe('bad_request');
    expect(thrownCode(() => readFields(req('application/json', '[1]')))).toBe('bad_request');
    expect(thrownCode(() => readFields(req('application/json', new Uint8Array([0x22, 0xff, 0x22]))))).toBe('invalid_utf8');
    expect(thrownCode(() => readFields(req('text/plain', 'a=1')))).toBe('unsupported_media_type');
    expect(thrownCode(() => readFields(req(undefined, 'a=1')))).toBe('unsupported_media_type');
  });
});

describe('checkedQuery', () => {
  const get = (query: string): RequestInfo => ({ ...req(undefined, ''), method: 'GET', query });
  const allowed = new Set(['limit', 'order']);

  it('gives the fields a route takes, and parses nothing when there is no query', () => {
    expect(checkedQuery(get('limit=5&order=descending'), allowed)).toEqual({ limit: '5', order: 'descending' });
    expect(checkedQuery(get(''), allowed)).toBe(checkedQuery(get(''), new Set()));
  });

  it('refuses any other field by name, and a repeated or malformed one as before', () => {
    let thrown: unknown;
    try {
      checkedQuery(get('limit=5&force=1'), allowed);
    } catch (e) {
      thrown = e;
    }
    expect(thrown instanceof HoldlineError && thrown.toBody()).toEqual({ status: 'error', error: { code: 'invalid_field', field: 'force', message: 'Unknown query field force' } });
    expect(thrownCode(() => checkedQuery(get('limit=1&limit=2'), allowed))).toBe('bad_request');
    expect(thrownCode(() => checkedQuery(get('force=%zz'), allowed))).toBe('bad_request');
    expect(thrownCode(() => checkedQuery(get('__proto__=1'), allowed))).toBe('invalid_field');
  });
});

describe('RequestSchemas', () => {
  const schemas = new RequestSchemas();

  it('coerces form strings but not JSON strings', () => {
    expect(schemas.validate('queue-create', 'form', { partitions: '3', type: 'public' })).toEqual({ partitions: 3, type: 'public' });
    expect(thrownCode(() => schemas.validate('queue-create', 'json', { partitions: '3' }))).toBe('invalid_field');
    expect(thrownCode(() => schemas.validate('queue-create', 'form', { partitions: '' }))).toBe('invalid_field');
  });

  it('maps failures to catalogue codes with the field named', () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return { code: (e as HoldlineError).code, field: (e as HoldlineError).field };
      }
      return null;
    };
    expect(err(() => schemas.validate('message', 'json', {}))).toEqual({ code: 'missing_field', field: 'body' });
    expect(err(() => schemas.validate('message', 'json', { body: 'x', ttl: 0 }))).toEqual({ code: 'invalid_ttl', field: 'ttl' });
    expect(err(() => schemas.validate('message-batch', 'json', { messages: [{ body: 'x' }, { body: 1 }] }))).toEqual({ code: 'invalid_field', field: 'messages.1.body' });
    // anyOf: the branch the value was meant for, not "must be string" for a list.
    const message = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as HoldlineError).message;
      }
      return null;
    };
    expect(err(() => schemas.validate('queue-create', 'json', { principles: ['app:ok', 'nope'] }))).toEqual({ code: 'invalid_field', field: 'principles.1' });
    expect(message(() => schemas.validate('queue-create', 'json', { principles: ['nope'] }))).toMatch(/^Field principles\.0 must match pattern/);
    expect(message(() => schemas.validate('message-delete', 'json', { ids: [] }))).toBe('Field ids must NOT have fewer than 1 items');
    expect(message(() => schemas.validate('message-delete', 'json', { ids: '' }))).toBe('Field ids must NOT have fewer than 1 characters');
    expect(message(() => schemas.validate('message', 'json', { body: 'x', in_reply_to: 'ABC' }))).toBe('Field in_reply_to must be a message id: 32 lowercase hex characters');
    expect(err(() => schemas.validate('message', 'form', { body: 'x', ttl: 'no' }, (p) => `message.4.${p}`))).toEqual({ code: 'invalid_ttl', field: 'message.4.ttl' });
    expect(err(() => schemas.validate('queue-create', 'json', { colour: 'red' }))).toEqual({ code: 'invalid_field', field: 'colour' });
    expect(err(() => schemas.validate('queue-create', 'json', { queue_name: 'a b' }))).toEqual({ code: 'invalid_name', field: 'queue_name' });
    expect(err(() => schemas.validate('app-create', 'json', { name: 'x'.repeat(51) }))).toEqual({ code: 'invalid_name', field: 'name' });
  });
});
