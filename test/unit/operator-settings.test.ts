/**
 * Issue 11's settings and schema rules: HOLDLINE_CORS_ORIGINS / HOLDLINE_METRICS_TOKEN /
 * HOLDLINE_ACCESS_LOG as configFromEnv reads them, and a broken request schema stopping the boot
 * with its route named.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, configFromEnv } from '../../src/config.js';
import { compileRequestSchemas } from '../../src/domain/calls/validate.js';
import { CorsPolicy, normalizeOrigin } from '../../src/server/cors.js';

describe('operator settings', () => {
  it('are off by default', () => {
    const c = configFromEnv({});
    expect(c.corsOrigins).toEqual([]);
    expect(c.metricsToken).toBeUndefined();
    expect(c.accessLog).toBe(false);
    expect(DEFAULTS).toMatchObject({ corsOrigins: [], metricsToken: undefined, accessLog: false });
  });

  it('read a comma list of origins, a token and a flag', () => {
    const c = configFromEnv({ HOLDLINE_CORS_ORIGINS: 'https://desk.example.com, http://localhost:5173,', HOLDLINE_METRICS_TOKEN: 't0k', HOLDLINE_ACCESS_LOG: 'true' });
    expect(c.corsOrigins).toEqual(['https://desk.example.com', 'http://localhost:5173']);
    expect(c.metricsToken).toBe('t0k');
    expect(c.accessLog).toBe(true);
    expect(configFromEnv({ HOLDLINE_ACCESS_LOG: '1' }).accessLog).toBe(true);
    expect(configFromEnv({ HOLDLINE_ACCESS_LOG: 'no' }).accessLog).toBe(false);
  });

  it('compare origins by scheme, host and port', () => {
    expect(normalizeOrigin('HTTPS://Desk.Example.com:443/')).toBe('https://desk.example.com');
    expect(normalizeOrigin('desk.example.com')).toBeNull();
    expect(normalizeOrigin('ftp://x')).toBeNull();
    const cors = new CorsPolicy(['https://desk.example.com']);
    expect(cors.allows('https://desk.example.com')).toBe(true);
    expect(cors.allows('https://DESK.example.com:443')).toBe(true);
    expect(cors.allows('http://desk.example.com')).toBe(false);
    expect(cors.allows('https://desk.example.com:8443')).toBe(false);
    expect(cors.allows('null')).toBe(false);
    expect(cors.allowsUpgrade('', 'h:1')).toBe(true);
    expect(cors.allowsUpgrade('http://h:1', 'h:1')).toBe(true);
    expect(cors.allowsUpgrade('http://h:2', 'h:1')).toBe(false);
    expect(cors.allowsUpgrade('null', 'h:1')).toBe(false);
  });
});

describe('request schemas', () => {
  it('a broken one stops the boot naming its route', () => {
    expect(() => compileRequestSchemas({ broken: { schema: { type: 'object', properties: { n: { type: 'integer', minimum: 'one' } } }, route: 'POST /v1/things' } })).toThrow(
      /request schema of POST \/v1\/things \(protocol\/schemas\/rest\/broken\.json\) is invalid/,
    );
    expect(() => compileRequestSchemas({ dangling: { schema: { $ref: 'call-defs.json#/$defs/nothing' }, route: 'PUT /v1/things/{id}' } })).toThrow(/PUT \/v1\/things\/\{id\}/);
  });
});
