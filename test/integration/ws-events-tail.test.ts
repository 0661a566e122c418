/**
 * The live event tail (protocol/websocket.md 12) on both engines: events.subscribe with conditions
 * and a resume point, gapless (storage then live, also with changes racing the catch-up), explicit
 * about a resume point the log no longer holds; events.unsubscribe; bad input on both frames;
 * isolation; the SDK's EventTail.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { HoldlineClient } from '../../src/client/index.js';
import type { EventFrame, ServerFrame } from '../../src/codec/index.js';
import { type EventNode, type EventNodeKind, followTagCreates, startEventNode } from '../helpers/event-nodes.js';
import { until } from '../helpers/wait.js';
import { WsTestClient } from '../helpers/ws-client.js';

let nodes: EventNode[] = [];
let sockets: WsTestClient[] = [];
let clients: HoldlineClient[] = [];

afterEach(async () => {
  for (const c of clients) await c.close();
  for (const s of sockets) await s.close().catch(() => undefined);
  for (const n of nodes) await n.close();
  nodes = [];
  sockets = [];
  clients = [];
});

async function node(kind: EventNodeKind, memory = {}): Promise<EventNode> {
  const n = await startEventNode(kind, {}, { memory });
  nodes.push(n);
  return n;
}

async function socket(n: EventNode, key?: string): Promise<WsTestClient> {
  const s = await WsTestClient.open(n.url, key === undefined ? {} : { key });
  sockets.push(s);
  return s;
}

function events(s: WsTestClient): EventFrame[] {
  return s.frames.filter((f): f is EventFrame => f.type === 'event');
}

function expectReply(f: ServerFrame, type: ServerFrame['type']): void {
  expect(f.type, JSON.stringify(f)).toBe(type);
}

describe.each(['memory', 'redis'] as const)('event tail on %s', (kind) => {
  it('follows new events live, in log order', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    const s = await socket(n, key);
    const reply = await s.request({ type: 'events.subscribe' });
    expectReply(reply, 'events.subscribed');
    expect(reply).toMatchObject({ recovered: true });
    for (let i = 0; i < 5; i++) await n.tag(key, `t${i}`);
    const logged = (await n.events(name)).filter((e) => e.seq > (reply as { seq: number }).seq);
    await s.until(() => events(s).length >= logged.length, 'the events');
    expect(events(s).map((f) => f.event)).toEqual(logged.map((e) => e.event));
    expect(events(s).map((f) => f.seq)).toEqual(logged.map((e) => e.seq));
  });

  it('filters by event type and trait equality, and both ways share nothing with other filters', async () => {
    const n = await node(kind);
    const { key } = await n.createApp();
    const deletes = await socket(n, key);
    const bOnly = await socket(n, key);
    expectReply(await deletes.request({ type: 'events.subscribe', q: [{ field: 'event_type', value: 'tag.delete' }] }), 'events.subscribed');
    expectReply(
      await bOnly.request({ type: 'events.subscribe', q: [{ field: 'event_type', op: 'eq', value: 'tag.delete' }, { field: 'tag', type: 'string', value: 'b' }] }),
      'events.subscribed',
    );
    await n.tag(key, 'a');
    const bId = await n.tag(key, 'b');
    expect((await n.request('/v1/tags/a', { method: 'DELETE', key })).status).toBe(204);
    expect((await n.request('/v1/tags/b', { method: 'DELETE', key })).status).toBe(204);
    await deletes.until(() => events(deletes).length >= 2, 'two deletions');
    await bOnly.until(() => events(bOnly).length >= 1, "b's deletion");
    expect(events(deletes).map((f) => f.event.event_type)).toEqual(['tag.delete', 'tag.delete']);
    expect(events(bOnly).map((f) => f.event.traits.find((t) => t.name === 'tag_id')?.value)).toEqual([bId]);
    // An integer trait with an op, as GET /v1/events takes it.
    const byId = await socket(n, key);
    expectReply(await byId.request({ type: 'events.subscribe', q: [{ field: 'event_type', value: 'tag.create' }, { field: 'tag_id', type: 'integer', op: 'gt', value: `+${bId}` }] }), 'events.subscribed');
    await n.tag(key, 'c');
    await byId.until(() => events(byId).length >= 1, 'the tag with a greater id');
    expect(events(byId)[0]!.event.traits.find((t) => t.name === 'tag')?.value).toBe('c');
  });

  it('resumes after an event id: the stored ones, then live, without a gap or a repeat, while changes race the catch-up', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    for (let i = 0; i < 30; i++) await n.tag(key, `before${i}`);
    const before = await n.events(name);
    const from = before[4]!;
    const s = await socket(n, key);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing && i < 200; i++) await n.tag(key, `during${i}`);
    })();
    const reply = await s.request({ type: 'events.subscribe', since: from.event.message_id });
    expect(reply).toMatchObject({ type: 'events.subscribed', seq: from.seq, recovered: true });
    await s.until(() => events(s).length >= 40, 'stored and live events');
    writing = false;
    await writer;
    const all = await n.events(name);
    const head = all[all.length - 1]!.seq;
    await s.until(() => (events(s).at(-1)?.seq ?? 0) >= head, 'every event up to the head');
    const seqs = events(s).map((f) => f.seq);
    expect(seqs).toEqual(Array.from({ length: head - from.seq }, (_, i) => from.seq + 1 + i));
    expect(events(s).map((f) => f.event.message_id)).toEqual(all.filter((e) => e.seq > from.seq).map((e) => e.event.message_id));
  });

  it('says recovered:false for a resume point the log does not hold, and starts with the oldest event held', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    await n.tag(key, 'x');
    const s = await socket(n, key);
    const reply = await s.request({ type: 'events.subscribe', since: randomUUID() });
    const logged = await n.events(name);
    expect(reply).toMatchObject({ type: 'events.subscribed', recovered: false, seq: logged[0]!.seq - 1 });
    await s.until(() => events(s).length >= logged.length, 'the events held');
    expect(events(s).map((f) => f.seq)).toEqual(logged.map((e) => e.seq));
  });

  it('unsubscribes: nothing after the reply; the connection may subscribe again', async () => {
    const n = await node(kind);
    const { key } = await n.createApp();
    const s = await socket(n, key);
    expectReply(await s.request({ type: 'events.subscribe' }), 'events.subscribed');
    await n.tag(key, 'one');
    await s.until(() => events(s).length >= 1, 'one event');
    const reply = await s.request({ type: 'events.unsubscribe' });
    expect(reply).toMatchObject({ type: 'events.unsubscribed', reason: 'requested' });
    const at = s.frames.indexOf(reply);
    await n.tag(key, 'two');
    await s.request({ type: 'ping' });
    expect(s.frames.slice(at).filter((f) => f.type === 'event')).toEqual([]);
    expectReply(await s.request({ type: 'events.subscribe' }), 'events.subscribed');
  });

  it('refuses bad frames with an error frame and subscribes nothing', async () => {
    const n = await node(kind);
    const { key } = await n.createApp();
    const s = await socket(n, key);
    const bad: Array<[string, Record<string, unknown>, string]> = [
      ['event_type gt', { type: 'events.subscribe', q: [{ field: 'event_type', op: 'gt', value: 'a' }] }, 'invalid_query'],
      ['unknown op', { type: 'events.subscribe', q: [{ field: 'tag', op: 'like', value: 'a' }] }, 'invalid_field'],
      ['range field', { type: 'events.subscribe', q: [{ field: 'start_timestamp', op: 'ge', value: '2026-01-01T00:00:00' }] }, 'invalid_query'],
      ['message_id field', { type: 'events.subscribe', q: [{ field: 'message_id', value: randomUUID() }] }, 'invalid_query'],
      ['unconvertible', { type: 'events.subscribe', q: [{ field: 'tag_id', type: 'integer', value: 'seven' }] }, 'invalid_query'],
      ['bad type', { type: 'events.subscribe', q: [{ field: 'tag_id', type: 'number', value: '7' }] }, 'invalid_field'],
      ['q not a list', { type: 'events.subscribe', q: { field: 'event_type', value: 'x' } }, 'invalid_field'],
      ['no value', { type: 'events.subscribe', q: [{ field: 'event_type' }] }, 'missing_field'],
      ['since not an id', { type: 'events.subscribe', since: 'yesterday' }, 'invalid_since'],
      ['extra field', { type: 'events.subscribe', from: 'start' }, 'invalid_field'],
      ['unsubscribe extra', { type: 'events.unsubscribe', all: true }, 'invalid_field'],
    ];
    for (const [what, frame, code] of bad) {
      const id = `bad-${what}`;
      s.send({ ...frame, id } as never);
      const reply = await s.waitFor((f) => 'id' in f && f.id === id, what);
      expect(reply.type, what).toBe('error');
      expect((reply as { error: { code: string } }).error.code, what).toBe(code);
    }
    // Nothing was subscribed: unsubscribing has nothing to end, and a tag reaches no one.
    const none = await s.request({ type: 'events.unsubscribe' });
    expect(none).toMatchObject({ type: 'error', error: { code: 'not_subscribed' } });
    expectReply(await s.request({ type: 'events.subscribe' }), 'events.subscribed');
    const twice = await s.request({ type: 'events.subscribe' });
    expect(twice).toMatchObject({ type: 'error', error: { code: 'already_subscribed' } });
    // Without an application key: forbidden.
    const anonymous = await socket(n);
    expect(await anonymous.request({ type: 'events.subscribe' })).toMatchObject({ type: 'error', error: { code: 'forbidden' } });
    expect(s.undecodable).toEqual([]);
  });

  it("isolates applications: A's tail never carries B's events, nor resumes from B's ids", async () => {
    const n = await node(kind);
    const a = await n.createApp();
    const b = await n.createApp();
    await n.tag(b.key, 'b0');
    const bEvents = await n.events(b.name);
    const s = await socket(n, a.key);
    const reply = await s.request({ type: 'events.subscribe', since: bEvents[0]!.event.message_id });
    expect(reply).toMatchObject({ type: 'events.subscribed', recovered: false });
    for (let i = 0; i < 3; i++) {
      await n.tag(b.key, `b${i + 1}`);
      await n.tag(a.key, `a${i}`);
    }
    await s.until(() => events(s).filter((f) => f.event.event_type === 'tag.create').length >= 3, "A's tags");
    await s.request({ type: 'ping' });
    const projects = new Set(events(s).map((f) => f.event.traits.find((t) => t.name === 'project_id')?.value));
    expect(projects).toEqual(new Set([a.name]));
  });

  it('SDK: client.events() emits each matching event once, and a new client resumes after lastEventId', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    const client = new HoldlineClient({ urls: `${n.url.replace('http', 'ws')}/v1/ws`, key });
    clients.push(client);
    const tail = client.events({ q: [{ field: 'event_type', value: 'tag.create' }] });
    const got: string[] = [];
    tail.on('event', ({ event }) => got.push(event.message_id));
    expect(await tail.ready).toEqual({ recovered: true });
    for (let i = 0; i < 4; i++) await n.tag(key, `s${i}`);
    await until(() => got.length >= 4, { what: 'four events' });
    const created = (await n.events(name)).filter((e) => e.event.event_type === 'tag.create');
    expect(got).toEqual(created.map((e) => e.event.message_id));
    const last = tail.lastEventId!;
    await tail.close();
    for (let i = 4; i < 7; i++) await n.tag(key, `s${i}`);
    const second = new HoldlineClient({ urls: `${n.url.replace('http', 'ws')}/v1/ws`, key });
    clients.push(second);
    const resumed = second.events({ since: created[1]!.event.message_id, q: [{ field: 'event_type', value: 'tag.create' }] });
    const again: string[] = [];
    resumed.on('event', ({ event }) => again.push(event.message_id));
    await until(() => again.length >= 5, { what: 'the events after the resume point' });
    const all = (await n.events(name)).filter((e) => e.event.event_type === 'tag.create').map((e) => e.event.message_id);
    expect(again).toEqual(all.slice(2));
    expect(all).toContain(last);
  });

  it('events.subscribed names the event at its seq (last_event_id): the newest one without since, the one given with it', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    await n.tag(key, 'one');
    const newest = (await n.events(name)).at(-1)!;
    const fromNow = await (await socket(n, key)).request({ type: 'events.subscribe' });
    expect(fromNow).toMatchObject({ type: 'events.subscribed', seq: newest.seq, last_event_id: newest.event.message_id, recovered: true });
    const first = (await n.events(name))[0]!;
    const resumed = await (await socket(n, key)).request({ type: 'events.subscribe', since: first.event.message_id });
    expect(resumed).toMatchObject({ seq: first.seq, last_event_id: first.event.message_id, recovered: true });
  });

  it('SDK: a tail from now that loses its connection before its first event misses none recorded meanwhile', async () => {
    const n = await node(kind);
    const { name, key } = await n.createApp();
    // While `offline`, every connection attempt is refused: the events below are recorded in the gap.
    let offline = false;
    const opened: WebSocket[] = [];
    const Gated = class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(offline ? 'ws://127.0.0.1:1/v1/ws' : url, protocols);
        opened.push(this);
      }
    };
    const client = new HoldlineClient({ urls: `${n.url.replace('http', 'ws')}/v1/ws`, key, WebSocket: Gated, backoff: { baseMs: 20, maxMs: 100 } });
    clients.push(client);
    const { tail, got, subscribed } = followTagCreates(client);
    await tail.ready;
    offline = true;
    const lost = new Promise((resolve) => client.once('disconnected', resolve));
    opened.at(-1)!.terminate();
    await lost;
    for (let i = 0; i < 3; i++) await n.tag(key, `gap${i}`);
    offline = false;
    await until(() => got.length >= 3, { what: 'the events recorded while disconnected' });
    const created = (await n.events(name)).filter((e) => e.event.event_type === 'tag.create');
    expect(got).toEqual(created.map((e) => e.event.message_id));
    expect(subscribed).toEqual([true, true]);
  });
});

describe('event tail on memory with a small retention', () => {
  it('reports recovered:false when retention reclaimed the resume point', async () => {
    const n = await node('memory', { eventRetention: { maxEvents: 10 } });
    const { name, key } = await n.createApp();
    await n.tag(key, 'first');
    const first = (await n.events(name)).at(-1)!;
    for (let i = 0; i < 40; i++) await n.tag(key, `t${i}`);
    const held = await n.events(name);
    expect(held[0]!.seq).toBeGreaterThan(first.seq);
    const s = await socket(n, key);
    const reply = await s.request({ type: 'events.subscribe', since: first.event.message_id });
    expect(reply).toMatchObject({ type: 'events.subscribed', recovered: false, seq: held[0]!.seq - 1 });
    await s.until(() => events(s).length >= held.length, 'the events still held');
    expect(events(s).map((f) => f.seq)).toEqual(held.map((e) => e.seq));
  });
});
