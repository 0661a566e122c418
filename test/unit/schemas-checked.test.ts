/**
 * Compiling the protocol schemas at first use (src/schemas-checked.ts, issue 11's start-up time):
 * only schemas the build compiled are compiled lazily, lazily compiled validators judge exactly as
 * eagerly compiled ones, the checks that need no compiling still run at load, and anything not
 * stamped by the build (the sources here) is compiled at load as before.
 */
import { describe, expect, it } from 'vitest';
import { compileFrameValidators } from '../../src/codec/schemas.js';
import { SCHEMA_FILES } from '../../src/codec/schema-files.js';
import { CALL_SCHEMAS_FINGERPRINT, compileRequestSchemas } from '../../src/domain/calls/validate.js';
import { HoldlineError } from '../../src/errors.js';
import { CHECKED_AT_BUILD, CompiledOnUse, checkedAtBuild, fingerprint } from '../../src/schemas-checked.js';
import { REST_SCHEMAS_FINGERPRINT, RequestSchemas } from '../../src/server/schemas.js';

const code = (fn: () => unknown): string | null => {
  try {
    fn();
  } catch (e) {
    return e instanceof HoldlineError ? e.code : `thrown: ${(e as Error).message}`;
  }
  return null;
};

/** The real frame schemas with client/ping.json replaced. */
const withPing = (ping: (real: Record<string, unknown>) => Record<string, unknown>) =>
  SCHEMA_FILES.map(([f, s]) => [f, f === 'client/ping.json' ? ping(structuredClone(s) as Record<string, unknown>) : s] as const);

describe('the build stamp', () => {
  it('is empty in the sources, so everything loaded here compiled its schemas at load', () => {
    expect(CHECKED_AT_BUILD).toEqual({});
    expect(checkedAtBuild('rest', REST_SCHEMAS_FINGERPRINT)).toBe(false);
  });

  it('matches only the very schemas the build fingerprinted', () => {
    const stamp = { rest: REST_SCHEMAS_FINGERPRINT, calls: CALL_SCHEMAS_FINGERPRINT };
    expect(checkedAtBuild('rest', REST_SCHEMAS_FINGERPRINT, stamp)).toBe(true);
    expect(checkedAtBuild('ws', REST_SCHEMAS_FINGERPRINT, stamp)).toBe(false);
    expect(checkedAtBuild('toString', REST_SCHEMAS_FINGERPRINT, stamp)).toBe(false);
    const edited = structuredClone(SCHEMA_FILES) as Array<[string, { properties?: Record<string, unknown> }]>;
    edited[1]![1].properties = { ...edited[1]![1].properties, extra: { type: 'string' } };
    expect(fingerprint(edited)).not.toBe(fingerprint(SCHEMA_FILES));
    expect(fingerprint(structuredClone(SCHEMA_FILES))).toBe(fingerprint(SCHEMA_FILES));
  });
});

describe('CompiledOnUse', () => {
  it('compiles each entry once, at its first get; has and size do not compile; iterating compiles the rest', () => {
    const compiled: string[] = [];
    const map = new CompiledOnUse(['a', 'b', 'c'].map((k) => [k, () => {
      compiled.push(k);
      return k.toUpperCase();
    }] as const));
    expect(map.has('b')).toBe(true);
    expect(map.has('z')).toBe(false);
    expect(map.size).toBe(3);
    expect(compiled).toEqual([]);
    expect(map.get('b')).toBe('B');
    expect(map.get('b')).toBe('B');
    expect(map.get('z')).toBeUndefined();
    expect(compiled).toEqual(['b']);
    expect([...map.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(compiled.sort()).toEqual(['a', 'b', 'c']);
    expect(map.size).toBe(3);
  });
});

describe('frame schemas compiled at first use', () => {
  it('judge frames as the eagerly compiled ones do', () => {
    const eager = compileFrameValidators(SCHEMA_FILES);
    const lazy = compileFrameValidators(SCHEMA_FILES, { lazy: true });
    const frames: Array<[string, unknown]> = [
      ['ping', { type: 'ping' }],
      ['ping', { type: 'ping', id: 'x', extra: 1 }],
      ['subscribe', { type: 'subscribe', application: 'shop', queue: 'q' }],
      ['subscribe', { type: 'subscribe', application: 'shop' }],
      ['publish', { type: 'publish', application: 'shop', queue: 'q', body: 'hi' }],
      ['publish', { type: 'publish', application: 'shop', queue: 'q', body: 7 }],
    ];
    const verdicts = frames.map(([type, frame]) => {
      const verdict = eager.client.get(type)!(frame);
      expect(lazy.client.get(type)!(frame), JSON.stringify(frame)).toBe(verdict);
      return verdict;
    });
    expect(verdicts).toContain(true);
    expect(verdicts).toContain(false);
    expect([...lazy.server.keys()].sort()).toEqual([...eager.server.keys()].sort());
  });

  it('still check at load what needs no compiling, and name the file when a schema fails at its first use', () => {
    expect(() => compileFrameValidators(withPing((s) => ({ ...s, $id: 'https://holdline.dev/schemas/ws/client/pong.json' })), { lazy: true })).toThrow(/client\/ping\.json: \$id/);
    const unknownKeyword = withPing((s) => ({ ...s, requird: ['type'] }));
    expect(() => compileFrameValidators(unknownKeyword)).toThrow(/client\/ping\.json/);
    const lazy = compileFrameValidators(unknownKeyword, { lazy: true });
    expect(() => lazy.client.get('ping')).toThrow(/client\/ping\.json/);
  });
});

describe('request schemas compiled at first use', () => {
  it('REST: judge as the eagerly compiled ones do, form coercion included', () => {
    const eager = new RequestSchemas({ lazy: false });
    const lazy = new RequestSchemas({ lazy: true });
    const cases: Array<['queue-create' | 'message' | 'message-delete', 'json' | 'form', Record<string, unknown>]> = [
      ['queue-create', 'form', { partitions: '3', type: 'public' }],
      ['queue-create', 'json', { partitions: '3' }],
      ['message', 'json', { body: 'x', ttl: 0 }],
      ['message-delete', 'json', { ids: [] }],
      ['message-delete', 'form', { ids: 'a,b' }],
    ];
    const verdicts = cases.map(([name, source, data]) => {
      const a = structuredClone(data);
      const b = structuredClone(data);
      const verdict = code(() => eager.validate(name, source, b));
      expect(code(() => lazy.validate(name, source, a)), `${name} ${source}`).toBe(verdict);
      expect(a).toEqual(b);
      return verdict;
    });
    expect(verdicts).toContain(null);
    expect(verdicts).toContain('invalid_field');
  });

  it('call queues: a broken schema throws naming its route, at load when eager, at its first use when lazy', () => {
    const broken = { broken: { schema: { type: 'object', properties: { n: { type: 'integer', minimm: 1 } } }, route: 'POST /v1/things' } };
    expect(() => compileRequestSchemas(broken)).toThrow(/request schema of POST \/v1\/things/);
    const lazy = compileRequestSchemas(broken, { lazy: true });
    expect(lazy.has('broken')).toBe(true);
    expect(() => lazy.get('broken')).toThrow(/request schema of POST \/v1\/things/);
  });
});
