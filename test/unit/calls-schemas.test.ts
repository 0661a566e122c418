/**
 * The call-resource JSON Schemas (protocol/schemas/calls/, served at /v1/schemas/*) compile in
 * strict mode and describe what the stores return: every object the memory store hands out
 * validates, and objects that break the documented rules do not.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';

const NAMES = ['agent', 'queue', 'queue_member', 'queue_caller', 'tag', 'queue_stats'] as const;

function load(): Record<(typeof NAMES)[number], ValidateFunction> {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const out = {} as Record<(typeof NAMES)[number], ValidateFunction>;
  for (const n of NAMES) {
    const schema = JSON.parse(readFileSync(new URL(`../../protocol/schemas/calls/${n}.json`, import.meta.url), 'utf8')) as object;
    out[n] = ajv.compile(schema);
  }
  return out;
}

describe('call resource schemas', () => {
  const v = load();
  const ok = (name: (typeof NAMES)[number], value: unknown) => {
    const valid = v[name](value);
    expect(valid, `${name}: ${JSON.stringify(v[name].errors)}`).toBe(true);
  };

  it('accept every object the store returns', async () => {
    const store = new MemoryCallStore();
    const agent = await store.createAgent('acme', { name: 'alice', project_id: '793491dd5fa8477eb2d6a820193a183b', user_id: null });
    await store.createTag('acme', 'french');
    await store.tagAgent('acme', 'french', agent.uuid);
    const queue = await store.createCallQueue('acme', {
      name: 'support', description: '24/7 Technical support', disabled: false, project_id: null, user_id: null, service_level_seconds: 20,
    });
    const member = await store.addMember('acme', queue.uuid, {
      agent_uuid: agent.uuid, number: '1001@example.org', paused: true, pause_reason: 'lunch', status: 'available',
    });
    const a = await store.joinCaller('acme', queue.uuid, { name: 'Paul Belanger', number: '6135551234', priority: 0 });
    const b = await store.joinCaller('acme', queue.uuid, { name: 'Leif Madsen', number: '9055555678', priority: 2 });
    await store.updateCaller('acme', queue.uuid, a.value.uuid, { status: 'ringing', member_uuid: agent.uuid });
    const left = (await store.leaveCaller('acme', queue.uuid, b.value.uuid, 'answered')).change;
    const snap = await store.snapshot('acme', queue.uuid);

    ok('agent', await store.getAgent('acme', agent.uuid));
    ok('queue', queue);
    ok('queue', snap.queue);
    ok('queue_member', member.value);
    for (const c of snap.callers) ok('queue_caller', c);
    ok('queue_caller', b.value);
    ok('tag', (await store.createTag('acme', 'billing')).tag);
    ok('tag', await store.getTag('acme', 'french'));
    ok('queue_stats', snap.stats);
    if (left.kind === 'caller_left') {
      ok('queue_caller', left.caller);
      ok('queue_stats', left.stats);
    }
  });

  it('refuse objects that break the rules', () => {
    const caller = {
      uuid: 'e5814fee-6e8a-4771-8edd-ea413eff57f1', queue_id: 'cc096e0b-0c96-4b8b-b812-ef456f361ee3', name: 'Paul', number: '6135551234',
      priority: 0, position: 0, status: 'waiting', status_at: '2014-12-12T02:05:14Z', member_uuid: null, created_at: '2014-12-12T02:05:14Z',
    };
    ok('queue_caller', caller);
    expect(v.queue_caller({ ...caller, position: -1 })).toBe(false);
    expect(v.queue_caller({ ...caller, status: 'on_hold' })).toBe(false);
    expect(v.queue_caller({ ...caller, priority: 1.5 })).toBe(false);
    expect(v.queue_caller({ ...caller, created_at: 'yesterday' })).toBe(false);
    expect(v.queue_caller({ ...caller, extra: 1 })).toBe(false);
    expect(v.tag({ id: 1, tag: '123' })).toBe(false);
    expect(v.tag({ id: 1, tag: 'two words' })).toBe(false);
    expect(v.queue_member({ uuid: 'x' })).toBe(false);
  });
});
