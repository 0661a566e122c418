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

const QUEUE_KEYS = 8;
const APP_KEYS = 4;

const SCRIPTS = {
  hlCallQueueCreate: { file: 'call-queue-create', keys: QUEUE_KEYS },
  hlCallQueueUpdate: { file: 'call-queue-update', keys: QUEUE_KEYS },
  hlCallQueueDelete: { file: 'call-queue-delete', keys: QUEUE_KEYS },
  hlCallMemberAdd: { file: 'call-member-add', keys: QUEUE_KEYS },
  hlCallMemberUpdate: { file: 'call-member-update', keys: QUEUE_KEYS },
  hlCallMemberRemove: { file: 'call-member-remove', keys: QUEUE_KEYS },
  hlCallCallerJoin: { file: 'call-caller-join', keys: QUEUE_KEYS },
  hlCallCallerUpdate: { file: 'call-caller-update', keys: QUEUE_KEYS },
  hlCallCallerLeave: { file: 'call-caller-leave', keys: QUEUE_KEYS },
  hlCallCallerGet: { file: 'call-caller-get', keys: QUEUE_KEYS },
  hlCallSnapshot: { file: 'call-snapshot', keys: QUEUE_KEYS },
  hlCallStats: { file: 'call-stats', keys: QUEUE_KEYS },
  hlCallChanges: { file: 'call-changes', keys: QUEUE_KEYS },
  hlCallAgentCreate: { file: 'call-agent-create', keys: APP_KEYS },
  hlCallAgentUpdate: { file: 'call-agent-update', keys: APP_KEYS },
  hlCallAgentDelete: { file: 'call-agent-delete', keys: APP_KEYS },
  hlCallAgentRead: { file: 'call-agent-read', keys: APP_KEYS },
  hlCallAgentLink: { file: 'call-agent-link', keys: APP_KEYS },
  hlCallTagCreate: { file: 'call-tag-create', keys: APP_KEYS },
  hlCallTagPut: { file: 'call-tag-put', keys: APP_KEYS },
  hlCallTagDelete: { file: 'call-tag-delete', keys: APP_KEYS },
  hlCallTagRelate: { file: 'call-tag-relate', keys: APP_KEYS },
  hlCallTagRead: { file: 'call-tag-read', keys: APP_KEYS },
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
  for (const [command, spec] of Object.entries(SCRIPTS)) defineScript(client, command, spec.file, spec.keys);
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
