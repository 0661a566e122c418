/**
 * `holdline serve`'s settings from the user's side (issue 11): every setting of the one table is a
 * flag listed in `serve --help` with its default, an environment variable and a config-file key;
 * a bad value is one line naming where it came from and what it accepts, exit 2, no stack; an
 * unknown setting is a warning naming the closest one; --version; help per command; the start-up
 * log names the engine and the Redis URL without its password; a taken port refuses to start.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SETTINGS, SETTING_KEYS } from '../../src/config.js';
import { holdline, run } from '../helpers/cli.js';
import { freePort, startRedisServer } from '../helpers/redis-server.js';

const TIMEOUT_MS = 120_000;

function configFile(data: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'holdline-config-'));
  const file = path.join(dir, 'holdline.json');
  writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
  return file;
}

/** A start that must be refused: how it exited; fails at once if it listens instead (afterEach kills it). */
async function refusedStart(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = holdline(args);
  const listened = await Promise.race([cli.exited.then(() => false), cli.listening().then(() => true, () => false)]);
  if (listened) throw new Error(`holdline ${args.join(' ')} started instead of refusing to`);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

/** One line on stderr, exit 2, no stack trace. */
function expectOneLine(res: { code: number | null; stderr: string; stdout: string }, line: string): void {
  expect(res.code).toBe(2);
  expect(res.stderr).toBe(`holdline: ${line}\n`);
  expect(res.stdout).not.toContain('listening');
}

describe('holdline help and version', { timeout: TIMEOUT_MS }, () => {
  it('prints the version of package.json', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    for (const res of await Promise.all([run(['--version']), run(['-V'])])) {
      expect([res.code, res.stdout]).toEqual([0, `${version}\n`]);
    }
  });

  it('lists every setting in serve --help: flag, default, environment variable and config key', async () => {
    const res = await run(['serve', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: holdline serve \[options\]/);
    const help = res.stdout.replace(/\s+/g, ' ');
    for (const key of SETTING_KEYS) {
      const s = SETTINGS[key];
      expect(help, key).toContain(s.flag);
      expect(help, key).toContain(`env ${s.env}; config key ${key})`);
    }
    expect(help).toContain('(default: 7700; env HOLDLINE_PORT; config key port)');
  });

  it('gives each command its own help', async () => {
    const [publish, rotate, root] = await Promise.all([run(['publish', '--help']), run(['apps', 'keys', 'rotate', '--help']), run([])]);
    expect(publish.stdout).toMatch(/^Usage: holdline publish \[options\] <app> <queue> \[body\.\.\.\]/);
    expect(rotate.stdout).toMatch(/^Usage: holdline apps keys rotate \[options\] <app> <key-id>/);
    expect(rotate.stdout).toContain('--grace <seconds>');
    expect(root.code).toBe(2);
    expect(root.stderr).toContain('Commands:');
  });
});

describe('holdline serve: bad settings', { timeout: TIMEOUT_MS }, () => {
  it('names the flag, the variable or the config key that holds a bad value, and what it accepts', async () => {
    const file = configFile({ port: 80000 });
    const origins = configFile({ corsOrigins: 'https://a.example' });
    const notJson = configFile('{port: 1');
    // Independent processes, run at once.
    const [port, logLevel, redisUrl, accessLog, fromFile, fromEnvFile, corsOrigins, res, missing] = await Promise.all([
      run(['serve', '--port', 'abc']),
      run(['serve'], { HOLDLINE_LOG_LEVEL: 'verbose' }),
      run(['serve'], { HOLDLINE_REDIS_URL: 'http://x' }),
      run(['serve'], { HOLDLINE_ACCESS_LOG: 'maybe' }),
      run(['serve', '--config', file]),
      run(['serve'], { HOLDLINE_CONFIG: file }),
      run(['serve', '--config', origins]),
      run(['serve', '--config', notJson]),
      run(['serve', '--config', '/nonexistent/holdline.json']),
    ]);
    expectOneLine(port, '--port must be an integer from 0 to 65535, got "abc"');
    expectOneLine(logLevel, 'HOLDLINE_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"');
    expectOneLine(
      redisUrl,
      'HOLDLINE_REDIS_URL must be a redis://host:port[/db] (db: a database number, 0 when absent), rediss://… or redis+cluster://host:port,host:port URL, got "http://x"',
    );
    expectOneLine(accessLog, 'HOLDLINE_ACCESS_LOG must be true or false (1/0, yes/no, on/off), got "maybe"');
    expectOneLine(fromFile, `port in ${file} must be an integer from 0 to 65535, got 80000`);
    expectOneLine(fromEnvFile, `port in ${file} must be an integer from 0 to 65535, got 80000`);
    expectOneLine(corsOrigins, `corsOrigins in ${origins} must be origins (scheme://host[:port]) or *, comma-separated in the environment or a flag, an array in a file, got "https://a.example"`);
    expect([res.code, res.stderr]).toEqual([2, expect.stringMatching(new RegExp(`^holdline: config file ${notJson} is not JSON: .*\\n$`))]);
    expect([missing.code, missing.stderr]).toEqual([2, 'holdline: cannot read config file /nonexistent/holdline.json: ENOENT\n']);
  });
});

describe('holdline serve: where settings come from', { timeout: TIMEOUT_MS }, () => {
  it('takes a config file, lets the environment and flags override it, and warns about unknown settings', async () => {
    const file = configFile({ port: 1, adminKey: 'from-file', adminKy: 'typo', logLevel: 'info' });
    const cli = holdline(['serve', '--config', file, '--port', '0'], { HOLDLINE_PROT: '1', HOLDLINE_ADMIN_KEY: 'from-env' });
    const port = await cli.listening();
    expect(cli.stderr).toContain('holdline: warning: unknown setting HOLDLINE_PROT is ignored; did you mean HOLDLINE_PORT?\n');
    expect(cli.stderr).toContain(`holdline: warning: unknown setting adminKy in ${file} is ignored; did you mean adminKey?\n`);
    // The environment's admin key wins over the file's.
    const list = (key: string) => fetch(`http://127.0.0.1:${port}/v1/apps`, { headers: { authorization: `Admin ${key}` } });
    expect((await list('from-env')).status).toBe(200);
    expect((await list('from-file')).status).toBe(401);
    cli.proc.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('logs the engine and the Redis URL without its password at start', async () => {
    // Nothing listens on this Redis: the start-up line comes before the connection attempt.
    const cli = holdline(['serve', '--port', '0', '--engine', 'redis', '--redis-url', 'redis://ops:s3cret@127.0.0.1:9/2']);
    const starting = await cli.waitFor(() => cli.logs().find((l) => l.msg === 'starting'));
    expect(starting).toMatchObject({ engine: 'redis', redis: 'redis://ops:***@127.0.0.1:9/2' });
    expect(cli.stdout + cli.stderr).not.toContain('s3cret');
  });
});

describe('holdline serve: one process per port', { timeout: TIMEOUT_MS }, () => {
  it('refuses to start on a port another Holdline already listens on, in one line, exit 1', async () => {
    const first = holdline(['serve', '--port', '0', '--admin-key', 'one']);
    const port = await first.listening();
    const second = await run(['serve', '--port', String(port), '--admin-key', 'two']);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`holdline: cannot listen on 127.0.0.1:${port}: the port is in use or the address is not on this host\n`);
    // Every request still reaches the first one.
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/apps`, { headers: { authorization: 'Admin one' } });
      expect(res.status).toBe(200);
    }
    first.proc.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
  });
});

describe('holdline serve: a Redis it cannot use', { timeout: TIMEOUT_MS }, () => {
  it('refuses to start in one line naming the URL (without its password) and why, exit 1', async () => {
    const closed = await freePort(); // nothing listens there
    const res = await run(['serve', '--port', '0', '--engine', 'redis', '--redis-url', `redis://ops:s3cret@127.0.0.1:${closed}`]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `holdline: cannot start on Redis at redis://ops:***@127.0.0.1:${closed} (--redis-url, HOLDLINE_REDIS_URL): connect ECONNREFUSED 127.0.0.1:${closed}\n`,
    );
    expect(res.stdout).not.toContain('listening');
  });

  it('starts on the database its URL names (0 when none), and refuses one Redis does not have or a malformed one', async () => {
    const redis = await startRedisServer({ args: ['--databases', '2'] });
    try {
      const url = `redis://ops:s3cret@127.0.0.1:${redis.port}`;
      // The prefix names the process, so each database shows whose keys it holds.
      const serve = (redisUrl: string, prefix: string) =>
        ['serve', '--port', '0', '--engine', 'redis', '--redis-url', redisUrl, '--redis-prefix', prefix, '--bootstrap-app', 'demo'];
      const [missing, malformed, negative] = await Promise.all([
        refusedStart(serve(`redis://127.0.0.1:${redis.port}/2`, 'two')),
        refusedStart(serve(`${url}/abc`, 'abc')),
        refusedStart(serve(`${url}/-1`, 'negative')),
      ]);
      // Redis judges the number (its `databases`): a start that cannot use Redis, exit 1.
      expect([missing.code, missing.stderr]).toEqual([
        1, `holdline: cannot start on Redis at redis://127.0.0.1:${redis.port}/2 (--redis-url, HOLDLINE_REDIS_URL): ERR DB index is out of range\n`,
      ]);
      // Not a number: a bad setting, exit 2, the password not shown.
      const accepts = SETTINGS.redisUrl.type.accepts;
      expectOneLine(malformed, `--redis-url must be ${accepts}, got "redis://ops:***@127.0.0.1:${redis.port}/abc"`);
      expectOneLine(negative, `--redis-url must be ${accepts}, got "redis://ops:***@127.0.0.1:${redis.port}/-1"`);

      const onZero = holdline(serve(`redis://127.0.0.1:${redis.port}/`, 'zero'));
      const onOne = holdline(serve(`redis://127.0.0.1:${redis.port}/1`, 'one'));
      await Promise.all([onZero.listening(), onOne.listening()]);
      const prefixesIn = async (db: number): Promise<Array<string | undefined>> => {
        const client = new Redis(`redis://127.0.0.1:${redis.port}/${db}`);
        try {
          return [...new Set((await client.keys('*')).map((k) => /^{?([a-z]+)/.exec(k)?.[1]))];
        } finally {
          client.disconnect();
        }
      };
      // Each node's application went to its own database: `/` is database 0.
      expect(await Promise.all([prefixesIn(0), prefixesIn(1)])).toEqual([['zero'], ['one']]);
      for (const cli of [onZero, onOne]) cli.proc.kill('SIGTERM');
      expect((await Promise.all([onZero.exited, onOne.exited])).map((e) => e.code)).toEqual([0, 0]);
    } finally {
      await redis.stop();
    }
  });
});
