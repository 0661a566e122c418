/**
 * Names of applications and message queues (SPEC.md section 2). An application name is the first
 * path segment of every Queuey route, so it may not shadow a route of Holdline's own.
 */
import { randomUUID } from 'node:crypto';
import { HoldlineError } from '../errors.js';

export const APP_NAME_RE = /^[A-Za-z0-9_-]{1,50}$/;
export const QUEUE_NAME_RE = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * First path segments Holdline uses or keeps for itself. Compared case-insensitively: `/V1` must not
 * become an application a later version cannot take back.
 */
export const RESERVED_APP_NAMES: ReadonlySet<string> = new Set([
  'v1', 'v2', 'v3', 'api', 'ws', 'metrics', 'healthz', 'readyz', 'livez', 'console', 'openapi',
  'openapi.json', 'admin', 'apps', 'static', 'assets', 'favicon.ico', 'robots.txt', 'status',
  'health', 'ready', 'docs', 'schemas',
]);

export function isValidAppName(name: string): boolean {
  return APP_NAME_RE.test(name) && !RESERVED_APP_NAMES.has(name.toLowerCase());
}

export function isValidQueueName(name: string): boolean {
  return QUEUE_NAME_RE.test(name);
}

export function assertAppName(name: string, field = 'name'): string {
  if (!isValidAppName(name)) throw new HoldlineError('invalid_name', { field });
  return name;
}

export function assertQueueName(name: string, field = 'queue_name'): string {
  if (!isValidQueueName(name)) throw new HoldlineError('invalid_name', { field });
  return name;
}

/** Queuey's default queue name: a uuid4 as 32 lowercase hex characters. */
export function newQueueName(): string {
  return randomUUID().replaceAll('-', '');
}
