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
const cache = new Map<string, string>();

/**
 * Includes that record events, and what replaces them on a client that records none (config.ts
 * `events: false`): the same functions doing nothing, so the scripts run unchanged otherwise.
 */
const RECORDING_INCLUDES: Readonly<Record<string, string>> = { 'event-record': 'event-record-off', 'change-event': 'event-record-off' };
const notRecording = new WeakSet<object>();

/** Scripts defined on `client` from now on record no event (call before defining any). */
export function disableEventRecording(client: RedisClient): void {
  notRecording.add(client);
}

/**
 * The source of lua/<file>.lua with its includes expanded (each include at most once per script)
 * and the message field table's record tags filled in (recordEncode.lua). `recording` false: with
 * the recording includes replaced by event-record-off.lua.
 */
export function loadLua(file: string, recording = true): string {
  const cacheKey = recording ? file : `${file}|off`;
  const cached = cache.get(cacheKey);
  if (cached !== undefined) return cached;
  const dir = luaDir();
  const included = new Set<string>();
  const expand = (source: string): string =>
    source.replace(INCLUDE_RE, (_line, wanted: string) => {
      const name = recording ? wanted : (RECORDING_INCLUDES[wanted] ?? wanted);
      if (included.has(name)) return '';
      included.add(name);
      return expand(readFileSync(`${dir}includes/${name}.lua`, 'utf8'));
    });
  const source = expand(readFileSync(`${dir}${file}.lua`, 'utf8')).replace(FIELD_TAGS_MARK, FIELD_TAGS).replace(FIELD_NAMES_MARK, FIELD_NAMES);
  cache.set(cacheKey, source);
  return source;
}

/**
 * Registers lua/<file>.lua on a client as command `command`. Command names must not shadow Redis
 * commands (ioredis would replace e.g. APPEND), hence the `hl` prefix used by callers.
 *
 * A script's key count is the number that ends its file name (`read-3.lua` takes KEYS[1..3], as
 * BullMQ names its scripts), so it is declared once, next to the script; a test checks every
 * script against its name. Every key a script touches (shard channels included) comes in KEYS,
 * built by keys.ts; none is spelled from ARGV.
 */
export function defineScript(client: RedisClient, command: string, file: string): void {
  const keys = keyCountOf(file);
  if (keys === undefined) throw new Error(`Lua script ${file}: its file name does not end in its key count (name-N)`);
  client.defineCommand(command, { numberOfKeys: keys, lua: loadLua(file, !notRecording.has(client)) });
}

/** Registers a family's scripts: command name -> file (lua/<file>.lua, its key count ending the name). */
export function defineScripts(client: RedisClient, scripts: Readonly<Record<string, string>>): void {
  for (const [command, file] of Object.entries(scripts)) defineScript(client, command, file);
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
