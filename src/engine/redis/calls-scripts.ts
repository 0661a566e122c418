/**
 * The call store's Lua scripts (lua/call-*.lua), registered through the engine's one loader
 * (scripts.ts), and one typed entry point for calling them. Each script's reply shape is declared
 * in CallReplies next to its name; the header of the .lua file is the reference.
 *
 * A script refuses a change by raising "HL:<code>[:<field>]"; run() turns that into the
 * HoldlineError of that code, and connection trouble into engine_unavailable (connection.ts).
 */
import type { ChainableCommander } from 'ioredis';
import { ERRORS, HoldlineError, type ErrorCode } from '../../errors.js';
import { toEngineError } from './connection.js';
import { defineScript, scriptCall, type RedisClient } from './scripts.js';

const SCRIPTS = {
  hlCallQueueCreate: { file: 'call-queue-create-8' },
  hlCallQueueUpdate: { file: 'call-queue-update-8' },
  hlCallQueueDelete: { file: 'call-queue-delete-8' },
  hlCallMemberAdd: { file: 'call-member-add-8' },
  hlCallMemberUpdate: { file: 'call-member-update-8' },
  hlCallMemberRemove: { file: 'call-member-remove-8' },
  hlCallCallerJoin: { file: 'call-caller-join-8' },
  hlCallCallerUpdate: { file: 'call-caller-update-8' },
  hlCallCallerLeave: { file: 'call-caller-leave-8' },
  hlCallCallerGet: { file: 'call-caller-get-8' },
  hlCallSnapshot: { file: 'call-snapshot-8' },
  hlCallStats: { file: 'call-stats-8' },
  hlCallChanges: { file: 'call-changes-8' },
  hlCallAgentCreate: { file: 'call-agent-create-4' },
  hlCallAgentUpdate: { file: 'call-agent-update-4' },
  hlCallAgentDelete: { file: 'call-agent-delete-4' },
  hlCallAgentRead: { file: 'call-agent-read-4' },
  hlCallAgentLink: { file: 'call-agent-link-4' },
  hlCallTagCreate: { file: 'call-tag-create-4' },
  hlCallTagPut: { file: 'call-tag-put-4' },
  hlCallTagDelete: { file: 'call-tag-delete-4' },
  hlCallTagRelate: { file: 'call-tag-relate-4' },
  hlCallTagRead: { file: 'call-tag-read-4' },
} as const;

/** [value JSON, change JSON?]: the change is absent when nothing changed. */
type ValueAndChange = [string] | [string, string];

export interface CallReplies {
  hlCallQueueCreate: string;
  hlCallQueueUpdate: ValueAndChange;
  hlCallQueueDelete: [string, ...string[]];
  hlCallMemberAdd: [string, string];
  hlCallMemberUpdate: ValueAndChange;
  hlCallMemberRemove: string;
  hlCallCallerJoin: [string, string];
  hlCallCallerUpdate: ValueAndChange;
  hlCallCallerLeave: string;
  hlCallCallerGet: string | null;
  hlCallSnapshot: [string, number, string[], string[], string[], string];
  hlCallStats: string;
  hlCallChanges: string[] | null;
  hlCallAgentCreate: string;
  hlCallAgentUpdate: string[];
  hlCallAgentDelete: string[];
  hlCallAgentRead: string[][];
  hlCallAgentLink: number;
  hlCallTagCreate: [number, number];
  hlCallTagPut: [number, string, number, ...string[]];
  hlCallTagDelete: number;
  hlCallTagRelate: [number, string, number];
  hlCallTagRead: [number, string, ...string[]][];
}

export type CallScript = keyof typeof SCRIPTS;

export function defineCallScripts(client: RedisClient): void {
  for (const [command, spec] of Object.entries(SCRIPTS)) defineScript(client, command, spec.file);
}

const HL_ERROR = /HL:([a-z_]+)(?::([a-z_]+))?/;

/** A script's failure as the error catalogue's: its HL:<code> refusal, or connection.ts's mapping. */
export function toCallError(err: unknown): Error {
  const m = err instanceof Error ? HL_ERROR.exec(err.message) : null;
  if (m !== null && m[1]! in ERRORS) {
    const field = m[2];
    return new HoldlineError(m[1] as ErrorCode, field === undefined ? {} : { field });
  }
  return toEngineError(err);
}

export async function runCallScript<N extends CallScript>(
  client: RedisClient,
  name: N,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<CallReplies[N]> {
  try {
    // The reply's shape is the script's contract (its header); this is the one place it is trusted.
    return (await scriptCall(client, name, false, keys, args)) as CallReplies[N];
  } catch (err) {
    throw toCallError(err);
  }
}

/** Queues a script call on a pipeline (its reply and error come with the pipeline's results). */
export function queueCallScript(pipeline: ChainableCommander, name: CallScript, keys: readonly string[], args: readonly (string | number)[]): void {
  void scriptCall(pipeline, name, false, keys, args);
}
