/**
 * `holdline tail --events` against a real `holdline serve` (memory engine), each in its own
 * process: it follows the event log live with a type filter, keeps its resume file, and a tail
 * resumed from that file gets exactly what was recorded meanwhile; usage errors exit 2.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { holdline, run, type Cli } from '../helpers/cli.js';

const TIMEOUT_MS = 120_000;

interface EventLine {
  seq: number;
  message_id: string;
  event_type: string;
  traits: Array<{ name: string; value: string | number }>;
}

const lines = (cli: { stdout: string }): EventLine[] => cli.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as EventLine);
const tagOf = (e: EventLine): string | number | undefined => e.traits.find((t) => t.name === 'tag')?.value;

describe('holdline tail --events', { timeout: TIMEOUT_MS }, () => {
  it('follows the event log live, filtered, and resumes from its file', async () => {
    const server: Cli = holdline(['serve', '--port', '0', '--admin-key', 'op']);
    const url = `http://127.0.0.1:${await server.listening()}`;
    const created = await run(['apps', 'create', 'demo'], { HOLDLINE_URL: url, HOLDLINE_ADMIN_KEY: 'op' });
    expect(created.code).toBe(0);
    const env = { HOLDLINE_URL: url, HOLDLINE_KEY: created.stdout.trim() };
    const tag = async (name: string): Promise<void> => {
      const res = await fetch(`${url}/v1/tags`, {
        method: 'POST',
        headers: { authorization: `Application ${env.HOLDLINE_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ tag: name }),
      });
      expect(res.status).toBe(201);
    };

    const resume = path.join(mkdtempSync(path.join(tmpdir(), 'holdline-tail-events-')), 'last-event');
    const tail = holdline(['tail', '--events', '--type', 'tag.create', '--format', 'json', '--resume', resume], env);
    await tail.waitFor(() => (tail.stderr.includes('holdline: following the event log\n') ? true : undefined));
    await tag('one');
    await tag('two');
    await tail.waitFor(() => (lines(tail).length === 2 ? true : undefined));
    expect(lines(tail).map((e) => [e.event_type, tagOf(e)])).toEqual([
      ['tag.create', 'one'],
      ['tag.create', 'two'],
    ]);
    // The line reaches stdout before the resume file is rewritten: the file catches up.
    await vi.waitFor(() => expect(readFileSync(resume, 'utf8').trim()).toBe(lines(tail)[1]!.message_id));
    tail.proc.kill('SIGINT');
    expect((await tail.exited).code).toBe(0);

    // Recorded while nobody follows: the resumed tail gets exactly those, then stops.
    await tag('three');
    await tag('four');
    const resumed = await run(['tail', '--events', '--type', 'tag.create', '--format', 'json', '--resume', resume, '--count', '2'], env);
    expect(resumed.code).toBe(0);
    expect(lines(resumed).map(tagOf)).toEqual(['three', 'four']);
    // --count 1 shows one though the catch-up brings both; the file records the one shown.
    writeFileSync(resume, `${lines(tail)[1]!.message_id}\n`);
    const one = await run(['tail', '--events', '--type', 'tag.create', '--format', 'json', '--resume', resume, '--count', '1'], env);
    expect(lines(one).map(tagOf)).toEqual(['three']);
    expect(readFileSync(resume, 'utf8').trim()).toBe(lines(one)[0]!.message_id);

    // A trait filter, in text.
    const text = holdline(['tail', '--events', '--trait', 'tag=five', '--format', 'text', '--count', '1'], env);
    await text.waitFor(() => (text.stderr.includes('following the event log') ? true : undefined));
    await tag('five');
    expect((await text.exited).code).toBe(0);
    expect(text.stdout).toMatch(/^\S+Z {2}#\d+ tag\.create {2}tag_id=\d+ tag=five\n$/);

    const usage = await run(['tail', '--events', 'demo'], env);
    expect([usage.code, usage.stderr]).toEqual([2, 'holdline: tail --events takes no application or queue: the key names the application\n']);
    const noQueue = await run(['tail', 'demo'], env);
    expect(noQueue.code).toBe(2);
    const badTrait = await run(['tail', '--events', '--trait', 'nope'], env);
    expect([badTrait.code, badTrait.stderr]).toEqual([2, "holdline: option '--trait <name=value>' argument 'nope' is invalid. --trait must be name=value\n"]);
  });
});
