/** The tests start redis-server through the launcher they share with the benchmarks. */
export { freePort, startRedisServer, type RedisServerHandle, type RedisServerOptions } from '../../bench/lib/redis-server.js';
