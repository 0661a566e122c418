/**
 * Loads the Lua scripts of src/engine/redis/lua/ (one file per atomic operation, STYLE.md example 1)
 * and registers them with ioredis `defineCommand`, which sends EVALSHA and falls back to EVAL on
 * NOSCRIPT (ioredis lib/Script.ts), per connection and per cluster node.
 *
 * A line `--- @include "name"` is replaced by lua/includes/name.lua (shared helpers, one function
 * each), so every script that Redis sees is self-contained.
 *
 * Shared by every script family of the Redis engine: `defineScript` + `scriptCall` are the whole
 * surface; each family wraps them in one typed function per script.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';
import { MESSAGE_FIELDS } from '../../message-fields.js';
import { eventTypeDef, knownEventTypes } from '../events.js';

export type RedisClient = Redis | Cluster;
export type ScriptArg = string | number | Buffer;

/**
 * The directory holding the .lua files: next to this module, both in src/ (tsx, vitest) and in the
 * compiled dist/src/engine/redis/ (`npm run build` copies lua/ there, since tsc copies only .ts
 * output), so a built server needs nothing from src/. A dist/ compiled by tsc alone (bench --head
 * builds that way) has no copy: then the package's own src/engine/redis/lua/, when present.
 */
function luaDir(): string {
  const candidates = [new URL('./lua/', import.meta.url), new URL('../../../../src/engine/redis/lua/', import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}includes`)) return dir;
  }
  throw new Error(`Lua scripts not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')}; \`npm run build\` copies them into dist/)`);
}

const INCLUDE_RE = /^--- @include "([A-Za-z0-9_-]+)"\s*$/gm;
/** Where recordEncode.lua lists the optional fields' record tags, in the table's order. */
const FIELD_TAGS_MARK = '--[[@message-field-tags]]';
const FIELD_TAGS = MESSAGE_FIELDS.map((f) => `'${f.tag}'`).join(', ');
/** Where a script wants the optional fields' record tags mapped to their wire names (update.lua's event). */
const FIELD_NAMES_MARK = '--[[@message-field-names]]';
const FIELD_NAMES = MESSAGE_FIELDS.map((f) => `${f.tag} = '${f.wire}'`).join(', ');
const cache = new Map<string, { source: string; included: Set<string> }>();

/**
 * How a script records its events (protocol/events.md "Recording"): `outbox` into its slot's
 * outbox, relayed into the log by events.ts; `off` not at all (config.ts `events: false`: the
 * recording includes replaced by event-record-off.lua, the same functions doing nothing); `direct`
 * straight into the application's log (event-record-direct.lua: the call store on a single Redis,
 * where the change and the log are on one server), taking the log's keys after its own and the
 * application and its id bits as its last two arguments.
 */
export type RecordingMode = 'outbox' | 'off' | 'direct';

/** Includes that record events, and what replaces them in each mode that is not `outbox`. */
const RECORDING_INCLUDES: Readonly<Record<Exclude<RecordingMode, 'outbox'>, Readonly<Record<string, string>>>> = {
  off: { 'event-record': 'event-record-off', 'change-event': 'event-record-off' },
  direct: { 'event-record': 'event-record-direct', 'change-event': 'change-event-direct' },
};
const notRecording = new WeakSet<object>();

/** Scripts defined on `client` from now on record no event (call before defining any). */
export function disableEventRecording(client: RedisClient): void {
  notRecording.add(client);
}

/** The event log keys a `direct` script takes after its own (keys.ts EventLogKeys). */
export const DIRECT_LOG_KEYS = 8;
/** Where event-record-direct.lua wants the event types' declared traits, as a Lua table. */
const EVENT_TRAITS_MARK = '--[[@event-trait-types]]';

/** Every known event type's declared traits as a Lua table constructor: { ['type'] = { {name, type}, ... } }. */
function eventTraitsLua(): string {
  const types = knownEventTypes().map((type) => {
    const traits = Object.entries(eventTypeDef(type)?.traits ?? {}).map(([name, t]) => `{'${name}','${t}'}`);
    return `['${type}']={${traits.join(',')}}`;
  });
  return `{${types.join(',')}}`;
}

/** Whether lua/<file>.lua records events (includes event-record, directly or through another include). */
export function recordsEvents(file: string): boolean {
  return expandLua(file, 'outbox').included.has('event-record');
}

/**
 * The source of lua/<file>.lua with its includes expanded (each include at most once per script)
 * and the tables filled in (recordEncode.lua's message field tags; event-record-direct.lua's event
 * traits), in a recording mode.
 */
export function loadLua(file: string, mode: RecordingMode | boolean = 'outbox'): string {
  return expandLua(file, mode === true ? 'outbox' : mode === false ? 'off' : mode).source;
}

function expandLua(file: string, mode: RecordingMode): { source: string; included: Set<string> } {
  const cacheKey = `${file}|${mode}`;
  let out = cache.get(cacheKey);
  if (out === undefined) {
    const own = readFileSync(`${luaDir()}${file}.lua`, 'utf8');
    if (mode === 'direct' && /#ARGV/.test(own)) {
      // Its last two arguments are the application's (event-record-direct.lua): a script counting ARGV would take them for its own.
      throw new Error(`Lua script ${file} reads #ARGV: it cannot record directly`);
    }
    out = expandLuaSource(own, mode);
    cache.set(cacheKey, out);
  }
  return out;
}

/** A script's source with its includes expanded and the tables filled in (loadLua), and the includes it took. */
export function expandLuaSource(own: string, mode: RecordingMode): { source: string; included: Set<string> } {
  const dir = luaDir();
  const swaps: Readonly<Record<string, string>> = mode === 'outbox' ? {} : RECORDING_INCLUDES[mode];
  const included = new Set<string>();
  const expand = (source: string): string =>
    source.replace(INCLUDE_RE, (_line, wanted: string) => {
      const name = swaps[wanted] ?? wanted;
      if (included.has(name)) return '';
      included.add(name);
      return expand(readFileSync(`${dir}includes/${name}.lua`, 'utf8'));
    });
  let source = expand(own).replace(FIELD_TAGS_MARK, FIELD_TAGS).replace(FIELD_NAMES_MARK, FIELD_NAMES);
  if (included.has('event-record-direct')) source = source.replace(EVENT_TRAITS_MARK, eventTraitsLua());
  return { source, included };
}

/**
 * Registers lua/<file>.lua on a client as command `command`. Command names must not shadow Redis
 * commands (ioredis would replace e.g. APPEND), hence the `hl` prefix used by callers.
 *
 * A script's key count is the number that ends its file name (`read-3.lua` takes KEYS[1..3], as
 * BullMQ names its scripts), so it is declared once, next to the script; a test checks every
 * script against its name. Every key a script touches (shard channels included) comes in KEYS,
 * built by keys.ts; none is spelled from ARGV. A script recording directly (RecordingMode) takes
 * the event log's DIRECT_LOG_KEYS after its declared ones.
 */
export function defineScript(client: RedisClient, command: string, file: string, direct = false): void {
  const keys = keyCountOf(file);
  if (keys === undefined) throw new Error(`Lua script ${file}: its file name does not end in its key count (name-N)`);
  const records = recordsEvents(file);
  const mode: RecordingMode = notRecording.has(client) ? 'off' : direct && records ? 'direct' : 'outbox';
  client.defineCommand(command, { numberOfKeys: mode === 'direct' ? keys + DIRECT_LOG_KEYS : keys, lua: loadLua(file, mode) });
  let modes = commandRecording.get(client);
  if (modes === undefined) {
    modes = new Map();
    commandRecording.set(client, modes);
  }
  modes.set(command, records ? mode : 'none');
}

/** How each command defined on a client records its events, as defineScript loaded it ('none': its script records nothing). */
const commandRecording = new WeakMap<object, Map<string, CommandRecording>>();
export type CommandRecording = RecordingMode | 'none';

/**
 * How `command`'s script on `client` records (defineScript): what its caller must do around it
 * (events.ts RedisEventLog.recorded), read where the script was loaded, so the two cannot disagree.
 */
export function recordingOf(client: RedisClient, command: string): CommandRecording {
  return commandRecording.get(client)?.get(command) ?? 'none';
}

/**
 * Registers a family's scripts: command name -> file (lua/<file>.lua, its key count ending the
 * name). `direct`: those that record events record them straight into the log (RecordingMode),
 * unless recording is off on this client.
 */
export function defineScripts(client: RedisClient, scripts: Readonly<Record<string, string>>, direct = false): void {
  for (const [command, file] of Object.entries(scripts)) defineScript(client, command, file, direct);
}

/** The key count a script's file name declares (`name-N`), if it declares one. */
export function keyCountOf(file: string): number | undefined {
  const m = /-(\d+)$/.exec(file);
  return m === null ? undefined : Number(m[1]);
}

type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

/**
 * Calls a script registered with defineScript. `buffers` selects the ioredis variant that returns
 * bulk strings as Buffers (records carry binary bodies, which must not go through UTF-8 decoding).
 * Works on a client or on a pipeline made from it (the pipeline then queues the call).
 */
export function scriptCall(
  target: RedisClient | ReturnType<RedisClient['pipeline']>,
  command: string,
  buffers: boolean,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  const fn = (target as unknown as Record<string, ScriptFn | undefined>)[buffers ? `${command}Buffer` : command];
  if (typeof fn !== 'function') throw new Error(`Redis script ${command} is not defined on this client`);
  return fn.call(target, ...keys, ...args);
}
