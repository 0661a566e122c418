/**
 * `holdline` command line: flags override the environment (SPEC.md section 6). Uses node's
 * util.parseArgs; unknown flags are usage errors, not ignored.
 */
import { parseArgs } from 'node:util';
import { configFromEnv, type HoldlineConfig } from '../config.js';

export const USAGE = `Usage:
  holdline serve [options]          run the server (HTTP + WebSocket on one port)
  holdline apps create NAME         create an application; prints its key (shown once)
  holdline apps list                list applications
  holdline apps revoke NAME         delete an application, its keys, queues and messages
  holdline help

Options (each overrides its environment variable):
  --port N                 HOLDLINE_PORT (7700; 0 picks a free port)
  --host ADDR              HOLDLINE_HOST (127.0.0.1)
  --engine memory|redis    HOLDLINE_ENGINE (memory)
  --redis-url URL          HOLDLINE_REDIS_URL (redis://127.0.0.1:6379)
  --admin-key KEY          HOLDLINE_ADMIN_KEY (unset: /v1/apps is off)
  --log-level LEVEL        HOLDLINE_LOG_LEVEL (info)
  --allow-uws-fallback     HOLDLINE_ALLOW_UWS_FALLBACK=1: run on uWS's slow JS fallback
  --bootstrap-app NAME     HOLDLINE_BOOTSTRAP_APP (serve): create NAME at start if missing and
                           print its key, so the memory engine has a first key
`;

export class UsageError extends Error {}

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  engine: { type: 'string' },
  'redis-url': { type: 'string' },
  'admin-key': { type: 'string' },
  'log-level': { type: 'string' },
  'allow-uws-fallback': { type: 'boolean' },
  'bootstrap-app': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface Command {
  positionals: string[];
  config: HoldlineConfig;
  bootstrapApp: string | undefined;
  help: boolean;
}

export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values;
  // Flags become environment entries, so they go through the same parsing and checks as the env.
  const merged: NodeJS.ProcessEnv = { ...env };
  if (v.port !== undefined) merged.HOLDLINE_PORT = v.port;
  if (v.host !== undefined) merged.HOLDLINE_HOST = v.host;
  if (v.engine !== undefined) merged.HOLDLINE_ENGINE = v.engine;
  if (v['redis-url'] !== undefined) merged.HOLDLINE_REDIS_URL = v['redis-url'];
  if (v['admin-key'] !== undefined) merged.HOLDLINE_ADMIN_KEY = v['admin-key'];
  if (v['log-level'] !== undefined) merged.HOLDLINE_LOG_LEVEL = v['log-level'];
  if (v['allow-uws-fallback'] === true) merged.HOLDLINE_ALLOW_UWS_FALLBACK = '1';
  let config: HoldlineConfig;
  try {
    config = configFromEnv(merged);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return {
    positionals: parsed.positionals,
    config,
    bootstrapApp: v['bootstrap-app'] ?? (env.HOLDLINE_BOOTSTRAP_APP || undefined),
    help: v.help === true,
  };
}
