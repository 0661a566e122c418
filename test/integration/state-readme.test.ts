/**
 * The README's worker snippet ("A worker: claim, process, mark done, reply"), run as written:
 * extracted from README.md, pointed at a real server and at the SDK source, run in its own Node
 * process: alone it prints exactly the output the README shows; two at once on the same jobs
 * handle every job exactly once (each claimed by one worker, done, answered once).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { FORM, JSON_CT } from '../helpers/server.js';
import { startWsServer, type WsServer } from '../helpers/ws-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function readmeSnippet(heading: string): Promise<{ code: string; output: string }> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const blocks = [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
  const code = blocks.find((b) => b[1] === 'js');
  const output = blocks.find((b) => b[1] === '' && b.index! > code!.index!);
  if (code === undefined || output === undefined) throw new Error(`no snippet under ${heading}`);
  return { code: code[2]!, output: output[2]! };
}

/** Runs the snippet file to its end; its stdout. */
function run(file: string, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, KEY: key }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`worker exited ${code}: ${stderr}`))));
  });
}

let server: WsServer | undefined;
let engine: MemoryEngine | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  await engine?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

it('the README worker claims, processes, marks done and answers each job exactly once', { timeout: 60_000 }, async () => {
  const { code, output } = await readmeSnippet('### A worker: claim, process, mark done, reply');
  engine = new MemoryEngine();
  await engine.start();
  server = await startWsServer(engine);
  const s = server.server;
  const { key } = await s.createApp('shop');
  expect((await s.request('/shop', { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'jobs' }) })).status).toBe(201);
  const post = async (body: string) => expect((await s.request('/shop/jobs', { method: 'POST', key, headers: FORM, body: `body=${body}` })).status).toBe(201);

  expect(code).toContain("from 'holdline/client'");
  const runnable = code
    .replace("from 'holdline/client'", `from '${join(ROOT, 'src/client/index.ts')}'`)
    .replace('ws://127.0.0.1:7700/v1/ws', `ws://127.0.0.1:${s.port}/v1/ws`);
  dir = await mkdtemp(join(tmpdir(), 'holdline-worker-'));
  const file = join(dir, 'worker.mjs');
  await writeFile(file, runnable);

  for (const body of ['ship', 'pack', 'bill']) await post(body);
  expect(await run(file, key)).toBe(output);

  // Two workers at once on twenty more jobs: each handled once.
  const more = Array.from({ length: 20 }, (_, i) => `job${i}`);
  for (const body of more) await post(body);
  const outputs = await Promise.all([run(file, key), run(file, key)]);
  const lines = outputs.join('').split('\n').filter(Boolean).sort();
  expect(lines).toEqual(more.map((b) => `${b} -> ${b.toUpperCase()}`).sort());

  const done = (await (await s.request('/shop/jobs?client_state=done&limit=1000', { key })).json()) as { messages: Array<{ message_id: string; body: string }> };
  expect(done.messages.map((m) => m.body).sort()).toEqual(['bill', 'pack', 'ship', ...more].sort());
  for (const job of done.messages) {
    const replies = (await (await s.request(`/shop/jobs/${job.message_id}/replies`, { key })).json()) as { messages: Array<{ body: string; client_state?: string }> };
    expect(replies.messages).toEqual([expect.objectContaining({ body: job.body.toUpperCase(), client_state: 'answer' })]);
  }
  const left = (await (await s.request('/shop/jobs?client_state=none', { key })).json()) as { messages: unknown[] };
  expect(left.messages).toEqual([]);
});
