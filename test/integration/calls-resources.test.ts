/**
 * Agents, tags, call queues, members and agent tokens on both call stores: CRUD, idempotent tag
 * creation and tagging (PyFarm), cascade deletes, application isolation, token expiry and revocation.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallQueue, CallStore, NewCallQueue, NewMember } from '../../src/engine/call-types.js';
import { isHoldlineError } from '../../src/errors.js';
import { Follower, callStoreFactories } from '../helpers/call-stores.js';

const APP = 'acme';
const OTHER = 'globex';
const QUEUE: NewCallQueue = {
  name: 'support', description: '', disabled: false, project_id: '793491dd5fa8477eb2d6a820193a183b', user_id: null, service_level_seconds: 20,
};
const member = (agent: string, extra: Partial<NewMember> = {}): NewMember => ({
  agent_uuid: agent, number: '1001@example.org', paused: false, pause_reason: null, status: 'available', ...extra,
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isHoldlineError(err)) return err.code;
    throw err;
  }
  return 'ok';
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe.each(callStoreFactories)('call resources ($name store)', (factory) => {
  let store: CallStore;
  beforeEach(async () => {
    store = await factory.open();
  });
  afterEach(async () => {
    await store.close();
  });

  const agent = (name: string, app = APP) => store.createAgent(app, { name, project_id: null, user_id: null });

  describe('agents', () => {
    it('creates, reads, lists, updates and deletes, scoped by application', async () => {
      const a = await store.createAgent(APP, { name: 'alice', project_id: 'p1', user_id: 'u1' });
      expect(a).toMatchObject({ name: 'alice', project_id: 'p1', user_id: 'u1', tags: [] });
      expect(a.uuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.created_at).toMatch(ISO);
      expect(a.updated_at).toBe(a.created_at);
      const b = await agent('bob');
      expect(await store.getAgent(APP, a.uuid)).toEqual(a);
      expect(await store.getAgent(OTHER, a.uuid)).toBeNull();
      expect((await store.listAgents(APP)).map((x) => x.uuid)).toEqual([a.uuid, b.uuid]);
      expect(await store.listAgents(OTHER)).toEqual([]);
      const u = await store.updateAgent(APP, a.uuid, { name: 'alice b', user_id: null });
      expect(u).toMatchObject({ uuid: a.uuid, name: 'alice b', project_id: 'p1', user_id: null, created_at: a.created_at });
      expect(await code(store.updateAgent(OTHER, a.uuid, { name: 'x' }))).toBe('agent_not_found');
      await store.deleteAgent(APP, a.uuid);
      expect(await store.getAgent(APP, a.uuid)).toBeNull();
      expect(await code(store.deleteAgent(APP, a.uuid))).toBe('agent_not_found');
    });
  });

  describe('tags', () => {
    it('creates idempotently, by name, with ids per application', async () => {
      const t1 = await store.createTag(APP, 'french');
      expect(t1).toEqual({ tag: { id: 1, tag: 'french' }, created: true });
      expect(await store.createTag(APP, 'french')).toEqual({ tag: { id: 1, tag: 'french' }, created: false });
      expect(await store.createTag(APP, 'billing')).toEqual({ tag: { id: 2, tag: 'billing' }, created: true });
      expect(await store.createTag(OTHER, 'billing')).toEqual({ tag: { id: 1, tag: 'billing' }, created: true });
      expect(await store.getTag(APP, '2')).toEqual({ id: 2, tag: 'billing', agents: [] });
      expect(await store.getTag(APP, 'french')).toEqual({ id: 1, tag: 'french', agents: [] });
      expect(await store.getTag(APP, '3')).toBeNull();
      expect(await store.getTag(APP, '01')).toBeNull();
      expect((await store.listTags(APP)).map((t) => t.tag)).toEqual(['french', 'billing']);
    });

    it('tags and untags agents (created only the first time), lists agents by tag', async () => {
      const [a, b] = [await agent('alice'), await agent('bob')];
      await store.createTag(APP, 'french');
      expect(await store.tagAgent(APP, 'french', a.uuid)).toEqual({ tag: { id: 1, tag: 'french' }, created: true });
      expect(await store.tagAgent(APP, '1', a.uuid)).toEqual({ tag: { id: 1, tag: 'french' }, created: false });
      await store.tagAgent(APP, 'french', b.uuid);
      expect((await store.agentsByTag(APP, 'french')).map((x) => x.name)).toEqual(['alice', 'bob']);
      expect((await store.getAgent(APP, a.uuid))?.tags).toEqual(['french']);
      expect((await store.getTag(APP, 'french'))?.agents).toEqual([a.uuid, b.uuid].sort());
      expect(await store.untagAgent(APP, 'french', a.uuid)).toBe(true);
      expect(await store.untagAgent(APP, 'french', a.uuid)).toBe(false);
      expect((await store.agentsByTag(APP, 'french')).map((x) => x.name)).toEqual(['bob']);
      expect(await code(store.tagAgent(APP, 'german', a.uuid))).toBe('tag_not_found');
      expect(await code(store.tagAgent(APP, 'french', '00000000-0000-4000-8000-000000000000'))).toBe('agent_not_found');
      expect(await code(store.tagAgent(OTHER, 'french', a.uuid))).toBe('tag_not_found');
      expect(await code(store.agentsByTag(APP, 'german'))).toBe('tag_not_found');
    });

    it('deleting a tag removes its relations; deleting an agent removes its tag relations', async () => {
      const [a, b] = [await agent('alice'), await agent('bob')];
      await store.createTag(APP, 'french');
      await store.createTag(APP, 'billing');
      await store.tagAgent(APP, 'french', a.uuid);
      await store.tagAgent(APP, 'billing', a.uuid);
      await store.tagAgent(APP, 'billing', b.uuid);
      expect((await store.getAgent(APP, a.uuid))?.tags).toEqual(['billing', 'french']);
      expect(await store.deleteTag(APP, 'french')).toBe(true);
      expect(await store.deleteTag(APP, 'french')).toBe(false);
      expect((await store.getAgent(APP, a.uuid))?.tags).toEqual(['billing']);
      await store.deleteAgent(APP, a.uuid);
      expect(await store.getTag(APP, 'billing')).toEqual({ id: 2, tag: 'billing', agents: [b.uuid] });
      // A new tag of the old name is a new tag with no relations.
      expect(await store.createTag(APP, 'french')).toEqual({ tag: { id: 3, tag: 'french' }, created: true });
      expect(await store.agentsByTag(APP, 'french')).toEqual([]);
    });

    it('PUT creates, renames and replaces agents, refusing name clashes and unknown agents atomically', async () => {
      const [a, b] = [await agent('alice'), await agent('bob')];
      const put = await store.putTag(APP, 'french', { agents: [a.uuid] });
      expect(put).toEqual({ tag: { id: 1, tag: 'french', agents: [a.uuid] }, created: true });
      await store.createTag(APP, 'billing');
      expect(await code(store.putTag(APP, 'french', { tag: 'billing' }))).toBe('tag_exists');
      expect(await code(store.putTag(APP, 'french', { agents: [b.uuid, '00000000-0000-4000-8000-000000000000'] }))).toBe('agent_not_found');
      expect(await code(store.putTag(APP, '9', {}))).toBe('tag_not_found');
      expect(await store.getTag(APP, 'french')).toEqual({ id: 1, tag: 'french', agents: [a.uuid] });
      const renamed = await store.putTag(APP, '1', { tag: 'francais', agents: [b.uuid] });
      expect(renamed).toEqual({ tag: { id: 1, tag: 'francais', agents: [b.uuid] }, created: false });
      expect(await store.getTag(APP, 'french')).toBeNull();
      expect((await store.getAgent(APP, a.uuid))?.tags).toEqual([]);
      expect((await store.getAgent(APP, b.uuid))?.tags).toEqual(['francais']);
      expect(await store.putTag(APP, 'francais', {})).toEqual({ tag: { id: 1, tag: 'francais', agents: [b.uuid] }, created: false });
    });
  });

  describe('call queues and members', () => {
    let queue: CallQueue;
    beforeEach(async () => {
      queue = await store.createCallQueue(APP, QUEUE);
    });

    it('creates, reads, lists and updates queues, scoped by application', async () => {
      expect(queue).toMatchObject({ ...QUEUE });
      expect(queue.created_at).toMatch(ISO);
      const q2 = await store.createCallQueue(APP, { ...QUEUE, name: 'sales' });
      expect((await store.listCallQueues(APP)).map((q) => q.name)).toEqual(['support', 'sales']);
      expect(await store.listCallQueues(OTHER)).toEqual([]);
      expect(await store.getCallQueue(OTHER, queue.uuid)).toBeNull();
      const up = await store.updateCallQueue(APP, q2.uuid, { description: 'Sales line', project_id: null });
      expect(up.value).toMatchObject({ name: 'sales', description: 'Sales line', project_id: null });
      expect(up.change).toMatchObject({ kind: 'queue_updated', changed: ['description', 'project_id'], seq: 1 });
      expect((await store.updateCallQueue(APP, q2.uuid, { description: 'Sales line' })).change).toBeNull();
      expect(await code(store.updateCallQueue(OTHER, q2.uuid, { name: 'x' }))).toBe('call_queue_not_found');
    });

    it('adds, pauses, sets status of and removes members, each one change', async () => {
      const a = await agent('alice');
      const added = await store.addMember(APP, queue.uuid, member(a.uuid));
      expect(added.value).toMatchObject({ uuid: a.uuid, queue_id: queue.uuid, number: '1001@example.org', paused: false, paused_at: null, pause_reason: null, status: 'available' });
      expect(added.change).toMatchObject({ kind: 'member_added', seq: 1, stats: { members: 1, members_logged_in: 1, members_available: 1, members_paused: 0 } });
      expect(await code(store.addMember(APP, queue.uuid, member(a.uuid)))).toBe('member_exists');
      const paused = await store.updateMember(APP, queue.uuid, a.uuid, { paused: true, pause_reason: 'lunch' });
      expect(paused.value).toMatchObject({ paused: true, pause_reason: 'lunch' });
      expect(paused.value.paused_at).toMatch(ISO);
      expect(paused.change).toMatchObject({ kind: 'member_updated', changed: ['paused', 'pause_reason'], stats: { members_available: 0, members_paused: 1 } });
      const back = await store.updateMember(APP, queue.uuid, a.uuid, { paused: false });
      expect(back.value).toMatchObject({ paused: false, paused_at: null, pause_reason: null });
      const busy = await store.updateMember(APP, queue.uuid, a.uuid, { status: 'busy' });
      expect(busy.change).toMatchObject({ changed: ['status'], stats: { members_logged_in: 1, members_available: 0 } });
      expect((await store.updateMember(APP, queue.uuid, a.uuid, { status: 'busy' })).change).toBeNull();
      expect(await store.listMembers(APP, queue.uuid)).toEqual([busy.value]);
      expect(await store.getMember(APP, queue.uuid, a.uuid)).toEqual(busy.value);
      const removed = (await store.removeMember(APP, queue.uuid, a.uuid)).change;
      expect(removed).toMatchObject({ kind: 'member_removed', seq: 5, member: { uuid: a.uuid }, stats: { members: 0 } });
      expect(await code(store.removeMember(APP, queue.uuid, a.uuid))).toBe('member_not_found');
      expect(await code(store.updateMember(APP, queue.uuid, a.uuid, { paused: true }))).toBe('member_not_found');
    });

    it('refuses a member whose agent is unknown or belongs to another application', async () => {
      const foreign = await agent('mallory', OTHER);
      expect(await code(store.addMember(APP, queue.uuid, member(foreign.uuid)))).toBe('agent_not_found');
      expect(await code(store.addMember(APP, '00000000-0000-4000-8000-000000000000', member(foreign.uuid)))).toBe('call_queue_not_found');
      expect(await store.listMembers(APP, queue.uuid)).toEqual([]);
      expect((await store.snapshot(APP, queue.uuid)).seq).toBe(0);
    });

    it('deleting an agent removes its memberships, announced on each queue', async () => {
      const q2 = await store.createCallQueue(APP, { ...QUEUE, name: 'sales' });
      const [a, b] = [await agent('alice'), await agent('bob')];
      await store.addMember(APP, queue.uuid, member(a.uuid));
      await store.addMember(APP, q2.uuid, member(a.uuid));
      await store.addMember(APP, q2.uuid, member(b.uuid));
      const f = await Follower.start(store, APP, q2.uuid);
      await store.deleteAgent(APP, a.uuid);
      expect(await store.listMembers(APP, queue.uuid)).toEqual([]);
      expect((await store.listMembers(APP, q2.uuid)).map((m) => m.uuid)).toEqual([b.uuid]);
      await f.waitFor(3);
      expect(f.problems).toEqual([]);
      expect(f.view.memberList().map((m) => m.uuid)).toEqual([b.uuid]);
      await f.stop();
    });

    it('deleting a queue removes its members and callers; the agents stay', async () => {
      const a = await agent('alice');
      await store.addMember(APP, queue.uuid, member(a.uuid));
      const c = await store.joinCaller(APP, queue.uuid, { name: 'x', number: '100', priority: 0 });
      await store.deleteCallQueue(APP, queue.uuid);
      expect(await store.getCallQueue(APP, queue.uuid)).toBeNull();
      expect(await store.getMember(APP, queue.uuid, a.uuid)).toBeNull();
      expect(await store.getCaller(APP, queue.uuid, c.value.uuid)).toBeNull();
      expect(await store.getStats(APP, queue.uuid)).toBeNull();
      expect(await store.listCallQueues(APP)).toEqual([]);
      expect(await code(store.deleteCallQueue(APP, queue.uuid))).toBe('call_queue_not_found');
      expect(await store.getAgent(APP, a.uuid)).not.toBeNull();
      // The agent can join a new queue, and deleting it later touches only that membership.
      const q2 = await store.createCallQueue(APP, QUEUE);
      await store.addMember(APP, q2.uuid, member(a.uuid));
      await store.deleteAgent(APP, a.uuid);
      expect(await store.listMembers(APP, q2.uuid)).toEqual([]);
    });
  });

  it('deletes all of an application\'s call data, and nothing of another application', async () => {
    const keep = await store.createCallQueue(OTHER, QUEUE);
    const kept = await agent('carol', OTHER);
    const q = await store.createCallQueue(APP, QUEUE);
    const a = await agent('alice');
    await store.addMember(APP, q.uuid, member(a.uuid));
    await store.joinCaller(APP, q.uuid, { name: 'x', number: '100', priority: 0 });
    await store.createTag(APP, 'french');
    await store.tagAgent(APP, 'french', a.uuid);
    const { token } = await store.issueAgentToken(APP, a.uuid, 600);
    const f = await Follower.start(store, APP, q.uuid);
    await store.deleteApplication(APP);
    await f.waitFor(3);
    expect(f.view.deleted).toBe(true);
    await f.stop();
    expect(await store.listCallQueues(APP)).toEqual([]);
    expect(await store.listAgents(APP)).toEqual([]);
    expect(await store.listTags(APP)).toEqual([]);
    expect((await store.verifyAgentToken(token)).valid).toBe(false);
    // A fresh start for the name: ids begin again.
    expect(await store.createTag(APP, 'billing')).toEqual({ tag: { id: 1, tag: 'billing' }, created: true });
    expect((await store.listCallQueues(OTHER)).map((x) => x.uuid)).toEqual([keep.uuid]);
    expect((await store.listAgents(OTHER)).map((x) => x.uuid)).toEqual([kept.uuid]);
  });

  describe('agent tokens', () => {
    it('issues a token that verifies to its agent and application', async () => {
      const a = await agent('alice');
      const grant = await store.issueAgentToken(APP, a.uuid, 3600);
      expect(grant.token).toMatch(/^hlt_[A-Za-z0-9_-]{43}$/);
      expect(grant.agent_uuid).toBe(a.uuid);
      expect(Date.parse(grant.expires_at) - Date.now()).toBeGreaterThan(3500_000);
      expect(await store.verifyAgentToken(grant.token)).toEqual({ valid: true, app: APP, agent_uuid: a.uuid, expires_at: grant.expires_at });
      expect(await store.verifyAgentToken(grant.token + 'x')).toEqual({ valid: false, reason: 'unknown' });
      expect(await code(store.issueAgentToken(OTHER, a.uuid, 60))).toBe('agent_not_found');
    });

    it('refuses a revoked token, and only its own application may revoke it', async () => {
      const a = await agent('alice');
      const { token } = await store.issueAgentToken(APP, a.uuid, 3600);
      expect(await store.revokeAgentToken(OTHER, token)).toBe(false);
      expect((await store.verifyAgentToken(token)).valid).toBe(true);
      expect(await store.revokeAgentToken(APP, token)).toBe(true);
      expect(await store.revokeAgentToken(APP, token)).toBe(false);
      expect(await store.verifyAgentToken(token)).toEqual({ valid: false, reason: 'unknown' });
    });

    it('refuses the token of a deleted agent', async () => {
      const a = await agent('alice');
      const { token } = await store.issueAgentToken(APP, a.uuid, 3600);
      await store.deleteAgent(APP, a.uuid);
      expect(await store.verifyAgentToken(token)).toEqual({ valid: false, reason: 'unknown' });
    });

    it('reports an expired token as expired', async () => {
      const a = await agent('alice');
      const { token, expires_at } = await store.issueAgentToken(APP, a.uuid, 1);
      // Waiting for the expiry to pass (a TTL, not a synchronisation).
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expires_at) - Date.now()) + 20));
      expect(await store.verifyAgentToken(token)).toEqual({ valid: false, reason: 'expired' });
    });
  });
});
