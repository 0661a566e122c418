/**
 * Recording (issue 13 item 1): each change records exactly one event with its traits, on both engines
 * (the same cases run against the memory pair and the Redis pair), and the event log is a feed:
 * readSince, base and a live subscription in seq order.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { traitOf, type HoldlineEvent, type LoggedEvent } from '../../src/engine/events.js';
import { eventNodeFactories, type EventNode } from '../helpers/event-stores.js';
import { until } from '../helpers/wait.js';
import { randomName } from '../helpers/engines.js';

function traits(e: HoldlineEvent): Record<string, string | number> {
  return Object.fromEntries(e.traits.map((t) => [t.name, t.value]));
}

async function all(node: EventNode, app: string): Promise<LoggedEvent[]> {
  await node.engine.events.flush();
  return (await node.engine.events.readSince(app, 0, 10_000)) ?? [];
}

describe.each(eventNodeFactories)('event recording ($name)', (factory) => {
  let node: EventNode;
  beforeEach(async () => {
    node = await factory.open();
  });
  afterEach(async () => {
    await node.close();
  });

  it('records call-queue, member, caller, agent and tag changes, one event each, with their traits', async () => {
    const app = randomName('app');
    const { calls } = node;
    const agent = await calls.createAgent(app, { name: 'Ann', project_id: null, user_id: 'u1' });
    const q = await calls.createCallQueue(app, { name: 'sales', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
    await calls.addMember(app, q.uuid, { agent_uuid: agent.uuid, number: '100', paused: false, pause_reason: null, status: 'available' });
    await calls.updateMember(app, q.uuid, agent.uuid, { paused: true, pause_reason: 'lunch' });
    const c1 = (await calls.joinCaller(app, q.uuid, { name: 'Bob', number: '555', priority: 0 })).value;
    const c2 = (await calls.joinCaller(app, q.uuid, { name: 'Cy', number: '556', priority: 0 })).value;
    await calls.updateCaller(app, q.uuid, c2.uuid, { priority: 5 });
    await calls.leaveCaller(app, q.uuid, c1.uuid, 'abandoned');
    const { tag } = await calls.createTag(app, 'french');
    await calls.tagAgent(app, 'french', agent.uuid);
    await calls.tagAgent(app, 'french', agent.uuid); // no change, no event
    await calls.untagAgent(app, String(tag.id), agent.uuid);
    await calls.updateCallQueue(app, q.uuid, { name: 'sales-2' });
    await calls.deleteAgent(app, agent.uuid);
    await calls.deleteCallQueue(app, q.uuid);

    const events = await all(node, app);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // Per source, the order of the changes: call-app events and queue events each in their order.
    const types = events.map((e) => e.event.event_type);
    const queueTypes = types.filter((t) => t.startsWith('queue.'));
    expect(queueTypes).toEqual([
      'queue.create', 'queue.member.add', 'queue.member.pause', 'queue.caller.join', 'queue.caller.join',
      'queue.caller.priority', 'queue.caller.leave', 'queue.update', 'queue.member.remove', 'queue.delete',
    ]);
    expect(types.filter((t) => !t.startsWith('queue.'))).toEqual([
      'agent.create', 'tag.create', 'tag.agent.add', 'tag.agent.remove', 'agent.delete',
    ]);
    for (const e of events) {
      expect(traitOf(e.event, 'project_id')).toEqual({ name: 'project_id', type: 'string', value: app });
      expect(e.event.message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.event.generated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(e.event.raw).toEqual({});
    }
    const byType = (t: string) => events.filter((e) => e.event.event_type === t).map((e) => traits(e.event));
    expect(byType('queue.member.pause')[0]).toMatchObject({ queue_id: q.uuid, agent_id: agent.uuid, paused: 1, pause_reason: 'lunch' });
    const leave = byType('queue.caller.leave')[0]!;
    expect(leave).toMatchObject({ queue_id: q.uuid, caller_id: c1.uuid, reason: 'abandoned', position: 1, name: 'Bob' });
    expect(typeof leave.wait).toBe('number');
    const leaveTrait = events.find((e) => e.event.event_type === 'queue.caller.leave')!.event.traits.find((t) => t.name === 'wait');
    expect(leaveTrait?.type).toBe('float');
    expect(byType('queue.caller.priority')[0]).toMatchObject({ caller_id: c2.uuid, priority: 5, position: 0 });
    expect(byType('tag.agent.add')[0]).toMatchObject({ tag_id: tag.id, tag: 'french', agent_id: agent.uuid });
    expect(byType('queue.update')[0]).toMatchObject({ name: 'sales-2', changed: 'name' });
  });

  it('keeps a caller\'s text as given in its events: quotes, backslashes, slashes, control characters, non-ASCII', async () => {
    const app = randomName('app');
    const q = await node.calls.createCallQueue(app, { name: 'q', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
    const name = 'O\'Brien "the \\ one" a/b\n\t\u0001 Zoë 日本 🎧';
    const number = '+1 "555" \\ /';
    const c = (await node.calls.joinCaller(app, q.uuid, { name, number, priority: 2 })).value;
    await node.calls.leaveCaller(app, q.uuid, c.uuid, 'transferred');
    const events = (await all(node, app)).filter((e) => e.event.event_type.startsWith('queue.caller.'));
    expect(events.map((e) => e.event.event_type)).toEqual(['queue.caller.join', 'queue.caller.leave']);
    for (const e of events) expect(traits(e.event)).toMatchObject({ queue_id: q.uuid, caller_id: c.uuid, name, number, priority: 2, status: 'waiting' });
    expect(traits(events[1]!.event)).toMatchObject({ reason: 'transferred', position: 0 });
  });

  it('records applications, keys, message queues, message updates and deletes', async () => {
    const { engine } = node;
    const app = randomName('app');
    const made = (await engine.createApp(app))!;
    const added = await engine.addKey(app);
    await engine.rotateKey(app, added.record.id, 60);
    const third = await engine.addKey(app);
    await engine.deleteKey(app, third.record.id);
    const meta = { application: app, name: 'jobs', partitions: 1, type: 'user' as const, consistency: 'weak' as const, principles: [], created: 1 };
    await engine.createQueue(meta);
    await engine.updateQueue({ ...meta, partitions: 2 });
    const [m1, m2] = await engine.append(meta, [{ body: 'a', ttl: 60, partition: 1 }, { body: 'b', ttl: 60, partition: 1 }]);
    await engine.updateMessage({ app, queue: 'jobs', partition: 1 }, m1!.id, { body: 'a2' });
    await engine.deleteMessages({ app, queue: 'jobs', partition: 1 }, [m1!.id, m2!.id, m2!.id]);
    await engine.deleteQueue(app, 'jobs');
    await engine.deleteApp(app);

    // Sources (the metadata slot, the partition's slot) are relayed independently: in the log,
    // each source keeps its order; by `generated` (the default query order) all changes do.
    const events = (await all(node, app)).sort((x, y) => x.generatedUs - y.generatedUs);
    expect(events.map((e) => e.event.event_type)).toEqual([
      'application.create', 'application.key.create', 'application.key.create', 'application.key.rotate', 'application.key.create',
      'application.key.revoke', 'message_queue.create', 'message_queue.update', 'message.update', 'message.delete',
      'message.delete', 'message_queue.delete', 'application.delete',
    ].filter((_, i) => i !== 2));
    const t = events.map((e) => traits(e.event));
    expect(t[0]).toMatchObject({ key_id: made.keyId });
    expect(t[2]).toMatchObject({ replaced_key_id: added.record.id });
    expect(t[6]).toMatchObject({ queue_name: 'jobs', partitions: 2 });
    expect(t[7]).toMatchObject({ queue_name: 'jobs', partition: 1, msg_id: m1!.id, fields: 'body' });
    expect([t[8]!.msg_id, t[9]!.msg_id].sort()).toEqual([m1!.id, m2!.id].sort());
  });

  it('is a feed: base, readSince and a live subscription in seq order', async () => {
    const app = randomName('app');
    const log = node.engine.events;
    expect(await log.base(app)).toEqual({ seq: 0, id: null });
    const seen: LoggedEvent[] = [];
    const unsubscribe = await log.subscribe(app, (e) => {
      if (e.type === 'event') seen.push(e.event);
    });
    for (let i = 0; i < 5; i++) await node.calls.createAgent(app, { name: `a${i}`, project_id: null, user_id: null });
    await until(() => seen.length === 5);
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const base = await log.base(app);
    expect(base).toEqual({ seq: 5, id: seen[4]!.event.message_id });
    expect((await log.readSince(app, 2, 10))!.map((e) => e.event.message_id)).toEqual(seen.slice(2).map((e) => e.event.message_id));
    expect(await log.readSince(app, 5, 10)).toEqual([]);
    expect(await log.readSince(app, 6, 10)).toBeNull();
    expect(await log.get(app, seen[1]!.event.message_id)).toEqual(seen[1]);
    await unsubscribe();
  });
});
