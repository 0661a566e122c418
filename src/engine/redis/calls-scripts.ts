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
import { defineScripts, scriptCall, type RedisClient } from './scripts.js';

const SCRIPTS = {
  hlCallQueueCreate: 'call-queue-create-9',
  hlCallQueueUpdate: 'call-queue-update-12',
  hlCallQueueDelete: 'call-queue-delete-12',
  hlCallMemberAdd: 'call-member-add-12',
  hlCallMemberUpdate: 'call-member-update-12',
  hlCallMemberRemove: 'call-member-remove-12',
  hlCallCallerJoin: 'call-caller-join-12',
  hlCallCallerUpdate: 'call-caller-update-12',
  hlCallCallerLeave: 'call-caller-leave-12',
  hlCallCallerCallback: 'call-caller-callback-9',
  hlCallCallerGet: 'call-caller-get-9',
  hlCallSnapshot: 'call-snapshot-9',
  hlCallStats: 'call-stats-9',
  hlCallWallboard: 'call-wallboard-9',
  hlCallChanges: 'call-changes-9',
  hlCallAgentCreate: 'call-agent-create-9',
  hlCallAgentUpdate: 'call-agent-update-9',
  hlCallAgentDelete: 'call-agent-delete-9',
  hlCallAgentRead: 'call-agent-read-9',
  hlCallAgentLink: 'call-agent-link-9',
  hlCallTagCreate: 'call-tag-create-9',
  hlCallTagPut: 'call-tag-put-9',
  hlCallTagDelete: 'call-tag-delete-9',
  hlCallTagRelate: 'call-tag-relate-9',
  hlCallTagRead: 'call-tag-read-9',
} as const;

/** [value JSON, change JSON?]: the change is absent when nothing changed. */
type ValueAndChange = [string] | [string, string];
/** [value JSON] when nothing changed, else [value JSON, change JSON, routing idle after it: 1 | 0]. */
type ValueAndRoutedChange = [string] | [string, string, number];

export interface CallReplies {
  hlCallQueueCreate: string;
  hlCallQueueUpdate: ValueAndRoutedChange;
  hlCallQueueDelete: [string, ...string[]];
  /** [member JSON, change JSON, routing idle after it: 1 | 0]. */
  hlCallMemberAdd: [string, string, number];
  hlCallMemberUpdate: ValueAndRoutedChange;
  /** [change JSON, routing idle after it: 1 | 0]. */
  hlCallMemberRemove: [string, number];
  /**
   * [change JSON (its caller: the joined caller), routing idle after it: 1 | 0]; [null, 0]: the
   * place was outside the join's window, nothing written (RedisCallStore.joinCallerInWindow).
   */
  hlCallCallerJoin: [string, number] | [null, 0];
  hlCallCallerUpdate: ValueAndRoutedChange;
  /** [change JSON, routing idle after it: 1 | 0]. */
  hlCallCallerLeave: [string, number];
  hlCallCallerCallback: ValueAndChange;
  hlCallCallerGet: string | null;
  hlCallSnapshot: [string, number, string[], string[], string[], string];
  hlCallStats: string;
  hlCallWallboard: [string, string[], string[]];
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

/** direct: the scripts that record events write them straight into the log (scripts.ts RecordingMode). */
export function defineCallScripts(client: RedisClient, direct: boolean): void {
  defineScripts(client, SCRIPTS, direct);
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
