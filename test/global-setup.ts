/**
 * One redis-server for the whole run, on a free port; each test uses its own random key prefix
 * (test/helpers/namespace.ts), so tests never see each other's data nor the machine's Redis on 6379.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServerHandle } from './helpers/redis-server.js';

let server: RedisServerHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startRedisServer();
  project.provide('redisUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
