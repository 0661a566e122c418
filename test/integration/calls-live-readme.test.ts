/**
 * The README's "An agent's live view" snippet, run as it is written: extracted from README.md,
 * pointed at a real server (its URL) and at the SDK source instead of the built package, run in
 * its own Node process with an agent token, and expected to print exactly the output the README
 * shows while the walkthrough's Cid leaves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { call } from '../helpers/server.js';
import { startWsServer, type WsServer } from '../helpers/ws-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The first fenced block after `heading`, and the plain block after that one. */
async function readmeSnippet(heading: string): Promise<{ code: string; output: string }> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const blocks = [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
  const code = blocks.find((b) => b[1] === 'js');
  const output = blocks.find((b) => b[1] === '' && b.index! > code!.index!);
  if (code === undefined || output === undefined) throw new Error(`no snippet under ${heading}`);
  return { code: code[2]!, output: output[2]! };
}

let server: WsServer | undefined;
let engine: MemoryEngine | undefined;
let child: ChildProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill();
    await exited;
  }
  await server?.close();
  await engine?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

it('the README agent snippet prints the line, then moves Ann and Bob up when Cid leaves', { timeout: 30_000 }, async () => {
  const { code, output } = await readmeSnippet("### An agent's live view");
  engine = new MemoryEngine();
  await engine.start();
  server = await startWsServer(engine);
  const s = server.server;
  const { key } = await s.createApp();
  const rest = (method: string, path: string, body?: unknown) => call(s, key, method, path, body);

  // The walkthrough: a queue, Alice serving it, Ann, Bob, then Cid with priority 5; a token.
  const queue = (await rest('POST', '/v1/queues', { name: 'support', description: '24/7 Technical support' })).body.uuid as string;
  const agent = (await rest('POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
  expect((await rest('POST', `/v1/queues/${queue}/members`, { agent_id: agent, number: '1001@example.org' })).status).toBe(201);
  for (const caller of [{ name: 'Ann', number: '6135550001' }, { name: 'Bob', number: '6135550002' }, { name: 'Cid', number: '6135550003', priority: 5 }]) {
    expect((await rest('POST', `/v1/queues/${queue}/callers`, caller)).status).toBe(201);
  }
  const token = (await rest('POST', `/v1/agents/${agent}/tokens`, { ttl: 28800 })).body.token as string;

  expect(code).toContain("from 'holdline/client'");
  expect(code).toContain('ws://127.0.0.1:7700/v1/ws');
  const runnable = code
    .replace("from 'holdline/client'", `from '${join(ROOT, 'src/client/index.ts')}'`)
    .replace('ws://127.0.0.1:7700/v1/ws', `ws://127.0.0.1:${s.port}/v1/ws`);
  dir = await mkdtemp(join(tmpdir(), 'holdline-readme-'));
  const file = join(dir, 'agent.mjs');
  await writeFile(file, runnable);

  child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, TOKEN: token, QUEUE: queue }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const lines: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const wake of lines.splice(0)) wake();
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const printed = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (stdout.split('\n').filter(Boolean).length >= n) return resolve();
        if (child!.exitCode !== null) return reject(new Error(`snippet exited: ${stderr}`));
        lines.push(check);
      };
      child!.once('exit', () => check());
      check();
    });

  await printed(1);
  const cid = ((await rest('GET', `/v1/queues/${queue}/callers`)).body as Array<{ uuid: string; name: string }>)[0]!;
  expect(cid.name).toBe('Cid');
  expect((await rest('DELETE', `/v1/queues/${queue}/callers/${cid.uuid}?reason=answered`)).status).toBe(204);
  await printed(2);
  expect(stdout).toBe(output);
});
