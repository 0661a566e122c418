/**
 * Bad input through the call-queue rules (src/domain/calls/service.ts) on both stores: every
 * rejected request answers the documented catalogue code and field, and changes nothing stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallStore } from '../../src/engine/call-types.js';
import { CallService } from '../../src/domain/calls/service.js';
import { ERRORS, isHoldlineError } from '../../src/errors.js';
import { callStoreFactories } from '../helpers/call-stores.js';

const APP = 'acme';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isHoldlineError(err)) {
      expect(ERRORS[err.code].status).toBeGreaterThanOrEqual(400);
      expect(ERRORS[err.code].status).toBeLessThan(500);
      return err.field === undefined ? err.code : `${err.code}:${err.field}`;
    }
    throw err;
  }
  return 'ok';
}

describe.each(callStoreFactories)('call rules on bad input ($name store)', (factory) => {
  let store: CallStore;
  let svc: CallService;
  let queue: string;
  let agent: string;
  let caller: string;

  /** Everything a bad request could have touched, to compare before and after. */
  async function state(): Promise<unknown> {
    const snap = await svc.snapshot(APP, queue);
    return {
      snap: { ...snap, stats: { ...snap.stats, longest_wait: 0, at: '' } },
      agents: await svc.listAgents(APP),
      tags: await svc.listTags(APP),
      queues: await svc.listQueues(APP),
    };
  }

  beforeEach(async () => {
    store = await factory.open();
    svc = new CallService(store);
    queue = (await svc.createQueue(APP, { name: 'support' })).uuid;
    agent = (await svc.createAgent(APP, { name: 'alice' })).uuid;
    await svc.addMember(APP, queue, { agent_id: agent, number: '1001@example.org' });
    await svc.createTag(APP, { tag: 'french' });
    caller = (await svc.joinCaller(APP, queue, { name: 'Paul', number: '6135551234' })).value.uuid;
  });
  afterEach(async () => {
    await store.close();
  });

  it('applies defaults to valid input', async () => {
    const q = await svc.getQueue(APP, queue);
    expect(q).toMatchObject({ name: 'support', description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 });
    expect(await svc.getCaller(APP, queue, caller)).toMatchObject({ priority: 0, position: 0, status: 'waiting' });
    expect(await svc.getMember(APP, queue, agent)).toMatchObject({ status: 'available', paused: false });
    const custom = new CallService(store, { defaultServiceLevelSeconds: 30 });
    expect((await custom.createQueue(APP, { name: 'sales' })).service_level_seconds).toBe(30);
    await custom.deleteQueue(APP, (await custom.listQueues(APP)).find((x) => x.name === 'sales')!.uuid);
  });

  const cases: [string, () => Promise<unknown>, string][] = [
    // unknown things
    ['unknown queue', () => svc.joinCaller(APP, UNKNOWN, { number: '100' }), 'call_queue_not_found'],
    ['malformed queue id', () => svc.getQueue(APP, 'support'), 'call_queue_not_found'],
    ['queue of another application', () => svc.getQueue('globex', queue), 'call_queue_not_found'],
    ['unknown agent', () => svc.getAgent(APP, UNKNOWN), 'agent_not_found'],
    ['unknown caller', () => svc.updateCaller(APP, queue, UNKNOWN, { priority: 1 }), 'caller_not_found'],
    ['unknown caller read', () => svc.getCaller(APP, queue, UNKNOWN), 'caller_not_found'],
    ['caller read on unknown queue', () => svc.getCaller(APP, UNKNOWN, UNKNOWN), 'call_queue_not_found'],
    ['unknown member', () => svc.updateMember(APP, queue, UNKNOWN, { paused: true }), 'member_not_found'],
    ['member read on unknown queue', () => svc.getMember(APP, UNKNOWN, agent), 'call_queue_not_found'],
    ['unknown tag', () => svc.getTag(APP, 'german'), 'tag_not_found'],
    ['tagging with an unknown tag', () => svc.tagAgent(APP, 'german', { agent_id: agent }), 'tag_not_found'],
    ['tagging an unknown agent', () => svc.tagAgent(APP, 'french', { agent_id: UNKNOWN }), 'agent_not_found:agent_id'],
    ['member for an unknown agent', () => svc.addMember(APP, queue, { agent_id: UNKNOWN, number: '1002@example.org' }), 'agent_not_found:agent_id'],
    ['stats of an unknown queue', () => svc.getStats(APP, UNKNOWN), 'call_queue_not_found'],
    ['token for an unknown agent', () => svc.issueToken(APP, UNKNOWN, {}), 'agent_not_found'],
    // rules
    ['the agent is already a member', () => svc.addMember(APP, queue, { agent_id: agent, number: '1001@example.org' }), 'member_exists'],
    ['ringing without a member', () => svc.updateCaller(APP, queue, caller, { status: 'ringing' }), 'missing_field:member_uuid'],
    ['offered to a non-member', () => svc.updateCaller(APP, queue, caller, { status: 'ringing', member_uuid: UNKNOWN }), 'member_not_found:member_uuid'],
    ['a waiting caller with a member', () => svc.updateCaller(APP, queue, caller, { member_uuid: agent }), 'invalid_field:member_uuid'],
    // malformed bodies and fields
    ['body not an object', () => svc.joinCaller(APP, queue, [1, 2]), 'bad_request'],
    ['body null', () => svc.createQueue(APP, null), 'bad_request'],
    ['unknown field', () => svc.joinCaller(APP, queue, { number: '100', vip: true }), 'invalid_field:vip'],
    ['missing number', () => svc.joinCaller(APP, queue, { name: 'x' }), 'missing_field:number'],
    ['bad number', () => svc.joinCaller(APP, queue, { number: 'call me maybe' }), 'invalid_field:number'],
    ['priority not an integer', () => svc.joinCaller(APP, queue, { number: '100', priority: 1.5 }), 'invalid_field:priority'],
    ['priority as a string', () => svc.joinCaller(APP, queue, { number: '100', priority: '5' }), 'invalid_field:priority'],
    ['priority out of range', () => svc.joinCaller(APP, queue, { number: '100', priority: 1_000_001 }), 'invalid_field:priority'],
    ['bad priority change', () => svc.updateCaller(APP, queue, caller, { priority: -1e7 }), 'invalid_field:priority'],
    ['unknown status', () => svc.updateCaller(APP, queue, caller, { status: 'on_hold' }), 'invalid_field:status'],
    ['malformed member uuid', () => svc.updateCaller(APP, queue, caller, { status: 'ringing', member_uuid: 'alice' }), 'invalid_field:member_uuid'],
    ['leave without a reason', () => svc.leaveCaller(APP, queue, caller, undefined), 'missing_field:reason'],
    ['leave with an unknown reason', () => svc.leaveCaller(APP, queue, caller, 'bored'), 'invalid_field:reason'],
    ['queue without a name', () => svc.createQueue(APP, { description: 'x' }), 'missing_field:name'],
    ['queue name too long', () => svc.createQueue(APP, { name: 'x'.repeat(129) }), 'invalid_field:name'],
    ['queue name with a control character', () => svc.createQueue(APP, { name: 'a\nb' }), 'invalid_field:name'],
    ['caller name with a lone surrogate', () => svc.joinCaller(APP, queue, { name: 'a\ud800b', number: '100' }), 'invalid_field:name'],
    ['disabled not a boolean', () => svc.updateQueue(APP, queue, { disabled: 'yes' }), 'invalid_field:disabled'],
    ['negative service level', () => svc.updateQueue(APP, queue, { service_level_seconds: -1 }), 'invalid_field:service_level_seconds'],
    ['bad project id', () => svc.createAgent(APP, { project_id: 'has spaces' }), 'invalid_field:project_id'],
    ['member number not SIP-ish', () => svc.updateMember(APP, queue, agent, { number: 'alice at example' }), 'invalid_field:number'],
    ['unknown member status', () => svc.updateMember(APP, queue, agent, { status: 'asleep' }), 'invalid_field:status'],
    ['member without an agent', () => svc.addMember(APP, queue, { number: '1002@example.org' }), 'missing_field:agent_id'],
    ['member agent ids disagree', () => svc.addMember(APP, queue, { agent_id: agent, uuid: UNKNOWN, number: '1@a.b' }), 'invalid_field:uuid'],
    ['all-digit tag name', () => svc.createTag(APP, { tag: '123' }), 'invalid_field:tag'],
    ['tag name with a space', () => svc.createTag(APP, { tag: 'two words' }), 'invalid_field:tag'],
    ['tag without a name', () => svc.createTag(APP, {}), 'missing_field:tag'],
    ['PUT an invalid tag reference', () => svc.putTag(APP, 'two words', {}), 'invalid_field:tag'],
    ['PUT a tag onto an unknown agent', () => svc.putTag(APP, 'french', { agents: [agent, UNKNOWN] }), 'agent_not_found:agents'],
    ['PUT agents not a list', () => svc.putTag(APP, 'french', { agents: agent }), 'invalid_field:agents'],
    ['token ttl too long', () => svc.issueToken(APP, agent, { ttl: 31 * 86400 }), 'invalid_field:ttl'],
    ['malformed resume seq', () => svc.changesSince(APP, queue, -1), 'invalid_field:since_seq'],
  ];

  it.each(cases)('%s → %s, nothing changed', async (_name, call, expected) => {
    const before = await state();
    expect(await code(call())).toBe(expected);
    expect(await state()).toEqual(before);
  });

  it('refuses leaving twice and joining a disabled queue, changing nothing more', async () => {
    await svc.leaveCaller(APP, queue, caller, 'abandoned');
    let before = await state();
    expect(await code(svc.leaveCaller(APP, queue, caller, 'abandoned'))).toBe('caller_not_found');
    expect(await state()).toEqual(before);
    await svc.updateQueue(APP, queue, { disabled: true });
    before = await state();
    expect(await code(svc.joinCaller(APP, queue, { number: '100' }))).toBe('queue_disabled');
    expect(await state()).toEqual(before);
  });

  it('lets an application key follow any queue, an agent only its own', async () => {
    const other = (await svc.createQueue(APP, { name: 'sales' })).uuid;
    expect(await svc.authorizeFollow({ kind: 'application', app: APP }, other)).toBe(other);
    expect(await svc.authorizeFollow({ kind: 'agent', app: APP, agent }, queue)).toBe(queue);
    expect(await code(svc.authorizeFollow({ kind: 'agent', app: APP, agent }, other))).toBe('forbidden');
    expect(await code(svc.authorizeFollow({ kind: 'application', app: 'globex' }, queue))).toBe('call_queue_not_found');
  });

  it('authenticates tokens: valid, unknown, revoked', async () => {
    const { token } = await svc.issueToken(APP, agent, { ttl: 600 });
    expect(await svc.authenticateToken(token)).toEqual({ app: APP, agent });
    expect(await code(svc.authenticateToken('hlt_nope'))).toBe('auth_invalid');
    expect(await code(svc.authenticateToken(''))).toBe('auth_invalid');
    expect(await svc.revokeToken(APP, token)).toBe(true);
    expect(await code(svc.authenticateToken(token))).toBe('auth_invalid');
  });
});
