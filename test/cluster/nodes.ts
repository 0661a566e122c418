/**
 * Holdline nodes for the cluster tests: each an in-process server (createHoldlineServer with the
 * WebSocket endpoint) with its own RedisEngine and RedisCallStore on one Redis (Cluster) URL and one
 * key prefix, exactly as separate `holdline serve` processes would share it. Nodes meet only
 * through Redis: separate connections, separate subscriptions, separate caches.
 */
import type { HoldlineConfig } from '../../src/config.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisEngine, type RedisEngineOptions } from '../../src/engine/redis/index.js';
import { createWebSocketEndpoint, type WebSocketEndpoint, type WebSocketLimits } from '../../src/server/ws/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

export interface HoldlineNode {
  engine: RedisEngine;
  calls: RedisCallStore;
  server: TestServer;
  ws: WebSocketEndpoint;
  /** http://127.0.0.1:port */
  url: string;
  close(): Promise<void>;
}

export interface NodeOptions {
  limits?: Partial<WebSocketLimits>;
  engine?: Partial<Omit<RedisEngineOptions, 'url' | 'prefix'>>;
  config?: Partial<HoldlineConfig>;
}

export async function startNode(url: string, prefix: string, opts: NodeOptions = {}): Promise<HoldlineNode> {
  const engine = new RedisEngine({ url, prefix, sweepIntervalMs: 60_000, ...opts.engine });
  await engine.start();
  const calls = await RedisCallStore.open({ url, prefix });
  const ws = createWebSocketEndpoint({ limits: opts.limits ?? {} });
  const server = await startTestServer(
    engine,
    { engine: 'redis', redisUrl: url, redisPrefix: prefix, ...opts.config },
    { mounts: [ws.mount], callStore: calls },
  );
  return {
    engine,
    calls,
    server,
    ws,
    url: server.url,
    close: async () => {
      await server.close();
      await calls.close();
      await engine.close();
    },
  };
}

export async function startNodes(n: number, url: string, prefix: string, opts: NodeOptions = {}): Promise<HoldlineNode[]> {
  const nodes: HoldlineNode[] = [];
  try {
    for (let i = 0; i < n; i++) nodes.push(await startNode(url, prefix, opts));
  } catch (err) {
    await stopNodes(nodes);
    throw err;
  }
  return nodes;
}

export async function stopNodes(nodes: HoldlineNode[]): Promise<void> {
  for (const node of nodes.splice(0)) await node.close();
}

/** Resolves once `check` holds, re-checked every 50 ms (for state that announces nothing, e.g. replica counts). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
