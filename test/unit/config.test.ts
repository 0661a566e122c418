/**
 * Configuration from the environment (src/config.ts): the call-queue service-level default,
 * HOLDLINE_SERVICE_LEVEL_SECONDS, with its range (the one a queue's own service_level_seconds
 * accepts) and its refusal of anything else.
 */
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, SETTINGS, SETTING_KEYS, configFileSchema, configFromEnv, redactUrl, resolveConfig, type SettingKey } from '../../src/config.js';

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

  it('refuses a sweep interval longer than a timer can wait (Node would sweep every millisecond instead)', () => {
    expect(configFromEnv({ HOLDLINE_SWEEP_INTERVAL_MS: '2147483647' }).sweepIntervalMs).toBe(2 ** 31 - 1);
    expect(() => configFromEnv({ HOLDLINE_SWEEP_INTERVAL_MS: '3000000000' })).toThrow(
      'HOLDLINE_SWEEP_INTERVAL_MS must be an integer from 1 to 2147483647, got "3000000000"',
    );
  });
});

describe('the settings table', () => {
  /** README.md's configuration table, row by row, as the settings table says it must read. */
  function readmeRows(): string[] {
    return SETTING_KEYS.map((key) => {
      const s = SETTINGS[key] as (typeof SETTINGS)[SettingKey];
      const flag = s.type.placeholder === null ? s.flag : `${s.flag} ${s.type.placeholder}`;
      const shown = (s.type.show as (v: unknown) => string)(s.default);
      return `| \`${s.env}\` | \`${flag.replace(/\|/g, '\\|')}\` | \`${key}\` | ${shown} | ${s.description} |`;
    });
  }

  it('is README.md\'s configuration table, every row, in order', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.split('\n').filter((l) => /^\| `HOLDLINE_/.test(l));
    expect(table).toEqual(readmeRows());
  });

  it('gives every setting its own variable, flag and key, and a default its type accepts', () => {
    const envs = SETTING_KEYS.map((k) => SETTINGS[k].env);
    const flags = SETTING_KEYS.map((k) => SETTINGS[k].flag);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(flags).size).toBe(flags.length);
    const schema = configFileSchema();
    const check = new Ajv({ strict: true }).compile(schema);
    const defined = Object.fromEntries(Object.entries(DEFAULTS).filter(([, v]) => v !== undefined));
    expect(check(defined), JSON.stringify(check.errors)).toBe(true);
  });

  it('reads the environment, a config file and flags, in that order of strength', () => {
    const file = { path: 'h.json', data: { port: 1, host: '0.0.0.0', corsOrigins: ['https://a.example'], accessLog: true } };
    const { config, warnings } = resolveConfig({ env: { HOLDLINE_PORT: '2', HOLDLINE_CORS_ORIGINS: 'https://b.example, https://c.example:8443' }, flags: { port: '3' }, file });
    expect(config).toMatchObject({ port: 3, host: '0.0.0.0', corsOrigins: ['https://b.example', 'https://c.example:8443'], accessLog: true });
    expect(warnings).toEqual([]);
  });

  it('warns about unknown settings, naming the closest known one', () => {
    const { warnings } = resolveConfig({
      env: { HOLDLINE_PROT: '1', HOLDLINE_URL: 'http://x', HOLDLINE_KEY: 'k' },
      file: { path: 'h.json', data: { redisURL: 'redis://x:1' } },
    });
    expect(warnings).toEqual([
      'unknown setting HOLDLINE_PROT is ignored; did you mean HOLDLINE_PORT?',
      'unknown setting redisURL in h.json is ignored; did you mean redisUrl?',
    ]);
  });

  it('refuses at start what the server would only trip over later: a bootstrap name it cannot create, an empty flag', () => {
    const name = 'an application name: 1 to 50 letters, digits, _ or -, not a reserved one (v1, v2, v3, api…)';
    expect(() => resolveConfig({ flags: { bootstrapApp: 'bad name!' } })).toThrow(`--bootstrap-app must be ${name}, got "bad name!"`);
    expect(() => configFromEnv({ HOLDLINE_BOOTSTRAP_APP: 'Console' })).toThrow(`HOLDLINE_BOOTSTRAP_APP must be ${name}, got "Console"`);
    expect(() => resolveConfig({ file: { path: 'h.json', data: { bootstrapApp: 'V1' } } })).toThrow(`bootstrapApp in h.json must be ${name}, got "V1"`);
    expect(configFromEnv({ HOLDLINE_BOOTSTRAP_APP: 'demo' }).bootstrapApp).toBe('demo');
    // An empty environment variable is unset; an empty flag is a value, and not one these take.
    for (const key of ['adminKey', 'redisPrefix', 'host', 'metricsToken'] as const) {
      expect(() => resolveConfig({ flags: { [key]: '' } }), key).toThrow(`${SETTINGS[key].flag} must be ${SETTINGS[key].type.accepts}, got ""`);
    }
    expect(configFromEnv({ HOLDLINE_ADMIN_KEY: '' }).adminKey).toBeUndefined();
    // A file's value its schema lets through but the setting refuses names the file too.
    expect(() => resolveConfig({ file: { path: 'h.json', data: { wallboardTimeZone: 'Mars/Base' } } })).toThrow(
      'wallboardTimeZone in h.json must be an IANA time zone name such as UTC or Europe/Paris, got "Mars/Base"',
    );
  });

  it('keeps the password of a Redis URL out of what it logs', () => {
    expect(redactUrl('redis://ops:s3cret@h:6379/2')).toBe('redis://ops:***@h:6379/2');
    expect(redactUrl('redis+cluster://:pw@a:1,b:2')).toBe('redis+cluster://:***@a:1,b:2');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
  });
});

describe('HOLDLINE_REDIS_URL', () => {
  const accepts = SETTINGS.redisUrl.type.accepts;

  it('takes a database number after the host, database 0 when there is none', () => {
    for (const url of [
      'redis://127.0.0.1:6380', 'redis://127.0.0.1:6380/', 'redis://127.0.0.1:6380/0', 'redis://127.0.0.1:6380/15',
      'rediss://ops:s3cret@h.example:6380/2', 'redis://h:1/3?family=6', 'redis://h:1?db=4', 'redis+cluster://a:1,b:2',
    ]) {
      expect(configFromEnv({ HOLDLINE_REDIS_URL: url }).redisUrl, url).toBe(url);
    }
  });

  it('refuses a database part that is not a number, wherever the URL comes from, without showing its password', () => {
    // ioredis would start on database 0 with each of these (SELECT NaN is skipped, SELECT -1 refused and ignored).
    for (const db of ['abc', '-1', '1abc', '1/2', '+1', ' 1']) {
      const url = `redis://ops:s3cret@127.0.0.1:6380/${db}`;
      const shown = JSON.stringify(`redis://ops:***@127.0.0.1:6380/${db}`);
      expect(() => configFromEnv({ HOLDLINE_REDIS_URL: url }), db).toThrow(`HOLDLINE_REDIS_URL must be ${accepts}, got ${shown}`);
      expect(() => resolveConfig({ flags: { redisUrl: url } }), db).toThrow(`--redis-url must be ${accepts}, got ${shown}`);
      expect(() => resolveConfig({ file: { path: 'h.json', data: { redisUrl: url } } }), db).toThrow(`redisUrl in h.json must be ${accepts}, got ${shown}`);
    }
    expect(() => configFromEnv({ HOLDLINE_REDIS_URL: 'redis://h:1?db=x' })).toThrow(`HOLDLINE_REDIS_URL must be ${accepts}, got "redis://h:1?db=x"`);
    expect(() => resolveConfig({ file: { path: 'h.json', data: { redisUrl: 'redis://h:1?db=-1' } } })).toThrow(`redisUrl in h.json must be ${accepts}`);
  });
});
