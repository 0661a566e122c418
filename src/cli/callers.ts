/**
 * `holdline callers QUEUE_ID [--watch]`: a call queue's callers in position order, once over REST,
 * or live through the SDK's call-queue view (protocol/websocket.md section 5), redrawn on every change.
 */
import { HoldlineClient } from '../client/index.js';
import type { CallQueueStats, Caller, StopReason } from '../client/index.js';
import { CliError, request, wsUrl, type ServerTarget } from './rest.js';

function waited(createdAt: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(createdAt)) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function table(callers: readonly Caller[], now: number): string[] {
  if (callers.length === 0) return ['(no callers)'];
  return callers.map(
    (c) => `${String(c.position ?? '-').padStart(3)}  ${c.status.padEnd(9)}  ${c.name ?? ''} (${c.number})  priority ${c.priority}  waiting ${waited(c.created_at, now)}`,
  );
}

function statsLine(s: CallQueueStats | null): string {
  if (s === null) return '';
  return `waiting ${s.callers_waiting}, longest wait ${s.longest_wait}s, members available ${s.members_available}/${s.members}, service level ${s.service_level ?? '-'}`;
}

export async function listCallers(target: ServerTarget, queueId: string): Promise<void> {
  const callers = await request<Caller[]>(target, 'GET', `/v1/queues/${encodeURIComponent(queueId)}/callers`);
  for (const line of table(callers, Date.now())) process.stdout.write(`${line}\n`);
}

/** Live positions; on a terminal the screen is redrawn, elsewhere each state is printed as a block. */
export async function watchCallers(target: ServerTarget & { key?: string; token?: string }, queueId: string): Promise<void> {
  // Over REST first, as `tail` does: a server it cannot reach, a bad credential or an unknown queue
  // fails at once in one line, where the view would keep reconnecting in silence.
  await request(target, 'GET', `/v1/queues/${encodeURIComponent(queueId)}`);
  const client = new HoldlineClient({ urls: wsUrl(target.url), ...(target.token !== undefined ? { token: target.token } : { key: target.key }) });
  const view = client.callQueue(queueId);
  const tty = process.stdout.isTTY === true;
  const draw = (): void => {
    const lines = [`${view.queue?.name ?? queueId}  seq ${view.seq ?? '-'}  ${new Date().toISOString()}`, statsLine(view.stats), ...table(view.callers, Date.now())];
    process.stdout.write(tty ? `\x1b[H\x1b[2J${lines.join('\n')}\n` : `${lines.join('\n')}\n\n`);
  };
  let done!: (failure: string | null) => void;
  const finished = new Promise<string | null>((resolve) => (done = resolve));
  view.on('change', draw);
  view.on('ended', (end) => done(end.reason === 'error' ? end.error.message : `view ended: ${end.reason}`));
  client.on('closed', (reason: StopReason) => {
    if (reason.by !== 'client') done(reason.by === 'auth' ? `${reason.code}: ${reason.message}` : `server closed: ${reason.code} ${reason.reason}`);
  });
  // Waiting times grow between changes: refresh them on a terminal.
  const ticker = tty ? setInterval(draw, 1000) : undefined;
  const onSignal = (): void => done(null);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const failure = await finished;
  if (ticker !== undefined) clearInterval(ticker);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await client.close();
  if (failure !== null) throw new CliError(failure);
}
