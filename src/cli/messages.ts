/**
 * `holdline publish`, `tail` and `queues`: message queues from the command line, over REST and
 * the WebSocket (through the SDK), so they work on every engine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { HoldlineClient } from '../client/index.js';
import type { MessageFrame } from '../client/index.js';
import { followUntilDone, writeResumeFile } from './follow.js';
import { CliError, request, wsUrl, type ServerTarget } from './rest.js';

export interface PublishOptions {
  partition?: number;
  ttl?: number;
}

interface Posted {
  messages: Array<{ key: string; partition: number; timestamp: number }>;
}

const queuePath = (app: string, queue: string): string => `/${encodeURIComponent(app)}/${encodeURIComponent(queue)}`;

async function post(target: ServerTarget, app: string, queue: string, bodies: string[], opts: PublishOptions): Promise<number> {
  const messages = bodies.map((body) => ({
    body,
    ...(opts.partition !== undefined ? { partition: opts.partition } : {}),
    ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}),
  }));
  const res = await request<Posted>(target, 'POST', queuePath(app, queue), { messages });
  for (const m of res.messages) process.stdout.write(`${m.key}\t${m.partition}\n`);
  return res.messages.length;
}

/** Bodies from the arguments, or else one message per line of stdin (sent as they come on a terminal). */
export async function publish(target: ServerTarget, app: string, queue: string, bodies: string[], opts: PublishOptions): Promise<void> {
  let sent = 0;
  if (bodies.length > 0) {
    sent = await post(target, app, queue, bodies, opts);
  } else {
    const batchSize = process.stdin.isTTY ? 1 : 100;
    let batch: string[] = [];
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      if (line === '') continue;
      batch.push(line);
      if (batch.length >= batchSize) {
        sent += await post(target, app, queue, batch, opts);
        batch = [];
      }
    }
    if (batch.length > 0) sent += await post(target, app, queue, batch, opts);
  }
  process.stderr.write(`holdline: published ${sent} message${sent === 1 ? '' : 's'} to ${app}/${queue}\n`);
}

export async function listQueues(target: ServerTarget, app: string, json: boolean): Promise<void> {
  const res = await request<{ queues: Array<{ queue_name: string; partitions: number; type?: string; count?: number }> }>(
    target,
    'GET',
    `/${encodeURIComponent(app)}?details=true&include_count=true`,
  );
  for (const q of res.queues) {
    process.stdout.write(json ? `${JSON.stringify(q)}\n` : `${q.queue_name}\t${q.partitions} partitions\t${q.count ?? '?'} messages\n`);
  }
}

export interface TailOptions {
  partitions?: number[];
  /** `now` (default), `start`, or epoch seconds. */
  from: string;
  /** A JSON file of the last message id per partition: read at start, rewritten after each message. */
  resumeFile?: string;
  format: 'json' | 'text';
  /** Stop after this many messages. */
  count?: number;
}

function readResume(file: string): Record<string, string> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) return data as Record<string, string>;
  } catch {
    // fall through
  }
  throw new CliError(`resume file ${file} is not a JSON object of partition → last message id`);
}

function render(m: MessageFrame, format: 'json' | 'text'): string {
  const body = typeof m.body === 'string' ? m.body : Buffer.from(m.body).toString('base64');
  if (format === 'json') {
    return JSON.stringify({ partition: m.partition, seq: m.seq, message_id: m.message_id, timestamp: m.timestamp, body });
  }
  return `${new Date(m.timestamp * 1000).toISOString()}  p${m.partition} #${m.seq}  ${body}`;
}

/** Follows a queue live; ends on SIGINT/SIGTERM, after --count messages, or when the server ends it. */
export async function tail(target: ServerTarget & { key: string }, app: string, queue: string, opts: TailOptions): Promise<void> {
  const info = await request<{ partitions: number }>(target, 'GET', `${queuePath(app, queue)}/info`);
  const partitions = opts.partitions ?? Array.from({ length: info.partitions }, (_, i) => i + 1);
  const after = opts.resumeFile !== undefined ? readResume(opts.resumeFile) : undefined;
  let since: number | undefined;
  if (after === undefined && opts.from !== 'now') {
    since = opts.from === 'start' ? 0 : Number(opts.from);
    if (!Number.isFinite(since) || since < 0) throw new CliError(`--from must be now, start or epoch seconds, got "${opts.from}"`);
  }
  const client = new HoldlineClient({ urls: wsUrl(target.url), key: target.key });
  let seen = 0;
  await followUntilDone(client, (done) => {
    const sub = client.subscribe(app, queue, { partitions, ...(after !== undefined ? { after } : {}), ...(since !== undefined ? { since } : {}) });
    sub.on('message', (m) => {
      // A batch may bring more than --count still wants: the rest is not shown (nor recorded as seen).
      if (opts.count !== undefined && seen >= opts.count) return;
      process.stdout.write(`${render(m, opts.format)}\n`);
      if (opts.resumeFile !== undefined) writeResumeFile(opts.resumeFile, JSON.stringify(sub.lastMessageIds()), done);
      if (opts.count !== undefined && ++seen >= opts.count) done(null);
    });
    sub.on('recovery', (r) => {
      if (r.cause === 'subscribe') {
        process.stderr.write(`holdline: following ${app}/${queue} partition ${r.partition}${r.recovered ? '' : ' (messages before the resume point may be missing)'}\n`);
      } else if (!r.recovered) {
        process.stderr.write(`holdline: partition ${r.partition}: resumed after ${r.cause}, some messages may be missing\n`);
      }
    });
    sub.on('ended', (end) => done(end.reason === 'error' ? end.error.message : `subscription ended: ${end.reason}`));
  });
}
