/**
 * Configuration from the environment (src/config.ts): the call-queue service-level default,
 * HOLDLINE_SERVICE_LEVEL_SECONDS, with its range (the one a queue's own service_level_seconds
 * accepts) and its refusal of anything else.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, configFromEnv } from '../../src/config.js';

describe('HOLDLINE_SERVICE_LEVEL_SECONDS', () => {
  it('defaults to 20 seconds', () => {
    expect(DEFAULTS.defaultServiceLevelSeconds).toBe(20);
    expect(configFromEnv({}).defaultServiceLevelSeconds).toBe(20);
    expect(configFromEnv({ HOLDLINE_SERVICE_LEVEL_SECONDS: '' }).defaultServiceLevelSeconds).toBe(20);
  });

  it('takes an integer from 0 to 86400', () => {
    for (const v of [0, 1, 45, 86_400]) {
      expect(configFromEnv({ HOLDLINE_SERVICE_LEVEL_SECONDS: String(v) }).defaultServiceLevelSeconds).toBe(v);
    }
  });

  it('refuses anything else, naming the variable', () => {
    for (const v of ['-1', '86401', '2.5', 'twenty', '1e9']) {
      expect(() => configFromEnv({ HOLDLINE_SERVICE_LEVEL_SECONDS: v }), v).toThrow(
        `HOLDLINE_SERVICE_LEVEL_SECONDS must be an integer from 0 to 86400, got "${v}"`,
      );
    }
  });

  it('leaves the other integer settings as they were', () => {
    expect(() => configFromEnv({ HOLDLINE_PORT: '-1' })).toThrow('HOLDLINE_PORT must be an integer from 0 to 65535, got "-1"');
  });
});
