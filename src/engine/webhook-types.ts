/**
 * The webhook store contract (protocol/webhooks.md): an application's endpoints, each endpoint's
 * delivery state, and the lease that makes one node at a time deliver to an endpoint. Memory
 * (memory/webhooks.ts) and Redis (redis/webhooks.ts) implement it; test/integration/
 * webhooks-conformance.test.ts runs the same cases on both.
 *
 * Delivery is at least once: an endpoint's `cursor` is the seq, in its application's event log, of
 * the last event handled (delivered, or skipped as not matching the filter). Only the holder of the
 * endpoint's lease moves it (`save` is fenced by the lease token), and only after the receiver
 * answered 2xx; a node that dies mid-delivery leaves the cursor where it was, its lease expires,
 * and the next holder delivers again from the cursor (the receiver may see an event twice,
 * never miss one).
 */

/** What an application registers (validated by the domain: src/domain/webhooks/service.ts). */
export interface NewWebhook {
  url: string;
  /** Exact dotted types, `prefix.*`, or `*` (every event). */
  event_types: string[];
  secret: string;
  description: string;
}

export interface Webhook extends NewWebhook {
  /** 16 lowercase hex digits, drawn at creation. */
  id: string;
  /** Epoch seconds. */
  created: number;
}

/** An endpoint's delivery state, as stored (the domain adds the backlog). */
export interface WebhookState {
  /** Seq of the last event handled in the application's event log. */
  cursor: number;
  /** Epoch seconds and event id of the last 2xx answer; null: none yet. */
  last_success: { at: number; event_id: string } | null;
  /** The last failed attempt: epoch seconds, what went wrong, the HTTP status when there was one. */
  last_error: { at: number; event_id: string | null; error: string; status: number | null } | null;
  /** Failed attempts at the event after the cursor (0 once it is delivered). */
  attempts: number;
}

/** What happened to the events after the cursor (the dispatcher turns it into a new state: applyReport). */
export type WebhookReport =
  | { kind: 'delivered'; cursor: number; event_id: string; at: number }
  /** Events after the cursor up to `cursor` did not match the filter (no attempt made). */
  | { kind: 'skipped'; cursor: number }
  | { kind: 'failed'; event_id: string | null; at: number; error: string; status: number | null }
  /** Events the log no longer holds: the cursor jumps past them; recorded as an error. */
  | { kind: 'lost'; cursor: number; at: number; error: string };

/** An endpoint somewhere in the deployment (what a node's dispatcher scans). */
export interface WebhookRef {
  app: string;
  id: string;
}

export interface WebhookStore {
  /** Stores a new endpoint with its cursor; `webhook_limit` (409) when the application has `max` already. */
  create(app: string, webhook: Webhook, cursor: number, max: number): Promise<void>;
  list(app: string): Promise<Webhook[]>;
  /** null: no such endpoint in this application. */
  get(app: string, id: string): Promise<Webhook | null>;
  state(app: string, id: string): Promise<WebhookState | null>;
  /** Removes the endpoint, its state and its lease; false when it did not exist. */
  delete(app: string, id: string): Promise<boolean>;
  /** Every endpoint of the deployment (apps with endpoints, then their ids). */
  scan(): Promise<WebhookRef[]>;
  /** Deletes every endpoint of an application (the application is deleted). */
  deleteApplication(app: string): Promise<void>;
  /**
   * Takes the endpoint's lease for `ttlMs` unless another holder has it; true when `holder` holds
   * it now (taking it again renews it). False too when the endpoint no longer exists.
   */
  acquire(ref: WebhookRef, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, if `holder` still has it. */
  release(ref: WebhookRef, holder: string): Promise<void>;
  /**
   * Stores the endpoint's new delivery state if `holder` still holds the lease (and the endpoint
   * exists); false otherwise: nothing changed. Only the holder writes the state, so it computes the
   * new one from what it read at acquisition (applyReport) without reading it again.
   */
  save(ref: WebhookRef, holder: string, state: WebhookState): Promise<boolean>;
  close(): Promise<void>;
}

/** A fresh delivery state at `cursor`. */
export function initialState(cursor: number): WebhookState {
  return { cursor, last_success: null, last_error: null, attempts: 0 };
}

/** A report applied to a state (both engines: the Redis script mirrors it). */
export function applyReport(state: WebhookState, report: WebhookReport): WebhookState {
  switch (report.kind) {
    case 'delivered':
      return { ...state, cursor: Math.max(state.cursor, report.cursor), last_success: { at: report.at, event_id: report.event_id }, attempts: 0 };
    case 'skipped':
      return { ...state, cursor: Math.max(state.cursor, report.cursor) };
    case 'failed':
      return { ...state, last_error: { at: report.at, event_id: report.event_id, error: report.error, status: report.status }, attempts: state.attempts + 1 };
    case 'lost':
      return { ...state, cursor: Math.max(state.cursor, report.cursor), last_error: { at: report.at, event_id: null, error: report.error, status: null }, attempts: 0 };
  }
}
