/**
 * Drives routing (protocol/routing.md sections 5 and 6) on any RoutingStore: read, decide
 * (strategy.ts), engage the agents in the application's slot, commit on the queue's seq, release
 * on failure; and the sweep that fires deadlines and decides the queues marked due, on every node.
 * Every step is the store's, atomic; this file only orders them, so a node dying between two steps
 * leaves nothing that the next sweep (on any node) does not finish.
 */
import { randomUUID } from 'node:crypto';
import type { EngagementUpdate, Offer, OfferAnswer, RoutingNotice, RoutingOutcome, RoutingStore } from '../../../engine/routing-types.js';
import { decide, nextRelaxation } from './strategy.js';

export type { RoutingNotice } from '../../../engine/routing-types.js';

export interface RouterOptions {
  /** How often each node sweeps the due index, ms (HOLDLINE_ROUTING_SWEEP_MS). */
  sweepMs?: number;
  /** How long a claimed queue stays leased to the node that claimed it, ms. */
  leaseMs?: number;
  /** Random source of the `random` strategy (tests pass a seeded one). */
  random?: () => number;
  /** Unexpected failures of background work (the sweep, follow-ups): logged, never thrown. */
  onError?: (err: unknown) => void;
}

/** A decision gives up after this many rounds lost to concurrent changes; the sweep retries it. */
const ROUNDS = 5;
/**
 * An engagement outlives its offer's expiry by this much: the expiry is fired (and the engagement
 * released) by the next sweep of the offer's queue, and until then the expired offer is still open,
 * so the agent must not be taken by another queue. It only matters when no node fires it (a node
 * died between engaging and committing): then the agent is free again this long after the expiry.
 */
export const ENGAGE_GRACE_MS = 10_000;
const CLAIM_LIMIT = 100;

export class Router {
  private readonly sweepMs: number;
  private readonly leaseMs: number;
  private readonly random: () => number;
  private readonly onError: (err: unknown) => void;
  private readonly listeners = new Set<(n: RoutingNotice) => void>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  /** The queues this node is processing (processOnce): whether a change asked for another pass. */
  private readonly processing = new Map<string, { again: boolean; done: Promise<number | null> }>();
  /** Decisions counted (bench: decisions/s). */
  decisions = 0;

  constructor(
    readonly store: RoutingStore,
    opts: RouterOptions = {},
  ) {
    this.sweepMs = opts.sweepMs ?? 250;
    this.leaseMs = opts.leaseMs ?? 5000;
    this.random = opts.random ?? Math.random;
    this.onError = opts.onError ?? (() => undefined);
  }

  onNotice(listener: (n: RoutingNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.sweeping !== null) return;
      this.sweeping = this.sweep()
        .catch((err: unknown) => this.onError(err))
        .finally(() => {
          this.sweeping = null;
        });
    }, this.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /**
   * Something changed in the queue that may allow an offer or end one: marked due first (so the
   * sweep of any node finishes it if this one dies), then ticked and decided at once.
   *
   * Unless routing is idle in the queue (manual, holding nothing: RoutingStore.routingIdle), read
   * after the change: then a tick fires nothing and a decision offers nothing, now or at the sweep,
   * so one read replaces marking due, ticking and reading (and the sweep's claim, tick, read and
   * settle). Every way out of idle is a change routing is told of after it is stored: new settings
   * (RoutingService.putSettings), a tier (its state), an offer (only by a non-manual decision); so
   * a change read idle needs nothing later either, on any node (routing.md section 3). `idle`: that
   * read, when the store made it in the same atomic step as the change (call-types.ts RoutingIdleAfter).
   */
  async changed(app: string, queueId: string, idle?: boolean): Promise<void> {
    if (idle ?? (await this.store.routingIdle(app, queueId))) return;
    await this.store.markDue(app, queueId, 0);
    const next = await this.processOnce(app, queueId);
    // A sweep that claimed the queue after our mark (clearing its dirty flag) and read it before
    // our offer was committed settles it with no deadline and drops it from the due index: the
    // offer would never time out. Marking the deadline this decision knows, after it, keeps it.
    if (next !== null) await this.store.markDue(app, queueId, next);
  }

  /** An agent's skills or engagement changed: every queue it serves may decide differently. */
  async agentChanged(app: string, agent: string): Promise<void> {
    for (const q of await this.store.agentQueues(app, agent)) await this.changed(app, q);
  }

  /** One sweep: claim the due queues, tick and decide each, settle each at its next deadline. */
  async sweep(): Promise<void> {
    const due = await this.store.claimDue(CLAIM_LIMIT, this.leaseMs);
    for (const claim of due) {
      try {
        // Settled by this claim's lease: if another node claimed the queue meanwhile (after a mark),
        // this `next` may predate that node's offers, and the store then leaves the queue due now.
        const next = await this.processOnce(claim.app, claim.queueId);
        await this.store.settleDue(claim, next);
      } catch (err) {
        // Left leased: claimed again when the lease ends (a deleted queue: its entry is settled away).
        if ((err as { code?: string }).code === 'call_queue_not_found') await this.store.settleDue(claim, null);
        else this.onError(err);
      }
    }
  }

  /**
   * process(), one at a time per queue on this node: a change while the queue is being processed
   * asks for one more pass after it (which reads that change), and waits for that pass, instead of
   * running a decision of its own beside it. Two decisions of one queue read the same line and
   * pick the same agents, so all but one lost their reservations or their commit and read again
   * (routing.md section 5): on a busy queue most of the store's work. Across nodes, section 5's
   * steps still settle who wins.
   */
  private processOnce(app: string, queueId: string): Promise<number | null> {
    const key = `${app}\n${queueId}`;
    const running = this.processing.get(key);
    if (running !== undefined) {
      running.again = true;
      return running.done;
    }
    const entry: { again: boolean; done: Promise<number | null> } = { again: false, done: Promise.resolve(null) };
    entry.done = (async () => {
      try {
        let next: number | null;
        do {
          entry.again = false;
          next = await this.process(app, queueId);
        } while (entry.again);
        return next;
      } finally {
        this.processing.delete(key);
      }
    })();
    this.processing.set(key, entry);
    return entry.done;
  }

  /** Tick, then decide; answers the queue's next deadline (offer expiry, wrap-up end, relaxation). */
  async process(app: string, queueId: string): Promise<number | null> {
    const ticked = await this.store.tick(app, queueId);
    await this.settle(app, ticked);
    const decided = await this.decide(app, queueId);
    return earliest(ticked.nextDeadlineMs, decided);
  }

  /**
   * One decision (routing.md section 5): read, decide, engage, commit on seq, release on failure.
   * Answers the earliest deadline it depends on, or null.
   */
  async decide(app: string, queueId: string): Promise<number | null> {
    let deadline: number | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      const read = await this.store.readRouting(app, queueId);
      if (read.settings.strategy === 'manual') return deadline;
      const agents = await this.store.readAgents(app, read.members.map((m) => m.uuid));
      const proposals = decide(read, agents, this.random);
      this.decisions++;
      if (proposals.length === 0) return earliest(deadline, nextRelaxation(read, new Set()));
      const expiresMs = read.nowMs + read.settings.offer_timeout_seconds * 1000;
      const callbacks = new Map(read.waiting.flatMap((c) => (c.callback === undefined ? [] : [[c.uuid, c.callback] as const])));
      const offers: Offer[] = proposals.map((p) => {
        const offer: Offer = {
          offer_id: randomUUID(),
          queue_id: queueId,
          caller_id: p.caller,
          agents: p.agents,
          strategy: read.settings.strategy,
          created_at: new Date(read.nowMs).toISOString(),
          expires_at: new Date(expiresMs).toISOString(),
        };
        // A callback's offer says so, with the number to dial (issue 16; protocol/calls.md 3.1).
        const callback = callbacks.get(p.caller);
        if (callback !== undefined) offer.callback = { number: callback };
        return offer;
      });
      // Reserved in line order; at the first offer one of whose agents another decision took since
      // the read, the rest are not reserved: the offers before it are what the strategy gives those
      // callers whether or not that agent is free (they did not pick it), so they are committed; it
      // and the callers behind it are decided again on a new read (routing.md section 5, step 3).
      const engaged: EngagementUpdate[] = [];
      let reserved = 0;
      for (const o of offers) {
        const got = await this.store.engage(app, o.offer_id, queueId, o.agents, expiresMs + ENGAGE_GRACE_MS);
        for (const agent of got) engaged.push({ agent, offer_id: o.offer_id, untilMs: null });
        if (got.length !== o.agents.length) break;
        reserved++;
      }
      const commit = offers.slice(0, reserved);
      const kept = new Set(commit.map((o) => o.offer_id));
      const extra = engaged.filter((e) => !kept.has(e.offer_id));
      if (extra.length > 0) await this.store.follow(app, extra);
      const committed = commit.length > 0 ? await this.store.commitOffers(app, queueId, read.seq, commit) : null;
      if (committed === null) {
        // Someone else changed the queue or engaged the head's agent since the read: release, read again.
        const held = engaged.filter((e) => kept.has(e.offer_id));
        if (held.length > 0) await this.store.follow(app, held);
        continue;
      }
      for (const offer of commit) this.notify({ type: 'offer', app, offer });
      deadline = earliest(deadline, committed.nextDeadlineMs);
      if (reserved === offers.length) return earliest(deadline, nextRelaxation(read, new Set(proposals.map((p) => p.caller))));
    }
    // Lost every round to concurrent changes: the sweep decides again soon.
    return earliest(deadline, Date.now());
  }

  /** An agent's (or the PBX's for it) answer to an offer; then the queue decides again. */
  async answer(app: string, queueId: string, offerId: string, agent: string, answer: OfferAnswer): Promise<RoutingOutcome> {
    const out = await this.store.answerOffer(app, queueId, offerId, agent, answer);
    await this.settle(app, out);
    await this.changed(app, queueId);
    return out;
  }

  /** What follows an outcome: engagements in the application slot, notices, other queues' turn. */
  private async settle(app: string, out: RoutingOutcome): Promise<void> {
    // Notices first: sent before the release, an ended part is announced before any node can offer
    // the agent again (one connection, so Redis takes the publish before the release).
    for (const end of out.ended) this.notify({ type: 'offer.ended', app, end });
    if (out.engagements.length > 0) await this.store.follow(app, out.engagements);
    // An agent released here may be offered by another of its queues now (their sweep decides).
    for (const e of out.engagements) {
      if (e.untilMs !== null && e.untilMs === 0) continue;
      for (const q of await this.store.agentQueues(app, e.agent)) await this.store.markDue(app, q, e.untilMs ?? 0);
    }
  }

  /** To this node's listeners at once, and to every node's through the store (the agents' connections). */
  private notify(n: RoutingNotice): void {
    this.store.publishNotice(n).catch((err: unknown) => this.onError(err));
    for (const l of this.listeners) {
      try {
        l(n);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
