/**
 * Configuration from the environment (SPEC.md section 6); `holdline serve` flags override it.
 * Every limit an operator may need to change lives here, with its default, so nothing else reads
 * process.env.
 */
import { LIMITS } from './domain/calls/validate.js';
import type { EngineKind } from './engine/types.js';

export interface HoldlineConfig {
  port: number;
  host: string;
  engine: EngineKind;
  /** redis://host:port, or redis+cluster://host:port,host:port for Redis Cluster. */
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
  /**
   * service_level_seconds of a call queue created without one (protocol/calls.md section 5): an
   * answered caller counts towards the service level when it waited at most this long. 0–86 400.
   */
  defaultServiceLevelSeconds: number;
  /**
   * Browser origins (`https://desk.example.com`) allowed to call REST and open WebSockets
   * (src/server/cors.ts). Empty: same-origin only.
   */
  corsOrigins: string[];
  /** Bearer token that may read /metrics; without it (and without an admin key) loopback clients only. */
  metricsToken: string | undefined;
  /** One `info` line per HTTP request (route template, status, duration, request id). */
  accessLog: boolean;
}

export const MAX_TTL = 2 ** 25;

export const DEFAULTS: HoldlineConfig = {
  port: 7700,
  host: '127.0.0.1',
  engine: 'memory',
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'hl',
  adminKey: undefined,
  logLevel: 'info',
  maxMessageBytes: 256 * 1024,
  maxRequestBytes: 4 * 1024 * 1024,
  defaultTtl: 259200,
  allowUwsFallback: false,
  sweepIntervalMs: 1000,
  defaultServiceLevelSeconds: LIMITS.defaultServiceLevel,
  corsOrigins: [],
  metricsToken: undefined,
  accessLog: false,
};

function int(value: string | undefined, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    const what = max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer from 0 to ${max}`;
    throw new Error(`${name} must be ${what}, got "${value}"`);
  }
  return n;
}

function engineKind(value: string | undefined): EngineKind {
  if (value === undefined || value === '') return DEFAULTS.engine;
  if (value === 'memory' || value === 'redis') return value;
  throw new Error(`HOLDLINE_ENGINE must be "memory" or "redis", got "${value}"`);
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HoldlineConfig {
  return {
    port: int(env.HOLDLINE_PORT, 'HOLDLINE_PORT', DEFAULTS.port),
    host: env.HOLDLINE_HOST || DEFAULTS.host,
    engine: engineKind(env.HOLDLINE_ENGINE),
    redisUrl: env.HOLDLINE_REDIS_URL || DEFAULTS.redisUrl,
    redisPrefix: env.HOLDLINE_REDIS_PREFIX || DEFAULTS.redisPrefix,
    adminKey: env.HOLDLINE_ADMIN_KEY || undefined,
    logLevel: env.HOLDLINE_LOG_LEVEL || DEFAULTS.logLevel,
    maxMessageBytes: int(env.HOLDLINE_MAX_MESSAGE_BYTES, 'HOLDLINE_MAX_MESSAGE_BYTES', DEFAULTS.maxMessageBytes),
    maxRequestBytes: int(env.HOLDLINE_MAX_REQUEST_BYTES, 'HOLDLINE_MAX_REQUEST_BYTES', DEFAULTS.maxRequestBytes),
    defaultTtl: int(env.HOLDLINE_DEFAULT_TTL, 'HOLDLINE_DEFAULT_TTL', DEFAULTS.defaultTtl),
    allowUwsFallback: env.HOLDLINE_ALLOW_UWS_FALLBACK === '1' || env.HOLDLINE_ALLOW_UWS_FALLBACK === 'true',
    sweepIntervalMs: int(env.HOLDLINE_SWEEP_INTERVAL_MS, 'HOLDLINE_SWEEP_INTERVAL_MS', DEFAULTS.sweepIntervalMs),
    // The same range a queue's own service_level_seconds accepts (REST validation).
    defaultServiceLevelSeconds: int(
      env.HOLDLINE_SERVICE_LEVEL_SECONDS,
      'HOLDLINE_SERVICE_LEVEL_SECONDS',
      DEFAULTS.defaultServiceLevelSeconds,
      LIMITS.serviceLevelMax,
    ),
    corsOrigins: (env.HOLDLINE_CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter((o) => o !== ''),
    metricsToken: env.HOLDLINE_METRICS_TOKEN || undefined,
    accessLog: env.HOLDLINE_ACCESS_LOG === '1' || env.HOLDLINE_ACCESS_LOG === 'true',
  };
}
