/**
 * SPEC.md 3.4 `GET /v1/capabilities` (Ceilometer v2's capabilities, seed 004), first version: what
 * this server offers, as flattened booleans, under `api` (features of the REST API and of /v1/ws)
 * and `engine` (what the configured storage guarantees). protocol/capabilities.md is the contract.
 *
 * No key is needed (a client asks before it has one); presented credentials are still checked, as
 * on every route (protocol/rest.md). The engine part is read at each request: replica consistency
 * follows the replicas Redis reports now (src/engine/redis/replicas.ts).
 */
import { parseAuthorization } from '../../domain/auth.js';
import type { ServerContext } from '../context.js';
import { json, type RequestInfo } from '../http.js';
import { principal } from './calls-http.js';

/**
 * Features this version implements. A feature still to come is listed as false, so clients can
 * test for it by name; test/integration/capabilities.test.ts checks that the ones marked false are
 * really absent, so a feature that lands without flipping its flag is caught.
 */
const API_FEATURES = {
  // Message queues (Queuey, SPEC.md 3.1; protocol/rest.md).
  'queues.partitions': true,
  'queues.partitions.grow': true,
  'queues.public': true,
  'queues.principles': true,
  'queues.consistency': true,
  'messages.batch': true,
  'messages.ttl': true,
  'messages.raw_body': true,
  'messages.read.since': true,
  'messages.read.order': true,
  'messages.update': true,
  'messages.delete': true,
  // Processing state (SPEC.md 3.5): client_state, client_json, updated_at on a message, set over
  // REST and the WebSocket `state.set` (compare-and-set with if_state), replies, filtered reads.
  'messages.processing_state': true,
  'messages.processing_state.rest': true,
  'messages.processing_state.cas': true,
  'messages.replies': true,
  'messages.read.filters': true,
  // Call queues (SPEC.md 3.2–3.3; protocol/rest-calls.md).
  'calls.agents': true,
  'calls.agent_tokens': true,
  'calls.queues': true,
  'calls.members': true,
  'calls.callers': true,
  'calls.stats': true,
  'calls.tags': true,
  'calls.schemas': true,
  // WebSocket /v1/ws (protocol/websocket.md), as `holdline serve` mounts it.
  'websocket.json': true,
  'websocket.msgpack': true,
  'websocket.publish': true,
  'websocket.subscribe': true,
  'websocket.subscribe.resume': true,
  'websocket.subscribe.batch': true,
  'websocket.history': true,
  'websocket.state': true,
  'websocket.callqueue': true,
  'websocket.callqueue.refresh': true,
  'websocket.subscribe.position': true,
  'websocket.events': true,
  // The event log (SPEC.md 3.4; protocol/events.md): Panko v2's queries, with Panko's own name.
  events: true,
  'events:query:simple': true,
  // Webhook endpoints of an application (protocol/webhooks.md).
  webhooks: true,
  metrics: true,
  openapi: true,
  console: true,
} as const satisfies Record<string, boolean>;

export type ApiFeature = keyof typeof API_FEATURES;

export interface CapabilitiesBody {
  api: Record<ApiFeature | 'apps.admin', boolean>;
  /** Panko v2's storage capabilities, by Panko's names. */
  event_storage: { 'storage:production_ready': boolean };
  engine: {
    kind: string;
    persistence: boolean;
    multi_node: boolean;
    cluster: boolean;
    'consistency.weak': boolean;
    'consistency.strong': boolean;
    'consistency.very_strong': boolean;
  };
}

export function capabilities(ctx: ServerContext): CapabilitiesBody {
  const caps = ctx.storage.capabilities;
  return {
    // The admin routes exist only with an operator key (README "Getting a first key").
    // events: false when this node records none (HOLDLINE_EVENTS=off); the routes still answer.
    api: { ...API_FEATURES, 'apps.admin': ctx.config.adminKey !== undefined, events: ctx.config.events === 'on' },
    // Production-ready: events survive a restart (Redis); the memory engine's do not.
    event_storage: { 'storage:production_ready': caps.persistence },
    engine: {
      kind: ctx.storage.kind,
      persistence: caps.persistence,
      multi_node: caps.multiNode,
      cluster: ctx.storage.cluster,
      'consistency.weak': caps.consistency.weak,
      'consistency.strong': caps.consistency.strong,
      'consistency.very_strong': caps.consistency.very_strong,
    },
  };
}

async function checkPresented(ctx: ServerContext, req: RequestInfo): Promise<void> {
  const creds = parseAuthorization(req.headers.authorization);
  if (creds === null) return;
  if (creds.scheme.toLowerCase() === 'admin') ctx.assertAdmin(req.headers.authorization);
  else await principal(ctx, req);
}

export function capabilitiesRoutes(ctx: ServerContext): void {
  ctx.router.add('GET', '/v1/capabilities', async (req) => {
    await checkPresented(ctx, req);
    return json(200, capabilities(ctx));
  });
}
