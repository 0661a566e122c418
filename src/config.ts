/**
 * Holdline's settings (SPEC.md section 6): ONE table, SETTINGS, gives each setting its config key,
 * environment variable, `holdline serve` flag, type, default and description. Everything else is
 * derived from it: DEFAULTS, the environment reader, the flags and `serve --help`, the JSON Schema
 * of a config file, the README's settings table (a test keeps it in sync). A new setting is a field
 * of HoldlineConfig plus one entry (the compiler refuses a field without its entry).
 *
 * Precedence: flag, then environment variable, then config file, then default. A bad value is a
 * ConfigError naming where it came from and what the setting accepts; an unknown HOLDLINE_*
 * variable or config key is a warning naming the closest known one.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { LIMITS } from './domain/calls/validate.js';
import { APP_NAME_RE, RESERVED_APP_NAMES, isValidAppName } from './domain/names.js';
import type { EngineKind } from './engine/types.js';
import { isTimeZone } from './engine/wallboard.js';

export interface HoldlineConfig {
  port: number;
  host: string;
  engine: EngineKind;
  /** redis://host:port[/db] (db 0 when absent), or redis+cluster://host:port,host:port for Redis Cluster. */
  redisUrl: string;
  /** Key prefix in Redis, so several deployments (or test cases) can share one server. */
  redisPrefix: string;
  /** Without it, the admin routes (/v1/apps) are off. */
  adminKey: string | undefined;
  logLevel: string;
  /** Largest message body, bytes (SPEC: default 256 KiB). */
  maxMessageBytes: number;
  /** Largest HTTP request body, bytes (a batch of messages). */
  maxRequestBytes: number;
  /** Default message ttl, seconds (Queuey: 3 days). */
  defaultTtl: number;
  /** Run on uWS's pure-JS fallback instead of refusing to start. */
  allowUwsFallback: boolean;
  /** How often the engine reclaims expired messages, ms. */
  sweepIntervalMs: number;
  /** How long each application's events are kept, seconds (protocol/events.md section 4). */
  eventRetentionSeconds: number;
  /** The most events an application keeps (the oldest go first). */
  eventMaxPerApp: number;
  /** off: changes record no event on this node (protocol/events.md section 2, "Recording off"). */
  events: 'on' | 'off';
  /**
   * service_level_seconds of a call queue created without one (protocol/calls.md section 5): an
   * answered caller counts towards the service level when it waited at most this long. 0–86 400.
   */
  defaultServiceLevelSeconds: number;
  /**
   * Redis engine: how long, once the registry's announcement channel is down (its primary died),
   * keys and queues this node already knew keep answering, ms; 0: not at all (README "When
   * something fails"; src/engine/redis/meta-cache.ts).
   */
  registryOutageMs: number;
  /**
   * Redis engine: bytes (estimated) of the in-process tails of followed partitions that answer
   * history reads (src/engine/redis/tail-cache.ts); 0: every read goes to Redis.
   */
  historyCacheBytes: number;
  /**
   * Redis engine: messages posted through this node that Redis has not answered yet (REST posts and
   * WebSocket publishes), beyond which a post is refused at once with engine_unavailable, storing
   * nothing (src/engine/redis/index.ts append): what waits in memory while Redis does not answer.
   */
  maxPendingMessages: number;
  /**
   * Changes kept per call queue for resuming with since_seq (protocol/websocket.md 5.1, announced in
   * `welcome` as callqueue_resume_window): a subscriber further behind gets a fresh snapshot.
   */
  callQueueResumeWindow: number;
  /** The IANA time zone whose midnight starts the wallboard's `today` window (protocol/calls.md 5.1). */
  wallboardTimeZone: string;
  /** How often each node sweeps routing's due index: offer timeouts, wrap-up ends, decisions (protocol/routing.md 6). */
  routingSweepMs: number;
  /** Browser origins allowed to call REST and open WebSockets; empty: same-origin only. */
  corsOrigins: string[];
  /** Bearer token /metrics asks for; unset: see the metrics documentation. */
  metricsToken: string | undefined;
  /** One `info` line per HTTP request (route, status, duration, request id). */
  accessLog: boolean;
  /** `serve`: create this application at start if missing and print its key. */
  bootstrapApp?: string | undefined;
  /**
   * Hosts webhook endpoints may point at (protocol/webhooks.md): exact names or IP literals, or
   * `*.example.com` for its subdomains; empty: any host.
   */
  webhookAllowedHosts: string[];
  /** How long one webhook POST may take before it counts as failed, ms. */
  webhookTimeoutMs: number;
  /** The first retry delay of a failed webhook delivery, ms; doubled per failure up to webhookRetryMaxMs. */
  webhookRetryBaseMs: number;
  /** The longest delay between two attempts at one webhook delivery, ms. */
  webhookRetryMaxMs: number;
  /** Webhook POSTs in flight at once on this node, over all endpoints. */
  webhookMaxInFlight: number;
  /** How long a node's claim to deliver to one endpoint lasts unless renewed, ms (a dead node's endpoints move after this). */
  webhookLeaseMs: number;
  /** `serve`: server threads sharing the port (Redis engine only above 1; src/cli/serve-workers.ts). */
  workers: number;
}

export const MAX_TTL = 2 ** 25;

// ---------- value types: how a setting is written in the environment, a flag and a config file ----------

export interface SettingType<T> {
  /** What it accepts, completing "must be …" ("an integer from 0 to 65535"). */
  accepts: string;
  /** The JSON Schema of its value in a config file. */
  schema: Record<string, unknown>;
  /** From an environment variable or a flag; undefined: not acceptable. '' never reaches it (unset). */
  parse(text: string): T | undefined;
  /** From a config file value, already valid against `schema`; undefined: not acceptable all the same. */
  fromJson(value: unknown): T | undefined;
  /** For --help and the README: how the value is written. */
  show(value: T): string;
  /** The flag's value placeholder; null: a switch without a value. */
  placeholder: string | null;
  /** How a refused value is shown in the error, when not as JSON (a URL without its password). */
  quote?: (text: string) => string;
}

function integer(min: number, max: number): SettingType<number> {
  return {
    accepts: max === Number.MAX_SAFE_INTEGER ? `an integer from ${min} up` : `an integer from ${min} to ${max}`,
    schema: { type: 'integer', minimum: min, maximum: max },
    parse: (text) => {
      if (!/^\d+$/.test(text)) return undefined;
      const n = Number(text);
      return n >= min && n <= max ? n : undefined;
    },
    fromJson: (v) => v as number,
    show: String,
    placeholder: '<n>',
  };
}

function oneOf<T extends string>(values: readonly T[]): SettingType<T> {
  return {
    accepts: `one of ${values.join(', ')}`,
    schema: { type: 'string', enum: values },
    parse: (text) => (values as readonly string[]).includes(text) ? (text as T) : undefined,
    fromJson: (v) => v as T,
    show: String,
    placeholder: `<${values.join('|')}>`,
  };
}

// A flag given '' (`--admin-key ''`) reaches parse; an empty environment variable does not (unset).
const nonEmpty = (t: string): string | undefined => (t === '' ? undefined : t);

function text(placeholder: string, accepts = 'a non-empty string'): SettingType<string> {
  return {
    accepts,
    schema: { type: 'string', minLength: 1 },
    parse: nonEmpty,
    fromJson: (v) => v as string,
    show: String,
    placeholder,
  };
}

function optionalText(placeholder: string): SettingType<string | undefined> {
  return {
    accepts: 'a non-empty string',
    schema: { type: 'string', minLength: 1 },
    parse: nonEmpty,
    fromJson: (v) => v as string,
    show: (v) => v ?? 'unset',
    placeholder,
  };
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

const boolean: SettingType<boolean> = {
  accepts: 'true or false (1/0, yes/no, on/off)',
  schema: { type: 'boolean' },
  parse: (t) => (TRUE.includes(t.toLowerCase()) ? true : FALSE.includes(t.toLowerCase()) ? false : undefined),
  fromJson: (v) => v as boolean,
  show: (v) => (v ? 'on' : 'off'),
  placeholder: null,
};

/**
 * After the host, a redis:// or rediss:// URL has nothing, `/` (both database 0) or `/` and a
 * database number: ioredis reads any other path as database 0 (`/abc`) or starts on database 0 when
 * Redis refuses the number (`/-1`), so a typo would silently share database 0 with someone else.
 * Whether the number exists is Redis's to say, at start (its `databases` setting; src/cli/serve.ts).
 */
const REDIS_URL = /^(redis|rediss):\/\/[^\s/?#]*(\/(\d+)?)?(\?[^\s#]*)?$|^redis\+cluster:\/\/([^\s@/]*@)?[^\s:,/]+:\d+(,[^\s:,/]+:\d+)*\/?$/;

/** A query may set ioredis options; its `db`, when given, is held to the same rule as the path's. */
function isRedisUrl(t: string): boolean {
  if (!REDIS_URL.test(t)) return false;
  const query = t.indexOf('?');
  if (query < 0) return true;
  const db = new URLSearchParams(t.slice(query + 1)).getAll('db');
  return db.every((d) => /^\d+$/.test(d));
}

const redisUrl: SettingType<string> = {
  ...text('<url>'),
  accepts: 'a redis://host:port[/db] (db: a database number, 0 when absent), rediss://… or redis+cluster://host:port,host:port URL',
  schema: { type: 'string', pattern: REDIS_URL.source },
  parse: (t) => (isRedisUrl(t) ? t : undefined),
  fromJson: (v) => (isRedisUrl(v as string) ? (v as string) : undefined),
  quote: (t) => JSON.stringify(redactUrl(t)),
};

/** An origin (scheme://host[:port]), or `*`: any origin (src/server/cors.ts). */
const ORIGIN = /^(https?:\/\/[^\s/,]+|\*)$/;

const origins: SettingType<string[]> = {
  accepts: 'origins (scheme://host[:port]) or *, comma-separated in the environment or a flag, an array in a file',
  schema: { type: 'array', items: { type: 'string', pattern: ORIGIN.source } },
  parse: (t) => {
    const list = t.split(',').map((s) => s.trim()).filter((s) => s !== '');
    return list.every((o) => ORIGIN.test(o)) ? list : undefined;
  },
  fromJson: (v) => v as string[],
  show: (v) => (v.length === 0 ? 'none' : v.join(',')),
  placeholder: '<origins>',
};

/** A webhook host: a name, an IP literal, or `*.` and a name (its subdomains). */
const WEBHOOK_HOST = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$/;

const hosts: SettingType<string[]> = {
  accepts: 'host names, IP literals or *.domain, comma-separated in the environment or a flag, an array in a file',
  schema: { type: 'array', items: { type: 'string', pattern: WEBHOOK_HOST.source } },
  parse: (t) => {
    const list = t.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
    return list.every((h) => WEBHOOK_HOST.test(h)) ? list : undefined;
  },
  fromJson: (v) => (v as string[]).map((h) => h.toLowerCase()),
  show: (v) => (v.length === 0 ? 'any' : v.join(',')),
  placeholder: '<hosts>',
};

/** An application name (SPEC.md section 2), checked at start rather than when the bootstrap creates it. */
const appName: SettingType<string | undefined> = {
  ...optionalText('<name>'),
  accepts: `an application name: 1 to 50 letters, digits, _ or -, not a reserved one (${[...RESERVED_APP_NAMES].slice(0, 4).join(', ')}…)`,
  schema: { type: 'string', pattern: APP_NAME_RE.source },
  parse: (t) => (isValidAppName(t) ? t : undefined),
  fromJson: (v) => (isValidAppName(v as string) ? (v as string) : undefined),
};

/** An IANA time zone name the runtime knows (Intl), for the wallboard's `today` (engine/wallboard.ts). */
const TIME_ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const timeZone: SettingType<string> = {
  ...text('<zone>'),
  accepts: 'an IANA time zone name such as UTC or Europe/Paris',
  schema: { type: 'string', pattern: TIME_ZONE.source },
  parse: (t) => (TIME_ZONE.test(t) && isTimeZone(t) ? t : undefined),
  fromJson: (v) => (isTimeZone(v as string) ? (v as string) : undefined),
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

// ---------- the table ----------

export interface Setting<T> {
  env: string;
  /** The long flag, without its value placeholder. */
  flag: string;
  type: SettingType<T>;
  default: T;
  description: string;
  /** Kept out of logs and --help defaults. */
  secret?: boolean;
}

type SettingTable = { [K in keyof HoldlineConfig]-?: Setting<HoldlineConfig[K]> };

export const SETTINGS: SettingTable = {
  port: {
    env: 'HOLDLINE_PORT', flag: '--port', type: integer(0, 65535), default: 7700,
    description: 'HTTP and WebSocket port (0: any free port, logged at start)',
  },
  host: {
    env: 'HOLDLINE_HOST', flag: '--host', type: text('<addr>', 'an address of this host'), default: '127.0.0.1',
    description: 'address to listen on',
  },
  engine: {
    env: 'HOLDLINE_ENGINE', flag: '--engine', type: oneOf(['memory', 'redis'] as const), default: 'memory',
    description: 'where queues live: memory (this process) or redis',
  },
  redisUrl: {
    env: 'HOLDLINE_REDIS_URL', flag: '--redis-url', type: redisUrl, default: 'redis://127.0.0.1:6379',
    description: 'Redis (redis://host:port/db, db 0 when absent), or redis+cluster://h:p,h:p for Redis Cluster (engine redis)',
  },
  redisPrefix: {
    env: 'HOLDLINE_REDIS_PREFIX', flag: '--redis-prefix', type: text('<prefix>'), default: 'hl',
    description: 'key prefix, so deployments can share a Redis',
  },
  adminKey: {
    env: 'HOLDLINE_ADMIN_KEY', flag: '--admin-key', type: optionalText('<key>'), default: undefined, secret: true,
    description: 'operator key for /v1/apps; unset: the admin routes are off',
  },
  logLevel: {
    env: 'HOLDLINE_LOG_LEVEL', flag: '--log-level', type: oneOf(LOG_LEVELS), default: 'info',
    description: 'log level (JSON lines on stdout; debug logs one line per request)',
  },
  maxMessageBytes: {
    env: 'HOLDLINE_MAX_MESSAGE_BYTES', flag: '--max-message-bytes', type: integer(1, Number.MAX_SAFE_INTEGER), default: 256 * 1024,
    description: 'largest message body (UTF-8 bytes)',
  },
  maxRequestBytes: {
    env: 'HOLDLINE_MAX_REQUEST_BYTES', flag: '--max-request-bytes', type: integer(1, Number.MAX_SAFE_INTEGER), default: 4 * 1024 * 1024,
    description: 'largest HTTP request body',
  },
  defaultTtl: {
    env: 'HOLDLINE_DEFAULT_TTL', flag: '--default-ttl', type: integer(1, MAX_TTL), default: 259200,
    description: 'message TTL when none is given, seconds',
  },
  allowUwsFallback: {
    env: 'HOLDLINE_ALLOW_UWS_FALLBACK', flag: '--allow-uws-fallback', type: boolean, default: false,
    description: "run on uWebSockets.js's slow pure-JS fallback instead of refusing to start",
  },
  sweepIntervalMs: {
    // An interval timer's longest period: Node runs a longer one every millisecond instead.
    env: 'HOLDLINE_SWEEP_INTERVAL_MS', flag: '--sweep-interval-ms', type: integer(1, 2 ** 31 - 1), default: 1000,
    description: 'how often expired messages are reclaimed, ms',
  },
  eventRetentionSeconds: {
    env: 'HOLDLINE_EVENT_RETENTION_SECONDS', flag: '--event-retention-seconds', type: integer(1, 10 * 365 * 86_400), default: 7 * 86_400,
    description: "how long each application's events are kept, seconds (reclaimed within one sweep interval after)",
  },
  events: {
    env: 'HOLDLINE_EVENTS', flag: '--events', type: oneOf(['on', 'off'] as const), default: 'on',
    description: 'off: changes made through this node record no event (the event log, its queries, tail and webhooks stay empty of them; capabilities events: false)',
  },
  eventMaxPerApp: {
    env: 'HOLDLINE_EVENT_MAX_PER_APP', flag: '--event-max-per-app', type: integer(1, 100_000_000), default: 100_000,
    description: 'the most events an application keeps; the oldest go first (on Redis, within one sweep interval of going over: protocol/events.md section 4)',
  },
  defaultServiceLevelSeconds: {
    env: 'HOLDLINE_SERVICE_LEVEL_SECONDS', flag: '--service-level-seconds', type: integer(0, LIMITS.serviceLevelMax),
    default: LIMITS.defaultServiceLevel,
    description:
      "service_level_seconds of a call queue created without one: an answered caller counts towards the queue's service_level when it waited at most this long; a queue's own value (REST) wins",
  },
  registryOutageMs: {
    env: 'HOLDLINE_REGISTRY_OUTAGE_MS', flag: '--registry-outage-ms', type: integer(0, 3_600_000), default: 30_000,
    description:
      'Redis engine: while the application registry is unreachable (its primary died), how long keys and queues this node already knew keep answering, ms; revocations made meanwhile apply once it is back; 0: refuse at once',
  },
  historyCacheBytes: {
    env: 'HOLDLINE_HISTORY_CACHE_BYTES', flag: '--history-cache-bytes', type: integer(0, Number.MAX_SAFE_INTEGER), default: 64 * 1024 * 1024,
    description:
      'Redis engine: memory (bytes, estimated) for the newest messages of the partitions this node follows, from which history reads are answered when the range is held (gauge holdline_history_cache_bytes); 0: off',
  },
  maxPendingMessages: {
    env: 'HOLDLINE_MAX_PENDING_MESSAGES', flag: '--max-pending-messages', type: integer(1, 100_000_000), default: 100_000,
    description:
      'Redis engine: messages posted through this node (REST and WebSocket) that Redis has not answered yet; a post that would pass it is refused at once with 503 engine_unavailable, storing nothing, so what waits in memory while Redis does not answer stays bounded',
  },
  callQueueResumeWindow: {
    env: 'HOLDLINE_CALLQUEUE_RESUME_WINDOW', flag: '--callqueue-resume-window', type: integer(1, 1_000_000), default: 1000,
    description: 'call-queue updates kept per queue, so a live view can resume after a lost connection',
  },
  wallboardTimeZone: {
    env: 'HOLDLINE_WALLBOARD_TIME_ZONE', flag: '--wallboard-time-zone', type: timeZone, default: 'UTC',
    description: "IANA time zone (Europe/Paris) whose midnight starts the call-queue wallboard's today window",
  },
  routingSweepMs: {
    env: 'HOLDLINE_ROUTING_SWEEP_MS', flag: '--routing-sweep-ms', type: integer(10, 60_000), default: 250,
    description: 'how often each node sweeps routing deadlines (offer timeouts, wrap-up ends) and queues marked for a decision, ms: the dispatch bound of protocol/routing.md',
  },
  corsOrigins: {
    env: 'HOLDLINE_CORS_ORIGINS', flag: '--cors-origins', type: origins, default: [],
    description: 'browser origins allowed to call REST and open WebSockets (* for any); none: same-origin only',
  },
  metricsToken: {
    env: 'HOLDLINE_METRICS_TOKEN', flag: '--metrics-token', type: optionalText('<token>'), default: undefined, secret: true,
    description: 'token /metrics asks for (Authorization: Bearer <token>); unset: loopback clients only (the admin key is always accepted)',
  },
  accessLog: {
    env: 'HOLDLINE_ACCESS_LOG', flag: '--access-log', type: boolean, default: false,
    description: 'log one info line per HTTP request (route, status, duration, request id)',
  },
  workers: {
    env: 'HOLDLINE_WORKERS', flag: '--workers', type: integer(1, 256), default: 1,
    description:
      'server threads sharing the port, each a node of its own on the same Redis (every core of the machine); above 1 needs the redis engine',
  },
  bootstrapApp: {
    env: 'HOLDLINE_BOOTSTRAP_APP', flag: '--bootstrap-app', type: appName, default: undefined,
    description: 'create this application at start if missing and print its key (handy with memory)',
  },
  webhookAllowedHosts: {
    env: 'HOLDLINE_WEBHOOK_ALLOWED_HOSTS', flag: '--webhook-allowed-hosts', type: hosts, default: [],
    description:
      'hosts webhook endpoints may point at (names, IP literals, *.domain for subdomains); none: any host. Set it: a webhook POSTs from inside your network (protocol/webhooks.md)',
  },
  webhookTimeoutMs: {
    env: 'HOLDLINE_WEBHOOK_TIMEOUT_MS', flag: '--webhook-timeout-ms', type: integer(1, 600_000), default: 10_000,
    description: 'how long one webhook POST may take before it counts as failed and is retried, ms',
  },
  webhookRetryBaseMs: {
    env: 'HOLDLINE_WEBHOOK_RETRY_BASE_MS', flag: '--webhook-retry-base-ms', type: integer(1, 3_600_000), default: 1000,
    description: 'first retry delay of a failed webhook delivery, ms; doubled per failure up to the maximum, each delay a random 50–100 % of that',
  },
  webhookRetryMaxMs: {
    env: 'HOLDLINE_WEBHOOK_RETRY_MAX_MS', flag: '--webhook-retry-max-ms', type: integer(1, 86_400_000), default: 300_000,
    description: 'longest delay between two attempts at one webhook delivery, ms',
  },
  webhookMaxInFlight: {
    env: 'HOLDLINE_WEBHOOK_MAX_IN_FLIGHT', flag: '--webhook-max-in-flight', type: integer(1, 100_000), default: 64,
    description: 'webhook POSTs in flight at once on this node, over all endpoints (each endpoint has at most one)',
  },
  webhookLeaseMs: {
    env: 'HOLDLINE_WEBHOOK_LEASE_MS', flag: '--webhook-lease-ms', type: integer(100, 3_600_000), default: 15_000,
    description: "how long a node's claim to deliver to one webhook endpoint lasts unless renewed, ms; a dead node's endpoints move to another node after it",
  },
};

export type SettingKey = keyof HoldlineConfig;

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

function setting(key: SettingKey): Setting<unknown> {
  return SETTINGS[key] as Setting<unknown>;
}

export const DEFAULTS: HoldlineConfig = Object.fromEntries(
  SETTING_KEYS.map((k) => [k, setting(k).default]),
) as unknown as HoldlineConfig;

/** Environment variables the `holdline` client verbs read (not server settings, not warned about). */
export const CLIENT_ENV = ['HOLDLINE_URL', 'HOLDLINE_KEY', 'HOLDLINE_TOKEN', 'HOLDLINE_CONFIG'];

// ---------- resolution ----------

/** A bad setting value: one line naming the setting and what it accepts. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** Flag values as typed (strings), or true for a switch; keyed by config key. */
  flags?: Partial<Record<SettingKey, string | boolean>>;
  /** A parsed config file. */
  file?: { path: string; data: unknown };
}

export interface ResolvedConfig {
  config: HoldlineConfig;
  warnings: string[];
}

function refuse(where: string, key: SettingKey, got: unknown): never {
  const { accepts, quote } = setting(key).type;
  throw new ConfigError(`${where} must be ${accepts}, got ${typeof got === 'string' && quote !== undefined ? quote(got) : JSON.stringify(got)}`);
}

let fileValidator: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

/** The JSON Schema of a config file: every setting's schema under its key; unknown keys are warned about. */
export function configFileSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Holdline configuration file',
    type: 'object',
    properties: Object.fromEntries(
      SETTING_KEYS.map((k) => [k, { ...setting(k).type.schema, description: setting(k).description }]),
    ),
  };
}

function checkFile(path: string, data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold a JSON object of settings`);
  }
  fileValidator ??= new Ajv({ allErrors: false, strict: true }).compile(configFileSchema());
  if (!fileValidator(data)) {
    const err = fileValidator.errors?.[0];
    const key = err?.instancePath.split('/')[1] as SettingKey | undefined;
    if (key !== undefined && key in SETTINGS) {
      refuse(`${key} in ${path}`, key, (data as Record<string, unknown>)[key]);
    }
    throw new ConfigError(`config file ${path}: ${err?.message ?? 'invalid'}`);
  }
  return data as Record<string, unknown>;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

export function closest(name: string, known: readonly string[]): string {
  let best = known[0]!;
  for (const k of known) {
    if (distance(name.toLowerCase(), k.toLowerCase()) < distance(name.toLowerCase(), best.toLowerCase())) best = k;
  }
  return best;
}

/** Resolves every setting from flags, environment, config file and defaults (in that order). */
export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const env = sources.env ?? {};
  const warnings: string[] = [];
  const knownEnv = SETTING_KEYS.map((k) => setting(k).env);
  for (const name of Object.keys(env)) {
    if (name.startsWith('HOLDLINE_') && !knownEnv.includes(name) && !CLIENT_ENV.includes(name)) {
      warnings.push(`unknown setting ${name} is ignored; did you mean ${closest(name, knownEnv)}?`);
    }
  }
  const file = sources.file === undefined ? undefined : checkFile(sources.file.path, sources.file.data);
  if (file !== undefined) {
    for (const key of Object.keys(file)) {
      if (!(key in SETTINGS)) {
        warnings.push(`unknown setting ${key} in ${sources.file!.path} is ignored; did you mean ${closest(key, SETTING_KEYS)}?`);
      }
    }
  }
  const config: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const s = setting(key);
    const flag = sources.flags?.[key];
    const fromEnv = env[s.env];
    if (flag !== undefined && flag !== false) {
      config[key] = flag === true ? true : (s.type.parse(flag) ?? refuse(s.flag, key, flag));
    } else if (fromEnv !== undefined && fromEnv !== '') {
      config[key] = s.type.parse(fromEnv) ?? refuse(s.env, key, fromEnv);
    } else if (file !== undefined && file[key] !== undefined) {
      config[key] = s.type.fromJson(file[key]) ?? refuse(`${key} in ${sources.file!.path}`, key, file[key]);
    } else {
      config[key] = s.default;
    }
  }
  return { config: config as unknown as HoldlineConfig, warnings };
}

/** The settings from the environment alone (throws ConfigError on a bad value). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HoldlineConfig {
  return resolveConfig({ env }).config;
}

/** A URL with its password replaced by `***`, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
