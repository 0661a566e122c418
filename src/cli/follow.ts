/**
 * What both `holdline tail` commands (a queue's messages, the event log) do around a live follow:
 * end on SIGINT/SIGTERM, on the server closing the connection, or when the follow itself says so;
 * then close the client, and fail the command with the reason unless it ended by itself.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { HoldlineClient, StopReason } from '../client/index.js';
import { CliError } from './rest.js';

/** Ends the follow: null for a normal end (a signal, --count reached), else why it failed. */
export type FollowDone = (reason: string | null) => void;

/** Runs `start` (which subscribes and attaches its handlers, calling `done` to end), until it ends. */
export async function followUntilDone(client: HoldlineClient, start: (done: FollowDone) => void): Promise<void> {
  let done!: FollowDone;
  const finished = new Promise<string | null>((resolve) => (done = resolve));
  start(done);
  client.on('closed', (reason: StopReason) => {
    if (reason.by !== 'client') done(reason.by === 'auth' ? `${reason.code}: ${reason.message}` : `server closed: ${reason.code} ${reason.reason}`);
  });
  const onSignal = (): void => done(null);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const failure = await finished;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await client.close();
  if (failure !== null) throw new CliError(failure);
}

/**
 * Rewrites a resume file whole (a temporary file renamed over it): never half written. Called from
 * the SDK's handlers, where a throw would crash the command: a failure ends the follow instead.
 */
export function writeResumeFile(file: string, text: string, done: FollowDone): void {
  try {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  } catch (e) {
    done(`cannot write resume file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
