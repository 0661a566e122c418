/**
 * The Holdline client SDK (`holdline/client`): Node (with `ws`) and browsers (native WebSocket).
 * The public API, exported explicitly (STYLE.md example 8). Protocol: protocol/websocket.md.
 */
export { HoldlineClient } from './client.js';
export type { ClaimOptions, HistoryOptions, ProcessingState } from './client.js';
export type {
  ClientEvents,
  ClientState,
  ConnectedEvent,
  DisconnectedEvent,
  HoldlineClientOptions,
  StopReason,
} from './types.js';
export { HoldlineClientError, HoldlineRequestError } from './errors.js';
export type { ClientErrorKind } from './errors.js';
export { Subscription } from './subscription.js';
export type {
  PartitionRecovery,
  RecoveryCause,
  SubscribeOptions,
  SubscriptionEnd,
  SubscriptionEvents,
  SubscriptionState,
} from './subscription.js';
export { CallQueueView } from './callqueue-view.js';
export { AgentSession } from './agent-session.js';
export type { AgentSessionEvents, AgentSessionOptions } from './agent-session.js';
export type { CallQueueChange, CallQueueViewEnd, CallQueueViewEvents, CallQueueViewState } from './callqueue-view.js';
export { EventTail } from './event-tail.js';
export type { EventTailEvents, EventTailOptions } from './event-tail.js';
export type { BackoffOptions } from './backoff.js';
export type { CloseDecision, StopCause } from './close-codes.js';
export { classifyClose } from './close-codes.js';
export type { WebSocketConstructor, WebSocketLike } from './transport.js';
export type { WireFormat } from '../codec/limits.js';
export type {
  Body,
  CallQueueStatsFrame,
  CallQueueUpdateFrame,
  EventCondition,
  WireEvent as HoldlineEvent,
  WireEventTrait as EventTrait,
  JsonValue,
  LeaveReason,
  MessageFrame,
  OfferFrame,
  Principal,
  PublishMessage,
  ResyncFrame,
  SubscriptionEndReason,
  WelcomeFrame,
  WireCallQueue as CallQueue,
  WireCallQueueStats as CallQueueStats,
  WireCaller as Caller,
  WireMember as Member,
  WireMessage as Message,
  WireOffer as Offer,
  OfferRevokedFrame,
  WireLineMove as LineMove,
  WireMembersByState as MembersByState,
  WireWindowFigures as WindowFigures,
} from '../codec/frames.js';
export type { ErrorCode } from '../errors.js';
