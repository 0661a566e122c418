/**
 * Holdline as a user installs it (issue 11): `npm pack` (which builds), the tarball installed into
 * an empty directory outside the repository, `npx holdline` from there, a real server started
 * from it, and examples/ (plain .mjs, one .ts type-checked then run) against that server; the
 * browser build imported with nothing but a WebSocket. Then `npm start` in the repository: the
 * build is not redone, and a signal to the npm process stops the server like a signal to the
 * server itself.
 *
 * Installing needs the npm registry (or npm's cache); everything else is loopback.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanEnv, spawnCli, type Cli } from '../helpers/cli.js';
import { freePort } from '../helpers/redis-server.js';

const exec = promisify(execFile);
const TIMEOUT_MS = 300_000;
const NPM = 'npm';

let work: string;
let app: string;
let tarball: string;

/** `holdline ARGS` as installed in `app`, run the way a user would: npx. */
function npx(args: string[], env: Record<string, string> = {}): Cli {
  return spawnCli(NPM, ['exec', '--offline', '--', 'holdline', ...args], { cwd: app, env: cleanEnv(env) });
}

async function finished(cli: Cli): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'holdline-pack-'));
  // prepack → prepare → build: the tarball carries a fresh dist/.
  const packed = await exec(NPM, ['pack', '--json', '--pack-destination', work], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(work, info!.filename);
  const files = info!.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['dist/src/cli/main.js', 'dist/src/client/index.d.ts', 'dist/browser/client.js', 'README.md']));
  expect(files.filter((f) => /^dist\/console\/main-[A-Z0-9]+\.(js|css)$/.test(f))).toHaveLength(2);
  expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('bench/') || f.endsWith('.map'))).toEqual([]);

  app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'holdline-user', private: true, type: 'module' }));
  await exec(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
}, TIMEOUT_MS);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball, installed in an empty directory', { timeout: TIMEOUT_MS }, () => {
  it('provides the holdline command', async () => {
    const help = await finished(npx(['--help']));
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: holdline [options] [command]');
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await finished(npx(['--version']))).stdout).toBe(`${version}\n`);
  });

  it('serves, and the examples (Node ESM, TypeScript, the browser build) run against it', async () => {
    // The installed bin itself (not through npx), so that the signal below reaches it.
    const server = spawnCli(path.join(app, 'node_modules/.bin/holdline'), ['serve', '--port', String(await freePort()), '--admin-key', 'op'], {
      cwd: app,
      env: cleanEnv(),
    });
    const port = await server.listening();
    const url = `http://127.0.0.1:${port}`;
    const created = await finished(npx(['apps', 'create', 'demo', '--url', url, '--admin-key', 'op']));
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    const res = await fetch(`${url}/demo`, {
      method: 'POST',
      headers: { authorization: `Application ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ queue_name: 'calls', partitions: 1 }),
    });
    expect(res.status).toBe(201);
    // The console page, from the installed package's dist/console.
    const page = await fetch(`${url}/console`);
    expect(page.status).toBe(200);
    const script = /src="(\/console\/main-[A-Z0-9]+\.js)"/.exec(await page.text())?.[1];
    expect((await fetch(`${url}${script}`)).status).toBe(200);

    for (const f of readdirSync(path.join(ROOT, 'examples'))) copyFileSync(path.join(ROOT, 'examples', f), path.join(app, f));
    const env = cleanEnv({ HOLDLINE_WS: `ws://127.0.0.1:${port}/v1/ws`, HOLDLINE_KEY: key, COUNT: '2' });
    const node = (file: string): Cli => spawnCli(process.execPath, [file], { cwd: app, env });

    const subscriber = node('subscribe.mjs');
    await subscriber.waitFor(() => (subscriber.stdout.includes('following demo/calls partition 1') ? true : undefined));
    const publisher = await finished(node('publish.mjs'));
    expect(publisher.code).toBe(0);
    expect(publisher.stdout).toMatch(/^stored \w+ in partition 1 as #1\nstored \w+ in partition 1 as #2\n$/);
    expect(await finished(subscriber)).toMatchObject({
      code: 0,
      stdout: 'following demo/calls partition 1\npartition 1 #1: caller 1001 is waiting\npartition 1 #2: agent 7 ready\n',
    });

    // TypeScript: type-checked against the package's own types, then run.
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false,
          types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')],
        },
        files: ['history.ts'],
      }),
    );
    const tsc = await exec(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app]).catch((e: { stdout: string }) => e);
    expect(tsc.stdout).toBe('');
    const history = await finished(spawnCli(process.execPath, ['--import', path.join(ROOT, 'node_modules/tsx/dist/esm/index.mjs'), 'history.ts'], { cwd: app, env }));
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/^\S+Z #1 caller 1001 is waiting\n\S+Z #2 agent 7 ready\n$/);

    // The browser build: an ES module with no Node built-ins; given a WebSocket, it works as is.
    const bundle = readFileSync(path.join(app, 'node_modules/holdline/dist/browser/client.js'), 'utf8');
    expect(bundle).not.toMatch(/\bfrom\s*["'](node:)?(fs|path|os|net|tls|http|https|crypto|events|stream|url|util|child_process)["']/);
    expect(bundle).not.toMatch(/\brequire\(["'](node:)?\w+["']\)/);
    writeFileSync(
      path.join(app, 'browser-check.mjs'),
      `import { WebSocket } from 'ws';
globalThis.WebSocket = WebSocket; // what a browser provides
const { HoldlineClient } = await import('holdline/client/browser');
const client = new HoldlineClient({ urls: process.env.HOLDLINE_WS, key: process.env.HOLDLINE_KEY });
const { messages } = await client.history('demo', 'calls', { partitions: [1] });
console.log(messages.length);
await client.close();
`,
    );
    expect(await finished(node('browser-check.mjs'))).toMatchObject({ code: 0, stdout: '2\n' });

    server.proc.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });
});

describe('npm start in the repository', { timeout: TIMEOUT_MS }, () => {
  it('serves the build npm install made, and stops when the npm process gets SIGTERM or SIGINT, or Ctrl-C reaches both', async () => {
    // 'group': SIGINT to npm's whole process group, as a terminal's Ctrl-C sends it.
    for (const signal of ['SIGTERM', 'SIGINT', 'group'] as const) {
      const port = await freePort();
      const npm = spawnCli(NPM, ['start'], {
        env: cleanEnv({ HOLDLINE_PORT: String(port), HOLDLINE_LOG_LEVEL: 'info' }),
        detached: signal === 'group',
      });
      expect(await npm.listening()).toBe(port);
      expect(npm.stdout).not.toMatch(/build|tsc/); // no compiling on start
      if (signal === 'group') process.kill(-npm.proc.pid!, 'SIGINT');
      else npm.proc.kill(signal);
      const { code } = await npm.exited;
      expect(npm.logs().map((l) => l.msg), signal).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
      expect(code, signal).toBe(0);
      // The server is gone with npm, not left behind holding the port.
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
  });

  it('runs `npx holdline` (the README quick start) after a rebuild: the build leaves the command executable', async () => {
    // `npm pack` above rebuilt dist/ in the repository; a build that left dist/src/cli/main.js
    // without its execute bit made `npx holdline …` answer "Permission denied".
    const help = await finished(spawnCli(NPM, ['exec', '--offline', '--', 'holdline', '--help'], { cwd: ROOT, env: cleanEnv({}) }));
    expect(help.stderr).not.toMatch(/Permission denied/);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: holdline [options] [command]');
  });
});
