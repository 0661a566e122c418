/**
 * Webhook endpoints of an application (protocol/webhooks.md), the one door for REST: register,
 * list, read with the delivery state, delete. The input rules are webhook-create.json (compiled at
 * boot) plus what a schema cannot say: the URL parses, has no credentials, and its host is allowed
 * by HOLDLINE_WEBHOOK_ALLOWED_HOSTS. Delivery itself is dispatcher.ts's; registering or deleting
 * tells this node's dispatcher at once (other nodes see it at their next scan).
 */
import { randomBytes } from 'node:crypto';
import webhookCreate from '../../../protocol/schemas/rest/webhook-create.json' with { type: 'json' };
import { HoldlineError } from '../../errors.js';
import type { Webhook, WebhookState, WebhookStore } from '../../engine/webhook-types.js';
import { compileRequestSchemas } from '../calls/validate.js';
import type { EventLogReader } from './log.js';

/** The most endpoints one application may register. */
export const MAX_WEBHOOKS_PER_APP = 32;

/** The longest URL an endpoint may have, as stored (webhook-create.json checks it as sent). */
const MAX_URL_LENGTH = 2048;

const VALIDATORS = compileRequestSchemas({ 'webhook-create': { schema: webhookCreate, route: 'POST /v1/webhooks' } });

/** An endpoint as REST shows it: never its secret (webhook-created, the answer to its creation, has it). */
export interface WebhookView {
  id: string;
  url: string;
  event_types: string[];
  description: string;
  created: number;
  href: string;
}

export interface WebhookDelivery {
  cursor: number;
  backlog: number;
  attempts: number;
  last_success: WebhookState['last_success'];
  last_error: WebhookState['last_error'];
}

export interface WebhookNotices {
  /** An endpoint was registered or deleted on this node. */
  changed(app: string, id: string): void;
}

/** Whether `host` (lower case, IPv6 in brackets) is allowed by the list; an empty list allows any. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((a) => (a.startsWith('*.') ? host.endsWith(a.slice(1)) && host.length > a.length - 1 : host === a));
}

/** The URL a webhook may have, or the catalogue error naming `url`. */
export function checkWebhookUrl(raw: string, allowed: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HoldlineError('invalid_field', { field: 'url' });
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') throw new HoldlineError('invalid_field', { field: 'url' });
  // Credentials belong in the signature, not in a URL that lists and logs show. An empty fragment
  // (`…/#`) leaves hash '' but stays in href; percent-encoding can make href longer than what was sent.
  if (url.username !== '' || url.password !== '' || url.href.includes('#') || url.href.length > MAX_URL_LENGTH) {
    throw new HoldlineError('invalid_field', { field: 'url' });
  }
  if (!hostAllowed(url.hostname.toLowerCase(), allowed)) throw new HoldlineError('webhook_host_not_allowed', { field: 'url' });
  return url.href;
}

function view(w: Webhook): WebhookView {
  return { id: w.id, url: w.url, event_types: w.event_types, description: w.description, created: w.created, href: `/v1/webhooks/${w.id}` };
}

/** A path id that cannot name an endpoint answers like an unknown one. */
function pathId(id: string): string {
  if (!/^[0-9a-f]{16}$/.test(id)) throw new HoldlineError('webhook_not_found');
  return id;
}

export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    private readonly log: EventLogReader,
    private readonly opts: { allowedHosts: readonly string[]; notices?: WebhookNotices },
  ) {}

  /** Registers an endpoint; deliveries start with the next event recorded. Answers its secret, this once. */
  async register(app: string, input: unknown): Promise<WebhookView & { secret: string }> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new HoldlineError('bad_request');
    const validate = VALIDATORS.get('webhook-create')!;
    if (!validate(input)) {
      const err = validate.errors?.[0];
      const path = err?.instancePath.split('/').filter((s) => s !== '') ?? [];
      if (path.length > 0) throw new HoldlineError('invalid_field', { field: path[0]! });
      if (err?.keyword === 'required') throw new HoldlineError('missing_field', { field: (err.params as { missingProperty: string }).missingProperty });
      if (err?.keyword === 'additionalProperties') throw new HoldlineError('invalid_field', { field: (err.params as { additionalProperty: string }).additionalProperty });
      throw new HoldlineError('bad_request');
    }
    const body = input as { url: string; event_types?: string[]; secret?: string; description?: string };
    const webhook: Webhook = {
      id: randomBytes(8).toString('hex'),
      url: checkWebhookUrl(body.url, this.opts.allowedHosts),
      event_types: body.event_types ?? ['*'],
      secret: body.secret ?? `whsec_${randomBytes(24).toString('base64url')}`,
      description: body.description ?? '',
      created: Math.floor(Date.now() / 1000),
    };
    await this.store.create(app, webhook, await this.log.head(app), MAX_WEBHOOKS_PER_APP);
    this.opts.notices?.changed(app, webhook.id);
    return { ...view(webhook), secret: webhook.secret };
  }

  async list(app: string): Promise<WebhookView[]> {
    return (await this.store.list(app)).map(view);
  }

  async get(app: string, id: string): Promise<WebhookView & { delivery: WebhookDelivery }> {
    const webhook = await this.store.get(app, pathId(id));
    const state = webhook === null ? null : await this.store.state(app, id);
    if (webhook === null || state === null) throw new HoldlineError('webhook_not_found');
    const head = await this.log.head(app);
    const { cursor, attempts, last_success, last_error } = state;
    return { ...view(webhook), delivery: { cursor, backlog: Math.max(0, head - cursor), attempts, last_success, last_error } };
  }

  async delete(app: string, id: string): Promise<void> {
    if (!(await this.store.delete(app, pathId(id)))) throw new HoldlineError('webhook_not_found');
    this.opts.notices?.changed(app, id);
  }
}
