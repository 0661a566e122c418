/**
 * Holdline's public API (STYLE.md example 8): run the server in-process, with the engine of your
 * choice. The client SDK is a separate entry point: `holdline/client`.
 */
export { configFromEnv, DEFAULTS, MAX_TTL } from './config.js';
export type { HoldlineConfig } from './config.js';
export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { ERRORS, HoldlineError, isHoldlineError } from './errors.js';
export type { ErrorBody, ErrorCode, ErrorSpec } from './errors.js';
export { createEngine } from './engine/index.js';
export { createCallStore } from './engine/calls-factory.js';
export type { CallStore } from './engine/call-types.js';
export { MemoryEngine } from './engine/memory/index.js';
export { RedisEngine } from './engine/redis/index.js';
export type {
  AppRecord,
  Consistency,
  Engine,
  EngineCapabilities,
  EngineKind,
  QueueMeta,
  QueueType,
  ReadOrder,
  StoredMessage,
} from './engine/types.js';
export { createHoldlineServer } from './server/index.js';
export type { HoldlineServer, HoldlineServerOptions, ServerContext, ServerMount } from './server/index.js';
export { UwsFallbackError } from './server/uws.js';
export { createApplication, listApplications, revokeApplication } from './domain/apps.js';
export { MessageQueues } from './domain/queues/service.js';
