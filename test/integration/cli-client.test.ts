/**
 * The client verbs against a real `holdline serve` (memory engine), each in its own process:
 * `tail` follows a queue while `publish` posts to it, and resumes from its resume file without gap
 * or duplicate; `queues` lists; `callers --watch` redraws live positions.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { holdline, run, type Cli } from '../helpers/cli.js';
import { freePort } from '../helpers/redis-server.js';

const TIMEOUT_MS = 120_000;

async function serverWithApp(): Promise<{ server: Cli; url: string; env: Record<string, string> }> {
  const server = holdline(['serve', '--port', '0', '--admin-key', 'op']);
  const port = await server.listening();
  const url = `http://127.0.0.1:${port}`;
  const created = await run(['apps', 'create', 'demo'], { HOLDLINE_URL: url, HOLDLINE_ADMIN_KEY: 'op' });
  expect(created.code).toBe(0);
  const key = created.stdout.trim();
  const res = await fetch(`${url}/demo`, {
    method: 'POST',
    headers: { authorization: `Application ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ queue_name: 'calls', partitions: 2 }),
  });
  expect(res.status).toBe(201);
  return { server, url, env: { HOLDLINE_URL: url, HOLDLINE_KEY: key } };
}

interface Line {
  partition: number;
  seq: number;
  message_id: string;
  body: string;
}

const lines = (cli: { stdout: string }): Line[] => cli.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);

describe('holdline tail and publish', { timeout: TIMEOUT_MS }, () => {
  it('tail follows a queue live while publish posts to it, and resumes from its file', async () => {
    const { env } = await serverWithApp();
    const resume = path.join(mkdtempSync(path.join(tmpdir(), 'holdline-tail-')), 'resume.json');
    const tail = holdline(['tail', 'demo', 'calls', '--format', 'json', '--resume', resume], env);
    // Following both partitions before anything is posted.
    await tail.waitFor(() => (tail.stderr.match(/following demo\/calls partition/g)?.length === 2 ? true : undefined));

    const published = await run(['publish', 'demo', 'calls', '--partition', '1', 'caller 1001 waiting', 'caller 1002 waiting'], env);
    expect(published.code).toBe(0);
    expect(published.stderr).toContain('published 2 messages to demo/calls');
    expect(published.stdout.trim().split('\n')).toHaveLength(2);

    // stdin: one message per line.
    const piped = holdline(['publish', 'demo', 'calls', '--partition', '2'], env, 'pipe');
    piped.proc.stdin!.end('agent 7 ready\nagent 8 ready\n');
    expect((await piped.exited).code).toBe(0);

    await tail.waitFor(() => (lines(tail).length === 4 ? true : undefined));
    expect(lines(tail).map((l) => [l.partition, l.body])).toEqual([
      [1, 'caller 1001 waiting'],
      [1, 'caller 1002 waiting'],
      [2, 'agent 7 ready'],
      [2, 'agent 8 ready'],
    ]);
    // A line reaches stdout before the resume file is rewritten: the file catches up.
    await vi.waitFor(() => {
      const last = JSON.parse(readFileSync(resume, 'utf8')) as Record<string, string>;
      expect(last).toEqual({ 1: lines(tail)[1]!.message_id, 2: lines(tail)[3]!.message_id });
    });
    tail.proc.kill('SIGINT');
    expect((await tail.exited).code).toBe(0);

    // Posted while nobody follows; a tail resumed from the file gets exactly those, then stops.
    expect((await run(['publish', 'demo', 'calls', '--partition', '1', 'while away'], env)).code).toBe(0);
    const resumed = await run(['tail', 'demo', 'calls', '--format', 'json', '--resume', resume, '--count', '1'], env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Line).body)).toEqual(['while away']);

    const text = await run(['tail', 'demo', 'calls', '--from', 'start', '--partitions', '1', '--format', 'text', '--count', '3'], env);
    expect(text.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}p1 #1 {2}caller 1001 waiting\n/);
    // --count N shows N, though the history read brings partition 1's three at once.
    expect(text.stdout.trim().split('\n')).toHaveLength(3);
    const two = await run(['tail', 'demo', 'calls', '--from', 'start', '--partitions', '1', '--format', 'json', '--count', '2', '--resume', `${resume}.2`], env);
    expect(lines(two).map((l) => l.body)).toEqual(['caller 1001 waiting', 'caller 1002 waiting']);
    expect(JSON.parse(readFileSync(`${resume}.2`, 'utf8'))).toEqual({ 1: lines(two)[1]!.message_id });

    // A resume file it cannot write ends the follow in one line, not with a stack.
    const unwritable = await run(['tail', 'demo', 'calls', '--from', 'start', '--count', '1', '--resume', '/nonexistent/holdline/resume.json'], env);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr.split('\n').filter((l) => !l.startsWith('holdline: following '))).toEqual([
      'holdline: cannot write resume file /nonexistent/holdline/resume.json: ENOENT',
      '',
    ]);
  });

  it('tail stops quietly, exit 0, when the reader of its output goes away (| head)', async () => {
    const { env } = await serverWithApp();
    const tail = holdline(['tail', 'demo', 'calls', '--format', 'json'], env);
    await tail.waitFor(() => (tail.stderr.match(/following demo\/calls partition/g)?.length === 2 ? true : undefined));
    tail.proc.stdout!.destroy();
    expect((await run(['publish', 'demo', 'calls', 'nobody reads this'], env)).code).toBe(0);
    expect((await tail.exited).code).toBe(0);
    expect(tail.stderr).not.toContain('EPIPE');
  });

  it('refuses a bad --url, --from or --trait as a usage error, in one line, before any request', async () => {
    const runs = await Promise.all([
      run(['queues', 'demo', '--key', 'k', '--url', 'not-a-url']),
      run(['apps', 'list', '--admin-key', 'x'], { HOLDLINE_URL: 'ws://127.0.0.1:7700' }),
      run(['tail', 'demo', 'calls', '--key', 'k', '--from', 'yesterday']),
      run(['tail', '--events', '--key', 'k', '--trait', 'reason']),
    ]);
    expect(runs.map((r) => [r.code, r.stderr])).toEqual([
      [2, "holdline: option '--url <url>' argument 'not-a-url' is invalid. --url must be an http:// or https:// URL (http://127.0.0.1:7700)\n"],
      [2, "holdline: option '--url <url>' value 'ws://127.0.0.1:7700' from env 'HOLDLINE_URL' is invalid. --url must be an http:// or https:// URL (http://127.0.0.1:7700)\n"],
      [2, "holdline: option '--from <when>' argument 'yesterday' is invalid. --from must be now, start or epoch seconds\n"],
      [2, "holdline: option '--trait <name=value>' argument 'reason' is invalid. --trait must be name=value\n"],
    ]);
  });

  it('queues lists the queues with partitions and counts; errors are one line', async () => {
    const { env } = await serverWithApp();
    // Independent processes, run at once.
    const [listed, noKey, badKey, noQueue] = await Promise.all([
      run(['queues', 'demo'], env),
      run(['queues', 'demo'], { HOLDLINE_URL: env.HOLDLINE_URL! }),
      run(['queues', 'demo'], { ...env, HOLDLINE_KEY: 'nope' }),
      run(['tail', 'demo', 'nosuch'], env),
    ]);
    expect([listed.code, listed.stdout]).toEqual([0, 'calls\t2 partitions\t0 messages\n']);
    expect([noKey.code, noKey.stderr]).toEqual([2, 'holdline: needs an application key: --key or HOLDLINE_KEY\n']);
    expect([badKey.code, badKey.stderr]).toEqual([1, expect.stringMatching(/^holdline: auth_invalid: .*\n$/)]);
    expect([noQueue.code, noQueue.stderr]).toEqual([1, expect.stringMatching(/^holdline: queue_not_found: .*\n$/)]);
  });
});

describe('holdline client verbs without a server', { timeout: TIMEOUT_MS }, () => {
  it('every verb says at once that it cannot reach the server, the live follows too, exit 1', async () => {
    const closed = await freePort(); // nothing listens there
    const env = { HOLDLINE_URL: `http://127.0.0.1:${closed}`, HOLDLINE_KEY: 'k' };
    const runs = await Promise.all([
      run(['queues', 'demo'], env),
      run(['tail', 'demo', 'calls'], env),
      run(['tail', '--events'], env),
      run(['callers', '00000000-0000-4000-8000-000000000000'], env),
      run(['callers', '00000000-0000-4000-8000-000000000000', '--watch'], env),
    ]);
    const line = `holdline: cannot reach Holdline at http://127.0.0.1:${closed} (ECONNREFUSED); set --url or HOLDLINE_URL\n`;
    expect(runs.map((r) => [r.code, r.stderr])).toEqual(runs.map(() => [1, line]));
  });
});

describe('holdline callers', { timeout: TIMEOUT_MS }, () => {
  it('--watch redraws the waiting line as callers join and leave', async () => {
    const { url, env } = await serverWithApp();
    const h = { authorization: `Application ${env.HOLDLINE_KEY}`, 'content-type': 'application/json' };
    const post = async (p: string, body: unknown): Promise<{ uuid: string }> => {
      const res = await fetch(`${url}${p}`, { method: 'POST', headers: h, body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      return (await res.json()) as { uuid: string };
    };
    const queue = await post('/v1/queues', { name: 'support' });
    await post(`/v1/queues/${queue.uuid}/callers`, { name: 'Ann', number: '6135550001' });

    const watch = holdline(['callers', queue.uuid, '--watch'], env);
    await watch.waitFor(() => (watch.stdout.includes('Ann (6135550001)') ? true : undefined));
    const cid = await post(`/v1/queues/${queue.uuid}/callers`, { name: 'Cid', number: '6135550003', priority: 5 });
    // Not a terminal: each state is a block; the newest shows Cid ahead of Ann.
    const block = (): string | undefined => watch.stdout.split('\n\n').filter((b) => b.includes('Cid')).at(-1);
    await watch.waitFor(block);
    expect(block()).toMatch(/ {2}0 {2}waiting {4}Cid \(6135550003\) {2}priority 5[^\n]*\n {2}1 {2}waiting {4}Ann/);
    const left = await fetch(`${url}/v1/queues/${queue.uuid}/callers/${cid.uuid}?reason=answered`, { method: 'DELETE', headers: h });
    expect(left.status).toBe(204);
    await watch.waitFor(() => (watch.stdout.split('\n\n').at(-2)?.match(/^ {2}0 {2}waiting {4}Ann/m) ? true : undefined));
    watch.proc.kill('SIGINT');
    expect((await watch.exited).code).toBe(0);

    const once = await run(['callers', queue.uuid], env);
    expect(once.stdout).toMatch(/^ {2}0 {2}waiting {4}Ann \(6135550001\) {2}priority 0 {2}waiting \d+s\n$/);
  });
});
