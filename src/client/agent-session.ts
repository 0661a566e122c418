/**
 * An agent's session (protocol/routing.md): the offers Holdline makes to the agent, pushed on the
 * client's WebSocket, answered there; the agent's availability and pause in each of its queues,
 * over REST with the same agent token. Events: `offer` (a new offer), `revoked` (an offer ended
 * without this agent's answer). On every (re)connection it reads the agent's open offer, so an offer
 * whose push was lost with a node is still delivered once — unless its end (an `offer.revoked`, or
 * this session's own answer) arrived while that read was on its way.
 */
import type { OfferRevokedFrame, Principal, WireMember, WireOffer } from '../codec/frames.js';
import type { HoldlineClient } from './client.js';
import { TypedEmitter } from './emitter.js';
import { HoldlineRequestError } from './errors.js';

export interface AgentSessionEvents {
  offer: WireOffer;
  revoked: OfferRevokedFrame;
  error: Error;
}

export interface AgentSessionOptions {
  /** The server's HTTP base, e.g. `http://127.0.0.1:7700`. */
  httpUrl: string;
  /** The agent token the client connects with (the same one authenticates REST). */
  token: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

export class AgentSession extends TypedEmitter<AgentSessionEvents> {
  #agent: string | null = null;
  #seen = new Set<string>();
  /**
   * Offers ended for this agent (revoked, or answered through this session): the open offer read on
   * connection may have been read before its end arrived, and must not be announced after it.
   */
  #ended = new Set<string>();
  readonly #fetch: typeof fetch;
  readonly #offs: Array<() => void> = [];

  constructor(
    readonly client: HoldlineClient,
    private readonly options: AgentSessionOptions,
  ) {
    super();
    this.#fetch = options.fetch ?? fetch;
    this.#offs.push(
      client.on('offer', (f) => this.#offered(f.offer)),
      client.on('offerRevoked', (f) => {
        this.#seen.delete(f.offer_id);
        remember(this.#ended, f.offer_id);
        this.emit('revoked', f);
      }),
      client.on('connected', (c) => {
        this.#agent = agentOf(c.principal);
        this.currentOffer().then(
          (o) => o && this.#offered(o),
          (err: unknown) => this.emit('error', err as Error),
        );
      }),
    );
  }

  /** The agent's uuid, once connected. */
  get agent(): string | null {
    return this.#agent;
  }

  accept(offer: WireOffer): Promise<WireOffer> {
    return this.#answer(offer, 'accept');
  }

  reject(offer: WireOffer): Promise<WireOffer> {
    return this.#answer(offer, 'reject');
  }

  async #answer(offer: WireOffer, answer: 'accept' | 'reject'): Promise<WireOffer> {
    const out = await this.client.answerOffer(offer.queue_id, offer.offer_id, answer);
    remember(this.#ended, offer.offer_id);
    return out;
  }

  /** Available for offers in this queue (status `available`), or logged out of it. */
  setAvailable(queueId: string, available: boolean): Promise<WireMember> {
    return this.#member(queueId, { status: available ? 'available' : 'logged_out' });
  }

  pause(queueId: string, reason?: string): Promise<WireMember> {
    return this.#member(queueId, reason === undefined ? { paused: true } : { paused: true, pause_reason: reason });
  }

  unpause(queueId: string): Promise<WireMember> {
    return this.#member(queueId, { paused: false });
  }

  /** The agent's open offer, read over REST (null: none). */
  async currentOffer(): Promise<WireOffer | null> {
    return (await this.#rest('GET', `/v1/agents/${this.#requireAgent()}/offer`)) as WireOffer | null;
  }

  /** Stops listening to the client (the client itself stays open). */
  close(): void {
    for (const off of this.#offs.splice(0)) off();
  }

  #offered(offer: WireOffer): void {
    if (this.#seen.has(offer.offer_id) || this.#ended.has(offer.offer_id)) return;
    remember(this.#seen, offer.offer_id);
    this.emit('offer', offer);
  }

  /** Async, so that a session without an agent rejects like every other failure instead of throwing. */
  async #member(queueId: string, body: Record<string, unknown>): Promise<WireMember> {
    return (await this.#rest('PUT', `/v1/queues/${queueId}/members/${this.#requireAgent()}`, body)) as WireMember;
  }

  #requireAgent(): string {
    if (this.#agent === null) {
      throw new Error('AgentSession: no agent yet: the client must be connected, with an agent token (await client.connect())');
    }
    return this.#agent;
  }

  async #rest(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.#fetch(new URL(path, this.options.httpUrl), {
      method,
      headers: { authorization: `Agent ${this.options.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as unknown;
    if (!res.ok) {
      const e = (json as { error?: { code: string; message: string; field?: string } }).error;
      throw new HoldlineRequestError(e ?? { code: 'internal', message: `HTTP ${res.status}` }, method);
    }
    return json;
  }
}

/** Adds `id` to a set kept to its newest 100 (offer ids: a desk holds one offer at a time). */
function remember(set: Set<string>, id: string): void {
  set.add(id);
  if (set.size > 100) set.delete(set.values().next().value as string);
}

function agentOf(p: Principal): string | null {
  return p.kind === 'agent' ? p.agent_uuid : null;
}
