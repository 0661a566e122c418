/**
 * Soketi's configuration for bench runs, and the check that refuses to start it otherwise.
 *
 * Soketi always starts node-discover for clustering, which by default binds 0.0.0.0 and broadcasts
 * UDP hellos to 255.255.255.255 every 500 ms. Bench runs must stay on loopback, so discovery is
 * pinned to unicast 127.0.0.1:11002 (node-discover sends only to the `unicast` list when it is set,
 * and binds `address`), and both listeners bind 127.0.0.1. Keys are Soketi's dotted option paths
 * (its --config file is applied with dot.set, key by key).
 */
export const SOKETI_DISCOVERY_UNICAST = '127.0.0.1:11002';
export const SOKETI_DISCOVERY_PORT = 11002;
export const SOKETI_APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret' } as const;

export interface SoketiConfigOptions {
  port: number;
  metricsPort: number;
  /** Use the Redis adapter against this loopback Redis port. */
  redisPort?: number;
}

export function soketiConfig(o: SoketiConfigOptions): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: o.port,
    'metrics.host': '127.0.0.1',
    'metrics.port': o.metricsPort,
    'metrics.enabled': false,
    'cluster.address': '127.0.0.1',
    'cluster.hostname': '127.0.0.1',
    'cluster.unicast': SOKETI_DISCOVERY_UNICAST,
    'cluster.port': SOKETI_DISCOVERY_PORT,
    'cluster.broadcast': '127.0.0.1',
    'cluster.multicast': null,
    'appManager.driver': 'array',
    'appManager.array.apps': [
      {
        id: SOKETI_APP.id,
        key: SOKETI_APP.key,
        secret: SOKETI_APP.secret,
        maxConnections: -1,
        enableClientMessages: true,
        enabled: true,
        maxBackendEventsPerSecond: -1,
        maxClientEventsPerSecond: -1,
        maxReadRequestsPerSecond: -1,
        webhooks: [],
      },
    ],
    'adapter.driver': o.redisPort ? 'redis' : 'local',
    ...(o.redisPort ? { 'database.redis.host': '127.0.0.1', 'database.redis.port': o.redisPort } : {}),
    'queue.driver': 'sync',
    'rateLimiter.driver': 'local',
    'cache.driver': 'memory',
    debug: false,
  };
}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Throws unless `config` keeps Soketi on loopback: discovery unicast to 127.0.0.1:11002 bound on
 * 127.0.0.1, no multicast, HTTP/WebSocket and metrics on 127.0.0.1, and no SOKETI_* variable in the
 * environment it is started with (those would override the file).
 */
export function assertSoketiLoopbackOnly(config: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const problems: string[] = [];
  const want = (key: string, value: unknown): void => {
    if (config[key] !== value) problems.push(`${key} is ${JSON.stringify(config[key])}, must be ${JSON.stringify(value)}`);
  };
  want('cluster.unicast', SOKETI_DISCOVERY_UNICAST);
  want('cluster.address', '127.0.0.1');
  want('host', '127.0.0.1');
  want('metrics.host', '127.0.0.1');
  if (config['cluster.multicast'] !== null && config['cluster.multicast'] !== undefined) problems.push('cluster.multicast must be unset');
  const broadcast = config['cluster.broadcast'];
  if (broadcast !== undefined && !(typeof broadcast === 'string' && LOOPBACK.test(broadcast))) {
    problems.push(`cluster.broadcast is ${JSON.stringify(broadcast)}, must be a loopback address if set`);
  }
  // A nested object (e.g. "cluster": {...}) is applied whole by Soketi and could undo the keys above.
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) problems.push(`nested option object ${key} is not allowed`);
  }
  for (const k of Object.keys(env)) if (k.toUpperCase().startsWith('SOKETI_')) problems.push(`environment variable ${k} would override the config file`);
  if (problems.length) throw new Error(`refusing to start Soketi off loopback: ${problems.join('; ')}`);
}
