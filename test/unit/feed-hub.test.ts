/**
 * The hub of every kind of feed (src/server/ws/feed-hub.ts) on a real uWS app, over an in-process
 * feed whose storage, live announcements and resyncs the test drives: the seq rules (old news
 * skipped, gap and reuse interrupt the followers), the base read after subscribing and again after
 * a gap or resync with announcements held meanwhile, and the refcounted store subscription.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FeedFanOut, type FeedSource, type Unsubscribe } from '../../src/engine/feed.js';
import { loadUws } from '../../src/server/uws.js';
import { FeedHub, type FeedFollower, type FeedKind, type HubFeed } from '../../src/server/ws/feed-hub.js';

interface Entry {
  seq: number;
  id: string;
}

/** A feed held in memory: `stored` is storage, announce() the live side, resync() the store's signal. */
class TestFeed {
  stored: Entry[] = [];
  readonly fan = new FeedFanOut<'entry', Entry>('entry');
  readonly resyncs = new Set<() => void>();
  subscriptions = 0;
  baseReads = 0;
  failBase = 0;
  /** While set, base reads wait for it. */
  gate: Promise<void> | null = null;

  store(...entries: Entry[]): void {
    this.stored.push(...entries);
  }

  announce(...entries: Entry[]): void {
    for (const e of entries) this.fan.announce('f', e, (x) => ({ ...x }));
  }

  resync(): void {
    for (const r of [...this.resyncs]) r();
  }

  kind(): FeedKind<string, Entry, 'entry'> {
    return { source: this.source(), names: { hub: 'test hub', field: 'feed' }, topicPrefix: 'hl/t', frame: () => ({ type: 'heartbeat', time: 0 }) };
  }

  source(): FeedSource<string, 'entry', Entry> {
    return {
      type: 'entry',
      key: (ref) => ref,
      subscribe: async (_ref, listener): Promise<Unsubscribe> => {
        this.subscriptions++;
        const remove = this.fan.add('f', listener);
        const onResync = () => listener({ type: 'resync' });
        this.resyncs.add(onResync);
        return async () => {
          this.subscriptions--;
          remove();
          this.resyncs.delete(onResync);
        };
      },
      base: async () => {
        this.baseReads++;
        if (this.gate !== null) await this.gate;
        if (this.failBase > 0) {
          this.failBase--;
          throw new Error('storage away');
        }
        const last = this.stored.at(-1);
        return last === undefined ? { seq: 0, id: null } : { seq: last.seq, id: last.id };
      },
      idOf: (e) => e.id,
    };
  }
}

/** Records what the hub captures for it and how often it is told the feed was interrupted. */
class Recorder implements FeedFollower<Entry> {
  captured: number[] = [];
  interruptions = 0;
  constructor(feed: HubFeed<string, Entry>) {
    feed.followers.add(this);
    feed.recovering.add(this);
  }
  capture(e: Entry): void {
    this.captured.push(e.seq);
  }
  interrupted(): void {
    this.interruptions++;
  }
}

const e = (seq: number, id = `m${seq}`): Entry => ({ seq, id });

const hubs: FeedHub<string, Entry, 'entry'>[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

function setup(): { feed: TestFeed; hub: FeedHub<string, Entry, 'entry'> } {
  const feed = new TestFeed();
  const hub = new FeedHub(feed.kind(), loadUws().uws.App(), pino({ level: 'silent' }));
  hubs.push(hub);
  return { feed, hub };
}

describe('FeedHub', () => {
  it('subscribes before reading the base; what storage had is skipped, what follows is published once, in order', async () => {
    const { feed, hub } = setup();
    feed.store(e(1), e(2));
    let release!: () => void;
    feed.gate = new Promise((r) => (release = r));
    const acquiring = hub.acquire('f');
    await vi.waitFor(() => expect(feed.baseReads).toBe(1));
    // Appended after the subscription, before the base read: stored, and announced.
    feed.store(e(3));
    feed.announce(e(3));
    feed.gate = null;
    release();
    const f = await acquiring;
    expect(f.lastSeq).toBe(3);
    const rec = new Recorder(f);
    // Announced twice (another connection's read may already have seen it): once on the topic.
    feed.announce(e(3), e(4), e(4), e(5));
    await vi.waitFor(() => expect(rec.captured).toEqual([4, 5]));
    expect(f.lastSeq).toBe(5);
    expect(f.lastId).toBe('m5');
    expect(rec.interruptions).toBe(0);
  });

  it('a gap interrupts the followers, reads the base again and holds announcements until then', async () => {
    const { feed, hub } = setup();
    feed.store(e(1));
    const f = await hub.acquire('f');
    const rec = new Recorder(f);
    // 2 and 3 are stored but their announcements were lost in transit.
    feed.store(e(2), e(3), e(4));
    feed.announce(e(4), e(5));
    feed.store(e(5));
    await vi.waitFor(() => expect(rec.interruptions).toBe(1));
    await vi.waitFor(() => expect(f.rebasing).toBe(null));
    f.flush();
    // The base (5) covers 4 and 5: storage serves them; the topic goes on after it.
    expect(rec.captured).toEqual([]);
    expect(f.lastSeq).toBe(5);
    feed.store(e(6));
    feed.announce(e(6));
    await vi.waitFor(() => expect(rec.captured).toEqual([6]));
    expect(feed.baseReads).toBe(2);
  });

  it('a seq reused by another entry interrupts the followers and is not published', async () => {
    const { feed, hub } = setup();
    const f = await hub.acquire('f');
    const rec = new Recorder(f);
    feed.announce(e(1), e(2));
    await vi.waitFor(() => expect(rec.captured).toEqual([1, 2]));
    // A failover lost 2 and numbered a new entry with its seq.
    feed.announce(e(2, 'other'));
    await vi.waitFor(() => expect(rec.interruptions).toBe(1));
    feed.announce(e(3, 'other3'));
    await vi.waitFor(() => expect(rec.captured).toEqual([1, 2, 3]));
  });

  it('a store resync interrupts the followers; the base is read again, retried until it reads', async () => {
    const { feed, hub } = setup();
    feed.store(e(1));
    const f = await hub.acquire('f');
    const rec = new Recorder(f);
    feed.store(e(2), e(3));
    feed.failBase = 1;
    feed.resync();
    expect(rec.interruptions).toBe(1);
    expect(f.rebasing).not.toBe(null);
    // Announced while the base is read again: held, then judged against the new base (3): old news.
    feed.announce(e(3));
    await vi.waitFor(() => expect(f.rebasing).toBe(null), { timeout: 5000 });
    expect(feed.baseReads).toBe(3);
    f.flush();
    expect(f.lastSeq).toBe(3);
    expect(rec.captured).toEqual([]);
    feed.store(e(4));
    feed.announce(e(4));
    await vi.waitFor(() => expect(rec.captured).toEqual([4]));
  });

  it('one store subscription per feed, held while any socket holds it; reached() waits for a seq', async () => {
    const { feed, hub } = setup();
    const [a, b] = await Promise.all([hub.acquire('f'), hub.acquire('f')]);
    expect(a).toBe(b);
    expect(feed.subscriptions).toBe(1);
    const waiting = a.reached(2, 5000);
    feed.announce(e(1), e(2));
    await expect(waiting).resolves.toBe(true);
    hub.release(a);
    expect(feed.subscriptions).toBe(1);
    hub.release(b);
    await vi.waitFor(() => expect(feed.subscriptions).toBe(0));
    expect(hub.size).toBe(0);
    expect(a.dropped).toBe(true);
    await expect(a.reached(9, 5000)).resolves.toBe(false);
  });

  it('retireUnder drops the feeds under a prefix whoever holds them', async () => {
    const { feed, hub } = setup();
    const f = await hub.acquire('f');
    hub.retireUnder('f');
    expect(f.dropped).toBe(true);
    await vi.waitFor(() => expect(feed.subscriptions).toBe(0));
    // A later acquire starts a fresh feed with a fresh base.
    const again = await hub.acquire('f');
    expect(again).not.toBe(f);
  });
});
