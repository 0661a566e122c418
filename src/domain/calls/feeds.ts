/**
 * What a live call-queue subscription needs from storage (src/server/ws: hub, catch-up): the queue's
 * live changes, the changes retained after a seq, and a snapshot. Read-only, as MessageFeeds is for
 * partitions: the WebSocket layer changes a call queue only through CallService (service.ts).
 */
import type { CallStore } from '../../engine/call-types.js';

export type CallFeeds = Pick<CallStore, 'subscribeQueue' | 'changesSince' | 'snapshot'>;
