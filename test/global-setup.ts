/**
 * One redis-server for the whole run, on a free port; each test uses its own random key prefix
 * (test/helpers/namespace.ts), so tests never see each other's data nor the machine's Redis on 6379.
 *
 * And src/ transpiled once for the run (test/helpers/cli.ts): the cli-*.test.ts suites start the
 * `holdline` command dozens of times, and tsx transpiling it again at each start costs ~0.4 s of CPU
 * each time on a loaded 2-core machine.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServerHandle } from './helpers/redis-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let server: RedisServerHandle | undefined;
let cliDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const [redis, cli] = await Promise.all([startRedisServer(), buildCli()]);
  server = redis;
  cliDir = cli.dir;
  project.provide('redisUrl', server.url);
  project.provide('cliMain', cli.main);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (cliDir !== undefined) rmSync(cliDir, { recursive: true, force: true });
}

/**
 * src/ as `npm run build` lays it out (dir/src/**.js, the Lua scripts copied beside their loader),
 * each file transpiled by esbuild as tsx does on the fly (no bundling, no type check), in a
 * temporary directory whose package.json, protocol/, node_modules/ and dist/ are the repository's:
 * every path the code finds from its own location resolves as it does from src/.
 */
async function buildCli(): Promise<{ dir: string; main: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'holdline-cli-'));
  const src = path.join(ROOT, 'src');
  const entryPoints = (readdirSync(src, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(src, f));
  await build({
    entryPoints,
    outdir: path.join(dir, 'src'),
    outbase: src,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
  cpSync(path.join(src, 'engine/redis/lua'), path.join(dir, 'src/engine/redis/lua'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  for (const link of ['protocol', 'node_modules', 'dist']) symlinkSync(path.join(ROOT, link), path.join(dir, link));
  return { dir, main: path.join(dir, 'src/cli/main.js') };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** src/cli/main.ts transpiled for this run (see buildCli). */
    cliMain: string;
  }
}
