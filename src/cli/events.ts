/**
 * `holdline tail --events`: the application's event log, live (protocol/websocket.md 12), through
 * the SDK's event tail: gapless across reconnects, resumed after the last event shown.
 */
import { existsSync, readFileSync } from 'node:fs';
import { HoldlineClient } from '../client/index.js';
import type { EventCondition, HoldlineEvent } from '../client/index.js';
import { followUntilDone, writeResumeFile } from './follow.js';
import { CliError, request, wsUrl, type ServerTarget } from './rest.js';

export interface EventTailCliOptions {
  /** event_type equal to this. */
  type?: string;
  /** `name=value`: the trait equal to value. */
  traits: string[];
  /** A file holding the last event id: read at start, rewritten after each event. */
  resumeFile?: string;
  format: 'json' | 'text';
  count?: number;
}

function conditions(opts: EventTailCliOptions): EventCondition[] {
  const q: EventCondition[] = [];
  if (opts.type !== undefined) q.push({ field: 'event_type', op: 'eq', value: opts.type });
  for (const t of opts.traits) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new CliError(`--trait must be name=value, got "${t}"`);
    q.push({ field: t.slice(0, eq), op: 'eq', value: t.slice(eq + 1) });
  }
  return q;
}

function readResume(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const id = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new CliError(`resume file ${file} does not hold an event id`);
  return id;
}

function render(seq: number, e: HoldlineEvent, format: 'json' | 'text'): string {
  if (format === 'json') return JSON.stringify({ seq, ...e });
  const traits = e.traits.filter((t) => t.name !== 'project_id').map((t) => `${t.name}=${t.value}`).join(' ');
  return `${e.generated}  #${seq} ${e.event_type}  ${traits}`;
}

/** Follows the key's application's events; ends on SIGINT/SIGTERM, after --count events, or when the server ends it. */
export async function tailEvents(target: ServerTarget & { key: string }, opts: EventTailCliOptions): Promise<void> {
  const q = conditions(opts);
  const since = opts.resumeFile !== undefined ? readResume(opts.resumeFile) : undefined;
  // Over REST first, as `tail` does: a server it cannot reach or a bad key fails at once in one
  // line, where the event tail would keep reconnecting in silence.
  await request(target, 'GET', '/v1/capabilities');
  const client = new HoldlineClient({ urls: wsUrl(target.url), key: target.key });
  let seen = 0;
  await followUntilDone(client, (done) => {
    const tail = client.events({ q, ...(since !== undefined ? { since } : {}) });
    tail.on('event', ({ seq, event }) => {
      // A batch may bring more than --count still wants: the rest is not shown (nor recorded as seen).
      if (opts.count !== undefined && seen >= opts.count) return;
      process.stdout.write(`${render(seq, event, opts.format)}\n`);
      if (opts.resumeFile !== undefined) writeResumeFile(opts.resumeFile, `${event.message_id}\n`, done);
      if (opts.count !== undefined && ++seen >= opts.count) done(null);
    });
    let first = true;
    tail.on('subscribed', ({ recovered }) => {
      if (first) process.stderr.write(`holdline: following the event log${recovered ? '' : ' (events after the resume point were reclaimed: some are missing)'}\n`);
      else if (!recovered) process.stderr.write('holdline: resumed, but events after the last one shown were reclaimed: some are missing\n');
      first = false;
    });
    tail.on('ended', (end) => done(end.reason === 'error' ? end.error.message : `event tail ended: ${end.reason}`));
  });
}
