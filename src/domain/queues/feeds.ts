/**
 * What a live subscription needs from storage (src/server/ws: hub, catch-up, queue watch): the
 * partition's live events, reads to catch up, and the queue's metadata changes. Read-only, so the
 * WebSocket layer cannot store or change a message except through MessageQueues (service.ts).
 */
import type { Engine } from '../../engine/types.js';

export type MessageFeeds = Pick<Engine, 'subscribe' | 'read' | 'watchMeta' | 'getQueue'>;
