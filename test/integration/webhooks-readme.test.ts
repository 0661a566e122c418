/**
 * The README's webhook receiver, run as it is written: extracted from README.md, started in its own
 * Node process on a free loopback port, registered as a webhook of a real server; it must print
 * each event once (a delivery repeated is skipped) and refuse a request whose signature is wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { type EventNode, startEventNode } from '../helpers/event-nodes.js';
import { freePort } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = 'a-long-shared-secret-1234';

let node: EventNode | undefined;
let child: ChildProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill();
    await exited;
  }
  await node?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

it('the README receiver verifies, prints each event once, and refuses a bad signature', { timeout: 30_000 }, async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('A receiver in ten lines'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  expect(code).toBeDefined();
  expect(code!.trimEnd().split('\n')).toHaveLength(10);
  dir = await mkdtemp(join(tmpdir(), 'holdline-receiver-'));
  await writeFile(join(dir, 'receiver.mjs'), code!);
  const port = await freePort();
  const out: string[] = [];
  child = spawn(process.execPath, [join(dir, 'receiver.mjs')], { env: { ...process.env, SECRET, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout!.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter((l) => l !== '')));
  const url = `http://127.0.0.1:${port}/`;
  await until(async () => fetch(url, { method: 'POST', body: '{}' }).then((r) => r.status === 401, () => false), { what: 'the receiver to listen' });

  // A forged request: a signature made with another secret.
  const body = JSON.stringify({ event_type: 'forged' });
  const ts = Math.floor(Date.now() / 1000);
  const forged = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'holdline-timestamp': String(ts), 'holdline-event-id': 'x', 'holdline-signature': `v1=${createHmac('sha256', 'wrong-secret-entirely').update(`${ts}.${body}`).digest('hex')}` },
  });
  expect(forged.status).toBe(401);
  // A replay of a good one signed long ago.
  const old = ts - 3600;
  const replayed = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'holdline-timestamp': String(old), 'holdline-event-id': 'y', 'holdline-signature': `v1=${createHmac('sha256', SECRET).update(`${old}.${body}`).digest('hex')}` },
  });
  expect(replayed.status).toBe(401);

  node = await startEventNode('memory');
  const { name, key } = await node.createApp();
  const res = await node.request('/v1/webhooks', { method: 'POST', key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url, secret: SECRET }) });
  expect(res.status).toBe(201);
  await node.tag(key, 'one');
  await node.tag(key, 'two');
  const ids = (await node.events(name)).filter((e) => e.event.event_type === 'tag.create').map((e) => e.event.message_id);
  await until(() => out.length >= 2, { what: 'two lines from the receiver' });
  expect(out).toEqual(ids.map((id) => `tag.create ${id}`));
  // The first event delivered again (at least once), then a new one: only the new one is printed.
  const signed = async (id: string, json: string): Promise<number> => {
    const now = Math.floor(Date.now() / 1000);
    const sig = `v1=${createHmac('sha256', SECRET).update(`${now}.${json}`).digest('hex')}`;
    return (await fetch(url, { method: 'POST', body: json, headers: { 'holdline-timestamp': String(now), 'holdline-event-id': id, 'holdline-signature': sig } })).status;
  };
  expect(await signed(ids[0]!, JSON.stringify({ event_type: 'tag.create' }))).toBe(204);
  expect(await signed('later', JSON.stringify({ event_type: 'later.event' }))).toBe(204);
  await until(() => out.length >= 3, { what: 'the new event' });
  expect(out.slice(2)).toEqual(['later.event later']);
});
