/**
 * The webhook store in memory (engine/webhook-types.ts): the same contract as Redis, leases with
 * expiries included, so that the dispatcher runs the same code on both engines (one node only:
 * nothing is shared between processes).
 */
import { HoldlineError } from '../../errors.js';
import type { Webhook, WebhookRef, WebhookState, WebhookStore } from '../webhook-types.js';
import { initialState } from '../webhook-types.js';

interface Lease {
  holder: string;
  expiresAt: number;
}

export class MemoryWebhookStore implements WebhookStore {
  private readonly hooks = new Map<string, Map<string, { webhook: Webhook; state: WebhookState; lease: Lease | null }>>();

  constructor(private readonly now: () => number = Date.now) {}

  private entry(ref: WebhookRef) {
    return this.hooks.get(ref.app)?.get(ref.id);
  }

  async create(app: string, webhook: Webhook, cursor: number, max: number): Promise<void> {
    let appHooks = this.hooks.get(app);
    if (appHooks === undefined) {
      appHooks = new Map();
      this.hooks.set(app, appHooks);
    }
    if (appHooks.size >= max) throw new HoldlineError('webhook_limit');
    appHooks.set(webhook.id, { webhook: structuredClone(webhook), state: initialState(cursor), lease: null });
  }

  async list(app: string): Promise<Webhook[]> {
    return [...(this.hooks.get(app)?.values() ?? [])]
      .map((e) => structuredClone(e.webhook))
      .sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
  }

  async get(app: string, id: string): Promise<Webhook | null> {
    const e = this.entry({ app, id });
    return e === undefined ? null : structuredClone(e.webhook);
  }

  async state(app: string, id: string): Promise<WebhookState | null> {
    const e = this.entry({ app, id });
    return e === undefined ? null : structuredClone(e.state);
  }

  async delete(app: string, id: string): Promise<boolean> {
    const appHooks = this.hooks.get(app);
    const existed = appHooks?.delete(id) ?? false;
    if (appHooks !== undefined && appHooks.size === 0) this.hooks.delete(app);
    return existed;
  }

  async deleteApplication(app: string): Promise<void> {
    this.hooks.delete(app);
  }

  async scan(): Promise<WebhookRef[]> {
    const refs: WebhookRef[] = [];
    for (const app of [...this.hooks.keys()].sort()) for (const id of this.hooks.get(app)!.keys()) refs.push({ app, id });
    return refs;
  }

  private holds(lease: Lease | null, holder: string): boolean {
    return lease !== null && lease.holder === holder && lease.expiresAt > this.now();
  }

  async acquire(ref: WebhookRef, holder: string, ttlMs: number): Promise<boolean> {
    const e = this.entry(ref);
    if (e === undefined) return false;
    if (e.lease !== null && e.lease.expiresAt > this.now() && e.lease.holder !== holder) return false;
    e.lease = { holder, expiresAt: this.now() + ttlMs };
    return true;
  }

  async release(ref: WebhookRef, holder: string): Promise<void> {
    const e = this.entry(ref);
    if (e !== undefined && this.holds(e.lease, holder)) e.lease = null;
  }

  async save(ref: WebhookRef, holder: string, state: WebhookState): Promise<boolean> {
    const e = this.entry(ref);
    if (e === undefined || !this.holds(e.lease, holder)) return false;
    e.state = structuredClone(state);
    return true;
  }

  async close(): Promise<void> {}
}
